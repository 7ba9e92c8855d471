"""``engagekit segment ...`` through Typer's test runner."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from engagekit.cli.segments import app
from engagekit.data.sample import generate_sample
from engagekit.segments.definition import SCHEMA_VERSION
from engagekit.segments.store import SegmentStore
from engagekit.workspace import Workspace

AS_OF = "2026-11-30"


def level_is(*levels: str) -> dict:
    return {"version": SCHEMA_VERSION, "criteria": {"type": "and", "group": [
        {"source": "engagement", "field": "current_level", "op": "is", "value": list(levels)}]}}


@pytest.fixture(scope="module")
def sample():
    return generate_sample(300, seed=5, end=AS_OF)


@pytest.fixture
def url(sample, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # wide tables: names are not wrapped mid-word
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    Workspace.open(url).import_dataset(sample)
    return url


@pytest.fixture
def run(url):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, ok: bool = True):
        result = runner.invoke(app, [*args, "--workspace", url], input=input)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


@pytest.fixture
def definition_file(tmp_path):
    path = tmp_path / "def.json"
    path.write_text(json.dumps(level_is("least_engaged", "everyone_else")))
    return path


def assert_one_red_line(result, *fragments: str) -> None:
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


# -- managing ----------------------------------------------------------------------------------
def test_list_shows_prebuilt_then_saved(run, definition_file):
    run("create", "Quiet ones", "--file", str(definition_file))
    output = run("list").stdout
    for name in ("Most engaged", "Somewhat engaged", "Least engaged", "Everyone else", "Quiet ones"):
        assert name in output
    assert output.index("Everyone else") < output.index("Quiet ones")
    assert "pre-built" in output and "custom" in output


def test_create_show_and_round_trip_json(run, definition_file):
    created = run("create", "Quiet ones", "--file", str(definition_file))
    assert "Created segment 'Quiet ones'" in created.stdout
    shown = run("show", "QUIET ONES").stdout
    assert "Quiet ones (custom)" in shown and "Definition:" in shown
    as_json = json.loads(run("show", "quiet ones", "--json").stdout)
    assert as_json["criteria"]["group"][0]["value"] == ["least_engaged", "everyone_else"]
    again = run("create", "From stdin", "--file", "-", input=json.dumps(as_json))
    assert "Created segment 'From stdin'" in again.stdout


def test_edit_copy_rename_delete(run, definition_file, url):
    run("copy", "Least engaged")
    run("copy", "Least engaged", "--name", "Mine")
    assert "'Least engaged (copy 2)'" in run("copy", "least engaged").stdout
    run("edit", "Mine", "--file", str(definition_file))
    assert "Renamed to 'Yours'" in run("rename", "mine", "Yours").stdout
    assert "Deleted segment 'Yours'" in run("delete", "yours", "--yes").stdout
    names = [s.name for s in SegmentStore(Workspace.open(url)).list()[4:]]
    assert names == ["Least engaged (copy)", "Least engaged (copy 2)"]


def test_delete_asks_first(run, url):
    run("copy", "Most engaged", "--name", "Keep me")
    kept = run("delete", "Keep me", input="n\n", ok=False)
    assert kept.exit_code == 1 and "Nothing deleted" in kept.stderr
    assert "Deleted" in run("delete", "Keep me", input="y\n").stdout
    assert len(SegmentStore(Workspace.open(url)).list()) == 4


# -- using -------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["memory", "sql"])
def test_count(run, sample, engine):
    result = run("count", "Least engaged", "--as-of", AS_OF, "--engine", engine)
    from engagekit.engagement.levels import compute_levels

    expected = int((compute_levels(sample, as_of=AS_OF).table["level"] == "least_engaged").sum())
    assert f"matches {expected:,} of 300 contacts as of 2026-11-30 00:00 UTC" in result.stdout


def test_count_warns_about_a_narrow_segment(run, tmp_path):
    nobody = tmp_path / "nobody.json"
    nobody.write_text(json.dumps({"version": SCHEMA_VERSION, "criteria": {"type": "and", "group": [
        level_is("most_engaged")["criteria"]["group"][0], level_is("least_engaged")["criteria"]["group"][0],
    ]}}))
    run("create", "Nobody", "--file", str(nobody))
    result = run("count", "Nobody", "--as-of", AS_OF)
    assert "matches 0 of 300" in result.stdout
    assert "criteria may be too narrow" in result.stderr


def test_count_defaults_to_now(run):
    assert "UTC" in run("count", "Everyone else").stdout


def test_members_with_columns_and_limit(run):
    result = run("members", "Somewhat engaged", "--columns", "email, city,current_level",
                 "--limit", "3", "--as-of", AS_OF)
    assert "city" in result.stdout and "Somewhat engaged" in result.stdout
    assert "Showing 3 of" in result.stdout
    assert result.stdout.count("@") == 3


def test_export_to_file_and_stdout(run, tmp_path):
    out = tmp_path / "least.csv"
    result = run("export", "Least engaged", "--out", str(out), "--fields", "last_name,first_name",
                 "--as-of", AS_OF, "--engine", "sql")
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["email", "last_name", "first_name"]
    assert f"Wrote {len(frame):,} members" in result.stderr
    piped = run("export", "Least engaged", "--out", "-", "--as-of", AS_OF)
    assert pd.read_csv(io.StringIO(piped.stdout), dtype=str)["email"].tolist() == frame["email"].tolist()


def test_add_to_list_twice(run):
    first = run("add-to-list", "Most engaged", "--list", "VIP", "--as-of", AS_OF).stdout
    assert "(new list)" in first and "0 were already there" in first
    second = run("add-to-list", "Most engaged", "--list", "vip", "--as-of", AS_OF).stdout
    assert "Added 0 contacts to list 'VIP'" in second


def test_audience(run, tmp_path, sample):
    out = tmp_path / "audience.csv"
    result = run("audience", "Everyone else", "--out", str(out), "--as-of", AS_OF)
    emails = set(pd.read_csv(out, dtype=str)["email"])
    status = sample.contacts.set_index("email")["email_status"]
    assert emails and set(status.loc[list(emails)]) == {"subscribed"}
    assert "sendable contacts" in result.stderr and "left out:" in result.stderr


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "fragments"), [
    (["show", "Leest engaged"], ["no segment named 'Leest engaged'", "did you mean 'Least engaged'"]),
    (["delete", "Most engaged", "--yes"], ["pre-built segment and cannot be deleted"]),
    (["delete", "Most engaged"], ["pre-built segment and cannot be deleted"]),  # before asking
    (["rename", "Most engaged", "Top"], ["cannot be renamed"]),
    (["count", "Least engaged", "--as-of", "yesterday-ish"], ["--as-of 'yesterday-ish'"]),
    (["members", "Least engaged", "--columns", "email,shoe_size"], ["'shoe_size'"]),
    (["create", "x", "--file", "/no/such/file.json"], ["No such file", "/no/such/file.json"]),
])
def test_errors_are_one_red_line(run, args, fragments):
    assert_one_red_line(run(*args, ok=False), *fragments)


def test_duplicate_and_invalid_definitions(run, definition_file, tmp_path):
    run("create", "Twice", "--file", str(definition_file))
    assert_one_red_line(run("create", "TWICE", "--file", str(definition_file), ok=False),
                        "already exists")
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1, "criteria": {"type": "and", "group": []}}')
    assert_one_red_line(run("create", "Broken", "--file", str(broken), ok=False))
    broken.write_text("{not json")
    assert_one_red_line(run("create", "Broken", "--file", str(broken), ok=False))


def test_bad_workspace_url():
    result = CliRunner().invoke(app, ["list", "--workspace", "not a url"])
    assert_one_red_line(result, "Not a database URL")


def test_workspace_defaults_to_the_environment(url, monkeypatch):
    monkeypatch.setenv("ENGAGEKIT_WORKSPACE", url)
    SegmentStore(Workspace.open(url)).copy("Most engaged", "From env")
    assert "From env" in CliRunner().invoke(app, ["list"]).stdout


@pytest.mark.parametrize("engine", ["memory", "sql"])
def test_a_slip_risk_segment_on_a_short_history_is_one_line(run, tmp_path, engine):
    likely = tmp_path / "likely.json"
    likely.write_text(json.dumps({"version": SCHEMA_VERSION, "criteria": {"type": "and", "group": [
        {"source": "metrics", "field": "slip_risk", "op": "gte", "value": 0.6}]}}))
    run("create", "Likely to slip", "--file", str(likely))
    assert "Definition: Slip risk is at least 60%" in run("show", "Likely to slip").stdout
    result = run("count", "Likely to slip", "--as-of", "2026-01-15", "--engine", engine, ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    # the note of the as-of override, then the model's one sentence
    assert result.stderr.strip().splitlines()[-1].startswith(
        "Error: The history is too short to learn slip risk: it needs campaigns from ")
