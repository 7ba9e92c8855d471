"""The ``engagekit`` command line: sample data, imports, levels, transitions, segments, dashboard.

Every command is a thin shell over the library: it opens a :class:`engagekit.Session` (the
workspace with its saved settings; flags override them for the one command, and say so) and prints
what the session computes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import track
from rich.table import Table

import engagekit as ek
from engagekit.cli.campaigns import app as campaign_app
from engagekit.cli.common import (
    AsOfOption,
    ConfigFileOption,
    EngagementOption,
    ExclusionOption,
    LeastShareOption,
    LookbackOption,
    MinSendsOption,
    MostShareOption,
    OneLineErrors,
    OrdersOption,
    ScannerClicksOption,
    WorkspaceOption,
    config_changes,
    console,
    fail,
    friendly_errors,
    open_session,
    say,
)
from engagekit.cli.segments import app as segment_app
from engagekit.cli.sunset import app as sunset_app

app = typer.Typer(
    cls=OneLineErrors,
    help="Find an email audience by engagement: levels, transitions and dynamic segments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

LEVEL_TABLE_HEADERS = {
    "label": "Level", "current": "Now", "previous": "Before", "change": "Change",
    "current_share": "Share now", "previous_share": "Share before",
}


def print_frame(
    frame, title: str | None = None, percent: tuple[str, ...] = (), signed: tuple[str, ...] = ()
) -> None:
    table = Table(title=title, title_justify="left")
    for position, column in enumerate(frame.columns):
        numeric = frame[column].dtype.kind in "if"
        # the first column names the row; wrapping it would make rows hard to read
        table.add_column(str(column), justify="right" if numeric else "left", no_wrap=position == 0)
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            if column in percent:
                cells.append(f"{value:.1%}")
            elif column in signed:
                cells.append(f"{value:+,}")
            elif isinstance(value, float):
                cells.append(f"{value:,.3f}")
            elif isinstance(value, int):
                cells.append(f"{value:,}")
            else:
                cells.append(str(value))
        table.add_row(*cells)
    console.print(table)


def write_table(frame, out: Path) -> None:
    """Write a frame as CSV or Parquet, chosen by the file's extension."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        frame.to_parquet(out, index=False)
    elif out.suffix.lower() == ".csv":
        ek.to_safe_csv(frame, out)
    else:
        raise ek.EngagekitError(f"{out}: choose a .csv or .parquet file name.")
    console.print(f"Wrote {len(frame):,} rows to {out}")


@app.command()
@friendly_errors
def sample(
    out: Annotated[Path, typer.Option(help="Folder for the canonical CSV files.")] = Path("sample_data"),
    contacts: Annotated[int, typer.Option(min=10, max=20_000_000, help="Number of contacts.")] = 5000,
    seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Random seed (same seed, same data).")] = 7,
    end: Annotated[str, typer.Option(help="Last day of activity; the natural as-of date.")] = "2026-11-30",
    load: Annotated[bool, typer.Option("--load", help="Also load it into the workspace.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Generate a realistic, seeded sample workspace in the canonical CSV layout."""
    ek.write_sample(out, n_contacts=contacts, seed=seed, end=ek.as_timestamp(end, name="--end"),
                    show_progress=True)
    console.print(f"Wrote {contacts:,} contacts in the canonical CSV layout to {out}/")
    if load:
        dataset, _ = ek.read_canonical(out)
        with console.status("Loading into the workspace…"):
            result = ek.Workspace.open(workspace).import_dataset(dataset, mode="replace")
        console.print(f"Loaded into the workspace (data version {result.data_version}).")


@app.command("import")
@friendly_errors
def import_files(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="A folder, files or .zip archives: canonical CSVs, Constant Contact or Mailchimp exports.")] = None,
    from_database: Annotated[str | None, typer.Option(
        help="Read from this database URL instead of files (needs --mapping).")] = None,
    mapping: Annotated[Path | None, typer.Option(
        help="JSON column mapping for --from-database (see the importing guide).")] = None,
    workspace: WorkspaceOption = None,
    mode: Annotated[str, typer.Option(help="merge: add the files to the data by email (default); "
                                      "replace: the files become the whole data.")] = "merge",
    allow_empty: Annotated[bool, typer.Option(
        "--allow-empty", help="With --mode replace: allow an import without contacts to empty "
        "the workspace.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write the problems found to this CSV.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and report only; change nothing.")] = False,
) -> None:
    """Import exports (or a database) into the workspace; bad rows are reported, good rows imported."""
    if mode not in ("merge", "replace"):
        fail(f"--mode must be merge or replace, not {mode!r}.")
    dataset, import_report = _read_import_source(paths or [], from_database, mapping)
    if import_report.issues:
        issues = import_report.to_frame()
        print_frame(issues.head(20), title=f"{len(issues):,} problem(s) (first 20)")
        if report:
            write_table(issues, report)
    if dry_run:
        console.print(import_report.summary() + " Nothing was changed (--dry-run).")
        return
    with console.status("Saving to the workspace…"):
        result = ek.Workspace.open(workspace).import_dataset(dataset, mode=mode, allow_empty=allow_empty)
    with console.status("Preparing the dashboard's overview…"):
        ek.Session.open(workspace).prepare_overview()
    console.print(import_report.summary())
    held = ", ".join(f"{n:,} {table.replace('_', ' ')}" for table, n in result.counts.items())
    console.print(f"Workspace now holds {held}.")


def _read_import_source(paths: list[Path], from_database: str | None, mapping: Path | None):
    if from_database:
        if mapping is None or not mapping.exists():
            raise ek.EngagekitError("--from-database needs --mapping FILE, a JSON column mapping.")
        with console.status("Reading the database…"):
            return ek.read_database(from_database, mapping.read_text(encoding="utf-8"))
    if not paths:
        raise ek.EngagekitError("Give files or a folder to import, or --from-database URL --mapping FILE.")
    for path in paths:
        if not path.exists():
            raise ek.EngagekitError(f"{path} does not exist.")
    with console.status("Reading files…"):
        return ek.read_any(paths)


def print_levels(session: ek.Session, report: ek.EngagementReport | None = None) -> None:
    """The level table of the session's report (or of ``report``), with its cuts."""
    report = report or session.report
    cuts = report.current.thresholds
    table = report.level_changes().drop(columns=["level"]).rename(columns=LEVEL_TABLE_HEADERS)
    print_frame(
        table,
        title=f"Levels as of {report.current.as_of:%Y-%m-%d %H:%M} "
        f"(previous: {report.previous.as_of:%Y-%m-%d %H:%M})",
        percent=("Share now", "Share before"),
        signed=("Change",),
    )
    if report.current.n_judged:
        console.print(
            f"Judged contacts: {report.current.n_judged:,}. Score cuts: least engaged <= "
            f"{cuts.least_engaged_max:.3f}, most engaged >= {cuts.most_engaged_min:.3f}."
        )
    else:
        config = session.config
        console.print(f"No contact has the {config.min_sends} eligible sends needed to be judged "
                      f"in the {config.lookback_days} days before the as-of time.")


@app.command()
@friendly_errors
def levels(
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    out: Annotated[Path | None, typer.Option(help="Write every contact's level to .csv or .parquet.")] = None,
    store: Annotated[bool, typer.Option("--store", help="Store the result as a snapshot.")] = False,
    config: ConfigFileOption = None,
    lookback_days: LookbackOption = None,
    exclusion_hours: ExclusionOption = None,
    min_sends: MinSendsOption = None,
    most_share: MostShareOption = None,
    least_share: LeastShareOption = None,
    engagement: EngagementOption = None,
    count_scanner_clicks: ScannerClicksOption = None,
    count_orders: OrdersOption = None,
    engine: Annotated[str, typer.Option(
        help="Where the levels job runs: memory, sql (inside the workspace database) or spark "
             "(local Spark over the workspace's Parquet copy).")] = "memory",
) -> None:
    """Compute current and previous levels and print a summary per level."""
    session = open_session(workspace, as_of=as_of, config_file=config, changes=config_changes(
        lookback_days, exclusion_hours, min_sends, most_share, least_share, engagement,
        count_scanner_clicks, count_orders))
    with console.status(f"Computing levels {ek.LEVEL_ENGINES.get(engine, '')}…"):
        report = session.report_on(engine)
    print_levels(session, report)
    if out:
        table = report.current.table.merge(
            report.transitions.contacts[["contact_id", "previous_level", "movement"]], on="contact_id"
        )
        emails = session.dataset.contacts.set_index("contact_id")["email"]
        table.insert(1, "email", table["contact_id"].map(emails).to_numpy())
        write_table(table, out)
    if store:
        snapshot_id = session.workspace.store_snapshot(report.current)
        console.print(f"Stored as snapshot {snapshot_id}.")


@app.command()
@friendly_errors
def transitions(
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    out: Annotated[Path | None, typer.Option(help="Write each contact's movement to .csv or .parquet.")] = None,
    current_thresholds: Annotated[bool, typer.Option(
        "--current-thresholds", help="Apply the current thresholds to the previous level too.")] = False,
    config: ConfigFileOption = None,
    lookback_days: LookbackOption = None,
    exclusion_hours: ExclusionOption = None,
    min_sends: MinSendsOption = None,
    most_share: MostShareOption = None,
    least_share: LeastShareOption = None,
    engagement: EngagementOption = None,
    count_scanner_clicks: ScannerClicksOption = None,
    count_orders: OrdersOption = None,
) -> None:
    """Print the previous -> current level matrix and rising / steady / slipping / new counts."""
    session = open_session(workspace, as_of=as_of, config_file=config, changes=config_changes(
        lookback_days, exclusion_hours, min_sends, most_share, least_share, engagement,
        count_scanner_clicks, count_orders))
    with console.status("Computing transitions…"):
        report = session.previous_uses_current_thresholds() if current_thresholds else session.report
    moves = report.transitions
    labels = {level: ek.LEVEL_LABELS[level] for level in ek.LEVELS}
    matrix = moves.counts.rename(index=labels, columns=labels).rename_axis("Previous").reset_index()
    print_frame(matrix, title=f"Previous level (rows) -> current level (columns), as of "
                f"{report.current.as_of:%Y-%m-%d %H:%M}")
    counts = moves.movement_counts()
    console.print("  ".join(f"{name}: {int(n):,}" for name, n in counts.items()))
    if out:
        frame = moves.contacts.copy()
        frame.insert(1, "email", session.dataset.contacts["email"].to_numpy())
        write_table(frame, out)


@app.command()
@friendly_errors
def explain(
    email: Annotated[str, typer.Argument(help="The contact's email address.")],
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    config: ConfigFileOption = None,
    previous: Annotated[bool, typer.Option("--previous", help="Explain the previous level.")] = False,
    engagement: EngagementOption = None,
    count_scanner_clicks: ScannerClicksOption = None,
    count_orders: OrdersOption = None,
) -> None:
    """Explain why a contact has its level, and which of its opens and clicks were left out."""
    session = open_session(workspace, as_of=as_of, config_file=config, changes=config_changes(
        engagement=engagement, count_scanner_clicks=count_scanner_clicks, count_orders=count_orders))
    explanation = session.explain(email, previous=previous)
    console.print(str(explanation), soft_wrap=True)
    if len(explanation.left_out):
        frame = explanation.left_out.drop(columns="reason").rename(columns={
            "campaign_id": "Campaign", "event_type": "Event", "occurred_at": "At", "why": "Left out because"})
        print_frame(frame, title="Opens and clicks left out")


@app.command()
@friendly_errors
def audit(
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    config: ConfigFileOption = None,
    min_sends: MinSendsOption = None,
    engagement: EngagementOption = None,
    count_scanner_clicks: ScannerClicksOption = None,
    count_orders: OrdersOption = None,
) -> None:
    """Data-readiness audit: judged contacts, machine opens, scanner clicks, untracked and
    synthesised sends, level changes from confirmed engagement, send volume against Gmail's
    bulk-sender threshold."""
    session = open_session(workspace, as_of=as_of, config_file=config, changes=config_changes(
        min_sends=min_sends, engagement=engagement, count_scanner_clicks=count_scanner_clicks,
        count_orders=count_orders))
    with console.status("Auditing the data…"):
        result = session.audit
    for line in result.lines():
        console.print(line, soft_wrap=True)
    matrix = result.level_change_table()
    print_frame(matrix.rename_axis("Every open and click").reset_index(),
                title=f"Every open and click (rows) -> {matrix.columns.name} (columns)")


@app.command()
@friendly_errors
def history(
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    months: Annotated[int, typer.Option(min=1, max=60, help="Monthly as-of dates to compute.")] = 12,
    config: ConfigFileOption = None,
) -> None:
    """Print level shares over a series of monthly as-of dates."""
    session = open_session(workspace, as_of=as_of, config_file=config)
    rows = []
    for date in track(ek.monthly_dates(session.as_of, months), description="Computing levels…",
                      console=console):
        shares = ek.compute_levels(session.dataset, as_of=date, config=session.config).shares()
        rows.append({"as_of": f"{date:%Y-%m-%d}", **{ek.LEVEL_LABELS[k]: v for k, v in shares.items()}})
    print_frame(pd.DataFrame(rows), title="Share of contacts per level",
                percent=tuple(k for k in rows[0] if k != "as_of"))


def dashboard_app() -> Path:
    """The dashboard's entry file, shipped with the package (see ``engagekit_dashboard``)."""
    return Path(str(files("engagekit_dashboard") / "streamlit_app.py"))


@app.command()
def dashboard(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8501,
    workspace: WorkspaceOption = None,
) -> None:
    """Start the dashboard in the browser."""
    app_file = dashboard_app()
    if not app_file.exists():
        fail(f"The dashboard is missing from this installation ({app_file}); reinstall engagekit.")
    env = dict(os.environ)
    if workspace:
        env["ENGAGEKIT_WORKSPACE"] = workspace
    # The dashboard's own launcher: `streamlit run` with the libraries imported before the first page.
    command = [sys.executable, "-m", "engagekit_dashboard.serve", "--server.port", str(port)]
    say(f"Starting the dashboard on http://localhost:{port} …")
    raise typer.Exit(subprocess.call(command, env=env))


app.add_typer(segment_app, name="segment", help="Manage, count and export segments.")
app.add_typer(campaign_app, name="campaign", help="Plan campaigns with a holdout and measure their lift.")
app.add_typer(sunset_app, name="sunset", help="Simulate a sunset policy and export whom to suppress.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
