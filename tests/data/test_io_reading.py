"""Reading CSV files robustly: encodings, separators, headers, row numbers, cell parsing."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from engagekit.data.io.reading import (
    SourceFile,
    display_names,
    field_name,
    infer_field,
    parse_times,
    read_header,
    split_quoted,
)
from engagekit.errors import DataError, ImportReport

NAME_ROW = "Email,First name,Last name\njose@example.com,José,Müller\n"


def read_text(tmp_path, text: str, name: str = "people.csv") -> tuple[SourceFile, ImportReport]:
    """Write ``text`` as a UTF-8 file and open it."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    report = ImportReport()
    return SourceFile(path, report), report


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_encodings_read_accented_names(tmp_path, encoding):
    path = tmp_path / "people.csv"
    path.write_bytes(NAME_ROW.encode(encoding))
    source = SourceFile(path, ImportReport())
    assert source.text("first name").tolist() == ["José"]
    assert source.text("last name").tolist() == ["Müller"]
    assert list(source.headers.values()) == ["Email", "First name", "Last name"]


def test_gzip_file_reads_like_plain(tmp_path):
    path = tmp_path / "people.csv.gz"
    path.write_bytes(gzip.compress(NAME_ROW.encode("utf-8")))
    assert SourceFile(path, ImportReport()).text("Last name").tolist() == ["Müller"]


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_separator_follows_header(tmp_path, separator):
    source, _ = read_text(tmp_path, NAME_ROW.replace(",", separator))
    assert source.text("Email").tolist() == ["jose@example.com"]


def test_headers_match_ignoring_case_and_spacing(tmp_path):
    source, _ = read_text(tmp_path, "  EMAIL   address ,First Name\nann@example.com,Ann\n")
    assert source.has("Email address") and source.has("first name")
    assert source.label("email address") == "EMAIL   address"
    assert source.emails("Email Address").tolist() == ["ann@example.com"]


def test_rows_keep_spreadsheet_numbers(tmp_path):
    # Row 3 is blank, row 4 has a cell spanning two lines, row 5 has too many cells.
    source, report = read_text(
        tmp_path,
        'Email,Note\nann@example.com,hi\n\nbob@example.com,"two\nlines"\n'
        "cy@example.com,a,b\nbad-email,x\n",
    )
    emails = source.emails("Email")
    assert list(source.rows.index) == [2, 4, 6]
    assert [(issue.row, issue.column) for issue in report.issues] == [(5, None), (6, "Email")]
    assert "3 cells but the header has 2" in report.issues[0].reason
    assert source.kept(emails.to_frame()).index.tolist() == [2, 4]
    assert source.text("Note")[4] == "two\nlines"


def test_invalid_emails_reported_and_skipped(tmp_path):
    source, report = read_text(
        tmp_path,
        "Email\n ANN@Example.COM \nno-at-sign\nspace in@example.com\na@b\n\n"
        "two@@example.com\nok@sub.example.co.uk\n   \n",
    )
    emails = source.kept(source.emails("Email").to_frame()).iloc[:, 0]
    assert emails.tolist() == ["ann@example.com", "ok@sub.example.co.uk"]
    assert [issue.row for issue in report.issues] == [3, 4, 5, 7]
    assert report.issues[0].value == "no-at-sign"


def test_times_accept_export_formats():
    values = pd.Series([
        "2026-11-24", "2026-11-24 10:15:32", "2026-11-24T10:15:00+02:00", "2026-11-24T10:15:00Z",
        "2020-09-25 16:45:13 -0400", "11/24/2026 10:15 AM", "11/24/2026 06:40 pm", "11/24/2026",
        "11/24/2026 18:40", "13/45/2026", "2026-02-30", "yesterday", "12", None,
    ])
    assert parse_times(values).tolist() == [
        pd.Timestamp("2026-11-24"), pd.Timestamp("2026-11-24 10:15:32"),
        pd.Timestamp("2026-11-24 08:15"), pd.Timestamp("2026-11-24 10:15"),
        pd.Timestamp("2020-09-25 20:45:13"), pd.Timestamp("2026-11-24 10:15"),
        pd.Timestamp("2026-11-24 18:40"), pd.Timestamp("2026-11-24"),
        pd.Timestamp("2026-11-24 18:40"), pd.NaT, pd.NaT, pd.NaT, pd.NaT, pd.NaT,
    ]
    assert str(parse_times(values).dtype) == "datetime64[us]"


def test_required_and_optional_bad_cells(tmp_path):
    source, report = read_text(
        tmp_path, "Email,When,Score\na@example.com,2026-01-01,x\nb@example.com,soon,2\n")
    source.numbers("Score")
    assert source.ok.all()  # an optional bad cell is left blank, the row stays
    source.times("When", required=True)
    assert source.ok.tolist() == [True, False]
    assert [(i.row, i.column, i.value) for i in report.issues] == [
        (2, "Score", "x"), (3, "When", "soon")]
    assert report.issues[0].reason.endswith("left blank")
    assert report.issues[1].reason.endswith("row skipped")


def test_missing_required_column_names_file_and_column(tmp_path):
    source, _ = read_text(tmp_path, "Mail,Name\na@example.com,Ann\n", "contacts.csv")
    with pytest.raises(DataError, match=r"contacts.csv: missing required column 'email' "
                                        r"\(found: Mail, Name\)"):
        source.emails("email")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"PK\x03\x04rest-of-a-zip", "Excel workbook"),
        (b"a,b\n\x00\x01\x02", "not a text CSV file"),
        (b"\n\nEmail\n", "first row is empty"),
    ],
)
def test_unreadable_files_raise_data_error(tmp_path, content, message):
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        SourceFile(path, ImportReport())
    assert str(caught.value).startswith("broken.csv: ")


def test_missing_file_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="nothing.csv: cannot read the file"):
        SourceFile(tmp_path / "nothing.csv", ImportReport())


def test_duplicate_header_keeps_first_and_notes(tmp_path):
    source, report = read_text(tmp_path, "Email,UNSUB_CAMPAIGN_ID,unsub_campaign_id\na@b.co,1,2\n")
    assert source.text("UNSUB_CAMPAIGN_ID").tolist() == ["1"]
    assert "appears more than once" in report.notes[0]


def test_read_header_reads_only_the_header(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("Timestamp,Email\n" + "2026-01-01 00:00:00,a@example.com\n" * 20000,
                    encoding="utf-8")
    assert read_header(path) == ["Timestamp", "Email"]


def test_infer_field_types():
    assert infer_field(pd.Series(["1", "2.5", None]))[0] == "number"
    assert infer_field(pd.Series(["2026-01-05", "01/06/2026 10:00 AM"]))[0] == "date"
    assert infer_field(pd.Series(["gold", "3"]))[0] == "text"
    assert infer_field(pd.Series(["02108", "10001"]))[0] == "text"  # zip codes keep their zeros
    assert infer_field(pd.Series([None, None], dtype="str"))[0] == "text"
    kind, values = infer_field(pd.Series(["3", None]))
    assert kind == "number" and values.iloc[0] == 3.0 and pd.isna(values.iloc[1])


def test_helpers():
    assert field_name("Zip/Postal Code - Home") == "zip_postal_code_home"
    assert field_name("Tags", taken=["tags", "tags_2"]) == "tags_3"
    assert split_quoted(pd.Series(['"vip","new, hot"', None, "plain"])).tolist() == [
        "vip", "new, hot", "plain"]
    assert display_names(["a/x.csv", "b/x.csv"]) == {
        Path("a/x.csv"): "a/x.csv", Path("b/x.csv"): "b/x.csv"}
