"""Reading Mailchimp exports: audience files and granular campaign activity."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from engagekit.data.io.mailchimp import read_mailchimp, read_mailchimp_folder
from engagekit.errors import DataError

from io_support import contact, problems, who

FIXTURE = Path(__file__).parents[1] / "fixtures" / "mailchimp"
MEMBERS = FIXTURE / "members_export_3f9c2a1b7d"
SUBSCRIBED = MEMBERS / "subscribed_members_export_3f9c2a1b7d.csv"
UNSUBSCRIBED = MEMBERS / "unsubscribed_members_export_3f9c2a1b7d.csv"
CLEANED = MEMBERS / "cleaned_members_export_3f9c2a1b7d.csv"


@pytest.fixture(scope="module")
def imported():
    return read_mailchimp_folder(FIXTURE)


def test_status_comes_from_the_file(imported):
    ds, _ = imported
    assert ds.contacts.set_index("email")["email_status"].to_dict() == {
        "ann@example.com": "subscribed", "ben@example.com": "subscribed",
        "cleo@example.com": "subscribed", "gail@example.com": "subscribed",
        "dora@example.com": "unsubscribed", "finn@example.com": "bounced",
        "gus@example.com": "subscribed",  # known only from an opens file
    }


def test_fields_tags_and_dates(imported):
    ds, _ = imported
    assert ds.custom_fields == {
        "member_rating": "number", "address": "text", "phone_number": "text",
        "birthday": "text", "company": "text"}
    ann = contact(ds, "ann@example.com")
    assert (ann["member_rating"], ann["company"], ann["birthday"]) == (4.0, "Acme", "03/14")
    assert contact(ds, "cleo@example.com")["first_name"] == "Cléo"
    assert ds.contacts.set_index("email")["date_added"].to_dict() == {
        "ann@example.com": pd.Timestamp("2026-01-05 09:00"),  # OPTIN_TIME
        "ben@example.com": pd.Timestamp("2026-02-10 14:00"),  # CONFIRM_TIME
        "cleo@example.com": pd.Timestamp("2026-03-03 08:00"),  # LAST_CHANGED
        "gail@example.com": pd.Timestamp("2026-05-01"),  # bad OPTIN_TIME, then CONFIRM_TIME
        "dora@example.com": pd.Timestamp("2026-01-20 10:00"),
        "finn@example.com": pd.Timestamp("2026-01-02 08:00"),
        "gus@example.com": pd.NaT,
    }
    emails = ds.contacts.set_index("contact_id")["email"]
    tags = {(emails[c], t) for c, t in ds.contact_tags.itertuples(index=False)}
    assert tags == {("ann@example.com", "vip"), ("ann@example.com", "newsletter"),
                    ("cleo@example.com", "newsletter"), ("gail@example.com", "vip")}


def test_campaigns_and_events(imported):
    ds, _ = imported
    assert ds.campaigns[["name", "sent_at"]].values.tolist() == [
        ["Welcome", pd.Timestamp("2026-02-15 09:00")],  # from its sent/ file
        ["Spring Sale", pd.Timestamp("2026-04-01 10:00:30")],  # its earliest open
    ]
    assert who(ds, "Spring Sale", "open") == [
        "ann@example.com", "ann@example.com", "dora@example.com", "gus@example.com"]
    assert who(ds, "Spring Sale", "click") == ["ann@example.com"]
    assert who(ds, "Spring Sale", "unsubscribe") == ["dora@example.com"]
    assert who(ds, "Spring Sale", "bounce") == ["finn@example.com"]
    # Subscribed at send time: dora and finn left after it; gail joined later; gus opened it.
    assert who(ds, "Spring Sale", "send") == [
        "ann@example.com", "ben@example.com", "cleo@example.com", "dora@example.com",
        "finn@example.com", "gus@example.com"]
    # A recipient list replaces the assumption.
    assert who(ds, "Welcome", "send") == ["ann@example.com", "ben@example.com"]
    assert len(ds.email_events) == 16


def test_bad_rows_reported(imported):
    _, report = imported
    assert problems(report) == [
        ("subscribed_members_export_3f9c2a1b7d.csv", 5, "Email Address", "not an email"),
        ("subscribed_members_export_3f9c2a1b7d.csv", 6, "OPTIN_TIME", "yesterday"),
        ("opens/Spring Sale.csv", 6, "Timestamp", "bad-ts"),
    ]
    assert report.counts["contacts"] == 7


def test_explicit_files_and_status_by_file_name(tmp_path):
    # Without UNSUB_TIME / CLEAN_TIME columns, the file name tells the status.
    path = tmp_path / "unsubscribed_members_export_1.csv"
    path.write_text("Email Address,First Name,Last Name,MEMBER_RATING,TAGS\n"
                    'zoe@example.com,Zoe,Ray,2,"""a"",""b, c"""\n', encoding="utf-8")
    ds, report = read_mailchimp([SUBSCRIBED, path])
    assert report.counts["email_events"] == 0
    zoe = contact(ds, "zoe@example.com")
    assert zoe["email_status"] == "unsubscribed" and zoe["member_rating"] == 2.0
    assert sorted(ds.contact_tags[ds.contact_tags["contact_id"] == zoe["contact_id"]]["tag"]) == [
        "a", "b, c"]


def test_same_member_in_two_files_keeps_the_stronger_status(tmp_path):
    folder = Path(shutil.copytree(FIXTURE, tmp_path / "mc"))
    cleaned = folder / MEMBERS.name / CLEANED.name
    cleaned.write_text(cleaned.read_text(encoding="utf-8").replace("finn@", "ann@"),
                       encoding="utf-8")
    ds, _ = read_mailchimp_folder(folder)
    ann = contact(ds, "ann@example.com")
    assert ann["email_status"] == "bounced" and ann["first_name"] == "Finn"
    assert ann["date_added"] == pd.Timestamp("2026-01-02 08:00")


def test_unsubscribe_for_unknown_campaign_is_noted():
    ds, report = read_mailchimp([UNSUBSCRIBED])
    assert ds.email_events.empty
    assert any("name a campaign without activity files" in note for note in report.notes)


def test_missing_columns(tmp_path):
    path = tmp_path / "Spring.csv"
    path.write_text("When,Email\n2026-01-01,a@example.com\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"Spring.csv: missing required column 'Timestamp' "
                                        r"\(found: When, Email\)"):
        read_mailchimp(opens_files=[path])
    audience = tmp_path / "subscribed.csv"
    audience.write_text("Email,OPTIN_TIME\na@example.com,\n", encoding="utf-8")
    with pytest.raises(DataError, match="subscribed.csv: missing required column 'Email Address'"):
        read_mailchimp([audience])


def test_folder_without_exports(tmp_path):
    with pytest.raises(DataError, match="no Mailchimp export found"):
        read_mailchimp_folder(tmp_path)
    with pytest.raises(DataError, match="not a folder"):
        read_mailchimp_folder(tmp_path / "nope")


def test_recipient_list_without_times(tmp_path):
    sent = tmp_path / "sent" / "Promo.csv"
    opens = tmp_path / "opens" / "Promo.csv"
    for path, text in [(sent, "Email Address\nann@example.com\nzed@example.com\n"),
                       (opens, "Timestamp,Email Address\n2026-05-02 08:30:00,ann@example.com\n")]:
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
    ds, report = read_mailchimp_folder(tmp_path)
    assert ds.campaigns[["name", "sent_at"]].values.tolist() == [
        ["Promo", pd.Timestamp("2026-05-02 08:30")]]
    assert who(ds, "Promo", "send") == ["ann@example.com", "zed@example.com"]
    sends = ds.email_events[ds.email_events["event_type"] == "send"]
    assert (sends["occurred_at"] == pd.Timestamp("2026-05-02 08:30")).all()
    assert any("taken as its earliest open or click" in note for note in report.notes)
