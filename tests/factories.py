"""Small hand-made datasets for tests."""

from __future__ import annotations

import pandas as pd

from engagekit.data.dataset import Dataset


def tiny_dataset(campaigns: dict[int, str], events: list[tuple[int, int, str, str]],
                 n_contacts: int = 3, **tables: pd.DataFrame) -> Dataset:
    """Contacts 1..n_contacts, the given campaigns {id: sent_at} and events (contact, campaign, type, time)."""
    contacts = pd.DataFrame({
        "contact_id": range(1, n_contacts + 1),
        "email": [f"c{i}@example.com" for i in range(1, n_contacts + 1)],
        "first_name": [f"First{i}" for i in range(1, n_contacts + 1)],
        "last_name": [f"Last{i}" for i in range(1, n_contacts + 1)],
        "date_added": ["2025-01-01"] * n_contacts,
        "email_status": ["subscribed"] * n_contacts,
    })
    return Dataset.from_frames(
        contacts=contacts,
        campaigns=pd.DataFrame({"campaign_id": list(campaigns), "name": [f"Campaign {c}" for c in campaigns],
                                "sent_at": list(campaigns.values())}),
        email_events=pd.DataFrame(events, columns=["contact_id", "campaign_id", "event_type", "occurred_at"]),
        **tables,
    )


# The segment both the builder's widget test and the browser test build by hand: one AND group and
# one OR group.
AND_OR_SEGMENT = {"version": 1, "criteria": {"type": "and", "group": [
    {"type": "and", "group": [
        {"source": "engagement", "field": "current_level", "op": "is",
         "value": ["least_engaged", "somewhat_engaged"]},
        {"source": "contact", "field": "email_status", "op": "is", "value": ["subscribed"]}]},
    {"type": "or", "group": [
        {"source": "tags", "field": "tags", "op": "has_any", "value": ["newsletter"]},
        {"source": "metrics", "field": "open_rate", "op": "gte", "value": 0.5}]}]}}
