"""Storing imported data in the workspace: all or nothing, ids kept stable, workspace lists kept.

The machine classifier's verdicts on the events (:mod:`engagekit.workspace.verdicts`) are written
in the same transaction, for the rules asked for, so the levels job in the database finds them.

An import is one write transaction. For a *merge*, the current data is read inside that same
transaction, after the write lock is taken, so two merges running at once are applied one after
the other and neither loses the other's contacts. Contact ids stay the same across imports for the
same email, and list ids for the same list name, so saved segments keep pointing at the right lists;
lists made in the workspace survive a re-import (and a merge) as workspace lists.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engagekit.config import MachineRules
from engagekit.data.dataset import Dataset
from engagekit.data.growth import Earlier
from engagekit.data.io.merge import merge_datasets
from engagekit.data.schema import TABLES
from engagekit.errors import WorkspaceError
from engagekit.names import name_key
from engagekit.workspace.database import (
    Database,
    bump_data_version,
    delete_matching,
    insert_frame,
    lock_data_version,
    refresh_statistics,
    set_meta,
)
from engagekit.workspace.tables import WorkspaceTables, build_tables
from engagekit.workspace.verdicts import stage_verdicts, write_verdicts

IMPORT_MODES = ("replace", "merge")


@dataclass(frozen=True)
class ImportResult:
    """What an import changed: rows per table now in the workspace and the new data version.

    ``stored`` is the data exactly as the workspace now holds it and ``data_token`` the token
    it was stored under, so its columnar copy is written from this same pass.
    """

    counts: dict[str, int]
    data_version: int
    data_token: str = ""
    stored: Dataset | None = field(default=None, repr=False, compare=False)


def import_dataset(
    database: Database,
    dataset: Dataset,
    *,
    mode: str,
    current: Callable[[Connection, str], Dataset],
    allow_empty: bool = False,
    keep_free_ids: bool = False,
    workspace_lists: Collection[str] = (),
    verdict_rules: Collection[MachineRules] = (MachineRules(),),
    meanwhile: Callable[[Dataset, str], None] | None = None,
) -> ImportResult:
    """Store ``dataset`` in one transaction: ``replace`` the data, or ``merge`` it by email.

    ``current(conn, token)`` reads the workspace data inside the transaction (for a merge), the
    data as it was before this import changed it, whose data token was ``token``. A replace with
    a dataset without contacts is refused unless ``allow_empty``: a header-only file must never
    empty a workspace by accident. ``keep_free_ids``: see :func:`_id_map`. ``workspace_lists``
    names lists of ``dataset`` that were made in the workspace (data it held before, put back):
    they stay workspace lists instead of becoming imported ones. The machine verdicts of each of
    ``verdict_rules`` are stored with the data.

    ``meanwhile(stored, token)`` runs in a second thread while the rows are written, with the
    data as it is being stored and the token it will be stored under (the columnar copy is
    written from it: the database spends most of an import in C, leaving a core free). The
    import returns once it is done; its error is raised only if the import itself succeeded.
    """
    if mode not in IMPORT_MODES:
        raise WorkspaceError(f"Import mode must be 'replace' or 'merge', not {mode!r}.")
    if mode == "replace" and dataset.n_contacts == 0 and not allow_empty:
        raise WorkspaceError(
            "The import has no contacts, so replacing would empty the workspace; nothing was "
            "changed. Import in merge mode, or confirm that the workspace should be emptied."
        )

    classified: list[Future] = []
    side_jobs: list[Future] = []

    def work(conn: Connection) -> tuple[int, str, Dataset]:
        # Taking the version row first serialises concurrent imports on PostgreSQL too; the
        # token it had names the columnar copy of the data as it is, which a merge starts from.
        earlier_token = lock_data_version(conn)
        bump_data_version(conn)
        token = database.data_token(conn)
        set_meta(conn, "import_token", token)  # what segment engines made before it check

        def writing(stored: Dataset) -> None:
            # The classifier runs first in the second thread, while the rows are written, and
            # stages the verdict rows; the copy follows it there. The stored verdicts wait for
            # it: no two threads ever make the same verdicts.
            classified.append(pool.submit(stage_verdicts, conn, stored, verdict_rules))
            if meanwhile is not None:
                side_jobs.append(pool.submit(meanwhile, stored, token))

        merged, existing = dataset, None
        if mode == "merge":
            existing = current(conn, earlier_token)
            if existing.n_contacts or len(existing.campaigns):
                merged = merge_datasets(existing, dataset)
        made_here = {name_key(name) for name in workspace_lists}
        incoming = set(dataset.lists["name"].map(name_key)) - made_here
        stored = _replace_data(conn, merged, incoming_lists=incoming, keep_free_ids=keep_free_ids,
                               previous=existing if mode == "merge" else None, writing=writing)
        version = database.data_version(conn)
        staged = classified[-1].result()
        write_verdicts(conn, stored, verdict_rules, version, staged=staged)
        written = build_tables(stored.custom_fields)
        for table in (*(getattr(written, name) for name in WorkspaceTables.DATA_TABLES),
                      written.machine_verdicts):
            refresh_statistics(conn, table)  # the first segment queries plan for the new data
        return version, token, stored

    with ThreadPoolExecutor(max_workers=1) as pool:  # waits for the side jobs of every attempt
        try:
            version, token, stored = database.run(work, lock=build_tables().meta)
        except WorkspaceError as error:
            raise WorkspaceError(f"The import failed and the workspace is unchanged. {error}") from None
    if side_jobs:
        side_jobs[-1].result()  # the attempt that was committed
    stored.forget_earlier()  # what grew from the earlier data is made: let its arrays go
    return ImportResult(counts=stored.summary(), data_version=version, data_token=token,
                        stored=stored)


def counts(database: Database) -> dict[str, int]:
    """Rows per data table."""
    tables = database.data_tables()
    with database.engine.connect() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(getattr(tables, name))).scalar()
            for name in WorkspaceTables.DATA_TABLES
        }


def read_tables(conn: Connection, custom_fields: dict[str, str]) -> Dataset:
    """The workspace data read from the database (the slow path the columnar copy avoids)."""
    tables = build_tables(custom_fields)
    frames = {}
    for name in TABLES:
        table = getattr(tables, name)
        columns = list(TABLES[name]) + (list(custom_fields) if name == "contacts" else [])
        query = sa.select(*[table.c[c] for c in columns])
        if name != "email_events":  # events need no order; sorting millions of rows is slow
            query = query.order_by(*table.primary_key.columns)
        frames[name] = pd.read_sql(query, conn)
    return Dataset.from_frames(**frames, custom_fields=custom_fields)


def _replace_data(
    conn: Connection, dataset: Dataset, *, incoming_lists: set[str], previous: Dataset | None = None,
    keep_free_ids: bool = False, writing: Callable[[Dataset], None] = lambda stored: None,
) -> Dataset:
    """Make ``dataset`` the workspace data (workspace lists kept); the data as now stored,
    also handed to ``writing`` before the rows are written.

    ``previous`` is the data stored before (a merge): a table whose stored rows are unchanged
    and come first in ``dataset`` only gets its new rows appended, so merging a week of activity
    into millions of events writes that week, not every event again.
    """
    old = build_tables(_custom_fields(conn))
    dataset = _keep_ids_stable(conn, old, dataset, keep_free_ids=keep_free_ids)
    kept_lists, kept_members = _workspace_lists(conn, old, dataset, incoming_lists)
    new = build_tables(dataset.custom_fields)
    stored_rows = {name: _stored_prefix(getattr(dataset, name), getattr(previous, name))
                   for name in APPENDABLE if previous is not None} if _same_layout(old, new) else {}
    # A few contacts changed (an unsubscribe, a new name): those rows are written again, not all.
    changed = None
    if stored_rows.get("contacts", 0) is None:
        changed = _changed_rows(dataset.contacts, previous.contacts, "contact_id")
        if changed is not None and len(changed) <= len(previous.contacts) * UPSERTED_SHARE:
            stored_rows["contacts"] = len(previous.contacts)
            delete_matching(conn, old.contacts, "contact_id", dataset.contacts["contact_id"].iloc[changed])
        else:
            changed = None
    _empty_data_tables(conn, old, new, keep=set(stored_rows) - {
        name for name, rows in stored_rows.items() if rows is None})
    conn.execute(sa.delete(old.custom_fields))
    conn.execute(sa.delete(old.snapshot_levels))
    conn.execute(sa.delete(old.level_snapshots))
    conn.execute(sa.delete(old.counted_deliveries))
    conn.execute(sa.delete(old.engagement_countings))
    conn.execute(sa.delete(old.contact_measures))
    conn.execute(sa.delete(old.measure_sets))
    if dataset.custom_fields:
        conn.execute(
            sa.insert(new.custom_fields),
            [{"name": n, "kind": k, "position": i}
             for i, (n, k) in enumerate(dataset.custom_fields.items())],
        )
    keys = dataset.lists["name"].map(name_key)
    lists = dataset.lists.assign(name_key=keys, origin="import", created_at=pd.NaT)
    # A workspace list that came back through a merge stays a workspace list.
    carried = keys.isin(kept_lists["name_key"])
    if carried.any():
        made_at = pd.to_datetime(kept_lists.set_index("name_key")["created_at"])
        lists["origin"] = np.where(carried, "workspace", "import")
        lists["created_at"] = keys.map(made_at).where(carried)
        kept_lists = kept_lists[~kept_lists["name_key"].isin(keys)]
        kept_members = kept_members[kept_members["list_id"].isin(kept_lists["list_id"])]
    lists = pd.concat([lists, kept_lists], ignore_index=True)
    memberships = pd.concat([dataset.list_memberships, kept_members], ignore_index=True)
    frames = {name: getattr(dataset, name) for name in TABLES}
    frames.update(lists=lists, list_memberships=memberships)
    stored = _as_read_back(new, frames, dataset)
    if all(stored_rows.get(name) is not None for name in GROWN_FROM):
        # the earlier rows are all there, first and unchanged: verdicts and index grow from theirs
        stored.grows_from(Earlier.of(previous))
    writing(stored)
    for name in WorkspaceTables.DATA_TABLES:
        rows = stored_rows.get(name) or 0
        written = frames[name].iloc[rows:]
        if name == "contacts" and changed is not None:
            written = pd.concat([frames[name].iloc[changed], written])
        insert_frame(conn, getattr(new, name), written)
    return stored


APPENDABLE = ("contacts", "contact_tags", "campaigns", "email_events", "orders")
"""Tables a merge may append to; lists and memberships (small) carry workspace lists: rewritten."""
UPSERTED_SHARE = 0.25
"""Up to this share of changed stored contacts, a merge rewrites those rows only (else all)."""
GROWN_FROM = ("email_events",)
"""Tables whose stored rows the classifier's verdicts and the activity index can grow from only
when they are all there, first and unchanged (data.growth checks the contact and campaign ids
itself: a contact whose details changed keeps its place)."""


def _stored_prefix(frame: pd.DataFrame, stored: pd.DataFrame) -> int | None:
    """How many leading rows of ``frame`` are the stored rows, unchanged; ``None`` when the
    stored rows are not all there, first and unchanged (the table is then written anew)."""
    if len(frame) < len(stored) or list(frame.columns) != list(stored.columns):
        return None
    head = frame.iloc[: len(stored)]
    same = all(_same_values(head[name], stored[name]) for name in stored.columns)
    return len(stored) if same else None


def _same_values(left: pd.Series, right: pd.Series) -> bool:
    """Whether two columns hold the same values in the same order (blanks equal), whatever
    categories a coded column lists: a merge that brings a new link keeps the stored ones."""
    if _both_coded(left, right):
        return not _differs(left, right).any()
    return left.reset_index(drop=True).equals(right.reset_index(drop=True))


def _both_coded(left: pd.Series, right: pd.Series) -> bool:
    return isinstance(left.dtype, pd.CategoricalDtype) and isinstance(right.dtype, pd.CategoricalDtype)


def _differs(left: pd.Series, right: pd.Series) -> np.ndarray:
    """Where two columns of one length hold different values (two blanks are the same)."""
    if _both_coded(left, right):
        # the right codes in the left categories, then compared as numbers: a blank (-1) stays
        # -1, a value the left side never holds becomes -2
        found = left.cat.categories.get_indexer(right.cat.categories)
        moved = np.r_[np.where(found < 0, -2, found), -1]
        return left.cat.codes.to_numpy() != moved[right.cat.codes.to_numpy()]
    a, b = left.reset_index(drop=True), right.reset_index(drop=True)
    same = a.eq(b).to_numpy(dtype=bool, na_value=False) | (a.isna() & b.isna()).to_numpy()
    return ~same


def _changed_rows(frame: pd.DataFrame, stored: pd.DataFrame, key: str) -> np.ndarray | None:
    """The positions of the stored rows that ``frame`` changes, when it holds them first, with
    the same keys in the same order (then only they and the new rows need writing); ``None``
    when it does not."""
    if len(frame) < len(stored) or list(frame.columns) != list(stored.columns):
        return None
    head = frame.iloc[: len(stored)]
    if not np.array_equal(head[key].to_numpy(), stored[key].to_numpy()):
        return None
    changed = np.zeros(len(stored), dtype=bool)
    for name in stored.columns:
        changed |= _differs(head[name], stored[name])
    return np.flatnonzero(changed)


def _same_layout(old: WorkspaceTables, new: WorkspaceTables) -> bool:
    return [c.name for c in old.contacts.columns] == [c.name for c in new.contacts.columns] \
        and all(str(a.type) == str(b.type) for a, b in zip(old.contacts.columns,
                                                           new.contacts.columns, strict=True))


def _as_read_back(tables: WorkspaceTables, frames: dict[str, pd.DataFrame], dataset: Dataset) -> Dataset:
    """The stored data as :func:`read_tables` would read it back: the canonical columns, rows in
    key order (events as they are), without reading millions of rows back."""
    read = {}
    for name in TABLES:
        frame = frames[name]
        columns = list(TABLES[name]) + (list(dataset.custom_fields) if name == "contacts" else [])
        keys = [column.name for column in getattr(tables, name).primary_key.columns]
        if name != "email_events" and len(frame) and not _in_order(frame, keys):
            frame = frame.sort_values(keys, kind="stable")
        read[name] = frame[columns].reset_index(drop=True)
    # Every table but the lists came from the checked dataset as they are: no need to check
    # millions of rows again.
    lists = Dataset.from_frames(contacts=read["contacts"], lists=read["lists"],
                                list_memberships=read["list_memberships"],
                                custom_fields=dataset.custom_fields)
    read.update(lists=lists.lists, list_memberships=lists.list_memberships)
    return Dataset.trusted(**read, custom_fields=dataset.custom_fields)


def _in_order(frame: pd.DataFrame, keys: list[str]) -> bool:
    if len(keys) == 1:
        return frame[keys[0]].is_monotonic_increasing and frame[keys[0]].is_unique
    return False


def _empty_data_tables(
    conn: Connection, old: WorkspaceTables, new: WorkspaceTables, *, keep: set[str] = frozenset(),
) -> None:
    """Empty the data tables for new rows (but those in ``keep``, appended to); only
    ``contacts`` is made again, and only when its custom field columns change.

    Rows are deleted rather than tables dropped: a drop takes an exclusive lock on every table,
    which on PostgreSQL deadlocks with a reader holding some of them (a load reads the tables
    one after another), while a delete lets readers go on seeing the old rows until the import
    commits. Contacts come first, so that the one exclusive lock a changed layout needs is taken
    before any other.
    """
    if not _same_layout(old, new):
        old.contacts.drop(conn, checkfirst=True)
        new.contacts.create(conn)
    elif "contacts" not in keep:
        conn.execute(sa.delete(old.contacts))
    for name in WorkspaceTables.DATA_TABLES:
        if name != "contacts" and name not in keep:
            conn.execute(sa.delete(getattr(old, name)))


def _custom_fields(conn: Connection) -> dict[str, str]:
    table = build_tables().custom_fields
    return dict(conn.execute(sa.select(table.c.name, table.c.kind).order_by(table.c.position)).all())


def _keep_ids_stable(conn: Connection, old: WorkspaceTables, dataset: Dataset, *,
                     keep_free_ids: bool = False) -> Dataset:
    """Give incoming contacts and lists the ids they already have here (same email / list name)."""
    existing_contacts = dict(conn.execute(sa.select(old.contacts.c.email, old.contacts.c.contact_id)).all())
    existing_lists = dict(conn.execute(sa.select(old.lists.c.name_key, old.lists.c.list_id)).all())
    if not existing_contacts and not existing_lists:
        return dataset
    contact_map = _id_map(
        dataset.contacts["contact_id"], dataset.contacts["email"], existing_contacts, keep_free_ids
    )
    list_map = _id_map(dataset.lists["list_id"], dataset.lists["name"].map(name_key), existing_lists,
                       keep_free_ids)
    if contact_map.is_identity and list_map.is_identity:  # a re-import of the same people
        return dataset
    changes = {
        "contacts": dataset.contacts.assign(contact_id=contact_map(dataset.contacts["contact_id"])),
        "lists": dataset.lists.assign(list_id=list_map(dataset.lists["list_id"])),
    }
    for name in ("contact_tags", "list_memberships", "email_events", "orders"):
        frame = getattr(dataset, name).assign(contact_id=contact_map(getattr(dataset, name)["contact_id"]))
        if name == "list_memberships":
            frame["list_id"] = list_map(frame["list_id"])
        changes[name] = frame
    return dataset.replace(**changes)


@dataclass(frozen=True)
class _IdMap:
    """Incoming id -> stored id, applied to millions of references as one vectorised lookup."""

    incoming: np.ndarray  # sorted
    stored: np.ndarray

    @property
    def is_identity(self) -> bool:
        return bool(np.array_equal(self.incoming, self.stored))

    def __call__(self, ids: pd.Series) -> np.ndarray:
        return self.stored[np.searchsorted(self.incoming, ids.to_numpy(np.int64))]


def _id_map(ids: pd.Series, keys: pd.Series, existing: dict, keep_free_ids: bool = False) -> _IdMap:
    """Incoming id -> stored id for known keys, fresh ids (above every stored one) for new keys.

    With ``keep_free_ids`` a new key keeps its own id when no stored or incoming known key has it:
    data put back after a replace gets the ids it had, so plans and lists name the same contacts.
    """
    known = keys.map(existing)
    missing = known.isna().to_numpy()
    if keep_free_ids:
        own = ids.to_numpy(np.int64)
        taken = set(existing.values()) | set(known[~missing].astype("int64"))
        free = missing & ~np.isin(own, list(taken))
        known = known.where(~free, pd.Series(own, index=known.index))
        missing = missing & ~free
    next_id = max([0, *existing.values(), *known[~missing].astype("int64")]) + 1
    # int64 throughout: ids above 2**53 must not pass through floating point
    assigned = np.zeros(len(known), dtype=np.int64)
    assigned[~missing] = known[~missing].astype("int64").to_numpy()
    assigned[missing] = np.arange(next_id, next_id + int(missing.sum()), dtype=np.int64)
    incoming = ids.to_numpy(np.int64)
    order = np.argsort(incoming, kind="stable")
    return _IdMap(incoming=incoming[order], stored=assigned[order])


def _workspace_lists(
    conn: Connection, old: WorkspaceTables, dataset: Dataset, incoming_lists: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lists made in the workspace that the imported files do not name, and their members still
    in ``dataset`` (matched by email)."""
    lists = pd.read_sql(sa.select(old.lists).where(old.lists.c.origin == "workspace"), conn)
    lists = lists[~lists["name_key"].isin(incoming_lists)]
    if lists.empty:
        return lists, pd.DataFrame(columns=["list_id", "contact_id", "added_at"])
    members = pd.read_sql(
        sa.select(old.list_memberships.c.list_id, old.contacts.c.email, old.list_memberships.c.added_at)
        .join(old.contacts, old.contacts.c.contact_id == old.list_memberships.c.contact_id)
        .where(old.list_memberships.c.list_id.in_([int(i) for i in lists["list_id"]])),
        conn,
    )
    by_email = dict(zip(dataset.contacts["email"], dataset.contacts["contact_id"], strict=True))
    members["contact_id"] = members["email"].map(by_email)
    members = members.dropna(subset=["contact_id"]).astype({"contact_id": "int64"})
    return lists, members[["list_id", "contact_id", "added_at"]]


__all__ = ["IMPORT_MODES", "ImportResult", "counts", "import_dataset", "read_tables"]
