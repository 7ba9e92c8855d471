"""Saved segments in the workspace database.

A segment is a name and a definition; its members are never stored (SPEC 3), so saving one writes
only its JSON definition, the definition's schema version and its created / updated times.

Names are trimmed, at most :data:`MAX_NAME_LENGTH` characters, and unique ignoring case: the
``name_key`` column holds the case-folded name under a unique index, so even two processes racing
to save the same name cannot both win. The four pre-built segments, one per engagement level, live
in code rather than in the table; they are read-only and their names are reserved.

Every operation is one transaction, and writers run one at a time: on SQLite the workspace's write
transaction takes the lock up front (``BEGIN IMMEDIATE``, with a busy timeout), on PostgreSQL a
table lock does the same. Should a lock or a conflicting write still get through,
:func:`run_atomically` retries the whole transaction a few times and then raises
:class:`~engagekit.errors.WorkspaceError` with a message meant for a person, never a raw
"database is locked".
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from engagekit.data.schema import LEVEL_LABELS, LEVELS
from engagekit.errors import (
    DuplicateNameError,
    InvalidNameError,
    NotFoundError,
    ReadOnlySegmentError,
)
from engagekit.names import MAX_NAME_LENGTH, clean_name, name_key
from engagekit.segments.catalog import Catalog
from engagekit.segments.definition import SegmentDefinition, level_segment
from engagekit.segments.validation import check_definition
from engagekit.workspace.database import friendly_error, run_atomically, utc_now
from engagekit.workspace.tables import build_tables
from engagekit.workspace.workspace import Workspace

T = TypeVar("T")
DefinitionLike = SegmentDefinition | dict | str


@dataclass(frozen=True)
class Segment:
    """A named segment definition, saved (``id`` set) or pre-built (``id`` None).

    Attributes
    ----------
    id : int or None
        The database id of a saved segment; None for a pre-built one.
    name : str
    definition : SegmentDefinition
    prebuilt : bool
        True for the four read-only, one-per-level segments.
    created_at, updated_at : datetime or None
        Naive UTC; None for pre-built segments.
    """

    id: int | None
    name: str
    definition: SegmentDefinition
    prebuilt: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def kind(self) -> str:
        """``"pre-built"`` or ``"custom"``, as a list of segments shows it."""
        return "pre-built" if self.prebuilt else "custom"

    def describe(self, catalog: Catalog | None = None) -> str:
        """The definition as a readable sentence (list and campaign names from ``catalog``)."""
        return self.definition.describe(catalog)


PREBUILT: tuple[Segment, ...] = tuple(
    Segment(id=None, name=LEVEL_LABELS[level], definition=level_segment(level), prebuilt=True)
    for level in LEVELS
)
"""The pre-built segments, most engaged first: "Most engaged" ... "Everyone else"."""

_PREBUILT_BY_KEY = {segment.name.casefold(): segment for segment in PREBUILT}


def as_definition(value: DefinitionLike | Segment) -> SegmentDefinition:
    """A :class:`SegmentDefinition` from a definition, its JSON text or dict, or a segment.

    Examples
    --------
    >>> as_definition(PREBUILT[0]) is PREBUILT[0].definition
    True
    """
    if isinstance(value, Segment):
        return value.definition
    return SegmentDefinition.coerce(value)


def sort_key(name: str) -> list:
    """Order names as a person reads them: ignoring case, numbers by value, copies after the original.

    Examples
    --------
    >>> sorted(["B (copy 10)", "b", "B (copy 2)", "B (copy)"], key=sort_key)
    ['b', 'B (copy)', 'B (copy 2)', 'B (copy 10)']
    """
    text = re.sub(r" \(copy\)$", " (copy 1)", name_key(name))
    return [int(part) if part.isdecimal() else part for part in re.split(r"(\d+)", text)]


def copy_name(name: str, taken: set[str]) -> str:
    """The first free name among "``name`` (copy)", "``name`` (copy 2)", "``name`` (copy 3)"...

    ``taken`` holds the :func:`name_key` of every existing name. A copy of a copy is named from the
    original (copying "A (copy)" gives "A (copy 2)"), and the base is shortened when needed so
    the result fits :data:`MAX_NAME_LENGTH`.

    Examples
    --------
    >>> copy_name("Least engaged", {"least engaged", "least engaged (copy)"})
    'Least engaged (copy 2)'
    >>> copy_name("Least engaged (copy)", {"least engaged (copy)"})
    'Least engaged (copy 2)'
    """
    base = _strip_copy_suffix(name)
    number = 1
    while True:
        suffix = " (copy)" if number == 1 else f" (copy {number})"
        candidate = base[: MAX_NAME_LENGTH - len(suffix)].rstrip() + suffix
        if name_key(candidate) not in taken:
            return candidate
        number += 1


def _strip_copy_suffix(name: str) -> str:
    stem, _, tail = name.rpartition(" (copy")
    if stem and tail.endswith(")") and (tail == ")" or tail[:-1].strip().isdigit()):
        return stem
    return name


class SegmentStore:
    """Create, read, edit, rename, copy and delete segments in a workspace.

    Parameters
    ----------
    workspace : Workspace
        Where the segments are saved (its ``segments`` table).

    Examples
    --------
    >>> import tempfile
    >>> store = SegmentStore(Workspace.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db"))
    >>> [s.name for s in store.list()]
    ['Most engaged', 'Somewhat engaged', 'Least engaged', 'Everyone else']
    >>> store.copy("Least engaged").name
    'Least engaged (copy)'
    >>> store.rename("least engaged (COPY)", "Win-back").name
    'Win-back'
    >>> store.get("win-back").describe() == store.get("Least engaged").describe()
    True
    """

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self._table = build_tables().segments
        self._trash = build_tables().deleted_segments

    # -- reading -----------------------------------------------------------------------------
    def list(self) -> list[Segment]:
        """Every segment: the pre-built ones first (most engaged first), then saved ones by name."""
        rows = self._read(lambda conn: conn.execute(sa.select(self._table)).mappings().all())
        saved = sorted((_from_row(row) for row in rows), key=lambda s: sort_key(s.name))
        return [*PREBUILT, *saved]

    def get(self, name_or_id: str | int) -> Segment:
        """The segment with this name (any case) or saved id, else :class:`NotFoundError`.

        A name made only of digits that names no segment is tried as an id.
        """
        return self._read(lambda conn: self._existing(conn, name_or_id))

    def editable(self, name_or_id: str | int, action: str = "changed") -> Segment:
        """The saved segment ``name_or_id``, or :class:`ReadOnlySegmentError` for a pre-built one.

        For asking before a change ("Delete segment X?") only when the change can happen.
        """
        return self._read(lambda conn: self._editable(conn, name_or_id, action))

    def names(self) -> list[str]:
        """The names of every segment, in :meth:`list` order."""
        return [segment.name for segment in self.list()]

    # -- writing -----------------------------------------------------------------------------
    def create(self, name: str, definition: DefinitionLike | Segment) -> Segment:
        """Save a new segment.

        Raises
        ------
        DuplicateNameError
            When a segment (or a pre-built one) already has this name, ignoring case.
        InvalidNameError
            When the name is blank, too long or holds control characters.
        """
        name = clean_name(name)
        parsed = self._checked(definition)
        return self._write(lambda conn: self._insert(conn, name, parsed))

    def update(
        self, name: str, definition: DefinitionLike | Segment, *, new_name: str | None = None
    ) -> Segment:
        """Replace the definition of the saved segment ``name`` and, with ``new_name``, rename it,
        both in one transaction."""
        parsed = self._checked(definition)
        wanted = None if new_name is None else clean_name(new_name)

        def work(conn: Connection) -> Segment:
            current = self._editable(conn, name, "edited")
            values = _definition_values(parsed)
            if wanted is not None:
                self._check_free(conn, wanted, allow_id=current.id)
                values.update(name=wanted, name_key=name_key(wanted))
            self._update_row(conn, current.id, values)
            return _replace(current, definition=parsed, updated_at=values["updated_at"],
                            name=wanted or current.name)

        return self._write(work)

    def rename(self, old: str, new: str) -> Segment:
        """Give the saved segment ``old`` the name ``new`` (a change of case alone is allowed)."""
        new = clean_name(new)

        def work(conn: Connection) -> Segment:
            current = self._editable(conn, old, "renamed")
            self._check_free(conn, new, allow_id=current.id)
            values = {"name": new, "name_key": name_key(new), "updated_at": utc_now()}
            self._update_row(conn, current.id, values)
            return _replace(current, name=new, updated_at=values["updated_at"])

        return self._write(work)

    def delete(self, name: str) -> Segment:
        """Delete the saved segment ``name`` (it goes to the trash) and return what it was."""

        def work(conn: Connection) -> Segment:
            current = self._editable(conn, name, "deleted")
            conn.execute(sa.delete(self._table).where(self._table.c.segment_id == current.id))
            conn.execute(sa.insert(self._trash).values(
                name=current.name, definition=current.definition.to_json(),
                created_at=current.created_at or utc_now(), deleted_at=utc_now()))
            return current

        return self._write(work)

    def trash(self) -> list[Segment]:
        """Deleted segments that can be restored, the most recently deleted first."""
        trash = self._trash
        rows = self._read(lambda conn: conn.execute(
            sa.select(trash).order_by(trash.c.deleted_at.desc(), trash.c.trash_id.desc())).mappings().all())
        return [Segment(id=None, name=row["name"], definition=SegmentDefinition.from_json(row["definition"]),
                        created_at=row["created_at"], updated_at=row["deleted_at"]) for row in rows]

    def restore(self, name: str) -> Segment:
        """Bring back the most recently deleted segment called ``name`` (refused when the name is
        taken again meanwhile)."""
        trash = self._trash

        def work(conn: Connection) -> Segment:
            row = conn.execute(
                sa.select(trash).where(sa.func.lower(trash.c.name) == name.strip().lower())
                .order_by(trash.c.deleted_at.desc(), trash.c.trash_id.desc()).limit(1)
            ).mappings().first()
            if row is None:
                raise NotFoundError(f"There is no deleted segment called '{name}' to restore.")
            restored = self._insert(conn, row["name"], SegmentDefinition.from_json(row["definition"]))
            conn.execute(sa.delete(trash).where(trash.c.trash_id == row["trash_id"]))
            return restored

        return self._write(work)

    def copy(self, name: str, new_name: str | None = None) -> Segment:
        """Save a copy of any segment (pre-built or saved) as a new, editable segment.

        Without ``new_name`` the copy is called "``name`` (copy)", or "(copy 2)", "(copy 3)"...
        whichever is free.
        """
        wanted = None if new_name is None else clean_name(new_name)

        def work(conn: Connection) -> Segment:
            source = self._existing(conn, name)
            # A deep copy: the copy must not share (mutable) criteria with its source.
            definition = source.definition.model_copy(deep=True)
            if wanted:
                return self._insert(conn, wanted, definition)
            # Writers run one at a time (see run_atomically), and the unique index backs that up.
            return self._insert_row(conn, copy_name(source.name, self._taken_keys(conn)), definition)

        return self._write(work)

    def _checked(self, definition: DefinitionLike | Segment) -> SegmentDefinition:
        """The definition, checked against the workspace data once there is some.

        So a custom field, list or campaign that the data does not have is refused when the
        segment is saved rather than when it is first used.
        """
        parsed = as_definition(definition)
        if self.workspace.data_version():
            check_definition(parsed, Catalog.from_workspace(self.workspace))
        return parsed

    # -- inside a transaction ----------------------------------------------------------------
    def _insert(self, conn: Connection, name: str, definition: SegmentDefinition) -> Segment:
        self._check_free(conn, name)
        return self._insert_row(conn, name, definition)

    def _insert_row(self, conn: Connection, name: str, definition: SegmentDefinition) -> Segment:
        values = {"name": name, "name_key": name_key(name), **_definition_values(definition)}
        values["created_at"] = values["updated_at"]
        new_id = conn.execute(
            sa.insert(self._table).values(**values).returning(self._table.c.segment_id)
        ).scalar_one()
        return Segment(
            id=int(new_id), name=name, definition=definition,
            created_at=values["created_at"], updated_at=values["updated_at"],
        )

    def _update_row(self, conn: Connection, segment_id: int, values: dict) -> None:
        conn.execute(sa.update(self._table).where(self._table.c.segment_id == segment_id).values(**values))

    def _check_free(self, conn: Connection, name: str, *, allow_id: int | None = None) -> None:
        key = name_key(name)
        if key in _PREBUILT_BY_KEY:
            raise DuplicateNameError(
                f"The name '{name}' is the name of a pre-built segment; choose another name."
            )
        clash = self._find(conn, name)
        if clash is not None and clash.id != allow_id:
            raise DuplicateNameError(
                f"A segment named '{clash.name}' already exists (names are compared ignoring case); "
                "choose another name."
            )

    def _editable(self, conn: Connection, name: str | int, action: str) -> Segment:
        segment = self._existing(conn, name)
        if segment.prebuilt:
            raise ReadOnlySegmentError(
                f"The segment '{segment.name}' is a pre-built segment and cannot be {action}; "
                "copy it to get a segment you can change."
            )
        return segment

    def _existing(self, conn: Connection, name_or_id: str | int) -> Segment:
        if isinstance(name_or_id, int):
            found = self._find_id(conn, name_or_id)
        else:
            found = self._find(conn, name_or_id)
            if found is None and name_or_id.strip().isdigit():
                found = self._find_id(conn, int(name_or_id))
        if found is None:
            saved = conn.execute(sa.select(self._table.c.name)).scalars()
            hint = did_you_mean(str(name_or_id), [*(s.name for s in PREBUILT), *saved])
            raise NotFoundError(f"There is no segment named '{name_or_id}'{hint or '.'}")
        return found

    def _find(self, conn: Connection, name: str) -> Segment | None:
        key = name_key(name.strip())
        if key in _PREBUILT_BY_KEY:
            return _PREBUILT_BY_KEY[key]
        row = conn.execute(sa.select(self._table).where(self._table.c.name_key == key)).mappings().first()
        return None if row is None else _from_row(row)

    def _find_id(self, conn: Connection, segment_id: int) -> Segment | None:
        query = sa.select(self._table).where(self._table.c.segment_id == segment_id)
        row = conn.execute(query).mappings().first()
        return None if row is None else _from_row(row)

    def _taken_keys(self, conn: Connection) -> set[str]:
        saved = conn.execute(sa.select(self._table.c.name_key)).scalars()
        return {*_PREBUILT_BY_KEY, *saved}

    def _read(self, work: Callable[[Connection], T]) -> T:
        try:
            with self.workspace.engine.connect() as conn:
                return work(conn)
        except SQLAlchemyError as error:
            raise friendly_error(error) from None

    def _write(self, work: Callable[[Connection], T]) -> T:
        return run_atomically(self.workspace, work, lock=self._table)


def did_you_mean(name: str, candidates: list[str]) -> str:
    """``"; did you mean 'X' or 'Y'?"`` for close candidates (ignoring case), else ``""``.

    Examples
    --------
    >>> did_you_mean("vip buyer", ["VIP buyers", "Lapsed"])
    "; did you mean 'VIP buyers'?"
    """
    by_key = {candidate.casefold(): candidate for candidate in candidates}
    close = difflib.get_close_matches(name.strip().casefold(), list(by_key), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(f"'{by_key[key]}'" for key in close) + "?"


def _definition_values(definition: SegmentDefinition) -> dict:
    data = definition.to_dict()
    return {
        "definition": json.dumps(data, sort_keys=True, ensure_ascii=False),
        "schema_version": int(data["version"]),
        "updated_at": utc_now(),
    }


def _from_row(row) -> Segment:
    return Segment(
        id=int(row["segment_id"]),
        name=row["name"],
        definition=SegmentDefinition.from_json(row["definition"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _replace(segment: Segment, **changes: object) -> Segment:
    return Segment(**{**segment.__dict__, **changes})


__all__ = [
    "MAX_NAME_LENGTH",
    "PREBUILT",
    "InvalidNameError",
    "ReadOnlySegmentError",
    "Segment",
    "SegmentStore",
    "as_definition",
    "clean_name",
    "copy_name",
    "did_you_mean",
    "sort_key",
]
