"""Frames kept with a workspace's stored copy: the level features and history a later process reads."""

from __future__ import annotations

import pandas as pd
import pytest

import engagekit as ek
from engagekit.engagement.report import engagement_report
from engagekit.workspace.columnar import KeptFrames

SETTINGS = [{}, {"lookback_days": 60, "engagement": "all_opens"},
            {"engagement": "clicks_only", "count_scanner_clicks": True, "min_sends": 2}]


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ek.Workspace.open(url).import_dataset(ek.generate_sample(300, seed=6), mode="replace")
    return url


@pytest.mark.parametrize("changes", SETTINGS)
@pytest.mark.parametrize("as_of", ["2026-11-30", "2026-10-03 12:00"])
def test_a_later_process_reads_the_same_levels_and_history(url, changes, as_of):
    config = ek.EngagementConfig(**changes)
    computed = engagement_report(ek.Workspace.open(url).load(), as_of=as_of, config=config)
    kept = engagement_report(ek.Workspace.open(url).load(), as_of=as_of, config=config)
    for now, later in ((computed.current, kept.current), (computed.previous, kept.previous)):
        pd.testing.assert_frame_equal(now.table, later.table)
        assert now.thresholds == later.thresholds
    first = ek.Session.open(url, as_of=as_of, changes=changes).history(4)
    again = ek.Session.open(url, as_of=as_of, changes=changes).history(4)
    pd.testing.assert_frame_equal(first, again)


def test_new_data_never_reads_what_was_kept_for_the_old(url):
    before = ek.Session.open(url, as_of="2026-11-30")
    before.prepare_overview()
    ek.Workspace.open(url).import_dataset(ek.generate_sample(120, seed=7), mode="replace")
    after = ek.Session.open(url, as_of="2026-11-30")
    assert len(after.report.current.table) == 120
    assert int(after.history(12)["contacts"].groupby(after.history(12)["as_of"]).sum().iloc[0]) == 120


def test_keeping_is_best_effort(tmp_path):
    kept = KeptFrames(tmp_path / "gone" / "kept")  # its copy was removed meanwhile
    kept.write("history", pd.DataFrame({"n": [1]}))
    assert kept.read("history") is None
    assert not (tmp_path / "gone").exists()
