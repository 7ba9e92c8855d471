"""Every notebook in ``notebooks/`` runs top to bottom on the sample data.

Each notebook is executed with nbclient in a fresh temporary working directory, with
``ENGAGEKIT_WORKSPACE`` pointing at a temporary SQLite workspace, so a run never touches a user's
data. A failing cell fails the test with that cell's source and error.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_SECONDS = 600
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def test_there_are_notebooks():
    assert [path.name for path in NOTEBOOKS] == [
        "01_explore_engagement.ipynb",
        "02_tune_thresholds.ipynb",
        "03_plan_reengagement.ipynb",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    notebook = nbformat.read(path, as_version=4)
    workdir, home, scratch = tmp_path / "work", tmp_path / "home", tmp_path / "tmp"
    for folder in (workdir, home, scratch):
        folder.mkdir()
    # The kernel inherits this process's environment: a throw-away workspace, home and temporary
    # folder (the notebooks make their workspace with tempfile), and where the sample data is
    # (the notebooks default to ../sample_data, relative to notebooks/).
    monkeypatch.setenv("ENGAGEKIT_WORKSPACE", f"sqlite:///{tmp_path / 'workspace.db'}")
    monkeypatch.setenv("ENGAGEKIT_SAMPLE_DATA", str(REPO / "sample_data"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        plain = ANSI_ESCAPE.sub("", str(error))  # the kernel colours its tracebacks
        pytest.fail(f"{path.name} failed:\n{plain}", pytrace=False)
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"


def test_notebooks_are_committed_without_outputs():
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            assert not cell.get("outputs"), f"{path.name}, cell {index}: outputs not cleared"
            assert cell.get("execution_count") is None, (
                f"{path.name}, cell {index}: execution count not cleared"
            )


def test_notebooks_use_one_import_line_of_the_library():
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        lines = [
            line.strip()
            for cell in notebook.cells
            if cell.cell_type == "code"
            for line in cell.source.splitlines()
        ]
        imports = [line for line in lines if line.startswith(("import engagekit", "from engagekit"))]
        assert imports == ["import engagekit as ek"], f"{path.name}: {imports}"
