"""Time rules of segment criteria, computed in Python once and used by both engines.

Every cut-off is computed here from ``as_of`` and handed to the engines as a value (a bound
parameter in SQL), so no engine does date arithmetic of its own: SQLite and PostgreSQL have
different date functions, and the in-memory engine must agree with both to the microsecond.

========================  ======================================================================
rule                      meaning
========================  ======================================================================
before D                  the time is earlier than day D (``t < D 00:00``)
after D                   the time is later than day D (``t >= D+1 00:00``)
within the last N days    ``as_of - N days <= t <= as_of``
more than N days ago      ``t < as_of - N days``
email events              count when they happened at or before the second of ``as_of`` (the
                          activity index keeps whole seconds, so SQL compares with the start
                          of the next second)
orders                    count when placed at or before ``as_of``; a "purchased within N days"
                          criterion and the order metrics share :func:`order_window`
campaign scope            an activity criterion covers one campaign, the campaigns sent in the
                          last N days, or the latest N campaigns sent by ``as_of`` (latest by
                          sent time, then by id): :func:`campaign_scope`
========================  ======================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

ONE_MICROSECOND = pd.Timedelta(microseconds=1)


@dataclass(frozen=True)
class Interval:
    """A half-open time interval ``[start, end)``; ``None`` leaves a side open."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None


def day_start(value: str | date) -> pd.Timestamp:
    """Midnight at the start of a day given as ``YYYY-MM-DD``."""
    return pd.Timestamp(value).normalize().as_unit("us")


def within_last_days(as_of: pd.Timestamp, days: int) -> Interval:
    """``[as_of - days, as_of]`` as a half-open interval."""
    return Interval(as_of - pd.Timedelta(days=days), as_of + ONE_MICROSECOND)


def date_interval(op: str, value: object, as_of: pd.Timestamp) -> Interval:
    """The times a date operator accepts.

    Examples
    --------
    >>> date_interval("after", "2026-01-31", pd.Timestamp("2026-06-30")).start
    Timestamp('2026-02-01 00:00:00')
    >>> date_interval("more_than_days_ago", 30, pd.Timestamp("2026-06-30")).end
    Timestamp('2026-05-31 00:00:00')
    """
    if op == "before":
        return Interval(end=day_start(value))
    if op == "after":
        return Interval(start=day_start(value) + pd.Timedelta(days=1))
    if op == "within_last_days":
        return within_last_days(as_of, int(value))
    if op == "more_than_days_ago":
        return Interval(end=as_of - pd.Timedelta(days=int(value)))
    raise ValueError(f"not a date operator: {op!r}")


def events_end(as_of: pd.Timestamp) -> pd.Timestamp:
    """Email events strictly before this time count as of ``as_of`` (see the module note)."""
    return as_of.floor("s") + pd.Timedelta(seconds=1)


def purchase_window(value: object, as_of: pd.Timestamp) -> Interval:
    """Orders that count: up to ``as_of``, and within the last ``value`` days when given."""
    if value is None:
        return Interval(end=as_of + ONE_MICROSECOND)
    return within_last_days(as_of, int(value))


def order_window(field: str, value: object, as_of: pd.Timestamp) -> Interval:
    """The orders an e-commerce criterion looks at: "purchase" counts its last ``value`` days
    (when given); the order metrics (count, total, last date) every order up to ``as_of``."""
    return purchase_window(value if field == "purchase" else None, as_of)


@dataclass(frozen=True)
class CampaignScope:
    """The campaigns an email activity criterion covers.

    Exactly one of the forms: ``campaign_id`` (one campaign), or the campaigns sent in ``sent``,
    of which only the ``latest`` by sent time (then id) when ``latest`` is set.
    """

    campaign_id: int | None = None
    sent: Interval | None = None
    latest: int | None = None


def campaign_scope(field: str, value: int, as_of: pd.Timestamp) -> CampaignScope:
    """The scope of an activity criterion on ``field`` ("campaign", "last_n_days" or
    "last_n_campaigns").

    Examples
    --------
    >>> campaign_scope("last_n_campaigns", 3, pd.Timestamp("2026-06-30")).latest
    3
    >>> campaign_scope("last_n_days", 7, pd.Timestamp("2026-06-30")).sent.start
    Timestamp('2026-06-23 00:00:00')
    """
    if field == "campaign":
        return CampaignScope(campaign_id=int(value))
    if field == "last_n_days":
        return CampaignScope(sent=within_last_days(as_of, int(value)))
    if field == "last_n_campaigns":
        return CampaignScope(sent=Interval(end=as_of + ONE_MICROSECOND), latest=int(value))
    raise ValueError(f"not an activity scope: {field!r}")
