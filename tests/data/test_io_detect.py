"""Telling layouts apart by their headers, and reading any mix of files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engagekit.data.io.canonical import read_canonical
from engagekit.data.io.constant_contact import read_constant_contact
from engagekit.data.io.detect import LAYOUTS, detect_layout, read_any
from engagekit.data.io.mailchimp import read_mailchimp_folder
from engagekit.data.io.reading import read_header
from engagekit.data.schema import TABLES
from engagekit.errors import DataError

FIXTURES = Path(__file__).parents[1] / "fixtures"
CC = FIXTURES / "constant_contact"
MC = FIXTURES / "mailchimp"


@pytest.mark.parametrize(
    ("path", "layout"),
    [
        (FIXTURES / "canonical" / "contacts.csv", "canonical"),
        (FIXTURES / "canonical" / "email_events.csv", "canonical"),
        (CC / "contacts_export.csv", "constant_contact_contacts"),
        (CC / "Black Friday - Opens.csv", "constant_contact_report"),
        (CC / "Black Friday - Clicks.csv", "constant_contact_report"),
        (MC / "members_export_3f9c2a1b7d" / "cleaned_members_export_3f9c2a1b7d.csv",
         "mailchimp_audience"),
        (MC / "opens" / "Spring Sale.csv", "mailchimp_activity"),
        (MC / "clicks" / "Spring Sale.csv", "mailchimp_activity"),
        (MC / "sent" / "Welcome.csv", "mailchimp_activity"),
    ],
)
def test_fixture_layouts(path, layout):
    assert detect_layout(read_header(path), path) == layout


def _same(left, right):
    for table in TABLES:
        assert getattr(left, table).equals(getattr(right, table)), table


def test_constant_contact_export_and_reports_in_one_call():
    ds, report = read_any(sorted(CC.glob("*.csv")))
    expected, _ = read_constant_contact(
        CC / "contacts_export.csv",
        sorted(path for path in CC.glob("*.csv") if path.name != "contacts_export.csv"))
    _same(ds, expected)
    assert report.counts["email_events"] == 15 and len(report.issues) == 3


def test_folders_dispatch_to_their_reader():
    mailchimp, _ = read_any(MC)
    _same(mailchimp, read_mailchimp_folder(MC)[0])
    canonical, _ = read_any([FIXTURES / "canonical"])
    _same(canonical, read_canonical(FIXTURES / "canonical")[0])
    constant_contact, _ = read_any(CC)
    assert constant_contact.campaigns["name"].tolist() == ["October Newsletter", "Black Friday"]


def test_mixed_tools_merge_by_email():
    ds, report = read_any([CC, MC])
    # ann@example.com is in both; the other emails are distinct (7 + 7 - 1).
    assert ds.n_contacts == 13
    assert sorted(ds.campaigns["name"]) == [
        "Black Friday", "October Newsletter", "Spring Sale", "Welcome"]
    assert report.counts == ds.summary()
    assert len(report.issues) == 6


def test_unknown_layout_names_header_and_known_layouts(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("Name,Mail\nAnn,ann@example.com\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_any([path])
    message = str(caught.value)
    assert message.startswith("people.csv: unknown file layout; its header is: Name, Mail.")
    assert all(layout in message for layout in LAYOUTS.values())


def test_stray_file_in_a_folder_is_skipped_with_a_note(tmp_path):
    folder = Path(shutil.copytree(CC, tmp_path / "cc"))
    (folder / "notes.csv").write_text("Note\nhello\n", encoding="utf-8")
    (folder / "__MACOSX").mkdir()
    (folder / "__MACOSX" / "._contacts_export.csv").write_bytes(b"\x00\x05\x16\x07")
    ds, report = read_any(folder)
    assert ds.n_contacts == 7
    assert any(str(issue).startswith("notes.csv: not a known export layout; file skipped")
               for issue in report.issues)


def test_missing_paths_and_empty_folders(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        read_any([tmp_path / "missing.csv"])
    with pytest.raises(DataError, match="holds no CSV file"):
        read_any([tmp_path])
    (tmp_path / "other.csv").write_text("Note\nhello\n", encoding="utf-8")
    with pytest.raises(DataError, match="no file in a known layout"):
        read_any(tmp_path)


def test_a_canonical_file_stands_for_its_folder():
    ds, report = read_any(FIXTURES / "canonical" / "orders.csv")
    assert report.ok and ds.summary()["email_events"] == 9


def test_zip_archive_reads_like_its_folder(tmp_path):
    archive = shutil.make_archive(str(tmp_path / "mailchimp_export"), "zip", MC)
    ds, report = read_any([archive])
    _same(ds, read_mailchimp_folder(MC)[0])
    assert len(report.issues) == 3


def test_flat_upload_tells_recipient_lists_by_name(tmp_path):
    # Uploaded files lose their folders: "sent" in the name marks a recipient list.
    shutil.copy(MC / "sent" / "Welcome.csv", tmp_path / "Welcome - sent.csv")
    shutil.copy(MC / "opens" / "Welcome.csv", tmp_path / "Welcome - opens.csv")
    ds, _ = read_any(sorted(tmp_path.iterdir()))
    events = ds.email_events.sort_values(["event_type", "contact_id"])
    assert events["event_type"].tolist() == ["open", "send", "send"]
    assert ds.campaigns["name"].tolist() == ["Welcome"]


def test_zip_archive_without_csv_files(tmp_path):
    path = tmp_path / "export.zip"
    path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # the smallest valid archive: empty
    with pytest.raises(DataError, match="export.zip: the archive holds no CSV file"):
        read_any([path])
