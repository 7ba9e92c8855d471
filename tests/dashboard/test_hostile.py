"""Every dashboard page under hostile input shows a message, never an exception element."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import engagekit as ek

from dashboard_support import APP, APP_TIMEOUT_SECONDS

PAGES = ["overview", "transitions", "segments", "builder", "settings"]
FIXTURES = Path(__file__).parents[1] / "fixtures"


def run_every_page(at: AppTest) -> None:
    at.run()
    assert not at.exception, at.exception
    for page in PAGES:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, at.exception)


@pytest.mark.parametrize("url", [
    "not a url at all",
    "sqlite:///{tmp}/notes.txt",
    "sqlite:///{tmp}/missing/folder/ws.db",
    "postgresql+psycopg://nobody@127.0.0.1:1/none",
    "mysql://x@localhost/y",
])
def test_pages_survive_a_bad_workspace_url(tmp_path, monkeypatch, url):
    (tmp_path / "notes.txt").write_text("this is not a database\n" * 200)
    monkeypatch.setenv("ENGAGEKIT_WORKSPACE", url.format(tmp=tmp_path))
    run_every_page(AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS))


def test_pages_show_nanosecond_times(tmp_path, monkeypatch):
    folder = tmp_path / "canonical"
    shutil.copytree(FIXTURES / "canonical", folder)
    events = folder / "email_events.csv"
    events.write_text(events.read_text().replace("T10:15:00", "T10:15:00.123456789"))
    url = f"sqlite:///{tmp_path}/ws.db"
    dataset, _ = ek.read_any([folder])
    ek.Workspace.open(url).import_dataset(dataset, mode="replace")
    monkeypatch.setenv("ENGAGEKIT_WORKSPACE", url)
    run_every_page(AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS))
