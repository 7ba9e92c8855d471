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
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DataError(f"{name} is required (a date or time such as 2026-11-30)")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise DataError(f"{name} {value!r} is not a date or time (use e.g. 2026-11-30)") from None
    if pd.isna(stamp):
        raise DataError(f"{name} {value!r} is not a date or time (use e.g. 2026-11-30)")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.as_unit("us")
