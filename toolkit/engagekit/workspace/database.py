"""The workspace database: engines, write transactions, bulk inserts and bookkeeping.

The default is an embedded SQLite file that needs no server (WAL journal, a busy timeout and
foreign keys on); PostgreSQL works the same by URL. Every write goes through
:func:`run_atomically` (or :meth:`Database.transaction` inside it): one transaction, writers one at
a time, retried when another writer got in the way, and a sentence for a person when it still fails.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from engagekit.errors import WorkspaceError
from engagekit.workspace.bulk import (
    StagedRows,
    attach_slots,
    can_stage,
    copy_rows,
    copy_staged,
    release_staging,
    sqlite_times,
    stage_rows,
    staged_insert,
)
from engagekit.workspace.tables import POSTGRES_STATISTICS, WorkspaceTables, build_tables

ENV_URL = "ENGAGEKIT_WORKSPACE"
INSERT_CHUNK = 50_000
BULK_ROWS = 100_000
"""From this many rows a load goes through the bulk path (:mod:`engagekit.workspace.bulk`) and,
into an empty SQLite table, builds the table's indexes afterwards."""
INDEX_CACHE_KIB = 64 * 1024
"""SQLite's cache while it builds an index after a bulk load. Its sorter holds a run of this size
per thread and merges the runs through temporary files: for the 25M events of 1M contacts, 64 MB
built the index in 13 s at 0.28 GB, where 512 MB (the whole sort in memory) took 18-24 s at 1.35 GB."""
INDEX_SORT_THREADS = 2
"""Helper threads SQLite's sorter may use to build an index after a bulk load."""
SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "engagekit_write"

WRITE_ATTEMPTS = 8
"""How many times a transaction is tried when another writer gets in the way."""

RETRY_PAUSE_SECONDS = 0.05
"""The first pause between two attempts; it doubles after each one."""

# PostgreSQL: serialization failure, deadlock, lock not available.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})

T = TypeVar("T")


def default_url() -> str:
    """``$ENGAGEKIT_WORKSPACE`` if set, else a SQLite file in ``~/.engagekit/``."""
    if os.environ.get(ENV_URL):
        return os.environ[ENV_URL]
    home = Path.home() / ".engagekit"
    return f"sqlite:///{home / 'workspace.db'}"


def utc_now() -> datetime:
    """Now, naive UTC: used only to stamp records (created/updated), never for engagement rules."""
    return datetime.now(UTC).replace(tzinfo=None)


def display_url(url: str) -> str:
    """``url`` with any password masked, for showing on screen.

    Examples
    --------
    >>> display_url("postgresql+psycopg://ann:secret@db.example.com/shop")
    'postgresql+psycopg://ann:***@db.example.com/shop'
    """
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise WorkspaceError(f"Not a database URL: {url!r} (e.g. sqlite:///workspace.db).") from None
    if parsed.get_backend_name() != "sqlite":
        try:
            return sa.create_engine(url, pool_pre_ping=True)
        except (ImportError, SQLAlchemyError) as error:
            raise WorkspaceError(f"Cannot use database {display_url(url)}: {error}") from None
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

    @sa.event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection, record):  # pragma: no cover - exercised through every test
        release_staging(dbapi_connection, record.info)  # the transaction has ended by now

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):  # pragma: no cover - exercised through every test
        # Writers take the lock up front (see Database.transaction); readers never block in WAL.
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """One workspace database: its engine, write transactions and bookkeeping rows.

    Examples
    --------
    >>> import tempfile
    >>> db = Database.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> db.data_version()
    0
    """

    def __init__(self, url: str, engine: Engine):
        self.url = url
        self.engine = engine
        self.tables = build_tables()
        self._ensure_schema()

    @classmethod
    def open(cls, url: str) -> Database:
        return cls(url, make_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _ensure_schema(self) -> None:
        try:
            with self.transaction() as conn:
                _refresh_derived_tables(conn, self.tables)
            self.tables.metadata.create_all(self.engine)
            if self.dialect == "postgresql":
                _create_statistics(self.engine)
        except (OperationalError, sa.exc.DatabaseError) as error:
            reason = str(getattr(error, "orig", error)).splitlines()[0]
            raise WorkspaceError(f"Cannot open workspace {display_url(self.url)}: {reason}") from None

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

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read connection that sees one state of the data for the whole block.

        SQLite gives that to every read transaction (WAL); on PostgreSQL the block runs at
        REPEATABLE READ, so the data token and each table read after it come from the same
        moment even while an import commits in between.
        """
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def reading(self, conn: Connection | None = None) -> Iterator[Connection]:
        """The given connection, or one opened for the block (a read)."""
        if conn is not None:
            yield conn
            return
        with self.engine.connect() as owned:
            yield owned

    # -- bookkeeping -------------------------------------------------------------------------
    def meta(self, key: str, conn: Connection | None = None) -> str | None:
        table = self.tables.meta
        with self.reading(conn) as c:
            return c.execute(sa.select(table.c.value).where(table.c.key == key)).scalar()

    def data_version(self, conn: Connection | None = None) -> int:
        """A number that changes with every change of the data (0 for an empty workspace)."""
        return int(self.meta("data_version", conn) or 0)

    def data_token(self, conn: Connection | None = None) -> str:
        """A random value written with every change of the data: unlike the version number, it
        differs between two databases (or a backup and its original) that reached the same one."""
        return self.meta("data_token", conn) or ""

    def import_token(self, conn: Connection | None = None) -> str:
        """A random value written with every import (not with list changes): the level
        snapshots, countings and measures stored before it are gone."""
        return self.meta("import_token", conn) or ""

    def custom_fields(self, conn: Connection | None = None) -> dict[str, str]:
        """Custom contact fields stored in this workspace: name -> type."""
        table = self.tables.custom_fields
        query = sa.select(table.c.name, table.c.kind).order_by(table.c.position)
        with self.reading(conn) as c:
            return {name: kind for name, kind in c.execute(query)}

    def data_tables(self, conn: Connection | None = None) -> WorkspaceTables:
        """The tables, ``contacts`` with this workspace's custom field columns."""
        return build_tables(self.custom_fields(conn))

    def run(self, work: Callable[[Connection], T], *, lock: sa.Table | None = None) -> T:
        """``work(conn)`` in one write transaction, retried (see :func:`run_atomically`)."""
        return run_atomically(self, work, lock=lock)


def set_meta(conn: Connection, key: str, value: str) -> None:
    meta = build_tables().meta
    conn.execute(sa.delete(meta).where(meta.c.key == key))
    conn.execute(sa.insert(meta).values(key=key, value=value))


def lock_data_version(conn: Connection) -> str:
    """Take the data version row for the caller's transaction (``FOR UPDATE``: every writer of
    the data takes it first, so none can change the data until this transaction ends) and
    return the data token as it is now: the columnar copy of the data this transaction starts
    from is the one written for it.

    Examples
    --------
    >>> import tempfile
    >>> db = Database.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> with db.transaction() as conn:
    ...     lock_data_version(conn) == "", bump_data_version(conn), lock_data_version(conn) == ""
    (True, 1, False)
    """
    meta = build_tables().meta
    conn.execute(sa.select(meta.c.value).where(meta.c.key == "data_version").with_for_update()).all()
    return conn.execute(sa.select(meta.c.value).where(meta.c.key == "data_token")).scalar() or ""


def bump_data_version(conn: Connection) -> int:
    """Raise the workspace's data version by one, inside the caller's transaction.

    Cached datasets and the columnar copy are keyed by this number, so every change to the data
    (an import, new list members) must move it. The row is read ``FOR UPDATE`` so that two
    concurrent writers on PostgreSQL cannot both produce the same next version.

    Examples
    --------
    >>> import tempfile
    >>> db = Database.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> with db.transaction() as conn:
    ...     bump_data_version(conn)
    1
    >>> db.data_version()
    1
    """
    meta = build_tables().meta
    current = conn.execute(
        sa.select(meta.c.value).where(meta.c.key == "data_version").with_for_update()
    ).scalar()
    version = int(current or 0) + 1
    if current is None:
        conn.execute(sa.insert(meta).values(key="data_version", value=str(version)))
    else:
        conn.execute(sa.update(meta).where(meta.c.key == "data_version").values(value=str(version)))
    set_meta(conn, "data_token", uuid.uuid4().hex)
    return version


def run_atomically(
    database: Database, work: Callable[[Connection], T], *, lock: sa.Table | None = None
) -> T:
    """Run ``work(conn)`` in one write transaction, again if another writer got in the way.

    The transaction is :meth:`Database.transaction`, which on SQLite takes the write lock up
    front, so writers run one at a time (a second one queues for up to the busy timeout). On
    PostgreSQL, ``lock`` names the table whose writers must likewise run one at a time, so that a
    "check, then write" (is this name free? which list id is next?) cannot interleave with another.

    A transaction that still meets a lock, a serialisation failure or a unique-key clash made by a
    concurrent writer is rolled back and run again from the start (so its checks see the other
    writer's result), up to :data:`WRITE_ATTEMPTS` times. What still fails becomes a
    :class:`~engagekit.errors.WorkspaceError`; errors raised by ``work`` itself pass through.

    Examples
    --------
    >>> import tempfile
    >>> db = Database.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> run_atomically(db, lambda conn: conn.execute(sa.select(sa.literal(1))).scalar())
    1
    """
    pause = RETRY_PAUSE_SECONDS
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            with database.transaction() as conn:
                if lock is not None and conn.dialect.name == "postgresql":
                    _lock_for_writing(conn, lock)
                return work(conn)
        except SQLAlchemyError as error:
            if attempt == WRITE_ATTEMPTS or not _is_transient(error):
                raise friendly_error(error) from None
        time.sleep(pause)
        pause *= 2
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def friendly_error(error: SQLAlchemyError) -> WorkspaceError:
    """A database failure as one sentence for a person (never rows of data or a traceback)."""
    if _is_lock(error):
        return WorkspaceError(
            "The workspace is busy: another program has been writing to it for a while. "
            "Nothing was changed; please try again in a moment."
        )
    if isinstance(error, IntegrityError):
        return WorkspaceError(
            "Another program changed the same data at the same time. Nothing was changed; "
            "please try again."
        )
    # The driver's first line says what failed; the full error would dump rows of data.
    reason = str(getattr(error, "orig", None) or error).splitlines()[0]
    return WorkspaceError(f"The workspace database failed: {reason}")


def _lock_for_writing(conn: Connection, table: sa.Table) -> None:
    # SHARE ROW EXCLUSIVE conflicts with itself and with writes, never with plain reads. The table
    # name comes from our own schema, quoted by the dialect: no user text reaches this statement.
    name = conn.dialect.identifier_preparer.format_table(table)
    conn.execute(sa.text(f"LOCK TABLE {name} IN SHARE ROW EXCLUSIVE MODE"))


def _is_transient(error: SQLAlchemyError) -> bool:
    if isinstance(error, IntegrityError):
        return True
    if not isinstance(error, OperationalError):
        return False
    return _is_lock(error) or getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


def _is_lock(error: SQLAlchemyError) -> bool:
    text = str(getattr(error, "orig", error)).lower()
    return "locked" in text or "busy" in text


def find_or_store(database: Database, heads: sa.Table, key: dict, rows: sa.Table,
                  frame: Callable[[], pd.DataFrame]) -> int:
    """The id of the row of ``heads`` (a table of derived sets: countings, measures) matching
    ``key``, else a new one stored with ``frame()``'s rows in ``rows`` under that id.

    The first column of ``heads`` is the id, and ``rows`` has a column of the same name. The
    frame is built outside the write transaction (it may take seconds), once.
    """
    id_column = heads.primary_key.columns.values()[0]

    def find(conn: Connection) -> int | None:
        found = conn.execute(sa.select(id_column).where(
            *[heads.c[k] == v for k, v in key.items()])).scalar()
        return None if found is None else int(found)

    with database.engine.connect() as conn:
        found = find(conn)
    if found is not None:
        return found
    values = frame()

    def work(conn: Connection) -> int:
        found = find(conn)
        if found is not None:
            return found
        new_id = int(conn.execute(
            sa.insert(heads).values(**key, created_at=utc_now()).returning(id_column)).scalar_one())
        insert_frame(conn, rows, values.assign(**{id_column.name: new_id}))
        refresh_statistics(conn, rows)
        return new_id

    # Locked for the check-then-insert, so a racing writer finds this set instead of clashing.
    stored = database.run(work, lock=heads)
    mark_visible(database, rows)
    return stored


def refresh_statistics(conn: Connection, table: sa.Table) -> None:
    """PostgreSQL: re-read the planner's statistics of a table whose rows were just stored (an
    import's tables, a new set of snapshots or countings), inside the storing transaction, so the
    first segment query after it is planned knowing the new rows (autovacuum would get to it
    only later).

    SQLite keeps no statistics unless asked, and plans segment queries well without them (with
    them it prefers a slower plan for a level or a click), so nothing is done there.
    """
    if conn.dialect.name == "postgresql":
        # The table name comes from our own schema, quoted by the dialect: no user text.
        conn.exec_driver_sql(f"ANALYZE {conn.dialect.identifier_preparer.format_table(table)}")


def delete_matching(conn: Connection, table: sa.Table, column: str, values, *where) -> None:
    """Delete the rows of ``table`` whose ``column`` is one of ``values`` (and that meet
    ``where``), inside the caller's transaction: the values go into a temporary table, so tens of
    thousands of them (more than a statement may bind) cost one pass over ``table``.

    Examples
    --------
    >>> import tempfile
    >>> db = Database.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> contacts = db.tables.contacts
    >>> with db.transaction() as conn:
    ...     _ = conn.execute(sa.insert(contacts), [
    ...         {"contact_id": i, "email": f"{i}@example.com", "email_status": "subscribed"}
    ...         for i in (1, 2, 3)])
    ...     delete_matching(conn, contacts, "contact_id", [1, 3])
    ...     conn.execute(sa.select(contacts.c.contact_id)).scalars().all()
    [2]
    """
    values = [int(value) for value in values]
    if not values:
        return
    chosen = sa.Table("matching_values", sa.MetaData(), sa.Column("value", sa.BigInteger, primary_key=True),
                      prefixes=["TEMPORARY"])
    chosen.create(conn)
    try:
        conn.execute(sa.insert(chosen), [{"value": value} for value in values])
        conn.execute(sa.delete(table).where(*where, table.c[column].in_(sa.select(chosen.c.value))))
    finally:
        chosen.drop(conn)


def insert_frame(conn: Connection, table: sa.Table, frame: pd.DataFrame, *,
                 staged: StagedRows | None = None) -> None:
    """Insert a frame's rows in chunks, as bound parameters; blanks become NULL.

    The statement is compiled once from the table and values are converted a whole column at a
    time, then handed to the driver's ``executemany``: building and processing millions of rows
    one value at a time is what makes large imports slow otherwise. A nullable column that is
    blank in every row is left to its default (NULL) rather than sent row by row.

    ``staged`` are the same rows already written to staging files (:func:`stage_frame`, in
    another thread while this transaction wrote other tables): only their copy is left to do.
    """
    columns = _inserted_columns(table, frame)
    if frame.empty or not columns:
        return
    with _indexes_built_after(conn, table, len(frame)):
        if staged is not None and staged.table == table.name and staged.columns == tuple(columns) \
                and len(staged.parts) <= attach_slots(conn):
            copy_staged(conn, staged)
            return
        if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
            copy_rows(conn, table, frame, columns)
            return
        if conn.dialect.name == "duckdb":
            _insert_registered(conn, table, frame, columns)
            return
        if len(frame) >= BULK_ROWS and can_stage(conn, table, columns):
            staged_insert(conn, table, frame, columns)
            return
        # Rows blank in every optional column (most events: a send has no user agent or link)
        # bind only the others: the driver's cost grows with the values it binds.
        optional = [name for name in columns if table.c[name].nullable]
        sparse = frame[optional].isna().all(axis="columns").to_numpy() if optional else None
        if sparse is None or not sparse.any() or sparse.all():
            _insert_rows(conn, table, frame, columns if sparse is None or not sparse.all()
                         else [name for name in columns if name not in optional])
            return
        _insert_rows(conn, table, frame[sparse], [name for name in columns if name not in optional])
        _insert_rows(conn, table, frame[~sparse], columns)


def stage_frame(conn: Connection, table: sa.Table, frame: pd.DataFrame) -> StagedRows | None:
    """Write the rows :func:`insert_frame` would insert into staging files now, where it would
    stage them (a large load into a SQLite file), leaving only their copy to the transaction;
    ``None`` elsewhere. Safe to run in a thread of its own while ``conn``'s transaction writes
    other rows: the workspace is not touched."""
    columns = _inserted_columns(table, frame)
    if len(frame) < BULK_ROWS or not columns or not can_stage(conn, table, columns):
        return None
    return stage_rows(conn, table, frame, columns)


def _inserted_columns(table: sa.Table, frame: pd.DataFrame) -> list[str]:
    return [c.name for c in table.columns if c.name in frame.columns
            and not (c.nullable and frame[c.name].isna().all())]


def _insert_registered(conn: Connection, table: sa.Table, frame: pd.DataFrame, columns: list[str]) -> None:
    """DuckDB reads the frame itself (a registered view), in one statement: its driver binds an
    ``executemany`` row by row, hours for millions of rows. The names are the schema's own."""
    driver = conn.connection.driver_connection
    view = f"engagekit_rows_{table.name}"
    driver.register(view, frame[columns])
    try:
        names = ", ".join(conn.dialect.identifier_preparer.quote(name) for name in columns)
        conn.exec_driver_sql(f"INSERT INTO {conn.dialect.identifier_preparer.format_table(table)} "
                             f"({names}) SELECT {names} FROM {view}")
    finally:
        driver.unregister(view)


def _insert_rows(conn: Connection, table: sa.Table, frame: pd.DataFrame, columns: list[str]) -> None:
    statement = sa.insert(table).compile(dialect=conn.dialect, column_keys=columns)
    # Bound parameter names are the column names made safe for the driver (a long name or one
    # with spaces gets another), so each is traced back to its column.
    escaped = getattr(statement, "escaped_bind_names", None) or {}
    if statement.positional:
        column_of = {name: bind.key for bind, name in statement.bind_names.items()}
        order = list(statement.positiontup)
    else:
        column_of = {escaped.get(name, name): bind.key
                     for bind, name in statement.bind_names.items()}
        order = list(column_of)
    for start in range(0, len(frame), INSERT_CHUNK):
        chunk = frame.iloc[start : start + INSERT_CHUNK]
        values = [driver_values(chunk[column_of[name]], table.c[column_of[name]].type, conn.dialect)
                  for name in order]
        rows = list(zip(*values, strict=True)) if statement.positional else [
            dict(zip(order, row, strict=True)) for row in zip(*values, strict=True)
        ]
        conn.exec_driver_sql(str(statement), rows)


@contextmanager
def _indexes_built_after(conn: Connection, table: sa.Table, rows: int) -> Iterator[None]:
    """On SQLite, a large load into an empty table drops the table's indexes and builds them
    after the rows are in, in the same transaction: one sort per index instead of millions of
    scattered index updates (about ten times faster). PostgreSQL keeps them: an index drop there
    takes a lock that would block every reader until the import commits."""
    if conn.dialect.name != "sqlite" or rows < BULK_ROWS or not table.indexes or conn.execute(
        sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None:
        yield
        return
    for index in table.indexes:
        index.drop(conn, checkfirst=True)
    yield
    conn.exec_driver_sql(f"PRAGMA cache_size=-{INDEX_CACHE_KIB}")
    conn.exec_driver_sql(f"PRAGMA threads={INDEX_SORT_THREADS}")  # a fifth faster at 25M rows
    for index in table.indexes:
        index.create(conn)
    conn.exec_driver_sql("PRAGMA threads=0")
    conn.exec_driver_sql("PRAGMA cache_size=-2000")  # SQLite's default again


def driver_values(column: pd.Series, kind: sa.types.TypeEngine, dialect: sa.Dialect) -> list:
    """A column as the values the driver expects (SQLAlchemy's own conversion, done per column)."""
    if isinstance(kind, sa.DateTime) and not pd.api.types.is_datetime64_any_dtype(column):
        column = pd.to_datetime(column)
    if pd.api.types.is_datetime64_any_dtype(column):
        blank = column.isna().to_numpy()
        if dialect.name == "sqlite":
            values = sqlite_times(column.to_numpy("datetime64[us]")).to_pylist()
        else:
            values = column.dt.to_pydatetime().tolist()
    else:
        blank = column.isna().to_numpy()
        # object first: a nullable column's pd.NA is no value a driver's converter accepts
        values = column.astype(object).where(~blank, None).tolist()
        process = kind.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            values = [None if value is None else process(value) for value in values]
    for position in np.flatnonzero(blank):
        values[position] = None
    return values


def _create_statistics(engine: Engine) -> None:
    """PostgreSQL: make the extended statistics of :data:`POSTGRES_STATISTICS` that are missing
    (looked up first, so opening writes nothing once they exist)."""
    with engine.connect() as conn:
        stored = set(conn.execute(sa.text("SELECT stxname FROM pg_statistic_ext")).scalars())
    missing = {name: spec for name, spec in POSTGRES_STATISTICS.items() if name not in stored}
    if not missing:
        return
    quote = engine.dialect.identifier_preparer.quote
    try:
        with engine.begin() as conn:
            for name, (table, columns) in missing.items():
                # Names come from our own schema, quoted by the dialect: no user text.
                conn.exec_driver_sql(f"CREATE STATISTICS IF NOT EXISTS {quote(name)} (mcv) ON "
                                     f"{', '.join(map(quote, columns))} FROM {quote(table)}")
                conn.exec_driver_sql(f"ANALYZE {quote(table)}")
    except sa.exc.DBAPIError:
        # A user who does not own the tables (a read-only dashboard role) opens the workspace
        # all the same: the statistics only make counts faster, and its owner's next open makes them.
        return


def mark_visible(database: Database, table: sa.Table) -> None:
    """PostgreSQL: VACUUM ``table`` after a transaction that stored rows in it has committed.

    Its new pages are then marked all-visible, so a query that an index answers (a level's
    members, a click in the last days) reads the index alone, not a table page per row: at 1M
    contacts the benchmark segment counts in 170 ms instead of 330. Autovacuum would get there
    only minutes later. VACUUM reads only the pages not yet marked. Nothing on other databases.
    """
    if database.dialect != "postgresql":
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # The table name comes from our own schema, quoted by the dialect: no user text.
        conn.exec_driver_sql(f"VACUUM {conn.dialect.identifier_preparer.format_table(table)}")


def _refresh_derived_tables(conn: Connection, tables: WorkspaceTables) -> None:
    """Drop stored snapshots made by an older layout: they are derived, so recomputed on use; give
    the events of an older layout the optional columns, blank."""
    inspector = sa.inspect(conn)
    if inspector.has_table("email_events"):
        stored = {column["name"] for column in inspector.get_columns("email_events")}
        for column in tables.email_events.columns:
            if column.name not in stored and column.nullable:
                # Names and types come from our own table definition, never from input.
                kind = column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE email_events ADD COLUMN {column.name} {kind}")
    # an index added to a table later (for a faster segment count) is made on opening
    for table in (tables.snapshot_levels, tables.counted_deliveries, tables.orders):
        if inspector.has_table(table.name):
            stored = {index["name"] for index in inspector.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in stored:
                    index.create(conn)
    if not inspector.has_table("level_snapshots"):
        return
    stored = {column["name"] for column in inspector.get_columns("level_snapshots")}
    if stored != {column.name for column in tables.level_snapshots.columns}:
        tables.snapshot_levels.drop(conn, checkfirst=True)
        tables.level_snapshots.drop(conn, checkfirst=True)


__all__ = [
    "ENV_URL",
    "Database",
    "bump_data_version",
    "default_url",
    "display_url",
    "driver_values",
    "find_or_store",
    "friendly_error",
    "insert_frame",
    "make_engine",
    "mark_visible",
    "refresh_statistics",
    "run_atomically",
    "set_meta",
    "sqlite_times",
    "stage_frame",
    "utc_now",
]
