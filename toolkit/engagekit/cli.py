"""The ``engagekit`` command line: sample data, imports, levels, transitions, segments, dashboard.

Every command is a thin shell over the library. The CLI is the edge of the program, so it is
where "now" is read when ``--as-of`` is not given.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from engagekit.cli_common import (
    AsOfOption,
    WorkspaceOption,
    console,
    fail,
    friendly_errors,
    reference_time,
)
from engagekit.cli_segments import app as segment_app
from engagekit.config import EngagementConfig
from engagekit.errors import ConfigError, EngagekitError

app = typer.Typer(
    help="Find an email audience by engagement: levels, transitions and dynamic segments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ConfigFileOption = Annotated[
    Path | None, typer.Option("--config", help="Engagement settings as JSON (EngagementConfig).")
]
LookbackOption = Annotated[int | None, typer.Option(help="Days of sends that count (default 90).")]
ExclusionOption = Annotated[
    float | None, typer.Option(help="Hours before T whose sends are left out (default 24).")
]
MinSendsOption = Annotated[int | None, typer.Option(help="Eligible sends needed to be judged (default 3).")]
MostShareOption = Annotated[float | None, typer.Option(help="Share of judged contacts most engaged (0.2).")]
LeastShareOption = Annotated[float | None, typer.Option(help="Share of judged contacts least engaged (0.4).")]


LEVEL_TABLE_HEADERS = {
    "label": "Level", "current": "Now", "previous": "Before", "change": "Change",
    "current_share": "Share now", "previous_share": "Share before",
}


def build_config(
    config_file: Path | None,
    lookback_days: int | None = None,
    exclusion_hours: float | None = None,
    min_sends: int | None = None,
    most_share: float | None = None,
    least_share: float | None = None,
) -> EngagementConfig:
    """Settings from a JSON file (or the defaults) with command-line flags on top."""
    config = EngagementConfig()
    if config_file is not None:
        if not config_file.exists():
            raise ConfigError(f"settings file {config_file} does not exist")
        config = EngagementConfig.from_json(config_file.read_text())
    flags = {
        "lookback_days": lookback_days,
        "exclusion_hours": exclusion_hours,
        "min_sends": min_sends,
        "most_engaged_share": most_share,
        "least_engaged_share": least_share,
    }
    return config.with_changes(**{k: v for k, v in flags.items() if v is not None})


def open_workspace(url: str | None):
    from engagekit.workspace import Workspace

    return Workspace.open(url)


def load_data(url: str | None):
    """Open the workspace and load its data, with a spinner (large workspaces take a moment)."""
    with console.status("Loading the workspace…"):
        workspace = open_workspace(url)
        dataset = workspace.load()
    if dataset.n_contacts == 0:
        raise EngagekitError(
            "the workspace has no contacts yet: run 'engagekit import PATH' or "
            "'engagekit sample --load' first"
        )
    return workspace, dataset


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
        from engagekit.safe_csv import to_safe_csv

        to_safe_csv(frame, out)
    else:
        raise EngagekitError(f"{out}: choose a .csv or .parquet file name")
    console.print(f"Wrote {len(frame):,} rows to {out}")


@app.command()
@friendly_errors
def sample(
    out: Annotated[Path, typer.Option(help="Folder for the canonical CSV files.")] = Path("sample_data"),
    contacts: Annotated[int, typer.Option(min=10, help="Number of contacts.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
    end: Annotated[str, typer.Option(help="Last day of activity; the natural as-of date.")] = "2026-11-30",
    load: Annotated[bool, typer.Option("--load", help="Also load it into the workspace.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Generate a realistic, seeded sample workspace in the canonical CSV layout."""
    from engagekit.sample import write_sample

    write_sample(out, n_contacts=contacts, seed=seed, end=end, show_progress=True)
    console.print(f"Wrote {contacts:,} contacts in the canonical CSV layout to {out}/")
    if load:
        from engagekit.io.canonical import read_canonical

        dataset, _ = read_canonical(out)
        with console.status("Loading into the workspace…"):
            result = open_workspace(workspace).import_dataset(dataset)
        console.print(f"Loaded into the workspace (data version {result.data_version}).")


@app.command("import")
@friendly_errors
def import_files(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="A folder or files: canonical CSVs, Constant Contact or Mailchimp exports.")] = None,
    from_database: Annotated[str | None, typer.Option(
        help="Read from this database URL instead of files (needs --mapping).")] = None,
    mapping: Annotated[Path | None, typer.Option(
        help="JSON column mapping for --from-database (see engagekit.io.database).")] = None,
    workspace: WorkspaceOption = None,
    mode: Annotated[str, typer.Option(help="replace: the files become the data; merge: add them "
                                      "to it by email.")] = "replace",
    report: Annotated[Path | None, typer.Option(help="Write the problems found to this CSV.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and report only; change nothing.")] = False,
) -> None:
    """Import exports (or a database) into the workspace; bad rows are reported, good rows imported."""
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
        result = open_workspace(workspace).import_dataset(dataset, mode=mode)
    console.print(import_report.summary())
    held = ", ".join(f"{n:,} {table.replace('_', ' ')}" for table, n in result.counts.items())
    console.print(f"Workspace now holds {held}.")


def _read_import_source(paths: list[Path], from_database: str | None, mapping: Path | None):
    if from_database:
        from engagekit.io.database import read_database

        if mapping is None or not mapping.exists():
            raise EngagekitError("--from-database needs --mapping FILE, a JSON column mapping")
        with console.status("Reading the database…"):
            return read_database(from_database, mapping.read_text())
    from engagekit.io.detect import read_any

    if not paths:
        raise EngagekitError("give files or a folder to import, or --from-database URL --mapping FILE")
    for path in paths:
        if not path.exists():
            raise EngagekitError(f"{path} does not exist")
    with console.status("Reading files…"):
        return read_any(paths)


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
) -> None:
    """Compute current and previous levels and print a summary per level."""
    from engagekit.report import engagement_report

    settings = build_config(config, lookback_days, exclusion_hours, min_sends, most_share, least_share)
    ws, dataset = load_data(workspace)
    with console.status("Computing levels…"):
        report = engagement_report(dataset, as_of=reference_time(as_of), config=settings)
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
        console.print(f"No contact has the {settings.min_sends} eligible sends needed to be judged "
                      f"in the {settings.lookback_days} days before the as-of time.")
    if out:
        table = report.current.table.merge(
            report.transitions.contacts[["contact_id", "previous_level", "movement"]], on="contact_id"
        )
        table.insert(1, "email", dataset.contacts["email"].to_numpy())
        write_table(table, out)
    if store:
        snapshot_id = ws.store_snapshot(report.current)
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
) -> None:
    """Print the previous -> current level matrix and rising / steady / slipping / new counts."""
    from engagekit.report import engagement_report

    settings = build_config(config, lookback_days, exclusion_hours, min_sends, most_share, least_share)
    _, dataset = load_data(workspace)
    with console.status("Computing transitions…"):
        report = engagement_report(
            dataset, as_of=reference_time(as_of), config=settings,
            previous_uses_current_thresholds=current_thresholds,
        )
    moves = report.transitions
    matrix = moves.counts.reset_index()
    print_frame(matrix, title="Previous level (rows) -> current level (columns)")
    counts = moves.movement_counts()
    console.print("  ".join(f"{name}: {int(n):,}" for name, n in counts.items()))
    if out:
        frame = moves.contacts.copy()
        frame.insert(1, "email", dataset.contacts["email"].to_numpy())
        write_table(frame, out)


@app.command()
@friendly_errors
def explain(
    email: Annotated[str, typer.Argument(help="The contact's email address.")],
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    config: ConfigFileOption = None,
) -> None:
    """Explain why a contact has its level."""
    from engagekit.errors import NotFoundError
    from engagekit.explain import explain_contact
    from engagekit.levels import compute_levels

    _, dataset = load_data(workspace)
    match = dataset.contacts.loc[dataset.contacts["email"] == email.strip().lower(), "contact_id"]
    if match.empty:
        raise NotFoundError(f"no contact with email {email!r}")
    levels_now = compute_levels(dataset, as_of=reference_time(as_of), config=build_config(config))
    console.print(str(explain_contact(levels_now, int(match.iloc[0]))))


@app.command()
@friendly_errors
def history(
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    months: Annotated[int, typer.Option(min=1, max=60, help="Monthly as-of dates to compute.")] = 12,
    config: ConfigFileOption = None,
) -> None:
    """Print level shares over a series of monthly as-of dates."""
    from rich.progress import track

    from engagekit.levels import compute_levels, monthly_dates

    _, dataset = load_data(workspace)
    settings = build_config(config)
    rows = []
    for date in track(monthly_dates(reference_time(as_of), months), description="Computing levels…"):
        shares = compute_levels(dataset, as_of=date, config=settings).shares()
        rows.append({"as_of": f"{date:%Y-%m-%d}", **shares.to_dict()})
    print_frame(pd.DataFrame(rows), title="Share of contacts per level",
                percent=tuple(k for k in rows[0] if k != "as_of"))


@app.command()
def dashboard(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    workspace: WorkspaceOption = None,
) -> None:
    """Start the dashboard in the browser."""
    import os

    app_file = Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py"
    if not app_file.exists():
        fail(f"the dashboard is not next to this installation ({app_file})")
    env = dict(os.environ)
    if workspace:
        env["ENGAGEKIT_WORKSPACE"] = workspace
    command = [sys.executable, "-m", "streamlit", "run", str(app_file), "--server.port", str(port)]
    raise typer.Exit(subprocess.call(command, env=env))


app.add_typer(segment_app, name="segment", help="Manage, count and export segments.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
