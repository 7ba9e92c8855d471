"""One workspace, one answer: the CLI, the Python API and the dashboard agree on saved settings.

The workspace has non-default settings saved and a pinned as-of date; every surface must use them
without being told, and give the same level counts and segment counts.
"""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

import engagekit as ek
from engagekit.cli import app as cli

from dashboard_support import APP, APP_TIMEOUT_SECONDS, show

PINNED = "2026-10-15"
SAVED = ek.EngagementConfig(min_sends=5, most_engaged_share=0.1, least_engaged_share=0.3,
                            lookback_days=60)
SEGMENT = "Least engaged"


@pytest.fixture
def saved_workspace(workspace_url):
    ek.Workspace.open(workspace_url).save_settings(SAVED, as_of=ek.as_timestamp(PINNED))
    return workspace_url


def cli_level_counts(url: str) -> dict[str, int]:
    result = CliRunner().invoke(cli, ["levels", "-w", url])
    assert result.exit_code == 0, result.output
    assert f"Levels as of {PINNED} 00:00" in result.output
    counts = {}
    for label in ek.LEVEL_LABELS.values():
        row = next(line for line in result.output.splitlines() if label in line)
        counts[label] = int(re.findall(r"[\d,]+", row.split(label)[1])[0].replace(",", ""))
    return counts


def cli_segment_count(url: str, name: str) -> int:
    result = CliRunner().invoke(cli, ["segment", "count", name, "-w", url])
    assert result.exit_code == 0, result.output
    assert f"as of {PINNED} 00:00 UTC" in result.output
    return int(re.search(r"matches ([\d,]+) of", result.output).group(1).replace(",", ""))


def test_cli_api_and_dashboard_agree_on_saved_settings(saved_workspace):
    from streamlit.testing.v1 import AppTest

    session = ek.Session.open(saved_workspace)
    assert session.settings.as_of_rule == "pinned" and session.config == SAVED
    api = {ek.LEVEL_LABELS[level]: int(n) for level, n in session.levels.counts().items()}
    assert api != {ek.LEVEL_LABELS[level]: int(n) for level, n in ek.compute_levels(
        session.dataset, as_of=PINNED).counts().items()}, "the saved settings must matter here"

    assert cli_level_counts(saved_workspace) == api
    assert cli_segment_count(saved_workspace, SEGMENT) == api[SEGMENT] == session.count(SEGMENT)

    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    at.run()
    assert not at.exception, at.exception
    shown = {metric.label: metric.value for metric in at.metric}
    assert {label: shown[label] for label in api} == {label: f"{n:,}" for label, n in api.items()}
    at.switch_page("app_pages/segments.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    counts = dict(zip(table["name"], table["contacts"], strict=True))
    assert counts[SEGMENT] == api[SEGMENT]


def test_a_cli_flag_overrides_for_one_command_and_says_so(saved_workspace):
    result = CliRunner().invoke(cli, ["levels", "-w", saved_workspace, "--min-sends", "2"])
    assert result.exit_code == 0, result.output
    assert "For this run only: minimum sends to be judged 2 (saved: 5)" in " ".join(result.output.split())
    # the saved settings are untouched
    assert ek.Session.open(saved_workspace).config == SAVED


def test_the_segments_page_audience_is_its_members_less_the_unsendable(saved_workspace):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    at.run()
    at.switch_page("app_pages/segments.py").run()
    at.selectbox(key="segments_selected").set_value(SEGMENT).run()
    show(at, "segments_view", "Export")
    session = ek.Session.open(saved_workspace)
    members = session.members(SEGMENT, ["email", "email_status"])
    sendable = members[members["email_status"] == "subscribed"]
    audience = session.audience(SEGMENT)
    assert list(audience.frame["email"]) == list(sendable["email"])
    assert sum(audience.left_out.values()) == len(members) - len(sendable)
    page_text = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert f"The members you can email: **{len(sendable):,}** of the {len(members):,} members" in page_text
    exported = session.export_frame(SEGMENT)
    assert list(exported["email"]) == list(members["email"])
