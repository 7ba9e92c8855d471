"""The one thing databases disagree on for segments: how to lower-case text.

Text operators compare lower-cased text (see :mod:`engagekit.segments.operators`). The in-memory
engine uses Python's ``str.lower``, so SQL must lower-case exactly the same way:

- **SQLite**'s ``lower()`` only knows ASCII ("ZOË" stays "zoË"), so each connection of the
  workspace engine gets ``engagekit_lower``, Python's ``str.lower`` registered as a deterministic
  SQL function (installed on every pool checkout, so connections opened earlier get it too).
- **PostgreSQL**'s ``lower()`` follows the database's locale; under the ICU root collation
  (``und-x-icu``, present whenever the server is built with ICU) it agrees with Python even on
  "İ" and the final sigma, so it is used when available.
- Other databases get plain ``lower()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

SQLITE_LOWER = "engagekit_lower"
ICU_COLLATION = "und-x-icu"

_icu_by_url: dict[str, bool] = {}


def _python_lower(value: Any) -> str | None:
    return None if value is None else str(value).lower()


def _register(dbapi_connection: Any, *_: Any) -> None:
    dbapi_connection.create_function(SQLITE_LOWER, 1, _python_lower, deterministic=True)


def install_sqlite_functions(engine: Engine) -> None:
    """Make ``engagekit_lower`` available on every connection of a SQLite engine."""
    if engine.dialect.name == "sqlite" and not sa.event.contains(engine, "checkout", _register):
        sa.event.listen(engine, "checkout", _register)


def _has_icu(engine: Engine) -> bool:
    key = engine.url.render_as_string(hide_password=True)
    if key not in _icu_by_url:
        query = sa.text("SELECT count(*) FROM pg_collation WHERE collname = :name")
        with engine.connect() as conn:
            _icu_by_url[key] = bool(conn.execute(query, {"name": ICU_COLLATION}).scalar())
    return _icu_by_url[key]


def text_lowerer(engine: Engine) -> Callable[[ColumnElement], ColumnElement]:
    """A function turning a text column into its lower-cased form, for this engine's database."""
    if engine.dialect.name == "sqlite":
        install_sqlite_functions(engine)
        return lambda column: getattr(sa.func, SQLITE_LOWER)(column, type_=sa.Text())
    if engine.dialect.name == "postgresql" and _has_icu(engine):
        return lambda column: sa.func.lower(sa.collate(column, ICU_COLLATION))
    return lambda column: sa.func.lower(column)
