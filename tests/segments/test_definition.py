"""Segment definitions: JSON round trip, versions, validation errors, sentences, catalog, and
reading Constant Contact v3 segment criteria."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import given, settings
from segments_support import AS_OF, definitions, tiny_dataset

from engagekit.errors import EngagekitError
from engagekit.segments import (
    OPERATORS,
    SCHEMA_VERSION,
    Catalog,
    MemoryEngine,
    SegmentDefinition,
    SegmentDefinitionError,
    all_of,
    any_of,
    describe_criterion,
    field_catalog,
    from_constant_contact,
    level_segment,
    migrate,
    operators_for,
    where,
)
from engagekit.segments.catalog import KIND_OPERATORS, STANDARD_FIELDS

EXAMPLE = {
    "version": 1,
    "criteria": {"type": "and", "group": [
        {"source": "engagement", "field": "current_level", "op": "is", "value": ["least_engaged"]},
        {"type": "or", "group": [
            {"source": "list_membership", "field": "lists", "op": "in_any", "value": [10]},
            {"source": "ecommerce", "field": "total_spent", "op": "gt", "value": 500},
        ]},
    ]},
}


def doc(*criteria, kind="and"):
    return {"version": 1, "criteria": {"type": kind, "group": list(criteria)}}


def crit(source, field, op, value=None):
    out = {"source": source, "field": field, "op": op}
    if value is not None:
        out["value"] = value
    return out


# -- JSON ------------------------------------------------------------------------------------
def test_json_round_trip():
    definition = SegmentDefinition.from_json(EXAMPLE)
    assert definition.to_dict() == EXAMPLE
    assert SegmentDefinition.from_json(definition.to_json()) == definition
    assert json.loads(definition.to_json(indent=2)) == EXAMPLE


def test_json_keeps_unicode_and_leaves_out_empty_values():
    definition = SegmentDefinition.from_json(doc(
        crit("contact", "city", "contains", "東京"), crit("contact", "first_name", "is_blank")))
    assert '"東京"' in definition.to_json()
    assert "value" not in definition.to_dict()["criteria"]["group"][1]


@settings(max_examples=150, deadline=None)
@given(definitions())
def test_random_definitions_round_trip_and_read(definition):
    again = SegmentDefinition.from_json(definition.to_json())
    assert again == definition
    assert again.to_dict() == definition.to_dict()
    sentence = definition.describe()
    assert next(char for char in sentence if char.isalpha()).isupper()


def test_missing_version_is_version_one_and_numeric_text_is_read():
    assert SegmentDefinition.from_json({"criteria": EXAMPLE["criteria"]}).version == SCHEMA_VERSION
    assert SegmentDefinition.from_json({**EXAMPLE, "version": "1"}).version == 1


def test_migration_hook_upgrades_step_by_step():
    steps = {
        1: lambda d: {**d, "version": 2, "criteria": {**d["criteria"], "note": "v2"}},
        2: lambda d: {**d, "version": 3},
    }
    upgraded = migrate({"version": 1, "criteria": {}}, migrations=steps, target=3)
    assert upgraded == {"version": 3, "criteria": {"note": "v2"}}
    with pytest.raises(SegmentDefinitionError, match="no migration from schema version 2"):
        migrate({"version": 2, "criteria": {}}, migrations={}, target=3)


@pytest.mark.parametrize(("document", "message"), [
    ({**EXAMPLE, "version": 2}, r"^version: schema version 2 was written by a newer engagekit"),
    ({**EXAMPLE, "version": 0}, r"^version: version must be a whole number from 1"),
    ({**EXAMPLE, "version": True}, r"^version: version must be a whole number"),
])
def test_bad_versions(document, message):
    with pytest.raises(SegmentDefinitionError, match=message):
        SegmentDefinition.from_json(document)


# -- validation ------------------------------------------------------------------------------
NESTED = "criteria.group[1].group[0]"
AT = re.escape(NESTED)


def nested(criterion):
    return doc(crit("tags", "tags", "has_any", ["vip"]), {"type": "or", "group": [criterion]})


@pytest.mark.parametrize(("document", "message"), [
    (nested(crit("metrics", "open_rate", "foo", 1)),
     rf"^{AT}: Open rate has no condition 'foo' \(it has: eq, ne, gt, gte, lt, lte, between\)\.$"),
    (nested(crit("metric", "open_rate", "gt", 1)), rf"^{AT}: There is no source 'metric' \(there are: engagement"),
    (nested(crit("metrics", "opens", "gt", 1)), rf"^{AT}: Engagement metrics has no field 'opens'"),
    (nested(crit("metrics", "open_rate", "gt", "high")),
     rf"^{AT}: Open rate \(is more than\) needs a number, not 'high'\.$"),
    (nested(crit("metrics", "open_rate", "gt", True)), "needs a number, not True"),
    (nested(crit("metrics", "open_rate", "gt", float("nan"))), "the number must be finite"),
    (nested(crit("metrics", "open_rate", "between", [0.8, 0.2])),
     rf"^{AT}: Open rate: the lower bound 80% is above the upper bound 20%; swap them\.$"),
    (nested(crit("metrics", "score", "between", [3, 1])), "the lower bound 3 is above the upper bound 1"),
    (nested(crit("metrics", "score", "between", 3)), r"\(is between\) needs a lower and an upper bound, not 3"),
    (nested(crit("engagement", "current_level", "is", ["keen"])),
     "each must be one of Most engaged, Somewhat engaged, Least engaged, Everyone else, not 'keen'"),
    (nested(crit("engagement", "current_level", "is", [])), r"\(is\): choose one or more engagement levels\.$"),
    (nested(crit("contact", "email", "contains", "")), r"Email \(contains\): enter a text\.$"),
    (nested(crit("contact", "email", "contains", 5)), "needs a text, not 5"),
    (nested(crit("contact", "email", "is_blank", "x")), "this condition takes no value"),
    (nested(crit("contact", "date_added", "before", "31/12/2026")), r"needs a date \(YYYY-MM-DD\), not '31/12/2026'"),
    (nested(crit("contact", "date_added", "within_last_days", 0)), "use a whole number from 1 to 36,500"),
    (nested(crit("contact", "city", "frobnicate", "x")), "The custom field 'city' has no condition 'frobnicate'"),
    (nested(crit("contact", "email_status", "is", ["gone"])), "each must be one of subscribed"),
    (nested(crit("list_membership", "lists", "in_any", ["VIP"])), "needs one or more lists, not 'VIP'"),
    (nested(crit("tags", "tags", "has_any", [""])), "to find an empty value, use the condition 'is blank'"),
    (nested(crit("email_activity", "campaign", "opened", "spring")), "needs a campaign, not 'spring'"),
    (nested(crit("email_activity", "last_n_campaigns", "opened", 2.5)),
     "needs a whole number of campaigns"),
    (nested(crit("ecommerce", "purchase", "purchased_within_days", None)), "enter a whole number of days"),
    (nested({"type": "or", "group": []}), r"^criteria.group\[1\].group\[0\]: This group is empty"),
    (doc(), r"^criteria: This group is empty"),
    (nested({"source": "tags", "op": "has_any"}), rf"^{AT}.field: this is required"),
    (nested({**crit("tags", "tags", "has_any", ["x"]), "colour": 1}), rf"^{AT}.colour: unknown key"),
    (doc(kind="xor"), r"^criteria.type: must be 'and' or 'or', not 'xor'"),
    ("{not json", "Not valid JSON"),
    ("[1, 2]", "a segment definition is a JSON object, not list"),
])
def test_validation_errors_name_the_place(document, message):
    with pytest.raises(SegmentDefinitionError, match=message) as caught:
        SegmentDefinition.from_json(document)
    assert isinstance(caught.value, EngagekitError)


def test_error_carries_path_and_reason():
    with pytest.raises(SegmentDefinitionError) as caught:
        SegmentDefinition.from_json(nested(crit("metrics", "open_rate", "foo", 1)))
    assert caught.value.path == NESTED
    assert caught.value.reason.startswith("Open rate has no condition 'foo'")


def test_building_in_code_is_checked_too():
    with pytest.raises(SegmentDefinitionError, match=r"criteria.group\[0\]: Engagement score has no condition"):
        SegmentDefinition(criteria=all_of(where("metrics", "score", "contains", "x")))


def test_values_are_normalised():
    definition = SegmentDefinition(criteria=all_of(
        where("engagement", "current_level", "is", "Least engaged"),
        where("tags", "tags", "has_any", ["vip", "vip", "new"]),
        where("contact", "date_added", "before", dt.date(2026, 1, 31)),
        where("ecommerce", "purchase", "purchased_within_days", 30.0),
        where("list_membership", "lists", "in_any", 4),
    ))
    assert [c.value for c in definition.criteria_list()] == [
        ["least_engaged"], ["vip", "new"], "2026-01-31", 30, [4]]


def test_validation_against_a_dataset():
    catalog = Catalog.from_dataset(tiny_dataset())
    engine = MemoryEngine(tiny_dataset(), as_of=AS_OF)
    ok = SegmentDefinition(criteria=all_of(where("contact", "points", "gt", 3)))
    assert engine.count(ok) == 4
    assert catalog.field("contact", "points").kind == "number"
    with pytest.raises(SegmentDefinitionError, match="There is no list with ids 98, 99"):
        engine.count(SegmentDefinition(criteria=all_of(where("list_membership", "lists", "in_any", [98, 99]))))


# -- sentences -------------------------------------------------------------------------------
CATALOG = Catalog(lists={10: "VIP", 11: "Newsletter"}, campaigns={101: "Spring sale"})


def test_sentence_of_the_issue_example():
    assert SegmentDefinition.from_json(EXAMPLE).describe(Catalog(lists={10: "VIP"})) == (
        "Current engagement level is Least engaged AND (is in list VIP OR total spent is more than 500)"
    )


@pytest.mark.parametrize(("criterion", "sentence"), [
    (where("engagement", "current_level", "is", ["least_engaged"]),
     "current engagement level is Least engaged"),
    (where("engagement", "previous_level", "is", ["most_engaged", "somewhat_engaged"]),
     "previous engagement level is Most engaged or Somewhat engaged"),
    (where("engagement", "current_level", "is_not", ["everyone_else"]),
     "current engagement level is not Everyone else"),
    (where("engagement", "current_level", "is_not", ["most_engaged", "everyone_else"]),
     "current engagement level is none of Most engaged, Everyone else"),
    (where("metrics", "open_rate", "gte", 0.25), "open rate is at least 25%"),
    (where("metrics", "click_rate", "between", [0.1, 1 / 3]), "click rate is between 10% and 33.33%"),
    (where("metrics", "days_since_last_engagement", "lt", 30), "days since last engagement (in window) is less than 30"),
    (where("metrics", "score", "ne", 1.5), "engagement score is not 1.5"),
    (where("metrics", "eligible_sends", "eq", 3), "eligible sends is 3"),
    (where("metrics", "bounces", "lte", 0), "bounces is at most 0"),
    (where("list_membership", "lists", "in_any", [10]), "is in list VIP"),
    (where("list_membership", "lists", "in_any", [10, 11]), "is in any of the lists VIP, Newsletter"),
    (where("list_membership", "lists", "in_none", [11]), "is not in list Newsletter"),
    (where("list_membership", "lists", "in_none", [10, 12]), "is in none of the lists VIP, list #12"),
    (where("tags", "tags", "has_any", ["vip"]), "has tag vip"),
    (where("tags", "tags", "has_any", ["vip", "new"]), "has any of the tags vip, new"),
    (where("tags", "tags", "has_none", ["vip"]), "does not have tag vip"),
    (where("tags", "tags", "has_none", ["a", "b"]), "has none of the tags a, b"),
    (where("contact", "email", "equals", "Ann@x.com"), 'email is "Ann@x.com"'),
    (where("contact", "first_name", "not_equals", "Bob"), 'first name is not "Bob"'),
    (where("contact", "email", "contains", "@gmail"), 'email contains "@gmail"'),
    (where("contact", "last_name", "not_contains", "x"), 'last name does not contain "x"'),
    (where("contact", "email", "starts_with", "info"), 'email starts with "info"'),
    (where("contact", "first_name", "is_blank"), "first name is blank"),
    (where("contact", "first_name", "is_not_blank"), "first name is not blank"),
    (where("contact", "date_added", "before", "2026-01-01"), "date added is before 2026-01-01"),
    (where("contact", "date_added", "after", "2026-01-01"), "date added is after 2026-01-01"),
    (where("contact", "date_added", "within_last_days", 30), "date added is within the last 30 days"),
    (where("contact", "date_added", "more_than_days_ago", 1), "date added is more than 1 day ago"),
    (where("contact", "email_status", "is", ["subscribed"]), "email status is subscribed"),
    (where("contact", "loyalty_points", "gt", 100), "loyalty points is more than 100"),
    (where("email_activity", "campaign", "opened", 101), 'opened campaign "Spring sale"'),
    (where("email_activity", "campaign", "not_opened", 101), 'received but did not open campaign "Spring sale"'),
    (where("email_activity", "campaign", "clicked", 7), 'clicked campaign "campaign #7"'),
    (where("email_activity", "campaign", "not_clicked", 101),
     'received but did not click campaign "Spring sale"'),
    (where("email_activity", "last_n_campaigns", "was_sent", 1), "was sent the last campaign"),
    (where("email_activity", "last_n_campaigns", "was_not_sent", 5), "was not sent any of the last 5 campaigns"),
    (where("email_activity", "last_n_days", "opened", 30), "opened a campaign sent in the last 30 days"),
    (where("email_activity", "last_n_days", "not_opened", 30),
     "received but did not open any campaign sent in the last 30 days"),
    (where("email_activity", "last_n_days", "was_sent", 7), "was sent a campaign in the last 7 days"),
    (where("ecommerce", "order_count", "gte", 2), "order count is at least 2"),
    (where("ecommerce", "total_spent", "gt", 99.5), "total spent is more than 99.5"),
    (where("ecommerce", "last_order_date", "more_than_days_ago", 90), "last order date is more than 90 days ago"),
    (where("ecommerce", "purchase", "has_purchased"), "has purchased"),
    (where("ecommerce", "purchase", "has_not_purchased"), "has not purchased"),
    (where("ecommerce", "purchase", "purchased_within_days", 30), "has purchased within the last 30 days"),
    (where("ecommerce", "purchase", "not_purchased_within_days", 30),
     "has not purchased within the last 30 days"),
])
def test_every_criterion_has_a_sentence(criterion, sentence):
    assert describe_criterion(criterion, CATALOG) == sentence


def test_sentences_name_things_from_a_dataset_or_an_engine():
    definition = SegmentDefinition(criteria=all_of(
        where("list_membership", "lists", "in_any", [10]),
        where("email_activity", "campaign", "opened", 101)))
    expected = 'Is in list VIP AND opened campaign "Spring sale"'
    assert definition.describe(tiny_dataset()) == expected
    assert definition.describe(MemoryEngine(tiny_dataset(), as_of=AS_OF)) == expected
    with pytest.raises(TypeError, match="cannot name lists"):
        definition.describe(42)


def test_sentences_bracket_nested_groups_only_when_needed():
    definition = SegmentDefinition(criteria=any_of(
        all_of(where("tags", "tags", "has_any", ["a"])),
        all_of(where("tags", "tags", "has_any", ["b"]),
               any_of(where("tags", "tags", "has_any", ["c"]), where("tags", "tags", "has_any", ["d"]))),
    ))
    assert definition.describe() == "Has tag a OR (has tag b AND (has tag c OR has tag d))"


def test_level_segments_are_prebuilt():
    assert level_segment("least_engaged").describe() == "Current engagement level is Least engaged"
    assert level_segment("most_engaged", previous=True).criteria_list()[0].field == "previous_level"
    assert level_segment("somewhat_engaged").uses("engagement")


# -- catalog ---------------------------------------------------------------------------------
def test_catalog_lists_every_family_and_custom_fields():
    specs = field_catalog(tiny_dataset())
    sources = {spec.source for spec in specs}
    assert sources == {"engagement", "metrics", "list_membership", "tags", "contact",
                       "email_activity", "ecommerce"}
    custom = {spec.field: spec.kind for spec in specs if spec.custom}
    assert custom == {"city": "text", "points": "number", "birthday": "date"}
    assert "city" not in {spec.field for spec in field_catalog()}


def test_every_operator_is_reachable_and_implemented_twice():
    reachable = {op for kind in KIND_OPERATORS.values() for op in kind}
    assert reachable == set(OPERATORS)
    for operator in OPERATORS.values():
        assert callable(operator.mask) and callable(operator.sql) and operator.label
    for spec in STANDARD_FIELDS:
        assert spec.operators and spec.source_label


def test_operators_for_a_form():
    by_name = {o.name: o for o in operators_for("engagement", "current_level")}
    assert by_name["is"].value.kind == "levels"
    assert ("least_engaged", "Least engaged") in by_name["is"].value.choices
    lists = operators_for("list_membership", "lists", tiny_dataset())[0]
    assert lists.value.choices == ((12, "Empty"), (11, "Newsletter"), (10, "VIP"))
    date_ops = {o.name: o.value.kind for o in operators_for("contact", "birthday", tiny_dataset())}
    assert date_ops == {"before": "date", "after": "date", "within_last_days": "days",
                        "more_than_days_ago": "days"}
    assert {o.value.kind for o in operators_for("contact", "first_name")} == {"text", "none"}
    assert operators_for("contact", "no_such_field") == []
    campaign = operators_for("email_activity", "campaign", tiny_dataset())[0].value
    assert (101, "Spring sale (2026-06-01)") in campaign.choices  # named with the day it was sent
    sent = dict(zip(tiny_dataset().campaigns["campaign_id"], tiny_dataset().campaigns["sent_at"], strict=True))
    assert [sent[cid] for cid, _ in campaign.choices] == sorted(sent.values(), reverse=True)  # newest first


# -- Constant Contact ------------------------------------------------------------------------
def cc(*criteria, kind="and"):
    return {"version": "1.0.0", "criteria": {"type": kind, "group": list(criteria)}}


def test_constant_contact_documented_example():
    text = ('{"version":"1.0.0","criteria":{"type":"and","group":[{"source":"tracking",'
            '"field":"not_opened","op":"contains-any","const_value":"last-n-campaigns","param":"5"}]}}')
    definition = from_constant_contact(text)
    assert definition.to_dict()["criteria"]["group"] == [
        crit("email_activity", "last_n_campaigns", "not_opened", 5)]
    assert from_constant_contact({"name": "Re-engage", "segment_criteria": text}) == definition


def test_constant_contact_families():
    definition = from_constant_contact(cc(
        {"source": "tracking", "field": "clicked", "op": "contains-any", "const_value": "last-n-days",
         "param": "30"},
        {"source": "tracking", "field": "opened", "op": "contains-any", "const_value": ["101", 102]},
        {"source": "contact", "field": "email_address", "op": "contains", "const_value": "@example.com"},
        {"source": "contact", "field": "created_at", "op": "after", "const_value": "2026-01-15"},
        {"source": "contact", "field": "first_name", "op": "is-empty"},
        {"source": "list_membership", "field": "list_membership", "op": "contains-any",
         "const_value": ["10", "11"]},
        {"source": "tags", "field": "tag_id", "op": "not-contains-any", "const_value": ["vip"]},
        {"type": "or", "group": [
            {"source": "ecommerce", "field": "total_spent", "op": "gt", "const_value": "100.5"},
            {"source": "ecommerce", "field": "purchased", "op": "in-the-last-n-days", "param": "60"},
        ]},
    ))
    assert definition.to_dict()["criteria"]["group"] == [
        crit("email_activity", "last_n_days", "clicked", 30),
        {"type": "or", "group": [crit("email_activity", "campaign", "opened", 101),
                                 crit("email_activity", "campaign", "opened", 102)]},
        crit("contact", "email", "contains", "@example.com"),
        crit("contact", "date_added", "after", "2026-01-15"),
        crit("contact", "first_name", "is_blank"),
        crit("list_membership", "lists", "in_any", [10, 11]),
        crit("tags", "tags", "has_none", ["vip"]),
        {"type": "or", "group": [crit("ecommerce", "total_spent", "gt", 100.5),
                                 crit("ecommerce", "purchase", "purchased_within_days", 60)]},
    ]


def test_constant_contact_names_resolve_with_a_dataset_and_evaluate():
    dataset = tiny_dataset()
    definition = from_constant_contact(cc(
        {"source": "list_membership", "field": "list_membership", "op": "contains-any",
         "const_value": ["vip"]},
        {"source": "tracking", "field": "opened", "op": "contains-any", "const_value": "Spring sale"},
        {"source": "contact", "field": "city", "op": "eq", "const_value": "PARIS"},
    ), dataset=dataset)
    assert definition.criteria_list()[0].value == [10]
    assert MemoryEngine(dataset, as_of=AS_OF).members(definition).tolist() == [1, 5]


@pytest.mark.parametrize(("criterion", "message"), [
    ({"source": "sms", "field": "x", "op": "eq"},
     r"^criteria.group\[0\]: Constant Contact source 'sms' has no engagekit equivalent"),
    ({"source": "tracking", "field": "forwarded", "op": "contains-any", "const_value": "last-n-days",
      "param": 3}, "unknown Constant Contact tracking field 'forwarded'"),
    ({"source": "tracking", "field": "opened", "op": "contains-all", "const_value": "last-n-days",
      "param": 3}, "unknown Constant Contact tracking operator 'contains-all'"),
    ({"source": "tracking", "field": "opened", "op": "contains-any",
      "const_value": "5f1c1cbe-0000-4000-8000-000000000000"}, "Constant Contact ids are UUIDs"),
    ({"source": "ecommerce", "field": "favourite_colour", "op": "eq"}, "unknown Constant Contact e-commerce field"),
    ({"source": "contact", "field": "age", "op": "gt", "const_value": "old"}, "expected a number, got 'old'"),
])
def test_constant_contact_errors_name_what_is_unsupported(criterion, message):
    with pytest.raises(SegmentDefinitionError, match=message):
        from_constant_contact(cc(criterion))


def test_constant_contact_unknown_custom_field_with_a_dataset():
    with pytest.raises(SegmentDefinitionError, match="unknown Constant Contact contact field 'shoe_size'"):
        from_constant_contact(cc({"source": "contact", "field": "shoe_size", "op": "eq",
                                  "const_value": "42"}), dataset=tiny_dataset())


def test_constant_contact_nested_groups_and_version():
    definition = from_constant_contact(cc(
        {"type": "or", "group": [{"source": "tags", "field": "tags", "op": "contains-any",
                                  "const_value": "a,b"}]}))
    assert definition.criteria_list()[0].value == ["a", "b"]
    with pytest.raises(SegmentDefinitionError, match="version '2.0.0' is not supported"):
        from_constant_contact({"version": "2.0.0", "criteria": {}})
