"""Levels as of a time: features, score, thresholds and the level of every contact.

:func:`compute_levels` is the one pipeline: features as of T (:mod:`engagekit.engagement.features`), judged
scores, thresholds learned at T (or given), levels (:mod:`engagekit.engagement.tiers`).
:func:`current_and_previous` computes it at T and at T minus the previous period;
:func:`level_history` over a series of dates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from engagekit.config import COUNTING_FIELDS, EngagementConfig
from engagekit.data.activity import ActivityIndex
from engagekit.data.dataset import Dataset
from engagekit.data.schema import LEVEL_LABELS, LEVELS
from engagekit.engagement.features import compute_features
from engagekit.engagement.tiers import (
    Thresholds,
    assign_codes,
    judged_scores,
    learn_thresholds,
    level_categories,
)
from engagekit.timeutil import AsOf, as_timestamp

LEVEL_DTYPE = pd.CategoricalDtype(list(LEVELS))


@dataclass(frozen=True)
class LevelResult:
    """Every contact's features, score and level as of one time.

    Attributes
    ----------
    as_of : pandas.Timestamp
    config : EngagementConfig
    thresholds : Thresholds
        The score cuts used (learned at ``as_of`` unless given).
    table : pandas.DataFrame
        One row per contact: ``contact_id``, the features, ``score`` and ``level``.
    """

    as_of: pd.Timestamp
    config: EngagementConfig
    thresholds: Thresholds
    table: pd.DataFrame

    def counts(self) -> pd.Series:
        """Contacts per level, all four levels present, most engaged first."""
        return self._counts.copy()

    @cached_property
    def _counts(self) -> pd.Series:
        # Counted once: every page asks, and the table does not change after it is cut.
        return self.table["level"].value_counts(sort=False).reindex(list(LEVELS), fill_value=0)

    def shares(self) -> pd.Series:
        """Share of all contacts per level (0 when there are no contacts)."""
        counts = self.counts()
        total = counts.sum()
        return counts / total if total else counts.astype(float)

    @property
    def n_judged(self) -> int:
        return int(self._counts.drop("everyone_else").sum())

    def summary(self) -> pd.DataFrame:
        """A small table: level, label, contacts, share."""
        return pd.DataFrame(
            {
                "level": list(LEVELS),
                "label": [LEVEL_LABELS[level] for level in LEVELS],
                "contacts": self.counts().to_numpy(),
                "share": self.shares().to_numpy(),
            }
        )


def activity_of(data: Dataset | ActivityIndex, config: EngagementConfig) -> ActivityIndex:
    """The activity index of a dataset counting engagement as ``config`` does (built once and kept
    with it), or the index itself (:func:`compute_features` checks that it counts that way)."""
    return data if isinstance(data, ActivityIndex) else data.activity_for(config)


def compute_levels(
    data: Dataset | ActivityIndex,
    *,
    as_of: AsOf,
    config: EngagementConfig | None = None,
    thresholds: Thresholds | None = None,
) -> LevelResult:
    """Features, score and level of every contact as of ``as_of``.

    Parameters
    ----------
    data : Dataset or ActivityIndex
    as_of : date, time or ISO string
        The reference time T.
    config : EngagementConfig, optional
        Window, minimum sends, quantile shares and score weights (defaults otherwise).
    thresholds : Thresholds, optional
        Apply these score cuts instead of learning them at ``as_of``.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> levels = compute_levels(generate_sample(500, seed=2), as_of="2026-11-30")
    >>> int(levels.counts().sum())
    500
    """
    config = config or EngagementConfig()
    stamp = as_timestamp(as_of)
    table = compute_features(activity_of(data, config), as_of=stamp, config=config)
    return levels_from_features(table, as_of=stamp, config=config, thresholds=thresholds)


def levels_from_features(
    table: pd.DataFrame, *, as_of: pd.Timestamp, config: EngagementConfig,
    thresholds: Thresholds | None = None,
) -> LevelResult:
    """Cut a features table (from :func:`~engagekit.engagement.features.compute_features`) into levels."""
    scores = judged_scores(table["score"].to_numpy(), table["eligible_sends"].to_numpy(), config.min_sends)
    if thresholds is None and len(scores) == 0:
        thresholds = Thresholds(np.nan, np.nan, 0)  # an empty workspace: nothing to learn from
    elif thresholds is None:
        thresholds = learn_thresholds(scores[~np.isnan(scores)], config)
    codes = assign_codes(scores, thresholds)
    table["level"] = level_categories(codes)
    return LevelResult(as_of=as_of, config=config, thresholds=thresholds, table=table)


# Fields that change scores; the others only change how scores are cut into levels.
SCORE_FIELDS = ("lookback_days", "exclusion_hours", "open_weight", "click_weight", *COUNTING_FIELDS)


def relevel(levels: LevelResult, config: EngagementConfig) -> LevelResult | None:
    """Re-cut ``levels`` under ``config`` without recomputing features, when the scores still hold.

    Returns ``None`` when ``config`` changes how scores are computed (window or weights): then
    compute the levels anew. Changing the minimum sends or the quantile shares is a re-cut, which is
    what makes a live preview of level sizes fast.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> levels = compute_levels(generate_sample(300, seed=6), as_of="2026-11-30")
    >>> recut = relevel(levels, levels.config.with_changes(most_engaged_share=0.1))
    >>> int(recut.counts()["most_engaged"]) <= int(levels.counts()["most_engaged"])
    True
    """
    if any(getattr(config, name) != getattr(levels.config, name) for name in SCORE_FIELDS):
        return None
    return levels_from_features(levels.table.copy(deep=False), as_of=levels.as_of, config=config)


def previous_as_of(as_of: AsOf, config: EngagementConfig) -> pd.Timestamp:
    """The reference time of the previous level: ``as_of`` minus the previous period."""
    return as_timestamp(as_of) - pd.Timedelta(days=config.previous_period_days)


def current_and_previous(
    data: Dataset | ActivityIndex,
    *,
    as_of: AsOf,
    config: EngagementConfig | None = None,
    previous_uses_current_thresholds: bool = False,
) -> tuple[LevelResult, LevelResult]:
    """Levels as of ``as_of`` and as of ``as_of - previous_period_days``.

    Each learns its own thresholds, unless ``previous_uses_current_thresholds`` asks for the
    current cuts to be applied to the previous scores too.
    """
    config = config or EngagementConfig()
    index = activity_of(data, config)
    times = [as_timestamp(as_of), previous_as_of(as_of, config)]
    def features_at(stamp: pd.Timestamp) -> pd.DataFrame:
        return _features_kept(data, index, as_of=stamp, config=config)

    # The two passes are independent (unless the previous one takes the current cuts) and numpy
    # leaves the GIL for most of their work, so they run side by side on two cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        if not previous_uses_current_thresholds:
            current, previous = pool.map(
                lambda stamp: levels_from_features(features_at(stamp), as_of=stamp, config=config), times)
            return current, previous
        now_table, before_table = pool.map(features_at, times)
    current = levels_from_features(now_table, as_of=times[0], config=config)
    previous = levels_from_features(before_table, as_of=times[1], config=config, thresholds=current.thresholds)
    return current, previous


def _features_kept(data: Dataset | ActivityIndex, index: ActivityIndex, *, as_of: pd.Timestamp,
                   config: EngagementConfig) -> pd.DataFrame:
    """The features of the current and previous levels, kept with a stored dataset: a process
    opening the same data under the same settings (a dashboard after an import) reads them."""
    if not isinstance(data, Dataset):
        return compute_features(index, as_of=as_of, config=config)
    # Everything compute_features reads: the counting rule (the index) and the score fields.
    key = "|".join(["features", as_of.isoformat(), config.counting_key(),
                    *(str(getattr(config, name)) for name in SCORE_FIELDS if name not in COUNTING_FIELDS)])
    return data.lasting(key, lambda: compute_features(index, as_of=as_of, config=config), remember=False)


def level_history(
    data: Dataset | ActivityIndex,
    *,
    as_ofs: Iterable[AsOf],
    config: EngagementConfig | None = None,
    fixed_thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """Contacts and share per level at each as-of date (long format).

    Columns: ``as_of``, ``level``, ``contacts``, ``share``.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> history = level_history(generate_sample(300, seed=2), as_ofs=monthly_dates("2026-11-30", 3))
    >>> history["as_of"].nunique()
    3
    """
    config = config or EngagementConfig()
    index = activity_of(data, config)
    rows = []
    for as_of in as_ofs:
        result = compute_levels(index, as_of=as_of, config=config, thresholds=fixed_thresholds)
        for level, contacts, share in zip(LEVELS, result.counts(), result.shares(), strict=True):
            rows.append((result.as_of, level, int(contacts), float(share)))
    return pd.DataFrame(rows, columns=["as_of", "level", "contacts", "share"])


def monthly_dates(as_of: AsOf, months: int) -> list[pd.Timestamp]:
    """``months`` as-of dates, one calendar month apart, ending at ``as_of`` (oldest first).

    Examples
    --------
    >>> [d.date().isoformat() for d in monthly_dates("2026-11-30", 3)]
    ['2026-09-30', '2026-10-30', '2026-11-30']
    """
    end = as_timestamp(as_of)
    return [end - pd.DateOffset(months=k) for k in range(months - 1, -1, -1)]


def thresholds_json(thresholds: Thresholds) -> str:
    """Thresholds as JSON text (``nan`` written as null)."""
    values = {k: (None if isinstance(v, float) and np.isnan(v) else v)
              for k, v in thresholds.to_dict().items()}
    return json.dumps(values, sort_keys=True)
