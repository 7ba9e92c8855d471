"""Every command driven with hostile arguments: exit status 1 and one line, never a traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import engagekit as ek
from engagekit.cli import app

runner = CliRunner()
COMMAND = typer.main.get_command(app)


def _commands(group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        elif name != "dashboard":  # starts a server: driven by the dashboard tests
            yield (*prefix, name), command


COMMANDS = dict(_commands(COMMAND))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    workspace_url = f"sqlite:///{folder}/ws.db"
    ek.Workspace.open(workspace_url).import_dataset(ek.generate_sample(60, seed=2))
    not_utf8 = folder / os.fsdecode(b"caf\xe9.csv")
    not_utf8.write_bytes(b"Email\ncaf\xe9@example.com\n")
    text_file = folder / "notes.txt"
    text_file.write_text("this is not a database\n" * 100)
    binary = folder / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00\x01" * 50)
    huge_json = folder / "huge.json"
    huge_json.write_text('{"lookback_days": ' + "9" * 5_000 + ', "version": 1, "criteria": '
                         '{"type": "and", "group": [{"source": "metrics", "field": "opened", '
                         '"op": "gt", "value": ' + "9" * 5_000 + "}]}}")
    return {
        "huge integer in a file": {"path": str(huge_json), "text": "1", "number": "1",
                                   "workspace": workspace_url},
        "not utf-8 path": {"path": str(not_utf8), "text": "caf\udce9", "number": "1",
                           "workspace": workspace_url},
        "binary file": {"path": str(binary), "text": "\x00", "number": "1",
                        "workspace": workspace_url},
        "huge integers": {"path": str(folder / "missing.csv"), "text": "9" * 400,
                          "number": "9" * 400, "workspace": workspace_url},
        "not a database": {"path": str(text_file), "text": "'; DROP TABLE contacts; --",
                           "number": "-1", "workspace": f"sqlite:///{text_file}"},
        "not a url": {"path": str(folder), "text": "x" * 5_000, "number": "nan",
                      "workspace": "not a url at all"},
    }


def _value(param, values: dict[str, str]) -> str:
    """The hostile value for one parameter, by the type it is declared with."""
    kind = str(param.bare_type())
    if param.name == "workspace":
        return values["workspace"]
    if "Path" in kind or param.name == "definition":
        return values["path"]
    if kind in ("int", "float"):
        return values["number"]
    return values["text"]


def _arguments(command, values: dict[str, str]) -> list[str]:
    args: list[str] = []
    for param in command.params:
        if param.param_type_name == "argument":
            args.append(_value(param, values))
        elif param.param_type_name == "option" and str(param.bare_type()) != "bool":
            args += [param.opts[0], _value(param, values)]
    return args


@pytest.mark.slow
@pytest.mark.parametrize("name", [" ".join(name) for name in COMMANDS])
def test_every_command_fails_in_one_line_on_hostile_arguments(name, hostile, tmp_path,
                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)  # a command's default output folder must not be the repository
    command = COMMANDS[tuple(name.split())]
    for case, values in hostile.items():
        given = _arguments(command, values)
        if given in (["--workspace", values["workspace"]], []) and case != "not a database":
            continue  # nothing hostile to give this command but its workspace
        args = [*name.split(), *given]
        result = runner.invoke(app, args)
        shown = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.exit_code == 1, f"{case}: {args}\n{result.output}"
        assert len(shown) == 1 and shown[0].startswith("Error:"), f"{case}: {args}\n{result.stderr}"
        assert "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit), f"{case}: {result.exception!r}"


def test_header_only_file_never_empties_the_workspace_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path}/ws.db"
    ek.Workspace.open(url).import_dataset(ek.generate_sample(40, seed=3), mode="replace")
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "contacts.csv").write_text("contact_id,email,first_name\n")
    merged = runner.invoke(app, ["import", str(folder), "-w", url])
    assert merged.exit_code == 0, merged.output
    replaced = runner.invoke(app, ["import", str(folder), "-w", url, "--mode", "replace"])
    assert replaced.exit_code == 1 and "would empty the workspace" in replaced.stderr
    assert ek.Workspace.open(url).read_database().n_contacts == 40


def test_nanosecond_times_import_from_the_command_line(tmp_path):
    folder = tmp_path / "canonical"
    shutil.copytree(Path(__file__).parents[1] / "fixtures" / "canonical", folder)
    events = folder / "email_events.csv"
    events.write_text(events.read_text().replace("T10:15:00", "T10:15:00.123456789"))
    result = runner.invoke(app, ["import", str(folder), "-w", f"sqlite:///{tmp_path}/ws.db"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
