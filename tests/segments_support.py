"""Shared pieces of the segment tests: a PostgreSQL database per test module, workspaces, and the
small hand-made dataset whose answers the engine tests compute by hand.

The PostgreSQL server comes from ``ENGAGEKIT_TEST_POSTGRES_URL``. Without it the PostgreSQL tests
skip, except under ``CI=true`` where they fail: CI must never pass without them.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pytest
import sqlalchemy as sa

from engagekit.dataset import Dataset
from engagekit.workspace import Workspace

POSTGRES_ENV = "ENGAGEKIT_TEST_POSTGRES_URL"
AS_OF = "2026-06-30"


def postgres_base_url() -> str:
    """The server URL, or skip (fail under CI) when it is not configured."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        message = f"{POSTGRES_ENV} is not set: PostgreSQL tests need a server"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the test server for the duration of the block.

    Test modules each get their own so that workspaces (whose ids stay stable across imports)
    never see another module's data. Without the right to create databases, the URL's own
    database is used as it is.
    """
    base = sa.engine.make_url(postgres_base_url())
    name = f"engagekit_segments_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.SQLAlchemyError:
        admin.dispose()
        yield base.render_as_string(hide_password=False)
        return
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def open_workspace(kind: str, url: str | None = None) -> Workspace:
    """A workspace on a fresh SQLite file (``kind="sqlite"``) or at a PostgreSQL ``url``.

    The columnar cache goes to a temporary folder: the default one is keyed by URL and would be
    shared by every test database of a server.
    """
    folder = tempfile.mkdtemp(prefix="engagekit-segments-")
    if kind == "sqlite":
        url = f"sqlite:///{folder}/workspace.db"
    return Workspace.open(url, cache_dir=f"{folder}/columnar")


def tiny_dataset() -> Dataset:
    """Eight contacts whose segment memberships the engine tests work out by hand.

    As of 2026-06-30 (90-day window from 2026-04-01 to 2026-06-29 00:00, at least 3 sends):

    ===  ==============================  =========================  ===================
    id   current window activity         score                      level now / before
    ===  ==============================  =========================  ===================
    1    101-103 sent, all opened,       (3 + 2x1) / 3 = 1.667      most / least
         103 clicked
    2    101-103 sent, 101 opened        1/3                        least / least
    3    101-103 sent, nothing           0                          least / most
    4    101-103 sent, 101, 102 opened   2/3                        somewhat / else
    5    101-103 sent, 101 opened,       (2 + 2x1) / 3 = 1.333      somewhat / else
         102 clicked (click = open)
    6    103 sent                        not judged                 else / else
    7    104 sent and opened (too late   not judged                 else / else
         for the window)
    8    nothing                         not judged                 else / else
    ===  ==============================  =========================  ===================

    Before (as of 2026-05-31, window 2026-03-02 to 2026-05-30): campaigns 91-93 went to 1, 2
    and 3; 3 opened all (score 1), 2 opened one (1/3), 1 none: 3 most, 1 and 2 least.
    """
    contacts = pd.DataFrame(
        [
            (1, "ann@example.com", "Ann", "Lee", "2025-01-15", "subscribed", "Paris", 120.0, "1990-04-01"),
            (2, "bob@shop.example", "Bob", "O'Brien", "2026-06-20", "subscribed", "東京", None, None),
            (3, "zoe@example.com", "Zoë", "Müller", "2026-01-10", "unsubscribed", "", 0.0, "1985-12-31"),
            (4, "dan@example.org", "Dan", None, "2024-03-01", "bounced", None, 50.5, "2000-02-29"),
            (5, "eve@example.com", "Eve", "100% Real", "2026-06-29T23:00:00", "subscribed", "paris",
             300.0, None),
            (6, "fay@example.com", "", "Smith_Jones", None, "subscribed", "Lyon", None, None),
            (7, "gus@example.com", "ZOË", "Back\\slash", "2025-12-01", "subscribed", "PARIS", 10.0, None),
            (8, "hal@example.com", "Hal", "Zoe", "2023-01-01", "unsubscribed", None, None, None),
        ],
        columns=["contact_id", "email", "first_name", "last_name", "date_added", "email_status",
                 "city", "points", "birthday"],
    )
    campaigns = pd.DataFrame(
        [
            (91, "March one", "2026-03-10 10:00"),
            (92, "March two", "2026-03-15 10:00"),
            (93, "March three", "2026-03-20 10:00"),
            (101, "Spring sale", "2026-06-01 10:00"),
            (102, "June news", "2026-06-10 10:00"),
            (103, "Summer preview", "2026-06-20 10:00"),
            (104, "Late news", "2026-06-29 12:00"),
            (105, "Future", "2026-07-05 10:00"),
        ],
        columns=["campaign_id", "name", "sent_at"],
    )
    events = [
        *[(c, k, "send", sent) for c in (1, 2, 3) for k, sent in
          [(91, "2026-03-10 10:00"), (92, "2026-03-15 10:00"), (93, "2026-03-20 10:00")]],
        (3, 91, "open", "2026-03-10 12:00"), (3, 92, "open", "2026-03-16 09:00"),
        (3, 93, "open", "2026-03-21 09:00"), (2, 92, "open", "2026-03-15 18:00"),
        *[(c, k, "send", sent) for c in (1, 2, 3, 4, 5) for k, sent in
          [(101, "2026-06-01 10:00"), (102, "2026-06-10 10:00"), (103, "2026-06-20 10:00")]],
        (1, 101, "open", "2026-06-01 11:00"), (1, 102, "open", "2026-06-10 11:00"),
        (1, 103, "open", "2026-06-20 11:00"), (1, 103, "click", "2026-06-20 11:01"),
        (2, 101, "open", "2026-06-02 08:00"), (2, 103, "open", "2026-07-01 08:00"),
        (4, 101, "open", "2026-06-01 12:00"), (4, 102, "open", "2026-06-11 12:00"),
        (5, 101, "open", "2026-06-01 13:00"), (5, 102, "click", "2026-06-10 13:00"),
        (6, 103, "send", "2026-06-20 10:00"),
        (1, 104, "send", "2026-06-29 12:00"), (7, 104, "send", "2026-06-29 12:00"),
        (7, 104, "open", "2026-06-29 18:00"),
        (6, 105, "send", "2026-07-05 10:00"), (6, 105, "click", "2026-07-05 11:00"),
    ]
    orders = pd.DataFrame(
        [
            ("o1", 1, "2026-01-10", 200.10), ("o2", 1, "2026-06-01", 300.20),
            ("o3", 2, "2026-06-25", 20.00), ("o4", 4, "2025-06-01", 1000.00),
            ("o5", 5, "2026-07-02", 50.00), ("o6", 3, "2026-06-29 23:59:59", 10.10),
            ("o7", 3, "2026-06-29", 20.20),
        ],
        columns=["order_id", "contact_id", "ordered_at", "amount"],
    )
    return Dataset.from_frames(
        contacts=contacts,
        contact_tags=pd.DataFrame(
            [(1, "vip"), (1, "newsletter"), (2, "newsletter"), (4, "VIP"), (5, "vip"), (7, "東京")],
            columns=["contact_id", "tag"],
        ),
        lists=pd.DataFrame([(10, "VIP"), (11, "Newsletter"), (12, "Empty")], columns=["list_id", "name"]),
        list_memberships=pd.DataFrame(
            [(10, 1, None), (10, 5, None), (11, 1, None), (11, 2, None), (11, 3, None), (11, 7, None)],
            columns=["list_id", "contact_id", "added_at"],
        ),
        campaigns=campaigns,
        email_events=pd.DataFrame(events, columns=["contact_id", "campaign_id", "event_type", "occurred_at"]),
        orders=orders,
        custom_fields={"city": "text", "points": "number", "birthday": "date"},
    )
