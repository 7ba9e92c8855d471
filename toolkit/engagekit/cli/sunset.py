"""``engagekit sunset ...``: simulate a sunset rule, export the suppression list, make the last-chance list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

import engagekit as ek
from engagekit.cli.common import (
    AsOfOption,
    WorkspaceOption,
    commands_of,
    console,
    open_session,
    say,
)

app = typer.Typer(help="Simulate a sunset policy before applying it; export whom to suppress.",
                  no_args_is_help=True)

SendsOption = Annotated[int, typer.Option("--sends", min=1, max=1000,
                                          help="Unengaged emails before a contact is sunset.")]
DaysOption = Annotated[int, typer.Option("--days", min=1, max=3650,
                                         help="Unengaged days before a contact is sunset.")]
DEFAULT = ek.SunsetRule()


command = commands_of(app)


@command("simulate")
def simulate(
    sends: SendsOption = DEFAULT.unengaged_sends,
    days: DaysOption = DEFAULT.unengaged_days,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Show what the rule would suppress, and what those contacts bring."""
    session = open_session(workspace, as_of=as_of)
    simulation = session.sunset(ek.SunsetRule(unengaged_sends=sends, unengaged_days=days))
    console.print(simulation.summary(), soft_wrap=True)
    counts = simulation.table["sunset_status"].value_counts()
    console.print("  ".join(f"{label}: {int(counts.get(status, 0)):,}"
                            for status, label in ek.SUNSET_STATUSES.items()), soft_wrap=True)


@command("export")
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="The CSV file to write.")],
    sends: SendsOption = DEFAULT.unengaged_sends,
    days: DaysOption = DEFAULT.unengaged_days,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Write the contacts the rule sunsets, to upload as a suppression list."""
    session = open_session(workspace, as_of=as_of)
    frame = session.suppression_frame(ek.SunsetRule(unengaged_sends=sends, unengaged_days=days))
    ek.to_safe_csv(frame, out)
    say(f"Wrote {len(frame):,} contacts to suppress to {escape(str(out))}.")


@command("last-chance")
def last_chance(
    list_name: Annotated[str, typer.Option("--list", help="The workspace list to add them to.")],
    sends: SendsOption = DEFAULT.unengaged_sends,
    days: DaysOption = DEFAULT.unengaged_days,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Add the contacts the rule sunsets to a list, for a final two or three emails."""
    session = open_session(workspace, as_of=as_of)
    rule = ek.SunsetRule(unengaged_sends=sends, unengaged_days=days)
    console.print(session.add_last_chance_list(list_name, rule).summary())


__all__ = ["app"]
