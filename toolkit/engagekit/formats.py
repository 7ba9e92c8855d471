"""How numbers read on every surface: one percentage format and thousands separators.

The dashboard, the CLI and the library's own sentences all write shares with :func:`format_share`
and counts with :func:`format_count`, so "12.3%" and "1,234" look the same wherever they appear.
"""

from __future__ import annotations

import math

SHARE_DECIMALS = 1
"""Decimals of a share shown as a percentage ("12.3%")."""


def format_share(share: float, *, decimals: int | None = SHARE_DECIMALS) -> str:
    """A share between 0 and 1 as a percentage; ``decimals=None`` shows as many decimals as the
    value has, up to two (for a value a person typed: "80%", "12.5%").

    Examples
    --------
    >>> format_share(0.1234), format_share(0.2, decimals=0), format_share(0.8, decimals=None)
    ('12.3%', '20%', '80%')
    >>> format_share(0.125, decimals=None), format_share(float("nan"))
    ('12.5%', '–')
    """
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    if decimals is None:
        return f"{f'{share * 100:.2f}'.rstrip('0').rstrip('.')}%"
    return f"{share:.{decimals}%}"


def format_count(count: float) -> str:
    """A whole number with thousands separators.

    Examples
    --------
    >>> format_count(1234567), format_count(-5)
    ('1,234,567', '-5')
    """
    return f"{int(count):,}"


def format_change(change: float) -> str:
    """A change of a count, signed, with thousands separators; no change is "0", without a sign.

    Examples
    --------
    >>> format_change(1200), format_change(-3), format_change(0)
    ('+1,200', '-3', '0')
    """
    return f"{int(change):+,}" if change else "0"


__all__ = ["SHARE_DECIMALS", "format_change", "format_count", "format_share"]
