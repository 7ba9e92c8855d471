"""``engagekit sunset``: simulate a rule, export whom to suppress, make the last-chance list."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import engagekit as ek
from engagekit.cli import app

runner = CliRunner()


@pytest.fixture
def url(tmp_path, sample_dataset):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ek.Workspace.open(url).import_dataset(sample_dataset, mode="replace")
    return url


def run(*args: str) -> str:
    result = runner.invoke(app, ["sunset", *args])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_simulate_export_and_last_chance_agree_with_the_library(url, tmp_path):
    rule = ek.SunsetRule(unengaged_sends=6, unengaged_days=90)
    simulation = ek.Session.open(url).sunset(rule)
    assert simulation.summary() in run("simulate", "--sends", "6", "--days", "90", "-w", url)
    out = tmp_path / "suppress.csv"
    run("export", "--out", str(out), "--sends", "6", "--days", "90", "-w", url)
    assert len(pd.read_csv(out)) == simulation.suppressed > 0
    made = run("last-chance", "--list", "Last chance", "--sends", "6", "--days", "90", "-w", url)
    assert f"Added {simulation.suppressed:,} contacts to list 'Last chance'" in made


def test_an_impossible_rule_is_one_line(url):
    result = runner.invoke(app, ["sunset", "simulate", "--sends", "0", "-w", url])
    assert result.exit_code != 0 and "Traceback" not in result.output
