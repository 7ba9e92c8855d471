"""Merging datasets by email identity."""

from __future__ import annotations

import pandas as pd

from engagekit.data.dataset import Dataset
from engagekit.data.io.merge import merge_datasets


def dataset(contacts, **tables):
    columns = ["contact_id", "email", "first_name", "last_name", "date_added", "email_status"]
    frame = pd.DataFrame([row[:6] for row in contacts], columns=columns)
    custom = tables.pop("custom", {})
    for position, (name, _) in enumerate(custom.items()):
        frame[name] = [row[6 + position] for row in contacts]
    frames = {name: pd.DataFrame(rows, columns=_COLUMNS[name]) for name, rows in tables.items()}
    return Dataset.from_frames(contacts=frame, custom_fields=custom, **frames)


_COLUMNS = {
    "contact_tags": ["contact_id", "tag"],
    "lists": ["list_id", "name"],
    "list_memberships": ["list_id", "contact_id", "added_at"],
    "campaigns": ["campaign_id", "name", "sent_at"],
    "email_events": ["contact_id", "campaign_id", "event_type", "occurred_at"],
    "orders": ["order_id", "contact_id", "ordered_at", "amount"],
}

BASE = dataset(
    [(5, "ann@example.com", "Ann", "Lee", "2026-02-01", "subscribed", "gold"),
     (8, "bob@example.com", "Bob", None, "2026-01-01", "bounced", None)],
    custom={"plan": "text"},
    contact_tags=[(5, "vip")],
    lists=[(1, "Newsletter")],
    list_memberships=[(1, 5, "2026-02-01")],
    campaigns=[(3, "Launch", "2026-03-01 09:00")],
    email_events=[(5, 3, "send", "2026-03-01 09:00"), (5, 3, "open", "2026-03-01 10:00")],
    orders=[("A1", 5, "2026-03-02", 10.0)],
)
INCOMING = dataset(
    [(1, "ann@example.com", "Annie", None, "2026-01-15", "unsubscribed", 3.0),
     (2, "bob@example.com", "Robert", "Moss", "2025-12-01", "subscribed", None),
     (3, "cy@example.com", "Cy", None, None, "subscribed", 1.0)],
    custom={"plan": "number"},
    contact_tags=[(1, "vip"), (1, "new"), (3, "new")],
    lists=[(1, "NEWSLETTER"), (2, "Deals")],
    list_memberships=[(1, 1, "2026-01-10"), (2, 3, None)],
    campaigns=[(1, "launch", "2026-03-01 09:00"), (2, "Launch", "2026-04-01 09:00")],
    email_events=[(1, 1, "send", "2026-03-01 09:00"), (1, 1, "click", "2026-03-01 10:05"),
                  (3, 2, "send", "2026-04-01 09:00")],
    orders=[("A1", 1, "2026-03-02", 12.0), ("B2", 3, "2026-04-02", 5.0)],
)


def test_contacts_merge_by_email():
    merged = merge_datasets(BASE, INCOMING)
    contacts = merged.contacts.set_index("email")
    assert contacts["contact_id"].to_dict() == {
        "ann@example.com": 5, "bob@example.com": 8, "cy@example.com": 9}
    ann, bob = contacts.loc["ann@example.com"], contacts.loc["bob@example.com"]
    assert (ann["first_name"], ann["last_name"]) == ("Annie", "Lee")
    assert ann["date_added"] == pd.Timestamp("2026-01-15")
    assert ann["email_status"] == "unsubscribed"
    assert bob["email_status"] == "bounced"  # bounced outranks a later "subscribed"
    assert bob["last_name"] == "Moss" and bob["date_added"] == pd.Timestamp("2025-12-01")


def test_custom_field_types_that_differ_become_text():
    merged = merge_datasets(BASE, INCOMING)
    assert merged.custom_fields == {"plan": "text"}
    plans = merged.contacts["plan"]
    assert plans[[0, 2]].tolist() == ["3", "1"] and pd.isna(plans[1])  # ann's 3 replaced "gold"


def test_tags_lists_and_memberships_union():
    merged = merge_datasets(BASE, INCOMING)
    assert merged.lists.values.tolist() == [[1, "Newsletter"], [2, "Deals"]]
    assert sorted(merged.contact_tags.itertuples(index=False, name=None)) == [
        (5, "new"), (5, "vip"), (9, "new")]
    memberships = merged.list_memberships.set_index(["list_id", "contact_id"])["added_at"]
    assert len(memberships) == 2 and pd.isna(memberships[(2, 9)])
    assert memberships[(1, 5)] == pd.Timestamp("2026-01-10")  # the earliest "added at"


def test_campaigns_events_and_orders():
    merged = merge_datasets(BASE, INCOMING)
    assert merged.campaigns[["campaign_id", "name"]].values.tolist() == [
        [3, "Launch"], [4, "Launch"]]  # same name, another sent time: another campaign
    events = set(merged.email_events[["contact_id", "campaign_id", "event_type", "occurred_at"]]
                 .itertuples(index=False, name=None))
    assert len(merged.email_events) == 4  # the repeated send is kept once
    assert (5, 3, "click", pd.Timestamp("2026-03-01 10:05")) in events
    assert (9, 4, "send", pd.Timestamp("2026-04-01 09:00")) in events
    orders = merged.orders.set_index("order_id")
    assert orders["amount"].to_dict() == {"A1": 12.0, "B2": 5.0}  # the later A1 wins
    assert orders["contact_id"].to_dict() == {"A1": 5, "B2": 9}


def test_merging_into_empty_and_with_itself():
    empty = dataset([])
    assert merge_datasets(empty, BASE).contacts["email"].tolist() == [
        "ann@example.com", "bob@example.com"]
    again = merge_datasets(BASE, BASE)
    for table in ("contacts", "contact_tags", "lists", "list_memberships", "campaigns",
                  "email_events", "orders"):
        pd.testing.assert_frame_equal(getattr(again, table), getattr(BASE, table), obj=table)
