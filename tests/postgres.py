"""The PostgreSQL server tests run against: ``$ENGAGEKIT_TEST_POSTGRES_URL``.

Without it the tests are skipped on a developer machine and fail in CI (``CI=true``), where
``.ci/run`` starts a server.
"""

from __future__ import annotations

import os
import uuid

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


def fresh_database(url: str) -> str:
    """Create an empty database on the server for one test and return its URL."""
    name = f"ek_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')  # a generated name, not user input
    admin.dispose()
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
