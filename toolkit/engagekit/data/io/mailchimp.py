"""Read Mailchimp exports: the audience export and granular campaign activity.

Audience export
    Three files, ``subscribed_*.csv``, ``unsubscribed_*.csv`` and ``cleaned_*.csv``, with the header
    ``Email Address, First Name, Last Name, <merge fields>, MEMBER_RATING, OPTIN_TIME, OPTIN_IP,
    CONFIRM_TIME, CONFIRM_IP, LATITUDE, LONGITUDE, GMTOFF, DSTOFF, TIMEZONE, CC, REGION,
    LAST_CHANGED, LEID, EUID, NOTES, TAGS``; the unsubscribed file adds ``UNSUB_TIME,
    UNSUB_CAMPAIGN_TITLE, UNSUB_CAMPAIGN_ID, UNSUB_REASON, UNSUB_REASON_OTHER`` and the cleaned
    file ``CLEAN_TIME, CLEAN_CAMPAIGN_TITLE, CLEAN_CAMPAIGN_ID``.
Status
    Comes from the file: a file with ``CLEAN_TIME`` is the cleaned one (*bounced*), one with
    ``UNSUB_TIME`` the unsubscribed one; failing both, a file name starting ``cleaned`` or
    ``unsubscribed``; otherwise *subscribed*.
Fields
    Date added is ``OPTIN_TIME``, else ``CONFIRM_TIME``, else ``LAST_CHANGED``. ``TAGS`` reads
    ``"vip","newsletter"``. ``MEMBER_RATING`` becomes the number field ``member_rating``. Merge
    fields (``Address``, ``Phone Number``, ``Birthday``, ``Company``, ...) become custom fields in
    snake case; the other system columns are dropped.
Unsubscribes and bounces
    An unsubscribed (cleaned) member whose ``UNSUB_CAMPAIGN_TITLE`` (``CLEAN_CAMPAIGN_TITLE``) names
    a campaign of the activity files gets an ``unsubscribe`` (``bounce``) event at ``UNSUB_TIME``
    (``CLEAN_TIME``).
Activity
    ``opens/<campaign>.csv`` with ``Timestamp, Email`` and ``clicks/<campaign>.csv`` with
    ``Timestamp, Email, Url``, one row per open or click; optionally ``sent/<campaign>.csv`` with
    ``Email[, Timestamp]`` lists the recipients. The campaign is named by the file and dated and
    given sends by the rules of :mod:`engagekit.data.io.records` (synthesised sends are marked
    ``synthesised``). Times are UTC, as Mailchimp writes them. A click's ``Url`` becomes its
    ``link``. The exports carry no user agent, address or machine flag (Mailchimp leaves Apple
    Privacy Protection opens out of its own reports but does not mark them in the export), so
    opens and clicks are judged by the classifier's time rules alone (:mod:`engagekit.data.machine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from engagekit.data.dataset import Dataset
from engagekit.data.io.merge import STATUS_PRECEDENCE
from engagekit.data.io.reading import PathLike, SourceFile, display_names, split_quoted
from engagekit.data.io.records import (
    LEFT_AT,
    ContactRows,
    activity_events,
    build_dataset,
    campaign_name,
    contact_rows,
)
from engagekit.data.schema import EmailStatus, EventType
from engagekit.errors import DataError, ImportReport

EMAIL = "Email Address"
ACTIVITY_EMAIL = ("Email", "Email Address")
TIMESTAMP = "Timestamp"
URL = "Url"
SYSTEM_COLUMNS = (
    "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP", "LATITUDE",
    "LONGITUDE", "GMTOFF", "DSTOFF", "TIMEZONE", "CC", "REGION", "LAST_CHANGED", "LEID", "EUID",
    "NOTES", "TAGS", "UNSUB_TIME", "UNSUB_CAMPAIGN_TITLE", "UNSUB_CAMPAIGN_ID", "UNSUB_REASON",
    "UNSUB_REASON_OTHER", "CLEAN_TIME", "CLEAN_CAMPAIGN_TITLE", "CLEAN_CAMPAIGN_ID",
)
# Status -> (time it took effect, campaign it came from, event it makes).
_LEAVING = {
    EmailStatus.UNSUBSCRIBED: ("UNSUB_TIME", "UNSUB_CAMPAIGN_TITLE", EventType.UNSUBSCRIBE),
    EmailStatus.BOUNCED: ("CLEAN_TIME", "CLEAN_CAMPAIGN_TITLE", EventType.BOUNCE),
}


def audience_status(source: SourceFile) -> str:
    """The status of every member of an audience export file (see the module rules)."""
    for status, (time_column, _, _) in _LEAVING.items():
        if source.has(time_column):
            return status.value
    name = source.path.name.casefold()
    if name.startswith("unsubscribed"):
        return EmailStatus.UNSUBSCRIBED.value
    if name.startswith("cleaned"):
        return EmailStatus.BOUNCED.value
    return EmailStatus.SUBSCRIBED.value


def _audience(source: SourceFile) -> tuple[ContactRows, pd.DataFrame]:
    """Contact rows of an audience file, and its unsubscribe or bounce events by campaign title."""
    status = audience_status(source)
    date_added = source.times("OPTIN_TIME")
    for fallback in ("CONFIRM_TIME", "LAST_CHANGED"):
        date_added = date_added.fillna(source.times(fallback))
    time_column, campaign_column, event_type = _LEAVING.get(status, (None, None, None))
    left_at = source.times(time_column) if time_column else pd.Series(pd.NaT, index=date_added.index)
    columns = {
        "email": source.emails(EMAIL),
        "first_name": source.text("First Name"),
        "last_name": source.text("Last Name"),
        "date_added": date_added,
        "email_status": status,
        LEFT_AT: left_at,
    }
    if source.has("MEMBER_RATING"):
        columns["member_rating"] = source.numbers("MEMBER_RATING")
    rows = contact_rows(
        source,
        columns,
        known=[EMAIL, "First Name", "Last Name", *SYSTEM_COLUMNS],
        tags=split_quoted(source.text("TAGS")),
        kinds={"member_rating": "number"},
    )
    events = activity_events(source, columns["email"], "", event_type or "", left_at)
    if campaign_column:
        events["campaign"] = source.text(campaign_column)
        events = events[source.ok].dropna(subset=["campaign", "occurred_at"])
    return rows.only(source.ok), events if campaign_column else events.iloc[:0]


def _activity(source: SourceFile, event_type: str) -> tuple[ContactRows, pd.DataFrame]:
    """Contact rows (emails only) and events of one opens, clicks or sent file."""
    emails = source.emails(source.first_of(*ACTIVITY_EMAIL))
    times = source.times(TIMESTAMP, required=event_type != EventType.SEND)
    rows = contact_rows(
        source,
        {"email": emails, "email_status": EmailStatus.SUBSCRIBED.value},
        known=list(source.headers.values()),
        listed=False,
    )
    link = source.text(URL) if event_type == EventType.CLICK else None
    events = activity_events(source, emails, campaign_name(source.path), event_type, times, link)
    return rows.only(source.ok), source.kept(events)


def read_mailchimp(
    audience_files: Sequence[PathLike] = (),
    opens_files: Sequence[PathLike] = (),
    clicks_files: Sequence[PathLike] = (),
    sent_files: Sequence[PathLike] = (),
) -> tuple[Dataset, ImportReport]:
    """Read Mailchimp audience export files and granular activity files.

    Parameters
    ----------
    audience_files
        ``subscribed_*.csv``, ``unsubscribed_*.csv``, ``cleaned_*.csv`` (any of them).
    opens_files, clicks_files
        One file per campaign, named after it (``opens/Spring Sale.csv``).
    sent_files
        Optional recipient lists, one per campaign, named like its activity files.

    Returns
    -------
    Dataset
        Members with their tags and merge fields; campaigns named by their activity files with
        opens, clicks, sends, unsubscribes and bounces.
    ImportReport
        Problems by file, row and column, and notes on what was inferred.

    Raises
    ------
    DataError
        An audience file without ``Email Address``, an activity file without ``Email`` or (opens
        and clicks) ``Timestamp``, or a file that cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "subscribed_members_export.csv").write_text(
    ...     "Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,LAST_CHANGED,TAGS\\n"
    ...     "ann@example.com,Ann,Lee,4,2026-01-05 09:00:00,,vip\\n")
    >>> _ = (folder / "Launch.csv").write_text("Timestamp,Email\\n2026-11-24 10:15:32,ann@example.com\\n")
    >>> ds, report = read_mailchimp([folder / "subscribed_members_export.csv"], [folder / "Launch.csv"])
    >>> sorted(ds.contact_tags["tag"]), ds.custom_fields
    (['vip'], {'member_rating': 'number'})
    >>> sorted(ds.email_events["event_type"])
    ['open', 'send']
    """
    groups = {
        "audience": [Path(path) for path in audience_files],
        EventType.OPEN: [Path(path) for path in opens_files],
        EventType.CLICK: [Path(path) for path in clicks_files],
        EventType.SEND: [Path(path) for path in sent_files],
    }
    labels = display_names([path for paths in groups.values() for path in paths])
    if not labels:
        raise DataError("no Mailchimp file given: pass audience export or activity files")
    report = ImportReport()
    parts: list[ContactRows] = []
    events: list[pd.DataFrame] = []
    leaving: list[pd.DataFrame] = []
    audience = [SourceFile(path, report, label=labels[path]) for path in groups.pop("audience")]
    # Stronger statuses last, so that whatever order files come in, their names and fields win.
    strength = {status: rank for rank, status in enumerate(STATUS_PRECEDENCE)}
    for source in sorted(audience, key=lambda source: strength[audience_status(source)]):
        rows, left = _audience(source)
        parts.append(rows)
        leaving.append(left)
        source.kept(source.rows)
    for event_type, paths in groups.items():
        for path in paths:
            rows, activity = _activity(SourceFile(path, report, label=labels[path]), event_type)
            parts.append(rows)
            events.append(activity)
    events.extend(_known_campaigns_only(leaving, events, report))
    return build_dataset(parts, events, report), report


def _known_campaigns_only(
    leaving: list[pd.DataFrame], events: list[pd.DataFrame], report: ImportReport
) -> list[pd.DataFrame]:
    """Unsubscribe and bounce events of campaigns that have activity files; the others are noted."""
    known = {name.casefold() for frame in events for name in frame["campaign"]}
    kept = []
    for frame in leaving:
        matched = frame["campaign"].str.casefold().isin(known)
        if (~matched).any():
            report.notes.append(
                f"{frame['file'].iloc[0]}: {int((~matched).sum()):,} unsubscribe or bounce "
                "event(s) name a campaign without activity files and are not imported"
            )
        kept.append(frame[matched])
    return kept


def _csv_files(folder: Path, pattern: str) -> list[Path]:
    return sorted({*folder.rglob(f"{pattern}.csv"), *folder.rglob(f"{pattern}.csv.gz")})


def read_mailchimp_folder(folder: PathLike) -> tuple[Dataset, ImportReport]:
    """Read an unzipped Mailchimp export folder.

    Finds ``subscribed*.csv`` (also inside ``members_export*/``), ``unsubscribed*.csv``,
    ``cleaned*.csv``, ``opens/*.csv``, ``clicks/*.csv`` and ``sent/*.csv`` at any depth
    (``.csv.gz`` too) and reads them with :func:`read_mailchimp`.

    Raises
    ------
    DataError
        When the folder does not exist or holds none of these files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    activity = {kind: _csv_files(folder, f"{kind}/*") for kind in ("opens", "clicks", "sent")}
    in_activity = {path for paths in activity.values() for path in paths}
    audience = [
        path
        for pattern in ("subscribed*", "unsubscribed*", "cleaned*")
        for path in _csv_files(folder, pattern)
        if path not in in_activity
    ]
    if not audience and not in_activity:
        raise DataError(
            f"{folder}: no Mailchimp export found (expected subscribed_*.csv, unsubscribed_*.csv, "
            "cleaned_*.csv, opens/*.csv, clicks/*.csv or sent/*.csv)"
        )
    return read_mailchimp(audience, activity["opens"], activity["clicks"], activity["sent"])


__all__ = ["audience_status", "read_mailchimp", "read_mailchimp_folder"]
