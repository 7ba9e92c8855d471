"""The fast paths of reading give what the general ones give, for any input.

Each fast path (a column parsed once per distinct value or in one Arrow pass, lines counted without
splitting them, repeated events found by a hash, references found in a table of ids, parts joined
a column at a time, trimming skipped) is compared with the plain code it stands in for, on random
good and bad cells; and a canonical folder with random bad cells reads the same, data and report,
through the fast reader in parts as through the tolerant reader whole.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engagekit.data.dataset import to_flag
from engagekit.data.io import canonical, merge, reading
from engagekit.data.io.canonical import read_canonical
from engagekit.data.schema import TABLES
from engagekit.names import hidden_character

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

ODD_CELLS = [
    "", " ", "12", " 12 ", "+3", "-5", "012", "1e3", "12.0", "1.5", "9223372036854775807",
    "9223372036854775808", "99999999999999999999", "\u0661\u0662", "x", "nan", "inf", "NA",
    "2026-11-24", "2026-11-24 10:15:00", "2026-11-24T10:15:00.123456789", "2026-02-30",
    "2026-11-24T10:15:00+02:00", "11/24/2026 10:15 AM", "11/24/2026", "1899-12-31", "2200-01-01",
    "\u00a0open\u3000", "Open", "sent", "true", "YES", "0", "\u200bx", "a\u2028b",
]
CELL = st.one_of(st.sampled_from(ODD_CELLS), st.text(alphabet=" 0123456789-+:.T/\u00a0ab", max_size=8))


def _column(cells: list[str | None], chunks: int) -> pd.Series:
    """Cells as a text column held in up to ``chunks`` Arrow chunks, as a file read in blocks."""
    bounds = np.linspace(0, len(cells), chunks + 1).astype(int)
    parts = [cells[start:stop] for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]
    array = pa.chunked_array(parts, type=pa.large_string())
    return pd.Series(pd.array(array, dtype="str"), index=pd.RangeIndex(2, 2 + len(cells)))


COLUMN = st.builds(_column, st.lists(st.one_of(st.none(), CELL), max_size=12),
                   st.integers(min_value=1, max_value=3))


def _same_outcome(fast, general, values: pd.Series) -> None:
    """Both give equal series, or both fail with the same error."""
    outcomes = []
    for parse in (fast, general):
        try:
            outcomes.append(parse(values))
        except Exception as error:  # noqa: BLE001 - the error itself is what is compared
            outcomes.append(type(error))
    if isinstance(outcomes[1], type):
        assert outcomes[0] is outcomes[1]
    else:
        pd.testing.assert_series_equal(*outcomes)


@SETTINGS
@given(values=COLUMN)
def test_ids_read_in_one_pass_are_the_ids_the_general_reader_reads(values):
    _same_outcome(reading.parse_ids, reading._ids, values)


@SETTINGS
@given(values=COLUMN)
def test_a_column_parsed_once_per_distinct_value_is_parsed_as_a_whole(values):
    _same_outcome(reading.parse_times, reading._times, values)
    _same_outcome(reading.parse_numbers, reading._numbers, values)
    flags = values.where(values.isin(["true", "false"]))
    pd.testing.assert_series_equal(reading.each_distinct(flags, to_flag), to_flag(flags))


# One kind of white space at a time, so that a cell needing a trim is often the only one.
SPACED = st.sampled_from([" ", "\t", "\n", "\x1c", "\x7f", "\u00a0", "\u3000", "\u2028", "\x85", "é"]).flatmap(
    lambda space: st.lists(st.one_of(st.none(), st.text(alphabet=["a", "b", space], max_size=4)),
                           max_size=10))


@SETTINGS
@given(values=st.builds(_column, SPACED, st.integers(min_value=1, max_value=3)),
       start=st.integers(0, 3))
@example(values=_column([" a", "b"], 1), start=0)
@example(values=_column(["b", "a\t"], 2), start=0)
@example(values=_column(["\u00a0a", "", None], 1), start=0)
@example(values=_column(["x", "a\u3000"], 1), start=1)
def test_trimming_is_skipped_only_where_it_changes_nothing(values, start):
    values = values.iloc[start:]  # a slice: Arrow chunks that start inside their buffers
    pd.testing.assert_series_equal(reading._trimmed(values), values.str.strip())


@SETTINGS
@given(values=st.builds(_column, st.lists(st.one_of(st.none(), st.text(
    alphabet=st.sampled_from(list("ab@.\x00\x7f\u200b\u00ad\ufeffé ")), max_size=6)), max_size=10),
    st.just(2)))
def test_hidden_characters_are_found_as_one_by_one(values):
    expected = values.map(hidden_character, na_action="ignore").notna()
    assert reading._hidden_characters(values).tolist() == expected.tolist()


@SETTINGS
@given(text=st.binary(max_size=40).map(lambda raw: bytes(b"a\"\r\n\xe2"[byte % 5] for byte in raw)),
       cut=st.integers(min_value=0, max_value=40))
def test_lines_are_counted_and_quoted_lines_found_as_splitlines_does(text, cut):
    end = min(cut, len(text))
    lines = text[:end].splitlines(keepends=True)
    assert reading._line_count(text, end) == len(lines)
    quoted = [line.decode("utf-8", "replace").rstrip("\r\n") for line in lines if b'"' in line]
    if quoted:
        assert reading._lines_holding_quotes(text, end) == quoted


EVENT_COLUMNS = ["contact_id", "campaign_id", "event_type", "occurred_at", "link"]
EVENT = st.fixed_dictionaries({
    "contact_id": st.integers(1, 3), "campaign_id": st.integers(1, 2),
    "event_type": st.sampled_from(["send", "open"]),
    "occurred_at": st.sampled_from([pd.Timestamp("2026-11-02"), pd.Timestamp("2026-11-02 10:00")]),
    "link": st.sampled_from([None, "https://x.example", "https://y.example"]),
})


@SETTINGS
@given(rows=st.lists(EVENT, max_size=12), nullable=st.booleans())
def test_repeated_events_found_by_a_hash_are_the_rows_repeating_an_earlier_one(rows, nullable):
    events = pd.DataFrame(rows, columns=EVENT_COLUMNS).astype(
        {"contact_id": "Int64" if nullable else "int64", "campaign_id": "int64",
         "occurred_at": "datetime64[us]", "event_type": "str", "link": "str"})
    expected = events[~events.duplicated()]
    pd.testing.assert_frame_equal(merge.drop_repeated_events(events), expected)


@SETTINGS
@given(sizes=st.lists(st.integers(0, 4), min_size=2, max_size=4))
def test_parts_joined_a_column_at_a_time_are_the_parts_concatenated(sizes):
    pieces, first = [], 2
    for size in sizes:
        index = pd.RangeIndex(first, first + size)
        pieces.append(pd.DataFrame({
            "contact_id": pd.Series(range(size), index=index, dtype="int64"),
            "event_type": pd.Series(["open"] * size, index=index, dtype="str"),
            "machine": pd.Series([True] * size, index=index, dtype="boolean"),
        }))
        first += size
    expected = pd.concat(pieces)
    pd.testing.assert_frame_equal(canonical._joined([piece.copy() for piece in pieces]), expected)


FIXTURE = Path(__file__).parents[1] / "fixtures" / "canonical"
BAD_EVENT_CELLS = ["", " 1 ", "+1", "99", "x", "1.0", "Open", " click ", "peek", "sent",
                   "2026-11-02", "2026-02-30", "11/24/2026 10:15 AM", "soon", "true", "maybe",
                   "9223372036854775808"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 5), st.sampled_from(BAD_EVENT_CELLS)),
                      max_size=6),
       repeats=st.integers(0, 3), part_rows=st.sampled_from([1, 3, 1000]), machine=st.booleans())
def test_a_canonical_folder_with_bad_cells_reads_the_same_in_parts_as_whole(
    tmp_path_factory, monkeypatch, edits, repeats, part_rows, machine
):
    folder = shutil.copytree(FIXTURE, tmp_path_factory.mktemp("in") / "canonical")
    events = folder / "email_events.csv"
    header, *rows = events.read_text().splitlines()
    rows = rows + rows[:repeats]  # repeated events
    if machine:
        header += ",machine"
        rows = [row + ("," + ["true", "", "no"][number % 3]) for number, row in enumerate(rows)]
    for row, column, value in edits:
        cells = rows[row % len(rows)].split(",")
        cells[column % len(cells)] = value
        rows[row % len(rows)] = ",".join(cells)
    events.write_text("\n".join([header, *rows]) + "\n")

    with monkeypatch.context() as patch:
        def refuse(*args):
            raise reading.NeedsTolerantReader
            yield  # a generator, as the real one
        patch.setattr(reading, "_plain_parts", refuse)
        whole, whole_report = read_canonical(folder)
    with monkeypatch.context() as patch:
        patch.setattr(reading, "PART_ROWS", part_rows)
        parted, parted_report = read_canonical(folder)

    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(parted, table), getattr(whole, table), obj=table)
    assert parted.custom_fields == whole.custom_fields
    assert [(issue.file, issue.row, issue.column, issue.reason, issue.value)
            for issue in parted_report.issues] == [
        (issue.file, issue.row, issue.column, issue.reason, issue.value) for issue in whole_report.issues]
    assert parted_report.notes == whole_report.notes and parted_report.rows == whole_report.rows
    assert parted_report.files == whole_report.files and parted_report.counts == whole_report.counts


@pytest.mark.parametrize("cells", [["1", "2"], ["1", None], [None, None], []])
def test_plain_ids_keep_blanks_missing(cells):
    _same_outcome(reading.parse_ids, reading._ids, _column(cells, 1))


IDS = st.lists(st.one_of(st.none(), st.integers(-5, 40), st.sampled_from([2**62, -(2**63)])), max_size=12)


@SETTINGS
@given(values=IDS, known=st.lists(st.integers(-3, 30) | st.sampled_from([2**40]), max_size=8))
def test_references_found_in_a_table_of_ids_are_those_isin_finds(values, known):
    values, known = pd.Series(values, dtype="Int64"), pd.Series(known, dtype="Int64")
    assert canonical._known(values, known).tolist() == values.isin(known).tolist()


def test_digits_of_other_scripts_are_no_id():
    # Python's \d takes them, Arrow does not: such a cell is a bad id (reported), never a crash.
    assert reading.parse_ids(pd.Series(["\u0661\u0662", "12"])).tolist() == [pd.NA, 12]
