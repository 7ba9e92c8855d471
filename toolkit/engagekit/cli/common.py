"""What every ``engagekit`` command shares: consoles, options, the session, errors as one line."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import click
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

import engagekit as ek

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
    typer.Option("--as-of", help="Reference time T, e.g. 2026-11-30, UTC (default: the "
                 "workspace's settings: its pinned date, else the data's last send day)."),
]
ConfigFileOption = Annotated[
    Path | None,
    typer.Option("--config", help="Engagement settings as JSON, instead of the workspace's saved ones."),
]
LookbackOption = Annotated[int | None, typer.Option(help="Days of sends that count.")]
ExclusionOption = Annotated[float | None, typer.Option(help="Hours before T whose sends are left out.")]
MinSendsOption = Annotated[int | None, typer.Option(help="Eligible sends needed to be judged.")]
MostShareOption = Annotated[float | None, typer.Option(help="Share of judged contacts most engaged (0-1).")]
LeastShareOption = Annotated[float | None, typer.Option(help="Share of judged contacts least engaged (0-1).")]
EngagementOption = Annotated[str | None, typer.Option(
    "--engagement", metavar="RULE",
    help="What counts as engagement: all-opens, confirmed-opens (machine opens left out) or clicks-only.")]
ScannerClicksOption = Annotated[bool | None, typer.Option(
    "--count-scanner-clicks/--leave-out-scanner-clicks",
    help="Whether clicks classified as a link scanner's count.", show_default=False)]
OrdersOption = Annotated[bool | None, typer.Option(
    "--count-orders/--no-orders", help="Whether an order counts as engagement with the last email "
    "sent before it.", show_default=False)]


def print_error(message: object) -> None:
    """``message`` as one red line on standard error.

    Bytes a terminal cannot show (a file name that is not UTF-8) are written as escapes, so
    printing an error can never fail in turn.
    """
    one_line = " ".join(str(message).split())
    printable = one_line.encode("utf-8", "backslashreplace").decode("utf-8")
    error_console.print(f"[bold red]Error:[/] [red]{escape(printable)}[/]")


def fail(message: str) -> None:
    """Print ``message`` as one red line on standard error and exit with status 1."""
    print_error(message)
    raise typer.Exit(1)


class OneLineErrors(TyperGroup):
    """The command group that ends every failure as one line and exit status 1: usage mistakes
    (an unknown option, ``--lookback abc``), interruptions and errors nobody foresaw alike."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            error.show()  # no arguments at all: the help, as before
            sys.exit(error.exit_code)
        except click.ClickException as error:
            print_error(f"{error.format_message()} (see '{prog_name or 'engagekit'} --help')")
            sys.exit(1)
        except (click.Abort, KeyboardInterrupt):
            print_error("Interrupted; nothing more was done.")
            sys.exit(1)
        except Exception as error:  # the promise is one line, never a traceback
            print_error(f"engagekit failed unexpectedly ({type(error).__name__}: {error}); "
                        "nothing more was done. Please report this.")
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


def say(message: str) -> None:
    """Notes go to standard error, so that ``--out -`` output stays clean."""
    error_console.print(message, soft_wrap=True)


def friendly_errors(function: Callable) -> Callable:
    """Let every failure end as one red line and exit 1, never a traceback."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except ek.EngagekitError as error:
            fail(str(error))
        except UnicodeDecodeError as error:
            fail(f"The file is not UTF-8 text (byte {error.start} cannot be read); save it as UTF-8.")
        except json.JSONDecodeError as error:
            fail(f"The file is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.")
        except ValidationError as error:
            fail(f"Invalid value: {error.errors()[0].get('msg', error)}.")
        except OSError as error:
            fail(f"{error.strerror or error}: {error.filename}" if error.filename else str(error))
        except SQLAlchemyError as error:
            fail(str(ek.WorkspaceError(f"The database failed: {str(getattr(error, 'orig', error)).splitlines()[0]}")))
        except (ValueError, OverflowError, MemoryError) as error:
            fail(f"Cannot do that: {error}")

    return wrapper


def commands_of(app: typer.Typer) -> Callable[[str], Callable[[Callable], Callable]]:
    """A decorator factory registering commands of ``app`` whose failures end as one line.

    Examples
    --------
    >>> command = commands_of(typer.Typer())
    >>> @command("hello")
    ... def hello() -> None:
    ...     "Say hello."
    >>> hello.__name__
    'hello'
    """

    def command(name: str) -> Callable[[Callable], Callable]:
        def register(function: Callable) -> Callable:
            app.command(name)(friendly_errors(function))
            return function

        return register

    return command


def read_config_file(path: Path | None) -> ek.EngagementConfig | None:
    if path is None:
        return None
    if not path.exists():
        raise ek.ConfigError(f"The settings file {path} does not exist.")
    return ek.EngagementConfig.from_json(path.read_text(encoding="utf-8"))


def open_session(
    workspace: str | None,
    *,
    as_of: str | None = None,
    config_file: Path | None = None,
    changes: dict[str, object] | None = None,
    need_data: bool = True,
) -> ek.Session:
    """The session for one command: the workspace's settings, with this command's flags on top.

    When a flag overrides a saved setting, a line says so (on standard error).
    """
    given = {name: value for name, value in (changes or {}).items() if value is not None}
    with console.status("Opening the workspace…"):
        session = ek.Session.open(
            workspace, as_of=None if as_of is None else ek.as_timestamp(as_of, name="--as-of"),
            config=read_config_file(config_file), changes=given,
        )
        if need_data and not session.has_data:
            raise ek.EngagekitError(
                "The workspace has no contacts yet: run 'engagekit import PATH' or "
                "'engagekit sample --load' first."
            )
    note = session.settings.override_note()
    if note:
        say(f"[yellow]{escape(note)}[/]")
    return session


def config_changes(
    lookback_days: int | None = None,
    exclusion_hours: float | None = None,
    min_sends: int | None = None,
    most_share: float | None = None,
    least_share: float | None = None,
    engagement: str | None = None,
    count_scanner_clicks: bool | None = None,
    count_orders: bool | None = None,
) -> dict[str, object]:
    """Command-line flags as config changes (unset flags leave the saved setting)."""
    return {
        "lookback_days": lookback_days,
        "exclusion_hours": exclusion_hours,
        "min_sends": min_sends,
        "most_engaged_share": most_share,
        "least_engaged_share": least_share,
        # flags are spelt with dashes (clicks-only), the setting with underscores (clicks_only)
        "engagement": None if engagement is None else engagement.strip().lower().replace("-", "_"),
        "count_scanner_clicks": count_scanner_clicks,
        "count_orders": count_orders,
    }


def when(stamp) -> str:
    return f"{stamp:%Y-%m-%d %H:%M} UTC"
