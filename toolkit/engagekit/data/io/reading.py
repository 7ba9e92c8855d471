"""Reading export files: robust CSV loading and cell parsing that reports bad rows.

Every importer reads its files through :class:`SourceFile`, so all formats share one set of rules:

- **Encodings**: UTF-8 with or without a byte-order mark, UTF-16 with a byte-order mark, and
  Windows-1252 (what Excel writes on Windows); anything else is read as Latin-1 rather than refused.
- **Separators**: comma, or semicolon or tab when the header row uses that instead (Excel in many
  European locales saves CSV with semicolons).
- **Headers** are matched ignoring case and extra spaces: ``" email  ADDRESS"`` is ``Email address``.
- **Rows** are numbered as a spreadsheet shows them: the header is row 1, the first record row 2.
- **Emails** are trimmed, lower-cased and put in Unicode NFKC form; one without exactly one ``@``,
  with a space, without a dotted domain, longer than 254 characters or holding an invisible or
  control character (U+200B, U+FEFF, U+00AD, ...) is reported and its row skipped.
- **Times** may be ISO 8601 (``2026-11-24``, ``2026-11-24 10:15:32``, ``2026-11-24T10:15:00+02:00``)
  or US style (``11/24/2026 10:15 AM``, ``11/24/2026``). A time with an offset is converted to UTC;
  a time without one is taken as UTC already. All times come out naive (no time zone), to the
  microsecond: finer digits (``10:15:00.123456789``) are dropped. Times before 1900 or after 2199
  are not valid (no email tool sent or will send then).
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
import io
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from engagekit.data.arrow import arrow_strings, blanked
from engagekit.data.schema import TIME_DTYPE
from engagekit.errors import DataError, ImportReport
from engagekit.names import hidden_character
from engagekit.timeutil import FIRST_DATE, LAST_DATE

PathLike = str | Path

# A row that cannot be read is replaced by this marker (and the reason) so that it keeps its place:
# it is reported, and rows after it keep their spreadsheet numbers.
_BAD_ROW = "\ufdd0engagekit:bad-row:"
# Physical lines as the CSV rules count them: only CR, LF and CRLF end a line.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

MAX_EXPANSION = 100
"""A compressed file may expand at most this many times its size (see :func:`max_unpacked_bytes`)."""

MIN_UNPACKED_CAP = 64 * 2**20
"""A compressed file may always expand to this many bytes, whatever its size."""

# One '@', no spaces or list punctuation, a dotted domain with a top-level part of 2+ characters.
_EMAIL = r"[^@\s,;:<>()\[\]\"]+@(?:[^@\s,;:<>()\[\]\".]+\.)+[^@\s,;:<>()\[\]\".]{2,}"

# Shapes checked before parsing, so that "12", "555-0100" or "2026" are never taken for dates.
_PLAIN_TIME = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)?$"
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
MAX_COLUMN_BYTES = 63
"""The longest custom field name, in UTF-8 bytes (PostgreSQL's limit for a column name)."""
SYSTEM_COLUMN_NAMES = frozenset({"oid", "tableoid", "xmin", "xmax", "cmin", "cmax", "ctid",
                                 "rowid", "_rowid_"})
"""Hidden columns of PostgreSQL and SQLite tables: a custom field cannot take their names."""
MAX_EMAIL_LENGTH = 254
"""The longest e-mail address accepted, in characters (the limit of the mail standards)."""
_FIRST_TIME = pd.Timestamp(FIRST_DATE)
_END_TIME = pd.Timestamp(LAST_DATE) + pd.Timedelta(days=1)
TIME_HINT = "e.g. 2026-11-24 10:15 or 11/24/2026 10:15 AM"


def normalise_emails(values: pd.Series) -> pd.Series:
    """E-mail addresses in the form that identifies a contact: trimmed, lower-cased, NFKC.

    Examples
    --------
    >>> normalise_emails(pd.Series([" Ann@Example.COM ", "\uff41nn@example.com"])).tolist()
    ['ann@example.com', 'ann@example.com']
    """
    emails = values.str.strip().str.lower()
    wide = emails.notna() & ~emails.str.isascii()
    if wide.any():  # NFKC can make spaces or capitals of other characters: trim and lower after
        emails[wide] = (emails[wide].str.normalize("NFKC").str.strip().str.lower()
                        .str.normalize("NFKC"))
    return emails


def _trimmed(texts: pd.Series) -> pd.Series:
    """``texts.str.strip()``, or ``texts`` when no cell starts or ends with a byte that may be
    white space (a control byte, a space, or any byte of a non-ASCII character): trimming
    millions of cells that need none costs seconds."""
    cells = pa.array(texts.array)
    if not pa.types.is_large_string(cells.type):
        return texts.str.strip()
    for chunk in cells.chunks if isinstance(cells, pa.ChunkedArray) else [cells]:
        if len(chunk) == 0:
            continue
        data = chunk.buffers()[2]
        if data is None:
            continue
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[chunk.offset:
                                                                     chunk.offset + len(chunk) + 1]
        text = np.frombuffer(data, dtype=np.uint8)
        if not len(text):
            continue
        # An empty cell's "first" byte is the next cell's, its "last" the previous cell's:
        # looked at anyway, which can only send the column to the real trim.
        first = text[np.minimum(offsets[:-1], len(text) - 1)]
        last = text[np.maximum(offsets[1:] - 1, 0)]
        if ((first <= ord(" ")) | (first >= 0x7F) | (last <= ord(" ")) | (last >= 0x7F)).any():
            return texts.str.strip()
    return texts


def _hidden_characters(texts: pd.Series) -> pd.Series:
    """Whether each text holds a character :func:`~engagekit.names.hidden_character` refuses;
    only texts that are not printable ASCII are looked at one by one."""
    cells = arrow_strings(texts)
    plain = pc.fill_null(pc.and_(pc.string_is_ascii(cells), pc.ascii_is_printable(cells)), True)
    hidden = pd.Series(False, index=texts.index)
    odd = ~plain.to_numpy(zero_copy_only=False)
    if odd.any():
        hidden[odd] = texts[odd].map(hidden_character, na_action="ignore").notna().to_numpy()
    return hidden


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
            return _gunzip(path, limit)
        with path.open("rb") as handle:
            return handle.read(-1 if limit is None else limit)
    except (OSError, EOFError, zlib.error) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise DataError(f"{path.name}: cannot read the file ({reason})") from None


def max_unpacked_bytes(packed: int) -> int:
    """The most a compressed file of ``packed`` bytes may expand to before it is refused.

    Text exports compress about ten-fold; a file expanding far more is a "decompression bomb"
    that would exhaust the memory of the machine, so the cap is :data:`MAX_EXPANSION` times the
    packed size, and never less than :data:`MIN_UNPACKED_CAP` bytes.

    Examples
    --------
    >>> max_unpacked_bytes(1_000) == MIN_UNPACKED_CAP
    True
    >>> max_unpacked_bytes(10 * 2**20) // 2**20
    1000
    """
    return max(MIN_UNPACKED_CAP, MAX_EXPANSION * packed)


def _gunzip(path: Path, limit: int | None) -> bytes:
    cap = max_unpacked_bytes(path.stat().st_size)
    want = cap + 1 if limit is None else min(limit, cap + 1)
    with gzip.open(path, "rb") as handle:
        raw = handle.read(want)
    if len(raw) > cap:
        raise DataError(_too_big(path.name, cap))
    return raw


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


class _Lines:
    """The physical lines of a text from a position on, counting how many the reader took."""

    def __init__(self, lines: list[str], position: int):
        self.lines, self.position = lines, position

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.position >= len(self.lines):
            raise StopIteration
        self.position += 1
        return self.lines[self.position - 1]


def _swallows(first_line: str, separator: str, width: int, cells: list[str]) -> bool:
    """Whether a record running over several lines is rather a stray quote (or a stray line end)
    eating rows: its first line does not leave a quote open, its cell count is wrong, or the text
    after a line break inside one of its cells has as many separators as a row of its own.

    A quoted cell holding a line break followed by that many separators cannot be told from a
    swallowed row: such a record is reported rather than risk a row silently inside a cell.
    """
    if first_line.count('"') % 2 == 0 or len(cells) != width or width <= 1:
        return True
    return any(
        part.count(separator) >= width - 1
        for cell in cells if "\n" in cell or "\r" in cell
        for part in re.split(r"\r\n|\r|\n", cell)[1:]
    )


def _records(text: str, separator: str) -> list[list[str]]:
    """Every record's cells; a broken record is replaced by a :data:`_BAD_ROW` marker with the
    reason and reading goes on at the line after its first, so that a stray quote costs one row."""
    lines = _LINE.findall(text)
    records: list[list[str]] = []
    width: int | None = None
    start = 0
    while start < len(lines):
        source = _Lines(lines, start)
        reader = csv.reader(source, delimiter=separator, strict=True)
        begin = start
        try:
            for cells in reader:
                end = source.position
                if end - begin > 1 and width is not None and _swallows(
                    lines[begin], separator, width, cells
                ):
                    raise csv.Error("a quote opened in this row is not closed before the next row")
                records.append(cells)
                width = len(cells) if width is None else width
                begin = end
            start = len(lines)
        except csv.Error as error:
            records.append([_BAD_ROW + _quote_reason(str(error))])
            width = 0 if width is None else width
            start = begin + 1
    return records


def _quote_reason(error: str) -> str:
    if "field larger than field limit" in error:
        return f"a cell holds more than {csv.field_size_limit():,} characters; row skipped"
    if "NUL" in error:
        return "the row holds a binary zero byte, not text; row skipped"
    if "not closed" in error or "EOF" in error or "unexpected end" in error:
        return "a quote opened in this row is not closed before the next row; row skipped"
    return "a quote in this row is misplaced (a quoted cell must end at a separator); row skipped"


def parse_csv(text: str, name: str) -> pd.DataFrame:
    """Every row of a CSV text as strings, the header included, columns numbered from 0 and rows
    indexed by their spreadsheet row (the header is row 1).

    A row the CSV rules cannot read (a stray quote, a row with more cells than the header) keeps
    its place as a marker that :class:`SourceFile` reports, so that no row disappears silently and
    the rows after it keep their numbers.

    Examples
    --------
    >>> table = parse_csv('email,name\\nann@example.com,"Ann\\nbob@example.com,Bob\\n', "x.csv")
    >>> table.index.tolist(), table.iloc[2].tolist()
    ([1, 2, 3], ['bob@example.com', 'Bob'])
    """
    if not text.strip():
        raise DataError(f"{name}: the file is empty (no header row)")
    records = _records(text, _separator(text))
    header = records[0]
    if header and header[0].startswith(_BAD_ROW):
        raise DataError(f"{name}: the first row cannot be read as CSV: "
                        f"{header[0].removeprefix(_BAD_ROW).removesuffix('; row skipped')}")
    if not any(cell.strip() for cell in header):
        raise DataError(f"{name}: the first row is empty; it should hold the column names")
    width = len(header)
    rows = []
    for cells in records:
        if len(cells) > width:
            cells = [f"{_BAD_ROW}row has {len(cells)} cells but the header has {width}; row skipped"]
        rows.append(cells + [""] * (width - len(cells)))
    return pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1), dtype=object).astype("str")


class _NeedsTolerantReader(Exception):
    """The file holds something only the tolerant reader handles as the rules say."""


class _Watched(io.RawIOBase):
    """A binary file read through, counting physical lines and bytes as the fast reader takes
    them, and stopping it at anything that reader would read differently from the tolerant one:
    a NUL byte, or a line whose quotes the CSV rules do not close on that line (each line holding
    a quote is read by Python's strict CSV reader, which is what the tolerant reader uses)."""

    def __init__(self, handle, separator: str, cap: int | None, name: str):
        self.handle, self.separator, self.cap, self.name = handle, separator, cap, name
        self.bytes = self.lines = 0
        self.partial = b""  # the line the last read ended inside

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.handle.read(len(buffer))
        self.bytes += len(data)
        if self.cap is not None and self.bytes > self.cap:
            raise DataError(_too_big(self.name, self.cap))
        if b"\x00" in data:
            raise _NeedsTolerantReader
        text = self.partial + data
        if self.bytes == len(data):  # the first read: the byte-order mark is no cell's text
            text = text.removeprefix(b"\xef\xbb\xbf")
        if not data or text.endswith(b"\n"):
            cut = len(text)
        elif b"\r" not in text:
            cut = text.rfind(b"\n") + 1  # the last line may go on in the next read
        else:  # ... and so may a CR whose LF comes next
            body = text[:-1] if text.endswith(b"\r") else text
            cut = max(body.rfind(b"\n"), body.rfind(b"\r")) + 1
        self.partial = text[cut:]
        self.lines += _line_count(text, cut)
        if text.find(b'"', 0, cut) >= 0:
            self._check_quotes(_lines_holding_quotes(text, cut))
        buffer[: len(data)] = data
        return len(data)

    def _check_quotes(self, lines: list[str]) -> None:
        try:
            records = sum(1 for _ in csv.reader(lines, delimiter=self.separator, strict=True))
        except csv.Error:
            raise _NeedsTolerantReader from None
        if records != len(lines):  # a quote left open ran into the next line
            raise _NeedsTolerantReader


def _line_count(text: bytes, end: int) -> int:
    """How many physical lines ``text[:end]`` holds (as ``bytes.splitlines`` counts them),
    without making one object per line: millions of lines pass through here."""
    ends = text.count(b"\n", 0, end)
    if text.find(b"\r", 0, end) >= 0:  # rare: counting it costs more than the search
        ends += text.count(b"\r", 0, end) - text.count(b"\r\n", 0, end)
    return ends + (1 if end and text[end - 1:end] not in (b"\n", b"\r") else 0)


def _lines_holding_quotes(text: bytes, end: int) -> list[str]:
    """The lines of ``text[:end]`` holding a quote, decoded, without their line ends; only these
    are cut out of the text (a few in a file of millions of lines)."""
    if text.find(b"\r", 0, end) >= 0:
        lines = _lines_around(text, end)
    else:  # line ends are LF only: each line found from its first quote, by byte search
        lines, position = [], 0
        while (quote := text.find(b'"', position, end)) >= 0:
            start = text.rfind(b"\n", 0, quote) + 1
            stop = text.find(b"\n", quote, end)
            stop = end if stop < 0 else stop
            lines.append(text[start:stop])
            position = stop + 1
    # Line ends are ASCII, never inside a UTF-8 character: decoding the lines joined is
    # decoding each.
    return b"\n".join(lines).decode("utf-8", "replace").split("\n")


def _lines_around(text: bytes, end: int) -> list[bytes]:
    """The lines of ``text[:end]`` holding a quote, any line ends (CR, LF, CRLF) counted."""
    codes = np.frombuffer(text, dtype=np.uint8, count=end)
    ends = np.flatnonzero((codes == ord("\n")) | (codes == ord("\r")))
    # line i runs from just after bounds[i] to bounds[i + 1]
    bounds = np.concatenate(([-1], ends, [end]))
    line = np.unique(np.searchsorted(ends, np.flatnonzero(codes == ord('"'))))
    starts, stops = (bounds[line] + 1).tolist(), bounds[line + 1].tolist()
    return [text[start:stop] for start, stop in zip(starts, stops, strict=True)]


_SKIPPED_NOTE = "rows skipped (see the problems)"
PART_ROWS = 2_000_000
"""Rows of a large file checked at a time (:meth:`SourceFile.parts`): memory stays that of a part."""


class NeedsTolerantReader(Exception):
    """The file holds something only the tolerant reader reads as the rules say (raised by
    :meth:`SourceFile.parts`, possibly after some parts: read the file again with
    ``SourceFile(path, report)``)."""


def _plain_table(path: Path, name: str) -> pd.DataFrame | None:
    """What :func:`parse_csv` makes of the file, read by Arrow's CSV reader (many times faster,
    a fraction of the memory), or ``None`` when the file needs the tolerant reader: not UTF-8,
    a quote out of place, a line break inside a cell, a row of another width, a huge cell.

    Every row the fast reader returns is checked to be one physical line, so rows keep their
    spreadsheet numbers.
    """
    try:
        parts = list(_plain_parts(path, name, None))
    except NeedsTolerantReader:
        return None
    return parts[0] if len(parts) == 1 else pd.concat(parts)


def _plain_parts(path: Path, name: str, rows: int | None) -> Iterator[pd.DataFrame]:
    """The file's cells as :func:`parse_csv` gives them, ``rows`` rows at a time (all at once
    with ``None``), read by Arrow; raises :class:`NeedsTolerantReader` (see :func:`_plain_table`)."""
    head = _read_bytes(path, 64 * 1024)
    if not head.strip() or head.startswith((b"\xff\xfe", b"\xfe\xff", b"PK\x03\x04")):
        raise NeedsTolerantReader  # the tolerant reader gives the right message, or reads UTF-16
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:  # not UTF-8, or a character cut at the end of the sample
        raise NeedsTolerantReader from None
    if "\n" not in text and len(head) == 64 * 1024:
        raise NeedsTolerantReader  # the separator is chosen on the text up to the first LF
    separator = _separator(text)
    width = len(next(csv.reader([re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]],
                                delimiter=separator), []))
    gz = path.name.lower().endswith(".gz")
    try:
        with (gzip.open(path, "rb") if gz else path.open("rb")) as handle:
            watched = _Watched(handle, separator,
                               max_unpacked_bytes(path.stat().st_size) if gz else None, name)
            reader = pa_csv.open_csv(
                io.BufferedReader(watched, buffer_size=1 << 22),
                read_options=pa_csv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
                parse_options=pa_csv.ParseOptions(delimiter=separator, newlines_in_values=True,
                                                  ignore_empty_lines=False),
                convert_options=pa_csv.ConvertOptions(
                    # large strings are what pandas holds text in: taken without a copy
                    column_types={f"f{i}": pa.large_string() for i in range(width)},
                    strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
            first_row, pending = 1, None
            for batch in reader:
                batch = pa.Table.from_batches([batch])
                pending = batch if pending is None else pa.concat_tables([pending, batch])
                while rows is not None and pending.num_rows >= rows:
                    yield _cells(pending.slice(0, rows), width, first_row)
                    first_row, pending = first_row + rows, pending.slice(rows)
            held = 0 if pending is None else pending.num_rows
            # Every line holding a quote closed its quotes on that line, so no cell holds a line
            # end; every row must then be one line.
            if first_row - 1 + held != watched.lines:
                raise NeedsTolerantReader
            if held or first_row == 1:
                yield _cells(pending, width, first_row)
    except (pa.ArrowInvalid, _NeedsTolerantReader):
        raise NeedsTolerantReader from None
    except (OSError, EOFError, zlib.error) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise DataError(f"{name}: cannot read the file ({reason})") from None


def _cells(table: pa.Table | None, width: int, first_row: int) -> pd.DataFrame:
    if table is None or table.num_columns != width or any(
        len(column) and pc.max(pc.binary_length(column)).as_py() > csv.field_size_limit()
        for column in table.columns
    ):
        raise NeedsTolerantReader
    frame = table.rename_columns([str(i) for i in range(width)]).to_pandas()
    return frame.set_axis(list(range(width)), axis="columns").set_axis(
        pd.RangeIndex(first_row, first_row + len(frame))).astype("str")


def _too_big(name: str, cap: int) -> str:
    return (f"{name}: the compressed file expands to more than {cap // 2**20:,} MB, far more "
            "than an export does; unpack it yourself and import the CSV file")


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
    >>> parse_times(pd.Series(["2026-11-24 10:15:00.123456789"])).tolist()
    [Timestamp('2026-11-24 10:15:00.123456')]
    """
    return each_distinct(values, _times)


def _times(values: pd.Series) -> pd.Series:
    text = values.astype("str").str.strip()
    plain = _plain_times(text)
    if plain is not None and plain.notna().sum() == text.notna().sum() - (text == "").sum():
        return _in_range(plain)  # every cell written the one usual way: read by Arrow, done
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    iso = text.str.fullmatch(_ISO_SHAPE, na=False)
    if iso.any():
        out[iso] = _microseconds(pd.to_datetime(text[iso], format="ISO8601", utc=True,
                                                errors="coerce"))
    us = text.str.fullmatch(_US_SHAPE, na=False)
    for time_format in _US_FORMATS:
        todo = us & out.isna()
        if not todo.any():
            break
        out[todo] = _microseconds(pd.to_datetime(
            text[todo].str.upper(), format=time_format, utc=True, errors="coerce"
        ))
    return _in_range(out.dt.tz_localize(None).astype(TIME_DTYPE))


def _in_range(times: pd.Series) -> pd.Series:
    return times.where((times >= _FIRST_TIME) & (times < _END_TIME))


def _plain_times(text: pd.Series) -> pd.Series | None:
    """Cells written ``2026-11-24 10:15:00[.123456]`` (or with a ``T``) read by Arrow, the way
    exports and the canonical layout write times (others ``NaT``); ``None`` when Arrow refuses one
    of them (a day that does not exist): the general reader then reports it."""
    cells = arrow_strings(text)
    plain = pc.fill_null(pc.match_substring_regex(cells, _PLAIN_TIME), False)
    try:
        times = pc.cast(pc.if_else(plain, cells, None), pa.timestamp("us"))
    except pa.ArrowInvalid:
        return None
    return pd.Series(times.to_numpy(zero_copy_only=False), index=text.index).astype(TIME_DTYPE)


def _microseconds(times: pd.Series) -> pd.Series:
    """Times kept to the microsecond, the workspace's resolution (digits beyond it are dropped)."""
    if times.dt.unit == "ns":
        times = times.dt.floor("us")
    return times.dt.as_unit("us")


def parse_numbers(values: pd.Series) -> pd.Series:
    """Read text as finite floats; blank or unreadable cells become ``NaN``.

    Examples
    --------
    >>> parse_numbers(pd.Series(["12.5", " 3 ", "n/a", "inf"])).tolist()
    [12.5, 3.0, nan, nan]
    """
    return each_distinct(values, _numbers)


def _numbers(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values.astype("str").str.strip(), errors="coerce").astype("float64")
    return numbers.where(np.isfinite(numbers))


def each_distinct(values: pd.Series, parse: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``parse(values)`` for a text column, each distinct value parsed once: the columns of a
    large file repeat their values (a campaign's send time, a handful of amounts).

    ``parse`` must read each cell on its own, or with the set of the column's distinct values
    (blank included), never their order or count: it then gives every cell what it would have
    given it in the whole column.
    """
    if values.dtype != "str" or len(values) < 2:
        return parse(values)
    encoded = pc.dictionary_encode(arrow_strings(values))
    distinct = pd.Series(pd.array(encoded.dictionary, dtype="str"))
    if encoded.null_count:  # blank cells take the last place
        distinct = pd.concat([distinct, pd.Series([np.nan], dtype="str")], ignore_index=True)
    positions = pc.fill_null(encoded.indices, len(encoded.dictionary)).to_numpy()
    return parse(distinct).take(positions).set_axis(values.index)


def parse_ids(values: pd.Series) -> pd.Series:
    """Read text as whole-number ids (nullable ``Int64``); anything else becomes ``<NA>``.

    Digits are read exactly, never through floating point, so ids above 2**53 keep their last
    digits; ``12.0`` or ``1e3`` are read as numbers only while a float holds them exactly.

    Examples
    --------
    >>> parse_ids(pd.Series(["9007199254740993", "12.0", "1.5", "99999999999999999999"])).tolist()
    [9007199254740993, 12, <NA>, <NA>]
    """
    plain = _plain_ids(values)
    return _ids(values) if plain is None else plain


def _ids(values: pd.Series) -> pd.Series:
    text = values.astype("str").str.strip()
    digits = text.str.fullmatch(r"[+-]?[0-9]{1,19}", na=False)  # ASCII: \d takes any script's digits
    ids = pd.Series(pd.NA, index=values.index, dtype="Int64")
    short = digits & (text.str.len() <= 18)  # below 10**18 < 2**63: Arrow reads these exactly
    if short.all():  # the usual column: every cell a plain id, read in one pass
        return pd.Series(_arrow_integers(text), index=values.index, dtype="Int64")
    ids[short] = _arrow_integers(text[short])
    long = digits & ~short
    if long.any():
        exact = [int(cell) for cell in text[long]]
        ids[long] = pd.array([n if -(2**63) <= n < 2**63 else pd.NA for n in exact], dtype="Int64")
    other = ~digits & text.notna() & (text != "")
    if other.any():
        numbers = parse_numbers(text[other])
        whole = (numbers == numbers.round()) & (numbers.abs() < 2**53)
        ids[other] = numbers.where(whole).astype("Int64")
    return ids


def _plain_ids(values: pd.Series) -> pd.Series | None:
    """Ids written as plain digits (up to 18, so below 2**63) read in one Arrow pass, blanks
    missing; ``None`` when any other cell is present (a sign, a space, a decimal point): the
    general reader takes those."""
    if values.dtype != "str":
        return None
    cells = pa.array(values.array)
    digits = pc.ascii_is_decimal(cells)  # false for an empty cell, null for a blank one
    if not pc.all(digits).as_py() or (len(cells) and pc.max(pc.binary_length(cells)).as_py() > 18):
        return None
    ids = pc.cast(cells, pa.int64())
    return pd.Series(pd.array(ids, dtype="Int64"), index=values.index)


def _arrow_integers(text: pd.Series) -> np.ndarray:
    """Cells of ``[+-]digits`` (up to 18 digits) as int64, parsed by Arrow."""
    cells = pa.array(text.str.removeprefix("+"), type=pa.string(), from_pandas=True)
    return pc.cast(cells, pa.int64()).to_numpy(zero_copy_only=False)


def looked_up(text: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    """Each cell looked up in ``mapping`` ignoring case (``NaN`` when absent); a column of
    millions of cells holds a handful of distinct values, each looked up once.

    Examples
    --------
    >>> looked_up(pd.Series(["Open", "open", "peek", None]), {"open": "open"}).tolist()
    ['open', 'open', nan, nan]
    """
    encoded = pc.dictionary_encode(arrow_strings(text))
    found = [mapping.get(value.casefold()) for value in encoded.dictionary.to_pylist()]
    values = pa.array(found, type=pa.large_string()).take(encoded.indices)
    return pd.Series(pd.array(values, dtype="str"), index=text.index)


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
    return storable_name(base, taken)


def storable_name(name: str, taken: Iterable[str] = ()) -> str:
    """``name``, or the nearest name every workspace database can hold as a column beside
    ``taken``: at most :data:`MAX_COLUMN_BYTES` bytes (PostgreSQL cuts longer names, so two long
    headers sharing a prefix would clash), not a database's own hidden column (``xmin``,
    ``ctid``, ``rowid``, ...) and different, ignoring case, from every taken name.

    Examples
    --------
    >>> storable_name("xmin"), storable_name("city", taken=["City"])
    ('xmin_2', 'city_2')
    >>> len(storable_name("a" * 100).encode())
    63
    """
    taken = {key.casefold() for key in taken} | SYSTEM_COLUMN_NAMES
    base = _cut(name, MAX_COLUMN_BYTES)
    candidate, number = base, 1
    while candidate.casefold() in taken:
        number += 1
        suffix = f"_{number}"
        candidate = _cut(base, MAX_COLUMN_BYTES - len(suffix)) + suffix
    return candidate


def _cut(text: str, size: int) -> str:
    """``text`` cut to at most ``size`` UTF-8 bytes, never inside a character."""
    return text.encode()[:size].decode(errors="ignore")


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
    if numbers[present].notna().all() and not (
        values[present].astype("str").str.match(r"[+-]?0\d").any()  # a leading zero
    ):
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

    def __init__(self, path: PathLike, report: ImportReport, *, label: str | None = None,
                 tolerant: bool = False):
        self.path = Path(path)
        self.name = label or self.path.name
        self.report = report
        table = None if tolerant else _plain_table(self.path, self.name)
        self._take(table if table is not None else parse_csv(load_text(self.path), self.name))

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
        table = pd.concat([header, cells], ignore_index=True)
        source._take(table.set_axis(pd.RangeIndex(1, len(table) + 1)))
        return source

    @classmethod
    def parts(cls, path: PathLike, report: ImportReport, *, label: str | None = None,
              rows: int | None = None) -> Iterator[SourceFile]:
        """The file as consecutive sources of about ``rows`` rows each (:data:`PART_ROWS`), read
        by Arrow, each checked like a whole file; rows keep their spreadsheet numbers.

        Raises :class:`NeedsTolerantReader` (maybe after some parts) when the file needs the
        tolerant reader: read it whole then, with a fresh report.
        """
        path = Path(path)
        header = None
        for cells in _plain_parts(path, label or path.name, rows or PART_ROWS):
            part = cls.__new__(cls)
            part.path, part.name, part.report = path, label or path.name, report
            if header is None:
                header = cells.iloc[0].tolist()
                part._take(cells)
            else:
                part._take(cells, header=header)
            yield part

    def _take(self, table: pd.DataFrame, *, header: list[str] | None = None) -> None:
        """Keep the header and the rows of a table of text cells (rows indexed by their
        spreadsheet row): the header is the first row, or ``header`` for a later part of a file
        (whose first row it is not)."""
        report = self.report
        first = header is None
        body = table.iloc[1:] if first else table
        header = [cell.strip() for cell in (table.iloc[0].tolist() if first else header)]
        if not any(header):
            raise DataError(f"{self.name}: the first row is empty; it should hold the column names")
        broken = body[0].str.startswith(_BAD_ROW)
        self.headers: dict[str, str] = {}
        positions = []
        for position, text in enumerate(header):
            key = header_key(text)
            if key in self.headers:
                if first:
                    report.notes.append(
                        f"{self.name}: column '{text}' appears more than once; the first one is used"
                    )
            elif key:
                self.headers[key] = text
                positions.append(position)
        rows = pd.DataFrame({key: _trimmed(body[position].astype("str"))
                             for key, position in zip(self.headers, positions, strict=True)},
                            index=body.index, copy=False)  # a frame from a dict copies by default
        empty = {key: (rows[key] == "").to_numpy() for key in rows}
        blank = np.logical_and.reduce(list(empty.values())) if empty else np.ones(len(rows), bool)
        kept = ~blank & ~broken.to_numpy()
        self.rows = rows if kept.all() else rows[kept]
        self._empty = {key: cells[kept] for key, cells in empty.items()}
        self.ok = pd.Series(True, index=self.rows.index)
        self.continued = not first
        if first:
            report.files.append(self.name)
        for row, marker in body[0][broken].items():
            report.add(self.name, int(row), None, marker.removeprefix(_BAD_ROW))
        self.skipped = int(broken.sum())

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
        counts = {"read": len(self.ok) + self.skipped, "kept": int(self.ok.sum())}
        if self.continued:  # a later part of a file: the file's totals
            earlier = self.report.rows.get(self.name, {"read": 0, "kept": 0})
            counts = {key: counts[key] + earlier[key] for key in counts}
            note = f"{self.name}: "
            self.report.notes[:] = [n for n in self.report.notes
                                    if not (n.startswith(note) and n.endswith(_SKIPPED_NOTE))]
        self.report.rows[self.name] = counts
        skipped = counts["read"] - counts["kept"]
        if skipped:
            self.report.notes.append(f"{self.name}: {skipped:,} of {counts['read']:,} {_SKIPPED_NOTE}")
        # every row kept (the usual file): no copy of millions of rows
        return frame.copy(deep=False) if self.ok.all() else frame[self.ok]

    # -- typed cells

    def text(self, column: str) -> pd.Series:
        """Trimmed text, blank cells as missing; all missing when the file lacks the column."""
        key = header_key(column)
        if key not in self.headers:
            return pd.Series(np.nan, index=self.rows.index, dtype="str")
        values, empty = self.rows[key], self._empty[key]
        return blanked(values, empty) if empty.any() else values

    def required_text(self, column: str, what: str) -> pd.Series:
        """Text that must not be blank: blank cells skip their row."""
        self.require(column)
        values = self.text(column)
        self.flag(values.isna(), column, f"{what} is blank; row skipped", skip=True)
        return values

    def emails(self, column: str) -> pd.Series:
        """Email addresses, trimmed and lower-cased; blank or invalid ones skip their row."""
        self.require(column)
        emails = normalise_emails(self.text(column))
        self.flag(emails.isna(), column, "email address is blank; row skipped", skip=True)
        long = emails.str.len() > MAX_EMAIL_LENGTH
        self.flag(long, column, f"email address is longer than {MAX_EMAIL_LENGTH} characters; "
                  "row skipped", skip=True)
        hidden = emails.notna() & ~long & _hidden_characters(emails)
        self.flag(hidden, column, "email address holds an invisible or control character; "
                  "row skipped", skip=True)
        invalid = emails.notna() & ~long & ~hidden & ~emails.str.fullmatch(_EMAIL, na=False)
        self.flag(invalid, column, "not a valid email address; row skipped", skip=True)
        return emails.where(~invalid & ~long & ~hidden)

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
        """Values looked up, ignoring case, in ``mapping``; a blank cell becomes ``blank``.

        A value not in ``mapping`` skips its row when the column is required or has a ``blank``
        default: an unknown status must not become the default (a misspelt "unsubscribed" would
        otherwise be mailed as subscribed), nor a missing value that the database refuses.
        """
        expected = ", ".join(dict.fromkeys(mapping.values()))
        values = self._typed(
            column,
            lambda text: looked_up(text, mapping),
            required and blank is None,
            what,
            f"expected one of: {expected}",
            skip_bad=required or blank is not None,
        )
        return values if blank is None else values.mask(self.text(column).isna(), blank)

    def _typed(
        self,
        column: str,
        parse: Callable[[pd.Series], pd.Series],
        required: bool,
        what: str,
        hint: str,
        *,
        skip_bad: bool = False,
    ) -> pd.Series:
        if required:
            self.require(column)
        text = self.text(column)
        values = parse(text)
        bad = text.notna() & values.isna()
        if required:
            self.flag(text.isna(), column, f"{what} is blank; row skipped", skip=True)
            self.flag(bad, column, f"not a valid {what} ({hint}); row skipped", skip=True)
        elif skip_bad:
            self.flag(bad, column, f"not a valid {what} ({hint}); row skipped", skip=True)
        else:
            self.flag(bad, column, f"not a valid {what} ({hint}); left blank", skip=False)
        return values
