"""Merging contacts and whole datasets by email identity.

A contact *is* its email address, trimmed and lower-cased. When two rows or two datasets hold the
same email, they become one contact by these rules, the same everywhere (within one file, across
the files of one import, and when an import is merged into existing data):

==================  ==========================================================================
what                rule
==================  ==========================================================================
contact id          the first one is kept (the base dataset's); new contacts get new ids
                    after the largest existing id
names, custom       the later non-blank value wins: a blank never erases a value
fields
date added          the earliest
email status        bounced > unsubscribed > subscribed: a stop signal from any source is kept,
                    so nobody is emailed again because an older export still lists them
tags                union
list memberships    union; a membership keeps its earliest "added at"
lists               matched by name, ignoring case (the first spelling is kept)
campaigns           matched by name (ignoring case) and sent time
email events        exact duplicates dropped
orders              matched by order id; the later row wins
==================  ==========================================================================

A custom field present on both sides with different types becomes a text field.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engagekit.data.dataset import Dataset, concat_column
from engagekit.data.schema import EmailStatus

STATUS_PRECEDENCE: tuple[str, ...] = (
    EmailStatus.SUBSCRIBED,
    EmailStatus.UNSUBSCRIBED,
    EmailStatus.BOUNCED,
)


def collapse_contacts(contacts: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Merge contact rows that share an email; rows are in order, earlier first.

    Parameters
    ----------
    contacts
        Canonical contact columns (plus custom fields); blanks are missing values.

    Returns
    -------
    contacts
        One row per email, in order of first appearance.
    ids
        For every input ``contact_id``, the id of the contact it became.

    Examples
    --------
    >>> rows = pd.DataFrame({
    ...     "contact_id": [1, 2], "email": ["ann@example.com"] * 2, "first_name": ["Ann", None],
    ...     "last_name": [None, "Lee"], "date_added": pd.to_datetime(["2026-03-01", "2026-01-05"]),
    ...     "email_status": ["unsubscribed", "subscribed"]})
    >>> merged, ids = collapse_contacts(rows)
    >>> merged[["email", "first_name", "last_name", "email_status"]].iloc[0].tolist()
    ['ann@example.com', 'Ann', 'Lee', 'unsubscribed']
    >>> ids.to_dict()
    {1: 1, 2: 1}
    """
    emails = contacts["email"]
    first_id = contacts.groupby(emails, sort=False)["contact_id"].transform("first")
    ids = pd.Series(first_id.to_numpy(), index=contacts["contact_id"].to_numpy())
    ids = ids[~ids.index.duplicated()]
    if not emails.duplicated().any():
        return contacts.reset_index(drop=True), ids
    groups = contacts.groupby("email", sort=False)
    merged = groups.last()  # last() skips missing values: the later non-blank value wins
    merged["contact_id"] = groups["contact_id"].first()
    merged["date_added"] = groups["date_added"].min()
    rank = contacts["email_status"].map({status: n for n, status in enumerate(STATUS_PRECEDENCE)})
    best = rank.groupby(emails, sort=False).max()
    merged["email_status"] = best.map(dict(enumerate(STATUS_PRECEDENCE)))
    return merged.reset_index()[list(contacts.columns)], ids


def _as_text(values: pd.Series, kind: str) -> pd.Series:
    """A custom field's values as text, for a field whose type differs between datasets."""
    if kind == "date":
        text = values.dt.strftime("%Y-%m-%d %H:%M:%S").str.removesuffix(" 00:00:00")
    elif kind == "number":
        text = values.map(lambda number: f"{number:g}", na_action="ignore")
    else:
        return values
    return text.astype("str")


def _align_custom_fields(base: Dataset, incoming: Dataset) -> tuple[dict[str, str], list[pd.DataFrame]]:
    kinds = dict(base.custom_fields)
    for name, kind in incoming.custom_fields.items():
        kinds[name] = kind if kinds.get(name, kind) == kind else "text"
    frames = []
    for dataset in (base, incoming):
        frame = dataset.contacts.copy()
        for name, kind in kinds.items():
            own = dataset.custom_fields.get(name)
            if own is None:
                frame[name] = pd.Series(dtype="str") if kind == "text" else None
            elif own != kind:
                frame[name] = _as_text(frame[name], own)
        frames.append(frame)
    return kinds, frames


def _match_ids(base: pd.Series, incoming: pd.Series, start: int) -> pd.Series:
    """Map incoming ids to base ids by key; unmatched keys get new ids from ``start``.

    Both series hold keys indexed by id.
    """
    known = pd.Series(base.index, index=base.to_numpy())
    ids = incoming.map(known[~known.index.duplicated()])
    new = ids.isna()
    ids[new] = start + pd.factorize(incoming[new])[0]
    return ids.astype("int64")


def _next_id(ids: pd.Series) -> int:
    return int(ids.max()) + 1 if len(ids) else 1


def _campaign_keys(campaigns: pd.DataFrame) -> pd.Series:
    keys = campaigns["name"].str.casefold() + "\x1f" + campaigns["sent_at"].astype("str")
    return keys.set_axis(campaigns["campaign_id"])


def drop_repeated_events(events: pd.DataFrame) -> pd.DataFrame:
    """The events without rows that repeat an earlier one in every column (an export listing an
    open twice). Only rows sharing contact, campaign, type and time are compared in full, so
    millions of distinct events cost one pass over four columns.

    Examples
    --------
    >>> events = pd.DataFrame({"contact_id": [1, 1, 1], "campaign_id": [5, 5, 5],
    ...     "event_type": ["open"] * 3, "occurred_at": pd.to_datetime(["2026-11-02"] * 2 + ["2026-11-03"]),
    ...     "link": [None, None, None]})
    >>> drop_repeated_events(events).index.tolist()
    [0, 2]
    """
    key = ["contact_id", "campaign_id", "event_type", "occurred_at"]
    candidates = _may_repeat(events)
    candidates[candidates] = events[candidates].duplicated(key, keep=False).to_numpy()
    if not candidates.any():
        return events
    repeated = np.zeros(len(events), dtype=bool)
    repeated[candidates] = events[candidates].duplicated().to_numpy()
    return events[~repeated]


_MIXERS = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)


def _may_repeat(events: pd.DataFrame) -> np.ndarray:
    """Rows that may share contact, campaign, type and time with another row (all of those that
    do, and a few that do not): rows sharing a hash of the contact, campaign and time, one
    column of numbers instead of four columns, one of them text. Every row when a column is
    not a column of whole numbers or times."""
    hashed = np.zeros(len(events), dtype=np.uint64)
    for column, mixer in zip(("contact_id", "campaign_id", "occurred_at"), _MIXERS, strict=True):
        values = events[column]
        if pd.api.types.is_datetime64_dtype(values):
            numbers = values.to_numpy().view("int64")
        elif pd.api.types.is_integer_dtype(values):
            numbers = values.to_numpy(dtype="int64", na_value=0)  # missing: one value, as in duplicated
        else:
            return np.ones(len(events), dtype=bool)
        hashed ^= numbers.astype(np.uint64) * np.uint64(mixer)
    # Sorting a column of numbers is many times faster than a hash table of tens of millions.
    ordered = np.sort(hashed)
    shared = ordered[1:][ordered[1:] == ordered[:-1]]
    return pd.Series(hashed).isin(shared).to_numpy(copy=True)


def merge_datasets(base: Dataset, incoming: Dataset) -> Dataset:
    """Merge ``incoming`` into ``base`` by email identity (see the module rules).

    Examples
    --------
    >>> def contacts(email, status, first):
    ...     return Dataset.from_frames(contacts=pd.DataFrame({
    ...         "contact_id": [7], "email": [email], "first_name": [first], "last_name": [None],
    ...         "date_added": ["2026-01-05"], "email_status": [status]}))
    >>> merged = merge_datasets(contacts("ann@example.com", "subscribed", "Ann"),
    ...                         contacts("ann@example.com", "unsubscribed", None))
    >>> merged.contacts[["email", "first_name", "email_status"]].iloc[0].tolist()
    ['ann@example.com', 'Ann', 'unsubscribed']
    """
    kinds, (base_contacts, incoming_contacts) = _align_custom_fields(base, incoming)
    contact_ids = _match_ids(
        base.contacts.set_index("contact_id")["email"],
        incoming.contacts.set_index("contact_id")["email"],
        _next_id(base.contacts["contact_id"]),
    )
    incoming_contacts["contact_id"] = incoming_contacts["contact_id"].map(contact_ids)
    contacts, _ = collapse_contacts(pd.concat([base_contacts, incoming_contacts], ignore_index=True))

    list_ids = _match_ids(
        base.lists.set_index("list_id")["name"].str.casefold(),
        incoming.lists.set_index("list_id")["name"].str.casefold(),
        _next_id(base.lists["list_id"]),
    )
    campaign_ids = _match_ids(
        _campaign_keys(base.campaigns),
        _campaign_keys(incoming.campaigns),
        _next_id(base.campaigns["campaign_id"]),
    )
    remap = {"contact_id": contact_ids, "list_id": list_ids, "campaign_id": campaign_ids}

    def combined(table: str) -> pd.DataFrame:
        theirs = getattr(incoming, table).copy()
        for column, ids in remap.items():
            if column in theirs.columns:
                theirs[column] = theirs[column].map(ids)
        ours = getattr(base, table)
        # column by column, as arrays: both sides' row labels start at 0
        return pd.DataFrame({column: concat_column([ours[column], theirs[column]]).array
                             for column in ours.columns}, copy=False)

    memberships = combined("list_memberships").sort_values("added_at", kind="stable")
    return Dataset.from_frames(
        contacts=contacts,
        contact_tags=combined("contact_tags").drop_duplicates(),
        lists=combined("lists").drop_duplicates("list_id"),
        list_memberships=memberships.drop_duplicates(["list_id", "contact_id"]).sort_index(),
        campaigns=combined("campaigns").drop_duplicates("campaign_id"),
        email_events=drop_repeated_events(combined("email_events")),
        orders=combined("orders").drop_duplicates("order_id", keep="last"),
        custom_fields=kinds,
    )


__all__ = ["STATUS_PRECEDENCE", "collapse_contacts", "drop_repeated_events", "merge_datasets"]
