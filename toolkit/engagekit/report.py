"""The engagement picture at one time: current and previous levels and the movement between them.

This is what the overview, the transitions page, the CLI and the notebooks show, computed in one
place.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engagekit.activity import ActivityIndex
from engagekit.config import EngagementConfig
from engagekit.dataset import Dataset
from engagekit.levels import LevelResult, current_and_previous
from engagekit.schema import LEVEL_LABELS, LEVELS
from engagekit.tiers import EngagementTiers, assign_codes, judged_scores, level_categories
from engagekit.timeutil import AsOf
from engagekit.transitions import Transitions, compute_transitions

# Fields that change scores; the others only change how scores are cut into levels.
SCORE_FIELDS = ("lookback_days", "exclusion_hours", "open_weight", "click_weight")


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
    >>> from engagekit.sample import generate_sample
    >>> report = engagement_report(generate_sample(300, seed=6), as_of="2026-11-30")
    >>> int(report.level_changes()["current"].sum())
    300
    """
    current, previous = current_and_previous(
        data, as_of=as_of, config=config,
        previous_uses_current_thresholds=previous_uses_current_thresholds,
    )
    return EngagementReport(current, previous, compute_transitions(previous, current))


def relevel(levels: LevelResult, config: EngagementConfig) -> LevelResult | None:
    """Re-cut ``levels`` under ``config`` without recomputing features, when the scores still hold.

    Returns ``None`` when ``config`` changes how scores are computed (window or weights): then
    compute the levels anew. Changing the minimum sends or the quantile shares is a re-cut, which is
    what makes a live preview of level sizes fast.

    Examples
    --------
    >>> from engagekit.sample import generate_sample
    >>> from engagekit.levels import compute_levels
    >>> levels = compute_levels(generate_sample(300, seed=6), as_of="2026-11-30")
    >>> recut = relevel(levels, levels.config.with_changes(most_engaged_share=0.1))
    >>> int(recut.counts()["most_engaged"]) <= int(levels.counts()["most_engaged"])
    True
    """
    if any(getattr(config, name) != getattr(levels.config, name) for name in SCORE_FIELDS):
        return None
    table = levels.table
    scores = judged_scores(table["score"].to_numpy(), table["eligible_sends"].to_numpy(), config.min_sends)
    thresholds = EngagementTiers.from_config(config).fit(scores[:, None]).thresholds_for(0)
    codes = assign_codes(scores, thresholds)
    recut = table.copy(deep=False)
    recut["level"] = level_categories(codes)
    return LevelResult(as_of=levels.as_of, config=config, thresholds=thresholds, table=recut)
