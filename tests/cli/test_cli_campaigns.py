"""``engagekit campaign``: plan with a holdout, list, export the audience, measure, delete."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import engagekit as ek
from engagekit.cli import app
from engagekit.data.sample_winback import WINBACK

runner = CliRunner()
TARGET = ('{"version": 1, "criteria": {"type": "and", "group": [{"source": "tags", "field": "tags", '
          '"op": "has_any", "value": ["winback-test"]}]}}')


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ek.Workspace.open(url).import_dataset(ek.generate_sample(2000, seed=5), mode="replace")
    ek.SegmentStore(ek.Workspace.open(url)).create("Win-back target", TARGET)
    return url


def run(*args: str):
    result = runner.invoke(app, ["campaign", *args])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_plan_export_and_measure_end_to_end(url, tmp_path):
    send = f"{WINBACK.send_time(pd.Timestamp('2026-11-30')):%Y-%m-%d %H:%M}"
    planned = run("plan", "Win-back", "-s", "win-back target", "--send-date", send, "--holdout", "0.2",
                  "--seed", str(WINBACK.seed), "--success", "order", "--days", "14", "--effect", "3",
                  "-w", url, "--as-of", send[:10])
    assert "Saved plan 'Win-back'" in planned and "A rise of 3 points needs" in planned
    plan = ek.Session.open(url).plan("Win-back")
    assert "planned" in run("list", "-w", url, "--as-of", send[:10])

    out = tmp_path / "audience.csv"
    run("export", "win-back", "--out", str(out), "-w", url)
    emails = set(pd.read_csv(out)["email"])
    contacts = ek.Workspace.open(url).load().contacts.set_index("contact_id")["email"]
    assert emails == set(contacts.loc[plan.treatment_ids])
    assert not emails & set(contacts.loc[plan.holdout_ids])

    measured = run("measure", "win-back", "-w", url)
    assert measured.startswith("Treatment ") and "lift" in measured and "Unsubscribes" in measured
    assert "measured" in run("list", "-w", url)
    assert "Deleted plan 'Win-back'" in run("delete", "win-back", "--yes", "-w", url)


@pytest.mark.parametrize(("args", "message"), [
    (["measure", "nope"], "There is no campaign plan called 'nope'"),
    (["plan", "X", "-s", "Least engaged", "--send-date", "tomorrow"], "Send date 'tomorrow' is not a date"),
    (["plan", "X", "-s", "Least engaged", "--send-date", "2026-12-01", "--success", "reply"],
     "The success event must be one of"),
])
def test_errors_are_one_line(url, args, message):
    result = runner.invoke(app, ["campaign", *args, "-w", url])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output
