"""Fixtures of the dashboard tests: a sample workspace per test and the app under AppTest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import engagekit as ek

from dashboard_support import APP, APP_TIMEOUT_SECONDS


@pytest.fixture(scope="session")
def template_workspace(tmp_path_factory, sample_dataset) -> Path:
    """A workspace file holding the 1,500-contact sample, made once and copied by each test."""
    folder = tmp_path_factory.mktemp("template")
    workspace = ek.Workspace.open(f"sqlite:///{folder / 'ws.db'}")
    workspace.import_dataset(sample_dataset)
    workspace.load()  # writes the columnar copy next to the database, so copies load fast
    workspace.engine.dispose()
    return folder


@pytest.fixture
def workspace_url(template_workspace, tmp_path, monkeypatch) -> str:
    """A fresh copy of the sample workspace, set as ``$ENGAGEKIT_WORKSPACE`` for the app."""
    folder = tmp_path / "workspace"
    shutil.copytree(template_workspace, folder)
    url = f"sqlite:///{folder / 'ws.db'}"
    monkeypatch.setenv("ENGAGEKIT_WORKSPACE", url)
    return url


@pytest.fixture
def empty_workspace_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("ENGAGEKIT_WORKSPACE", url)
    return url


@pytest.fixture
def app(workspace_url):
    """The dashboard on the sample workspace, first page run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def library(workspace_url):
    """The same workspace opened by the library, to compare the app's answers with its own."""
    return ek.Workspace.open(workspace_url)
