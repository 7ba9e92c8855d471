"""Shared pieces of the segment tests: a PostgreSQL database per test module, workspaces, and the
small hand-made dataset whose answers the engine tests compute by hand.

The PostgreSQL server and its throwaway databases come from ``postgres.py``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import pandas as pd
import pytest
from hypothesis import strategies as st

from engagekit.data.dataset import Dataset
from engagekit.workspace import Workspace

from postgres import fresh_database as fresh_postgres_database  # noqa: F401 (used by tests)
from postgres import postgres_url as postgres_base_url  # noqa: F401 (used by tests)

AS_OF = "2026-06-30"


def open_workspace(kind: str, url: str | None = None) -> Workspace:
    """A workspace on a fresh SQLite file (``kind="sqlite"``) or at a PostgreSQL ``url``.

    The columnar cache goes to a temporary folder: the default one is keyed by URL and would be
    shared by every test database of a server.
    """
    folder = tempfile.mkdtemp(prefix="engagekit-segments-")
    if kind == "sqlite":
        url = f"sqlite:///{folder}/workspace.db"
    return Workspace.open(url, cache_dir=f"{folder}/columnar")


ENGINE_KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
"""Parameters of an ``engine`` fixture: the memory engine and the SQL engine on both databases."""


@contextmanager
def engine_over(kind: str, dataset: Dataset, as_of: str = AS_OF) -> Iterator:
    """A segment engine of ``kind`` over ``dataset`` (imported into a fresh workspace for SQL)."""
    from engagekit.segments import MemoryEngine, SqlEngine

    if kind == "memory":
        yield MemoryEngine(dataset, as_of=as_of)
        return
    with fresh_postgres_database() if kind == "postgres" else nullcontext() as url:
        workspace = open_workspace(kind, url)
        workspace.import_dataset(dataset)
        try:
            yield SqlEngine(workspace, as_of=as_of)
        finally:
            workspace.engine.dispose()


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


# -- random data and definitions (hypothesis) ------------------------------------------------
# Letters whose lower-casing Python and PostgreSQL's ICU agree on, plus every LIKE wildcard,
# the escape character and quotes.
ALPHABET = "aAzZ eéÉëËöÖ東京ßẞİΣσ%_\\'\"-.@1"
NAME_POOL = ("Ann", "ann", "ANN", "Zoë", "ZOË", "zoe", "", "O'Brien", "100%", "a_b", "x\\y", "東京")
TAG_POOL = ("vip", "VIP", "newsletter", "東京", "50%_off", "a\\b")
SPECIAL_NEEDLES = ("%", "_", "\\", "'", "\"", "a%", "%_", "_a", "\\%", "' OR 1=1 --", ":x", "Zoë", "東京")
NUMBER_POOL = (0, 0.25, 1 / 3, 0.5, 2 / 3, 1, 1.5, 2, 3, 5, 10, 30, 100, 250.5, -1)
RANDOM_AS_OF = ("2026-06-15 12:00:00", "2026-06-15 12:00:00.500000", "2026-06-01")
BASE_TIME = pd.Timestamp("2026-06-15 12:00:00")
CUSTOM_FIELDS = {"city": "text", "points": "number", "birthday": "date"}


def _maybe(strategy, none_share: int = 4):
    """``strategy``, or ``None`` about one time in ``none_share``."""
    return st.one_of(*([strategy] * (none_share - 1)), st.none())


def _time(spread_days: float):
    """Times around BASE_TIME and close to each as-of second, down to the microsecond."""
    near = st.sampled_from(RANDOM_AS_OF).flatmap(lambda t: st.integers(-1_500_000, 1_500_000).map(
        lambda us: pd.Timestamp(t) + pd.Timedelta(microseconds=us)))
    spread = st.integers(int(-spread_days * 86_400e6), int(5 * 86_400e6)).map(
        lambda us: BASE_TIME + pd.Timedelta(microseconds=us))
    return st.one_of(spread, spread, near)


def datasets():
    """Random small datasets: blanks, unicode, ties in sent times, events around as_of."""
    text = st.one_of(st.sampled_from(NAME_POOL), st.text(ALPHABET, max_size=6))

    @st.composite
    def build(draw) -> Dataset:
        n = draw(st.integers(1, 14))
        ids = draw(st.lists(st.integers(1, 10**6), min_size=n, max_size=n, unique=True))
        contacts = pd.DataFrame({
            "contact_id": ids,
            # "+" is not in ALPHABET, so the index after it keeps every address unique ("1" + "2"
            # and "" + "12" would both be "12@...").
            "email": [f"{draw(st.text(ALPHABET, max_size=3))}+{i}@{draw(st.sampled_from(['ex.com', 'Shop.Example', '東京.jp']))}"
                      for i in range(n)],
            "first_name": [draw(_maybe(text)) for _ in ids],
            "last_name": [draw(_maybe(text)) for _ in ids],
            "date_added": [draw(_maybe(_time(400))) for _ in ids],
            "email_status": [draw(st.sampled_from(["subscribed", "unsubscribed", "bounced"])) for _ in ids],
            "city": [draw(_maybe(text)) for _ in ids],
            "points": [draw(_maybe(st.sampled_from(NUMBER_POOL))) for _ in ids],
            "birthday": [draw(_maybe(st.dates(pd.Timestamp("1970-01-01").date(),
                                                   pd.Timestamp("2010-01-01").date()).map(str), 2))
                         for _ in ids],
        })
        n_campaigns = draw(st.integers(0, 6))
        campaign_ids = draw(st.lists(st.integers(1, 500), min_size=n_campaigns, max_size=n_campaigns,
                                     unique=True))
        sent = [draw(st.one_of(_time(120), st.just(BASE_TIME))) for _ in campaign_ids]
        campaigns = pd.DataFrame({"campaign_id": campaign_ids,
                                  "name": [f"Campaign {c}" for c in campaign_ids], "sent_at": sent})
        events = []
        if n_campaigns:
            for _ in range(draw(st.integers(0, 40))):
                k = draw(st.integers(0, n_campaigns - 1))
                # seconds after the send too, where the machine-event rules decide
                late = draw(st.one_of(st.integers(0, 4 * 86_400_000_000), st.just(0),
                                      st.integers(0, 200_000_000)))
                when = draw(st.one_of(st.just(sent[k] + pd.Timedelta(microseconds=late)),
                                      _time(120)))
                events.append((draw(st.sampled_from(ids)), campaign_ids[k],
                               draw(st.sampled_from(["send", "open", "click", "bounce", "unsubscribe"])),
                               when, draw(st.sampled_from([None, None, True, False])),
                               draw(st.sampled_from([None, "Mozilla/5.0", "Outlook"])),
                               draw(st.sampled_from([None, "https://a.example", "https://b.example"])),
                               draw(st.sampled_from([None, None, "17.58.1.2", "203.0.113.9"]))))
            # the same contact, campaign, type and time again with other details: one may be a
            # machine's (a proxy fetch) and the other a person's
            for _ in range(draw(st.integers(0, 3)) if events else 0):
                again = draw(st.sampled_from(events))
                events.append((*again[:4], draw(st.sampled_from([None, True, False])),
                               draw(st.sampled_from([None, "Mozilla/5.0", "Outlook"])),
                               again[6], draw(st.sampled_from([None, "17.58.1.2"]))))
        tags = {(c, t) for c in ids for t in draw(st.sets(st.sampled_from(TAG_POOL), max_size=2))}
        n_lists = draw(st.integers(0, 3))
        memberships = {(100 + k, c) for k in range(n_lists) for c in draw(st.sets(st.sampled_from(ids)))}
        orders = [(f"o{i}", draw(st.sampled_from(ids)), draw(_time(200)),
                   draw(st.integers(-5_000, 50_000)) / 100) for i in range(draw(st.integers(0, 10)))]
        return Dataset.from_frames(
            contacts=contacts,
            contact_tags=pd.DataFrame(sorted(tags, key=str), columns=["contact_id", "tag"]),
            lists=pd.DataFrame({"list_id": [100 + k for k in range(n_lists)],
                                "name": [f"List {k}" for k in range(n_lists)]}),
            list_memberships=pd.DataFrame(
                [(lst, c, None) for lst, c in sorted(memberships)],
                columns=["list_id", "contact_id", "added_at"]),
            campaigns=campaigns,
            email_events=pd.DataFrame(events, columns=["contact_id", "campaign_id", "event_type",
                                                       "occurred_at", "machine", "user_agent", "link",
                                                       "ip"]),
            orders=pd.DataFrame(orders, columns=["order_id", "contact_id", "ordered_at", "amount"]),
            custom_fields=CUSTOM_FIELDS,
        )

    return build()


def configs():
    from engagekit.config import EngagementConfig

    return st.builds(
        EngagementConfig,
        min_sends=st.integers(1, 3),
        lookback_days=st.sampled_from([30, 90]),
        exclusion_hours=st.sampled_from([0.0, 24.0]),
        previous_period_days=st.sampled_from([7, 30]),
        engagement=st.sampled_from(["all_opens", "confirmed_opens", "clicks_only"]),
        count_scanner_clicks=st.booleans(),
        count_orders=st.booleans(),
    )


def outcome(engine, definition) -> list[int] | str:
    """What an engine makes of a definition: its members, or the sentence of the data error it
    raised (slip risk on a history too short to learn from), which every engine must agree on."""
    from engagekit.errors import DataError

    try:
        return engine.members(definition).tolist()
    except DataError as error:
        return str(error)


def definitions(dataset: Dataset | None = None):
    """Random definitions: nested and/or groups of criteria from every family.

    With a dataset, list and campaign ids are its own (so they validate) and text values are often
    pieces of its values (so they match something). Slip risk needs more history than these small
    datasets hold, so its criteria test that every engine refuses them with the same sentence.
    """
    from engagekit.data.schema import LEVELS
    from engagekit.engagement.sunset import SUNSET_STATUSES
    from engagekit.segments import Group, SegmentDefinition, where
    from engagekit.segments.operators import (
        ACTIVITY_OPERATORS,
        DATE_OPERATORS,
        NUMBER_OPERATORS,
        TEXT_OPERATORS,
    )

    seen = []
    list_ids, campaign_ids = [1, 2], [1, 2]
    if dataset is not None:
        for column in ("email", "first_name", "last_name", "city"):
            seen += [v for v in dataset.contacts[column].dropna().tolist() if v]
        list_ids = dataset.lists["list_id"].tolist()
        campaign_ids = dataset.campaigns["campaign_id"].tolist()
    pieces = [v[i:j] for v in seen for i in range(len(v)) for j in range(i + 1, min(len(v), i + 4) + 1)]
    needle = st.one_of(st.text(ALPHABET, min_size=1, max_size=3), st.sampled_from(SPECIAL_NEEDLES),
                       *([st.sampled_from(pieces)] * 3 if pieces else []))
    number = st.one_of(st.sampled_from(NUMBER_POOL),
                       st.floats(-10, 600, allow_nan=False).map(lambda x: round(x, 2)))
    days = st.integers(1, 400)
    a_date = st.dates(pd.Timestamp("1970-01-01").date(), pd.Timestamp("2027-01-01").date()).map(str)

    def numbers(source, fields):
        def value(op):
            if op == "between":
                return st.lists(number, min_size=2, max_size=2).map(sorted)
            return number
        return st.sampled_from(NUMBER_OPERATORS).flatmap(lambda op: st.builds(
            where, st.just(source), st.sampled_from(fields), st.just(op), value(op)))

    def dates(source, fields):
        return st.sampled_from(DATE_OPERATORS).flatmap(lambda op: st.builds(
            where, st.just(source), st.sampled_from(fields), st.just(op),
            a_date if op in ("before", "after") else days))

    def texts(fields):
        return st.sampled_from(TEXT_OPERATORS).flatmap(lambda op: st.builds(
            where, st.just("contact"), st.sampled_from(fields), st.just(op),
            st.none() if "blank" in op else needle))

    families = [
        st.builds(where, st.just("engagement"), st.sampled_from(["current_level", "previous_level"]),
                  st.sampled_from(["is", "is_not"]),
                  st.lists(st.sampled_from(LEVELS), min_size=1, max_size=3, unique=True)),
        numbers("metrics", ["open_rate", "click_rate", "days_since_last_engagement", "eligible_sends",
                            "opened", "clicked", "sends_since_last_engagement", "bounces", "score"]),
        numbers("metrics", ["slip_risk"]),
        st.builds(where, st.just("engagement"), st.just("sunset_status"), st.sampled_from(["is", "is_not"]),
                  st.lists(st.sampled_from(list(SUNSET_STATUSES)), min_size=1, max_size=2, unique=True)),
        st.builds(where, st.just("tags"), st.just("tags"), st.sampled_from(["has_any", "has_none"]),
                  st.lists(st.sampled_from([*TAG_POOL, "absent"]), min_size=1, max_size=3, unique=True)),
        texts(["email", "first_name", "last_name", "city"]),
        dates("contact", ["date_added", "birthday"]),
        st.builds(where, st.just("contact"), st.just("email_status"), st.sampled_from(["is", "is_not"]),
                  st.lists(st.sampled_from(["subscribed", "unsubscribed", "bounced"]), min_size=1,
                           max_size=2, unique=True)),
        numbers("contact", ["points"]),
        st.builds(where, st.just("email_activity"), st.just("last_n_campaigns"),
                  st.sampled_from(ACTIVITY_OPERATORS), st.integers(1, 7)),
        st.builds(where, st.just("email_activity"), st.just("last_n_days"),
                  st.sampled_from(ACTIVITY_OPERATORS), st.integers(1, 120)),
        numbers("ecommerce", ["order_count", "total_spent"]),
        dates("ecommerce", ["last_order_date"]),
        st.sampled_from(["has_purchased", "has_not_purchased"]).map(
            lambda op: where("ecommerce", "purchase", op)),
        st.builds(where, st.just("ecommerce"), st.just("purchase"),
                  st.sampled_from(["purchased_within_days", "not_purchased_within_days"]), days),
    ]
    if list_ids:
        families.append(st.builds(where, st.just("list_membership"), st.just("lists"),
                                  st.sampled_from(["in_any", "in_none"]),
                                  st.lists(st.sampled_from(list_ids), min_size=1, max_size=2, unique=True)))
    if campaign_ids:
        families.append(st.builds(where, st.just("email_activity"), st.just("campaign"),
                                  st.sampled_from(ACTIVITY_OPERATORS), st.sampled_from(campaign_ids)))
    criteria = st.one_of(*families)
    kind = st.sampled_from(["and", "or"])
    nodes = st.recursive(criteria, lambda children: st.builds(
        Group, type=kind, group=st.lists(children, min_size=1, max_size=3)), max_leaves=4)
    single = criteria.map(lambda c: SegmentDefinition(criteria=Group(type="and", group=[c])))
    # Half single criteria: deep trees of random criteria mostly match nobody or everybody.
    return st.one_of(single, st.builds(
        lambda t, group: SegmentDefinition(criteria=Group(type=t, group=group)),
        kind, st.lists(nodes, min_size=1, max_size=3)))
