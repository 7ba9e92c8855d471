"""The SQL engine: a segment definition as one SQLAlchemy Core query over the workspace database.

The query selects ``contacts.contact_id`` with one boolean condition per criterion: columns of
``contacts`` directly, levels and metrics through ``IN`` subqueries on the level snapshots
(``snapshot_levels``) that the levels job computes and stores inside the database, memberships,
tags, email activity and purchases through correlated ``EXISTS``, order aggregates through
correlated scalar subqueries; slip risk and sunset status through ``IN`` subqueries on the
workspace's stored contact measures (``contact_measures``, computed once in Python, see
:mod:`engagekit.segments.measures`). "Opened" and "clicked" read the workspace's counted deliveries of the
engagement rule in force (``counted_deliveries``, stored on first use: machine opens and scanner
clicks left out as the rule says, exactly as the in-memory engine leaves them out); "was sent"
reads the events. Every value is a bound
parameter and every time cut-off is computed in Python (:mod:`engagekit.segments.timing`), so the
same query runs on SQLite and PostgreSQL; :meth:`SqlEngine.sql` shows it with the values inlined,
for display only.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from engagekit.config import EngagementConfig
from engagekit.engagement.levels import previous_as_of
from engagekit.segments.catalog import Catalog
from engagekit.segments.definition import Criterion, Group, SegmentDefinition
from engagekit.segments.dialects import text_lowerer
from engagekit.segments.measures import ContactMeasures, column_of, is_measure
from engagekit.segments.operators import (
    OPERATORS,
    SqlText,
    argument,
    time_literal,
)
from engagekit.segments.timing import campaign_scope, events_end, order_window
from engagekit.segments.validation import check_definition, resolve_field
from engagekit.timeutil import AsOf, as_timestamp
from engagekit.workspace import Workspace


class SqlEngine:
    """Evaluate segment definitions inside a workspace database.

    Levels and metrics come from level snapshots stored in the workspace: the current one as of
    ``as_of`` and the previous one as of ``as_of - config.previous_period_days``, each with its
    own thresholds, exactly as :func:`~engagekit.engagement.levels.current_and_previous` computes
    them. A missing snapshot is computed by the levels job *inside the database*
    (:mod:`engagekit.workspace.levels_sql`, stored with ``INSERT ... SELECT``), so counting a
    segment never loads events into Python; stored snapshots are reused.

    Parameters
    ----------
    workspace : Workspace
    as_of : date, time or ISO string
    config : EngagementConfig, optional
    measures : ContactMeasures, optional
        Where slip risk and sunset status come from before they are stored (by default
        computed from the workspace data on first use, under the default sunset rule).

    Examples
    --------
    >>> import tempfile
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.segments.definition import level_segment
    >>> ws = Workspace.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> _ = ws.import_dataset(generate_sample(200, seed=1))
    >>> engine = SqlEngine(ws, as_of="2026-11-30")
    >>> most = level_segment("most_engaged")
    >>> engine.count(most) == len(engine.members(most))
    True
    """

    def __init__(
        self, workspace: Workspace, *, as_of: AsOf, config: EngagementConfig | None = None,
        measures: ContactMeasures | None = None,
    ):
        self.workspace = workspace
        self.as_of = as_timestamp(as_of)
        self.config = config or EngagementConfig()
        self.tables = workspace.tables
        self.measures = measures or ContactMeasures(workspace.load, as_of=self.as_of, config=self.config)
        self._lower = text_lowerer(workspace.engine)
        self._measure_sets: dict[str, int] = {}

    # -- public ------------------------------------------------------------------------------
    @cached_property
    def catalog(self) -> Catalog:
        return Catalog.from_workspace(self.workspace, self.tables)

    @cached_property
    def counting_id(self) -> int:
        """Id of the stored counted deliveries of the engagement rule (stored on first use)."""
        return self.workspace.ensure_counting(self.config)

    @cached_property
    def snapshot_ids(self) -> tuple[int, int]:
        """Ids of the stored current and previous level snapshots (stored on first use)."""
        with self.workspace.engine.connect() as conn:
            contacts = conn.execute(
                sa.select(sa.func.count()).select_from(self.tables.contacts)
            ).scalar()
        if not contacts:
            return -1, -1  # levels of no contacts: nothing to store, nothing matches
        ensure = self.workspace.snapshots.ensure_in_database
        return (
            ensure(as_of=self.as_of, config=self.config),
            ensure(as_of=previous_as_of(self.as_of, self.config), config=self.config),
        )

    def condition(self, definition: SegmentDefinition | str | dict) -> ColumnElement[bool]:
        """The boolean condition on ``contacts`` rows that a definition stands for."""
        definition = SegmentDefinition.coerce(definition)
        check_definition(definition, self.catalog)
        return self._group(definition.criteria)

    def query(self, definition: SegmentDefinition | str | dict) -> sa.Select:
        """``SELECT contact_id FROM contacts WHERE ...`` ordered by id, with bound parameters."""
        contacts = self.tables.contacts
        return (
            sa.select(contacts.c.contact_id)
            .where(self.condition(definition))
            .order_by(contacts.c.contact_id)
        )

    def members(self, definition: SegmentDefinition | str | dict) -> np.ndarray:
        """Contact ids in the segment, sorted (int64)."""
        with self.workspace.engine.connect() as conn:
            ids = conn.execute(self.query(definition)).scalars().all()
        return np.array(ids, dtype=np.int64)

    def count(self, definition: SegmentDefinition | str | dict) -> int:
        """How many contacts are in the segment (counted by the database)."""
        query = (
            sa.select(sa.func.count())
            .select_from(self.tables.contacts)
            .where(self.condition(definition))
        )
        with self.workspace.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def sql(self, definition: SegmentDefinition | str | dict) -> str:
        """The query as SQL text with values inlined — for display only, never to run."""
        compiled = self.query(definition).compile(
            dialect=self.workspace.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        return str(compiled)

    # -- tree --------------------------------------------------------------------------------
    def _group(self, group: Group) -> ColumnElement[bool]:
        parts = [
            self._group(node) if isinstance(node, Group) else self._criterion(node)
            for node in group.group
        ]
        return sa.and_(*parts) if group.type == "and" else sa.or_(*parts)

    def _criterion(self, criterion: Criterion) -> ColumnElement[bool]:
        op = OPERATORS[criterion.op]
        arg = argument(criterion.op, criterion.value, self.as_of)
        if is_measure(criterion):
            return self._measure_condition(criterion, lambda column: op.sql(column, arg))
        if criterion.source in ("engagement", "metrics"):
            return self._snapshot_condition(criterion, lambda column: op.sql(column, arg))
        operand = getattr(self, _OPERANDS[criterion.source])(criterion)
        return op.sql(operand, arg)

    # -- operands per source -----------------------------------------------------------------
    def _snapshot_condition(self, criterion: Criterion, test: Any) -> ColumnElement[bool]:
        rows = self.tables.snapshot_levels
        snapshot = self.snapshot_ids[1 if criterion.field == "previous_level" else 0]
        column = rows.c.level if criterion.source == "engagement" else rows.c[criterion.field]
        matching = sa.select(rows.c.contact_id).where(rows.c.snapshot_id == snapshot, test(column))
        return self.tables.contacts.c.contact_id.in_(matching)

    def _measure_condition(self, criterion: Criterion, test: Any) -> ColumnElement[bool]:
        rows = self.tables.contact_measures
        field = criterion.field
        if field not in self._measure_sets:
            self._measure_sets[field] = self.workspace.measures.ensure(
                field, as_of=self.as_of, settings=self.measures.settings_key(field),
                compute=lambda: self.measures.frame(field))
        matching = sa.select(rows.c.contact_id).where(
            rows.c.measure_set_id == self._measure_sets[field], test(rows.c[column_of(criterion)]))
        return self.tables.contacts.c.contact_id.in_(matching)

    def _contact(self, criterion: Criterion) -> Any:
        column = self.tables.contacts.c[criterion.field]
        if resolve_field(criterion, self.catalog).kind == "text":
            return SqlText(raw=column, lowered=self._lower(column))
        return column

    def _exists(self, table: sa.Table, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        """Whether the contact has a row of ``table`` meeting ``conditions``.

        SQLite runs an uncorrelated ``IN`` subquery once and looks contacts up in the result,
        several times faster than a correlated ``EXISTS`` per contact; PostgreSQL plans
        ``EXISTS`` / ``NOT EXISTS`` as semi- and anti-joins, while its ``NOT IN`` over a large
        subquery would not be. (The contact id columns are never NULL, so ``NOT IN`` is safe.)
        """
        contact_id = self.tables.contacts.c.contact_id
        if self.workspace.engine.dialect.name == "sqlite":
            return contact_id.in_(sa.select(table.c.contact_id).where(*conditions))
        return sa.exists().where(table.c.contact_id == contact_id, *conditions)

    def _lists(self, criterion: Criterion) -> Mapping[str, ColumnElement[bool]]:
        table = self.tables.list_memberships
        return {"member": self._exists(table, table.c.list_id.in_(criterion.value))}

    def _tags(self, criterion: Criterion) -> Mapping[str, ColumnElement[bool]]:
        table = self.tables.contact_tags
        return {"member": self._exists(table, table.c.tag.in_(criterion.value))}

    def _activity(self, criterion: Criterion) -> Mapping[str, ColumnElement[bool]]:
        events, counted = self.tables.email_events, self.tables.counted_deliveries
        end = time_literal(events_end(self.as_of))
        ours = counted.c.counting_id == self.counting_id
        return {
            "sent": self._exists(
                events, self._scope(events.c.campaign_id, criterion), events.c.occurred_at < end),
            "opened": self._exists(
                counted, ours, self._scope(counted.c.campaign_id, criterion), counted.c.engaged_at < end),
            "clicked": self._exists(
                counted, ours, self._scope(counted.c.campaign_id, criterion), counted.c.clicked_at < end),
        }

    def _scope(self, campaign_id: sa.Column, criterion: Criterion) -> ColumnElement[bool]:
        """The campaigns an activity criterion covers, as a condition on ``campaign_id``."""
        scope = campaign_scope(criterion.field, criterion.value, self.as_of)
        campaigns = self.tables.campaigns
        if scope.campaign_id is not None:
            return campaign_id == scope.campaign_id
        sent = campaigns.c.sent_at
        conditions = [sent < time_literal(scope.sent.end)]
        if scope.sent.start is not None:
            conditions.append(sent >= time_literal(scope.sent.start))
        chosen = sa.select(campaigns.c.campaign_id).where(*conditions)
        if scope.latest is not None:
            chosen = chosen.order_by(sent.desc(), campaigns.c.campaign_id.desc()).limit(scope.latest)
        return campaign_id.in_(chosen)

    def _ecommerce(self, criterion: Criterion) -> Any:
        orders = self.tables.orders
        window = order_window(criterion.field, criterion.value, self.as_of)
        conditions = [orders.c.ordered_at < time_literal(window.end)]
        if window.start is not None:
            conditions.append(orders.c.ordered_at >= time_literal(window.start))
        if criterion.field == "purchase":
            return {"purchased": self._exists(orders, *conditions)}
        aggregate = {
            "order_count": sa.func.count(),
            "total_spent": sa.func.coalesce(_round_cents(sa.func.sum(orders.c.amount)), 0.0),
            "last_order_date": sa.func.max(orders.c.ordered_at),
        }[criterion.field]
        return (
            sa.select(aggregate)
            .where(orders.c.contact_id == self.tables.contacts.c.contact_id, *conditions)
            .scalar_subquery()
        )


def _round_cents(amount: ColumnElement) -> ColumnElement:
    # Through NUMERIC so PostgreSQL rounds decimally, as SQLite's round() and round_cents do.
    return sa.cast(sa.func.round(sa.cast(amount, sa.Numeric()), 2), sa.Float())


# By method name, so an engine built on this one (SparkEngine) can answer a source its own way.
_OPERANDS = {
    "contact": "_contact",
    "list_membership": "_lists",
    "tags": "_tags",
    "email_activity": "_activity",
    "ecommerce": "_ecommerce",
}
