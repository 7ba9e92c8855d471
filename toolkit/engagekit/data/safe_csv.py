"""CSV files that are safe to open in a spreadsheet.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and some
also after a leading tab or carriage return; a contact who types ``=HYPERLINK(...)`` as a first name
could make the marketer's spreadsheet run it (CSV injection). Following the OWASP guidance, every
*text* cell that starts with one of those characters gets a leading single quote, which spreadsheets
show as text and which a reader can strip again, except a plain e-mail address starting with ``-``
or ``+``, which is a valid address and no formula. Number columns are left alone, so ``-5`` in an
``int`` or ``float`` column stays the number -5.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import IO

import pandas as pd

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)."""

NEUTRALISING_PREFIX = "'"

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

# RFC 4180 line ends; they also make the csv writer quote a cell holding a lone carriage return,
# which it would otherwise write bare and a reader would take for the end of the row.
LINE_END = "\r\n"
BYTE_ORDER_MARK = "\ufeff"


# A plain e-mail address: letters, digits and the punctuation addresses use, nothing a formula
# needs to do harm (no parentheses, quotes, '=', '|', '!' or spaces).
_PLAIN_EMAIL = re.compile(r"[A-Za-z0-9._%+\-']+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def neutralise(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would read it as a formula.

    A plain e-mail address that starts with ``-`` or ``+`` (``-john@example.com`` is valid) is
    left as it is: it holds nothing a formula could run, and a quote in front of it would break
    the upload of an audience to an email tool.

    Examples
    --------
    >>> neutralise("=1+1")
    "'=1+1"
    >>> neutralise("Ann")
    'Ann'
    >>> neutralise("-john@example.com"), neutralise("-2+3")
    ('-john@example.com', "'-2+3")
    """
    if not text.startswith(FORMULA_PREFIXES):
        return text
    if text[0] in "+-" and _PLAIN_EMAIL.fullmatch(text):
        return text
    return NEUTRALISING_PREFIX + text


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are neutralised; number and time columns unchanged.

    Examples
    --------
    >>> out = neutralise_frame(pd.DataFrame({"name": ["-x", "y"], "n": [-1, 2]}))
    >>> out["name"].tolist(), out["n"].tolist()
    (["'-x", 'y'], [-1, 2])
    """
    out = frame.copy()
    for column in out.columns:
        if not _is_text_column(out[column]):
            continue
        # Only str cells: a number or a blank kept in an object column is not a formula.
        out[column] = out[column].map(lambda v: neutralise(v) if isinstance(v, str) else v)
    return out


def _is_text_column(values: pd.Series) -> bool:
    """Object, string and categorical columns may hold text; numbers, flags and times never do."""
    types = pd.api.types
    return not (
        types.is_numeric_dtype(values)
        or types.is_bool_dtype(values)
        or types.is_datetime64_any_dtype(values)
        or types.is_timedelta64_dtype(values)
    )


def to_safe_csv(
    frame: pd.DataFrame, path_or_buffer: str | Path | IO[str] | None = None, *, excel: bool = False
) -> str | None:
    """Write ``frame`` as CSV (no index) with text cells neutralised.

    Like :meth:`pandas.DataFrame.to_csv`: returns the text when ``path_or_buffer`` is None,
    else writes there (UTF-8) and returns None. Lines end with CRLF (RFC 4180); times are written
    ``YYYY-MM-DD HH:MM:SS``. With ``excel``, the text starts with a byte-order mark: without it,
    Excel reads UTF-8 as the local code page and garbles accented names.

    Examples
    --------
    >>> to_safe_csv(pd.DataFrame({"email": ["a@x.com"], "note": ["=cmd"]})).splitlines()
    ['email,note', "a@x.com,'=cmd"]
    """
    options = {"index": False, "date_format": DATE_FORMAT, "lineterminator": LINE_END}
    safe = neutralise_frame(frame)
    if path_or_buffer is None:
        buffer = io.StringIO()
        safe.to_csv(buffer, **options)
        return (BYTE_ORDER_MARK if excel else "") + buffer.getvalue()
    safe.to_csv(path_or_buffer, encoding="utf-8-sig" if excel else "utf-8", **options)
    return None


__all__ = ["FORMULA_PREFIXES", "neutralise", "neutralise_frame", "to_safe_csv"]
