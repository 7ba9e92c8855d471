"""Spark SQL: the levels job and segment queries, as the same Core statements, run by ``spark.sql``.

SQLAlchemy has no Spark dialect of its own, so :class:`SparkDialect` is the small one the
statements need; :class:`SparkRunner` registers the canonical tables (Parquet paths or catalog
table names) as temporary views under their canonical names, compiles a statement for Spark and
runs it with ``spark.sql(text, args=...)``: every value stays a named parameter (``:name``).

Pitfalls met on the way, each handled here:

- **Quoted identifiers**: Spark quotes with backticks; ANSI double quotes are string literals.
- **Timestamps**: a Python ``datetime`` passed as a parameter is turned into an instant with the
  *Python process's* time zone. Times are therefore passed as ISO text and cast in SQL
  (``CAST(:t AS TIMESTAMP)``), read in the session time zone, which the runner sets to UTC for
  each statement (Parquet files from pandas hold naive UTC times, read as ``TIMESTAMP_NTZ``).
- **Types**: ``VARCHAR(n)`` is a char-padded type in Spark, ``FLOAT`` is 4 bytes: the dialect
  writes ``STRING`` and ``DOUBLE``.
- **String literals**: the backslash escapes in Spark (``ESCAPE '\\'`` must be written doubled).
- **Expanding IN**: SQLAlchemy's ``IN`` lists are rendered into one named parameter per value.
- pyspark is imported only when a Spark session is made: it is an optional, heavy dependency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import default
from sqlalchemy.sql import compiler
from sqlalchemy.sql.selectable import Select

from engagekit.config import MachineRules
from engagekit.data.dataset import Dataset
from engagekit.errors import ConfigError
from engagekit.workspace.levels_sql import FlaggedEvents
from engagekit.workspace.tables import build_tables
from engagekit.workspace.verdicts import VERDICT_FOLDER, verdicts_file

TABLE_NAMES: tuple[str, ...] = (
    "contacts", "contact_tags", "lists", "list_memberships", "campaigns", "email_events", "orders",
)
"""The canonical tables a Spark runner can read (the levels job needs the first, fifth and sixth)."""

VERDICTS = VERDICT_FOLDER
"""The source of the machine verdicts of the rules in force (see :mod:`engagekit.workspace.verdicts`),
read beside the canonical tables when the engagement settings need them."""


class SparkIdentifierPreparer(compiler.IdentifierPreparer):
    def __init__(self, dialect):
        super().__init__(dialect, initial_quote="`", escape_quote="`")


class SparkTypeCompiler(compiler.GenericTypeCompiler):
    def visit_string(self, type_, **kw):
        return "STRING"

    visit_VARCHAR = visit_NVARCHAR = visit_CHAR = visit_NCHAR = visit_text = visit_TEXT = visit_string

    def visit_float(self, type_, **kw):
        return "DOUBLE"

    visit_FLOAT = visit_REAL = visit_double = visit_DOUBLE = visit_DOUBLE_PRECISION = visit_float

    def visit_datetime(self, type_, **kw):
        return "TIMESTAMP"

    visit_DATETIME = visit_TIMESTAMP = visit_datetime


class SparkCompiler(compiler.SQLCompiler):
    def render_literal_value(self, value, type_):
        # In Spark string literals the backslash escapes (LIKE's ESCAPE '\' would swallow the
        # quote): double it. Only the schema's own constants get here; values are parameters.
        if isinstance(value, str):
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return super().render_literal_value(value, type_)

    def visit_bindparam(self, bindparam, **kw):
        text = super().visit_bindparam(bindparam, **kw)
        if isinstance(bindparam.type, sa.DateTime | sa.Date) and not kw.get("literal_binds"):
            return f"CAST({text} AS TIMESTAMP)"
        return text


class SparkDialect(default.DefaultDialect):
    """Enough of Spark SQL to compile the levels job and segment queries (never to connect)."""

    name = "spark"
    paramstyle = "named"
    positional = False
    supports_native_boolean = True
    supports_simple_order_by_label = True
    statement_compiler = SparkCompiler
    type_compiler_cls = SparkTypeCompiler
    preparer = SparkIdentifierPreparer


def compile_for_spark(statement: Select) -> tuple[str, dict[str, Any]]:
    """The SQL text of ``statement`` for Spark and its named parameters.

    Examples
    --------
    >>> import sqlalchemy as sa
    >>> table = sa.table("contacts", sa.column("contact_id"))
    >>> compile_for_spark(sa.select(table.c.contact_id).where(table.c.contact_id.in_([1, 2])))[1]
    {'contact_id_1_1': 1, 'contact_id_1_2': 2}
    """
    compiled = statement.compile(dialect=SparkDialect(), compile_kwargs={"render_postcompile": True})
    return str(compiled), {name: _spark_value(value) for name, value in compiled.params.items()}


def _spark_value(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | dt.datetime):
        return pd.Timestamp(value).isoformat(sep=" ")  # cast to TIMESTAMP in SQL, see above
    if isinstance(value, np.generic):
        return value.item()
    return value


def local_spark(cores: int = 1, *, app_name: str = "engagekit") -> Any:
    """A local Spark session on ``cores`` cores.

    Needs pyspark and a Java runtime. Spark keeps one active session per process: calling again
    returns it (with its first number of cores).
    """
    try:
        from pyspark.sql import SparkSession  # optional heavy dependency, imported on demand
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ConfigError("Spark needs pyspark: pip install 'engagekit[spark]'.") from error
    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app_name)
        # The driver is the executor in local mode: Spark's 1 GB default cannot shuffle the events
        # of a million contacts. Set before the JVM starts (the builder starts it).
        .config("spark.driver.memory", "6g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(max(2 * cores, 2)))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .getOrCreate()
    )


def write_parquet_tables(data: Any, folder: str | Path, names: tuple[str, ...] = TABLE_NAMES) -> Path:
    """Write each canonical table of ``data`` (a :class:`~engagekit.data.dataset.Dataset`) to
    ``<folder>/<table>.parquet``, ready for :meth:`SparkRunner.from_parquet_folder`.

    A column with no value at all has Arrow's ``null`` type, which Spark reads as ``VOID`` and
    cannot compare with anything: such columns are written as text.

    Examples
    --------
    >>> import tempfile
    >>> from engagekit.data.sample import generate_sample
    >>> folder = write_parquet_tables(generate_sample(20, seed=1), tempfile.mkdtemp())
    >>> sorted(path.name for path in folder.iterdir())[:2]
    ['campaigns.parquet', 'contact_tags.parquet']
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        table = pa.Table.from_pandas(getattr(data, name), preserve_index=False)
        schema = pa.schema([pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
                            for f in table.schema])
        pq.write_table(table.cast(schema), folder / f"{name}.parquet")
    return folder


@dataclass
class SparkRunner:
    """Runs Core statements on a Spark session over the canonical tables.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    sources : mapping of table name to source
        A source is a Parquet path (a file or folder, given as :class:`pathlib.Path` or a string
        ending in ``.parquet``) or a catalog table name (``"sales.crm.email_events"``). Each is
        registered as a temporary view under its canonical name. ``machine_verdicts`` (the
        flagged events of the machine rules in force, :func:`~engagekit.workspace.verdicts.
        write_verdicts_file`) is needed unless every open and click counts.

    Examples
    --------
    Needs pyspark and Java, so not run as a doctest (``tests/test_levels_sql.py`` runs it):

    >>> from engagekit.workspace.levels_sql import levels_in_database
    >>> from engagekit.workspace.tables import build_tables
    >>> runner = SparkRunner(local_spark(2), {  # doctest: +SKIP
    ...     "contacts": "lake/contacts.parquet", "campaigns": "lake/campaigns.parquet",
    ...     "email_events": "crm.email_events"})
    >>> levels = levels_in_database(runner, build_tables(),  # doctest: +SKIP
    ...                             as_of=pd.Timestamp("2026-11-30"))
    >>> levels.counts()["most_engaged"]  # doctest: +SKIP
    1234
    """

    spark: Any
    sources: Mapping[str, str | Path]
    verdict_rules: MachineRules | None = None  # the rules of the machine_verdicts source, if known
    _registered: bool = field(default=False, init=False)

    @classmethod
    def from_parquet_folder(cls, spark: Any, folder: str | Path,
                            rules: MachineRules | None = None) -> SparkRunner:
        """A runner over ``<folder>/<table>.parquet`` for each canonical table present, and the
        verdicts of ``rules`` (default rules by default) when written there."""
        folder = Path(folder)
        sources: dict[str, str | Path] = {name: folder / f"{name}.parquet" for name in TABLE_NAMES
                                          if (folder / f"{name}.parquet").exists()}
        verdicts = verdicts_file(folder, rules or MachineRules())
        if verdicts.exists():
            sources[VERDICTS] = verdicts
        return cls(spark, sources, verdict_rules=rules or MachineRules())

    def flagged_events(self, rules: MachineRules) -> FlaggedEvents:
        """The ``machine_verdicts`` view: the verdicts of the rules the runner was given."""
        if VERDICTS not in self.sources:
            raise ConfigError(
                "The engagement settings leave machine opens or scanner clicks out, and Spark has "
                "no machine verdicts to tell them apart: give the runner a 'machine_verdicts' "
                "source (write_verdicts_file), or count every open and click.")
        if self.verdict_rules is not None and rules != self.verdict_rules:
            raise ConfigError("The runner's machine verdicts were made under other machine rules "
                              "than the settings in force: make the runner for these rules.")
        verdicts = build_tables().machine_verdicts
        return FlaggedEvents(sa.table(VERDICTS, *[sa.column(c.name, c.type) for c in verdicts.c
                                                  if c.name != "rules_id"]))

    def register(self) -> None:
        """Register every source as a temporary view named after its canonical table."""
        unknown = sorted(set(self.sources) - {*TABLE_NAMES, VERDICTS})
        if unknown:
            raise ConfigError(f"Unknown table(s) for Spark: {', '.join(unknown)}.")
        for name, source in self.sources.items():
            if isinstance(source, Path) or str(source).endswith(".parquet"):
                frame = self.spark.read.parquet(str(source))
            else:
                frame = self.spark.table(str(source))
            frame.createOrReplaceTempView(name)
        self._registered = True

    def register_frame(self, name: str, frame: pd.DataFrame) -> None:
        """Register a pandas frame (values the library computed, such as slip risk) as the
        temporary view ``name``; blank numbers become ``NULL``, as in a database."""
        if not self._registered:
            self.register()
        # NaN is a value in Spark (equal to itself, above every number), not a blank: send None.
        rows = frame.astype(object).where(frame.notna(), None)
        self.spark.createDataFrame(rows, schema=_spark_schema(frame)).createOrReplaceTempView(name)

    def dataset(self, custom_fields: dict[str, str] | None = None) -> Any:
        """The canonical tables read back as a :class:`~engagekit.data.dataset.Dataset`, for what
        only the library computes (slip risk, sunset status)."""
        if not self._registered:
            self.register()
        frames = {name: self.frame(sa.select(sa.literal_column("*")).select_from(sa.table(name)))
                  for name in self.sources if name in TABLE_NAMES}
        return Dataset.from_frames(**frames, custom_fields=custom_fields)

    def dataframe(self, statement: Select) -> Any:
        """The statement as a Spark DataFrame (lazy: nothing runs until it is collected)."""
        if not self._registered:
            self.register()
        text, params = compile_for_spark(statement)
        return self.spark.sql(text, args=params)

    def frame(self, statement: Select) -> pd.DataFrame:
        """Run ``statement`` on Spark and return its rows as a pandas frame."""
        conf = self.spark.conf
        zone = conf.get("spark.sql.session.timeZone")
        conf.set("spark.sql.session.timeZone", "UTC")  # naive times are UTC (see module notes)
        try:
            # toPandas, not collect(): Row objects turn times into the Python process's local time,
            # toPandas into the session's (UTC).
            return self.dataframe(statement).toPandas()
        finally:
            conf.set("spark.sql.session.timeZone", zone)


def _spark_schema(frame: pd.DataFrame) -> str:
    """A Spark DDL schema for a frame of ids, numbers and text."""
    def kind(dtype: Any) -> str:
        if pd.api.types.is_integer_dtype(dtype):
            return "BIGINT"
        return "DOUBLE" if pd.api.types.is_float_dtype(dtype) else "STRING"

    return ", ".join(f"`{column}` {kind(dtype)}" for column, dtype in frame.dtypes.items())


__all__ = ["TABLE_NAMES", "VERDICTS", "SparkDialect", "SparkRunner", "compile_for_spark", "local_spark",
           "write_parquet_tables"]
