"""``engagekit segment ...``: manage segments and use them from the command line.

Every command opens a session on the workspace given by ``--workspace`` (default:
``$ENGAGEKIT_WORKSPACE`` or ``~/.engagekit/workspace.db``), with the workspace's saved settings.
Commands that evaluate a segment take ``--as-of`` (default: the workspace's as-of rule, the same
as the dashboard's) and ``--engine memory|sql|spark``. Errors print one red line and exit with status 1,
never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

import engagekit as ek
from engagekit.cli.common import (
    AsOfOption,
    WorkspaceOption,
    console,
    friendly_errors,
    open_session,
    say,
    when,
)

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
    spark = "spark"


EngineOption = Annotated[
    EngineKind,
    typer.Option("--engine", help="Evaluate in memory (pandas), inside the database (SQL) or on "
                                  "local Spark over the workspace's Parquet copy."),
]
NameArgument = Annotated[str, typer.Argument(help="Segment name (any case) or id.")]
LayoutOption = Annotated[str, typer.Option(
    "--layout", help="Headings: columns (as stored), readable, constant_contact or mailchimp (their "
    "import columns and a Tags column with the segment's name).")]
ExcelOption = Annotated[bool, typer.Option("--excel", help="UTF-8 with a byte-order mark, for Excel.")]
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


def store(workspace: str | None) -> ek.SegmentStore:
    """The segment store of a workspace (managing segments needs no settings or data)."""
    return ek.SegmentStore(ek.Workspace.open(workspace))


def evaluating(workspace: str | None, as_of: str | None) -> ek.Session:
    """The session a segment is evaluated in: the workspace's settings, ``--as-of`` on top."""
    return open_session(workspace, as_of=as_of)


def split_names(text: str | None) -> list[str] | None:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``; None stays None (use the default)."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def read_definition(path: Path) -> ek.SegmentDefinition:
    text = sys.stdin.read() if str(path) == STDOUT else path.read_text(encoding="utf-8")
    return ek.SegmentDefinition.from_json(text)


def write_csv(frame: pd.DataFrame, out: str, *, excel: bool = False) -> str:
    """Write ``frame`` as a safe CSV to ``out`` and say where it went."""
    if out == STDOUT:
        typer.echo(ek.to_safe_csv(frame, excel=excel), nl=False)
        return "standard output"
    ek.to_safe_csv(frame, out, excel=excel)
    return out


def warn_if_narrow(count: int, total: int) -> None:
    warning = ek.narrowness_warning(count, total)
    if warning:
        say(f"[yellow]Warning: {escape(warning)}[/]")


# -- managing --------------------------------------------------------------------------------
@command("list")
def list_segments(workspace: WorkspaceOption = None) -> None:
    """List every segment: the pre-built ones first, then yours by name."""
    table = Table("Name", "Type", "Definition", "Updated")
    for segment in store(workspace).list():
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
    segment = store(workspace).get(name)
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
    segment = store(workspace).create(name, read_definition(file))
    console.print(f"Created segment '{escape(segment.name)}': {escape(segment.describe())}")


@command("edit")
def edit(name: NameArgument, file: FileOption, workspace: WorkspaceOption = None) -> None:
    """Replace the definition of one of your segments with a JSON file."""
    segment = store(workspace).update(name, read_definition(file))
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
    segments = store(workspace)
    copied = segments.copy(name, new_name)
    console.print(f"Copied '{escape(segments.get(name).name)}' to '{escape(copied.name)}'.")


@command("rename")
def rename(
    old: NameArgument,
    new: Annotated[str, typer.Argument(help="The new name.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Rename one of your segments."""
    segment = store(workspace).rename(old, new)
    console.print(f"Renamed to '{escape(segment.name)}'.")


@command("delete")
def delete(
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Delete one of your segments."""
    segments = store(workspace)
    segment = segments.editable(name, "deleted")  # a pre-built one fails here, before any question
    if not yes and not typer.confirm(f"Delete segment '{segment.name}'?"):
        say("Nothing deleted.")
        raise typer.Exit(1)
    deleted = segments.delete(segment.name)
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
    session = evaluating(workspace, as_of)
    segment = session.segment(name)
    matched = session.count(segment, engine=engine.value)
    total = session.dataset.n_contacts
    console.print(
        f"'{escape(segment.name)}' matches {matched:,} of {total:,} contacts as of "
        f"{when(session.as_of)}."
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
    session = evaluating(workspace, as_of)
    segment = session.segment(name)
    frame = session.members(segment, split_names(columns), engine=engine.value)
    shown = frame if limit == 0 else frame.head(limit)
    table = Table()
    for column in frame.columns:
        table.add_column(escape(str(column)), overflow="fold")  # wrap long emails, never cut them
    for row in shown.itertuples(index=False):
        table.add_row(*[escape(cell_text(value)) for value in row])
    console.print(table)
    console.print(f"Showing {len(shown):,} of {len(frame):,} members of '{escape(segment.name)}' "
                  f"as of {when(session.as_of)}.")
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
        layout: LayoutOption = "columns",
        excel: ExcelOption = False,
    ) -> None:
        write_members(evaluating(workspace, as_of), name, engine, out, fields, send_ready=send_ready,
                      layout=layout, excel=excel)

    return write


command("export", "Export a segment's members to a CSV file (email first, then --fields).")(
    csv_command(send_ready=False)
)
command("audience", "Export a send-ready audience: the members at the as-of time, without "
        "unsubscribed or bounced ones.")(csv_command(send_ready=True))


def write_members(
    session: ek.Session, name: str, engine: EngineKind, out: str, fields: str | None, *,
    send_ready: bool, layout: str = "columns", excel: bool = False,
) -> None:
    """Write a segment export, or its send-ready audience, and say what was written."""
    segment = session.segment(name)
    chosen = split_names(fields)
    if send_ready:
        result = session.audience(segment, fields=chosen, engine=engine.value)
        frame, what = result.frame, "sendable contacts"
        note = " (left out: " + ", ".join(f"{n:,} {s}" for s, n in result.left_out.items()) + ")"
    else:
        frame, what, note = session.export_frame(segment, fields=chosen, engine=engine.value), "members", ""
    if layout not in ek.EXPORT_LAYOUTS:
        raise ek.EngagekitError(f"--layout must be one of {', '.join(ek.EXPORT_LAYOUTS)}, not {layout!r}.")
    where = write_csv(ek.lay_out(frame, layout, segment_name=segment.name), out, excel=excel)
    say(f"Wrote {len(frame):,} {what} of '{escape(segment.name)}' as of {when(session.as_of)} "
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
    session = evaluating(workspace, as_of)
    result = session.add_to_list(session.segment(name), list_name, engine=engine.value)
    console.print(result.summary())


__all__ = ["app"]
