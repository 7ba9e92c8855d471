"""Read Constant Contact exports: the contact export and campaign opens / clicks reports.

Contact export
    ``Email address, First name, Last name, Email status, ..., Tags, Email Lists, Created At``.
    ``Email address`` is required. ``Tags`` and ``Email Lists`` hold comma-separated names (a list
    or tag whose name contains a comma cannot be told apart). ``Created At`` is the date added.
    Every other column (``Company name``, ``Job title``, ``Phone number``, ``Street address line
    1``, ``City``, ``Source Name``, ``Updated At``, ``Email permission status``, ...) becomes a
    custom field named in snake case (``company_name``), its type inferred from its values.
Email status
    ``Active``, ``Subscribed``, ``Implicit``, ``Explicit``, ``Not set``, ... are *subscribed*;
    ``Unsubscribed``, ``Opted out`` and ``Removed`` (deleted by the account; no longer emailed) are
    *unsubscribed*; ``Bounced`` and ``Non-deliverable`` are *bounced*. A blank status is
    *subscribed*; an unknown one is reported and left blank.
Reports
    One file per campaign and kind: the contact columns plus ``Opened At`` (an opens report) or
    ``Clicked Link Address, Clicked At`` (a clicks report), one row per open or click. The link
    address becomes the click's ``link``. The reports carry no user agent, address or machine
    flag, so their opens and clicks are judged by the classifier's time rules alone
    (:mod:`engagekit.data.machine`). Campaign names, sent times and sends follow
    :mod:`engagekit.data.io.records`; synthesised sends are marked ``synthesised``.
Times
    ISO (``2026-11-24T10:15:00``, ``2026-11-24 10:15:13 -0400``) or US (``11/24/2026 10:15 AM``);
    times without an offset are taken as UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from engagekit.data.dataset import Dataset
from engagekit.data.io.reading import PathLike, SourceFile, display_names, split_cells
from engagekit.data.io.records import (
    ContactRows,
    activity_events,
    build_dataset,
    campaign_name,
    contact_rows,
)
from engagekit.data.schema import EmailStatus, EventType
from engagekit.errors import DataError, ImportReport
from engagekit.timeutil import AsOf

EMAIL = "Email address"
FIRST_NAME = "First name"
LAST_NAME = "Last name"
STATUS = "Email status"
TAGS = "Tags"
LISTS = "Email Lists"
CREATED = "Created At"
OPENED_AT = "Opened At"
CLICKED_AT = "Clicked At"
LINK = "Clicked Link Address"
CONTACT_COLUMNS = (EMAIL, FIRST_NAME, LAST_NAME, STATUS, TAGS, LISTS, CREATED)
REPORT_COLUMNS = {OPENED_AT: EventType.OPEN, CLICKED_AT: EventType.CLICK}

_SUBSCRIBED = ("active", "subscribed", "implicit", "explicit", "implied", "express", "confirmed",
               "pending", "pending confirmation", "not set", "temp hold")
_UNSUBSCRIBED = ("unsubscribed", "opted out", "opt-out", "opt out", "removed", "do not mail")
_BOUNCED = ("bounced", "bounce", "non-deliverable", "undeliverable", "cleaned")
STATUSES: dict[str, str] = {
    **dict.fromkeys(_SUBSCRIBED, EmailStatus.SUBSCRIBED.value),
    **dict.fromkeys(_UNSUBSCRIBED, EmailStatus.UNSUBSCRIBED.value),
    **dict.fromkeys(_BOUNCED, EmailStatus.BOUNCED.value),
}

Campaigns = Mapping[str, "str | tuple[str, AsOf]"]


def _contact_rows(source: SourceFile, *, listed: bool, also_known: Sequence[str] = ()) -> ContactRows:
    columns = {
        "email": source.emails(EMAIL),
        "first_name": source.text(FIRST_NAME),
        "last_name": source.text(LAST_NAME),
        "date_added": source.times(CREATED),
        "email_status": source.choices(STATUS, STATUSES, what="email status",
                                       blank=EmailStatus.SUBSCRIBED.value),
    }
    return contact_rows(
        source,
        columns,
        known=[*CONTACT_COLUMNS, *also_known],
        tags=split_cells(source.text(TAGS), ","),
        lists=split_cells(source.text(LISTS), ","),
        listed=listed,
    )


def _campaign_for(path: Path, campaigns: Campaigns) -> tuple[str, AsOf | None]:
    """The campaign a report belongs to: looked up by path, file name or stem, else its name."""
    wanted = {str(path).casefold(), path.name.casefold(), campaign_name(path).casefold()}
    for key, value in campaigns.items():
        if str(key).casefold() in wanted:
            return (value, None) if isinstance(value, str) else (value[0], value[1])
    return campaign_name(path), None


def report_kind(source: SourceFile) -> str:
    """``"open"`` or ``"click"`` for a Constant Contact report; :class:`DataError` otherwise."""
    kinds = [kind for column, kind in REPORT_COLUMNS.items() if source.has(column)]
    if len(kinds) != 1:
        raise DataError(
            f"{source.name}: not a Constant Contact opens or clicks report: it needs a column "
            f"'{OPENED_AT}' or '{CLICKED_AT}' (found: {', '.join(source.headers.values())})"
        )
    return kinds[0]


def read_constant_contact(
    contacts_file: PathLike | Sequence[PathLike] | None = None,
    activity_files: Sequence[PathLike] = (),
    campaigns: Campaigns | None = None,
) -> tuple[Dataset, ImportReport]:
    """Read a Constant Contact contact export and campaign opens / clicks reports.

    Parameters
    ----------
    contacts_file
        The contact export (or several); optional when reports are given.
    activity_files
        Opens and clicks reports, one campaign each; the opens and the clicks of one campaign
        may be two files (``"Spring Sale - Opens.csv"``, ``"Spring Sale - Clicks.csv"``).
    campaigns
        Optional campaign of each report, keyed by its path, file name or the name its file
        gives: a campaign name, or a ``(name, sent_at)`` pair when the sent time is known.

    Returns
    -------
    Dataset
        Contacts with their tags, lists and custom fields; one campaign per report name with
        its opens, clicks and synthesised sends.
    ImportReport
        Problems by file, row and column, and notes on inferred sent times and sends.

    Raises
    ------
    DataError
        A contact export without ``Email address``, a report without ``Opened At`` or
        ``Clicked At``, or a file that cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "contacts.csv").write_text(
    ...     "Email address,First name,Last name,Email status,Tags,Email Lists,Created At\\n"
    ...     'ann@example.com,Ann,Lee,Active,vip,"News, Deals",11/02/2026 09:00 AM\\n')
    >>> _ = (folder / "Launch - Opens.csv").write_text(
    ...     "Email address,First name,Last name,Opened At\\n"
    ...     "ann@example.com,Ann,Lee,11/24/2026 10:15 AM\\n")
    >>> ds, report = read_constant_contact(folder / "contacts.csv", [folder / "Launch - Opens.csv"])
    >>> ds.lists["name"].tolist(), ds.campaigns["name"].tolist()
    (['News', 'Deals'], ['Launch'])
    >>> sorted(ds.email_events["event_type"])
    ['open', 'send']
    """
    if isinstance(contacts_file, (str, Path)):
        contacts_file = [contacts_file]
    contact_files = [Path(path) for path in contacts_file or ()]
    report_files = [Path(path) for path in activity_files]
    labels = display_names([*contact_files, *report_files])
    report = ImportReport()
    parts: list[ContactRows] = []
    events: list[pd.DataFrame] = []
    sent_at: dict[str, AsOf] = {}
    for path in contact_files:
        source = SourceFile(path, report, label=labels[path])
        rows = _contact_rows(source, listed=True)
        parts.append(rows.only(source.ok))
        source.kept(source.rows)
    for path in report_files:
        source = SourceFile(path, report, label=labels[path])
        kind = report_kind(source)
        name, known_time = _campaign_for(path, campaigns or {})
        if known_time is not None:
            sent_at[name] = known_time
        times = source.times(OPENED_AT if kind == EventType.OPEN else CLICKED_AT, required=True)
        rows = _contact_rows(source, listed=False, also_known=[OPENED_AT, CLICKED_AT, LINK])
        link = source.text(LINK) if kind == EventType.CLICK else None
        frame = activity_events(source, rows.contacts["email"], name, kind, times, link)
        parts.append(rows.only(source.ok))
        events.append(source.kept(frame))
    if not parts:
        raise DataError("no Constant Contact file given: pass a contact export or reports")
    return build_dataset(parts, events, report, sent_at=sent_at), report


__all__ = ["read_constant_contact", "report_kind"]
