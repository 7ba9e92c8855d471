"""Which workspaces a dashboard user may open: a deployment setting, the configured one by default.

The dashboard's "Another workspace" box takes a database URL from whoever uses the page. Left
open, it would let a user create files anywhere on the server, read any SQLite file it can reach
or connect to any host. So the deployment says which URLs may be opened, in
``$ENGAGEKIT_DASHBOARD_WORKSPACES``:

- unset or blank: only the configured workspace (``$ENGAGEKIT_WORKSPACE``, see
  :func:`~engagekit.workspace.database.default_url`);
- otherwise a list of URLs separated by spaces or new lines, where ``*`` stands for any text
  (``sqlite:////srv/engagekit/*.db postgresql+psycopg://reader@db.internal/*``). The configured
  workspace is always allowed; a URL with query options (``?host=...``) only when listed exactly.

SQLite paths are compared after resolving ``..`` and links, so a pattern for one folder cannot be
escaped; URLs are compared with their password left out, so a pattern never needs one.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from engagekit.errors import WorkspaceError
from engagekit.workspace.database import default_url, display_url

ENV_ALLOWED = "ENGAGEKIT_DASHBOARD_WORKSPACES"


def allowed_workspace_patterns() -> list[str]:
    """The URL patterns the deployment allows, the configured workspace first.

    Examples
    --------
    >>> import os
    >>> os.environ[ENV_ALLOWED] = "sqlite:////srv/ws/*.db"
    >>> allowed_workspace_patterns()[1:]
    ['sqlite:////srv/ws/*.db']
    >>> del os.environ[ENV_ALLOWED]
    """
    return [default_url(), *os.environ.get(ENV_ALLOWED, "").split()]


def _comparable(url: str) -> str:
    """``url`` in the form patterns are matched against (no password, SQLite path resolved)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise WorkspaceError(f"Not a database URL: {url!r} (e.g. sqlite:///workspace.db).") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(parsed.database).expanduser().resolve()))
    return parsed.set(password=None).render_as_string(hide_password=False)


def check_workspace_allowed(url: str, patterns: Sequence[str] | None = None) -> str:
    """``url`` when the deployment allows a dashboard user to open it, else
    :class:`~engagekit.errors.WorkspaceError` in one sentence.

    Examples
    --------
    >>> check_workspace_allowed("sqlite:////srv/ws/shop.db", ["sqlite:////srv/ws/*.db"])
    'sqlite:////srv/ws/shop.db'
    >>> check_workspace_allowed("sqlite:////srv/ws/../etc/x.db", ["sqlite:////srv/ws/*.db"])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    engagekit.errors.WorkspaceError: This dashboard may not open sqlite:////srv/ws/../etc/x.db: ...
    """
    patterns = allowed_workspace_patterns() if patterns is None else patterns
    wanted = _comparable(url)
    for pattern in patterns:
        if "*" in pattern:
            # A wildcard never lets query options (?host=elsewhere) redirect the connection.
            if "?" not in wanted and fnmatch.fnmatchcase(wanted, pattern):
                return url
            continue
        try:
            if wanted == _comparable(pattern):
                return url
        except WorkspaceError:
            continue
    raise WorkspaceError(
        f"This dashboard may not open {display_url(url)}: its deployment allows only the "
        f"configured workspace{' and ' + ', '.join(patterns[1:]) if len(patterns) > 1 else ''} "
        f"(set {ENV_ALLOWED} to allow others)."
    )


__all__ = ["ENV_ALLOWED", "allowed_workspace_patterns", "check_workspace_allowed"]
