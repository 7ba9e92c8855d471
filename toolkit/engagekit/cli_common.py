"""What every ``engagekit`` command shares: consoles, options, errors as one line, "now"."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape

from engagekit.errors import EngagekitError
from engagekit.timeutil import as_timestamp

console = Console(highlight=False)
error_console = Console(stderr=True, highlight=False, soft_wrap=True)

WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace", "-w", metavar="URL",
        help="Workspace database URL (default: $ENGAGEKIT_WORKSPACE or ~/.engagekit/workspace.db).",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Reference time T, e.g. 2026-11-30, UTC (default: now)."),
]


def fail(message: str) -> None:
    """Print ``message`` as one red line on standard error and exit with status 1."""
    one_line = " ".join(message.split())
    error_console.print(f"[bold red]Error:[/] [red]{escape(one_line)}[/]")
    raise typer.Exit(1)


def friendly_errors(function: Callable) -> Callable:
    """Let engagekit and file errors end as one red line and exit 1, never a traceback."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except EngagekitError as error:
            fail(str(error))
        except OSError as error:
            fail(f"{error.strerror or error}: {error.filename}" if error.filename else str(error))

    return wrapper


def reference_time(as_of: str | None) -> pd.Timestamp:
    """``--as-of`` read as naive UTC, or now (to the second) when it is not given.

    The command line is the edge of the program: the one place where "now" is read.
    """
    if as_of is None:
        return as_timestamp(pd.Timestamp.now(tz="UTC")).floor("s")
    return as_timestamp(as_of, name="--as-of")
