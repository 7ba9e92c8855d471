"""Hostile import files: every row ends imported or reported, and the preview is the import."""

from __future__ import annotations

import gzip
import io
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from engagekit.data.io.canonical import read_canonical
from engagekit.data.io.detect import read_any, read_uploads
from engagekit.data.io.mailchimp import read_mailchimp, read_mailchimp_folder
from engagekit.data.io.reading import MIN_UNPACKED_CAP, SourceFile, parse_ids, parse_times
from engagekit.errors import DataError, ImportReport
from engagekit.workspace import Workspace

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _source(tmp_path: Path, text: str) -> tuple[SourceFile, ImportReport]:
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    report = ImportReport()
    return SourceFile(path, report), report


# --- 1: a stray quote ----------------------------------------------------------------------------


def test_stray_quote_costs_one_reported_row_and_keeps_the_next(tmp_path):
    source, report = _source(
        tmp_path,
        'Email,Name\nann@example.com,"Ann\nbob@example.com,Bob\ncy@example.com,Cy\n',
    )
    emails = source.emails("Email")
    assert source.kept(emails.to_frame()).iloc[:, 0].tolist() == ["bob@example.com", "cy@example.com"]
    assert [(issue.row, issue.column) for issue in report.issues] == [(2, None)]
    assert "quote" in report.issues[0].reason
    assert source.rows.index.tolist() == [3, 4]  # later rows keep their numbers


def test_unclosed_quote_at_the_end_is_reported_not_fatal(tmp_path):
    source, report = _source(tmp_path, 'Email,Name\nann@example.com,Ann\n"unclosed,Bo\n')
    assert source.rows.index.tolist() == [2]
    assert [(issue.row, "quote" in issue.reason) for issue in report.issues] == [(3, True)]


def test_quote_swallowing_a_row_with_the_right_cell_count_is_caught(tmp_path):
    # Two cells in the record, but the line inside the quote is a row of its own.
    source, report = _source(tmp_path, 'Email,Name\nann@example.com,"Ann\nbob@example.com,Bob"\n')
    assert [issue.row for issue in report.issues] == [2]
    assert "bob@example.com" in source.text("Email").tolist()


def test_quoted_cell_with_a_line_break_still_reads(tmp_path):
    source, report = _source(tmp_path, 'Email,Address\nann@example.com,"1 Main St\nApt 4"\n')
    assert report.ok and source.text("Address")[2] == "1 Main St\nApt 4"


def test_misplaced_quote_and_huge_cell_are_reported(tmp_path):
    huge = "x" * 200_000
    source, report = _source(
        tmp_path, f'Email,Name\nann@example.com,"Ann"x\nbob@example.com,{huge}\ncy@example.com,Cy\n')
    assert source.rows.index.tolist() == [4]
    reasons = [issue.reason for issue in report.issues]
    assert "misplaced" in reasons[0] and "characters" in reasons[1]


# --- 3: a bad status ----------------------------------------------------------------------------


def test_bad_status_skips_its_row_so_the_import_stores_what_the_preview_showed(tmp_path):
    folder = tmp_path / "canonical"
    shutil.copytree(FIXTURES / "canonical", folder)
    path = folder / "contacts.csv"
    path.write_text(path.read_text().replace("bounced", "gone", 1))
    dataset, report = read_canonical(folder)
    status = [issue for issue in report.issues if issue.column == "email_status"]
    assert status and "row skipped" in status[0].reason
    ws = Workspace.open(f"sqlite:///{tmp_path}/ws.db")
    ws.import_dataset(dataset)
    assert ws.load().n_contacts == dataset.n_contacts


# --- 4: Mailchimp sent times --------------------------------------------------------------------


def test_mailchimp_sent_time_ignores_unsubscribe_times(tmp_path):
    audience = tmp_path / "unsubscribed_members_export.csv"
    audience.write_text(
        "Email Address,First Name,Last Name,UNSUB_TIME,UNSUB_CAMPAIGN_TITLE\n"
        "ann@example.com,Ann,Lee,2026-01-01 08:00:00,Launch\n")
    opens = tmp_path / "Launch.csv"
    opens.write_text("Timestamp,Email\n2026-03-01 10:00:00,bob@example.com\n")
    dataset, report = read_mailchimp([audience], [opens])
    assert dataset.campaigns["sent_at"].tolist() == [pd.Timestamp("2026-03-01 10:00:00")]
    assert any("earliest open or click, 2026-03-01 10:00:00" in note for note in report.notes)


def test_mailchimp_sent_file_dates_its_campaign_and_the_note_says_so():
    dataset, report = read_mailchimp_folder(FIXTURES / "mailchimp")
    welcome = dataset.campaigns.set_index("name").loc["Welcome", "sent_at"]
    assert any(f"Welcome': sent time taken as the earliest time of its recipient list, {welcome:%Y-%m-%d}"
               in note for note in report.notes)


# --- 6 and 7: times and ids ---------------------------------------------------------------------


def test_nanosecond_times_read_to_the_microsecond():
    times = parse_times(pd.Series(["2026-11-24 10:15:00.123456789", "2026-11-24T10:15:00.5+02:00"]))
    assert times.tolist() == [pd.Timestamp("2026-11-24 10:15:00.123456"),
                              pd.Timestamp("2026-11-24 08:15:00.5")]


def test_nanosecond_times_import_end_to_end(tmp_path):
    folder = tmp_path / "canonical"
    shutil.copytree(FIXTURES / "canonical", folder)
    events = folder / "email_events.csv"
    lines = events.read_text().splitlines()
    lines[1] = lines[1].rstrip() + ".123456789" if lines[1][-1].isdigit() else lines[1]
    events.write_text("\n".join(lines) + "\n")
    dataset, report = read_canonical(folder)
    assert dataset.email_events["occurred_at"].dt.microsecond.max() <= 999_999


def test_ids_above_2_53_are_exact_and_never_taken_for_repeats(tmp_path):
    assert parse_ids(pd.Series(["9007199254740993", "9007199254740992"])).tolist() == [
        9007199254740993, 9007199254740992]
    folder = tmp_path / "canonical"
    folder.mkdir()
    (folder / "contacts.csv").write_text(
        "contact_id,email\n9007199254740992,ann@example.com\n9007199254740993,bob@example.com\n")
    dataset, report = read_canonical(folder)
    assert report.ok and dataset.n_contacts == 2
    assert sorted(dataset.contacts["contact_id"]) == [9007199254740992, 9007199254740993]


@pytest.mark.parametrize("hidden", ["\ufeff", "\u200b", "\u2060", "\u00ad", "\u202e"])
def test_emails_with_invisible_characters_are_refused(tmp_path, hidden):
    source, report = _source(tmp_path, f"Email\nann{hidden}@example.com\nbob@example.com\n")
    emails = source.emails("Email")
    assert source.kept(emails.to_frame()).iloc[:, 0].tolist() == ["bob@example.com"]
    assert "invisible" in report.issues[0].reason


def test_huge_email_is_refused(tmp_path):
    source, report = _source(tmp_path, f"Email\n{'a' * 100_000}@example.com\nbob@example.com\n")
    assert source.emails("Email").dropna().tolist() == ["bob@example.com"]
    assert "longer than 254" in report.issues[0].reason


def test_full_width_email_is_the_same_contact(tmp_path):
    source, _ = _source(tmp_path, "Email\n\uff41nn@example.com\n")
    assert source.emails("Email").tolist() == ["ann@example.com"]


def test_field_names_a_database_cannot_hold_are_renamed_with_a_note(tmp_path):
    folder = tmp_path / "canonical"
    folder.mkdir()
    long_a, long_b = "x" * 70 + "a", "x" * 70 + "b"
    (folder / "contacts.csv").write_text(
        f"contact_id,email,xmin,ctid,{long_a},{long_b}\n1,ann@example.com,1,2,3,4\n")
    dataset, report = read_canonical(folder)
    names = list(dataset.custom_fields)
    assert "xmin" not in names and "ctid" not in names
    assert len({name[:63] for name in names}) == 4 and all(len(n.encode()) <= 63 for n in names)
    assert sum("stored as the custom field" in note for note in report.notes) == 4


# --- 16: a gzip bomb ----------------------------------------------------------------------------


def test_gzip_bomb_is_refused_before_it_fills_memory(tmp_path):
    folder = tmp_path / "bomb"
    folder.mkdir()
    with gzip.open(folder / "contacts.csv.gz", "wb", compresslevel=9) as handle:
        handle.write(b"contact_id,email\n")
        chunk = b" " * 2**20
        for _ in range(MIN_UNPACKED_CAP // 2**20 + 2):
            handle.write(chunk)
    with pytest.raises(DataError, match="expands to more than"):
        read_any([folder])


# --- 5: browser uploads -------------------------------------------------------------------------


def _mailchimp_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((FIXTURES / "mailchimp").rglob("*.csv")):
            archive.write(path, path.relative_to(FIXTURES / "mailchimp").as_posix())
    return buffer.getvalue()


def test_zip_upload_keeps_folders_so_recipients_are_not_opens():
    expected, _ = read_mailchimp_folder(FIXTURES / "mailchimp")
    dataset, report = read_uploads([("mailchimp export.zip", _mailchimp_zip())])
    counts = dataset.email_events["event_type"].value_counts().to_dict()
    assert counts == expected.email_events["event_type"].value_counts().to_dict()
    assert "sent/Welcome.csv" in report.files and "opens/Welcome.csv" in report.files


def test_loose_recipient_list_is_refused_not_read_as_opens():
    sent = (FIXTURES / "mailchimp" / "sent" / "Welcome.csv").read_bytes()
    with pytest.raises(DataError, match="upload the export's .zip|Upload the export's .zip"):
        read_uploads([("Welcome.csv", sent)])
    dataset, _ = read_uploads([("Welcome - sent.csv", sent)])
    assert set(dataset.email_events["event_type"]) == {"send"}


def test_upload_messages_never_show_temporary_folder_numbers():
    opens = b"Timestamp,Email\n2026-04-01 10:00:00,not-an-email\n2026-04-01 10:00:00,a@example.com\n"
    clicks = b"Timestamp,Email,Url\n2026-04-01 10:00:00,a@example.com,https://x.example\n"
    dataset, report = read_uploads([("Spring Sale - opens.csv", opens),
                                    ("Spring Sale.csv", clicks), ("Spring Sale.csv", clicks)])
    shown = " ".join([*report.files, *map(str, report.issues), *report.notes])
    assert report.files == ["Spring Sale - opens.csv", "clicks/Spring Sale.csv",
                            "clicks/Spring Sale.csv"]
    assert "engagekit-upload" not in shown and "files-2" not in shown
    assert "Spring Sale - opens.csv, row 2" in shown
