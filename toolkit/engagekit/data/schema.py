"""The canonical data model: table names, columns and their types.

One place says what each table holds; imports produce these frames, the workspace stores them and
every engine reads them.

=================  ===========================================================================
table              columns
=================  ===========================================================================
contacts           contact_id, email, first_name, last_name, date_added, email_status,
                   plus any number of custom fields (text, number or date columns)
contact_tags       contact_id, tag
lists              list_id, name
list_memberships   list_id, contact_id, added_at
campaigns          campaign_id, name, sent_at
email_events       contact_id, campaign_id, event_type, occurred_at; optional: machine,
                   user_agent, ip, link, synthesised
orders             order_id, contact_id, ordered_at, amount
=================  ===========================================================================

Times are naive UTC (``datetime64[us]``); ids are 64-bit integers; ``email`` is the identity of a
contact, trimmed and lower-cased.

The optional event columns say how much an event can be trusted as a person's act (SPEC 2,
confirmed engagement); a source that lacks one leaves it blank:

===============  ===========================================================================
column           meaning
===============  ===========================================================================
machine          the source's own verdict: true for a machine event (Apple Mail Privacy
                 Protection open, bot click), false for a confirmed human one, blank if unknown
user_agent       the user agent that fetched the tracking pixel or followed the link
ip               the address it came from
link             the link address of a click
synthesised      true for a send row made up on import (the export listed no recipients)
===============  ===========================================================================
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

TIME_DTYPE = "datetime64[us]"


class EmailStatus(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


class EventType(StrEnum):
    SEND = "send"
    OPEN = "open"
    CLICK = "click"
    BOUNCE = "bounce"
    UNSUBSCRIBE = "unsubscribe"


EVENT_TYPES: tuple[str, ...] = tuple(EventType)
EMAIL_STATUSES: tuple[str, ...] = tuple(EmailStatus)

# Column name -> kind, for every standard table. Kinds: id, text, time, number, email, status, event,
# flag (true, false or blank).
TABLES: dict[str, dict[str, str]] = {
    "contacts": {
        "contact_id": "id",
        "email": "email",
        "first_name": "text",
        "last_name": "text",
        "date_added": "time",
        "email_status": "status",
    },
    "contact_tags": {"contact_id": "id", "tag": "text"},
    "lists": {"list_id": "id", "name": "text"},
    "list_memberships": {"list_id": "id", "contact_id": "id", "added_at": "time"},
    "campaigns": {"campaign_id": "id", "name": "text", "sent_at": "time"},
    "email_events": {
        "contact_id": "id",
        "campaign_id": "id",
        "event_type": "event",
        "occurred_at": "time",
        "machine": "flag",
        "user_agent": "text",
        "ip": "text",
        "link": "text",
        "synthesised": "flag",
    },
    "orders": {"order_id": "text", "contact_id": "id", "ordered_at": "time", "amount": "number"},
}

# Columns a table may lack altogether: a frame without one gets it blank.
OPTIONAL: dict[str, tuple[str, ...]] = {
    "email_events": ("machine", "user_agent", "ip", "link", "synthesised"),
}

# Text columns held as codes into their distinct values (a pandas categorical): tens of millions
# of events carry a handful of event types, user agents and links, a few bytes each instead of a
# string each.
CODED: dict[str, tuple[str, ...]] = {
    "email_events": ("event_type", "user_agent", "ip", "link"),
}

# Columns a row cannot do without; the others may be blank.
REQUIRED: dict[str, tuple[str, ...]] = {
    "contacts": ("contact_id", "email"),
    "contact_tags": ("contact_id", "tag"),
    "lists": ("list_id", "name"),
    "list_memberships": ("list_id", "contact_id"),
    "campaigns": ("campaign_id", "name", "sent_at"),
    "email_events": ("contact_id", "campaign_id", "event_type", "occurred_at"),
    "orders": ("order_id", "contact_id", "ordered_at", "amount"),
}

STANDARD_CONTACT_COLUMNS: tuple[str, ...] = tuple(TABLES["contacts"])

# Custom field types, inferred on import from the values of the column.
FIELD_TYPES: tuple[str, ...] = ("text", "number", "date")

# Canonical CSV layout: one file per table; contacts.csv carries tags as one ';'-separated column.
CSV_FILES: dict[str, str] = {
    "contacts": "contacts.csv",
    "lists": "lists.csv",
    "list_memberships": "list_memberships.csv",
    "campaigns": "campaigns.csv",
    "email_events": "email_events.csv",
    "orders": "orders.csv",
}
TAG_SEPARATOR = ";"


class Level(StrEnum):
    """Engagement levels, most engaged first."""

    MOST_ENGAGED = "most_engaged"
    SOMEWHAT_ENGAGED = "somewhat_engaged"
    LEAST_ENGAGED = "least_engaged"
    EVERYONE_ELSE = "everyone_else"

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]

    @property
    def rank(self) -> int:
        """Higher is more engaged; *everyone else* (not judged) ranks lowest."""
        return LEVEL_RANKS[self]


LEVELS: tuple[str, ...] = tuple(Level)
LEVEL_LABELS: dict[str, str] = {
    Level.MOST_ENGAGED: "Most engaged",
    Level.SOMEWHAT_ENGAGED: "Somewhat engaged",
    Level.LEAST_ENGAGED: "Least engaged",
    Level.EVERYONE_ELSE: "Everyone else",
}
LEVEL_RANKS: dict[str, int] = {
    Level.MOST_ENGAGED: 3,
    Level.SOMEWHAT_ENGAGED: 2,
    Level.LEAST_ENGAGED: 1,
    Level.EVERYONE_ELSE: 0,
}
"""The one numbering of levels: higher is more engaged; *everyone else* (not judged) is 0."""

_RANK_BY_POSITION = np.array([LEVEL_RANKS[level] for level in LEVELS], dtype=np.int8)
_POSITION_BY_RANK = np.argsort(_RANK_BY_POSITION).astype(np.int8)


def level_ranks(levels: pd.Series | np.ndarray | pd.Categorical) -> np.ndarray:
    """The rank (see :data:`LEVEL_RANKS`) of each level name.

    Examples
    --------
    >>> level_ranks(np.array(["least_engaged", "most_engaged", "everyone_else"])).tolist()
    [1, 3, 0]
    """
    return _RANK_BY_POSITION[pd.Categorical(levels, categories=list(LEVELS)).codes]


def levels_from_ranks(ranks: np.ndarray) -> pd.Categorical:
    """Level names (a categorical, most engaged first) for ranks, without string work.

    Examples
    --------
    >>> list(levels_from_ranks(np.array([0, 3])))
    ['everyone_else', 'most_engaged']
    """
    return pd.Categorical.from_codes(_POSITION_BY_RANK[np.asarray(ranks, dtype=np.int64)],
                                     categories=list(LEVELS))
