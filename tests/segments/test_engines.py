"""Hand-computed segment members for every family and operator, on every engine.

The dataset and how its levels come about are in ``segments_support.tiny_dataset``; the expected
ids below are worked out from that table (as of 2026-06-30 00:00).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from segments_support import AS_OF, ENGINE_KINDS, engine_over, open_workspace, tiny_dataset

from engagekit.config import EngagementConfig
from engagekit.data.sample import generate_sample
from engagekit.engagement.levels import compute_levels
from engagekit.engagement.sunset import SunsetRule
from engagekit.errors import DataError, WorkspaceError
from engagekit.segments import (
    MemoryEngine,
    SegmentDefinition,
    SegmentDefinitionError,
    SqlEngine,
    all_of,
    any_of,
    make_engine,
    segment_members,
    where,
)
from engagekit.segments.measures import ContactMeasures

ALL = [1, 2, 3, 4, 5, 6, 7, 8]


def one(source, field, op, value=None):
    return all_of(where(source, field, op, value))


def segment(source, field, op, value=None):
    return SegmentDefinition(criteria=one(source, field, op, value))


CASES = [
    # sunset status under the default rule (12 sends, 180 days): nobody here had that many emails
    ("sunset not emailed", one("engagement", "sunset_status", "is", ["not_emailed"]), [3, 4, 8]),
    ("sunset not affected", one("engagement", "sunset_status", "is_not",
                                ["sunset", "at_risk", "not_emailed"]), [1, 2, 5, 6, 7]),
    # engagement levels
    ("current most", one("engagement", "current_level", "is", ["most_engaged"]), [1]),
    ("current two levels", one("engagement", "current_level", "is",
                               ["least_engaged", "somewhat_engaged"]), [2, 3, 4, 5]),
    ("current is not", one("engagement", "current_level", "is_not", ["everyone_else"]), [1, 2, 3, 4, 5]),
    ("previous most", one("engagement", "previous_level", "is", ["most_engaged"]), [3]),
    ("previous is not", one("engagement", "previous_level", "is_not", ["least_engaged"]), [3, 4, 5, 6, 7, 8]),
    ("rising", all_of(where("engagement", "previous_level", "is", ["least_engaged"]),
                      where("engagement", "current_level", "is", ["most_engaged"])), [1]),
    # engagement metrics (missing values match nothing, not even ne)
    ("open rate gt", one("metrics", "open_rate", "gt", 0.5), [1, 4, 5]),
    ("open rate eq third", one("metrics", "open_rate", "eq", 1 / 3), [2]),
    ("open rate ne 0", one("metrics", "open_rate", "ne", 0), [1, 2, 4, 5]),
    ("open rate lte 0", one("metrics", "open_rate", "lte", 0), [3, 6]),
    ("click rate gte", one("metrics", "click_rate", "gte", 0.3), [1, 5]),
    ("days since lt", one("metrics", "days_since_last_engagement", "lt", 20), [1, 4, 5]),
    ("days since between", one("metrics", "days_since_last_engagement", "between", [10, 28]), [2, 4, 5]),
    ("eligible sends eq", one("metrics", "eligible_sends", "eq", 3), [1, 2, 3, 4, 5]),
    ("eligible sends lt", one("metrics", "eligible_sends", "lt", 3), [6, 7, 8]),
    ("opened gte", one("metrics", "opened", "gte", 2), [1, 4, 5]),
    ("clicked eq", one("metrics", "clicked", "eq", 1), [1, 5]),
    ("sends since gt", one("metrics", "sends_since_last_engagement", "gt", 1), [2, 3]),
    ("bounces eq", one("metrics", "bounces", "eq", 0), ALL),
    ("score gt", one("metrics", "score", "gt", 1), [1, 5]),
    # list membership
    ("in list", one("list_membership", "lists", "in_any", [10]), [1, 5]),
    ("in any list", one("list_membership", "lists", "in_any", [10, 11]), [1, 2, 3, 5, 7]),
    ("in no list", one("list_membership", "lists", "in_none", [11]), [4, 5, 6, 8]),
    ("in empty list", one("list_membership", "lists", "in_any", [12]), []),
    ("in none of empty list", one("list_membership", "lists", "in_none", [12]), ALL),
    # tags (exact)
    ("has tag", one("tags", "tags", "has_any", ["vip"]), [1, 5]),
    ("has any tag", one("tags", "tags", "has_any", ["VIP", "東京"]), [4, 7]),
    ("has none", one("tags", "tags", "has_none", ["newsletter"]), [3, 4, 5, 6, 7, 8]),
    # contact text (case-insensitive; blanks are NULL or '')
    ("email equals", one("contact", "email", "equals", "ANN@example.com"), [1]),
    ("email contains", one("contact", "email", "contains", "example.com"), [1, 3, 5, 6, 7, 8]),
    ("email not contains", one("contact", "email", "not_contains", "example.com"), [2, 4]),
    ("email starts", one("contact", "email", "starts_with", "Z"), [3]),
    ("name equals unicode", one("contact", "first_name", "equals", "zoë"), [3, 7]),
    ("name equals no accent", one("contact", "first_name", "equals", "zoe"), []),
    ("name not equals", one("contact", "first_name", "not_equals", "ZOË"), [1, 2, 4, 5, 6, 8]),
    ("name blank", one("contact", "first_name", "is_blank"), [6]),
    ("last blank", one("contact", "last_name", "is_blank"), [4]),
    ("last not blank", one("contact", "last_name", "is_not_blank"), [1, 2, 3, 5, 6, 7, 8]),
    ("percent literal", one("contact", "last_name", "contains", "%"), [5]),
    ("underscore literal", one("contact", "last_name", "contains", "_"), [6]),
    ("backslash literal", one("contact", "last_name", "contains", "\\"), [7]),
    ("quote literal", one("contact", "last_name", "contains", "'"), [2]),
    ("starts with quote", one("contact", "last_name", "starts_with", "o'"), [2]),
    ("umlaut upper", one("contact", "last_name", "contains", "MÜ"), [3]),
    ("custom text equals", one("contact", "city", "equals", "paris"), [1, 5, 7]),
    ("custom text cjk", one("contact", "city", "contains", "東"), [2]),
    ("custom text blank", one("contact", "city", "is_blank"), [3, 4, 8]),
    ("custom not contains", one("contact", "city", "not_contains", "par"), [2, 3, 4, 6, 8]),
    # contact dates
    ("added before", one("contact", "date_added", "before", "2026-01-01"), [1, 4, 7, 8]),
    ("added after", one("contact", "date_added", "after", "2026-06-20"), [5]),
    ("added within", one("contact", "date_added", "within_last_days", 10), [2, 5]),
    ("added long ago", one("contact", "date_added", "more_than_days_ago", 365), [1, 4, 8]),
    ("birthday before", one("contact", "birthday", "before", "1990-01-01"), [3]),
    ("birthday after", one("contact", "birthday", "after", "1999-12-31"), [4]),
    ("birthday ago", one("contact", "birthday", "more_than_days_ago", 10000), [1, 3]),
    # contact status and numbers
    ("status is", one("contact", "email_status", "is", ["unsubscribed", "bounced"]), [3, 4, 8]),
    ("status is not", one("contact", "email_status", "is_not", ["subscribed"]), [3, 4, 8]),
    ("points gt", one("contact", "points", "gt", 50), [1, 4, 5]),
    ("points ne", one("contact", "points", "ne", 0), [1, 4, 5, 7]),
    ("points eq", one("contact", "points", "eq", 0), [3]),
    # email activity: events at or before as_of; a click is an open; "not" means received but not
    ("campaign opened", one("email_activity", "campaign", "opened", 101), [1, 2, 4, 5]),
    ("click counts as open", one("email_activity", "campaign", "opened", 102), [1, 4, 5]),
    ("campaign not opened", one("email_activity", "campaign", "not_opened", 102), [2, 3]),
    ("campaign clicked", one("email_activity", "campaign", "clicked", 103), [1]),
    ("campaign not clicked", one("email_activity", "campaign", "not_clicked", 103), [2, 3, 4, 5, 6]),
    ("open after as_of ignored", one("email_activity", "campaign", "opened", 103), [1]),
    ("late campaign opened", one("email_activity", "campaign", "opened", 104), [7]),
    ("was sent", one("email_activity", "campaign", "was_sent", 104), [1, 7]),
    ("was not sent", one("email_activity", "campaign", "was_not_sent", 104), [2, 3, 4, 5, 6, 8]),
    ("future campaign", one("email_activity", "campaign", "was_sent", 105), []),
    ("last 2 opened", one("email_activity", "last_n_campaigns", "opened", 2), [1, 7]),
    ("last 2 sent", one("email_activity", "last_n_campaigns", "was_sent", 2), [1, 2, 3, 4, 5, 6, 7]),
    ("last 2 not sent", one("email_activity", "last_n_campaigns", "was_not_sent", 2), [8]),
    ("last 2 not opened", one("email_activity", "last_n_campaigns", "not_opened", 2), [2, 3, 4, 5, 6]),
    ("last 2 clicked", one("email_activity", "last_n_campaigns", "clicked", 2), [1]),
    ("last 2 not clicked", one("email_activity", "last_n_campaigns", "not_clicked", 2),
     [2, 3, 4, 5, 6, 7]),
    ("last campaign", one("email_activity", "last_n_campaigns", "was_sent", 1), [1, 7]),
    ("last 25 days opened", one("email_activity", "last_n_days", "opened", 25), [1, 4, 5, 7]),
    ("last 25 days not opened", one("email_activity", "last_n_days", "not_opened", 25), [2, 3, 6]),
    ("last day opened", one("email_activity", "last_n_days", "opened", 1), [7]),
    # e-commerce: orders up to as_of; totals to the cent
    ("no orders", one("ecommerce", "order_count", "eq", 0), [5, 6, 7, 8]),
    ("two orders", one("ecommerce", "order_count", "gte", 2), [1, 3]),
    ("spent gt", one("ecommerce", "total_spent", "gt", 500), [1, 4]),
    ("spent eq cents", one("ecommerce", "total_spent", "eq", 30.3), [3]),
    ("spent lt", one("ecommerce", "total_spent", "lt", 25), [2, 5, 6, 7, 8]),
    ("spent between", one("ecommerce", "total_spent", "between", [20, 500.3]), [1, 2, 3]),
    ("last order after", one("ecommerce", "last_order_date", "after", "2026-06-24"), [2, 3]),
    ("last order before", one("ecommerce", "last_order_date", "before", "2026-01-01"), [4]),
    ("last order within", one("ecommerce", "last_order_date", "within_last_days", 30), [1, 2, 3]),
    ("last order long ago", one("ecommerce", "last_order_date", "more_than_days_ago", 90), [4]),
    ("has purchased", one("ecommerce", "purchase", "has_purchased"), [1, 2, 3, 4]),
    ("has not purchased", one("ecommerce", "purchase", "has_not_purchased"), [5, 6, 7, 8]),
    ("purchased recently", one("ecommerce", "purchase", "purchased_within_days", 7), [2, 3]),
    ("not purchased recently", one("ecommerce", "purchase", "not_purchased_within_days", 7),
     [1, 4, 5, 6, 7, 8]),
    # levels beside other sources (the SQL engine reads a snapshot's rows or contacts' rows)
    ("level or no orders", any_of(
        where("engagement", "current_level", "is", ["most_engaged"]),
        where("ecommerce", "order_count", "eq", 0)), [1, 5, 6, 7, 8]),
    ("previous level or spent lt", any_of(
        where("engagement", "previous_level", "is", ["most_engaged"]),
        where("ecommerce", "total_spent", "lt", 25)), [2, 3, 5, 6, 7, 8]),
    ("previous level and metric", all_of(
        where("engagement", "previous_level", "is_not", ["least_engaged"]),
        where("metrics", "open_rate", "gt", 0.5)), [4, 5]),
    ("metric or click", any_of(
        where("metrics", "open_rate", "lte", 0),
        where("email_activity", "campaign", "clicked", 103)), [1, 3, 6]),
    ("levels that exclude each other", all_of(
        where("engagement", "current_level", "is", ["most_engaged"]),
        any_of(where("engagement", "current_level", "is_not", ["most_engaged"]),
               where("engagement", "previous_level", "is", ["most_engaged"]))), []),
    ("a level or its complement", any_of(
        where("engagement", "current_level", "is", ["most_engaged"]),
        where("engagement", "current_level", "is_not", ["most_engaged"])), ALL),
    ("level and contact field", all_of(
        where("engagement", "current_level", "is_not", ["everyone_else"]),
        where("contact", "city", "not_contains", "par")), [2, 3, 4]),
    # nesting
    ("and of or", all_of(
        where("engagement", "current_level", "is", ["least_engaged"]),
        any_of(where("list_membership", "lists", "in_any", [10]),
               where("ecommerce", "total_spent", "gt", 25))), [3]),
    ("or of and", any_of(
        all_of(where("tags", "tags", "has_any", ["vip"]),
               where("email_activity", "campaign", "opened", 101)),
        where("contact", "email_status", "is", ["bounced"])), [1, 4, 5]),
    ("deep", all_of(any_of(all_of(any_of(
        where("contact", "city", "equals", "paris"),
        where("contact", "city", "equals", "lyon"))),
        where("contact", "first_name", "is_blank")),
        where("contact", "email_status", "is", ["subscribed"])), [1, 5, 6, 7]),
]


@pytest.fixture(scope="module")
def dataset():
    return tiny_dataset()


@pytest.fixture(scope="module")
def sqlite_workspace(dataset):
    ws = open_workspace("sqlite")
    ws.import_dataset(dataset)
    return ws


@pytest.fixture(scope="module", params=ENGINE_KINDS)
def engine(request, dataset):
    with engine_over(request.param, dataset) as chosen:
        yield chosen


@pytest.mark.parametrize(("name", "criteria", "expected"), CASES, ids=[c[0] for c in CASES])
def test_members_by_hand(engine, name, criteria, expected):
    definition = SegmentDefinition(criteria=criteria)
    members = engine.members(definition)
    assert members.dtype == np.int64
    assert members.tolist() == expected
    assert engine.count(definition) == len(expected)


def test_every_operator_is_covered():
    from engagekit.segments import OPERATORS

    used = {c.op for _, group, _ in CASES for c in SegmentDefinition(criteria=group).criteria_list()}
    assert used == set(OPERATORS)


def test_unknown_list_and_campaign_are_errors(engine):
    with pytest.raises(SegmentDefinitionError, match=r"criteria.group\[0\]: There is no list with id 99"):
        engine.count(segment("list_membership", "lists", "in_any", [99]))
    with pytest.raises(SegmentDefinitionError, match="There is no campaign with id 999"):
        engine.count(segment("email_activity", "campaign", "opened", 999))
    with pytest.raises(SegmentDefinitionError, match="Contact details has no field 'shoe_size'"):
        engine.count(segment("contact", "shoe_size", "gt", 40))


def test_custom_field_of_the_wrong_type_is_an_error(engine):
    with pytest.raises(SegmentDefinitionError, match="City has no condition 'gt'"):
        engine.count(segment("contact", "city", "gt", 3))


def test_definitions_as_json_text_or_dict(engine):
    definition = segment("tags", "tags", "has_any", ["vip"])
    assert engine.count(definition.to_json()) == engine.count(definition.to_dict()) == 2


def test_memory_mask_is_over_contact_rows(dataset):
    mask = MemoryEngine(dataset, as_of=AS_OF).mask(segment("contact", "first_name", "equals", "Ann"))
    assert mask.tolist() == [True] + [False] * 7


def test_memory_engine_reuses_criterion_masks(dataset):
    engine = MemoryEngine(dataset, as_of=AS_OF)
    definition = segment("metrics", "open_rate", "gt", 0.5)
    first = engine.mask(definition)
    assert engine._criterion(definition.criteria.group[0]) is engine._criterion(
        definition.criteria.group[0])
    assert engine.mask(definition).tolist() == first.tolist()


def test_sql_query_has_bound_parameters_only(sqlite_workspace):
    engine = SqlEngine(sqlite_workspace, as_of=AS_OF)
    definition = segment("contact", "first_name", "contains", "Zoë' OR 1=1")
    text = str(engine.query(definition))
    assert "OR 1=1" not in text and "zoë" not in text
    assert "zoë'' or 1=1" in engine.sql(definition)  # the display form inlines it, quoted


def test_sql_engine_reuses_stored_snapshots(sqlite_workspace):
    first = SqlEngine(sqlite_workspace, as_of=AS_OF).snapshot_ids
    assert SqlEngine(sqlite_workspace, as_of=AS_OF).snapshot_ids == first
    assert len(set(first)) == 2


def test_an_embedded_workspace_stores_the_memory_levels_for_sql_segments(dataset, monkeypatch):
    # SQLite's own run of the levels job takes minutes at a million contacts; the memory engine
    # has the same levels in a second from the columnar copy on the same machine.
    from engagekit.workspace.snapshots import SnapshotStore

    def refuse(*args, **kwargs):
        raise AssertionError("the levels job ran inside SQLite")

    monkeypatch.setattr(SnapshotStore, "store_in_database", refuse)
    ws = open_workspace("sqlite")
    ws.import_dataset(dataset)
    engine = SqlEngine(ws, as_of=AS_OF)
    stored = ws.snapshots.load(engine.snapshot_ids[0]).table.set_index("contact_id")["level"]
    expected = compute_levels(dataset, as_of=AS_OF).table.set_index("contact_id")["level"]
    assert stored.astype(str).sort_index().equals(expected.astype(str).sort_index())


def test_evaluate_helpers(dataset, sqlite_workspace):
    definition = segment("metrics", "score", "gt", 1)
    assert segment_members(definition, dataset=dataset, as_of=AS_OF).tolist() == [1, 5]
    assert segment_members(definition, workspace=sqlite_workspace, as_of=AS_OF,
                           engine="sql").tolist() == [1, 5]
    assert isinstance(make_engine("memory", workspace=sqlite_workspace, as_of=AS_OF), MemoryEngine)
    with pytest.raises(ValueError, match="unknown engine"):
        make_engine("duckdb", dataset=dataset, as_of=AS_OF)
    with pytest.raises(ValueError, match="needs a workspace"):
        make_engine("sql", dataset=dataset, as_of=AS_OF)


def test_empty_dataset_has_no_members():
    import pandas as pd

    from engagekit.data.dataset import Dataset

    empty = Dataset.from_frames(contacts=pd.DataFrame(
        columns=["contact_id", "email", "first_name", "last_name", "date_added", "email_status"]))
    definition = segment("engagement", "current_level", "is", ["most_engaged"])
    assert MemoryEngine(empty, as_of=AS_OF).members(definition).tolist() == []
    ws = open_workspace("sqlite")
    ws.import_dataset(empty)
    assert SqlEngine(ws, as_of=AS_OF).members(definition).tolist() == []


# A rule strict enough for the tiny data: 2 unengaged sends and 10 days (warned from 1 send, 5 days).
# All history counts, as of 2026-06-30: 1 last engaged on 06-20 with one send since (104);
# 2 on 06-02 with 102 and 103 since; 5 on 06-10 with 103 since; 6 never engaged, first emailed on
# 06-20, one send; 7 opened 104 the day before.
STRICT_RULE = SunsetRule(unengaged_sends=2, unengaged_days=10, warning_sends=1, warning_days=5)
STRICT_STATUSES = {"sunset": [2], "at_risk": [1, 5, 6], "active": [7], "not_emailed": [3, 4, 8]}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_sunset_status_follows_the_rule_given(kind, dataset, sqlite_workspace):
    measures = ContactMeasures(lambda: dataset, as_of=pd.Timestamp(AS_OF), config=EngagementConfig(),
                               sunset_rule=STRICT_RULE)
    engine = (MemoryEngine(dataset, as_of=AS_OF, measures=measures) if kind == "memory" else
              SqlEngine(sqlite_workspace, as_of=AS_OF, measures=measures))
    for status, expected in STRICT_STATUSES.items():
        assert engine.members(segment("engagement", "sunset_status", "is", [status])).tolist() == expected
    at_risk_or_worse = segment("engagement", "sunset_status", "is", ["Would be sunset (last chance)", "at_risk"])
    assert engine.members(at_risk_or_worse).tolist() == [1, 2, 5, 6]  # labels are accepted too


def test_slip_risk_on_a_short_history_is_one_sentence_on_every_engine(engine):
    with pytest.raises(DataError, match=r"^The history is too short to learn slip risk: it needs "
                                        r"campaigns from \d{4}-\d\d-\d\d on"):
        engine.count(segment("metrics", "slip_risk", "gte", 0.6))
    # the rest of the segment language still works on this engine
    assert engine.count(segment("metrics", "open_rate", "gte", 0)) == 6  # everyone emailed in the window


def test_a_sql_engine_refuses_data_imported_after_it(dataset):
    # The import removes the snapshots the engine found, and new ones may take their ids: its
    # queries would read another data's levels. Changing a list keeps them.
    ws = open_workspace("sqlite")
    ws.import_dataset(dataset)
    most = where("engagement", "current_level", "is", ["most_engaged"])
    engine = SqlEngine(ws, as_of=AS_OF)
    engine.count(most)
    ws.lists.add_members("Kept", dataset.contacts["contact_id"].head(3).to_numpy())
    assert engine.count(most) == SqlEngine(ws, as_of=AS_OF).count(most)

    other = generate_sample(300, seed=99)
    ws.import_dataset(other, mode="replace")
    with pytest.raises(WorkspaceError, match="imported again"):
        engine.count(most)
    with pytest.raises(WorkspaceError, match="imported again"):
        engine.members(most)
    fresh = SqlEngine(ws, as_of=AS_OF)
    assert fresh.count(most) == len(MemoryEngine(ws.load(), as_of=AS_OF).members(most))
