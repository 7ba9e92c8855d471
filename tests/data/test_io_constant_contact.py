"""Reading Constant Contact exports: the contact export and campaign opens / clicks reports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engagekit.data.io.constant_contact import read_constant_contact
from engagekit.errors import DataError

from io_support import contact, problems, who

FIXTURES = Path(__file__).parents[1] / "fixtures" / "constant_contact"
CONTACTS = FIXTURES / "contacts_export.csv"
REPORTS = [
    FIXTURES / "Black Friday - Opens.csv",
    FIXTURES / "Black Friday - Clicks.csv",
    FIXTURES / "October Newsletter - Opens.csv",
]


@pytest.fixture(scope="module")
def imported():
    return read_constant_contact(CONTACTS, REPORTS)


def test_contacts_statuses_and_fields(imported):
    ds, _ = imported
    # dan@example has no domain ending; ANN@example.com merges into ann; hal comes from a report.
    assert ds.contacts["email"].tolist() == [
        "ann@example.com", "bob@example.com", "carla@example.com", "eve@example.com",
        "frank@example.com", "gina@example.com", "hal@example.com"]
    assert ds.contacts.set_index("email")["email_status"].to_dict() == {
        "ann@example.com": "subscribed", "bob@example.com": "unsubscribed",
        "carla@example.com": "unsubscribed", "eve@example.com": "subscribed",
        "frank@example.com": "bounced", "gina@example.com": "subscribed",
        "hal@example.com": "subscribed"}
    assert ds.custom_fields == {
        "email_permission_status": "text", "company_name": "text", "job_title": "text",
        "phone_number": "text", "street_address_line_1": "text", "city": "text",
        "source_name": "text", "updated_at": "date"}
    bob = contact(ds, "bob@example.com")
    assert bob["date_added"] == pd.Timestamp("2026-02-01 15:00")  # -05:00 converted to UTC
    assert contact(ds, "carla@example.com")["last_name"] == "Díaz"
    hal = contact(ds, "hal@example.com")
    assert (hal["first_name"], hal["company_name"]) == ("Hal", "Kim Labs")


def test_duplicate_email_merges(imported):
    ds, _ = imported
    ann = contact(ds, "ann@example.com")
    assert ann["first_name"] == "Annie"  # the later non-blank value wins
    assert ann["last_name"] == "Lee"  # a blank does not erase
    assert ann["date_added"] == pd.Timestamp("2025-12-01 08:00")  # the earliest is kept
    tags = ds.contact_tags[ds.contact_tags["contact_id"] == ann["contact_id"]]["tag"]
    assert sorted(tags) == ["customer", "newsletter-2026", "vip"]


def test_lists_and_memberships(imported):
    ds, _ = imported
    assert ds.lists["name"].tolist() == ["Newsletter", "Deals", "VIP Club"]  # "deals" matched
    names = ds.lists.set_index("list_id")["name"]
    emails = ds.contacts.set_index("contact_id")["email"]
    members = {(emails[c], names[lst]) for lst, c in
               ds.list_memberships[["list_id", "contact_id"]].itertuples(index=False)}
    assert members == {
        ("ann@example.com", "Newsletter"), ("ann@example.com", "Deals"),
        ("ann@example.com", "VIP Club"), ("bob@example.com", "Newsletter"),
        ("carla@example.com", "Deals"), ("eve@example.com", "Newsletter"),
        ("frank@example.com", "Newsletter"), ("gina@example.com", "Deals")}


def test_campaigns_events_and_synthesised_sends(imported):
    ds, _ = imported
    assert ds.campaigns[["name", "sent_at"]].values.tolist() == [
        ["October Newsletter", pd.Timestamp("2026-10-05 08:00")],
        ["Black Friday", pd.Timestamp("2026-11-24 09:05")],  # its earliest open
    ]
    assert who(ds, "Black Friday", "open") == [
        "ann@example.com", "ann@example.com", "bob@example.com", "hal@example.com"]
    assert who(ds, "Black Friday", "click") == ["ann@example.com", "hal@example.com"]
    # Subscribed at send time (eve and gina have no date added, so are assumed there), plus
    # everyone with activity; not carla (removed), not frank (bounced, added later).
    assert who(ds, "Black Friday", "send") == [
        "ann@example.com", "bob@example.com", "eve@example.com", "gina@example.com",
        "hal@example.com"]
    assert who(ds, "October Newsletter", "send") == [
        "ann@example.com", "eve@example.com", "gina@example.com"]
    sends = ds.email_events[ds.email_events["event_type"] == "send"]
    assert set(sends["occurred_at"]) == set(ds.campaigns["sent_at"])


def test_bad_rows_reported_with_rows(imported):
    _, report = imported
    assert problems(report) == [
        ("contacts_export.csv", 5, "Email address", "dan@example"),
        ("contacts_export.csv", 6, "Created At", "13/45/2026"),
        ("Black Friday - Opens.csv", 6, "Opened At", "not a time"),
    ]
    assert report.issues[1].reason.endswith("left blank")
    assert report.issues[2].reason.endswith("row skipped")
    assert any("everyone subscribed at send time" in note for note in report.notes)
    assert any("taken as its earliest open or click" in note for note in report.notes)


def test_campaign_mapping_gives_name_and_sent_time():
    ds, report = read_constant_contact(
        CONTACTS,
        REPORTS[:2],
        campaigns={"Black Friday - Opens.csv": ("BF 2026", "2026-11-24T08:00:00-05:00"),
                   "black friday - clicks.csv": "BF 2026"},
    )
    assert ds.campaigns[["name", "sent_at"]].values.tolist() == [
        ["BF 2026", pd.Timestamp("2026-11-24 13:00")]]
    # Now bob's earliest open came before the sent time: sends follow the given time.
    assert who(ds, "BF 2026", "send") == [
        "ann@example.com", "bob@example.com", "eve@example.com", "gina@example.com",
        "hal@example.com"]
    assert not any("taken as its earliest" in note for note in report.notes)


def test_reports_without_contact_export():
    ds, report = read_constant_contact(activity_files=REPORTS[:2])
    assert ds.contacts["email"].tolist() == ["ann@example.com", "bob@example.com", "hal@example.com"]
    assert contact(ds, "bob@example.com")["email_status"] == "unsubscribed"
    # Contacts known only from reports are sent only what they acted on.
    assert who(ds, "Black Friday", "send") == [
        "ann@example.com", "bob@example.com", "hal@example.com"]


def test_cp1252_export(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_bytes(
        "Email address,First name,Last name,Email status,Tags,Email Lists,Created At\n"
        "jose@example.com,José,Müller,Active,clé,Liste été,2026-01-05\n".encode("cp1252"))
    ds, report = read_constant_contact(path)
    assert report.ok
    assert ds.contacts[["first_name", "last_name"]].values.tolist() == [["José", "Müller"]]
    assert ds.lists["name"].tolist() == ["Liste été"] and ds.contact_tags["tag"].tolist() == ["clé"]


def test_unknown_status_reported_and_blank_email_skipped(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("Email address,First name,Email status\n"
                    "a@example.com,A,Sleeping\n,B,Active\nc@example.com,C,\n", encoding="utf-8")
    ds, report = read_constant_contact(path)
    assert [(i.row, i.column) for i in report.issues] == [(2, "Email status"), (3, "Email address")]
    assert "expected one of: subscribed, unsubscribed, bounced" in report.issues[0].reason
    assert "row skipped" in report.issues[0].reason  # never stored without a status
    assert ds.contacts["email"].tolist() == ["c@example.com"]
    assert ds.contacts["email_status"].tolist() == ["subscribed"]  # blank status: subscribed


def test_missing_email_column(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("E-mail,First name\na@example.com,A\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"contacts.csv: missing required column 'Email address' "
                                        r"\(found: E-mail, First name\)"):
        read_constant_contact(path)


def test_report_without_activity_column(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text("Email address,First name\na@example.com,A\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"report.csv: not a Constant Contact opens or clicks "
                                        r"report.*'Opened At'"):
        read_constant_contact(activity_files=[path])


def test_nothing_given():
    with pytest.raises(DataError, match="no Constant Contact file given"):
        read_constant_contact()
