"""The levels job as SQLAlchemy Core: features, cuts, levels and transitions inside the database.

The same statements run on SQLite and PostgreSQL (the workspace), DuckDB and Spark SQL
(:mod:`engagekit.workspace.spark`), with the answers of the in-memory engine
(:mod:`engagekit.engagement`), contact by contact. Every value is a bound parameter.

The job, as common table expressions over ``contacts``, ``campaigns`` and ``email_events``:

==================  ==============================================================================
step                what it holds
==================  ==============================================================================
deliveries          one row per (contact, window campaign) with an event up to T: engaged?,
                    clicked?, bounced?, latest engagement and click, the contact's latest
                    engagement (a window partitioned by contact)
features            one row per contact (every contact, by a left join): the feature table of
                    :mod:`engagekit.engagement.features`, the score's exact numerator
score_counts        judged contacts per distinct score, with the counts at or below and at or
                    above each score (running sums over the distinct scores only)
cuts                ``least_engaged_max``, ``most_engaged_min`` and the number judged
levels              the features with the level of each contact
==================  ==============================================================================

How the memory engine's rules are kept exactly:

- **Times in whole seconds.** The memory engine truncates every time to the second. A test
  ``floor(x) <= t`` is written ``x < t + 1 s``, with ``t + 1 s`` a bound timestamp, which keeps the
  indexes on ``occurred_at`` and ``sent_at`` usable; times that must be subtracted go through
  :class:`EpochSeconds`, compiled per dialect.
- **Deliveries.** Grouping the events at or before T by (contact, campaign) gives exactly the
  deliveries known by T (their earliest event is at or before T); the flags are then "as of T".
- **Which events count** is decided in one place, :func:`engagement_kinds`, as in memory: the
  classifier's verdicts (machine opens, scanner clicks) are read from the flagged events stored
  beside ``email_events`` (:mod:`engagekit.workspace.verdicts`), joined on the event's key with a
  left join, so an event is left out exactly when the memory engine leaves it out.
- **Exact scores.** The score is ``CAST(numerator AS DOUBLE) / CAST(denominator AS DOUBLE)`` of two
  exact integers (:meth:`~engagekit.config.EngagementConfig.score_weights`), correctly rounded by
  every engine, so equal rates are equal doubles everywhere and group together.
- **Exact cuts that scale.** No ``ORDER BY`` or ``row_number()`` over all contacts: judged contacts
  are counted per distinct score (a score is a ratio of small integers, so there are few), and the
  cut is the first score whose running count reaches the share, tested with integers only
  (``at_or_below x denominator >= judged x numerator``, :func:`~engagekit.engagement.tiers.cut_size`).
  The running sums run over the distinct scores, a table of some thousand rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.selectable import CTE, Select

from engagekit.config import EngagementConfig, MachineRules, exact_decimal
from engagekit.data.activity import EventTables, needs_verdicts, to_seconds
from engagekit.data.schema import LEVELS, EventType, Level
from engagekit.engagement.features import FEATURE_COLUMNS, SECONDS_PER_DAY, window_bounds
from engagekit.engagement.levels import LevelResult, previous_as_of
from engagekit.engagement.report import EngagementReport
from engagekit.engagement.tiers import Thresholds
from engagekit.engagement.transitions import compute_transitions
from engagekit.timeutil import as_timestamp
from engagekit.workspace.tables import WorkspaceTables, build_tables
from engagekit.workspace.verdicts import VERDICT_KEY, store_verdicts, stored_rules_id

# sa.Double, not sa.Float: DuckDB's FLOAT is a 4-byte REAL, which would round every score.
DOUBLE = sa.Double()

LEVEL_COLUMNS: tuple[str, ...] = (
    "eligible_sends", "opened", "clicked", "open_rate", "click_rate", "last_open_at",
    "last_click_at", "days_since_last_engagement", "sends_since_last_engagement", "bounces",
    "score", "level",
)
"""The per-contact columns of :func:`levels_query` (after ``contact_id``), as in a level snapshot."""


# -- which events count ----------------------------------------------------------------------
@dataclass(frozen=True)
class EngagementKinds:
    """Conditions on ``email_events`` rows: which events engage, which click, which bounce."""

    engaged: ColumnElement[bool]
    clicked: ColumnElement[bool]
    bounced: ColumnElement[bool]


def runs_in_database(config: EngagementConfig) -> bool:
    """Whether the job computes ``config``'s levels where the data lives: every engagement rule
    but orders counting as engagement, which credits each order to an email in the library.

    Examples
    --------
    >>> runs_in_database(EngagementConfig()), runs_in_database(EngagementConfig(count_orders=True))
    (True, False)
    """
    return not config.count_orders


@dataclass(frozen=True)
class FlaggedEvents:
    """Where the classifier's verdicts are: a table of the flagged events keyed like
    ``email_events`` (:data:`~engagekit.workspace.verdicts.VERDICT_KEY`, and a ``reason``), and
    the condition choosing the verdicts of the rules in force (none: the table holds only those)."""

    table: sa.FromClause
    chosen: ColumnElement[bool] | None = None


def judged_events(
    events: sa.FromClause, flagged: FlaggedEvents | None
) -> tuple[sa.FromClause, ColumnElement[bool] | None]:
    """``events`` with their verdicts beside them (a left join: every event stays, once, as the
    flagged keys are unique), and the condition that an event is a person's; without verdicts,
    the events and ``None``."""
    if flagged is None:
        return events, None
    verdicts = flagged.table
    on = [verdicts.c[name] == events.c[name] for name in VERDICT_KEY]
    if flagged.chosen is not None:
        on.insert(0, flagged.chosen)  # in ON, not WHERE: the events without a verdict stay
    return events.outerjoin(verdicts, sa.and_(*on)), verdicts.c.reason.is_(None)


def engagement_kinds(events: sa.FromClause, config: EngagementConfig | None = None,
                     person: ColumnElement[bool] | None = None) -> EngagementKinds:
    """Which events count as what under ``config``'s engagement rule. A click counts as an
    open; any event implies a send.

    ``person`` tells an event the classifier did not flag (:func:`judged_events`); the rules of
    :func:`engagekit.data.activity.left_out_by_rule` apply: scanner clicks are left out unless
    they count, machine opens under *confirmed opens only*, every open under *clicks only*. This
    is the one place deciding what counts in the SQL job, as :mod:`engagekit.data.activity` is
    for the memory engine.
    """
    config = config or EngagementConfig()
    if person is None and needs_verdicts(config):
        raise ValueError("these engagement settings need the machine verdicts (judged_events)")
    kind = events.c.event_type
    opened = kind == EventType.OPEN.value
    clicked = kind == EventType.CLICK.value
    if not config.count_scanner_clicks:
        clicked = sa.and_(clicked, person)
    if config.engagement == "confirmed_opens":
        opened = sa.and_(opened, person)
    return EngagementKinds(
        engaged=clicked if config.engagement == "clicks_only" else sa.or_(opened, clicked),
        clicked=clicked,
        bounced=kind == EventType.BOUNCE.value,
    )


# -- epoch seconds, per dialect --------------------------------------------------------------
class EpochSeconds(FunctionElement):
    """Whole seconds since 1970-01-01 of a (naive UTC) timestamp, rounded down, as an integer."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(EpochSeconds)
def _epoch_default(element, compiler, **kw):
    # PostgreSQL: EXTRACT(EPOCH ...) of a timestamp without time zone reads it as UTC and returns
    # NUMERIC with the microseconds (PostgreSQL 14+): FLOOR keeps the memory engine's truncation.
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(EpochSeconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    # SQLite stores times as ISO text ('2026-05-31 23:59:59.999517'), and its date functions work
    # in milliseconds, *rounding* the microseconds: 23:59:59.9995 would read as the next second.
    # The first 19 characters are the time to the second, which strftime('%s') reads exactly.
    return f"CAST(strftime('%s', substr({compiler.process(element.clauses, **kw)}, 1, 19)) AS INTEGER)"


@compiles(EpochSeconds, "duckdb")
def _epoch_duckdb(element, compiler, **kw):
    # DuckDB: epoch() returns a DOUBLE with the fraction; epoch_us is an exact BIGINT, and // is
    # its integer division (its / always gives a DOUBLE).
    return f"(epoch_us({compiler.process(element.clauses, **kw)}) // 1000000)"


@compiles(EpochSeconds, "spark")
def _epoch_spark(element, compiler, **kw):
    # Spark: unix_timestamp() rounds down to the second, reading a TIMESTAMP_NTZ in the session
    # time zone, which the runner sets to UTC (engagekit.workspace.spark).
    return f"unix_timestamp({compiler.process(element.clauses, **kw)})"


# -- parameters ------------------------------------------------------------------------------
def _second(seconds: int) -> pd.Timestamp:
    return pd.Timestamp(seconds, unit="s")


@dataclass(frozen=True)
class JobTimes:
    """The times of the job as of T, in whole seconds as the memory engine reads them."""

    as_of: int
    window_start: int
    window_end: int

    @classmethod
    def of(cls, as_of: pd.Timestamp, config: EngagementConfig) -> JobTimes:
        start, end = window_bounds(as_of, config)
        return cls(to_seconds(as_of), to_seconds(start), to_seconds(end))


def _double(value: float | int) -> ColumnElement:
    return sa.literal(value, DOUBLE)


def _as_double(expression: ColumnElement) -> ColumnElement:
    return sa.cast(expression, DOUBLE)


def _flag(condition: ColumnElement[bool]) -> ColumnElement:
    # Boolean aggregates differ (PostgreSQL bool_or, Spark any/bool_or, SQLite none, MAX(boolean)
    # refused by PostgreSQL): a 0/1 integer and MAX work everywhere.
    return sa.func.max(sa.case((condition, 1), else_=0))


# -- the job ---------------------------------------------------------------------------------
def features_cte(tables: WorkspaceTables, as_of: pd.Timestamp, config: EngagementConfig,
                 name: str = "features", flagged: FlaggedEvents | None = None) -> CTE:
    """One row per contact: the features as of ``as_of`` and the score (see the module notes);
    ``flagged`` holds the verdicts when ``config`` needs them."""
    events, campaigns, contacts = tables.email_events, tables.campaigns, tables.contacts
    times = JobTimes.of(as_of, config)
    source, person = judged_events(events, flagged)
    kinds = engagement_kinds(events, config, person)
    # floor(x) <= t  <=>  x < t + 1 s;  start < floor(x) <= end  <=>  start + 1 s <= x < end + 1 s
    known = events.c.occurred_at < sa.literal(_second(times.as_of + 1), sa.DateTime())
    in_window = sa.and_(
        campaigns.c.sent_at >= sa.literal(_second(times.window_start + 1), sa.DateTime()),
        campaigns.c.sent_at < sa.literal(_second(times.window_end + 1), sa.DateTime()),
    )
    per_delivery = (
        sa.select(
            events.c.contact_id,
            campaigns.c.sent_at,
            _flag(kinds.engaged).label("engaged"),
            _flag(kinds.clicked).label("clicked"),
            _flag(kinds.bounced).label("bounced"),
            sa.func.max(sa.case((kinds.engaged, events.c.occurred_at))).label("last_engaged_at"),
            sa.func.max(sa.case((kinds.clicked, events.c.occurred_at))).label("last_clicked_at"),
        )
        .select_from(source.join(campaigns, campaigns.c.campaign_id == events.c.campaign_id))
        .where(known, in_window)
        .group_by(events.c.contact_id, events.c.campaign_id, campaigns.c.sent_at)
        .cte(f"{name}_deliveries")
    )
    # The contact's latest engagement beside each of its deliveries: a window partitioned by
    # contact, so Spark spreads it over partitions.
    deliveries = sa.select(
        per_delivery,
        sa.func.max(per_delivery.c.last_engaged_at)
        .over(partition_by=per_delivery.c.contact_id).label("contact_last_engaged_at"),
    ).cte(f"{name}_deliveries_seen")
    last_engaged_second = EpochSeconds(deliveries.c.contact_last_engaged_at)
    per_contact = (
        sa.select(
            deliveries.c.contact_id,
            sa.func.count().label("eligible_sends"),
            sa.func.sum(deliveries.c.engaged).label("opened"),
            sa.func.sum(deliveries.c.clicked).label("clicked"),
            sa.func.sum(deliveries.c.bounced).label("bounces"),
            sa.func.max(deliveries.c.last_engaged_at).label("last_open_at"),
            sa.func.max(deliveries.c.last_clicked_at).label("last_click_at"),
            sa.func.sum(sa.case(
                (deliveries.c.contact_last_engaged_at.is_(None), 1),
                (EpochSeconds(deliveries.c.sent_at) > last_engaged_second, 1),
                else_=0,
            )).label("sends_since_last_engagement"),
        )
        .group_by(deliveries.c.contact_id)
        .cte(f"{name}_per_contact")
    )
    open_weight, click_weight, denominator = config.score_weights()
    sends = sa.func.coalesce(per_contact.c.eligible_sends, 0)
    opened = sa.func.coalesce(per_contact.c.opened, 0)
    clicked = sa.func.coalesce(per_contact.c.clicked, 0)
    numerator = open_weight * opened + click_weight * clicked
    has_sends = sends > 0
    return (
        sa.select(
            contacts.c.contact_id,
            sends.label("eligible_sends"),
            opened.label("opened"),
            clicked.label("clicked"),
            sa.case((has_sends, _as_double(opened) / _as_double(sends))).label("open_rate"),
            sa.case((has_sends, _as_double(clicked) / _as_double(sends))).label("click_rate"),
            per_contact.c.last_open_at,
            per_contact.c.last_click_at,
            (_as_double(times.as_of - EpochSeconds(per_contact.c.last_open_at))
             / _double(SECONDS_PER_DAY)).label("days_since_last_engagement"),
            sa.func.coalesce(per_contact.c.sends_since_last_engagement, 0)
            .label("sends_since_last_engagement"),
            sa.func.coalesce(per_contact.c.bounces, 0).label("bounces"),
            sa.case(
                (has_sends, _as_double(numerator) / _as_double(denominator * sends)),
                else_=_double(0.0),
            ).label("score"),
            numerator.label("score_numerator"),
        )
        .select_from(
            contacts.outerjoin(per_contact, per_contact.c.contact_id == contacts.c.contact_id)
        )
        .cte(name)
    )


def cuts_query(features: sa.FromClause, config: EngagementConfig, name: str = "cuts") -> Select:
    """One row: ``least_engaged_max``, ``most_engaged_min`` (NULL when nobody is judged), ``judged``.

    The cuts of :class:`~engagekit.engagement.tiers.EngagementTiers`: the score of the
    ``cut_size(n, least share)``-th lowest judged contact and of the ``cut_size(n, most share)``-th
    highest, found from counts per distinct score.
    """
    judged = features.c.eligible_sends >= sa.literal(config.min_sends, sa.Integer())
    per_score = (
        sa.select(features.c.score, sa.func.count().label("contacts"))
        .where(judged)
        .group_by(features.c.score)
        .cte(f"{name}_per_score")
    )
    running = sa.select(
        per_score.c.score,
        sa.func.sum(per_score.c.contacts).over(
            order_by=per_score.c.score.asc(), rows=(None, 0)).label("at_or_below"),
        sa.func.sum(per_score.c.contacts).over(
            order_by=per_score.c.score.desc(), rows=(None, 0)).label("at_or_above"),
        sa.func.sum(per_score.c.contacts).over().label("judged"),
    ).cte(f"{name}_running")
    least, most = (exact_decimal(share) for share in
                   (config.least_engaged_share, config.most_engaged_share))

    def reaches(count: ColumnElement, share) -> ColumnElement[bool]:
        # count >= ceil(judged x share)  <=>  count x denominator >= judged x numerator (integers)
        return count * share.denominator >= running.c.judged * share.numerator

    return sa.select(
        sa.func.min(sa.case((reaches(running.c.at_or_below, least), running.c.score)))
        .label("least_engaged_max"),
        sa.func.max(sa.case((reaches(running.c.at_or_above, most), running.c.score)))
        .label("most_engaged_min"),
        sa.func.coalesce(sa.func.max(running.c.judged), 0).label("judged"),
    )


def _level(features: sa.FromClause, config: EngagementConfig, least: ColumnElement,
           most: ColumnElement) -> ColumnElement:
    """The level rules of :mod:`engagekit.engagement.tiers`, as one CASE."""
    score = features.c.score
    return sa.case(
        (features.c.eligible_sends < sa.literal(config.min_sends, sa.Integer()),
         sa.literal(Level.EVERYONE_ELSE.value)),
        # score 0 (no open, no click) is least engaged whatever the cuts; a NULL cut (nobody
        # judged) matches nothing, as a NaN cut does in numpy.
        (sa.or_(features.c.score_numerator == 0, score <= least),
         sa.literal(Level.LEAST_ENGAGED.value)),
        (score >= most, sa.literal(Level.MOST_ENGAGED.value)),
        else_=sa.literal(Level.SOMEWHAT_ENGAGED.value),
    )


def _threshold(value: float) -> ColumnElement:
    # NaN is bound as NULL: PostgreSQL's 'NaN' is larger than every number, numpy's matches nothing.
    return sa.literal(None if pd.isna(value) else float(value), DOUBLE)


def levels_query(
    tables: WorkspaceTables, *, as_of: pd.Timestamp, config: EngagementConfig | None = None,
    thresholds: Thresholds | None = None, name: str = "levels", flagged: FlaggedEvents | None = None,
) -> Select:
    """Every contact's features, score and level as of ``as_of``, with the cuts on every row.

    Columns: ``contact_id``, :data:`LEVEL_COLUMNS`, then ``least_engaged_max``,
    ``most_engaged_min`` and ``judged`` (the same on every row). The cuts are learned at
    ``as_of`` unless ``thresholds`` are given. ``flagged``: the machine verdicts, which
    ``config`` needs unless it counts every open and click (see :func:`engagement_kinds`).

    Examples
    --------
    >>> import tempfile
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.workspace import Workspace
    >>> ws = Workspace.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> _ = ws.import_dataset(generate_sample(200, seed=1))
    >>> query = levels_query(ws.tables, as_of=pd.Timestamp("2026-11-30"),
    ...                      flagged=DatabaseRunner(ws.engine).flagged_events(MachineRules()))
    >>> with ws.engine.connect() as conn:
    ...     rows = conn.execute(query).all()
    >>> len(rows)
    200
    """
    config = config or EngagementConfig()
    features = features_cte(tables, as_timestamp(as_of), config, name=f"{name}_features",
                            flagged=flagged)
    return levels_of(features, config, thresholds, name=name)


def levels_of(features: sa.FromClause, config: EngagementConfig,
              thresholds: Thresholds | None = None, name: str = "levels") -> Select:
    """:func:`levels_query` over features already at hand (a CTE of :func:`features_cte`, or
    the table :func:`store_features` filled): cuts learned from them unless ``thresholds``."""
    if thresholds is None:
        cuts = cuts_query(features, config, name=f"{name}_cuts").cte(f"{name}_cuts")
        least, most, judged = cuts.c.least_engaged_max, cuts.c.most_engaged_min, cuts.c.judged
        source = features.join(cuts, sa.true())
    else:
        least, most = _threshold(thresholds.least_engaged_max), _threshold(thresholds.most_engaged_min)
        judged = sa.literal(int(thresholds.judged), sa.Integer())
        source = features
    return sa.select(
        features.c.contact_id,
        *[features.c[column] for column in LEVEL_COLUMNS if column != "level"],
        _level(features, config, least, most).label("level"),
        least.label("least_engaged_max"),
        most.label("most_engaged_min"),
        judged.label("judged"),
    ).select_from(source)


FEATURES_TABLE = "engagekit_features"


def store_features(conn: sa.Connection, tables: WorkspaceTables, as_of: pd.Timestamp,
                   config: EngagementConfig, flagged: FlaggedEvents | None = None) -> sa.Table:
    """The features as of ``as_of`` computed once into a temporary table of ``conn``'s
    transaction (for the caller to drop; a rollback drops it too), so the cuts and then the
    levels read them instead of computing them from every event twice."""
    feature_kinds = build_tables().snapshot_levels.c
    columns = [sa.Column("contact_id", sa.BigInteger, primary_key=True),
               *[sa.Column(name, DOUBLE if isinstance(feature_kinds[name].type, sa.Float)
                           else feature_kinds[name].type)
                 for name in LEVEL_COLUMNS if name != "level"],
               sa.Column("score_numerator", sa.BigInteger)]
    table = sa.Table(FEATURES_TABLE, sa.MetaData(), *columns, prefixes=["TEMPORARY"])
    table.create(conn)
    features = features_cte(tables, as_of, config, flagged=flagged)
    names = [column.name for column in columns]
    conn.execute(sa.insert(table).from_select(names, sa.select(*[features.c[n] for n in names])))
    if conn.dialect.name == "postgresql":
        # a temporary table is never analysed by autovacuum: plan the reads knowing its rows
        conn.exec_driver_sql(f"ANALYZE {FEATURES_TABLE}")
    return table


def transitions_query(
    tables: WorkspaceTables, *, as_of: pd.Timestamp, config: EngagementConfig | None = None,
    previous_uses_current_thresholds: bool = False, flagged: FlaggedEvents | None = None,
) -> Select:
    """The transition matrix: contacts per (``previous_level``, ``current_level``), non-empty cells.

    The previous level is as of ``as_of - previous_period_days``, with its own cuts unless
    ``previous_uses_current_thresholds``.
    """
    config = config or EngagementConfig()
    current = levels_query(tables, as_of=as_of, config=config, name="current",
                           flagged=flagged).cte("current_levels")
    if previous_uses_current_thresholds:
        previous_features = features_cte(tables, previous_as_of(as_of, config), config,
                                         name="previous_features", flagged=flagged)
        previous_level = _level(previous_features, config, current.c.least_engaged_max,
                                current.c.most_engaged_min)
        previous = sa.select(previous_features.c.contact_id, previous_level.label("level")).select_from(
            previous_features.join(current, current.c.contact_id == previous_features.c.contact_id)
        ).cte("previous_levels")
    else:
        previous = levels_query(tables, as_of=previous_as_of(as_of, config), config=config,
                                name="previous", flagged=flagged).cte("previous_levels")
    return (
        sa.select(previous.c.level.label("previous_level"), current.c.level.label("current_level"),
                  sa.func.count().label("contacts"))
        .select_from(current.join(previous, previous.c.contact_id == current.c.contact_id))
        .group_by(previous.c.level, current.c.level)
    )


# -- running the job ------------------------------------------------------------------------
class Runner(Protocol):
    """Runs a Core statement where the data lives and returns its rows as a frame; says where
    the machine verdicts of some rules are."""

    def frame(self, statement: Select) -> pd.DataFrame: ...

    def flagged_events(self, rules: MachineRules) -> FlaggedEvents: ...


@dataclass(frozen=True)
class DatabaseRunner:
    """A :class:`Runner` over a SQLAlchemy engine (SQLite, PostgreSQL, DuckDB, ...).

    ``verdicts`` gives the ``rules_id`` of the stored verdicts of some rules, storing them when
    missing (a workspace's :meth:`~engagekit.workspace.workspace.Workspace.ensure_verdicts`);
    without it, the latest verdicts stored for those rules are read.
    """

    engine: sa.Engine
    verdicts: Callable[[MachineRules], int] | None = None

    def frame(self, statement: Select) -> pd.DataFrame:
        with self.engine.connect() as conn:
            result = conn.execute(statement)
            return pd.DataFrame(result.all(), columns=list(result.keys()))

    def flagged_events(self, rules: MachineRules) -> FlaggedEvents:
        rules_id = self.verdicts(rules) if self.verdicts else stored_rules_id(self.engine, rules)
        table = build_tables().machine_verdicts
        return FlaggedEvents(table, table.c.rules_id == sa.literal(rules_id, sa.Integer()))


def flagged_for(runner: Runner, config: EngagementConfig) -> FlaggedEvents | None:
    """The verdicts ``config`` needs from ``runner`` (``None`` when it counts every open and
    click)."""
    return runner.flagged_events(config.machine_rules) if needs_verdicts(config) else None


def levels_in_database(
    runner: Runner, tables: WorkspaceTables, *, as_of: pd.Timestamp,
    config: EngagementConfig | None = None, thresholds: Thresholds | None = None,
) -> LevelResult:
    """The :class:`~engagekit.engagement.levels.LevelResult` as of ``as_of``, computed by the
    database behind ``runner``: only one row per contact comes back, never an event.

    Examples
    --------
    >>> import tempfile
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.engagement.levels import compute_levels
    >>> from engagekit.workspace import Workspace
    >>> data = generate_sample(300, seed=4)
    >>> ws = Workspace.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> _ = ws.import_dataset(data)
    >>> in_db = levels_in_database(ws.runner(), ws.tables, as_of=pd.Timestamp("2026-11-30"))
    >>> in_db.counts().tolist() == compute_levels(data, as_of="2026-11-30").counts().tolist()
    True
    """
    config = config or EngagementConfig()
    stamp = as_timestamp(as_of)
    query = levels_query(tables, as_of=stamp, config=config, thresholds=thresholds,
                         flagged=flagged_for(runner, config))
    frame = runner.frame(query.order_by(query.selected_columns.contact_id))
    return LevelResult(
        as_of=stamp, config=config,
        thresholds=thresholds or thresholds_of(frame),
        table=level_table(frame),
    )


def report_in_database(
    runner: Runner, tables: WorkspaceTables, *, as_of: pd.Timestamp,
    config: EngagementConfig | None = None, previous_uses_current_thresholds: bool = False,
) -> EngagementReport:
    """Current and previous levels and their transitions, computed by the database."""
    config = config or EngagementConfig()
    current = levels_in_database(runner, tables, as_of=as_of, config=config)
    previous = levels_in_database(
        runner, tables, as_of=previous_as_of(as_of, config), config=config,
        thresholds=current.thresholds if previous_uses_current_thresholds else None,
    )
    return EngagementReport(current, previous, compute_transitions(previous, current))


def transition_counts(
    runner: Runner, tables: WorkspaceTables, *, as_of: pd.Timestamp,
    config: EngagementConfig | None = None, previous_uses_current_thresholds: bool = False,
) -> pd.DataFrame:
    """The 4x4 transition matrix counted by the database (rows previous, columns current, most
    engaged first), as :attr:`~engagekit.engagement.transitions.Transitions.counts` gives it."""
    config = config or EngagementConfig()
    frame = runner.frame(transitions_query(
        tables, as_of=as_timestamp(as_of), config=config,
        previous_uses_current_thresholds=previous_uses_current_thresholds,
        flagged=flagged_for(runner, config)))
    matrix = frame.pivot_table(index="previous_level", columns="current_level", values="contacts",
                               aggfunc="sum", fill_value=0)
    levels = list(LEVELS)
    return matrix.reindex(index=levels, columns=levels, fill_value=0).astype("int64")


JOB_TABLES: tuple[str, ...] = ("contacts", "campaigns", "email_events")
"""The tables the levels job reads."""


def copy_job_tables(engine: sa.Engine, data: EventTables, tables: WorkspaceTables,
                    rules: tuple[MachineRules, ...] = (MachineRules(),)) -> None:
    """Create the tables the levels job reads in ``engine``'s database and fill them from ``data``,
    with the machine verdicts of each of ``rules``.

    For a scratch database (DuckDB, a test server) that is not a workspace. DuckDB reads the
    frames in place (through Arrow), the others get bulk inserts.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.workspace.tables import build_tables
    >>> engine = sa.create_engine("sqlite://")
    >>> copy_job_tables(engine, generate_sample(50, seed=1), build_tables())
    >>> with engine.connect() as conn:
    ...     conn.execute(sa.select(sa.func.count()).select_from(build_tables().contacts)).scalar()
    50
    """
    with engine.begin() as conn:
        for name in JOB_TABLES:
            table = getattr(tables, name)
            table.drop(conn, checkfirst=True)
            table.create(conn)
            source = getattr(data, name)
            frame = source[[c.name for c in table.columns if c.name in source.columns]]
            if engine.dialect.name == "duckdb":
                duck = conn.connection.driver_connection
                duck.register("engagekit_frame", frame)
                # names are the schema's own, never user input
                conn.exec_driver_sql(f"INSERT INTO {name} ({', '.join(frame.columns)}) "
                                     "SELECT * FROM engagekit_frame")
                duck.unregister("engagekit_frame")
            elif len(frame):
                conn.execute(sa.insert(table), frame.astype(object).where(frame.notna(), None)
                             .to_dict("records"))
    store_verdicts(engine, data, rules)


def thresholds_of(frame: pd.DataFrame) -> Thresholds:
    """The cuts from the first row of :func:`cuts_query` or :func:`levels_query` results."""
    if frame.empty:
        return Thresholds(math.nan, math.nan, 0)
    head = frame.iloc[0]
    return Thresholds(_number(head["least_engaged_max"]), _number(head["most_engaged_min"]),
                      int(head["judged"]))


def _number(value: object) -> float:
    return math.nan if value is None or pd.isna(value) else float(value)


def level_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`levels_query` (or of a stored snapshot) typed as the memory engine's
    feature table, whatever types the database gave (text times, a column of blanks)."""
    table = pd.DataFrame({"contact_id": frame["contact_id"].to_numpy(np.int64)})
    for column in ("eligible_sends", "opened", "clicked", "sends_since_last_engagement", "bounces"):
        table[column] = frame[column].to_numpy(np.int64)
    for column in ("open_rate", "click_rate", "days_since_last_engagement", "score"):
        table[column] = pd.to_numeric(frame[column], errors="coerce").to_numpy(np.float64)
    for column in ("last_open_at", "last_click_at"):
        # SQLite gives text, the others datetimes; to the second, as the memory engine keeps them
        table[column] = pd.to_datetime(frame[column]).dt.floor("s").astype("datetime64[us]")
    table["level"] = pd.Categorical(frame["level"], categories=list(LEVELS))
    order = ["contact_id", *FEATURE_COLUMNS, "level"]
    return table[order]


__all__ = [
    "JOB_TABLES", "LEVEL_COLUMNS", "DatabaseRunner", "EngagementKinds", "EpochSeconds",
    "FlaggedEvents", "JobTimes", "Runner", "copy_job_tables", "cuts_query",
    "engagement_kinds", "features_cte", "flagged_for", "judged_events", "level_table",
    "levels_in_database", "levels_of", "levels_query", "report_in_database", "runs_in_database",
    "store_features", "thresholds_of", "transition_counts", "transitions_query",
]
