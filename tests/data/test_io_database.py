"""Import from another database through a column mapping."""

import json

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engagekit.cli import app
from engagekit.data.io.database import read_database
from engagekit.errors import DataError

MAPPING = {
    "contacts": {"table": "people", "columns": {
        "contact_id": "id", "email": "mail", "first_name": "given", "last_name": "family",
        "date_added": "created", "email_status": "state", "tags": "labels"},
        "custom_fields": {"town": "city"}},
    "campaigns": {"table": "mailings", "columns": {"campaign_id": "id", "name": "subject", "sent_at": "sent"}},
    "email_events": {"table": "activity", "columns": {
        "contact_id": "person", "campaign_id": "mailing", "event_type": "kind", "occurred_at": "at"}},
}


@pytest.fixture
def source(tmp_path):
    url = f"sqlite:///{tmp_path}/crm.db"
    engine = sa.create_engine(url)
    people = pd.DataFrame({
        "id": [1, 2, 3, 4], "mail": [" Ann@Example.com", "bob@example.com", "not-an-email", "ann@example.com"],
        "given": ["Ann", "Bob", "X", None], "family": ["Lee", "Ray", "Y", "Lee"],
        "created": pd.to_datetime(["2026-01-05", "2026-02-01", "2026-02-02", "2025-12-01"]),
        "state": ["subscribed", "unsubscribed", "subscribed", "subscribed"],
        "labels": ["vip;news", "", None, "events"], "city": ["Oslo", "Rome", None, None],
    })
    mailings = pd.DataFrame({"id": [10, 11], "subject": ["Hello", "Sale"],
                             "sent": pd.to_datetime(["2026-11-01", "2026-11-10"])})
    activity = pd.DataFrame({"person": [1, 1, 2, 9], "mailing": [10, 10, 11, 10],
                             "kind": ["send", "open", "send", "send"],
                             "at": pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-10", "2026-11-01"])})
    for name, frame in {"people": people, "mailings": mailings, "activity": activity}.items():
        frame.to_sql(name, engine, index=False)
    return url


def test_mapped_tables_import_with_row_reports(source):
    dataset, report = read_database(source, MAPPING)
    contacts = dataset.contacts.set_index("email")
    assert sorted(contacts.index) == ["ann@example.com", "bob@example.com"]
    # duplicate email rows merge: earliest date added, tags unioned
    assert contacts.loc["ann@example.com", "date_added"] == pd.Timestamp("2025-12-01")
    assert set(dataset.contact_tags["tag"]) == {"vip", "news", "events"}
    assert dataset.custom_fields == {"town": "text"}
    assert len(dataset.email_events) == 3
    problems = {(issue.file, issue.row, issue.column) for issue in report.issues}
    assert ("people", 4, "email") in problems
    assert ("activity", 5, "contact_id") in problems


@pytest.mark.parametrize("change, message", [
    (lambda m: m["contacts"].update(table="nobody"), "no table 'nobody'"),
    (lambda m: m["contacts"]["columns"].update(email="mailbox"), "no column(s) mailbox"),
    (lambda m: m["contacts"]["columns"].update(shoe_size="x"), "unknown column(s) shoe_size"),
    (lambda m: m.pop("contacts"), "contacts"),
])
def test_bad_mappings_say_what_and_where(source, change, message):
    mapping = json.loads(json.dumps(MAPPING))
    change(mapping)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_database(source, mapping)


def test_cli_imports_from_a_database(source, tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING))
    result = CliRunner().invoke(app, ["import", "--from-database", source, "--mapping", str(mapping),
                                      "-w", f"sqlite:///{tmp_path}/ws.db"])
    assert result.exit_code == 0, result.output
    assert "2 contacts" in result.output


def test_connection_problems_are_clear_and_hide_passwords(tmp_path):
    with pytest.raises(DataError, match="no SQLite database file"):
        read_database(f"sqlite:///{tmp_path}/typo.db", MAPPING)
    assert not (tmp_path / "typo.db").exists()
    with pytest.raises(DataError) as caught:
        read_database("postgresql+psycopg://reader:s3cret@127.0.0.1:1/crm", MAPPING)
    assert "s3cret" not in str(caught.value)
    assert "cannot read database" in str(caught.value)


def test_contacts_without_a_status_are_subscribed(source, tmp_path):
    from engagekit.workspace import Workspace

    mapping = json.loads(json.dumps(MAPPING))
    del mapping["contacts"]["columns"]["email_status"]
    dataset, _ = read_database(source, mapping)
    assert set(dataset.contacts["email_status"]) == {"subscribed"}
    assert Workspace.open(f"sqlite:///{tmp_path}/ws.db").import_dataset(dataset).counts["contacts"] == 2
