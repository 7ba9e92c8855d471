"""The fast CSV reader reads every file exactly as the tolerant reader does, or hands it over.

Arrow's CSV reader takes the files it can read the same way (most exports, and every large one
written by a tool); anything else (a stray quote, a line break in a cell, another encoding) goes
to the tolerant reader. Both must give the same cells and row numbers for every file.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagekit.data.io.reading import _plain_table, load_text, parse_csv
from engagekit.errors import DataError

CELL = st.one_of(
    st.text(alphabet='ab ,;"\r\n\t1é', max_size=6),
    st.sampled_from(["", "2026-11-24 10:15:00", "ann@example.com", '"quoted, cell"', '"a""b"']),
)
ROW = st.lists(CELL, min_size=1, max_size=4)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=6), separator=st.sampled_from([",", ";", "\t"]),
       line_end=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans(), packed=st.booleans())
def test_fast_reader_gives_the_tolerant_readers_table_or_hands_over(
    tmp_path, rows, separator, line_end, bom, packed
):
    text = line_end.join(separator.join(row) for row in rows) + line_end
    raw = ("\ufeff" if bom else "").encode() + text.encode("utf-8")
    path = tmp_path / ("file.csv.gz" if packed else "file.csv")
    path.write_bytes(gzip.compress(raw) if packed else raw)
    fast = _plain_table(path, path.name)
    if fast is None:
        return
    try:
        slow = parse_csv(load_text(path), path.name)
    except DataError:  # the header row is what the file lacks: reading it either way refuses it
        assert not any(cell.strip() for cell in fast.iloc[0])
        return
    assert fast.index.tolist() == slow.index.tolist()
    assert fast.to_numpy().tolist() == slow.to_numpy().tolist()


@pytest.mark.parametrize("content", [
    "email,name\nann@example.com,Ann\nbob@example.com,Bob\n",
    'email,agent\nann@example.com,"Mozilla/5.0 (KHTML, like Gecko)"\n',
    "email;name\r\nann@example.com;Ann\r\n",
])
def test_well_formed_exports_take_the_fast_reader(tmp_path, content):
    path = tmp_path / "export.csv"
    path.write_text(content)
    assert _plain_table(path, path.name) is not None


@pytest.mark.parametrize("content", [
    'email,name\nann@example.com,"Ann\nLee"\n',       # a line break inside a cell
    'email,name\nann@example.com,"Ann" Lee\n',        # a quote that does not end its cell
    "email,name\nann@example.com,Ann,extra\n",        # a row wider than the header
])
def test_files_the_rules_read_differently_go_to_the_tolerant_reader(tmp_path, content):
    path = tmp_path / "export.csv"
    path.write_text(content)
    assert _plain_table(path, path.name) is None


def test_a_file_in_windows_1252_goes_to_the_tolerant_reader(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("email,name\nann@example.com,Zoë\n".encode("cp1252"))
    assert _plain_table(path, path.name) is None


def test_large_text_columns_held_in_several_chunks_read_like_one():
    import pandas as pd
    import pyarrow as pa

    from engagekit.data.event_arrays import event_codes
    from engagekit.data.io.reading import looked_up, parse_times

    def chunked(*parts):
        return pd.Series(pd.array(pa.chunked_array([list(part) for part in parts]), dtype="str"))

    assert looked_up(chunked(["Open"], ["click"]), {"open": "open", "click": "click"}).tolist() == [
        "open", "click"]
    assert event_codes(chunked(["send"], ["click"])).tolist() == [0, 2]
    assert parse_times(chunked(["2026-11-24 10:15:00"], ["2026-11-25"])).tolist() == [
        pd.Timestamp("2026-11-24 10:15"), pd.Timestamp("2026-11-25")]


def _read_with(folder, monkeypatch, *, part_rows=None, tolerant=False):
    import engagekit.data.io.reading as reading
    from engagekit.data.io.canonical import read_canonical

    with monkeypatch.context() as patch:
        if part_rows:
            patch.setattr(reading, "PART_ROWS", part_rows)
        if tolerant:
            def refuse(*args):
                raise reading.NeedsTolerantReader
                yield  # a generator, as the real one
            patch.setattr(reading, "_plain_parts", refuse)
        return read_canonical(folder)


@pytest.mark.parametrize("part_rows", [1, 2, 5])
def test_a_large_events_file_read_in_parts_gives_the_whole_files_data_and_report(
    tmp_path, monkeypatch, part_rows
):
    import shutil

    import pandas as pd

    from engagekit.data.schema import TABLES

    folder = shutil.copytree(Path(__file__).parents[1] / "fixtures" / "canonical", tmp_path / "in")
    events = folder / "email_events.csv"
    events.write_text(events.read_text() + "1,1,peek,2026-11-02 10:00:00\n99,1,open,2026-11-02\n"
                      "1,1,open,2026-11-02 11:00:00\n")
    whole, whole_report = _read_with(folder, monkeypatch, tolerant=True)
    parted, parted_report = _read_with(folder, monkeypatch, part_rows=part_rows)
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(parted, table), getattr(whole, table), obj=table)
    assert [str(issue) for issue in parted_report.issues] == [str(issue) for issue in whole_report.issues]
    assert parted_report.notes == whole_report.notes and parted_report.rows == whole_report.rows
    assert parted_report.files == whole_report.files
