"""``engagekit campaign ...``: plan a campaign with a holdout, export its audience, measure its lift.

Every command opens a session on ``--workspace`` with the workspace's saved settings; ``--as-of``
chooses the time a plan is drawn or measured at. Errors print one red line and exit 1.
"""

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
    when,
)

app = typer.Typer(
    help="Plan campaigns with a random holdout, export the audience to email, measure the lift.",
    no_args_is_help=True,
)

PlanArgument = Annotated[str, typer.Argument(help="The plan's name (any case) or id.")]


command = commands_of(app)


@command("plan")
def plan(
    name: Annotated[str, typer.Argument(help="A name for the plan.")],
    segment: Annotated[str, typer.Option("--segment", "-s", help="The segment to draw from (name or id).")],
    send_date: Annotated[str, typer.Option("--send-date", help="When the campaign is sent, e.g. 2026-12-03.")],
    offer: Annotated[str, typer.Option(help="What the email offers (for your records).")] = "",
    holdout: Annotated[float, typer.Option(min=0.01, max=0.5, help="Share of the audience held out.")] = 0.1,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the holdout draw (same seed, same groups).")] = 0,
    success: Annotated[str, typer.Option(help="Success event: open, click or order.")] = "click",
    days: Annotated[int, typer.Option(min=1, max=365, help="Days after the send a success counts.")] = 14,
    effect: Annotated[float | None, typer.Option(
        help="Also say how many contacts a rise of this many points needs (e.g. 2 for 2 points).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the groups and power; save nothing.")] = False,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Draw a plan's audience and holdout from a segment, with the test's power."""
    session = open_session(workspace, as_of=as_of)
    chosen = session.segment(segment)
    audience, held_out, power = session.draft_plan(chosen, holdout_share=holdout, seed=seed,
                                                  success_event=success, success_days=days)
    console.print(power.summary())
    if effect is not None:
        needed = power.size_for(effect / 100)
        console.print(f"A rise of {effect:g} points needs {needed:,} contacts in all." if needed
                      else f"A rise of {effect:g} points cannot be tested from this baseline.")
    if dry_run:
        say("Nothing was saved (--dry-run).")
        return
    saved = session.plan_campaign(name, chosen, send_date=send_date, offer=offer, holdout_share=holdout,
                                  seed=seed, success_event=success, success_days=days)
    console.print(f"Saved plan {escape(saved.describe())}")
    console.print(f"Export the audience to email with: engagekit campaign export '{escape(saved.name)}' --out FILE")


@command("list")
def list_plans(workspace: WorkspaceOption = None, as_of: AsOfOption = None) -> None:
    """List the plans with their status (planned, sent, measured) and result."""
    session = open_session(workspace, as_of=as_of)
    plans = session.plans()
    if not plans:
        console.print("No campaign plans yet: make one with 'engagekit campaign plan'.")
    for saved in plans:
        record, result = saved.record, saved.result
        console.print(
            f"[bold]{escape(record.name)}[/] ({saved.status(session.as_of)}) from "
            f"'{escape(record.segment_name)}', sent {record.send_date:%Y-%m-%d}: "
            f"{len(saved.treatment_ids):,} emailed, {len(saved.holdout_ids):,} held out; success: "
            f"{record.success_event} within {record.success_days} days.", soft_wrap=True)
        if result:
            console.print(f"  {escape(result.lift.summary())}", soft_wrap=True)


@command("export")
def export(
    name: PlanArgument,
    out: Annotated[Path, typer.Option("--out", "-o", help="The CSV file to write.")],
    fields: Annotated[str | None, typer.Option(help="Comma-separated columns after email.")] = None,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Write the plan's treatment group as a send-ready audience (the holdout left out)."""
    session = open_session(workspace, as_of=as_of)
    chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    audience = session.treatment_audience(name, fields=chosen)
    audience.to_csv(out)
    left = ", ".join(f"{n:,} {status}" for status, n in audience.left_out.items() if n)
    say(f"Wrote {audience.size:,} contacts to email to {escape(str(out))}; the holdout is left out"
        + (f", and so are {left}." if left else "."))


@command("measure")
def measure(
    name: PlanArgument,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Measure the plan's lift (treatment against holdout) and its guardrails, and store it."""
    session = open_session(workspace, as_of=as_of)
    result = session.measure_plan(name)
    console.print(result.lift.summary())
    if not result.complete:
        console.print(f"Interim: the success window runs to {when(session.plan(name).window_end)}.")
    for label, rates in (("Unsubscribes", result.unsubscribe_rates), ("Bounces", result.bounce_rates)):
        console.print(f"{label}: treatment {rates['treatment']:.1%}, holdout {rates['holdout']:.1%}.")
    for warning in result.guardrail_warnings():
        say(f"[yellow]Guardrail: {escape(warning)}[/]")


@command("delete")
def delete(
    name: PlanArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Delete a plan (its recorded groups and result)."""
    plans = ek.Workspace.open(workspace).plans
    record = plans.get(name)
    if not yes and not typer.confirm(f"Delete plan '{record.name}'?"):
        say("Nothing deleted.")
        raise typer.Exit(1)
    console.print(f"Deleted plan '{escape(plans.delete(record.id))}'.")


__all__ = ["app"]
