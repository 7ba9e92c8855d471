"""The workspace: one SQLAlchemy database URL holding data, segments, lists and snapshots.

The default is an embedded SQLite file that needs no server (WAL journal, a busy timeout and
foreign keys on); PostgreSQL works the same by URL. Beside the database, a *columnar copy* of the
data (Parquet files and the activity index) makes loading a large workspace fast; it is keyed by the
workspace's data version, so any import makes the old copy stale.

Imports are all-or-nothing: the whole replacement happens in one transaction. Contact ids stay the
same across imports for the same email, and list ids for the same list name, so saved segments keep
pointing at the right lists; lists made in the workspace survive a re-import.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from engagekit.activity import ActivityIndex
from engagekit.config import EngagementConfig
from engagekit.dataset import Dataset
from engagekit.errors import WorkspaceError
from engagekit.levels import LevelResult, compute_levels, thresholds_json
from engagekit.schema import TABLES
from engagekit.tables import SNAPSHOT_COLUMNS, WorkspaceTables, build_tables
from engagekit.tiers import Thresholds
from engagekit.timeutil import AsOf, as_timestamp

ENV_URL = "ENGAGEKIT_WORKSPACE"
INSERT_CHUNK = 50_000
SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "engagekit_write"


def default_url() -> str:
    """``$ENGAGEKIT_WORKSPACE`` if set, else a SQLite file in ``~/.engagekit/``."""
    if os.environ.get(ENV_URL):
        return os.environ[ENV_URL]
    home = Path.home() / ".engagekit"
    return f"sqlite:///{home / 'workspace.db'}"


def utc_now() -> datetime:
    """Now, naive UTC: used only to stamp records (created/updated), never for engagement rules."""
    return datetime.now(UTC).replace(tzinfo=None)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise WorkspaceError(f"not a database URL: {url!r} (e.g. sqlite:///workspace.db)") from None
    if parsed.get_backend_name() != "sqlite":
        try:
            return sa.create_engine(url, pool_pre_ping=True)
        except (ImportError, SQLAlchemyError) as error:
            raise WorkspaceError(f"cannot use database {parsed!r}: {error}") from None
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # pragma: no cover - exercised through every test
        # Let SQLAlchemy, not the driver, open transactions, so BEGIN IMMEDIATE below takes the
        # write lock up front and a second writer waits instead of failing with "locked".
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):  # pragma: no cover - exercised through every test
        # Writers take the lock up front (see Workspace.transaction); readers never block in WAL.
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass(frozen=True)
class ImportResult:
    """What an import changed: rows per table now in the workspace and the new data version."""

    counts: dict[str, int]
    data_version: int


class Workspace:
    """A workspace database and its columnar copy.

    Examples
    --------
    >>> import tempfile
    >>> from engagekit.sample import generate_sample
    >>> ws = Workspace.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> ws.import_dataset(generate_sample(100, seed=1)).counts["contacts"]
    100
    >>> ws.load().n_contacts
    100
    """

    _lock = threading.Lock()
    _loaded: dict[tuple[str, int], Dataset] = {}

    def __init__(self, url: str, engine: Engine, cache_dir: Path):
        self.url = url
        self.engine = engine
        self.cache_dir = cache_dir
        self._ensure_schema()

    @classmethod
    def open(cls, url: str | None = None, *, cache_dir: str | Path | None = None) -> Workspace:
        """Open (creating if needed) the workspace at ``url`` (default: :func:`default_url`)."""
        url = url or default_url()
        engine = make_engine(url)
        return cls(url, engine, Path(cache_dir) if cache_dir else _default_cache_dir(engine))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def _ensure_schema(self) -> None:
        try:
            tables = build_tables()
            with self.transaction() as conn:
                _refresh_derived_tables(conn, tables)
            tables.metadata.create_all(self.engine)
        except OperationalError as error:
            raise WorkspaceError(f"cannot open workspace {self.engine.url!r}: {error.orig}") from None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed at the end of the block, rolled back on error.

        On SQLite it takes the write lock at the start, so two processes writing at once queue
        up (for up to the busy timeout) instead of failing half-way with "database is locked".
        """
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    # -- bookkeeping -------------------------------------------------------------------------
    def custom_fields(self, conn: Connection | None = None) -> dict[str, str]:
        """Custom contact fields stored in this workspace: name -> type."""
        table = build_tables().custom_fields
        query = sa.select(table.c.name, table.c.kind).order_by(table.c.position)
        with _connection(self.engine, conn) as c:
            return {name: kind for name, kind in c.execute(query)}

    @property
    def tables(self) -> WorkspaceTables:
        """The workspace tables, ``contacts`` with this workspace's custom field columns."""
        return build_tables(self.custom_fields())

    def data_version(self, conn: Connection | None = None) -> int:
        """A number that changes with every import (0 for an empty workspace)."""
        meta = build_tables().meta
        with _connection(self.engine, conn) as c:
            value = c.execute(sa.select(meta.c.value).where(meta.c.key == "data_version")).scalar()
        return int(value or 0)

    # -- settings ----------------------------------------------------------------------------
    def load_settings(self) -> tuple[EngagementConfig, pd.Timestamp | None]:
        """The engagement settings saved in this workspace (defaults if none) and the saved
        as-of time, if one was pinned (``None``: use the data's natural reference time)."""
        meta = build_tables().meta
        with self.engine.connect() as conn:
            saved = dict(conn.execute(
                sa.select(meta.c.key, meta.c.value).where(meta.c.key.in_(["config", "as_of"]))
            ).all())
        config = EngagementConfig.from_json(saved["config"]) if "config" in saved else EngagementConfig()
        as_of = as_timestamp(saved["as_of"]) if saved.get("as_of") else None
        return config, as_of

    def save_settings(self, config: EngagementConfig, *, as_of: AsOf | None = None) -> None:
        """Keep ``config`` (and a pinned as-of time, or none) as this workspace's settings."""
        with self.transaction() as conn:
            _set_meta(conn, "config", config.to_json())
            _set_meta(conn, "as_of", as_timestamp(as_of).isoformat() if as_of is not None else "")

    # -- import ------------------------------------------------------------------------------
    def import_dataset(self, dataset: Dataset, *, mode: str = "replace") -> ImportResult:
        """Store ``dataset`` as the workspace data, in one transaction.

        ``mode="replace"`` makes it the whole data (workspace lists are kept);
        ``mode="merge"`` merges it into the current data by email identity.
        """
        if mode not in ("replace", "merge"):
            raise WorkspaceError(f"import mode must be 'replace' or 'merge', not {mode!r}")
        if mode == "merge" and self.data_version():
            from engagekit.io.merge import merge_datasets

            dataset = merge_datasets(self.load(), dataset)
        try:
            with self.transaction() as conn:
                version = self._replace_data(conn, dataset)
        except SQLAlchemyError as error:
            # The driver's first line says what failed; the full error would dump rows of data.
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            raise WorkspaceError(f"import failed, the workspace is unchanged: {reason}") from None
        return ImportResult(counts=self._counts(), data_version=version)

    def _replace_data(self, conn: Connection, dataset: Dataset) -> int:
        old = build_tables(self.custom_fields(conn))
        dataset = _keep_ids_stable(conn, old, dataset)
        kept_lists, kept_members = _workspace_lists(conn, old, dataset)
        for name in reversed(WorkspaceTables.DATA_TABLES):
            getattr(old, name).drop(conn, checkfirst=True)
        conn.execute(sa.delete(old.custom_fields))
        conn.execute(sa.delete(old.snapshot_levels))
        conn.execute(sa.delete(old.level_snapshots))
        new = build_tables(dataset.custom_fields)
        for name in WorkspaceTables.DATA_TABLES:
            getattr(new, name).create(conn)
        if dataset.custom_fields:
            conn.execute(
                sa.insert(new.custom_fields),
                [{"name": n, "kind": k, "position": i}
                 for i, (n, k) in enumerate(dataset.custom_fields.items())],
            )
        lists = dataset.lists.assign(
            name_key=dataset.lists["name"].str.casefold(), origin="import", created_at=pd.NaT
        )
        lists = pd.concat([lists, kept_lists], ignore_index=True)
        memberships = pd.concat([dataset.list_memberships, kept_members], ignore_index=True)
        frames = {name: getattr(dataset, name) for name in TABLES}
        frames.update(lists=lists, list_memberships=memberships)
        for name in WorkspaceTables.DATA_TABLES:
            insert_frame(conn, getattr(new, name), frames[name])
        version = self.data_version(conn) + 1
        _set_meta(conn, "data_version", str(version))
        return version

    def _counts(self) -> dict[str, int]:
        tables = self.tables
        with self.engine.connect() as conn:
            return {
                name: conn.execute(sa.select(sa.func.count()).select_from(getattr(tables, name))).scalar()
                for name in WorkspaceTables.DATA_TABLES
            }

    # -- load --------------------------------------------------------------------------------
    def load(self) -> Dataset:
        """The workspace data, from the columnar copy when it is current, else from the database."""
        version = self.data_version()
        key = (self.url, version)
        with self._lock:
            if key in self._loaded:
                return self._loaded[key]
        folder = self.cache_dir / f"v{version}"
        dataset = _read_columnar(folder) if version else None
        if dataset is None:
            dataset = self._read_database()
            if version:
                _write_columnar(dataset, folder)
                shutil.rmtree(self.cache_dir / "tmp", ignore_errors=True)
        with self._lock:
            self._loaded.clear()
            self._loaded[key] = dataset
        return dataset

    def _read_database(self) -> Dataset:
        tables = self.tables
        frames = {}
        with self.engine.connect() as conn:
            for name in TABLES:
                table = getattr(tables, name)
                columns = list(TABLES[name]) + (
                    list(self.custom_fields(conn)) if name == "contacts" else []
                )
                query = sa.select(*[table.c[c] for c in columns]).order_by(*table.primary_key.columns)
                if name == "email_events":
                    query = sa.select(*[table.c[c] for c in columns])
                frames[name] = pd.read_sql(query, conn)
            custom = self.custom_fields(conn)
        return Dataset.from_frames(**frames, custom_fields=custom)

    # -- level snapshots ---------------------------------------------------------------------
    def store_snapshot(self, levels: LevelResult, *, learned: bool = True) -> int:
        """Store a level result and return its snapshot id (an identical one is reused).

        ``learned`` says whether its thresholds were learned at its as-of time (the default) or
        given (for instance the current thresholds applied to an earlier time).
        """
        snapshots, rows = build_tables().level_snapshots, build_tables().snapshot_levels
        key = {
            "as_of": levels.as_of.to_pydatetime(),
            "config": levels.config.to_json(),
            "thresholds": thresholds_json(levels.thresholds),
            "data_version": self.data_version(),
        }
        with self.transaction() as conn:
            found = conn.execute(
                sa.select(snapshots.c.snapshot_id).where(*[snapshots.c[k] == v for k, v in key.items()])
            ).scalar()
            if found is not None:
                return int(found)
            snapshot_id = conn.execute(
                sa.insert(snapshots).values(**key, learned=learned, created_at=utc_now())
                .returning(snapshots.c.snapshot_id)
            ).scalar_one()
            frame = levels.table[["contact_id", *SNAPSHOT_COLUMNS]].assign(snapshot_id=snapshot_id)
            frame["level"] = frame["level"].astype(str)
            insert_frame(conn, rows, frame)
        return int(snapshot_id)

    def ensure_snapshot(
        self, *, as_of: AsOf, config: EngagementConfig | None = None,
        thresholds: Thresholds | None = None,
    ) -> int:
        """The id of a stored snapshot of the levels as of ``as_of``, computing it if needed.

        With learned thresholds (``thresholds=None``) a snapshot already stored for the same time,
        settings and data is found without computing anything.
        """
        config = config or EngagementConfig()
        if thresholds is None:
            snapshots = build_tables().level_snapshots
            with self.engine.connect() as conn:
                found = conn.execute(sa.select(snapshots.c.snapshot_id).where(
                    snapshots.c.as_of == as_timestamp(as_of).to_pydatetime(),
                    snapshots.c.config == config.to_json(),
                    snapshots.c.data_version == self.data_version(conn),
                    snapshots.c.learned.is_(True),
                )).scalar()
            if found is not None:
                return int(found)
        levels = compute_levels(self.load(), as_of=as_of, config=config, thresholds=thresholds)
        return self.store_snapshot(levels, learned=thresholds is None)

    def snapshots(self) -> pd.DataFrame:
        """Stored snapshots: id, as_of, config, thresholds, data_version, created_at."""
        table = build_tables().level_snapshots
        with self.engine.connect() as conn:
            return pd.read_sql(sa.select(table).order_by(table.c.as_of), conn)

    def load_snapshot(self, snapshot_id: int) -> LevelResult:
        """A stored snapshot as a :class:`LevelResult`."""
        from engagekit.errors import NotFoundError
        from engagekit.levels import LEVEL_DTYPE

        snapshots, rows = build_tables().level_snapshots, build_tables().snapshot_levels
        with self.engine.connect() as conn:
            head = conn.execute(
                sa.select(snapshots).where(snapshots.c.snapshot_id == snapshot_id)
            ).mappings().first()
            if head is None:
                raise NotFoundError(f"no stored snapshot with id {snapshot_id}")
            table = pd.read_sql(
                sa.select(rows.c.contact_id, *[rows.c[c] for c in SNAPSHOT_COLUMNS])
                .where(rows.c.snapshot_id == snapshot_id)
                .order_by(rows.c.contact_id),
                conn,
            )
        table["level"] = table["level"].astype(LEVEL_DTYPE)
        return LevelResult(
            as_of=pd.Timestamp(head["as_of"]),
            config=EngagementConfig.from_json(head["config"]),
            thresholds=Thresholds.from_dict(json.loads(head["thresholds"])),
            table=table,
        )


class _connection:
    """Use the given connection, or open one for the duration of the block."""

    def __init__(self, engine: Engine, conn: Connection | None):
        self.engine, self.conn, self.owned = engine, conn, None

    def __enter__(self) -> Connection:
        if self.conn is not None:
            return self.conn
        self.owned = self.engine.connect()
        return self.owned

    def __exit__(self, *exc) -> None:
        if self.owned is not None:
            self.owned.close()


def insert_frame(conn: Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Insert a frame's rows in chunks, as bound parameters; blanks become NULL.

    The statement is compiled once from the table and values are converted a whole column at a
    time, then handed to the driver's ``executemany``: building and processing millions of rows
    one value at a time is what makes large imports slow otherwise.
    """
    columns = [c.name for c in table.columns if c.name in frame.columns]
    if frame.empty or not columns:
        return
    statement = sa.insert(table).compile(dialect=conn.dialect, column_keys=columns)
    order = list(statement.positiontup) if statement.positional else columns
    for start in range(0, len(frame), INSERT_CHUNK):
        chunk = frame.iloc[start : start + INSERT_CHUNK]
        values = [driver_values(chunk[name], table.c[name].type, conn.dialect) for name in order]
        rows = list(zip(*values, strict=True)) if statement.positional else [
            dict(zip(order, row, strict=True)) for row in zip(*values, strict=True)
        ]
        conn.exec_driver_sql(str(statement), rows)


def driver_values(column: pd.Series, kind: sa.types.TypeEngine, dialect: sa.Dialect) -> list:
    """A column as the values the driver expects (SQLAlchemy's own conversion, done per column)."""
    if isinstance(kind, sa.DateTime) and not pd.api.types.is_datetime64_any_dtype(column):
        column = pd.to_datetime(column)
    blank = column.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(column):
        if dialect.name == "sqlite":
            # SQLAlchemy's SQLite DATETIME storage format, so stored text compares as it should
            values = column.dt.strftime("%Y-%m-%d %H:%M:%S.%f").tolist()
        else:
            values = column.dt.to_pydatetime().tolist()
    else:
        values = column.tolist()
        process = kind.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            values = [process(value) for value in values]
    for position in np.flatnonzero(blank):
        values[position] = None
    return values


def _set_meta(conn: Connection, key: str, value: str) -> None:
    meta = build_tables().meta
    conn.execute(sa.delete(meta).where(meta.c.key == key))
    conn.execute(sa.insert(meta).values(key=key, value=value))


def _keep_ids_stable(conn: Connection, old: WorkspaceTables, dataset: Dataset) -> Dataset:
    """Give incoming contacts and lists the ids they already have here (same email / list name)."""
    existing_contacts = dict(conn.execute(sa.select(old.contacts.c.email, old.contacts.c.contact_id)).all())
    existing_lists = dict(conn.execute(sa.select(old.lists.c.name_key, old.lists.c.list_id)).all())
    if not existing_contacts and not existing_lists:
        return dataset
    contact_map = _id_map(
        dataset.contacts["contact_id"], dataset.contacts["email"], existing_contacts
    )
    list_map = _id_map(
        dataset.lists["list_id"], dataset.lists["name"].str.casefold(), existing_lists
    )
    changes = {
        "contacts": dataset.contacts.assign(contact_id=dataset.contacts["contact_id"].map(contact_map)),
        "lists": dataset.lists.assign(list_id=dataset.lists["list_id"].map(list_map)),
    }
    for name in ("contact_tags", "list_memberships", "email_events", "orders"):
        frame = getattr(dataset, name).copy()
        frame["contact_id"] = frame["contact_id"].map(contact_map)
        if name == "list_memberships":
            frame["list_id"] = frame["list_id"].map(list_map)
        changes[name] = frame
    return dataset.replace(**changes)


def _id_map(ids: pd.Series, keys: pd.Series, existing: dict) -> dict[int, int]:
    """Incoming id -> stored id for known keys, fresh ids (above every stored one) for new keys."""
    known = keys.map(existing)
    next_id = max([0, *existing.values()]) + 1
    fresh = np.arange(next_id, next_id + int(known.isna().sum()))
    assigned = known.to_numpy(dtype=float, na_value=np.nan, copy=True)
    assigned[np.isnan(assigned)] = fresh
    return dict(zip(ids.to_numpy(), assigned.astype(np.int64), strict=True))


def _workspace_lists(
    conn: Connection, old: WorkspaceTables, dataset: Dataset
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lists made in the workspace, and their members still in ``dataset`` (matched by email)."""
    lists = pd.read_sql(sa.select(old.lists).where(old.lists.c.origin == "workspace"), conn)
    incoming_keys = set(dataset.lists["name"].str.casefold())
    lists = lists[~lists["name_key"].isin(incoming_keys)]
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


def _refresh_derived_tables(conn: Connection, tables: WorkspaceTables) -> None:
    """Drop stored snapshots made by an older layout: they are derived, so recomputed on use."""
    inspector = sa.inspect(conn)
    if not inspector.has_table("level_snapshots"):
        return
    stored = {column["name"] for column in inspector.get_columns("level_snapshots")}
    if stored != {column.name for column in tables.level_snapshots.columns}:
        tables.snapshot_levels.drop(conn, checkfirst=True)
        tables.level_snapshots.drop(conn, checkfirst=True)


def _default_cache_dir(engine: Engine) -> Path:
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return Path(database).expanduser().with_suffix(".columnar")
    digest = hashlib.sha256(engine.url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return Path.home() / ".cache" / "engagekit" / digest


def _write_columnar(dataset: Dataset, folder: Path) -> None:
    """Write the Parquet copy and activity index, atomically (a temp folder renamed into place)."""
    tmp = folder.parent / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in TABLES:
        getattr(dataset, name).to_parquet(tmp / f"{name}.parquet", index=False)
    (tmp / "custom_fields.json").write_text(json.dumps(dataset.custom_fields))
    dataset.activity.save(tmp / "activity")
    for stale in folder.parent.glob("v*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp.rename(folder)


def _read_columnar(folder: Path) -> Dataset | None:
    if not (folder / "custom_fields.json").exists():
        return None
    frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    custom = json.loads((folder / "custom_fields.json").read_text())
    # Written by _write_columnar from a checked dataset, and parquet keeps the dtypes.
    dataset = Dataset.trusted(**frames, custom_fields=custom)
    index = ActivityIndex.load(folder / "activity")
    if index is None:  # written by an older version: index again, once
        index = ActivityIndex.build(dataset)
        index.save(folder / "activity")
        index = ActivityIndex.load(folder / "activity")
    dataset.__dict__["activity"] = index  # the cached_property's slot
    return dataset


