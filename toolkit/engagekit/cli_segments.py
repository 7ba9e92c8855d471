"""``engagekit segment ...``: manage segments and use them from the command line.

Every command opens the workspace given by ``--workspace`` (default: ``$ENGAGEKIT_WORKSPACE`` or
``~/.engagekit/workspace.db``). Commands that evaluate a segment take ``--as-of`` (default: now;
this command line is the one place where "now" is read) and ``--engine memory|sql``. Errors print
one red line and exit with status 1, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from engagekit.cli_common import (
    AsOfOption,
    WorkspaceOption,
    console,
    error_console,
    friendly_errors,
    reference_time,
)
from engagekit.dataset import Dataset
from engagekit.safe_csv import to_safe_csv
from engagekit.segments import operations
from engagekit.segments.definition import SegmentDefinition
from engagekit.segments.memory_engine import MemoryEngine
from engagekit.segments.sql_engine import SqlEngine
from engagekit.segments.store import Segment, SegmentStore
from engagekit.workspace import Workspace

app = typer.Typer(
    help="Manage segments (list, create, copy, rename, delete) and use them: count, view "
    "members, export, add to a list, export a send-ready audience.",
    no_args_is_help=True,
)

DEFAULT_MEMBER_LIMIT = 20
STDOUT = "-"


class EngineKind(StrEnum):
    memory = "memory"
    sql = "sql"


EngineOption = Annotated[
    EngineKind,
    typer.Option("--engine", help="Evaluate in memory (pandas) or inside the database (SQL)."),
]
NameArgument = Annotated[str, typer.Argument(help="Segment name (any case) or id.")]
FileOption = Annotated[
    Path,
    typer.Option("--file", "-f", help="Segment definition JSON file ('-' reads standard input)."),
]
OutOption = Annotated[
    str, typer.Option("--out", "-o", help="CSV file to write ('-' writes to standard output).")
]
FieldsOption = Annotated[
    str | None,
    typer.Option(
        "--fields",
        help="Comma-separated columns after email (default: first_name,last_name); any contact "
        "field, tags, lists, current_level, previous_level or an engagement metric.",
    ),
]


# -- plumbing --------------------------------------------------------------------------------
def command(name: str, help: str | None = None) -> Callable[[Callable], Callable]:
    """Register a command whose engagekit and file errors end as one red line and exit 1.

    ``help`` defaults to the function's docstring.
    """

    def register(function: Callable) -> Callable:
        app.command(name, help=help)(friendly_errors(function))
        return function

    return register


@dataclass
class Session:
    """One command's workspace, and what it opens from it when needed."""

    url: str | None

    @cached_property
    def workspace(self) -> Workspace:
        return Workspace.open(self.url)

    @cached_property
    def store(self) -> SegmentStore:
        return SegmentStore(self.workspace)

    @cached_property
    def dataset(self) -> Dataset:
        return self.workspace.load()

    def evaluate(
        self, name: str, kind: EngineKind, as_of: str | None
    ) -> tuple[Segment, MemoryEngine | SqlEngine]:
        """The segment called ``name`` and an engine of ``kind`` for ``--as-of``."""
        segment = self.store.get(name)
        stamp = reference_time(as_of)
        if kind is EngineKind.sql:
            return segment, SqlEngine(self.workspace, as_of=stamp)
        return segment, MemoryEngine(self.dataset, as_of=stamp)


def split_names(text: str | None) -> list[str] | None:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``; None stays None (use the default)."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def read_definition(path: Path) -> SegmentDefinition:
    text = sys.stdin.read() if str(path) == STDOUT else path.read_text(encoding="utf-8")
    return SegmentDefinition.from_json(text)


def write_csv(frame: pd.DataFrame, out: str) -> str:
    """Write ``frame`` as a safe CSV to ``out`` and say where it went."""
    if out == STDOUT:
        typer.echo(to_safe_csv(frame), nl=False)
        return "standard output"
    to_safe_csv(frame, out)
    return out


def when(stamp: pd.Timestamp) -> str:
    return f"{stamp:%Y-%m-%d %H:%M} UTC"


def say(message: str) -> None:
    """Progress notes go to standard error, so that ``--out -`` output stays clean."""
    error_console.print(message, soft_wrap=True)


def warn_if_narrow(count: int, total: int) -> None:
    warning = operations.narrowness_warning(count, total)
    if warning:
        say(f"[yellow]Warning: {escape(warning)}[/]")


# -- managing --------------------------------------------------------------------------------
@command("list")
def list_segments(workspace: WorkspaceOption = None) -> None:
    """List every segment: the pre-built ones first, then yours by name."""
    table = Table("Name", "Type", "Definition", "Updated")
    for segment in Session(workspace).store.list():
        updated = f"{segment.updated_at:%Y-%m-%d %H:%M}" if segment.updated_at else ""
        table.add_row(escape(segment.name), segment.kind, escape(segment.describe()), updated)
    console.print(table)


@command("show")
def show(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the definition JSON.")] = False,
) -> None:
    """Show a segment: its definition as a sentence and as JSON."""
    segment = Session(workspace).store.get(name)
    if as_json:
        typer.echo(segment.definition.to_json())
        return
    console.print(f"[bold]{escape(segment.name)}[/] ({segment.kind})")
    if segment.created_at:
        console.print(f"Created {segment.created_at:%Y-%m-%d %H:%M}, "
                      f"updated {segment.updated_at:%Y-%m-%d %H:%M} UTC")
    console.print(f"Definition: {escape(segment.describe())}", soft_wrap=True)
    console.print_json(segment.definition.to_json())


@command("create")
def create(name: NameArgument, file: FileOption, workspace: WorkspaceOption = None) -> None:
    """Save a new segment from a definition JSON file."""
    segment = Session(workspace).store.create(name, read_definition(file))
    console.print(f"Created segment '{escape(segment.name)}': {escape(segment.describe())}")


@command("edit")
def edit(name: NameArgument, file: FileOption, workspace: WorkspaceOption = None) -> None:
    """Replace the definition of one of your segments with a JSON file."""
    segment = Session(workspace).store.update(name, read_definition(file))
    console.print(f"Updated segment '{escape(segment.name)}': {escape(segment.describe())}")


@command("copy")
def copy(
    name: NameArgument,
    new_name: Annotated[
        str | None, typer.Option("--name", help="Name of the copy (default: 'NAME (copy)').")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Copy a segment (pre-built or yours) into a new segment you can edit."""
    store = Session(workspace).store
    copied = store.copy(name, new_name)
    console.print(f"Copied '{escape(store.get(name).name)}' to '{escape(copied.name)}'.")


@command("rename")
def rename(
    old: NameArgument,
    new: Annotated[str, typer.Argument(help="The new name.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Rename one of your segments."""
    segment = Session(workspace).store.rename(old, new)
    console.print(f"Renamed to '{escape(segment.name)}'.")


@command("delete")
def delete(
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Delete one of your segments."""
    store = Session(workspace).store
    segment = store.editable(name, "deleted")  # a pre-built one fails here, before any question
    if not yes and not typer.confirm(f"Delete segment '{segment.name}'?"):
        say("Nothing deleted.")
        raise typer.Exit(1)
    deleted = store.delete(segment.name)
    console.print(f"Deleted segment '{escape(deleted.name)}'.")


# -- using -----------------------------------------------------------------------------------
@command("count")
def count(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    engine: EngineOption = EngineKind.memory,
) -> None:
    """Count the contacts a segment matches."""
    session = Session(workspace)
    segment, evaluator = session.evaluate(name, engine, as_of)
    matched = operations.count(evaluator, segment)
    total = operations.total_contacts(session.workspace)
    console.print(
        f"'{escape(segment.name)}' matches {matched:,} of {total:,} contacts as of "
        f"{when(evaluator.as_of)}."
    )
    warn_if_narrow(matched, total)


@command("members")
def members(
    name: NameArgument,
    columns: Annotated[
        str | None,
        typer.Option("--columns", help="Comma-separated columns (default: email, names, status, "
                     "current level); see 'export --help' for the choices."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Show at most this many members (0: all).")
    ] = DEFAULT_MEMBER_LIMIT,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    engine: EngineOption = EngineKind.memory,
) -> None:
    """Show a segment's members with chosen columns."""
    session = Session(workspace)
    segment, evaluator = session.evaluate(name, engine, as_of)
    frame = operations.members_frame(session.dataset, evaluator, segment, split_names(columns))
    shown = frame if limit == 0 else frame.head(limit)
    table = Table()
    for column in frame.columns:
        table.add_column(escape(str(column)), overflow="fold")  # wrap long emails, never cut them
    for row in shown.itertuples(index=False):
        table.add_row(*[escape(cell_text(value)) for value in row])
    console.print(table)
    console.print(f"Showing {len(shown):,} of {len(frame):,} members of '{escape(segment.name)}' "
                  f"as of {when(evaluator.as_of)}.")
    warn_if_narrow(len(frame), session.dataset.n_contacts)


def cell_text(value: object) -> str:
    """A cell as a terminal shows it: blanks empty, times to the minute, numbers short."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp | datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def csv_command(*, send_ready: bool) -> Callable:
    """The ``export`` (``send_ready=False``) or ``audience`` command: one signature for both."""

    def write(
        name: NameArgument,
        out: OutOption,
        fields: FieldsOption = None,
        workspace: WorkspaceOption = None,
        as_of: AsOfOption = None,
        engine: EngineOption = EngineKind.memory,
    ) -> None:
        write_members(Session(workspace), name, engine, as_of, out, fields, send_ready=send_ready)

    return write


command("export", "Export a segment's members to a CSV file (email first, then --fields).")(
    csv_command(send_ready=False)
)
command("audience", "Export a send-ready audience: members as of now, without unsubscribed or "
        "bounced ones.")(csv_command(send_ready=True))


def write_members(
    session: Session, name: str, engine: EngineKind, as_of: str | None, out: str,
    fields: str | None, *, send_ready: bool,
) -> None:
    """Write a segment export, or its send-ready audience, and say what was written."""
    segment, evaluator = session.evaluate(name, engine, as_of)
    chosen = split_names(fields)
    if send_ready:
        result = operations.build_audience(session.dataset, evaluator, segment, fields=chosen)
        frame, what = result.frame, "sendable contacts"
        note = " (left out: " + ", ".join(f"{n:,} {s}" for s, n in result.left_out.items()) + ")"
    else:
        frame, what, note = operations.export_frame(
            session.dataset, evaluator, segment, fields=chosen), "members", ""
    where = write_csv(frame, out)
    say(f"Wrote {len(frame):,} {what} of '{escape(segment.name)}' as of {when(evaluator.as_of)} "
        f"to {escape(where)}{escape(note)}.")
    warn_if_narrow(len(frame), session.dataset.n_contacts)


@command("add-to-list")
def add_to_list(
    name: NameArgument,
    list_name: Annotated[
        str, typer.Option("--list", help="The list (made in the workspace if it does not exist).")
    ],
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    engine: EngineOption = EngineKind.memory,
) -> None:
    """Add a segment's current members to a list (repeatable: nobody is added twice)."""
    session = Session(workspace)
    segment, evaluator = session.evaluate(name, engine, as_of)
    console.print(operations.add_to_list(session.workspace, evaluator, segment, list_name).summary())


__all__ = ["app"]
