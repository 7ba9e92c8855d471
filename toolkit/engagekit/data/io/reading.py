"""Reading export files: robust CSV loading and cell parsing that reports bad rows.

Every importer reads its files through :class:`SourceFile`, so all formats share one set of rules:

- **Encodings**: UTF-8 with or without a byte-order mark, UTF-16 with a byte-order mark, and
  Windows-1252 (what Excel writes on Windows); anything else is read as Latin-1 rather than refused.
- **Separators**: comma, or semicolon or tab when the header row uses that instead (Excel in many
  European locales saves CSV with semicolons).
- **Headers** are matched ignoring case and extra spaces: ``" email  ADDRESS"`` is ``Email address``.
- **Rows** are numbered as a spreadsheet shows them: the header is row 1, the first record row 2.
- **Emails** are trimmed and lower-cased; one without exactly one ``@``, with a space, or without a
  dotted domain is reported and its row skipped.
- **Times** may be ISO 8601 (``2026-11-24``, ``2026-11-24 10:15:32``, ``2026-11-24T10:15:00+02:00``)
  or US style (``11/24/2026 10:15 AM``, ``11/24/2026``). A time with an offset is converted to UTC;
  a time without one is taken as UTC already. All times come out naive (no time zone).
- **A bad cell** in a required column skips its row; in an optional column it is left blank. Either
  way the report names the file, the row, the column and the value.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "people.csv"
>>> _ = path.write_text("Email , Joined\\nAnn@Example.com,2026-01-05\\nbob,2026-02-30\\n")
>>> report = ImportReport()
>>> source = SourceFile(path, report)
>>> source.emails("email").tolist()
['ann@example.com', nan]
>>> print(report.issues[0])
people.csv, row 3, column 'Email': not a valid email address; row skipped (value 'bob')
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Callable, Iterable, Mapping
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

from engagekit.data.schema import TIME_DTYPE
from engagekit.errors import DataError, ImportReport

PathLike = str | Path

# A row with more cells than the header is replaced by this marker (and its cell count) so that it
# keeps its place: rows after it must keep their spreadsheet numbers.
_TOO_MANY_CELLS = "\ufdd0engagekit:too-many-cells:"

# One '@', no spaces or list punctuation, a dotted domain with a top-level part of 2+ characters.
_EMAIL = r"[^@\s,;:<>()\[\]\"]+@(?:[^@\s,;:<>()\[\]\".]+\.)+[^@\s,;:<>()\[\]\".]{2,}"

# Shapes checked before parsing, so that "12", "555-0100" or "2026" are never taken for dates.
_ISO_SHAPE = r"\d{4}-\d{1,2}-\d{1,2}(?:[T ].*)?"
_US_SHAPE = r"\d{1,2}/\d{1,2}/\d{2,4}(?: .*)?"
_US_FORMATS = (
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
    "%m/%d/%y %I:%M %p",
    "%m/%d/%y",
)
TIME_HINT = "e.g. 2026-11-24 10:15 or 11/24/2026 10:15 AM"


def header_key(name: object) -> str:
    """The form under which a header is matched: trimmed, single-spaced, case-folded.

    Examples
    --------
    >>> header_key("  Email   Address ")
    'email address'
    """
    return " ".join(str(name).replace("\ufeff", "").split()).casefold()


# --- whole files -------------------------------------------------------------------------------


def _read_bytes(path: Path, limit: int | None) -> bytes:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read(-1 if limit is None else limit)
        with path.open("rb") as handle:
            return handle.read(-1 if limit is None else limit)
    except (OSError, EOFError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise DataError(f"{path.name}: cannot read the file ({reason})") from None


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError(f"{name}: the file is damaged (bad UTF-16 text)") from None
    if raw.startswith(b"PK\x03\x04"):
        raise DataError(f"{name}: this is a zip archive or an Excel workbook, not a CSV file "
                        "(unzip it, or save the sheet as CSV)")
    if b"\x00" in raw[:4096]:
        raise DataError(f"{name}: this is not a text CSV file")
    # Detection libraries guess wrongly on short files; these three cover what export tools and
    # Excel write, and Latin-1 decodes anything, so an odd byte never makes a file unreadable.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def load_text(path: PathLike, *, limit: int | None = None) -> str:
    """The decoded text of a CSV file (gzip-compressed if its name ends in ``.gz``).

    With ``limit`` only about that many bytes are read, cut at a line end: enough for the header.
    """
    path = Path(path)
    raw = _read_bytes(path, limit)
    if limit is not None and len(raw) >= limit and b"\n" in raw:
        raw = raw[: raw.rindex(b"\n")]
    return _decode(raw, path.name)


def _separator(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    counts = {separator: first_line.count(separator) for separator in (",", ";", "\t")}
    return max(counts, key=counts.__getitem__) if any(counts.values()) else ","


def _mark_long_row(cells: list[str]) -> list[str]:
    return [f"{_TOO_MANY_CELLS}{len(cells)}"]


def parse_csv(text: str, name: str) -> pd.DataFrame:
    """Every row of a CSV text as strings, the header included, columns numbered from 0."""
    options = {
        "sep": _separator(text),
        "header": None,
        "dtype": str,
        "keep_default_na": False,
        "skip_blank_lines": False,  # a blank line is a row in a spreadsheet: keep the numbering
    }
    try:
        try:
            return pd.read_csv(StringIO(text), **options)
        except pd.errors.ParserError as error:
            if not re.search(r"Expected \d+ fields", str(error)):
                raise
            # Some row has more cells than the header: the slower parser lets us keep and report it.
            return pd.read_csv(
                StringIO(text), engine="python", on_bad_lines=_mark_long_row, **options
            ).fillna("")
    except pd.errors.EmptyDataError:
        if text.strip():
            raise DataError(f"{name}: the first row is empty; it should hold the column names") from None
        raise DataError(f"{name}: the file is empty (no header row)") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as error:
        quote = re.search(r"EOF inside string starting at row (\d+)", str(error))
        if quote:  # the parser counts from 0 at the header; a spreadsheet from 1
            raise DataError(f"{name}: cannot be read as CSV: a quote opened in row "
                            f"{int(quote.group(1)) + 1} is never closed") from None
        detail = " ".join(str(error).split())
        raise DataError(f"{name}: cannot be read as CSV ({detail})") from None


def read_header(path: PathLike) -> list[str]:
    """The header row of a CSV file, read without loading the whole file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "opens.csv"
    >>> _ = path.write_text("Timestamp,Email\\n2026-11-24 10:15:32,ann@example.com\\n")
    >>> read_header(path)
    ['Timestamp', 'Email']
    """
    path = Path(path)
    table = parse_csv(load_text(path, limit=256 * 1024), path.name)
    return [cell.strip() for cell in table.iloc[0].tolist()] if len(table) else []


def display_names(paths: Iterable[PathLike]) -> dict[Path, str]:
    """How each file is named in messages: its file name, or ``folder/name`` when names repeat.

    Examples
    --------
    >>> names = display_names(["x/opens/spring.csv", "x/clicks/spring.csv", "x/members.csv"])
    >>> sorted(names.values())
    ['clicks/spring.csv', 'members.csv', 'opens/spring.csv']
    """
    paths = [Path(path) for path in paths]
    counts = pd.Series([path.name for path in paths]).value_counts()
    return {
        path: f"{path.parent.name}/{path.name}" if counts[path.name] > 1 else path.name
        for path in paths
    }


# --- single cells ------------------------------------------------------------------------------


def parse_times(values: pd.Series) -> pd.Series:
    """Read text as naive UTC times; blank or unreadable cells become ``NaT``.

    Examples
    --------
    >>> parse_times(pd.Series(["2026-11-24T10:15:00+02:00", "11/24/2026 10:15 AM", "soon"])).tolist()
    [Timestamp('2026-11-24 08:15:00'), Timestamp('2026-11-24 10:15:00'), NaT]
    """
    text = values.astype("str").str.strip()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    iso = text.str.fullmatch(_ISO_SHAPE, na=False)
    if iso.any():
        out[iso] = pd.to_datetime(text[iso], format="ISO8601", utc=True, errors="coerce")
    us = text.str.fullmatch(_US_SHAPE, na=False)
    for time_format in _US_FORMATS:
        todo = us & out.isna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(
            text[todo].str.upper(), format=time_format, utc=True, errors="coerce"
        )
    return out.dt.tz_localize(None).astype(TIME_DTYPE)


def parse_numbers(values: pd.Series) -> pd.Series:
    """Read text as finite floats; blank or unreadable cells become ``NaN``.

    Examples
    --------
    >>> parse_numbers(pd.Series(["12.5", " 3 ", "n/a", "inf"])).tolist()
    [12.5, 3.0, nan, nan]
    """
    numbers = pd.to_numeric(values.astype("str").str.strip(), errors="coerce").astype("float64")
    return numbers.where(np.isfinite(numbers))


def parse_ids(values: pd.Series) -> pd.Series:
    """Read text as whole-number ids (nullable ``Int64``); anything else becomes ``<NA>``."""
    numbers = parse_numbers(values)
    whole = (numbers == numbers.round()) & (numbers.abs() < 2**63)
    return numbers.where(whole).astype("Int64")


def split_cells(values: pd.Series, separator: str) -> pd.Series:
    """Split list cells such as ``"vip, newsletter"`` into one item per row, index repeated.

    Examples
    --------
    >>> split_cells(pd.Series(["vip, news", None, "vip,"], index=[2, 3, 4]), ",").to_dict()
    {2: 'news', 4: 'vip'}
    >>> split_cells(pd.Series(["vip, news"], index=[2]), ",").tolist()
    ['vip', 'news']
    """
    items = values.dropna().str.split(separator).explode().str.strip()
    return items[items.notna() & (items != "")].astype("str")


def split_quoted(values: pd.Series) -> pd.Series:
    """Split cells written as quoted CSV, such as Mailchimp's ``"vip","new, hot"`` tags.

    Examples
    --------
    >>> split_quoted(pd.Series(['"vip","new, hot"', 'plain'], index=[2, 3])).tolist()
    ['vip', 'new, hot', 'plain']
    """
    present = values.dropna()
    items = pd.Series(
        [next(csv.reader([cell], skipinitialspace=True), []) for cell in present],
        index=present.index,
        dtype=object,
    )
    items = items.explode().str.strip()
    return items[items.notna() & (items != "")].astype("str")


def field_name(header: str, taken: Iterable[str] = ()) -> str:
    """A custom field name for an export header: snake case, unique among ``taken``.

    Examples
    --------
    >>> field_name("Street address line 1 - Home")
    'street_address_line_1_home'
    >>> field_name("Email", taken=["email"])
    'email_2'
    """
    base = re.sub(r"[^0-9a-z]+", "_", header_key(header)).strip("_") or "field"
    taken = set(taken)
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}_{number}"
    return name


def infer_field(values: pd.Series) -> tuple[str, pd.Series]:
    """The type of a custom field and its values converted to it.

    A field is a *number* when every non-blank value reads as a number, unless some value starts
    with a zero followed by a digit (zip codes, account numbers: their zeros matter); a *date*
    when every non-blank value reads as a time; *text* otherwise, and when it is all blank.

    Examples
    --------
    >>> infer_field(pd.Series(["3", "4.5", None]))[0]
    'number'
    >>> infer_field(pd.Series(["02451", "10001"]))[0]
    'text'
    >>> infer_field(pd.Series(["2026-01-05", "11/24/2026"]))[0]
    'date'
    """
    present = values.notna()
    if not present.any():
        return "text", values
    numbers = parse_numbers(values)
    leading_zero = values[present].astype("str").str.match(r"[+-]?0\d")
    if numbers[present].notna().all() and not leading_zero.any():
        return "number", numbers
    times = parse_times(values)
    if times[present].notna().all():
        return "date", times
    return "text", values


def as_text(values: pd.Series) -> pd.Series:
    """Cells of any type as the text a CSV export would hold (blank for missing).

    Examples
    --------
    >>> as_text(pd.Series([1.0, None, 2.0])).tolist()
    ['1', '', '2']
    >>> as_text(pd.Series([1.5, None])).tolist()
    ['1.5', '']
    """
    blank = values.isna()
    if pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%dT%H:%M:%S")
    elif pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        text = values.fillna(0).astype("int64").astype("str")
    else:
        text = values.astype("str")
    return text.mask(blank, "")


# --- a file being imported ---------------------------------------------------------------------


class SourceFile:
    """One CSV file being imported: its header, its rows as text, and which rows are still good.

    Parsing methods (:meth:`emails`, :meth:`times`, ...) return one value per row, indexed by the
    spreadsheet row number, report every bad cell to ``report`` and mark rows to skip in
    :attr:`ok`. The reader keeps ``frame[source.ok]`` once every column is parsed.

    Parameters
    ----------
    path
        The CSV file (``.csv`` or ``.csv.gz``).
    report
        Where problems and notes go.
    label
        How the file is named in messages; its file name by default.

    Raises
    ------
    DataError
        When the file cannot be read, is empty, or is not a CSV text file.
    """

    def __init__(self, path: PathLike, report: ImportReport, *, label: str | None = None):
        self.path = Path(path)
        self.name = label or self.path.name
        self.report = report
        self._take(parse_csv(load_text(self.path), self.name))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, report: ImportReport, *, label: str) -> SourceFile:
        """A table read from elsewhere (a database), checked like a file named ``label``.

        Rows are numbered as if the table were a CSV file with a header row.
        """
        source = cls.__new__(cls)
        source.path, source.name, source.report = Path(label), label, report
        cells = pd.DataFrame({position: as_text(frame[column])
                              for position, column in enumerate(frame.columns)})
        header = pd.DataFrame([[str(column) for column in frame.columns]])
        source._take(pd.concat([header, cells], ignore_index=True))
        return source

    def _take(self, table: pd.DataFrame) -> None:
        """Keep the header and the rows of a table of text cells (header first)."""
        report = self.report
        header = [cell.strip() for cell in table.iloc[0].tolist()]
        if not any(header):
            raise DataError(f"{self.name}: the first row is empty; it should hold the column names")
        body = table.iloc[1:]
        body.index = pd.RangeIndex(2, len(table) + 1)
        long_rows = body[0].str.startswith(_TOO_MANY_CELLS)
        self.headers: dict[str, str] = {}
        positions = []
        for position, text in enumerate(header):
            key = header_key(text)
            if key in self.headers:
                report.notes.append(
                    f"{self.name}: column '{text}' appears more than once; the first one is used"
                )
            elif key:
                self.headers[key] = text
                positions.append(position)
        rows = body.iloc[:, positions].set_axis(list(self.headers), axis="columns")
        rows = rows.apply(lambda column: column.astype("str").str.strip())
        blank = (rows == "").all(axis="columns")
        self.rows = rows[~blank & ~long_rows]
        self.ok = pd.Series(True, index=self.rows.index)
        report.files.append(self.name)
        for row, marker in body[0][long_rows].items():
            count = marker.removeprefix(_TOO_MANY_CELLS)
            report.add(self.name, int(row), None,
                       f"row has {count} cells but the header has {len(header)}; row skipped")
        self.skipped = int(long_rows.sum())

    def __repr__(self) -> str:
        return f"SourceFile({self.name!r}, {len(self.rows)} rows)"

    # -- columns

    def has(self, column: str) -> bool:
        """Whether the file has ``column`` (compared ignoring case and spacing)."""
        return header_key(column) in self.headers

    def first_of(self, *columns: str) -> str:
        """The first of several alternative column names the file has (the first name if none)."""
        return next((column for column in columns if self.has(column)), columns[0])

    def require(self, *columns: str) -> None:
        """Raise :class:`DataError` naming the file and every missing column."""
        missing = [column for column in columns if not self.has(column)]
        if missing:
            names = ", ".join(f"'{column}'" for column in missing)
            plural = "s" if len(missing) > 1 else ""
            found = ", ".join(self.headers.values())
            raise DataError(f"{self.name}: missing required column{plural} {names} (found: {found})")

    def label(self, column: str) -> str:
        """The column's header as written in the file."""
        return self.headers.get(header_key(column), column)

    def other_columns(self, known: Iterable[str]) -> list[str]:
        """Headers (as written) of the columns not in ``known``."""
        skip = {header_key(column) for column in known}
        return [text for key, text in self.headers.items() if key not in skip]

    # -- reporting

    def flag(self, bad: pd.Series, column: str | None, reason: str, *, skip: bool) -> None:
        """Report every row where ``bad`` holds, with its value; with ``skip`` mark it not ok."""
        if not bad.any():
            return
        values = self.text(column) if column else None
        label = self.label(column) if column else None
        for row in bad.index[bad.to_numpy(dtype=bool)]:
            value = None if values is None else values[row]
            self.report.add(self.name, int(row), label, reason, value)
        if skip:
            self.ok &= ~bad

    def kept(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The good rows of ``frame`` (indexed like the file), noting how many were skipped."""
        # Columns are parsed one after another; list the problems in file and row order instead.
        order = {name: position for position, name in enumerate(self.report.files)}
        self.report.issues.sort(key=lambda issue: (order.get(issue.file, -1), issue.row or 0))
        skipped = self.skipped + int((~self.ok).sum())
        if skipped:
            self.report.notes.append(f"{self.name}: {skipped:,} of {len(self.ok) + self.skipped:,} "
                                     "rows skipped (see the problems)")
        return frame[self.ok]

    # -- typed cells

    def text(self, column: str) -> pd.Series:
        """Trimmed text, blank cells as missing; all missing when the file lacks the column."""
        key = header_key(column)
        if key not in self.headers:
            return pd.Series(np.nan, index=self.rows.index, dtype="str")
        values = self.rows[key]
        return values.where(values != "")

    def required_text(self, column: str, what: str) -> pd.Series:
        """Text that must not be blank: blank cells skip their row."""
        self.require(column)
        values = self.text(column)
        self.flag(values.isna(), column, f"{what} is blank; row skipped", skip=True)
        return values

    def emails(self, column: str) -> pd.Series:
        """Email addresses, trimmed and lower-cased; blank or invalid ones skip their row."""
        self.require(column)
        emails = self.text(column).str.lower()
        self.flag(emails.isna(), column, "email address is blank; row skipped", skip=True)
        invalid = emails.notna() & ~emails.str.fullmatch(_EMAIL, na=False)
        self.flag(invalid, column, "not a valid email address; row skipped", skip=True)
        return emails.where(~invalid)

    def times(self, column: str, *, required: bool = False) -> pd.Series:
        """Naive UTC times (see the module rules)."""
        return self._typed(column, parse_times, required, "date or time", TIME_HINT)

    def numbers(self, column: str, *, required: bool = False) -> pd.Series:
        """Floats."""
        return self._typed(column, parse_numbers, required, "number", "e.g. 12.50")

    def ids(self, column: str, *, required: bool = True) -> pd.Series:
        """Whole-number ids (nullable ``Int64``)."""
        return self._typed(column, parse_ids, required, "id", "a whole number")

    def choices(
        self,
        column: str,
        mapping: Mapping[str, str],
        *,
        what: str,
        required: bool = False,
        blank: str | None = None,
    ) -> pd.Series:
        """Values looked up, ignoring case, in ``mapping``; a blank cell becomes ``blank``."""
        expected = ", ".join(dict.fromkeys(mapping.values()))
        values = self._typed(
            column,
            lambda text: text.str.casefold().map(mapping).astype("str"),
            required and blank is None,
            what,
            f"expected one of: {expected}",
        )
        return values if blank is None else values.mask(self.text(column).isna(), blank)

    def _typed(
        self,
        column: str,
        parse: Callable[[pd.Series], pd.Series],
        required: bool,
        what: str,
        hint: str,
    ) -> pd.Series:
        if required:
            self.require(column)
        text = self.text(column)
        values = parse(text)
        bad = text.notna() & values.isna()
        if required:
            self.flag(text.isna(), column, f"{what} is blank; row skipped", skip=True)
            self.flag(bad, column, f"not a valid {what} ({hint}); row skipped", skip=True)
        else:
            self.flag(bad, column, f"not a valid {what} ({hint}); left blank", skip=False)
        return values
