"""The levels job in the database gives the memory engine's answers, contact by contact.

Hand-made cases first (ties at a cut, score 0, sub-second times at T and at the window's ends,
weights that are not whole numbers, proxy opens and scanner clicks left out), then a differential
property: random small datasets (:func:`segments_support.datasets`, events around the as-of second,
down to the microsecond, with machine flags, Apple proxy user agents and addresses, clicks seconds
after the send and on several links) under random settings (every engagement rule, scanner clicks
counted or not, machine rules, weights and shares that make ties), each at every as-of time of
:data:`segments_support.RANDOM_AS_OF`, with the previous level by its own or the current cuts.
Per contact every feature, the score and the level, the cuts and the transition matrix must be
identical. The same property runs on SQLite, PostgreSQL, DuckDB and Spark SQL; last, the Spark
segment engine against the memory engine on random definitions.
"""

from __future__ import annotations

import tempfile
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from segments_support import (
    RANDOM_AS_OF,
    configs,
    datasets,
    definitions,
    fresh_postgres_database,
    open_workspace,
    outcome,
)

from engagekit.config import EVERY_OPEN_AND_CLICK, EngagementConfig, MachineRules
from engagekit.data.dataset import Dataset
from engagekit.engagement.report import engagement_report
from engagekit.segments import MemoryEngine, SegmentDefinition
from engagekit.segments.definition import level_segment
from engagekit.segments.spark_engine import SparkEngine
from engagekit.workspace.levels_sql import (
    JOB_TABLES,
    DatabaseRunner,
    copy_job_tables,
    levels_query,
    report_in_database,
    transition_counts,
)
from engagekit.workspace.spark import (
    TABLE_NAMES,
    SparkDialect,
    SparkRunner,
    compile_for_spark,
    write_parquet_tables,
)
from engagekit.workspace.tables import build_tables
from engagekit.workspace.verdicts import flagged_events, write_verdicts_file

from factories import tiny_dataset

TABLES = build_tables()
CASES_PER_ENGINE = 210  # datasets x as-of dates, on each database
SPARK_CASES = 30  # a Spark query takes seconds even on tiny tables: fewer cases keep CI quick
AS_OFS_PER_DATASET = len(RANDOM_AS_OF)


def every_event(**settings) -> EngagementConfig:
    """Settings that count every open and click: the job reads no machine verdicts."""
    return EngagementConfig(**EVERY_OPEN_AND_CLICK, **settings)


def machine_rules():
    """The default rules most often (the ones an import stores), else rules stored on demand."""
    return st.one_of(
        st.just(MachineRules()), st.just(MachineRules()),
        st.builds(MachineRules, proxy_seconds=st.sampled_from([0.0, 30.0, 120.0, 86_400.0]),
                  prefetch_min_sends=st.integers(1, 3), burst_seconds=st.sampled_from([0.0, 5.0, 60.0]),
                  early_click_seconds=st.sampled_from([0.0, 60.0, 3600.0]),
                  proxy_ip_prefixes=st.sampled_from([("17.",), ()])),
    )


def engagement_rules():
    """What counts: the default rule (confirmed opens, scanner clicks left out) half the time."""
    return st.one_of(
        st.just({}),
        st.fixed_dictionaries({
            "engagement": st.sampled_from(["all_opens", "confirmed_opens", "clicks_only"]),
            "count_scanner_clicks": st.booleans(),
        }),
    )


def random_configs():
    """Settings that make ties and odd cuts (fractional weights, shares like 1/3), under every
    engagement rule and random machine rules."""
    weights = st.sampled_from([(1.0, 2.0), (0.1, 0.2), (1.0, 0.0), (0.0, 1.0), (0.3, 0.7), (1.5, 1.5)])
    shares = st.sampled_from([(0.2, 0.4), (0.25, 0.25), (1 / 3, 1 / 3), (0.5, 0.5), (0.1, 0.3)])
    return st.builds(
        lambda w, s, rule, **kw: EngagementConfig(
            open_weight=w[0], click_weight=w[1], most_engaged_share=s[0],
            least_engaged_share=s[1], **rule, **kw),
        weights, shares, engagement_rules(),
        min_sends=st.integers(1, 3),
        lookback_days=st.sampled_from([30, 90]),
        exclusion_hours=st.sampled_from([0.0, 24.0, 0.5]),
        previous_period_days=st.sampled_from([7, 30]),
        machine_rules=machine_rules(),
    )


def assert_levels_equal(want, have, which: str) -> None:
    assert have.thresholds == want.thresholds or (
        np.isnan(want.thresholds.least_engaged_max) and np.isnan(have.thresholds.least_engaged_max)
        and want.thresholds.judged == have.thresholds.judged
    ), which
    # the job returns contacts by id; the memory engine keeps the dataset's order
    want_table = want.table.sort_values("contact_id", kind="stable").reset_index(drop=True)
    have_table = have.table.sort_values("contact_id", kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(have_table, want_table, check_exact=True, obj=which)


def assert_reports_equal(expected, got, matrix) -> None:
    for which in ("current", "previous"):
        assert_levels_equal(getattr(expected, which), getattr(got, which), f"{which} levels")
    pd.testing.assert_frame_equal(matrix, expected.transitions.counts.astype("int64"),
                                  check_names=False, obj="transition matrix")


class Target:
    """Where the property runs: loads a dataset, returns a runner over it for ``rules``."""

    name = "?"

    def load(self, dataset, rules):  # returns (the dataset as stored, a runner)
        raise NotImplementedError

    def check_stored(self, expected, as_of, config, use_current) -> None:
        """Levels stored as snapshots by the database itself equal the memory engine's."""


class WorkspaceTarget(Target):
    """An import stores the verdicts of the default rules; other rules are stored on demand."""

    def __init__(self, workspace):
        self.workspace = workspace
        self.name = workspace.engine.dialect.name

    def load(self, dataset, rules):
        self.workspace.import_dataset(dataset, mode="replace", allow_empty=True)
        return self.workspace.load(), self.workspace.runner()

    def check_stored(self, expected, as_of, config, use_current) -> None:
        store = self.workspace.snapshots
        current = store.store_in_database(as_of=as_of, config=config)
        previous = store.store_in_database(
            as_of=expected.previous.as_of, config=config,
            thresholds=expected.current.thresholds if use_current else None)
        for which, snapshot_id in (("current", current), ("previous", previous)):
            want, have = getattr(expected, which), store.load(snapshot_id)
            assert_levels_equal(want, have, f"stored {which} levels")


class DuckTarget(Target):
    name = "duckdb"

    def __init__(self):
        self.engine = sa.create_engine("duckdb:///:memory:")

    def load(self, dataset, rules):
        copy_job_tables(self.engine, dataset, TABLES, rules=(rules,))
        return dataset, DatabaseRunner(self.engine)


class SparkTarget(Target):
    name = "spark"

    def __init__(self, spark):
        self.spark = spark
        self.folder = Path(tempfile.mkdtemp(prefix="engagekit-spark-"))
        self.loads = 0

    def load(self, dataset, rules):
        self.loads += 1
        folder = self.folder / str(self.loads)
        folder.mkdir()
        for name in JOB_TABLES:
            getattr(dataset, name).to_parquet(folder / f"{name}.parquet", index=False)
        write_verdicts_file(folder, dataset, rules)
        return dataset, SparkRunner.from_parquet_folder(self.spark, folder, rules)


def compare_on(target: Target, cases: int = CASES_PER_ENGINE) -> int:
    compared = []

    @settings(max_examples=-(-cases // AS_OFS_PER_DATASET), deadline=None, database=None,
              phases=(Phase.explicit, Phase.generate),  # shrinking a database case takes minutes
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(dataset=datasets(), config=random_configs(), use_current=st.booleans())
    def check(dataset, config, use_current):
        stored, runner = target.load(dataset, config.machine_rules)
        for as_of in RANDOM_AS_OF:
            stamp = pd.Timestamp(as_of)
            expected = engagement_report(stored, as_of=stamp, config=config,
                                         previous_uses_current_thresholds=use_current)
            got = report_in_database(runner, TABLES, as_of=stamp, config=config,
                                     previous_uses_current_thresholds=use_current)
            matrix = transition_counts(runner, TABLES, as_of=stamp, config=config,
                                       previous_uses_current_thresholds=use_current)
            assert_reports_equal(expected, got, matrix)
            target.check_stored(expected, stamp, config, use_current)
            compared.append(1)

    check()
    print(f"\n{len(compared)} datasets x as-of dates compared on {target.name}")
    assert len(compared) >= cases
    return len(compared)


# -- hand-made cases ---------------------------------------------------------------------------
def tie_dataset():
    """Six judged contacts whose scores tie at both cuts, one unjudged, one with no events."""
    campaigns = {1: "2026-06-01 10:00:00", 2: "2026-06-05 10:00:00", 3: "2026-06-10 10:00:00"}
    events = []
    for contact in range(1, 7):
        for campaign in campaigns:
            events.append((contact, campaign, "send", campaigns[campaign]))
    # contacts 1-2: nothing; 3-4: one open each (tie); 5: one click; 6: three opens
    events += [(3, 1, "open", "2026-06-01 11:00:00"), (4, 2, "open", "2026-06-05 12:00:00.700000"),
               (5, 3, "click", "2026-06-10 11:00:00"), (6, 1, "open", "2026-06-02 09:00:00"),
               (6, 2, "open", "2026-06-06 09:00:00"), (6, 3, "open", "2026-06-11 09:00:00")]
    events += [(7, 3, "send", "2026-06-10 10:00:00")]
    return tiny_dataset(campaigns, events, n_contacts=8)


@pytest.fixture()
def sqlite_runner():
    def load(dataset):
        workspace = open_workspace("sqlite")
        workspace.import_dataset(dataset, mode="replace")
        return workspace.load(), workspace.runner()
    return load


def test_ties_go_to_the_outer_level_and_score_zero_is_least(sqlite_runner):
    """Judged scores 0, 0, 1/3, 1/3, 1, 1: the 3rd lowest (40 % of 6, rounded up) is 1/3, so both
    contacts at 1/3 are least engaged; with 30 % the cut is 0 and they are somewhat engaged."""
    stored, runner = sqlite_runner(tie_dataset())
    for least_share, middle in ((0.4, "least_engaged"), (0.3, "somewhat_engaged")):
        config = every_event(most_engaged_share=0.2, least_engaged_share=least_share)
        got = report_in_database(runner, TABLES, as_of=pd.Timestamp("2026-06-30"),
                                 config=config).current
        levels = dict(zip(got.table["contact_id"], got.table["level"].astype(str), strict=True))
        assert [levels[c] for c in range(1, 9)] == [
            "least_engaged", "least_engaged", middle, middle,
            "most_engaged", "most_engaged", "everyone_else", "everyone_else",
        ]
        assert got.thresholds.judged == 6
        expected = engagement_report(stored, as_of="2026-06-30", config=config).current
        pd.testing.assert_frame_equal(got.table, expected.table.reset_index(drop=True),
                                      check_exact=True)


def test_an_event_within_the_as_of_second_counts_as_in_memory(sqlite_runner):
    """The memory engine keeps times to the second: an open at T + 0.7 s is at T."""
    stored, runner = sqlite_runner(tie_dataset())
    as_of = pd.Timestamp("2026-06-05 12:00:00")
    config = every_event(min_sends=1, exclusion_hours=0.0)
    got = report_in_database(runner, TABLES, as_of=as_of, config=config).current.table
    expected = engagement_report(stored, as_of=as_of, config=config).current.table
    assert got.loc[got["contact_id"] == 4, "opened"].item() == 1
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_exact=True)


def test_equal_rates_tie_for_weights_that_are_not_whole_numbers(sqlite_runner):
    """0.1 x 3 and 0.3 x 1 differ in floating point; as exact fractions they tie everywhere."""
    config = every_event(open_weight=0.1, click_weight=0.3, min_sends=1)
    assert config.score_weights() == (1, 3, 10)
    stored, runner = sqlite_runner(tie_dataset())
    got = report_in_database(runner, TABLES, as_of=pd.Timestamp("2026-06-30"), config=config).current
    expected = engagement_report(stored, as_of="2026-06-30", config=config).current
    pd.testing.assert_frame_equal(got.table, expected.table.reset_index(drop=True), check_exact=True)


def machine_dataset():
    """Contact 1: every email fetched 10 s after its send by Apple's proxy, one clicked later;
    contact 2: scanner clicks 8 and 9 s after a send on two links, then a person's click; contact
    3: two opens at the same second, one by the proxy and one not (a person read it)."""
    campaigns = {k: f"2026-06-{k:02d} 10:00:00" for k in range(1, 6)}
    events = [(c, k, "send", t) for c in (1, 2, 3) for k, t in campaigns.items()]
    events += [(1, k, "open", f"2026-06-{k:02d} 10:00:10") for k in campaigns]
    events += [(1, 2, "click", "2026-06-02 18:00:00"), (2, 3, "click", "2026-06-03 10:00:08"),
               (2, 3, "click", "2026-06-03 10:00:09"), (2, 4, "click", "2026-06-04 15:00:00"),
               (3, 1, "open", "2026-06-01 10:00:20"), (3, 1, "open", "2026-06-01 10:00:20")]
    data = tiny_dataset(campaigns, events, n_contacts=4)
    frame = data.email_events
    agents = np.where((frame["event_type"] == "open") & (frame["occurred_at"].dt.hour == 10),
                      "Mozilla/5.0", None)
    agents[np.flatnonzero(frame["contact_id"] == 3)[-1]] = "Outlook"  # the person's open
    links = np.where(frame["occurred_at"] == pd.Timestamp("2026-06-03 10:00:09"),
                     "https://b.example", "https://a.example")
    return data.replace(email_events=frame.assign(user_agent=agents, link=links))


@pytest.mark.parametrize("settings", [
    {}, {"count_scanner_clicks": True}, {"engagement": "all_opens"},
    {"engagement": "clicks_only"}, {"engagement": "clicks_only", "count_scanner_clicks": True},
])
def test_machine_opens_and_scanner_clicks_are_left_out_as_in_memory(sqlite_runner, settings):
    stored, runner = sqlite_runner(machine_dataset())
    config = EngagementConfig(min_sends=1, **settings)
    got = report_in_database(runner, TABLES, as_of=pd.Timestamp("2026-06-30"), config=config).current
    expected = engagement_report(stored, as_of="2026-06-30", config=config).current
    pd.testing.assert_frame_equal(got.table, expected.table.reset_index(drop=True), check_exact=True)
    opened = dict(zip(got.table["contact_id"], got.table["opened"], strict=True))
    assert opened[1] == (5 if config.engagement == "all_opens" else 1)
    assert opened[2] == (2 if config.count_scanner_clicks else 1)
    assert opened[3] == (0 if config.engagement == "clicks_only" else 1)  # the person's open stands


def test_an_import_stores_only_the_flagged_events():
    """Proxy opens and scanner clicks are stored; the key of two opens at one second, one a
    person's, is not."""
    flagged = flagged_events(machine_dataset(), MachineRules())
    assert sorted(flagged.groupby("contact_id").size().items()) == [(1, 5), (2, 2)]
    workspace = open_workspace("sqlite")
    workspace.import_dataset(machine_dataset(), mode="replace")
    verdicts = build_tables().machine_verdicts
    with workspace.engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(verdicts)).scalar()
    assert stored == len(flagged)


def test_the_job_has_no_order_by_over_contacts():
    """Ordering happens only over the distinct scores (a window ordered by score)."""
    text, _ = compile_for_spark(levels_query(TABLES, as_of=pd.Timestamp("2026-06-30"),
                                             config=every_event()))
    assert "ROW_NUMBER" not in text.upper()
    ordered = [line for line in text.splitlines() if "ORDER BY" in line.upper()]
    assert ordered and all("OVER (ORDER BY" in line.upper() for line in ordered)
    assert "cuts_per_score" in text


def test_every_value_is_a_bound_parameter():
    config = EngagementConfig(min_sends=7, open_weight=3.0)
    flagged = DatabaseRunner(sa.create_engine("sqlite://"), verdicts=lambda rules: 4242) \
        .flagged_events(config.machine_rules)
    text, params = compile_for_spark(levels_query(TABLES, as_of=pd.Timestamp("2026-06-30"),
                                                  config=config, flagged=flagged))
    assert 7 in params.values() and "2026-06-30 00:00:01" in params.values()
    assert 4242 in params.values() and "4242" not in text  # the verdicts' rules, bound too
    assert "2026" not in text and "' OR" not in text
    assert SparkDialect().identifier_preparer.quote("level") in text


def test_empty_workspace_gives_no_cuts(sqlite_runner):
    _, runner = sqlite_runner(tiny_dataset({}, [], n_contacts=2))
    got = report_in_database(runner, TABLES, as_of=pd.Timestamp("2026-06-30"))
    assert got.current.thresholds.judged == 0
    assert np.isnan(got.current.thresholds.least_engaged_max)
    assert set(got.current.table["level"].astype(str)) == {"everyone_else"}


# -- the differential property on each engine --------------------------------------------------
def test_sqlite_gives_the_memory_engines_levels():
    compare_on(WorkspaceTarget(open_workspace("sqlite")))


@pytest.mark.postgres
def test_postgres_gives_the_memory_engines_levels():
    with fresh_postgres_database() as url:
        workspace = open_workspace("postgres", url)
        try:
            compare_on(WorkspaceTarget(workspace))
        finally:
            workspace.engine.dispose()


def test_duckdb_gives_the_memory_engines_levels():
    compare_on(DuckTarget())


@pytest.mark.spark
def test_spark_gives_the_memory_engines_levels(spark):
    compare_on(SparkTarget(spark), cases=SPARK_CASES)


# -- segments on Spark -------------------------------------------------------------------------
SPARK_SEGMENT_DATASETS = 4
SPARK_DEFINITIONS_PER_DATASET = 10


def spark_configs():
    """Random settings under which the Spark engine runs: :func:`segments_support.configs`
    (sends, windows, exclusion, every engagement rule) without orders counting as engagement,
    which the session refuses on Spark (``Session._check_in_database``)."""
    return configs().map(lambda config: config.with_changes(count_orders=False))


@pytest.mark.spark
def test_spark_engine_gives_the_memory_engines_members(spark):
    """Random definitions (every criterion family and operator) over random data in Parquet."""
    compared = []

    @settings(max_examples=SPARK_SEGMENT_DATASETS, deadline=None, database=None,
              phases=(Phase.explicit, Phase.generate),
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def check(data):
        dataset = data.draw(datasets(), label="dataset")
        as_of = data.draw(st.sampled_from(RANDOM_AS_OF), label="as_of")
        config = data.draw(spark_configs(), label="config")
        folder = write_parquet_tables(dataset, tempfile.mkdtemp(prefix="engagekit-spark-"))
        write_verdicts_file(folder, dataset, config.machine_rules)
        memory = MemoryEngine(dataset, as_of=as_of, config=config)
        engine = SparkEngine(SparkRunner.from_parquet_folder(spark, folder), as_of=as_of,
                             config=config, custom_fields=dataset.custom_fields)
        random_definitions = definitions(dataset)
        for i in range(SPARK_DEFINITIONS_PER_DATASET):
            definition = data.draw(random_definitions, label=f"definition {i}")
            got = outcome(engine, SegmentDefinition.from_json(definition.to_json()))
            assert got == outcome(memory, definition), definition.to_json()
            compared.append(1)

    check()
    assert len(compared) == SPARK_SEGMENT_DATASETS * SPARK_DEFINITIONS_PER_DATASET


@pytest.mark.spark
def test_spark_engine_finds_a_zero_at_most_negative_zero(spark):
    """A criterion's -0 is 0: Parquet's statistics order -0.0 below 0.0, and Spark skipped the
    file of a contact with 0 points for "points is at most -0" (found by the test above)."""
    tied = tie_dataset()
    frames = {name: getattr(tied, name) for name in TABLE_NAMES}
    frames["contacts"] = tied.contacts.assign(points=np.where(np.arange(tied.n_contacts) % 2, 0.0, 5.0))
    dataset = Dataset.from_frames(**frames, custom_fields={"points": "number"})
    folder = write_parquet_tables(dataset, tempfile.mkdtemp(prefix="engagekit-spark-"))
    write_verdicts_file(folder, dataset, MachineRules())
    engine = SparkEngine(SparkRunner.from_parquet_folder(spark, folder), as_of="2026-06-30",
                         custom_fields=dataset.custom_fields)
    memory = MemoryEngine(dataset, as_of="2026-06-30")
    for op, value in (("lte", -0.0), ("gte", -0.0), ("eq", -0.0), ("between", [-0.0, -0.0])):
        definition = SegmentDefinition.from_json({"version": 1, "criteria": {"type": "and", "group": [
            {"source": "contact", "field": "points", "op": op, "value": value}]}})
        expected = memory.members(definition).tolist()
        assert expected and engine.members(definition).tolist() == expected, op


@pytest.mark.spark
def test_spark_engine_counts_levels_over_catalog_tables(spark):
    """Sources may be catalog tables; a count and members agree with the memory engine.

    Every canonical table is a source: besides the levels job's tables, the engine's catalog
    (which checks each definition) reads lists, campaigns and tags. Registered here, so the test
    never reads views another test left on the shared Spark session."""
    dataset = tie_dataset()
    # through Parquet: Spark cannot infer a schema from an empty pandas frame (no lists, no tags)
    folder = write_parquet_tables(dataset, tempfile.mkdtemp(prefix="engagekit-spark-"))
    verdicts = write_verdicts_file(folder, dataset, MachineRules())
    for name in TABLE_NAMES:
        spark.read.parquet(str(folder / f"{name}.parquet")).createOrReplaceTempView(f"crm_{name}")
    runner = SparkRunner(spark, {**{name: f"crm_{name}" for name in TABLE_NAMES},
                                 "machine_verdicts": verdicts})
    engine = SparkEngine(runner, as_of="2026-06-30")
    memory = MemoryEngine(dataset, as_of="2026-06-30")
    for level in ("most_engaged", "least_engaged", "everyone_else"):
        assert engine.count(level_segment(level)) == memory.count(level_segment(level))
        assert engine.members(level_segment(level)).tolist() == memory.members(level_segment(level)).tolist()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sql_segment_counts_never_load_events_into_python(kind, monkeypatch, sample_dataset):
    """Levels for SQL segments are computed and stored by the database (INSERT ... SELECT), with
    the machine verdicts the import stored; level segments do not read the counted deliveries."""
    from engagekit.segments import SqlEngine
    from engagekit.workspace import Workspace

    with fresh_postgres_database() if kind == "postgres" else nullcontext() as url:
        workspace = open_workspace(kind, url)
        workspace.import_dataset(sample_dataset)
        config = EngagementConfig()  # confirmed opens only: the stored verdicts are read
        expected = {level: MemoryEngine(workspace.load(), as_of="2026-11-30", config=config).count(
            level_segment(level)) for level in ("most_engaged", "somewhat_engaged", "least_engaged",
                                                "everyone_else")}

        def no_loading(*_, **__):
            raise AssertionError("events were loaded into Python")

        monkeypatch.setattr(Workspace, "load", no_loading)
        monkeypatch.setattr(Workspace, "read_database", no_loading)
        engine = SqlEngine(workspace, as_of="2026-11-30", config=config)
        counted = {level: engine.count(level_segment(level)) for level in expected}
        previous = engine.count({"version": 1, "criteria": {"type": "and", "group": [
            {"source": "engagement", "field": "previous_level", "op": "is", "value": ["most_engaged"]}]}})
        workspace.engine.dispose()
    assert counted == expected
    assert previous > 0
