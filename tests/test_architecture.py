"""The layers hold: contracts in pyproject.toml, no cycles, surfaces use only the public API."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "toolkit" / "engagekit"
PUBLIC = {"engagekit", "engagekit.session"}


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _engagekit_imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "engagekit":
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "engagekit"]
    return found


def test_import_contracts_are_kept():
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_forbidden_import_breaks_the_contract(tmp_path):
    """The contract can fail: a data module importing the session is reported."""
    copy = tmp_path / "toolkit"
    subprocess.run(["cp", "-r", str(ROOT / "toolkit"), str(copy)], check=True)
    (copy / "engagekit" / "data" / "forbidden.py").write_text("import engagekit.session\n")
    config = tmp_path / "contracts.toml"
    config.write_text((ROOT / "pyproject.toml").read_text())
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", str(config), "--no-cache"],
        cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert "engagekit.data.forbidden -> engagekit.session" in result.stdout


def test_the_library_has_no_import_cycles():
    graph = grimp.build_graph("engagekit", exclude_type_checking_imports=True)
    modules = sorted(graph.modules)
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported == module or not imported.startswith("engagekit"):
                continue
            # the package root re-exports everything: importing it from below is not a cycle
            if "engagekit" in (module, imported):
                continue
            back = graph.find_shortest_chain(importer=imported, imported=module)
            assert back is None, f"cycle: {module} -> {imported} -> ... -> {module}: {back}"


@pytest.mark.parametrize("path", _python_files(LIBRARY), ids=lambda p: str(p.relative_to(LIBRARY)))
def test_no_import_inside_a_function_dodges_a_cycle(path):
    tree = ast.parse(path.read_text())
    for function in ast.walk(tree):
        # A package's module __getattr__ is a lazy re-export of a leaf module, not a cycle dodge.
        lazy_export = path.name == "__init__.py" and getattr(function, "name", "") == "__getattr__"
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and not lazy_export:
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                    assert not any((n or "").startswith("engagekit") for n in names), (
                        f"{path.name}:{node.lineno} imports engagekit inside {function.name}()")


@pytest.mark.parametrize("path", _python_files(LIBRARY), ids=lambda p: str(p.relative_to(LIBRARY)))
def test_nothing_writes_into_a_cached_property(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            target = node.value
            assert not (isinstance(target, ast.Attribute) and target.attr == "__dict__"), (
                f"{path.name}:{node.lineno} writes into __dict__")


SURFACES = [*_python_files(ROOT / "dashboard"), *_python_files(LIBRARY / "cli")]


@pytest.mark.parametrize("path", SURFACES, ids=lambda p: str(p.relative_to(ROOT)))
def test_surfaces_import_only_the_public_api(path):
    imports = _engagekit_imports(ast.parse(path.read_text()))
    deep = [(line, module) for line, module in imports
            if module not in PUBLIC and not module.startswith("engagekit.cli")]
    assert not deep, f"{path.relative_to(ROOT)} imports deep modules: {deep}"


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_import_only_the_public_api(path):
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        deep = [m for _, m in _engagekit_imports(ast.parse(source)) if m not in PUBLIC]
        assert not deep, f"{path.name} imports deep modules: {deep}"
