"""Differential property test: the in-memory and the SQL engine give identical members.

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
)

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
            expected = memory.members(definition).tolist()
            # Through JSON, so the stored form is what runs.
            got = sql.members(SegmentDefinition.from_json(definition.to_json())).tolist()
            assert got == expected, f"{definition.describe(memory.catalog)}\n{definition.to_json()}"
            compared.append(1)
            informative.append(0 < len(expected) < loaded.n_contacts)

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
