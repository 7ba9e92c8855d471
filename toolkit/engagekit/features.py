"""Engagement features and the score, per contact, as of an explicit time T.

The window (SPEC 2): a campaign counts when its sent time lies in
``(T - lookback_days, T - exclusion_hours]``; only events at or before T count, and only for
campaigns in the window. A click counts as an open.

==============================  ==============================================================
feature                         meaning
==============================  ==============================================================
eligible_sends                  campaigns in the window delivered to the contact
opened                          of those, campaigns opened or clicked
clicked                         of those, campaigns clicked
open_rate, click_rate           opened / eligible_sends, clicked / eligible_sends (blank if 0)
last_open_at, last_click_at     latest open-or-click / click of a window campaign, up to T
days_since_last_engagement      (T - last_open_at) in days (blank if never)
sends_since_last_engagement     window sends sent after the last engagement (all if never)
bounces                         window campaigns that bounced
score                           (open_weight x opened + click_weight x clicked) / eligible_sends
==============================  ==============================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engagekit.activity import NEVER, ActivityIndex, to_seconds
from engagekit.config import EngagementConfig
from engagekit.timeutil import AsOf, as_timestamp

FEATURE_COLUMNS: tuple[str, ...] = (
    "eligible_sends",
    "opened",
    "clicked",
    "open_rate",
    "click_rate",
    "last_open_at",
    "last_click_at",
    "days_since_last_engagement",
    "sends_since_last_engagement",
    "bounces",
    "score",
)

SECONDS_PER_DAY = 86_400


def window_bounds(as_of: AsOf, config: EngagementConfig) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The (exclusive start, inclusive end) of sent times that count as of ``as_of``.

    Examples
    --------
    >>> window_bounds("2026-11-30", EngagementConfig())
    (Timestamp('2026-09-01 00:00:00'), Timestamp('2026-11-29 00:00:00'))
    """
    t = as_timestamp(as_of)
    return t - pd.Timedelta(days=config.lookback_days), t - pd.Timedelta(hours=config.exclusion_hours)


def compute_features(
    index: ActivityIndex, *, as_of: AsOf, config: EngagementConfig | None = None
) -> pd.DataFrame:
    """One row per contact (in the dataset's contact order) with the features and the score.

    Examples
    --------
    >>> from engagekit.sample import generate_sample
    >>> index = ActivityIndex.build(generate_sample(300, seed=3))
    >>> features = compute_features(index, as_of="2026-11-30")
    >>> list(features.columns[:3])
    ['contact_id', 'eligible_sends', 'opened']
    """
    config = config or EngagementConfig()
    t = to_seconds(as_timestamp(as_of))
    start, end = (to_seconds(bound) for bound in window_bounds(as_of, config))
    n = index.n_contacts
    in_window = (index.campaign_sent > start) & (index.campaign_sent <= end)

    delivered = in_window[index.delivery_campaign] & (index.delivery_first <= t)
    contact = index.delivery_contact[delivered]
    sends = np.bincount(contact, minlength=n)
    opened = np.bincount(contact[index.delivery_engaged[delivered] <= t], minlength=n)
    clicked = np.bincount(contact[index.delivery_clicked[delivered] <= t], minlength=n)
    bounces = np.bincount(contact[index.delivery_bounced[delivered] <= t], minlength=n)

    seen = in_window[index.engagement_campaign] & (index.engagement_time <= t)
    last_open = _latest_per_contact(index.engagement_contact, index.engagement_time, seen, n)
    last_click = _latest_per_contact(
        index.engagement_contact, index.engagement_time, seen & index.engagement_is_click, n
    )

    sent_time = index.campaign_sent[index.delivery_campaign[delivered]]
    after_last = sent_time > np.where(last_open[contact] == NEVER, -NEVER, last_open[contact])
    sends_since = np.bincount(contact[after_last], minlength=n)

    with np.errstate(divide="ignore", invalid="ignore"):
        open_rate = np.where(sends > 0, opened / sends, np.nan)
        click_rate = np.where(sends > 0, clicked / sends, np.nan)
        score = np.where(
            sends > 0, (config.open_weight * opened + config.click_weight * clicked) / sends, 0.0
        )
    engaged_ever = last_open != NEVER
    days_since = np.where(engaged_ever, (t - last_open) / SECONDS_PER_DAY, np.nan)
    return pd.DataFrame(
        {
            "contact_id": index.contact_ids,
            "eligible_sends": sends,
            "opened": opened,
            "clicked": clicked,
            "open_rate": open_rate,
            "click_rate": click_rate,
            "last_open_at": _as_times(last_open),
            "last_click_at": _as_times(last_click),
            "days_since_last_engagement": days_since,
            "sends_since_last_engagement": sends_since,
            "bounces": bounces,
            "score": score,
        }
    )


def _latest_per_contact(
    contact: np.ndarray, time: np.ndarray, mask: np.ndarray, n: int
) -> np.ndarray:
    """Latest masked time per contact; arrays are sorted by (contact, time), so it is the last."""
    latest = np.full(n, NEVER, dtype=np.int64)
    kept_contact = contact[mask]
    if not len(kept_contact):
        return latest
    last_of_run = np.flatnonzero(np.r_[kept_contact[1:] != kept_contact[:-1], True])
    latest[kept_contact[last_of_run]] = time[mask][last_of_run]
    return latest


def _as_times(seconds: np.ndarray) -> np.ndarray:
    # int64 min is NaT's bit pattern, so "never" becomes a blank time.
    marked = np.where(seconds == NEVER, np.iinfo(np.int64).min, seconds)
    return marked.astype("datetime64[s]").astype("datetime64[us]")
