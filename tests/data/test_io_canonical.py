"""Reading the canonical CSV folder: counts, types, bad rows, merging, round trip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from engagekit.data.dataset import Dataset
from engagekit.data.io.canonical import read_canonical
from engagekit.data.io.canonical_writer import write_canonical
from engagekit.data.schema import TABLES
from engagekit.errors import DataError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "canonical"


@pytest.fixture
def folder(tmp_path):
    """A writable copy of the canonical fixture."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "canonical"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def assert_same(left: Dataset, right: Dataset) -> None:
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(left, table), getattr(right, table), obj=table)
    assert left.custom_fields == right.custom_fields


def test_fixture_imports_every_table():
    ds, report = read_canonical(FIXTURE)
    assert report.ok
    assert ds.summary() == {
        "contacts": 4, "contact_tags": 3, "lists": 2, "list_memberships": 4,
        "campaigns": 2, "email_events": 9, "orders": 2,
    }
    assert report.counts == ds.summary()
    assert ds.custom_fields == {"plan": "text", "lifetime_value": "number", "renewal_date": "date"}
    ann = ds.contacts.iloc[0]
    assert (ann["email"], ann["lifetime_value"], ann["renewal_date"]) == (
        "ann@example.com", 1250.5, pd.Timestamp("2027-01-05"))
    assert ds.contacts["email_status"].tolist() == [
        "subscribed", "unsubscribed", "bounced", "subscribed"]
    assert sorted(ds.contact_tags.itertuples(index=False, name=None)) == [
        (1, "customer"), (1, "vip"), (3, "customer")]
    assert pd.isna(ds.contacts.loc[3, "first_name"])  # blank text is missing, not ""
    assert pd.isna(ds.list_memberships["added_at"].iloc[3])


def test_round_trip_of_fixture(tmp_path):
    ds, _ = read_canonical(FIXTURE)
    again, report = read_canonical(write_canonical(ds, tmp_path / "out"))
    assert report.ok
    assert_same(ds, again)


def test_round_trip_with_compressed_events(tmp_path):
    ds = Dataset.from_frames(
        contacts=pd.DataFrame({
            "contact_id": [10, 20], "email": ["a@example.com", "b@example.com"],
            "first_name": ["Ann", None], "last_name": [None, "Bo"],
            "date_added": ["2026-01-05 09:00:00", None], "email_status": ["subscribed", "bounced"],
            "score": [1.5, None], "signup": ["2026-01-01", "2026-02-01"], "team": ["red", None],
        }),
        contact_tags=pd.DataFrame({"contact_id": [10, 10], "tag": ["b", "a"]}),
        campaigns=pd.DataFrame({"campaign_id": [5], "name": ["Hello"], "sent_at": ["2026-03-01"]}),
        email_events=pd.DataFrame({"contact_id": [10, 20], "campaign_id": [5, 5],
                                   "event_type": ["send", "send"],
                                   "occurred_at": ["2026-03-01", "2026-03-01"]}),
        custom_fields={"score": "number", "signup": "date", "team": "text"},
    )
    folder = write_canonical(ds, tmp_path / "out", compress_events=True)
    assert (folder / "email_events.csv.gz").exists()
    again, _ = read_canonical(folder)
    # Tags come back in the writer's order (sorted per contact).
    assert_same(ds.replace(contact_tags=ds.contact_tags.iloc[::-1]), again)


def _as_written(ds: Dataset) -> Dataset:
    """What the canonical writer keeps: whole seconds, and each contact's tags sorted."""
    def seconds(frame: pd.DataFrame) -> pd.DataFrame:
        times = frame.select_dtypes("datetime").columns
        return frame.assign(**{column: frame[column].dt.floor("s") for column in times})

    position = pd.Series(range(ds.n_contacts), index=ds.contacts["contact_id"])
    tags = ds.contact_tags.assign(_at=ds.contact_tags["contact_id"].map(position))
    changes = {table: seconds(getattr(ds, table)) for table in TABLES if table != "contact_tags"}
    return ds.replace(contact_tags=tags.sort_values(["_at", "tag"]).drop(columns="_at"), **changes)


def test_round_trip_of_sample_workspace(sample_dataset, tmp_path):
    folder = write_canonical(sample_dataset, tmp_path / "sample", compress_events=True)
    again, report = read_canonical(folder)
    assert report.ok
    assert_same(_as_written(sample_dataset), again)


def test_only_contacts_is_required(tmp_path):
    shutil.copy(FIXTURE / "contacts.csv", tmp_path / "contacts.csv")
    ds, report = read_canonical(tmp_path)
    assert report.ok and ds.n_contacts == 4 and ds.email_events.empty


def test_missing_contacts_file(tmp_path):
    shutil.copy(FIXTURE / "lists.csv", tmp_path / "lists.csv")
    with pytest.raises(DataError, match=r"no contacts.csv.*found: lists.csv"):
        read_canonical(tmp_path)


def test_missing_required_column_names_file_and_column(folder):
    _edit(folder / "email_events.csv", "event_type", "kind")
    with pytest.raises(DataError, match=r"email_events.csv: missing required column 'event_type' "
                                        r"\(found: contact_id, campaign_id, kind, occurred_at\)"):
        read_canonical(folder)


def test_bad_rows_reported_and_others_kept(folder):
    _edit(folder / "contacts.csv", "4,dan@example.com", "4x,dan@example.com")
    _edit(folder / "contacts.csv", "2026-02-01T15:00:00,unsub", "someday,unsub")
    _edit(folder / "contacts.csv", "bounced", "gone")
    _edit(folder / "email_events.csv", "1,2,click", "1,2,clack")
    _edit(folder / "email_events.csv", "1,2,open,2026-11-24T10:15:00", "1,2,open,")
    _edit(folder / "orders.csv", "A-1002,3", "A-1002,99")
    ds, report = read_canonical(folder)
    issues = {(issue.file, issue.row, issue.column): issue for issue in report.issues}
    assert set(issues) == {
        ("contacts.csv", 3, "date_added"), ("contacts.csv", 4, "email_status"),
        ("contacts.csv", 5, "contact_id"),
        ("email_events.csv", 8, "occurred_at"), ("email_events.csv", 9, "event_type"),
        ("email_events.csv", 4, "contact_id"),  # contact 4 was skipped, so its events go too
        ("email_events.csv", 7, "contact_id"),
        ("orders.csv", 3, "contact_id"),
        # an unknown status skips its contact (never mailed as subscribed by default)
        ("list_memberships.csv", 5, "contact_id"),
    }
    assert issues["contacts.csv", 4, "email_status"].value == "gone"
    assert "left blank" in issues["contacts.csv", 3, "date_added"].reason
    assert "expected one of: send, open, click" in issues["email_events.csv", 9, "event_type"].reason
    assert ds.n_contacts == 2
    bob = ds.contacts.set_index("email").loc["bob@example.com"]
    assert pd.isna(bob["date_added"]) and bob["email_status"] == "unsubscribed"
    assert len(ds.email_events) == 5 and len(ds.orders) == 1
    assert "contacts.csv: 2 of 4 rows skipped (see the problems)" in report.notes


def test_duplicate_ids_and_unknown_lists(folder):
    _edit(folder / "contacts.csv", "4,dan@example.com", "3,dan@example.com")
    _edit(folder / "list_memberships.csv", "2,3,\n", "2,3,\n7,1,\n")
    ds, report = read_canonical(folder)
    assert [(i.file, i.row, i.column) for i in report.issues] == [
        ("contacts.csv", 5, "contact_id"),
        ("list_memberships.csv", 6, "list_id"),
        ("email_events.csv", 4, "contact_id"), ("email_events.csv", 7, "contact_id"),
    ]
    assert "repeats an earlier row" in report.issues[0].reason
    assert ds.contacts["email"].tolist() == [
        "ann@example.com", "bob@example.com", "carla@example.com"]


def test_duplicate_emails_merge_and_references_follow(folder):
    with (folder / "contacts.csv").open("a", encoding="utf-8") as handle:
        handle.write("9, BOB@example.com ,Robert,,2025-12-01T00:00:00,bounced,vip,,,\n")
    with (folder / "email_events.csv").open("a", encoding="utf-8") as handle:
        handle.write("9,2,open,2026-11-24T11:00:00\n")
    ds, report = read_canonical(folder)
    assert report.ok and ds.n_contacts == 4
    bob = ds.contacts.set_index("email").loc["bob@example.com"]
    assert bob["contact_id"] == 2 and bob["first_name"] == "Robert" and bob["last_name"] == "Stone"
    assert bob["date_added"] == pd.Timestamp("2025-12-01") and bob["email_status"] == "bounced"
    assert bob["plan"] == "silver"  # a blank never erases
    assert (2, "vip") in set(ds.contact_tags.itertuples(index=False, name=None))
    assert ((ds.email_events["contact_id"] == 2) & (ds.email_events["event_type"] == "open")).any()
    assert any("repeat an email" in note for note in report.notes)


def test_headers_matched_ignoring_case(folder):
    _edit(folder / "lists.csv", "list_id,name", " List_ID , NAME ")
    ds, report = read_canonical(folder)
    assert report.ok and ds.lists["name"].tolist() == ["Newsletter", "Deals"]
