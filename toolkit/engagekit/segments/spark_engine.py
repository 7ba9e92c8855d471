"""The Spark engine: a segment definition as one Spark SQL query over the canonical tables.

It is :class:`~engagekit.segments.sql_engine.SqlEngine`'s query, with every operator of
:mod:`engagekit.segments.operators`, compiled for Spark (:mod:`engagekit.workspace.spark`) and run
by ``spark.sql`` with named parameters. Two things differ from the workspace database:

- levels and metrics come from the levels job inlined as common table expressions
  (:func:`~engagekit.workspace.levels_sql.levels_query`, current and previous), since a lakehouse
  has no snapshot table to store them in;
- slip risk and sunset status, computed once in Python (:mod:`engagekit.segments.measures`), are
  registered as a temporary view and joined by ``contact_id`` as the level columns are;
- "has a row in" tests are correlated ``EXISTS`` (Spark plans them as semi- and anti-joins), and
  text is lower-cased with Spark's ``lower()``, which follows Java's Unicode rules as Python's
  ``str.lower`` does.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from engagekit.config import EngagementConfig
from engagekit.engagement.levels import previous_as_of
from engagekit.segments.catalog import Catalog
from engagekit.segments.definition import Criterion, SegmentDefinition
from engagekit.segments.measures import ContactMeasures, column_of
from engagekit.segments.operators import time_literal
from engagekit.segments.sql_engine import Rows, SqlEngine
from engagekit.segments.timing import events_end
from engagekit.timeutil import AsOf, as_timestamp
from engagekit.workspace.levels_sql import (
    engagement_kinds,
    flagged_for,
    judged_events,
    levels_query,
)
from engagekit.workspace.spark import SparkRunner, compile_for_spark
from engagekit.workspace.tables import build_tables


class SparkEngine(SqlEngine):
    """Evaluate segment definitions on Spark.

    Parameters
    ----------
    runner : SparkRunner
        A Spark session and the canonical tables as Parquet paths or catalog table names.
    as_of : date, time or ISO string
    config : EngagementConfig, optional
    custom_fields : dict of str to {"text", "number", "date"}, optional
        The custom contact fields (columns of ``contacts``) criteria may use.
    measures : ContactMeasures, optional
        Where slip risk and sunset status come from (by default computed from the tables, read
        back from Spark on first use, under the default sunset rule).

    Examples
    --------
    Needs pyspark and Java, so not run as a doctest (``tests/test_levels_sql.py`` runs it):

    >>> from engagekit.workspace.spark import local_spark  # doctest: +SKIP
    >>> from engagekit.segments.definition import level_segment  # doctest: +SKIP
    >>> runner = SparkRunner.from_parquet_folder(local_spark(2), "lake/crm")  # doctest: +SKIP
    >>> SparkEngine(runner, as_of="2026-11-30").count(level_segment("most_engaged"))  # doctest: +SKIP
    1234
    """

    def __init__(
        self, runner: SparkRunner, *, as_of: AsOf, config: EngagementConfig | None = None,
        custom_fields: dict[str, str] | None = None, measures: ContactMeasures | None = None,
    ):
        self.runner = runner
        self.as_of = as_timestamp(as_of)
        self.config = config or EngagementConfig()
        self.custom_fields = dict(custom_fields or {})
        self.tables = build_tables(self.custom_fields)
        self.measures = measures or ContactMeasures(
            lambda: runner.dataset(self.custom_fields), as_of=self.as_of, config=self.config)
        self._lower = sa.func.lower
        self._measure_views: dict[str, sa.TableClause] = {}

    @cached_property
    def catalog(self) -> Catalog:
        """Lists, campaigns and tags read with three small Spark queries."""
        tables = self.tables
        lists = self.runner.frame(sa.select(tables.lists.c.list_id, tables.lists.c.name))
        campaigns = self.runner.frame(sa.select(tables.campaigns.c.campaign_id, tables.campaigns.c.name))
        tags = self.runner.frame(sa.select(tables.contact_tags.c.tag).distinct())
        return Catalog(
            custom_fields=self.custom_fields,
            lists=dict(zip(lists["list_id"].astype(int), lists["name"], strict=True)),
            campaigns=dict(zip(campaigns["campaign_id"].astype(int), campaigns["name"], strict=True)),
            tags=tuple(sorted(tags["tag"])),
        )

    @cached_property
    def level_tables(self) -> tuple[Any, Any]:
        """The current and previous levels, as common table expressions of the query."""
        flagged = flagged_for(self.runner, self.config)
        return (
            levels_query(self.tables, as_of=self.as_of, config=self.config, name="current",
                         flagged=flagged).cte("current_levels"),
            levels_query(self.tables, as_of=previous_as_of(self.as_of, self.config),
                         config=self.config, name="previous", flagged=flagged)
            .cte("previous_levels"),
        )

    def members(self, definition: SegmentDefinition | str | dict) -> np.ndarray:
        """Contact ids in the segment, sorted (int64)."""
        frame = self.runner.frame(self.query(definition))
        return np.sort(frame["contact_id"].to_numpy(np.int64))

    def count(self, definition: SegmentDefinition | str | dict) -> int:
        """How many contacts are in the segment (counted by Spark)."""
        query = (sa.select(sa.func.count().label("contacts")).select_from(self.tables.contacts)
                 .where(self.condition(definition)))
        return int(self.runner.frame(query)["contacts"].iloc[0])

    def sql(self, definition: SegmentDefinition | str | dict) -> str:
        """The Spark SQL text of the query (its values are the named parameters)."""
        return compile_for_spark(self.query(definition))[0]

    def _rows(self, definition: SegmentDefinition) -> Rows:
        return self._contact_rows  # the levels are common table expressions, not stored rows

    def _snapshot_condition(self, criterion: Criterion, test: Any, rows: Rows) -> ColumnElement[bool]:
        levels = self.level_tables[1 if criterion.field == "previous_level" else 0]
        column = levels.c.level if criterion.source == "engagement" else levels.c[criterion.field]
        matching = sa.select(levels.c.contact_id).where(test(column))
        return rows.contact_id.in_(matching)

    def _measure_condition(self, criterion: Criterion, test: Any, rows: Rows) -> ColumnElement[bool]:
        view = self._measure_view(criterion.field, column_of(criterion))
        matching = sa.select(view.c.contact_id).where(test(view.c[column_of(criterion)]))
        return rows.contact_id.in_(matching)

    def _measure_view(self, field: str, column: str) -> sa.TableClause:
        """The temporary view of one measure, registered on first use. Its name is ours and new
        for each engine, so engines of other data or settings on the same Spark session never
        read each other's values."""
        if field not in self._measure_views:
            name = f"engagekit_{field}_{uuid.uuid4().hex}"
            self.runner.register_frame(name, self.measures.frame(field))
            kind = sa.Float() if column == "number" else sa.String()
            self._measure_views[field] = sa.table(name, sa.column("contact_id"), sa.column(column, kind))
        return self._measure_views[field]

    def _exists(self, rows: Rows, table: sa.Table, *conditions: ColumnElement[bool],
                source: sa.FromClause | None = None) -> ColumnElement[bool]:
        found = sa.exists().where(table.c.contact_id == rows.contact_id, *conditions)
        return found if source is None else found.select_from(source)

    def _activity(self, criterion: Criterion, rows: Rows) -> Mapping[str, ColumnElement[bool]]:
        # "opened" and "clicked" read the events themselves, with the machine verdicts beside
        # them, as the levels job does (engagement_kinds decides what counts).
        events = self.tables.email_events
        scope = self._scope(events.c.campaign_id, criterion)
        known = events.c.occurred_at < time_literal(events_end(self.as_of))
        config = self.config.for_email_activity()
        source, person = judged_events(events, flagged_for(self.runner, config))
        kinds = engagement_kinds(events, config, person)
        return {
            "sent": self._exists(rows, events, scope, known),
            "opened": self._exists(rows, events, scope, known, kinds.engaged, source=source),
            "clicked": self._exists(rows, events, scope, known, kinds.clicked, source=source),
        }


__all__ = ["SparkEngine"]
