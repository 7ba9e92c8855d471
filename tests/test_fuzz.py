"""The fixed-seed part of ``make fuzz``: fuzzed imports, concurrent users and kill -9, with the
figures the full run reports (see ``benchmarks/fuzz.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import engagekit as ek

from postgres import postgres_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import fuzz  # noqa: E402

KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def test_fuzzed_imports_never_crash_lose_rows_or_change_the_workspace_on_failure():
    figures = fuzz.run_imports(cases=60, seed=7)
    assert figures["crashes"] == 0, figures["examples"]
    assert figures["rows_lost_without_report"] == 0, figures["examples"]
    assert figures["failed_imports_that_changed_the_workspace"] == 0, figures["examples"]
    assert figures["refused"] and figures["imported"]  # both outcomes were exercised


def test_the_row_check_catches_a_row_dropped_without_a_report_entry():
    report = ek.ImportReport()
    report.rows["contacts.csv"] = {"read": 5, "kept": 3}
    report.add("contacts.csv", 4, "email", "not a valid email address; row skipped")
    assert fuzz.unreported_rows(report, Path("/nonexistent")) == 1


def _needs(kind: str) -> None:
    if kind == "postgres":
        postgres_url()  # fails in CI, skips elsewhere, without a server


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_users_lose_and_duplicate_nothing(kind):
    _needs(kind)
    figures = fuzz.run_concurrency(kind, processes=4, steps=8)
    assert figures["worker_exit_codes"] == [0, 0, 0, 0]
    assert figures["lost_writes"] == 0 and figures["duplicated_writes"] == 0, figures
    assert figures["raw_errors"] == 0, figures["raw_error_examples"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_kill_9_during_an_import_or_a_segment_save_leaves_old_or_new_data(kind):
    _needs(kind)
    figures = fuzz.run_kills(kind, trials=1, seed=3)
    assert figures["kills"] == figures["opened"] == figures["consistent"] == 2, figures
    assert figures["old_or_new_data"] == 2, figures["problems"]
