"""The engagement picture at one time: current and previous levels and the movement between them.

This is what the overview, the transitions page, the CLI and the notebooks show, computed in one
place.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engagekit.config import EngagementConfig
from engagekit.data.activity import ActivityIndex
from engagekit.data.dataset import Dataset
from engagekit.data.schema import LEVEL_LABELS, LEVELS
from engagekit.engagement.levels import LevelResult, current_and_previous
from engagekit.engagement.transitions import Transitions, compute_transitions
from engagekit.timeutil import AsOf


@dataclass(frozen=True)
class EngagementReport:
    """Current and previous levels of every contact and the transitions between them."""

    current: LevelResult
    previous: LevelResult
    transitions: Transitions

    def level_changes(self) -> pd.DataFrame:
        """Per level: contacts now and before, the change, and both shares.

        Columns: ``level``, ``label``, ``current``, ``previous``, ``change``, ``current_share``,
        ``previous_share``.
        """
        now, before = self.current.counts(), self.previous.counts()
        return pd.DataFrame(
            {
                "level": list(LEVELS),
                "label": [LEVEL_LABELS[level] for level in LEVELS],
                "current": now.to_numpy(),
                "previous": before.to_numpy(),
                "change": (now - before).to_numpy(),
                "current_share": self.current.shares().to_numpy(),
                "previous_share": self.previous.shares().to_numpy(),
            }
        )


def engagement_report(
    data: Dataset | ActivityIndex,
    *,
    as_of: AsOf,
    config: EngagementConfig | None = None,
    previous_uses_current_thresholds: bool = False,
) -> EngagementReport:
    """Levels as of ``as_of`` and one previous period before, with transitions.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> report = engagement_report(generate_sample(300, seed=6), as_of="2026-11-30")
    >>> int(report.level_changes()["current"].sum())
    300
    """
    current, previous = current_and_previous(
        data, as_of=as_of, config=config,
        previous_uses_current_thresholds=previous_uses_current_thresholds,
    )
    return EngagementReport(current, previous, compute_transitions(previous, current))
