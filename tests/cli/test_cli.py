"""The command line: each command end to end on a small workspace, and errors as one line."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from engagekit import EngagementConfig, compute_levels
from engagekit.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def workspace_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{folder}/ws.db"
    result = runner.invoke(app, ["sample", "--contacts", "400", "--out", str(folder / "sample"),
                                 "--load", "--workspace", url])
    assert result.exit_code == 0, result.output
    return url


def test_sample_writes_canonical_folder(tmp_path):
    result = runner.invoke(app, ["sample", "--contacts", "50", "--seed", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert {"contacts.csv", "email_events.csv.gz", "README.md"} <= {p.name for p in tmp_path.iterdir()}


def test_levels_prints_summary_and_writes_files(workspace_url, tmp_path):
    out = tmp_path / "levels.parquet"
    result = runner.invoke(app, ["levels", "-w", workspace_url, "--as-of", "2026-11-30",
                                 "--out", str(out), "--store"])
    assert result.exit_code == 0, result.output
    for label in ("Most engaged", "Somewhat engaged", "Least engaged", "Everyone else", "Share now"):
        assert label in result.output
    table = pd.read_parquet(out)
    assert len(table) == 400
    assert {"email", "level", "previous_level", "movement", "score"} <= set(table.columns)
    assert "Stored as snapshot" in result.output


EVERY_EVENT_FLAGS = ["--engagement", "all_opens", "--count-scanner-clicks"]


@pytest.mark.parametrize("flags", [[], EVERY_EVENT_FLAGS], ids=["default rule", "every event"])
@pytest.mark.parametrize("engine", ["sql", pytest.param("spark", marks=pytest.mark.spark)])
def test_levels_on_another_engine_writes_the_memory_engines_levels(workspace_url, tmp_path, engine,
                                                                  flags, request):
    if engine == "spark":
        request.getfixturevalue("spark")  # the test run's one Spark session (or a clear skip)
    tables = {}
    for kind in ("memory", engine):
        out = tmp_path / f"{kind}.parquet"
        result = runner.invoke(app, ["levels", "-w", workspace_url, "--as-of", "2026-11-30",
                                     "--engine", kind, "--out", str(out), *flags])
        assert result.exit_code == 0, result.output
        tables[kind] = pd.read_parquet(out).sort_values("contact_id").reset_index(drop=True)
    columns = ["contact_id", "email", "eligible_sends", "opened", "clicked", "score", "level",
               "previous_level", "movement", "days_since_last_engagement"]
    pd.testing.assert_frame_equal(tables[engine][columns], tables["memory"][columns],
                                  check_categorical=False)


def test_another_engine_refuses_orders_counting_as_engagement(workspace_url):
    result = runner.invoke(app, ["levels", "-w", workspace_url, "--as-of", "2026-11-30", "--engine", "sql",
                                 "--count-orders"])
    assert result.exit_code == 1
    assert "Use the memory engine, or stop counting orders (--no-orders)" in " ".join(result.output.split())


def test_levels_refuses_an_unknown_engine_in_one_sentence(workspace_url):
    result = runner.invoke(app, ["levels", "-w", workspace_url, "--engine", "oracle"])
    assert result.exit_code != 0
    assert "Unknown engine 'oracle'" in result.output and "Traceback" not in result.output


def test_levels_accepts_settings_file_and_flags(workspace_url, tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"min_sends": 2, "most_engaged_share": 0.1}))
    out = tmp_path / "levels.csv"
    result = runner.invoke(app, ["levels", "-w", workspace_url, "--as-of", "2026-11-30",
                                 "--config", str(settings), "--least-share", "0.3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert len(written) == 400
    # the file's levels are those of the file's settings with the flag on top, not the defaults
    from engagekit.workspace import Workspace

    config = EngagementConfig(min_sends=2, most_engaged_share=0.1, least_engaged_share=0.3)
    expected = compute_levels(Workspace.open(workspace_url).load(), as_of="2026-11-30", config=config)
    assert written["level"].value_counts().to_dict() == {
        level: n for level, n in expected.counts().items() if n}
    assert expected.counts().to_dict() != compute_levels(
        Workspace.open(workspace_url).load(), as_of="2026-11-30").counts().to_dict()
    assert "most engaged share 10% (saved: 20%)" in " ".join(result.output.split())


def test_transitions_and_history_and_explain(workspace_url):
    result = runner.invoke(app, ["transitions", "-w", workspace_url, "--as-of", "2026-11-30"])
    assert result.exit_code == 0, result.output
    assert "rising" in result.output and "slipping" in result.output
    result = runner.invoke(app, ["history", "-w", workspace_url, "--as-of", "2026-11-30", "--months", "3"])
    assert result.exit_code == 0, result.output
    assert "2026-09-30" in result.output
    from engagekit.workspace import Workspace

    email = Workspace.open(workspace_url).load().contacts["email"].iloc[0]
    result = runner.invoke(app, ["explain", email.upper(), "-w", workspace_url, "--as-of", "2026-11-30"])
    assert result.exit_code == 0, result.output
    assert "email(s) sent between" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["levels", "--as-of", "not-a-date"], "not a date"),
        (["levels", "--most-share", "0.8", "--least-share", "0.5"], "add up to more than 100%"),
        (["explain", "nobody@example.com", "--as-of", "2026-11-30"], "no contact"),
        (["levels", "--as-of", "2026-11-30", "--out", "x.txt"], ".csv or .parquet"),
    ],
)
def test_errors_are_one_clear_line(workspace_url, args, message):
    result = runner.invoke(app, [*args, "-w", workspace_url])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_empty_workspace_says_what_to_do(tmp_path):
    result = runner.invoke(app, ["levels", "-w", f"sqlite:///{tmp_path}/empty.db", "--as-of", "2026-11-30"])
    assert result.exit_code == 1
    assert "engagekit import" in result.output


def test_help_everywhere():
    for command in ([], ["sample"], ["import"], ["levels"], ["transitions"], ["explain"], ["history"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0
        assert "Usage" in result.output
