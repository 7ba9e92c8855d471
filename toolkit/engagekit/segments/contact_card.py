"""Everything about one contact: profile, activity timeline, lists, tags and segments.

The timeline holds every email event and order up to the as-of time, newest first, with the
campaign's name; later events are left out, as everywhere else, so the card agrees with the levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engagekit.config import EngagementConfig
from engagekit.data.dataset import Dataset
from engagekit.data.schema import EventType
from engagekit.engagement.features import last_engagement_ever_of
from engagekit.segments.store import Segment

EVENT_LABELS: dict[str, str] = {
    EventType.SEND.value: "Sent",
    EventType.OPEN.value: "Opened",
    EventType.CLICK.value: "Clicked",
    EventType.BOUNCE.value: "Bounced",
    EventType.UNSUBSCRIBE.value: "Unsubscribed",
    "order": "Ordered",
}


@dataclass(frozen=True)
class ContactCard:
    """One contact as of a time.

    Attributes
    ----------
    contact_id : int
    profile : dict
        The contact's row: email, names, date added, status and custom fields.
    tags, lists, segments : list of str
        Its tags, the names of its lists, and the segments it is in now (by name).
    timeline : pandas.DataFrame
        ``at``, ``what`` (Sent, Opened, Clicked, Bounced, Unsubscribed, Ordered), ``campaign``,
        ``amount`` (orders), newest first, up to the as-of time.
    last_engaged_at : pandas.Timestamp or None
        Its last counted open or click ever (up to the as-of time), whatever the window.
    """

    contact_id: int
    profile: dict
    tags: list[str]
    lists: list[str]
    segments: list[str]
    timeline: pd.DataFrame
    last_engaged_at: pd.Timestamp | None


def contact_card(dataset: Dataset, contact_id: int, *, as_of: pd.Timestamp,
                 segments: Sequence[Segment], member_of,
                 config: EngagementConfig | None = None) -> ContactCard:
    """The card of ``contact_id``; ``member_of(segment)`` says whether it is in a segment. Its
    last engagement counts the opens and clicks ``config`` counts, as the levels do.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> data = generate_sample(200, seed=3)
    >>> card = contact_card(data, 1, as_of=pd.Timestamp("2026-11-30"), segments=[], member_of=None)
    >>> list(card.timeline.columns)
    ['at', 'what', 'campaign', 'amount']
    """
    contacts = dataset.contacts.set_index("contact_id", drop=False)
    profile = contacts.loc[contact_id].to_dict()
    tags = sorted(dataset.contact_tags.loc[dataset.contact_tags["contact_id"] == contact_id, "tag"])
    in_lists = dataset.list_memberships.loc[dataset.list_memberships["contact_id"] == contact_id, "list_id"]
    lists = sorted(dataset.lists.loc[dataset.lists["list_id"].isin(in_lists), "name"], key=str.casefold)

    events = dataset.email_events
    mine = events[(events["contact_id"] == contact_id) & (events["occurred_at"] <= as_of)]
    names = dataset.campaigns.set_index("campaign_id")["name"]
    emails = pd.DataFrame({
        "at": mine["occurred_at"].to_numpy(),
        "what": mine["event_type"].map(EVENT_LABELS).to_numpy(),
        "campaign": mine["campaign_id"].map(names).to_numpy(),
        "amount": np.nan,
    })
    orders = dataset.orders
    bought = orders[(orders["contact_id"] == contact_id) & (orders["ordered_at"] <= as_of)]
    purchases = pd.DataFrame({"at": bought["ordered_at"].to_numpy(), "what": EVENT_LABELS["order"],
                              "campaign": None, "amount": bought["amount"].to_numpy()})
    timeline = pd.concat([frame for frame in (emails, purchases) if len(frame)] or [emails],
                         ignore_index=True)
    timeline = timeline.sort_values("at", ascending=False, kind="stable").reset_index(drop=True)
    ever = last_engagement_ever_of(dataset, as_of=as_of, config=config or EngagementConfig())
    last = ever.loc[ever["contact_id"] == contact_id, "last_engagement_ever_at"].iloc[0]
    return ContactCard(
        contact_id=int(contact_id), profile=profile, tags=tags, lists=lists,
        segments=[segment.name for segment in segments if member_of(segment)],
        timeline=timeline, last_engaged_at=None if pd.isna(last) else pd.Timestamp(last),
    )


__all__ = ["EVENT_LABELS", "ContactCard", "contact_card"]
