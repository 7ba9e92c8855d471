"""Reference times: every time-dependent function takes an explicit ``as_of``; this reads it."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from engagekit.errors import DataError

AsOf = str | date | datetime | pd.Timestamp


def as_timestamp(value: AsOf, *, name: str = "as_of") -> pd.Timestamp:
    """Read a reference time as a naive UTC timestamp.

    Aware times are converted to UTC; a bare date means midnight at its start.

    Examples
    --------
    >>> as_timestamp("2026-11-30")
    Timestamp('2026-11-30 00:00:00')
    >>> as_timestamp("2026-11-30T10:00:00+02:00")
    Timestamp('2026-11-30 08:00:00')
    """
    what = name[:1].upper() + name[1:]
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DataError(f"{what} is required (a date or time such as 2026-11-30).")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise DataError(f"{what} {value!r} is not a date or time (use e.g. 2026-11-30).") from None
    if pd.isna(stamp):
        raise DataError(f"{what} {value!r} is not a date or time (use e.g. 2026-11-30).")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.as_unit("us")


FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2199, 12, 31)
"""The dates engagekit accepts, in imported data and in segment definitions alike: every engine
and database holds them, and a day more or less never overflows (SQL dates end at 9999-12-31,
pandas' nanosecond times in 2262)."""

NOW_RESOLUTION = "h"
""""Now" is read to the hour: the natural as-of time of data still being sent is the start of the
current hour, so every surface (dashboard, CLI, notebook) opened within that hour agrees on it, and
caches keyed by it are not recomputed on every click."""


def read_now() -> pd.Timestamp:
    """The clock, read once per session, as naive UTC to :data:`NOW_RESOLUTION`.

    Only :class:`engagekit.Session` calls this; every rule below it takes an explicit ``as_of``.
    """
    return pd.Timestamp.now(tz="UTC").tz_localize(None).floor(NOW_RESOLUTION).as_unit("us")


def natural_as_of(last_sent_at: pd.Timestamp | None, *, now: pd.Timestamp) -> pd.Timestamp:
    """The reference time a workspace's data suggests when nobody pinned one.

    Midnight after the last campaign was sent (so the last day counts whole), or ``now`` when that
    is earlier (data still being sent) or there are no campaigns.

    Examples
    --------
    >>> natural_as_of(pd.Timestamp("2026-11-29 18:00"), now=pd.Timestamp("2027-01-01"))
    Timestamp('2026-11-30 00:00:00')
    >>> natural_as_of(None, now=pd.Timestamp("2027-01-01 10:00"))
    Timestamp('2027-01-01 10:00:00')
    """
    if last_sent_at is None or pd.isna(last_sent_at):
        return now
    return min(now, as_timestamp(pd.Timestamp(last_sent_at).normalize() + pd.Timedelta(days=1)))
