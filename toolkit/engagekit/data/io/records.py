"""From export rows to a dataset: the part the Constant Contact and Mailchimp readers share.

Both tools export contacts (one row per contact, perhaps repeated) and per-campaign activity (opens,
clicks) but no list of who was sent each campaign. This module merges contact rows by email (rules
in :mod:`engagekit.data.io.merge`), builds tags and lists, names campaigns, dates them and synthesises
their sends, by these rules:

Contacts
    A contact export is authoritative. An activity row whose email no contact export lists creates
    the contact from the activity file's own columns (email only for Mailchimp, the contact columns
    of a Constant Contact report); such a contact is *subscribed* unless the row says otherwise.
Campaign name
    Given by the caller, else the file's name without its extension and a trailing report word
    (``"Spring Sale - Opens.csv"`` and ``"spring sale_clicks.csv"`` are both campaign
    ``Spring Sale``; names are matched ignoring case, the first spelling is kept).
Sent time
    Given by the caller; else the earliest time of its recipient list (Mailchimp ``sent/`` files);
    else the earliest open or click in its files, which is the latest moment it can have been sent
    (nothing is subtracted: exports do not say how long after sending the first open came).
Sends
    A contact with any activity in a campaign was sent it. Where a recipient list exists, the people
    on it were sent it too. Where none exists, *everyone subscribed at send time is assumed to have
    been sent the campaign*: each contact of a contact export whose date added is unknown or not
    after the sent time, and who is subscribed now or left (unsubscribed, cleaned) after the sent
    time. Contacts known only from activity files get sends only for campaigns they have activity in.
    Synthesised sends are dated at the campaign's sent time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engagekit.data.dataset import Dataset
from engagekit.data.io.merge import collapse_contacts
from engagekit.data.io.reading import SourceFile, field_name, infer_field
from engagekit.data.schema import STANDARD_CONTACT_COLUMNS, TIME_DTYPE, EmailStatus, EventType
from engagekit.errors import ImportReport
from engagekit.timeutil import AsOf, as_timestamp

LEFT_AT = "_left_at"  # when a contact stopped being subscribed, if the export says; not a field
_BLANK_COLUMNS = {
    "first_name": "str",
    "last_name": "str",
    "date_added": TIME_DTYPE,
    "email_status": "str",
    LEFT_AT: TIME_DTYPE,
}
EVENT_COLUMNS = ["email", "campaign", "event_type", "occurred_at", "link", "file"]
_REPORT_SUFFIX = re.compile(
    r"(?:[\s_\-]+(?:opens?|opened|clicks?|clicked|sent|sends|recipients|report|export|activity))+$",
    re.IGNORECASE,
)


@dataclass
class ContactRows:
    """Contact rows read from one file, before rows of the same email merge.

    Attributes
    ----------
    contacts
        Indexed by spreadsheet row: ``email``, the other canonical contact columns except the id,
        ``_left_at`` and custom fields (text, unless ``kinds`` gives their type).
    tags, lists
        One tag (list name) per item, indexed by the row of its contact.
    kinds
        Custom fields whose type the reader knows; the others are inferred from their values.
    listed
        ``True`` for a contact export; ``False`` for an activity file, whose rows only create
        contacts that no contact export lists.
    """

    contacts: pd.DataFrame
    tags: pd.Series = field(default_factory=lambda: pd.Series(dtype="str"))
    lists: pd.Series = field(default_factory=lambda: pd.Series(dtype="str"))
    kinds: dict[str, str] = field(default_factory=dict)
    listed: bool = True

    def only(self, keep: pd.Series) -> ContactRows:
        """The rows where ``keep`` holds (``keep`` indexed like :attr:`contacts`)."""
        rows = keep.index[keep.to_numpy(dtype=bool)]
        return ContactRows(
            self.contacts.loc[rows],
            self.tags[self.tags.index.isin(rows)],
            self.lists[self.lists.index.isin(rows)],
            self.kinds,
            self.listed,
        )


def contact_rows(
    source: SourceFile,
    columns: Mapping[str, pd.Series],
    *,
    known: Iterable[str],
    tags: pd.Series | None = None,
    lists: pd.Series | None = None,
    kinds: Mapping[str, str] | None = None,
    listed: bool = True,
) -> ContactRows:
    """Contact rows from the columns a reader parsed, plus every other column as a custom field.

    Parameters
    ----------
    source
        The file; its columns not in ``known`` become text custom fields named in snake case.
    columns
        Parsed columns by canonical name (``email`` at least); missing ones are left blank.
    known
        Headers the reader has used or chosen to drop.
    """
    frame = pd.DataFrame(dict(columns), index=source.rows.index)
    for column, dtype in _BLANK_COLUMNS.items():
        if column not in frame.columns:
            frame[column] = pd.Series(index=frame.index, dtype=dtype)
    reserved = [*STANDARD_CONTACT_COLUMNS, "tags", *frame.columns]
    for header in source.other_columns(known):
        name = field_name(header, taken=reserved)
        reserved.append(name)
        frame[name] = source.text(header)
    empty = pd.Series(dtype="str")
    return ContactRows(
        frame,
        empty if tags is None else tags,
        empty if lists is None else lists,
        dict(kinds or {}),
        listed,
    )


def activity_events(
    source: SourceFile, emails: pd.Series, campaign: str, event_type: str, times: pd.Series,
    link: pd.Series | None = None,
) -> pd.DataFrame:
    """Event rows of one activity file, in the shape :func:`build_dataset` takes (``link``: the
    clicked link address, when the file has one)."""
    return pd.DataFrame(
        {"email": emails, "campaign": campaign, "event_type": event_type,
         "occurred_at": times, "link": link, "file": source.name},
        index=emails.index,
    )


def campaign_name(path: str | Path) -> str:
    """A campaign's name from its report file's name.

    Examples
    --------
    >>> campaign_name("reports/Spring Sale - Opens.csv"), campaign_name("spring_sale_clicks.csv.gz")
    ('Spring Sale', 'spring_sale')
    """
    stem = campaign_stem(path)
    return _REPORT_SUFFIX.sub("", stem).strip(" _-") or stem


def campaign_stem(path: str | Path) -> str:
    """A file's name without ``.csv`` or ``.csv.gz``."""
    return re.sub(r"(\.csv)?(\.gz)?$", "", Path(path).name, flags=re.IGNORECASE)


def _among(values: pd.Series, pool: pd.Series) -> pd.Series:
    """``values.isin(pool)`` for text; pandas' isin on Arrow strings loops over ``pool`` in Python."""
    return values.astype(object).isin(pool.astype(object).unique())


def _by_email(items: pd.Series, emails: pd.Series, column: str) -> pd.DataFrame:
    items = items[items.index.isin(emails.index)]
    return pd.DataFrame({"email": emails.loc[items.index].to_numpy(), column: items.to_numpy()})


def _combine(parts: Sequence[ContactRows]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """All contact rows, tags and list names, without activity rows of listed emails."""
    listed = pd.concat([part.contacts["email"] for part in parts if part.listed] or [pd.Series()])
    frames, tags, lists = [], [], []
    for part in parts:
        keep = part.contacts["email"].notna()
        if not part.listed:
            keep &= ~_among(part.contacts["email"], listed)
        contacts = part.contacts[keep].assign(_listed=part.listed)
        frames.append(contacts)
        tags.append(_by_email(part.tags, contacts["email"], "tag"))
        lists.append(_by_email(part.lists, contacts["email"], "name"))
    return (
        pd.concat(frames, ignore_index=True),
        pd.concat(tags, ignore_index=True),
        pd.concat(lists, ignore_index=True),
    )


def _typed_custom_fields(rows: pd.DataFrame, parts: Sequence[ContactRows]) -> dict[str, str]:
    """Give every custom field its type, inferring it from all its values across files."""
    given = {name: kind for part in parts for name, kind in part.kinds.items()}
    standard = {*STANDARD_CONTACT_COLUMNS, *_BLANK_COLUMNS, "_listed"}
    kinds = {}
    for column in rows.columns:
        if column in standard:
            continue
        if column in given:
            kinds[column] = given[column]
        else:
            kinds[column], rows[column] = infer_field(rows[column])
    return kinds


def _date_campaigns(
    events: pd.DataFrame, sent_at: Mapping[str, AsOf], report: ImportReport
) -> pd.DataFrame:
    """One row per campaign (name, sent_at, explicit: has a recipient list), ordered by time."""
    key = events["campaign"].str.casefold()
    groups = events.groupby(key, sort=False)
    # Only an open or a click shows the campaign was out; an unsubscribe or a bounce may be dated
    # by the export at any time (Mailchimp's UNSUB_TIME), so it never dates a campaign.
    reactions = events["event_type"].isin([EventType.OPEN, EventType.CLICK])
    campaigns = pd.DataFrame({
        "name": groups["campaign"].first(),
        "earliest": events["occurred_at"].where(reactions).groupby(key, sort=False).min(),
        "files": groups["file"].unique().map(", ".join),
    })
    sends = events[events["event_type"] == EventType.SEND]
    first_send = sends.groupby(sends["campaign"].str.casefold())["occurred_at"].min()
    given = pd.Series(
        {name.casefold(): as_timestamp(time, name=f"sent time of campaign '{name}'")
         for name, time in sent_at.items()},
        dtype=TIME_DTYPE,
    )
    campaigns["explicit"] = _among(campaigns.index.to_series(), sends["campaign"].str.casefold())
    known = given.reindex(campaigns.index).fillna(first_send)
    campaigns["sent_at"] = known.fillna(campaigns["earliest"])
    for name, files, sent, inferred in zip(
        campaigns["name"], campaigns["files"], campaigns["sent_at"], known.isna(), strict=True
    ):
        if pd.isna(sent):
            report.add(files, None, None, f"campaign '{name}' has no sent time and no dated open "
                       "or click; its rows are skipped")
        elif inferred:
            report.notes.append(f"campaign '{name}': sent time not given; taken as its earliest "
                                f"open or click, {sent:%Y-%m-%d %H:%M:%S}")
        elif name.casefold() not in given.index:
            report.notes.append(f"campaign '{name}': sent time taken as the earliest time of its "
                                f"recipient list, {sent:%Y-%m-%d %H:%M:%S}")
    campaigns = campaigns.dropna(subset=["sent_at"]).sort_values(["sent_at", "name"])
    campaigns["campaign_id"] = range(1, len(campaigns) + 1)
    return campaigns


def _sends(contacts: pd.DataFrame, events: pd.DataFrame, campaigns: pd.DataFrame) -> pd.DataFrame:
    """Send events for the recipients the exports do not list (see the module rules)."""
    pairs = [events[["contact_id", "campaign_id"]]]
    subscribed = contacts["email_status"] == EmailStatus.SUBSCRIBED
    for campaign_id, sent in zip(
        campaigns.loc[~campaigns["explicit"], "campaign_id"],
        campaigns.loc[~campaigns["explicit"], "sent_at"],
        strict=True,
    ):
        there = contacts["date_added"].isna() | (contacts["date_added"] <= sent)
        still = subscribed | (contacts[LEFT_AT] > sent)
        chosen = contacts.loc[contacts["_listed"] & there & still, "contact_id"]
        pairs.append(pd.DataFrame({"contact_id": chosen, "campaign_id": campaign_id}))
    recipients = pd.concat(pairs, ignore_index=True).drop_duplicates()
    already = events.loc[events["event_type"] == EventType.SEND, ["contact_id", "campaign_id"]]
    recipients = recipients.merge(already.drop_duplicates(), how="left", indicator=True)
    recipients = recipients[recipients["_merge"] == "left_only"].drop(columns="_merge")
    dated = campaigns[["campaign_id", "sent_at"]].rename(columns={"sent_at": "occurred_at"})
    # Marked, so the data-readiness audit can say which campaigns' audiences are assumed.
    return recipients.merge(dated, on="campaign_id").assign(
        event_type=EventType.SEND.value, synthesised=True)


def _identified(events: pd.DataFrame, campaigns: pd.DataFrame, contact_id: pd.Series) -> pd.DataFrame:
    """Events with contact and campaign ids; recipients listed without a time get the sent time."""
    events = events.assign(
        campaign_id=events["campaign"].str.casefold().map(campaigns["campaign_id"]),
        contact_id=events["email"].map(contact_id),
    )
    events = events.dropna(subset=["campaign_id", "contact_id"]).astype(
        {"campaign_id": "int64", "contact_id": "int64"})
    undated = events["occurred_at"].isna()
    if undated.any():  # mapping through an empty series fails in pandas 3.1: only when needed
        events.loc[undated, "occurred_at"] = events.loc[undated, "campaign_id"].map(
            campaigns.set_index("campaign_id")["sent_at"])
    return events


def build_dataset(
    parts: Sequence[ContactRows],
    events: Sequence[pd.DataFrame],
    report: ImportReport,
    *,
    sent_at: Mapping[str, AsOf] | None = None,
) -> Dataset:
    """Merge contact rows and activity into a dataset (see the module rules).

    Parameters
    ----------
    parts
        Contact rows, contact exports before activity files.
    events
        Activity rows (:data:`EVENT_COLUMNS`); a ``send`` row without a time is dated at its
        campaign's sent time.
    report
        Receives notes on inferred sent times and synthesised sends, and the table counts.
    sent_at
        Known sent times by campaign name.
    """
    rows, tags, lists = _combine(parts)
    rows["contact_id"] = pd.factorize(rows["email"])[0] + 1
    kinds = _typed_custom_fields(rows, parts)
    extra = rows.groupby("email", sort=False).agg(_listed=("_listed", "any"), _left_at=(LEFT_AT, "max"))
    contacts, _ = collapse_contacts(rows[[*STANDARD_CONTACT_COLUMNS, *kinds]])
    contact_id = contacts.set_index("email")["contact_id"]

    list_ids = pd.factorize(lists["name"].str.casefold())[0] + 1
    memberships = pd.DataFrame({
        "list_id": list_ids, "contact_id": lists["email"].map(contact_id), "added_at": pd.NaT,
    }).drop_duplicates()

    no_events = pd.DataFrame({column: pd.Series(dtype="str") for column in EVENT_COLUMNS})
    events = pd.concat([no_events.astype({"occurred_at": TIME_DTYPE}),
                        *(frame[EVENT_COLUMNS] for frame in events)], ignore_index=True)
    campaigns = _date_campaigns(events, sent_at or {}, report)
    events = _identified(events, campaigns, contact_id)
    sends = _sends(contacts.join(extra, on="email"), events, campaigns)
    if len(sends):
        report.notes.append(
            f"{len(sends):,} send event(s) synthesised: exports do not list recipients, so "
            "everyone subscribed at send time is assumed to have been sent each campaign")

    dataset = Dataset.from_frames(
        contacts=contacts,
        contact_tags=tags.assign(contact_id=tags["email"].map(contact_id)).drop_duplicates(
            ["contact_id", "tag"]),
        lists=pd.DataFrame({"list_id": list_ids, "name": lists["name"]}).drop_duplicates("list_id"),
        list_memberships=memberships,
        campaigns=campaigns,
        email_events=pd.concat([events, sends], ignore_index=True).drop_duplicates(
            ["contact_id", "campaign_id", "event_type", "occurred_at"]),
        custom_fields=kinds,
    )
    report.counts = dataset.summary()
    return dataset
