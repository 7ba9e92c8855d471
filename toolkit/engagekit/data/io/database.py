"""Import from any database SQLAlchemy can reach, given a column mapping.

A mapping says, for each canonical table (see :mod:`engagekit.data.schema`), which table of the source
database holds it and which of its columns hold each canonical column. Only ``contacts`` is
required. For contacts, ``tags`` may map to a column of ';'-separated tags, and ``custom_fields``
maps field names to more columns. The rows are then checked exactly like the canonical CSV layout,
and a problem is reported as ``<table>`` (the source table's name), row and column.
``email_events`` may map the optional ``machine``, ``user_agent``, ``ip`` and ``link`` columns
(see :mod:`engagekit.data.schema`) when the source database records them; unmapped, they are blank.

Table and column names are checked against the source database's own catalogue before anything is
read; the query is built from those reflected objects, never from text.

Example mapping (JSON)::

    {"contacts": {"table": "crm_people",
                  "columns": {"contact_id": "id", "email": "email_address", "first_name": "given",
                              "last_name": "family", "date_added": "created",
                              "email_status": "status", "tags": "labels"},
                  "custom_fields": {"city": "town"}},
     "campaigns": {"table": "mailings", "columns": {"campaign_id": "id", "name": "subject",
                                                    "sent_at": "sent"}},
     "email_events": {"table": "activity", "columns": {"contact_id": "person_id",
                      "campaign_id": "mailing_id", "event_type": "kind", "occurred_at": "at"}}}
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engagekit.data.dataset import Dataset
from engagekit.data.io.canonical import read_sources
from engagekit.data.io.reading import SourceFile
from engagekit.data.schema import CSV_FILES, TABLES
from engagekit.errors import DataError, ImportReport


class TableMapping(BaseModel):
    """Where one canonical table lives in the source database."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    table: str
    db_schema: str | None = Field(None, alias="schema")
    columns: dict[str, str]
    custom_fields: dict[str, str] = Field(default_factory=dict)


class DatabaseMapping(BaseModel):
    """Canonical table -> :class:`TableMapping`; ``contacts`` is required."""

    model_config = ConfigDict(extra="forbid")

    contacts: TableMapping
    lists: TableMapping | None = None
    list_memberships: TableMapping | None = None
    campaigns: TableMapping | None = None
    email_events: TableMapping | None = None
    orders: TableMapping | None = None

    @classmethod
    def parse(cls, value: DatabaseMapping | dict | str) -> DatabaseMapping:
        """A mapping from a dict or JSON text, with errors that say where."""
        if isinstance(value, cls):
            return value
        try:
            return cls.model_validate_json(value) if isinstance(value, str) else cls.model_validate(value)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in item['loc']) or 'mapping'}: {item['msg']}"
                for item in error.errors()
            )
            raise DataError(f"invalid database mapping: {problems}") from None


def read_database(url: str, mapping: DatabaseMapping | dict | str) -> tuple[Dataset, ImportReport]:
    """Read the mapped tables of the database at ``url`` and check them like canonical files.

    Examples
    --------
    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> with engine.begin() as conn:
    ...     _ = conn.exec_driver_sql("CREATE TABLE people (id INTEGER, mail TEXT)")
    ...     _ = conn.exec_driver_sql("INSERT INTO people VALUES (1, 'Ann@Example.com'), (2, 'bad')")
    >>> ds, report = read_database(engine, {"contacts": {"table": "people",
    ...                                     "columns": {"contact_id": "id", "email": "mail"}}})
    >>> ds.contacts["email"].tolist(), str(report.issues[0])
    (['ann@example.com'], "people, row 3, column 'email': not a valid email address; row skipped (value 'bad')")
    """
    mapping = DatabaseMapping.parse(mapping)
    engine = url if isinstance(url, sa.Engine) else _engine(url)
    shown = engine.url.render_as_string(hide_password=True)
    report = ImportReport()
    frames = {}
    try:
        with engine.connect() as conn:
            for table in CSV_FILES:
                spec = getattr(mapping, table)
                if spec is not None:
                    frames[table] = (spec.table, _read_mapped(conn, table, spec))
    except sa.exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise DataError(f"cannot read database {shown}: {reason}") from None
    sources = {table: (lambda frame=frame, label=label: SourceFile.from_frame(frame, report, label=label))
               for table, (label, frame) in frames.items()}
    return read_sources(sources, report), report


def _engine(url: str) -> sa.Engine:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise DataError("not a database URL (e.g. postgresql+psycopg://user@host/db)") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        # SQLite would quietly create a missing file: a typo must not read as an empty database.
        path = parsed.database
        if not path or path == ":memory:" or not Path(path).expanduser().is_file():
            raise DataError(f"no SQLite database file at {shown}")
    try:
        return sa.create_engine(parsed)
    except (sa.exc.ArgumentError, ImportError) as error:
        raise DataError(f"cannot use database {shown}: {error}") from None


def _read_mapped(conn: sa.Connection, table: str, spec: TableMapping) -> pd.DataFrame:
    allowed = set(TABLES[table]) | ({"tags"} if table == "contacts" else set())
    unknown = sorted(set(spec.columns) - allowed)
    if unknown:
        raise DataError(f"mapping for {table}: unknown column(s) {', '.join(unknown)} "
                        f"(allowed: {', '.join(sorted(allowed))})")
    if spec.custom_fields and table != "contacts":
        raise DataError(f"mapping for {table}: only contacts have custom fields")
    clash = sorted(set(spec.custom_fields) & allowed)
    if clash:
        raise DataError(f"mapping for contacts: custom field name(s) {', '.join(clash)} are "
                        "standard contact columns")
    try:
        source = sa.Table(spec.table, sa.MetaData(), schema=spec.db_schema, autoload_with=conn)
    except sa.exc.NoSuchTableError:
        found = ", ".join(sa.inspect(conn).get_table_names(schema=spec.db_schema)) or "none"
        raise DataError(f"database has no table '{spec.table}' (tables: {found})") from None
    wanted = {**spec.columns, **spec.custom_fields}
    missing = sorted({column for column in wanted.values() if column not in source.c})
    if missing:
        raise DataError(f"table '{spec.table}' has no column(s) {', '.join(missing)} "
                        f"(columns: {', '.join(source.c.keys())})")
    query = sa.select(*[source.c[column].label(name) for name, column in wanted.items()])
    return pd.read_sql(query, conn)
