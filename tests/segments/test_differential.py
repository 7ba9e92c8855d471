"""Differential property tests: the in-memory, the SQL and the Spark engine give identical members.

Random small datasets (blanks, unicode, wildcards in text, ties in sent times, events around the
as-of second, orders in cents, custom text / number / date fields) are imported into a workspace;
on each, random definitions (nested and/or groups of criteria from every family) are evaluated by
:class:`MemoryEngine` over the loaded data and by :class:`SqlEngine` in the database. One workspace
serves many definitions, so each database sees at least :data:`MIN_COMPARED` definitions quickly.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
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
from engagekit.segments import MemoryEngine, SegmentDefinition, SqlEngine

DATASETS = 18
DEFINITIONS_PER_DATASET = 30
MIN_COMPARED = 500


def compare_engines(workspace, *, datasets_count: int = DATASETS) -> int:
    """Run the property on ``workspace``; returns how many definitions were compared."""
    compared, informative = [], []

    @settings(max_examples=datasets_count, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def check(data):
        dataset = data.draw(datasets(), label="dataset")
        as_of = data.draw(st.sampled_from(RANDOM_AS_OF), label="as_of")
        config = data.draw(configs(), label="config")
        # replace, not merge: what a definition may draw depends on this dataset alone, never on
        # earlier examples (hypothesis replays examples and needs the same draws each time)
        workspace.import_dataset(dataset, mode="replace")
        loaded = workspace.load()
        memory = MemoryEngine(loaded, as_of=as_of, config=config)
        sql = SqlEngine(workspace, as_of=as_of, config=config)
        random_definitions = definitions(loaded)
        for i in range(DEFINITIONS_PER_DATASET):
            definition = data.draw(random_definitions, label=f"definition {i}")
            expected = outcome(memory, definition)
            # Through JSON, so the stored form is what runs.
            got = outcome(sql, SegmentDefinition.from_json(definition.to_json()))
            assert got == expected, f"{definition.describe(memory.catalog)}\n{definition.to_json()}"
            compared.append(1)
            informative.append(isinstance(expected, list) and 0 < len(expected) < loaded.n_contacts)

    started = time.perf_counter()
    check()
    print(f"\n{len(compared)} definitions compared on {workspace.engine.dialect.name} in "
          f"{time.perf_counter() - started:.1f} s; {sum(informative)} matched some but not all contacts")
    return len(compared)


@pytest.mark.slow
def test_engines_agree_on_sqlite():
    assert compare_engines(open_workspace("sqlite")) >= MIN_COMPARED


@pytest.mark.slow
@pytest.mark.postgres
def test_engines_agree_on_postgres():
    with fresh_postgres_database() as url:
        workspace = open_workspace("postgres", url)
        try:
            assert compare_engines(workspace) >= MIN_COMPARED
        finally:
            workspace.engine.dispose()


# -- slip risk and sunset status, where the history is long enough to learn from ---------------
MEASURED_AS_OF = "2026-11-30"
MEASURE_DEFINITIONS = 40
SPARK_MEASURE_DEFINITIONS = 8


def measure_definitions(memory: MemoryEngine):
    """Definitions mixing slip risk (thresholds at and between the model's own values, so that
    equality and the edges of ``gte`` are tested) and sunset status with levels and metrics."""
    from engagekit.engagement.sunset import SUNSET_STATUSES
    from engagekit.segments import Group, where

    risks = memory.measures.slip_risk().risk.dropna().to_numpy()
    share = st.one_of(st.sampled_from(sorted(set(risks.tolist()))[::7]),
                      st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 3)))

    def risk_criterion(op):
        value = st.lists(share, min_size=2, max_size=2).map(sorted) if op == "between" else share
        return st.builds(where, st.just("metrics"), st.just("slip_risk"), st.just(op), value)

    criteria = st.one_of(
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "between"]).flatmap(risk_criterion),
        st.builds(where, st.just("engagement"), st.just("sunset_status"), st.sampled_from(["is", "is_not"]),
                  st.lists(st.sampled_from(list(SUNSET_STATUSES)), min_size=1, max_size=2, unique=True)),
        st.builds(where, st.just("engagement"), st.just("current_level"), st.sampled_from(["is", "is_not"]),
                  st.lists(st.sampled_from(["most_engaged", "least_engaged", "everyone_else"]),
                           min_size=1, max_size=2, unique=True)),
        st.builds(where, st.just("metrics"), st.just("open_rate"), st.just("gte"), share),
    )
    return st.builds(lambda kind, group: SegmentDefinition(criteria=Group(type=kind, group=group)),
                     st.sampled_from(["and", "or"]), st.lists(criteria, min_size=1, max_size=3))


@pytest.fixture(scope="module")
def measured(sample_dataset):
    """The sample workspace (a year of history) with its memory and SQL engines, counting every
    open and click: the one rule the Spark engine's levels job can follow."""
    workspace = open_workspace("sqlite")
    workspace.import_dataset(sample_dataset)
    config = EngagementConfig(**EVERY_OPEN_AND_CLICK)
    memory = MemoryEngine(workspace.load(), as_of=MEASURED_AS_OF, config=config)
    return workspace, memory, SqlEngine(workspace, as_of=MEASURED_AS_OF, config=config)


def compare_measures(memory, other, count: int) -> list[list[int]]:
    found = []

    @settings(max_examples=count, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(definition=measure_definitions(memory))
    def check(definition):
        expected = memory.members(definition).tolist()
        assert other.members(SegmentDefinition.from_json(definition.to_json())).tolist() == expected, \
            definition.to_json()
        found.append(expected)

    check()
    return found


def test_memory_and_sql_agree_on_slip_risk_and_sunset_status(measured):
    _, memory, sql = measured
    found = compare_measures(memory, sql, MEASURE_DEFINITIONS)
    n = memory.dataset.n_contacts
    assert sum(0 < len(members) < n for members in found) >= MEASURE_DEFINITIONS // 4  # informative


@pytest.mark.spark
def test_spark_agrees_on_slip_risk_and_sunset_status(measured, spark):
    from engagekit.segments.spark_engine import SparkEngine
    from engagekit.workspace.spark import SparkRunner

    workspace, memory, _ = measured
    # No measures given: the Spark engine learns slip risk from the tables Spark reads back.
    engine = SparkEngine(SparkRunner.from_parquet_folder(spark, workspace.parquet_folder()),
                         as_of=MEASURED_AS_OF, config=memory.config,
                         custom_fields=memory.dataset.custom_fields)
    assert len(compare_measures(memory, engine, SPARK_MEASURE_DEFINITIONS)) == SPARK_MEASURE_DEFINITIONS
