"""The workspace database schema, as SQLAlchemy Core tables.

The data tables mirror :mod:`engagekit.data.schema`; the others hold what the workspace itself makes:
segments, lists made in the workspace (``lists.origin = 'workspace'``), stored level snapshots and
bookkeeping (``meta``). ``contacts`` gains one column per custom field, so the tables are built for
a given set of custom fields.

``engagement_countings`` and ``counted_deliveries`` hold, per engagement rule (which opens and
clicks count: ``EngagementConfig.counting_key``) and data version, the first counted open-or-click
and click of every delivery, as the classifier (:mod:`engagekit.data.machine`) and the rule decide
them: the SQL segment engine reads "opened" and "clicked" there, so both engines count the same
events.

``machine_rule_sets`` and ``machine_verdicts`` hold, per set of machine rules
(``MachineRules`` as JSON) and data version, the email events the classifier flags, keyed as the
levels job joins them to ``email_events`` (see :mod:`engagekit.workspace.verdicts`).

``measure_sets`` and ``contact_measures`` hold per-contact values that only the library computes
(slip risk from its model, sunset status from a sunset rule), one set per measure, as-of time,
settings and data token, so the SQL segment engine joins them as it joins level snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from engagekit.engagement.features import FEATURE_KINDS

FIELD_COLUMN_TYPES = {"text": Text, "number": Float, "date": DateTime}

# The optional columns of email events (engagekit.data.schema.OPTIONAL), all nullable.
OPTIONAL_EVENT_COLUMNS = {
    "machine": sa.Boolean, "user_agent": Text, "ip": Text, "link": Text, "synthesised": sa.Boolean,
}

# Per-contact engagement columns stored with a level snapshot: the features, then the level.
_FEATURE_TYPES = {"count": Integer, "rate": Float, "time": DateTime, "days": Float, "score": Float}
SNAPSHOT_COLUMNS = {
    **{name: _FEATURE_TYPES[kind] for name, kind in FEATURE_KINDS.items()},
    "level": String(20),
}


@dataclass(frozen=True)
class WorkspaceTables:
    """Every table of a workspace database; ``metadata.create_all`` makes the missing ones."""

    metadata: MetaData
    contacts: Table
    contact_tags: Table
    lists: Table
    list_memberships: Table
    campaigns: Table
    email_events: Table
    orders: Table
    custom_fields: Table
    segments: Table
    level_snapshots: Table
    snapshot_levels: Table
    deleted_segments: Table
    campaign_plans: Table
    plan_members: Table
    engagement_countings: Table
    counted_deliveries: Table
    machine_rule_sets: Table
    machine_verdicts: Table
    measure_sets: Table
    contact_measures: Table
    meta: Table

    DATA_TABLES = (
        "contacts",
        "contact_tags",
        "lists",
        "list_memberships",
        "campaigns",
        "email_events",
        "orders",
    )


POSTGRES_STATISTICS = {"st_snapshot_levels_level": ("snapshot_levels", ("snapshot_id", "level"))}
"""PostgreSQL's extended statistics (name: table, columns), made on opening. The shares of the
levels within each snapshot: from its columns' statistics alone PostgreSQL multiplies the share
of a snapshot by that of a level, a fourth of a level's true size at two snapshots, and reads a
level's members through the table instead of the index that holds them."""


def build_tables(custom_fields: dict[str, str] | None = None) -> WorkspaceTables:
    """The workspace tables, with one ``contacts`` column per custom field (built once per set).

    Examples
    --------
    >>> tables = build_tables({"city": "text"})
    >>> [c.name for c in tables.contacts.columns][-1]
    'city'
    >>> build_tables() is build_tables()
    True
    """
    return _tables(tuple((custom_fields or {}).items()))


def _per_version(settings: str) -> list[Column]:
    """The key of a set derived from the data under some settings: the settings (as text) and
    the data version."""
    return [Column(settings, Text, nullable=False), Column("data_version", Integer, nullable=False)]


def _derived_sets(md: MetaData, heads: tuple[str, str, str], key: list[Column], rows: str,
                  *row_items: object, **row_options: object) -> tuple[Table, Table]:
    """A table of derived sets (``heads``: its name, its id column and the name of the unique
    key made of the ``key`` columns, with the time each set was made) and the table of their
    ``rows``, which go with their set.

    The rows name their set without a foreign key: they are written in the transaction that
    stores their set and deleted with it, by the library alone, and a foreign key would be
    checked row by row, a trigger per row on PostgreSQL (three quarters of the time of storing
    millions of rows)."""
    name, id_name, unique = heads
    head = Table(
        name, md,
        Column(id_name, Integer, primary_key=True, autoincrement=True),
        *key,
        Column("created_at", DateTime, nullable=False),
        UniqueConstraint(*[column.name for column in key], name=unique),
    )
    body = Table(
        rows, md,
        Column(id_name, Integer, primary_key=True, autoincrement=False),
        *row_items, **row_options,
    )
    return head, body


@lru_cache(maxsize=64)
def _tables(custom_fields: tuple[tuple[str, str], ...]) -> WorkspaceTables:
    md = MetaData()
    extra = [Column(name, FIELD_COLUMN_TYPES[kind]()) for name, kind in custom_fields]
    contacts = Table(
        "contacts",
        md,
        Column("contact_id", BigInteger, primary_key=True, autoincrement=False),
        Column("email", String(320), nullable=False, unique=True),
        Column("first_name", Text),
        Column("last_name", Text),
        Column("date_added", DateTime),
        Column("email_status", String(20), nullable=False, index=True),
        *extra,
    )
    contact_tags = Table(
        "contact_tags",
        md,
        Column("contact_id", BigInteger, primary_key=True),
        Column("tag", Text, primary_key=True),
        Index("ix_contact_tags_tag", "tag"),
    )
    lists = Table(
        "lists",
        md,
        Column("list_id", BigInteger, primary_key=True, autoincrement=False),
        Column("name", Text, nullable=False),
        Column("name_key", String(400), nullable=False, unique=True),
        Column("origin", String(20), nullable=False, default="import"),
        Column("created_at", DateTime),
    )
    list_memberships = Table(
        "list_memberships",
        md,
        Column("list_id", BigInteger, primary_key=True),
        Column("contact_id", BigInteger, primary_key=True),
        Column("added_at", DateTime),
        Index("ix_list_memberships_contact", "contact_id"),
    )
    campaigns = Table(
        "campaigns",
        md,
        Column("campaign_id", BigInteger, primary_key=True, autoincrement=False),
        Column("name", Text, nullable=False),
        Column("sent_at", DateTime, nullable=False, index=True),
    )
    email_events = Table(
        "email_events",
        md,
        Column("contact_id", BigInteger, nullable=False),
        Column("campaign_id", BigInteger, nullable=False),
        Column("event_type", String(16), nullable=False),
        Column("occurred_at", DateTime, nullable=False),
        *[Column(name, kind()) for name, kind in OPTIONAL_EVENT_COLUMNS.items()],
        Index("ix_email_events_campaign_contact", "campaign_id", "contact_id"),
    )
    orders = Table(
        "orders",
        md,
        Column("order_id", String(200), primary_key=True),
        Column("contact_id", BigInteger, nullable=False),
        Column("ordered_at", DateTime, nullable=False),
        Column("amount", Float, nullable=False),
        # a contact's orders, and the order count, total spent and last order date of every
        # contact read in contact order from this index alone, without a lookup of each order
        # (workspaces made before it also keep their ix_orders_contact_id on contact_id alone)
        Index("ix_orders_contact_metrics", "contact_id", "ordered_at", "amount"),
    )
    custom_fields = Table(
        "custom_fields",
        md,
        Column("name", String(200), primary_key=True),
        Column("kind", String(10), nullable=False),
        Column("position", Integer, nullable=False),
    )
    segments = Table(
        "segments",
        md,
        Column("segment_id", Integer, primary_key=True, autoincrement=True),
        Column("name", Text, nullable=False),
        Column("name_key", String(400), nullable=False, unique=True),
        Column("definition", Text, nullable=False),
        Column("schema_version", Integer, nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
    )
    level_snapshots = Table(
        "level_snapshots",
        md,
        Column("snapshot_id", Integer, primary_key=True, autoincrement=True),
        Column("as_of", DateTime, nullable=False),
        Column("config", Text, nullable=False),
        Column("thresholds", Text, nullable=False),
        # learned at as_of (True) or given (False, e.g. the current cuts applied to the past)
        Column("learned", sa.Boolean, nullable=False, default=True),
        Column("data_version", Integer, nullable=False),
        Column("created_at", DateTime, nullable=False),
        UniqueConstraint("as_of", "config", "thresholds", "data_version", name="uq_snapshot"),
    )
    snapshot_levels = Table(
        "snapshot_levels",
        md,
        # no foreign key, as for the rows of the derived sets (see _derived_sets)
        Column("snapshot_id", Integer, primary_key=True, autoincrement=False),
        Column("contact_id", BigInteger, primary_key=True),
        *[Column(name, kind) for name, kind in SNAPSHOT_COLUMNS.items()],
        # "level is ..." criteria: the members of a level read straight from this index
        Index("ix_snapshot_levels_level", "snapshot_id", "level", "contact_id"),
        # SQLite: rows kept in key order, so a criterion on a metric reads no second b-tree
        sqlite_with_rowid=False,
    )
    deleted_segments = Table(  # the trash: a deleted segment can be restored
        "deleted_segments",
        md,
        Column("trash_id", Integer, primary_key=True, autoincrement=True),
        Column("name", Text, nullable=False),
        Column("definition", Text, nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("deleted_at", DateTime, nullable=False),
    )
    campaign_plans = Table(
        "campaign_plans",
        md,
        Column("plan_id", Integer, primary_key=True, autoincrement=True),
        Column("name", Text, nullable=False),
        Column("name_key", String(400), nullable=False, unique=True),
        Column("segment_name", Text, nullable=False),
        Column("definition", Text, nullable=False),
        Column("offer", Text, nullable=False, default=""),
        Column("send_date", DateTime, nullable=False),
        Column("success_event", String(20), nullable=False),
        Column("success_days", Integer, nullable=False),
        Column("holdout_share", Float, nullable=False),
        Column("seed", BigInteger, nullable=False),
        Column("as_of", DateTime, nullable=False),
        Column("campaign_id", BigInteger),
        Column("created_at", DateTime, nullable=False),
        Column("measured_at", DateTime),
        Column("result", Text),
    )
    plan_members = Table(
        "plan_members",
        md,
        Column("plan_id", Integer, ForeignKey("campaign_plans.plan_id", ondelete="CASCADE"),
               primary_key=True),
        Column("contact_id", BigInteger, primary_key=True),
        Column("holdout", sa.Boolean, nullable=False),
    )
    engagement_countings, counted_deliveries = _derived_sets(
        md, ("engagement_countings", "counting_id", "uq_counting"), _per_version("counting"),
        "counted_deliveries",
        Column("campaign_id", BigInteger, primary_key=True),
        Column("contact_id", BigInteger, primary_key=True),
        Column("engaged_at", DateTime, nullable=False),
        Column("clicked_at", DateTime),
        Index("ix_counted_deliveries_contact", "counting_id", "contact_id"),
        # "clicked" / "opened" criteria: the clicks of the chosen campaigns are one range of this
        # index and it holds every column they read, so PostgreSQL answers from the index alone
        # and SQLite reads a quarter of the rows (a campaign's deliveries are mostly not clicked)
        Index("ix_counted_deliveries_times", "counting_id", "campaign_id", "clicked_at", "engaged_at",
              "contact_id"),
        sqlite_with_rowid=False,  # a campaign's deliveries, with their times, in one range
    )
    machine_rule_sets, machine_verdicts = _derived_sets(
        md, ("machine_rule_sets", "rules_id", "uq_machine_rules"), _per_version("rules"),
        "machine_verdicts",
        # in the order of ix_email_events_campaign_contact, so the join reads both in step
        Column("campaign_id", BigInteger, primary_key=True),
        Column("contact_id", BigInteger, primary_key=True),
        Column("event_type", String(16), primary_key=True),
        Column("occurred_at", DateTime, primary_key=True),
        Column("reason", sa.SmallInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    measure_sets, contact_measures = _derived_sets(
        md, ("measure_sets", "measure_set_id", "uq_measure_set"),
        [Column("measure", String(40), nullable=False), Column("as_of", DateTime, nullable=False),
         Column("settings", Text, nullable=False), Column("data_token", String(64), nullable=False)],
        "contact_measures",
        Column("contact_id", BigInteger, primary_key=True),
        # one of the two holds the value, as the measure is a number or a label
        Column("number", Float),
        Column("label", String(20)),
    )
    meta = Table(
        "meta",
        md,
        Column("key", String(100), primary_key=True),
        Column("value", Text, nullable=False),
    )
    return WorkspaceTables(
        metadata=md,
        contacts=contacts,
        contact_tags=contact_tags,
        lists=lists,
        list_memberships=list_memberships,
        campaigns=campaigns,
        email_events=email_events,
        orders=orders,
        custom_fields=custom_fields,
        segments=segments,
        level_snapshots=level_snapshots,
        snapshot_levels=snapshot_levels,
        deleted_segments=deleted_segments,
        campaign_plans=campaign_plans,
        plan_members=plan_members,
        engagement_countings=engagement_countings,
        counted_deliveries=counted_deliveries,
        machine_rule_sets=machine_rule_sets,
        machine_verdicts=machine_verdicts,
        measure_sets=measure_sets,
        contact_measures=contact_measures,
        meta=meta,
    )
