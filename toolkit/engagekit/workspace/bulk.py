"""Bulk loads of large frames into the workspace database, inside the caller's transaction.

- **SQLite**: the rows go from Arrow through ADBC's bulk ingest (C, no Python object per value)
  into a staging file beside the database (two at once for millions of rows); the transaction
  then attaches each file and copies its rows in with one ``INSERT INTO ... SELECT *``, which
  SQLite runs as a record-by-record transfer (the target of the same layout, its indexes
  dropped for the load or the table empty). The workspace itself only changes
  inside the caller's transaction, so a failed or killed import leaves it as it was; the staging
  file is removed when the connection goes back to the pool.
- **PostgreSQL** (psycopg): ``COPY ... FROM STDIN`` on the transaction's own connection, the rows
  written as CSV by Arrow.

Table and column names in the statements come from the workspace schema, quoted by the dialect;
values travel only as data, never as SQL.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc_sqlite
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable

from engagekit.errors import WorkspaceError

COPY_CHUNK = 500_000
BATCH_ROWS = 1_000_000
"""Rows per Arrow batch handed to the driver: memory holds one batch's converted values."""

KEYED_STAGING_CACHE_KIB = 128 * 1024
"""SQLite's cache for a staging file whose table has a key or a unique column (1M contacts staged
in 3.4-3.8 s with it, 5.5-7.3 s with the default 2 MB)."""

SPLIT_ROWS = 2_000_000
"""A load of at least twice this many rows is staged in two files at once."""
STAGING_THREADS = 2

STAGING = "engagekit_staging"
"""The schema name the staging file is attached under."""
_STAGING_KEY = "engagekit_staging_folder"  # in the pooled connection's info
_ALIASES_KEY = "engagekit_staging_aliases"
ABANDONED_AFTER_SECONDS = 3600
"""A staging folder untouched this long was left by a killed import (a running one writes)."""
MAX_STAGED = 8
"""Staging files one transaction attaches at most (SQLite attaches ten databases at most; a
database read inside the transaction keeps its snapshot, so each load gets a file of its own)."""


def sqlite_times(times: np.ndarray) -> pa.Array:
    """Times as SQLAlchemy's SQLite DATETIME text (``2026-11-24 10:15:00.000000``), so stored
    text compares as times do; formatted by Arrow's cast (a blank time stays blank), some ten
    times faster than numpy's ``datetime_as_string``.

    Examples
    --------
    >>> sqlite_times(np.array(["2026-11-24T10:15:00.5", "NaT"], dtype="datetime64[us]")).to_pylist()
    ['2026-11-24 10:15:00.500000', None]
    """
    return pa.array(times.astype("datetime64[us]")).cast(pa.large_string())


def can_stage(conn: Connection, table: sa.Table, columns: list[str]) -> bool:
    """Whether ``table`` can be loaded through a staging file: a SQLite file database, and every
    column left out a plain NULL (no default that SQLAlchemy would fill in row by row)."""
    database = conn.engine.url.database
    if conn.dialect.name != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return False
    if len(conn.info.get(_ALIASES_KEY, ())) >= MAX_STAGED:
        return False
    return all(column.name in columns or (column.nullable and column.default is None
                                          and column.server_default is None)
               for column in table.columns)


@dataclass(frozen=True)
class StagedRows:
    """Rows of a frame written to staging files (:func:`stage_rows`), ready to be copied into
    ``table`` inside the transaction (:func:`copy_staged`)."""

    table: str
    columns: tuple[str, ...]
    parts: tuple[tuple[sa.Table, Path], ...]


def staged_insert(conn: Connection, table: sa.Table, frame: pd.DataFrame, columns: list[str]) -> None:
    """Insert ``frame``'s ``columns`` into ``table`` (SQLite) through staging files
    (:func:`stage_rows`, then :func:`copy_staged`)."""
    copy_staged(conn, stage_rows(conn, table, frame, columns, parts_at_most=attach_slots(conn)))


def stage_rows(conn: Connection, table: sa.Table, frame: pd.DataFrame, columns: list[str], *,
               parts_at_most: int = STAGING_THREADS) -> StagedRows:
    """Write ``frame``'s ``columns`` into new staging files of ``conn``'s transaction, in the
    layout of ``table``; the workspace is not touched, so another thread may do this while the
    transaction writes other rows.

    Millions of rows are split in two files written at once: the driver binds the values in C,
    away from Python's lock, so two threads take half the time.
    """
    folder = _staging_folder(conn)
    n_parts = max(min(len(frame) // SPLIT_ROWS, STAGING_THREADS, parts_at_most), 1)
    bounds = np.linspace(0, len(frame), n_parts + 1).astype(int)
    # names of their own: two threads of one import may stage at once
    parts = [(_staging_table(table, f"{table.name}_{uuid.uuid4().hex[:12]}"), frame.iloc[low:high])
             for low, high in zip(bounds[:-1], bounds[1:], strict=True)]
    with ThreadPoolExecutor(max_workers=n_parts) as pool:
        paths = list(pool.map(lambda part: _staged_file(conn, folder, table, *part, columns), parts))
    return StagedRows(table=table.name, columns=tuple(columns),
                      parts=tuple((staged, path) for (staged, _), path in zip(parts, paths, strict=True)))


def attach_slots(conn: Connection) -> int:
    """How many more staging files ``conn``'s transaction can attach."""
    return MAX_STAGED - len(conn.info.get(_ALIASES_KEY, ()))


def copy_staged(conn: Connection, staged: StagedRows) -> None:
    """Copy staged rows into their table, in their order, inside ``conn``'s transaction."""
    quote = conn.dialect.identifier_preparer
    for table, path in staged.parts:
        alias = quote.quote(f"{STAGING}_{table.name}")
        conn.exec_driver_sql(f"ATTACH DATABASE ? AS {alias}", (str(path),))
        conn.info.setdefault(_ALIASES_KEY, []).append(alias)  # detached even if the copy fails
        # All columns in the same order, so SQLite can copy whole records (the staging table has
        # the target's layout; columns not loaded are NULL in both).
        conn.exec_driver_sql(f"INSERT INTO main.{quote.quote(staged.table)} "
                             f"SELECT * FROM {alias}.{quote.quote(table.name)}")


def _staged_file(conn: Connection, folder: Path, table: sa.Table, staged: sa.Table,
                 frame: pd.DataFrame, columns: list[str]) -> Path:
    """Write ``frame`` into a new staging file holding ``staged`` (``table``'s layout)."""
    path = folder / f"{staged.name}.db"
    try:
        # A scratch file, removed whatever happens: no journal and no flush to disk (settings
        # SQLite takes outside a transaction only); the driver ingests in one transaction.
        with adbc_sqlite.connect(str(path), autocommit=True) as staging, staging.cursor() as cursor:
            pragmas = ["PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF"]
            if staged.primary_key.columns or any(isinstance(constraint, sa.UniqueConstraint)
                                                 for constraint in staged.constraints):
                # rows go into key indexes in no order (contacts by id and by email): their
                # pages held in memory, not read back from the file
                pragmas.append(f"PRAGMA cache_size=-{KEYED_STAGING_CACHE_KIB}")
            for pragma in pragmas:
                cursor.execute(pragma)
                cursor.fetchall()
            cursor.execute(str(CreateTable(staged).compile(dialect=conn.dialect)))
            cursor.adbc_ingest(staged.name, _batches(table, frame, columns), mode="append")
    except adbc_sqlite.Error as error:  # the driver's first line says what failed (disk full...)
        reason = str(error).splitlines()[0]
        raise WorkspaceError(f"The workspace database failed: {reason}") from None
    return path


def release_staging(dbapi_connection, info: dict) -> None:
    """Detach and remove the staging files of a connection whose transaction has ended."""
    folder = info.pop(_STAGING_KEY, None)
    for alias in info.pop(_ALIASES_KEY, []):
        # the alias is ours (see staged_insert); a broken connection is discarded by the pool
        with contextlib.suppress(Exception):
            dbapi_connection.execute(f"DETACH DATABASE {alias}")
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


_folder_lock = threading.Lock()  # two threads of one import may ask for the folder at once


def _staging_folder(conn: Connection) -> Path:
    with _folder_lock:
        folder = conn.info.get(_STAGING_KEY)
        if folder is None:
            # beside the database: on the disk chosen for it, not in a small temporary folder
            database = Path(conn.engine.url.database).expanduser()
            prefix = f".{database.name}.staging-"
            for stale in database.parent.glob(f"{prefix}*"):  # left by a killed import
                with contextlib.suppress(OSError):
                    if time.time() - stale.stat().st_mtime > ABANDONED_AFTER_SECONDS:
                        shutil.rmtree(stale, ignore_errors=True)
            folder = Path(tempfile.mkdtemp(prefix=prefix, dir=database.parent))
            conn.info[_STAGING_KEY] = folder
        return Path(folder)


def _staging_table(table: sa.Table, name: str) -> sa.Table:
    """``table``'s columns, key and unique constraints under another name: the layout SQLite
    needs to copy whole records. Secondary indexes are left out (the target has them dropped
    for a large load, or keeps them and gets rows one by one), and so are foreign keys (the
    staging file holds no other table; the target checks them)."""
    columns = [sa.Column(c.name, c.type, nullable=c.nullable, primary_key=c.primary_key,
                         autoincrement=c.autoincrement) for c in table.columns]
    uniques = [sa.UniqueConstraint(*[c.name for c in constraint.columns])
               for constraint in table.constraints if isinstance(constraint, sa.UniqueConstraint)]
    return sa.Table(name, sa.MetaData(), *columns, *uniques, **table.dialect_kwargs)


def _batches(table: sa.Table, frame: pd.DataFrame, columns: list[str]) -> pa.RecordBatchReader:
    """The rows as Arrow batches of the values SQLite stores: times as SQLAlchemy's text,
    flags as 0 / 1, blanks as NULL; the Arrow type of each column follows its SQL type."""
    kinds = {name: table.c[name].type for name in columns}
    schema = pa.schema([(name, _arrow_type(kind)) for name, kind in kinds.items()])

    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, len(frame), BATCH_ROWS):
            chunk = frame.iloc[start : start + BATCH_ROWS]
            # a pandas text column comes as chunks of Arrow: the table lines them up
            yield from pa.Table.from_arrays(
                [_arrow(chunk[name], kinds[name], schema.field(name).type) for name in columns],
                schema=schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


def _arrow_type(kind: sa.types.TypeEngine) -> pa.DataType:
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    if isinstance(kind, sa.Integer):
        return pa.int64()
    if isinstance(kind, sa.Float):
        return pa.float64()
    return pa.large_string()  # text, and times as text


def _arrow(values: pd.Series, kind: sa.types.TypeEngine, arrow_type: pa.DataType) -> pa.Array | pa.ChunkedArray:
    if isinstance(kind, sa.DateTime):
        times = values if pd.api.types.is_datetime64_any_dtype(values) else pd.to_datetime(values)
        return sqlite_times(times.to_numpy("datetime64[us]"))
    if values.dtype == object:  # pd.NA and NaN are no value Arrow takes for a bool or a text
        values = values.where(values.notna(), None)
    return pa.array(values, from_pandas=True).cast(arrow_type)


def copy_rows(conn: Connection, table: sa.Table, frame: pd.DataFrame, columns: list[str]) -> None:
    """PostgreSQL's bulk load: the rows as CSV (written by Arrow) through ``COPY ... FROM STDIN``
    on the transaction's own connection, many times faster than one INSERT per row.

    CSV as PostgreSQL reads it: an empty unquoted cell is NULL, a quoted empty one an empty text.
    Rows are sent in the order of the table's primary key (or of its index, for a table without
    one: events), so PostgreSQL appends to the index instead of updating it all over (a quarter
    faster for millions of events; the machine verdicts, which come in event order, a fifth).
    """
    quote = conn.dialect.identifier_preparer
    names = ", ".join(quote.quote(column) for column in columns)
    statement = f"COPY {quote.format_table(table)} ({names}) FROM STDIN WITH (FORMAT csv)"
    options = pa_csv.WriteOptions(include_header=False, batch_size=50_000)
    cursor = conn.connection.driver_connection.cursor()
    order = _index_order(table, frame)
    # Arrow once, then its take per chunk: C that leaves Python's lock to the import's second
    # thread, where taking rows from the pandas frame held it for most of the load.
    rows = pa.Table.from_pandas(frame[columns], preserve_index=False)
    with cursor.copy(statement) as copy:
        for start in range(0, len(frame), COPY_CHUNK):
            chunk = rows.slice(start, COPY_CHUNK) if order is None \
                else _taken(rows, order[start : start + COPY_CHUNK])
            text = io.BytesIO()
            pa_csv.write_csv(chunk, text, write_options=options)
            copy.write(text.getvalue())


def _taken(rows: pa.Table, picked: np.ndarray) -> pa.Table:
    """``rows.take(picked)``, from the slice of ``rows`` the picked rows lie in: a take
    concatenates the chunks it reads, and rows that come grouped (events, by campaign) lie in a
    few."""
    low = int(picked.min())
    return rows.slice(low, int(picked.max()) + 1 - low).take(picked - low)


def _index_order(table: sa.Table, frame: pd.DataFrame) -> np.ndarray | None:
    """The order of ``frame``'s rows by ``table``'s primary key (or first index); ``None`` when
    they are in that order already."""
    if table.primary_key.columns:
        names = [column.name for column in table.primary_key.columns]
    elif table.indexes:
        names = [column.name for column in min(table.indexes, key=lambda index: index.name).columns]
    else:
        return None
    if len(frame) < 2 or any(name not in frame.columns for name in names):
        return None
    order = np.lexsort([_sortable(frame[name]) for name in reversed(names)])
    return None if np.array_equal(order, np.arange(len(frame))) else order


def _sortable(values: pd.Series) -> np.ndarray:
    """Numbers and times as they are; text as integer codes in its order (numpy sorts Python
    strings slowly)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values.to_numpy()
    return pd.factorize(values, sort=True)[0]


__all__ = [
    "StagedRows", "attach_slots", "can_stage", "copy_rows", "copy_staged", "release_staging",
    "sqlite_times", "stage_rows", "staged_insert",
]
