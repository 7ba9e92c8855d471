"""The levels job in the database gives the memory engine's answers, contact by contact.

Hand-made cases first (ties at a cut, score 0, sub-second times at T and at the window's ends,
weights that are not whole numbers), then a differential property: random small datasets
(:func:`segments_support.datasets`, events around the as-of second, down to the microsecond) under
random settings (weights and shares that make ties), each at every as-of time of
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

from engagekit.config import EVERY_OPEN_AND_CLICK, EngagementConfig
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

from factories import tiny_dataset

TABLES = build_tables()
CASES_PER_ENGINE = 210  # datasets x as-of dates, on each database
SPARK_CASES = 30  # a Spark query takes seconds even on tiny tables: fewer cases keep CI quick
AS_OFS_PER_DATASET = len(RANDOM_AS_OF)


def every_event(**settings) -> EngagementConfig:
    """Settings the levels job runs in the database: every open and click counts (see
    :func:`engagekit.workspace.levels_sql.counts_every_event`)."""
    return EngagementConfig(**EVERY_OPEN_AND_CLICK, **settings)


def random_configs():
    """Settings that make ties and odd cuts: fractional weights, shares like 1/3."""
    weights = st.sampled_from([(1.0, 2.0), (0.1, 0.2), (1.0, 0.0), (0.0, 1.0), (0.3, 0.7), (1.5, 1.5)])
    shares = st.sampled_from([(0.2, 0.4), (0.25, 0.25), (1 / 3, 1 / 3), (0.5, 0.5), (0.1, 0.3)])
    return st.builds(
        lambda w, s, **kw: every_event(open_weight=w[0], click_weight=w[1],
                                            most_engaged_share=s[0], least_engaged_share=s[1], **kw),
        weights, shares,
        min_sends=st.integers(1, 3),
        lookback_days=st.sampled_from([30, 90]),
        exclusion_hours=st.sampled_from([0.0, 24.0, 0.5]),
        previous_period_days=st.sampled_from([7, 30]),
    )


def assert_reports_equal(expected, got, matrix) -> None:
    for which in ("current", "previous"):
        want, have = getattr(expected, which), getattr(got, which)
        assert have.thresholds == want.thresholds or (
            np.isnan(want.thresholds.least_engaged_max) and np.isnan(have.thresholds.least_engaged_max)
            and want.thresholds.judged == have.thresholds.judged
        ), which
        # the job returns contacts by id; the memory engine keeps the dataset's order
        want_table = want.table.sort_values("contact_id", kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(have.table, want_table, check_exact=True, obj=f"{which} levels")
    pd.testing.assert_frame_equal(matrix, expected.transitions.counts.astype("int64"),
                                  check_names=False, obj="transition matrix")


class Target:
    """Where the property runs: loads a dataset, returns a runner over it."""

    name = "?"

    def load(self, dataset):  # returns (the dataset as stored, a runner)
        raise NotImplementedError


class WorkspaceTarget(Target):
    def __init__(self, workspace):
        self.workspace = workspace
        self.name = workspace.engine.dialect.name

    def load(self, dataset):
        self.workspace.import_dataset(dataset, mode="replace", allow_empty=True)
        return self.workspace.load(), DatabaseRunner(self.workspace.engine)


class DuckTarget(Target):
    name = "duckdb"

    def __init__(self):
        self.engine = sa.create_engine("duckdb:///:memory:")

    def load(self, dataset):
        copy_job_tables(self.engine, dataset, TABLES)
        return dataset, DatabaseRunner(self.engine)


class SparkTarget(Target):
    name = "spark"

    def __init__(self, spark):
        self.spark = spark
        self.folder = Path(tempfile.mkdtemp(prefix="engagekit-spark-"))
        self.loads = 0

    def load(self, dataset):
        self.loads += 1
        folder = self.folder / str(self.loads)
        folder.mkdir()
        for name in JOB_TABLES:
            getattr(dataset, name).to_parquet(folder / f"{name}.parquet", index=False)
        return dataset, SparkRunner.from_parquet_folder(self.spark, folder)


def compare_on(target: Target, cases: int = CASES_PER_ENGINE) -> int:
    compared = []

    @settings(max_examples=-(-cases // AS_OFS_PER_DATASET), deadline=None, database=None,
              phases=(Phase.explicit, Phase.generate),  # shrinking a database case takes minutes
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(dataset=datasets(), config=random_configs(), use_current=st.booleans())
    def check(dataset, config, use_current):
        stored, runner = target.load(dataset)
        for as_of in RANDOM_AS_OF:
            stamp = pd.Timestamp(as_of)
            expected = engagement_report(stored, as_of=stamp, config=config,
                                         previous_uses_current_thresholds=use_current)
            got = report_in_database(runner, TABLES, as_of=stamp, config=config,
                                     previous_uses_current_thresholds=use_current)
            matrix = transition_counts(runner, TABLES, as_of=stamp, config=config,
                                       previous_uses_current_thresholds=use_current)
            assert_reports_equal(expected, got, matrix)
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
        return workspace.load(), DatabaseRunner(workspace.engine)
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


def test_the_job_has_no_order_by_over_contacts():
    """Ordering happens only over the distinct scores (a window ordered by score)."""
    text, _ = compile_for_spark(levels_query(TABLES, as_of=pd.Timestamp("2026-06-30")))
    assert "ROW_NUMBER" not in text.upper()
    ordered = [line for line in text.splitlines() if "ORDER BY" in line.upper()]
    assert ordered and all("OVER (ORDER BY" in line.upper() for line in ordered)
    assert "cuts_per_score" in text


def test_every_value_is_a_bound_parameter():
    config = every_event(min_sends=7, open_weight=3.0)
    text, params = compile_for_spark(levels_query(TABLES, as_of=pd.Timestamp("2026-06-30"),
                                                  config=config))
    assert 7 in params.values() and "2026-06-30 00:00:01" in params.values()
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
    """Random settings under which the Spark engine is defined: :func:`segments_support.configs`
    (sends, windows, exclusion) with every open and click counted, as the session requires of
    Spark (``Session._check_in_database``): its levels and activity read the raw events."""
    return configs().map(lambda config: config.with_changes(**EVERY_OPEN_AND_CLICK))


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
def test_spark_engine_counts_levels_over_catalog_tables(spark):
    """Sources may be catalog tables; a count and members agree with the memory engine.

    Every canonical table is a source: besides the levels job's tables, the engine's catalog
    (which checks each definition) reads lists, campaigns and tags. Registered here, so the test
    never reads views another test left on the shared Spark session."""
    dataset = tie_dataset()
    # through Parquet: Spark cannot infer a schema from an empty pandas frame (no lists, no tags)
    folder = write_parquet_tables(dataset, tempfile.mkdtemp(prefix="engagekit-spark-"))
    for name in TABLE_NAMES:
        spark.read.parquet(str(folder / f"{name}.parquet")).createOrReplaceTempView(f"crm_{name}")
    runner = SparkRunner(spark, {name: f"crm_{name}" for name in TABLE_NAMES})
    engine = SparkEngine(runner, as_of="2026-06-30")
    memory = MemoryEngine(dataset, as_of="2026-06-30")
    for level in ("most_engaged", "least_engaged", "everyone_else"):
        assert engine.count(level_segment(level)) == memory.count(level_segment(level))
        assert engine.members(level_segment(level)).tolist() == memory.members(level_segment(level)).tolist()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sql_segment_counts_never_load_events_into_python(kind, monkeypatch, sample_dataset):
    """Levels for SQL segments are computed and stored by the database (INSERT ... SELECT) when
    every open and click counts; level segments do not read the counted deliveries."""
    from engagekit.segments import SqlEngine
    from engagekit.workspace import Workspace

    with fresh_postgres_database() if kind == "postgres" else nullcontext() as url:
        workspace = open_workspace(kind, url)
        workspace.import_dataset(sample_dataset)
        config = every_event()  # what the database can count without the library's machine verdicts
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
