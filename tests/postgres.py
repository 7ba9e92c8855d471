"""The PostgreSQL server tests run against: ``$ENGAGEKIT_TEST_POSTGRES_URL``.

Without it the tests are skipped on a developer machine and fail in CI (``CI=true``), where
``.ci/run`` starts a server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

ENV = "ENGAGEKIT_TEST_POSTGRES_URL"


def postgres_url() -> str:
    url = os.environ.get(ENV)
    if not url:
        message = f"{ENV} is not set: no PostgreSQL server to test against"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database on the test server for the duration of the block, then dropped."""
    base = sa.engine.make_url(postgres_url())
    name = f"engagekit_test_{uuid.uuid4().hex[:12]}"  # generated, never user input
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
