"""What a user does with a segment: count it, view its members, export them, add them to a list.

Each function takes an *engine* (:class:`~engagekit.segments.memory_engine.MemoryEngine` or
:class:`~engagekit.segments.sql_engine.SqlEngine`) already built for a reference time, so the
members are evaluated when the function runs: a segment is dynamic and nothing here stores them,
except :func:`add_to_list`, which by design copies today's members into a list.

Member columns
--------------
:func:`members_frame` and the exports can show, per member:

- any contact field: ``contact_id``, ``email``, ``first_name``, ``last_name``, ``date_added``,
  ``email_status`` and every custom field of the workspace;
- ``tags`` and ``lists``: the contact's tags and list names, joined with ``"; "``;
- ``current_level`` and ``previous_level``: engagement levels (as labels such as "Least engaged")
  as of the engine's time and one previous period before it;
- every engagement metric of :data:`engagekit.engagement.features.FEATURE_COLUMNS` (``open_rate``,
  ``days_since_last_engagement``, ``score``...), as of the engine's time, over its window;
- ``last_engagement_ever_at`` and ``days_since_last_engagement_ever``: the last open or click of
  any email up to the engine's time, whatever the window.

Narrow segments
---------------
:func:`narrowness_warning` flags a segment that matches no contact, or *very few*: fewer than
:data:`NARROW_MIN_CONTACTS` contacts or fewer than :data:`NARROW_SHARE` of all contacts, whichever
is larger (a segment matching every contact is never narrow).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Protocol

import numpy as np
import pandas as pd
import sqlalchemy as sa

from engagekit.config import EngagementConfig
from engagekit.data.dataset import Dataset
from engagekit.data.safe_csv import to_safe_csv
from engagekit.data.schema import LEVEL_LABELS, EmailStatus
from engagekit.engagement.features import EVER_COLUMNS, FEATURE_COLUMNS, last_engagement_ever_of
from engagekit.engagement.levels import current_and_previous
from engagekit.errors import DataError, NotFoundError
from engagekit.formats import format_share
from engagekit.segments.catalog import Catalog
from engagekit.segments.memory_engine import MemoryEngine
from engagekit.segments.store import DefinitionLike, Segment, as_definition, sort_key
from engagekit.workspace.lists import AddToListResult
from engagekit.workspace.tables import build_tables
from engagekit.workspace.workspace import Workspace

NARROW_MIN_CONTACTS = 5
"""A segment with fewer members than this (and not every contact) is flagged as narrow."""

NARROW_SHARE = 0.005
"""A segment with fewer members than this share of all contacts (0.5 %) is flagged as narrow."""

DEFAULT_MEMBER_COLUMNS: tuple[str, ...] = (
    "email", "first_name", "last_name", "email_status", "current_level",
)
DEFAULT_EXPORT_FIELDS: tuple[str, ...] = ("email", "first_name", "last_name")
LEVEL_COLUMNS: tuple[str, ...] = ("current_level", "previous_level")
JOINED_COLUMNS: tuple[str, ...] = ("tags", "lists")
JOIN_SEPARATOR = "; "

NOT_SENDABLE: tuple[str, ...] = (EmailStatus.UNSUBSCRIBED, EmailStatus.BOUNCED)
"""Email statuses left out of a send-ready audience."""


class SegmentEngine(Protocol):
    """What the operations need from an engine: its time, its settings and the members."""

    as_of: pd.Timestamp
    config: EngagementConfig | None

    def members(self, definition) -> np.ndarray: ...

    def count(self, definition) -> int: ...


Definition = DefinitionLike | Segment


# -- counting --------------------------------------------------------------------------------
def count(engine: SegmentEngine, definition: Definition) -> int:
    """How many contacts the segment matches as of the engine's time.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.segments.memory_engine import MemoryEngine
    >>> from engagekit.segments.store import PREBUILT
    >>> engine = MemoryEngine(generate_sample(300, seed=1), as_of="2026-11-30")
    >>> sum(count(engine, segment) for segment in PREBUILT)
    300
    """
    return int(engine.count(as_definition(definition)))


def narrow_limit(total_contacts: int) -> int:
    """The member count below which a segment is flagged narrow (see the module notes).

    Examples
    --------
    >>> narrow_limit(300), narrow_limit(10_000)
    (5, 50)
    """
    return max(NARROW_MIN_CONTACTS, math.ceil(NARROW_SHARE * total_contacts))


def narrowness_warning(count: int, total_contacts: int) -> str | None:
    """A warning when a segment matches no contact or very few for the list size, else None.

    Examples
    --------
    >>> narrowness_warning(0, 1000)
    'This segment matches no contacts; its criteria may be too narrow.'
    >>> narrowness_warning(12, 10_000)
    'This segment matches only 12 of 10,000 contacts (0.12%); its criteria may be too narrow.'
    >>> narrowness_warning(60, 10_000) is None
    True
    """
    if total_contacts <= 0:
        return None
    if count == 0:
        return "This segment matches no contacts; its criteria may be too narrow."
    if count >= total_contacts or count >= narrow_limit(total_contacts):
        return None
    share = format_share(count / total_contacts, decimals=None)
    return (
        f"This segment matches only {count:,} of {total_contacts:,} contacts ({share}); "
        "its criteria may be too narrow."
    )


def total_contacts(source: Dataset | Workspace) -> int:
    """How many contacts the data holds; for a workspace, counted in the database without loading.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> total_contacts(generate_sample(50, seed=1))
    50
    """
    if isinstance(source, Dataset):
        return source.n_contacts
    contacts = build_tables().contacts
    with source.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(contacts)).scalar())


# -- the list of segments --------------------------------------------------------------------
SEGMENT_SORTS: dict[str, str] = {
    "kind": "Pre-built first",
    "name": "Name",
    "contacts": "Size (largest first)",
    "updated": "Last changed (newest first)",
}
"""How a list of segments can be ordered, and how a surface names each order."""


def _count_or_reason(engine: SegmentEngine, segment: Segment) -> tuple[int | None, str | None]:
    try:
        return count(engine, segment), None
    except DataError as error:
        return None, str(error)


def segment_overview(
    segments: Sequence[Segment], engine: SegmentEngine, *, total: int, catalog: Catalog | None = None,
    search: str = "", sort: str = "kind",
) -> pd.DataFrame:
    """One row per segment whose name contains ``search`` (any case), in the order ``sort``
    (a key of :data:`SEGMENT_SORTS`): ``name``, ``kind``, ``contacts``, ``share`` of all
    contacts, ``description``, ``updated_at`` (blank for pre-built segments) and ``unavailable``:
    why a segment cannot be counted now (slip risk on a history too short), its count blank.

    Ties of size or date keep the names in order; pre-built segments have no date and come last
    when sorted by it.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.segments.store import PREBUILT
    >>> engine = MemoryEngine(generate_sample(300, seed=1), as_of="2026-11-30")
    >>> table = segment_overview(PREBUILT, engine, total=300, search="ENGAGED", sort="name")
    >>> table["name"].tolist()
    ['Least engaged', 'Most engaged', 'Somewhat engaged']
    """
    if sort not in SEGMENT_SORTS:
        raise NotFoundError(f"Segments can be sorted by {', '.join(SEGMENT_SORTS.values())}.")
    wanted = search.strip().casefold()
    chosen = [segment for segment in segments if wanted in segment.name.casefold()]
    if sort != "kind":
        chosen.sort(key=lambda segment: sort_key(segment.name))
    counted = [_count_or_reason(engine, segment) for segment in chosen]
    counts = [n for n, _ in counted]
    table = pd.DataFrame({
        "name": [segment.name for segment in chosen],
        "kind": [segment.kind for segment in chosen],
        "contacts": pd.array(counts, dtype="Int64"),
        "share": [None if n is None else n / total if total else 0.0 for n in counts],
        "description": [segment.describe(catalog) for segment in chosen],
        "updated_at": pd.to_datetime([segment.updated_at for segment in chosen]),
        "unavailable": [reason or "" for _, reason in counted],
    })
    if sort == "contacts":
        table = table.sort_values("contacts", ascending=False, kind="stable")
    elif sort == "updated":
        table = table.sort_values("updated_at", ascending=False, kind="stable", na_position="last")
    return table.reset_index(drop=True)


# -- members ---------------------------------------------------------------------------------
def member_columns(dataset: Dataset) -> list[str]:
    """Every column :func:`members_frame` can show for ``dataset``.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> "loyalty_points" in member_columns(generate_sample(50, seed=1))
    True
    """
    return [*dataset.contacts.columns, *JOINED_COLUMNS, *LEVEL_COLUMNS, *FEATURE_COLUMNS, *EVER_COLUMNS]


def members_frame(
    dataset: Dataset,
    engine: SegmentEngine,
    definition: Definition,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The segment's members, one row each (by contact id), with the chosen columns.

    Parameters
    ----------
    dataset : Dataset
        The workspace data the engine evaluates (for a SQL engine: ``workspace.load()``).
    engine : MemoryEngine or SqlEngine
    definition : SegmentDefinition, Segment, dict or JSON text
    columns : sequence of str, optional
        Any of :func:`member_columns` (default :data:`DEFAULT_MEMBER_COLUMNS`).

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.segments.memory_engine import MemoryEngine
    >>> from engagekit.segments.store import PREBUILT
    >>> data = generate_sample(300, seed=1)
    >>> frame = members_frame(data, MemoryEngine(data, as_of="2026-11-30"), PREBUILT[0],
    ...                       ["email", "tags", "open_rate"])
    >>> list(frame.columns)
    ['email', 'tags', 'open_rate']
    """
    columns = list(DEFAULT_MEMBER_COLUMNS if columns is None else columns)
    _check_columns(dataset, columns)
    ids = engine.members(as_definition(definition))
    return _member_table(dataset, engine, ids, columns)


def _check_columns(dataset: Dataset, columns: list[str]) -> None:
    known = member_columns(dataset)
    unknown = [column for column in columns if column not in known]
    if unknown:
        raise NotFoundError(
            f"Unknown column(s) {', '.join(repr(c) for c in unknown)}; "
            f"choose from: {', '.join(known)}."
        )
    if not columns:
        raise NotFoundError("Choose at least one column.")


def _member_table(
    dataset: Dataset, engine: SegmentEngine, ids: np.ndarray, columns: list[str]
) -> pd.DataFrame:
    """The chosen columns for contacts ``ids``, in the order of ``ids``."""
    contacts = dataset.contacts.set_index("contact_id", drop=False)
    frame = pd.DataFrame(index=pd.Index(ids, name="contact_id"))
    for column in columns:
        if column in contacts.columns:
            frame[column] = contacts[column].reindex(ids).to_numpy()
    if any(c in JOINED_COLUMNS for c in columns):
        for column, values in _joined(dataset).items():
            if column in columns:
                frame[column] = values.reindex(ids).fillna("").to_numpy()
    if any(c in (*LEVEL_COLUMNS, *FEATURE_COLUMNS) for c in columns):
        engagement = _engagement(dataset, engine)
        for column in columns:
            if column in engagement.columns:
                frame[column] = engagement[column].reindex(ids).to_numpy()
    if any(c in EVER_COLUMNS for c in columns):
        ever = last_engagement_ever_of(dataset, as_of=engine.as_of,
                                       config=engine.config).set_index("contact_id")
        for column in EVER_COLUMNS:
            if column in columns:
                frame[column] = ever[column].reindex(ids).to_numpy()
    return frame[columns].reset_index(drop=True)


def _joined(dataset: Dataset) -> dict[str, pd.Series]:
    """Per contact id: its tags and its list names, sorted and joined."""
    lists = dataset.list_memberships.merge(dataset.lists, on="list_id")
    return {
        "tags": _join_by_contact(dataset.contact_tags, "tag"),
        "lists": _join_by_contact(lists, "name"),
    }


def _join_by_contact(frame: pd.DataFrame, column: str) -> pd.Series:
    ordered = frame.sort_values(["contact_id", column])
    return ordered.groupby("contact_id")[column].agg(JOIN_SEPARATOR.join)


def _engagement(dataset: Dataset, engine: SegmentEngine) -> pd.DataFrame:
    """Levels (as labels) and metrics per contact id, as of the engine's time and settings."""
    if isinstance(engine, MemoryEngine) and engine.dataset is dataset:
        current, previous = engine.levels  # computed once per engine, maybe already for criteria
    else:
        current, previous = current_and_previous(dataset, as_of=engine.as_of, config=engine.config)
    table = current.table.set_index("contact_id")
    table["current_level"] = table["level"].map(LEVEL_LABELS)
    previous_levels = previous.table.set_index("contact_id")["level"].map(LEVEL_LABELS)
    table["previous_level"] = previous_levels.reindex(table.index)
    return table


# -- exports ---------------------------------------------------------------------------------
def export_fields(fields: Sequence[str] | None) -> list[str]:
    """The exported columns: ``email`` first, then ``fields`` in order (without repeats).

    Examples
    --------
    >>> export_fields(["last_name", "email", "first_name", "last_name"])
    ['email', 'last_name', 'first_name']
    """
    chosen = DEFAULT_EXPORT_FIELDS if fields is None else fields
    return list(dict.fromkeys(["email", *chosen]))


def export_frame(
    dataset: Dataset,
    engine: SegmentEngine,
    definition: Definition,
    *,
    fields: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The rows of a segment export: every member, email first (see :func:`export_fields`).

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.segments.memory_engine import MemoryEngine
    >>> from engagekit.segments.store import PREBUILT
    >>> data = generate_sample(300, seed=1)
    >>> frame = export_frame(data, MemoryEngine(data, as_of="2026-11-30"), PREBUILT[1],
    ...                      fields=["city"])
    >>> list(frame.columns)
    ['email', 'city']
    """
    return members_frame(dataset, engine, definition, export_fields(fields))


def export_csv(
    dataset: Dataset,
    engine: SegmentEngine,
    definition: Definition,
    path_or_buffer: str | Path | IO[str] | None = None,
    *,
    fields: Sequence[str] | None = None,
) -> str | None:
    """Export the segment's members as a spreadsheet-safe CSV (see :mod:`engagekit.data.safe_csv`).

    Returns the CSV text when ``path_or_buffer`` is None, else writes it there.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.segments.memory_engine import MemoryEngine
    >>> from engagekit.segments.store import PREBUILT
    >>> data = generate_sample(300, seed=1)
    >>> text = export_csv(data, MemoryEngine(data, as_of="2026-11-30"), PREBUILT[0],
    ...                   fields=["date_added"])
    >>> text.splitlines()[0]
    'email,date_added'
    """
    return to_safe_csv(export_frame(dataset, engine, definition, fields=fields), path_or_buffer)


@dataclass(frozen=True)
class Audience:
    """A send-ready audience: the members one can email now, and who was left out.

    Attributes
    ----------
    frame : pandas.DataFrame
        The sendable members, email first.
    left_out : dict
        Members left out per email status (``unsubscribed``, ``bounced``).
    as_of : pandas.Timestamp
        When the segment was evaluated.
    """

    frame: pd.DataFrame
    left_out: dict[str, int]
    as_of: pd.Timestamp

    @property
    def size(self) -> int:
        return len(self.frame)

    def to_csv(self, path_or_buffer: str | Path | IO[str] | None = None) -> str | None:
        """The audience as a spreadsheet-safe CSV (text when no path is given)."""
        return to_safe_csv(self.frame, path_or_buffer)


def build_audience(
    dataset: Dataset,
    engine: SegmentEngine,
    definition: Definition,
    *,
    fields: Sequence[str] | None = None,
) -> Audience:
    """Evaluate the segment now and keep the members one may email.

    Pass an engine built for the moment of sending (the CLI and dashboard build it for "now"):
    the segment is re-evaluated, never read from an earlier result. Unsubscribed and bounced
    contacts are left out and counted.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.segments.memory_engine import MemoryEngine
    >>> from engagekit.segments.store import PREBUILT
    >>> data = generate_sample(300, seed=1)
    >>> audience = build_audience(data, MemoryEngine(data, as_of="2026-11-30"), PREBUILT[2])
    >>> audience.size + sum(audience.left_out.values()) == count(
    ...     MemoryEngine(data, as_of="2026-11-30"), PREBUILT[2])
    True
    """
    ids = engine.members(as_definition(definition))
    return audience_of(dataset, ids, fields=fields, as_of=engine.as_of, engine=engine)


def audience_of(
    dataset: Dataset, contact_ids: np.ndarray, *, fields: Sequence[str] | None = None,
    as_of: pd.Timestamp, engine: SegmentEngine | None = None,
) -> Audience:
    """The send-ready audience of given contacts: unsubscribed and bounced ones left out and counted.

    ``engine`` gives level and metric columns when ``fields`` asks for them.
    """
    columns = export_fields(fields)
    wanted = list(dict.fromkeys([*columns, "email_status"]))
    _check_columns(dataset, wanted)
    frame = _member_table(dataset, engine, np.asarray(contact_ids, dtype=np.int64), wanted)
    status = frame["email_status"]
    left_out = {str(s): int((status == s).sum()) for s in NOT_SENDABLE}
    sendable = frame[~status.isin(NOT_SENDABLE)]
    return Audience(frame=sendable[columns].reset_index(drop=True), left_out=left_out, as_of=as_of)


def audience_csv(
    dataset: Dataset,
    engine: SegmentEngine,
    definition: Definition,
    path_or_buffer: str | Path | IO[str] | None = None,
    *,
    fields: Sequence[str] | None = None,
) -> str | None:
    """:func:`build_audience` written as a spreadsheet-safe CSV (text when no path is given).

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.segments.memory_engine import MemoryEngine
    >>> from engagekit.segments.store import PREBUILT
    >>> data = generate_sample(300, seed=1)
    >>> audience_csv(data, MemoryEngine(data, as_of="2026-11-30"), PREBUILT[0]).splitlines()[0]
    'email,first_name,last_name'
    """
    return build_audience(dataset, engine, definition, fields=fields).to_csv(path_or_buffer)


# -- add to a list ---------------------------------------------------------------------------
def add_to_list(
    workspace: Workspace, engine: SegmentEngine, definition: Definition, list_name: str
) -> AddToListResult:
    """Copy the segment's current members into a workspace list, creating the list if needed.

    The list is found by name ignoring case; a new one gets ``origin='workspace'`` so that it
    survives re-imports. Running it again adds only the members not yet in the list; members the
    workspace no longer holds are skipped. Lists that came from imported data are refused: the
    next import would silently undo the additions. The result says how many of the members cannot
    be emailed (unsubscribed or bounced).

    Examples
    --------
    >>> import tempfile
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.segments.memory_engine import MemoryEngine
    >>> from engagekit.segments.store import PREBUILT
    >>> ws = Workspace.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> _ = ws.import_dataset(generate_sample(300, seed=1))
    >>> engine = MemoryEngine(ws.load(), as_of="2026-11-30")
    >>> first = add_to_list(ws, engine, PREBUILT[0], "Fans")
    >>> again = add_to_list(ws, engine, PREBUILT[0], "fans")
    >>> first.created, again.added == 0, again.already_there == first.added
    (True, True, True)
    """
    ids = np.asarray(engine.members(as_definition(definition)), dtype=np.int64)
    result = workspace.lists.add_members(list_name, ids)
    dataset = getattr(engine, "dataset", None)
    if dataset is None:
        return result
    status = dataset.contacts["email_status"].to_numpy()
    unreachable = np.isin(dataset.contact_ids, ids) & (status != EmailStatus.SUBSCRIBED.value)
    return replace(result, not_emailable=int(np.count_nonzero(unreachable)))


__all__ = [
    "DEFAULT_EXPORT_FIELDS",
    "DEFAULT_MEMBER_COLUMNS",
    "NARROW_MIN_CONTACTS",
    "NARROW_SHARE",
    "SEGMENT_SORTS",
    "AddToListResult",
    "Audience",
    "add_to_list",
    "audience_csv",
    "audience_of",
    "build_audience",
    "count",
    "export_csv",
    "export_fields",
    "export_frame",
    "member_columns",
    "members_frame",
    "narrow_limit",
    "narrowness_warning",
    "segment_overview",
    "total_contacts",
]
