"""Small hand-made datasets for tests."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd

from engagekit.data.activity import ActivityIndex
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


def assert_same_index(grown: ActivityIndex, built: ActivityIndex) -> None:
    """Every array of two indexes equal, in type and value (the event keys as multisets)."""
    for item in fields(built):
        a, b = getattr(grown, item.name), getattr(built, item.name)
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype, item.name
            if item.name in ("engagement_key", "click_key"):
                a, b = np.sort(a), np.sort(b)
            np.testing.assert_array_equal(a, b, err_msg=item.name)
        else:
            assert a == b, item.name
