"""Engagement features and the score, per contact, as of an explicit time T.

The window (SPEC 2): a campaign counts when its sent time lies in
``(T - lookback_days, T - exclusion_hours]``; only events at or before T count, and only for
campaigns in the window. A click counts as an open. Which opens and clicks count at all is the
index's engagement rule (``config.engagement``, see :mod:`engagekit.data.activity`).

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

Beside the window, :func:`last_engagement_ever` looks at every email ever sent (up to T):

=================================  ===========================================================
column                             meaning
=================================  ===========================================================
last_engagement_ever_at            latest counted open or click of any email, up to T
days_since_last_engagement_ever    (T - last_engagement_ever_at) in days (blank if never)
=================================  ===========================================================

They are shown beside the window's figures (members, contact page, explanations) so that a
contact who last engaged before the window is told apart from one who never did; they are not
segment criteria.

The score is one floating-point division of two exact integers (the weights as whole numbers,
:meth:`~engagekit.config.EngagementConfig.score_weights`), which IEEE 754 rounds correctly: every
engine that divides the same two integers gets the same bits, so ties are ties everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engagekit.config import EngagementConfig
from engagekit.data.activity import NEVER, ActivityIndex, as_datetimes, cell_flags, to_seconds
from engagekit.data.dataset import Dataset
from engagekit.timeutil import AsOf, as_timestamp

FEATURE_KINDS: dict[str, str] = {
    "eligible_sends": "count",
    "opened": "count",
    "clicked": "count",
    "open_rate": "rate",
    "click_rate": "rate",
    "last_open_at": "time",
    "last_click_at": "time",
    "days_since_last_engagement": "days",
    "sends_since_last_engagement": "count",
    "bounces": "count",
    "score": "score",
}
"""Every per-contact engagement column, once, with its kind (storage and formats follow it)."""

FEATURE_COLUMNS: tuple[str, ...] = tuple(FEATURE_KINDS)

EVER_KINDS: dict[str, str] = {
    "last_engagement_ever_at": "time",
    "days_since_last_engagement_ever": "days",
}
"""The columns of :func:`last_engagement_ever`, with their kinds."""
EVER_COLUMNS: tuple[str, ...] = tuple(EVER_KINDS)

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
    >>> from engagekit.data.sample import generate_sample
    >>> index = ActivityIndex.build(generate_sample(300, seed=3))
    >>> features = compute_features(index, as_of="2026-11-30")
    >>> list(features.columns[:3])
    ['contact_id', 'eligible_sends', 'opened']
    """
    config = config or EngagementConfig()
    if index.counting != config.counting_key():
        # Features from an index that counts other events would silently mix two rules.
        raise ValueError("The activity index counts engagement by other settings than the config: "
                         "build it with this config (Dataset.activity_for(config)).")
    t = to_seconds(as_timestamp(as_of))
    start, end = (to_seconds(bound) for bound in window_bounds(as_of, config))
    n = index.n_contacts
    window = index.window(start, end)

    # Usually every delivery of a window campaign is known by T (its send is before T), and the
    # window is used as a slice, without copying; otherwise the unknown ones are left out.
    first = index.delivery_first[window]
    known_by = index.offset(t)  # t as the index keeps times
    rows = window if first.max(initial=-1) <= known_by else np.flatnonzero(first <= known_by) + window.start
    key = _cell_keys(index, rows, window, known_by)
    contact = index.delivery_contact[rows]  # a view when the window is a slice
    cell = key.astype(np.uint8)  # the low byte holds the 3 flag bits: masks from 1 byte, not 8
    engaged = (cell & 1).view(bool)
    clicked_mask = ((cell >> 1) & 1).view(bool)
    bounced = ((cell >> 2) & 1).view(bool)
    del cell
    # Positions in the window once: the contacts and the delivery numbers follow from them.
    engaged_at, clicked_at = np.flatnonzero(engaged), np.flatnonzero(clicked_mask)
    engaged_contact, clicked_contact = contact[engaged_at], contact[clicked_at]

    # Counting passes over the deliveries of the window, per contact.
    sends = np.bincount(contact, minlength=n)
    opened = np.bincount(engaged_contact, minlength=n)
    clicked = np.bincount(clicked_contact, minlength=n)
    bounces = np.bincount(contact[bounced], minlength=n)

    engaged_rows = _delivery_numbers(engaged_at, rows)
    clicked_rows = _delivery_numbers(clicked_at, rows)
    last_open = _latest_per_contact(
        index, index.delivery_last_engaged, index.engagement_key, engaged_rows, engaged_contact, t, n
    )
    last_click = _latest_per_contact(
        index, index.delivery_last_clicked, index.click_key, clicked_rows, clicked_contact, t, n
    )
    sent_time = index.delivery_sent_times(window)
    if isinstance(rows, np.ndarray):
        sent_time = sent_time[rows - window.start]
    never = last_open == NEVER
    since = np.where(never, np.iinfo(np.int64).min, last_open)[contact]
    sends_since = np.bincount(contact[sent_time > since], minlength=n)

    with np.errstate(divide="ignore", invalid="ignore"):
        open_rate = np.where(sends > 0, opened / sends, np.nan)
        click_rate = np.where(sends > 0, clicked / sends, np.nan)
        open_weight, click_weight, denominator = config.score_weights()
        score = np.where(
            sends > 0, (open_weight * opened + click_weight * clicked) / (denominator * sends), 0.0
        )
    days_since = np.where(never, np.nan, (t - last_open) / SECONDS_PER_DAY)
    # copy=False: every array is new here (the ids copied off the read-only index), so the frame
    # takes them as they are instead of copying them into blocks.
    return pd.DataFrame(
        {
            "contact_id": np.array(index.contact_ids),
            "eligible_sends": sends,
            "opened": opened,
            "clicked": clicked,
            "open_rate": open_rate,
            "click_rate": click_rate,
            "last_open_at": as_datetimes(last_open),
            "last_click_at": as_datetimes(last_click),
            "days_since_last_engagement": days_since,
            "sends_since_last_engagement": sends_since,
            "bounces": bounces,
            "score": score,
        },
        copy=False,
    )


def last_engagement_ever(
    index: ActivityIndex, *, as_of: AsOf, config: EngagementConfig | None = None
) -> pd.DataFrame:
    """One row per contact (in the dataset's contact order): its last counted open or click of
    any email up to ``as_of``, whatever the window, and the days since.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> index = ActivityIndex.build(generate_sample(300, seed=3))
    >>> ever = last_engagement_ever(index, as_of="2026-11-30")
    >>> window = compute_features(index, as_of="2026-11-30")
    >>> seen = window["last_open_at"].notna()  # never before its window's last engagement
    >>> bool((ever["last_engagement_ever_at"][seen] >= window["last_open_at"][seen]).all())
    True
    """
    config = config or EngagementConfig()
    if index.counting != config.counting_key():
        raise ValueError("The activity index counts engagement by other settings than the config: "
                         "build it with this config (Dataset.activity_for(config)).")
    t = to_seconds(as_timestamp(as_of))
    rows = np.flatnonzero(index.delivery_engaged <= index.offset(t))
    latest = _latest_per_contact(index, index.delivery_last_engaged, index.engagement_key, rows,
                                 index.delivery_contact[rows], t, index.n_contacts)
    never = latest == NEVER
    return pd.DataFrame({
        "contact_id": index.contact_ids,
        "last_engagement_ever_at": as_datetimes(latest),
        "days_since_last_engagement_ever": np.where(never, np.nan, (t - latest) / SECONDS_PER_DAY),
    })


def last_engagement_ever_of(data: Dataset, *, as_of: AsOf, config: EngagementConfig) -> pd.DataFrame:
    """:func:`last_engagement_ever` of ``data``'s index under ``config``, computed once per as-of
    time and rule and kept with the data (a contact page, its explanations and member tables all
    ask for it).

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> data = generate_sample(50, seed=3)
    >>> first = last_engagement_ever_of(data, as_of="2026-11-30", config=EngagementConfig())
    >>> first is last_engagement_ever_of(data, as_of="2026-11-30", config=EngagementConfig())
    True
    """
    stamp = as_timestamp(as_of)
    return data.derived(f"last engagement ever|{stamp.isoformat()}|{config.counting_key()}",
                        lambda: last_engagement_ever(data.activity_for(config), as_of=stamp, config=config))


def _cell_keys(index: ActivityIndex, rows: slice | np.ndarray, window: slice, t: int) -> np.ndarray:
    """``contact << 3 | flags`` of the deliveries as of ``t`` (as the index keeps times).

    The stored keys hold every flag a delivery ever gets; only deliveries with a flag still in the
    future at ``t`` (a late open of a campaign sent before ``t``) are worked out again.
    """
    key = index.delivery_cell_key[rows]
    late = np.flatnonzero(index.delivery_flag_time[rows] > t)
    if not len(late):
        return key
    at = late + window.start if isinstance(rows, slice) else rows[late]
    key = key.copy()
    key[late] = (key[late] & ~7) | cell_flags(
        index.delivery_engaged[at] <= t, index.delivery_clicked[at] <= t, index.delivery_bounced[at] <= t
    )
    return key


def _delivery_numbers(positions: np.ndarray, rows: slice | np.ndarray) -> np.ndarray:
    """Delivery numbers of positions in ``rows`` (a slice of the index's deliveries or an array)."""
    return positions + rows.start if isinstance(rows, slice) else rows[positions]


def _latest_per_contact(
    index: ActivityIndex,
    delivery_latest: np.ndarray,
    keys: np.ndarray,
    rows: np.ndarray,
    contact: np.ndarray,
    t: int,
    n: int,
) -> np.ndarray:
    """Latest event time up to ``t`` per contact (seconds since the Unix epoch, ``NEVER`` if
    none), over the given deliveries (all engaged by ``t``).

    A delivery's latest event overall is usually before ``t``; only for the few whose events run
    past ``t`` is the latest one at or before ``t`` looked up among the events.
    """
    latest = delivery_latest[rows]
    later = latest > index.offset(t)
    if later.any():
        latest = latest.copy()
        latest[later] = index.latest_up_to(keys, rows[later], t)
    # in the index's own time type: ``ufunc.at`` runs many times slower when it has to cast
    per_contact = np.full(n, -1, dtype=latest.dtype)
    np.maximum.at(per_contact, contact, latest)
    return np.where(per_contact < 0, NEVER, per_contact.astype(np.int64) + int(index.epoch))
