"""Lists made in the workspace: create, rename, delete, and add members (a static copy).

Workspace lists (``origin='workspace'``) survive re-imports; lists that came with the imported
data (``origin='import'``) are read-only here, since the next import would silently undo a change.
Every write moves the data version, so cached copies of the data reload with the new lists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engagekit.errors import DuplicateNameError, NotFoundError, ReadOnlyListError
from engagekit.names import clean_name, name_key
from engagekit.workspace.database import Database, bump_data_version, insert_frame, utc_now
from engagekit.workspace.tables import build_tables

WORKSPACE_ORIGIN = "workspace"


@dataclass(frozen=True)
class AddToListResult:
    """What adding members to a list did.

    Attributes
    ----------
    list_id : int
    list_name : str
        The list's name as stored (an existing list keeps its own spelling).
    added : int
        Members newly added to the list.
    already_there : int
        Members that were in the list already.
    created : bool
        Whether the list was made by this call.
    not_emailable : int
        Of the members added or already there, how many cannot be emailed (unsubscribed or
        bounced): they are in the list, but a send to it will not reach them.
    """

    list_id: int
    list_name: str
    added: int
    already_there: int
    created: bool
    not_emailable: int = 0

    def summary(self) -> str:
        """A sentence for the user.

        Examples
        --------
        >>> AddToListResult(3, "VIP", added=5, already_there=2, created=False).summary()
        "Added 5 contacts to list 'VIP'; 2 were already there."
        >>> AddToListResult(3, "VIP", added=1, already_there=0, created=True, not_emailable=1).summary()
        "Added 1 contact to list 'VIP' (new list); 0 were already there. 1 of them cannot be emailed (unsubscribed or bounced)."
        """
        made = " (new list)" if self.created else ""
        noun = "contact" if self.added == 1 else "contacts"
        there = "was" if self.already_there == 1 else "were"
        text = (
            f"Added {self.added:,} {noun} to list '{self.list_name}'{made}; "
            f"{self.already_there:,} {there} already there."
        )
        if self.not_emailable:
            text += (f" {self.not_emailable:,} of them cannot be emailed "
                     "(unsubscribed or bounced).")
        return text


class ListStore:
    """The lists of one workspace.

    Examples
    --------
    >>> import tempfile
    >>> db = Database.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> lists = ListStore(db)
    >>> lists.create("Win-back").list_name
    'Win-back'
    >>> lists.rename("win-back", "Win-back 2026").list_name
    'Win-back 2026'
    >>> list(lists.list()["name"])
    ['Win-back 2026']
    """

    def __init__(self, database: Database):
        self.database = database
        self._lists = build_tables().lists
        self._members = build_tables().list_memberships

    def list(self) -> pd.DataFrame:
        """Every list: ``list_id``, ``name``, ``origin`` (import / workspace), ``members``."""
        lists, members = self._lists, self._members
        count = sa.func.count(members.c.contact_id).label("members")
        query = (
            sa.select(lists.c.list_id, lists.c.name, lists.c.origin, lists.c.created_at, count)
            .select_from(lists.outerjoin(members, members.c.list_id == lists.c.list_id))
            .group_by(lists.c.list_id, lists.c.name, lists.c.origin, lists.c.created_at)
            .order_by(lists.c.name_key)
        )
        with self.database.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def workspace_lists(self) -> list[str]:
        """Names of the lists members can be added to (made in the workspace)."""
        frame = self.list()
        return frame.loc[frame["origin"] == WORKSPACE_ORIGIN, "name"].tolist()

    def create(self, name: str) -> AddToListResult:
        """Make an empty workspace list (a name already taken, in any case, is refused)."""
        cleaned = clean_name(name, what="list")

        def work(conn: Connection) -> AddToListResult:
            taken = self._find(conn, cleaned)
            if taken is not None:  # named as it is stored, which may differ in case
                raise DuplicateNameError(f"A list called '{taken.name}' already exists; choose another name.")
            list_id = self._insert(conn, cleaned)
            bump_data_version(conn)
            return AddToListResult(list_id, cleaned, added=0, already_there=0, created=True)

        return self.database.run(work, lock=self._lists)

    def rename(self, name: str, new_name: str) -> AddToListResult:
        """Rename a workspace list."""
        new = clean_name(new_name, what="list")

        def work(conn: Connection) -> AddToListResult:
            row = self._editable(conn, name, "renamed")
            clash = self._find(conn, new)
            if clash is not None and int(clash.list_id) != int(row.list_id):
                raise DuplicateNameError(f"A list called '{clash.name}' already exists; choose another name.")
            conn.execute(sa.update(self._lists).where(self._lists.c.list_id == row.list_id)
                         .values(name=new, name_key=name_key(new)))
            bump_data_version(conn)
            return AddToListResult(int(row.list_id), new, added=0, already_there=0, created=False)

        return self.database.run(work, lock=self._lists)

    def delete(self, name: str) -> str:
        """Delete a workspace list and its memberships; returns the deleted list's name."""

        def work(conn: Connection) -> str:
            row = self._editable(conn, name, "deleted")
            conn.execute(sa.delete(self._members).where(self._members.c.list_id == row.list_id))
            conn.execute(sa.delete(self._lists).where(self._lists.c.list_id == row.list_id))
            bump_data_version(conn)
            return row.name

        return self.database.run(work, lock=self._lists)

    def add_members(self, name: str, contact_ids: np.ndarray) -> AddToListResult:
        """Add contacts to the workspace list ``name`` (made if missing); repeatable: nobody is
        added twice. Contacts the workspace no longer holds are skipped."""
        cleaned = clean_name(name, what="list")
        ids = np.unique(np.asarray(contact_ids, dtype=np.int64))
        return self.database.run(lambda conn: self._add(conn, cleaned, ids), lock=self._lists)

    # -- inside a transaction ----------------------------------------------------------------
    def _find(self, conn: Connection, name: str):
        lists = self._lists
        return conn.execute(
            sa.select(lists.c.list_id, lists.c.name, lists.c.origin)
            .where(lists.c.name_key == name_key(name))
        ).first()

    def _editable(self, conn: Connection, name: str, verb: str):
        row = self._find(conn, name)
        if row is None:
            raise NotFoundError(f"There is no list called '{name}'.")
        if row.origin != WORKSPACE_ORIGIN:
            raise ReadOnlyListError(
                f"List '{row.name}' comes from the imported data and cannot be {verb} here: the "
                "next import would undo it."
            )
        return row

    def _insert(self, conn: Connection, name: str) -> int:
        lists = self._lists
        list_id = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(lists.c.list_id), 0))).scalar()) + 1
        conn.execute(sa.insert(lists).values(
            list_id=list_id, name=name, name_key=name_key(name), origin=WORKSPACE_ORIGIN,
            created_at=utc_now(),
        ))
        return list_id

    def _add(self, conn: Connection, name: str, ids: np.ndarray) -> AddToListResult:
        row = self._find(conn, name)
        if row is not None and row.origin != WORKSPACE_ORIGIN:
            raise ReadOnlyListError(
                f"List '{row.name}' comes from the imported data, and the next import would undo "
                "the additions; choose another list name."
            )
        created = row is None
        list_id, stored_name = (self._insert(conn, name), name) if created else (int(row.list_id), row.name)
        members = self._members
        present = _ids(conn, sa.select(members.c.contact_id).where(members.c.list_id == list_id))
        new = np.setdiff1d(ids, present)
        if len(new):
            # An engine over data loaded before a re-import may name contacts that are gone now;
            # a membership pointing nowhere would make the workspace data unloadable.
            new = new[np.isin(new, _ids(conn, sa.select(build_tables().contacts.c.contact_id)))]
        if len(new):
            rows = pd.DataFrame({"list_id": list_id, "contact_id": new, "added_at": utc_now()})
            insert_frame(conn, members, rows)
        if len(new) or created:
            bump_data_version(conn)
        return AddToListResult(
            list_id=list_id, list_name=stored_name, added=len(new),
            already_there=len(np.intersect1d(ids, present)), created=created,
        )


def _ids(conn: Connection, query: sa.Select) -> np.ndarray:
    return np.fromiter(conn.execute(query).scalars(), dtype=np.int64)


__all__ = ["WORKSPACE_ORIGIN", "AddToListResult", "ListStore"]
