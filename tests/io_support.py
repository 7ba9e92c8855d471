"""Helpers the importer tests share: a contact, who had an event, the problems reported."""

from __future__ import annotations

import pandas as pd

from engagekit.data.dataset import Dataset
from engagekit.errors import ImportReport


def contact(ds: Dataset, email: str) -> pd.Series:
    """The contact row with ``email``."""
    return ds.contacts.set_index("email").loc[email]


def who(ds: Dataset, campaign: str, event_type: str) -> list[str]:
    """Sorted emails of the events of one type in the campaign named ``campaign`` (repeats kept)."""
    campaign_id = ds.campaigns.set_index("name").loc[campaign, "campaign_id"]
    events = ds.email_events
    chosen = events[(events["campaign_id"] == campaign_id) & (events["event_type"] == event_type)]
    return sorted(chosen["contact_id"].map(ds.contacts.set_index("contact_id")["email"]))


def problems(report: ImportReport) -> list[tuple]:
    """Each reported problem as (file, row, column, value)."""
    return [(issue.file, issue.row, issue.column, issue.value) for issue in report.issues]
