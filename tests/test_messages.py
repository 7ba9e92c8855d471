"""Every message a user can meet from a form reads as a sentence in the user's words: it starts
with a capital, ends with a full stop, and names settings and fields by their labels, never by
their names in code (no ``snake_case``)."""

from __future__ import annotations

import re

import pytest

import engagekit as ek
from engagekit.campaigns.planning import check_plan_settings
from engagekit.segments.validation import check_criterion

SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
CATALOG = ek.Catalog(custom_fields={"loyalty_points": "number"}, lists={1: "VIP"},
                     campaigns={7: "Spring sale"}, tags=("vip",))


def assert_reads_well(message: str) -> None:
    assert message[:1].isupper(), message
    assert message.endswith("."), message
    assert not SNAKE_CASE.search(message), message


@pytest.mark.parametrize("changes", [
    {"most_engaged_share": 0.7, "least_engaged_share": 0.5},
    {"open_weight": 0, "click_weight": 0},
    {"lookback_days": 1, "exclusion_hours": 30},
    {"lookback_days": 0},
    {"min_sends": 0},
    {"most_engaged_share": 1.5},
    {"least_engaged_share": 0},
    {"open_weight": -1},
    {"previous_period_days": 5000},
    {"order_attribution_days": "a week"},
    {"exclusion_hours": -1, "min_sends": 0},
])
def test_settings_errors_read_well(changes):
    with pytest.raises(ek.ConfigError) as caught:
        ek.EngagementConfig.create(**changes)
    assert_reads_well(str(caught.value))


# What a form can send: the right field and condition, a wrong or missing value.
@pytest.mark.parametrize(("source", "field", "op", "value"), [
    ("metrics", "open_rate", "between", [0.8, 0.2]),
    ("metrics", "open_rate", "gt", None),
    ("metrics", "days_since_last_engagement", "gte", "soon"),
    ("metrics", "score", "lt", float("inf")),
    ("metrics", "eligible_sends", "gt", 1e20),
    ("engagement", "current_level", "is", []),
    ("engagement", "previous_level", "is_not", ["keen"]),
    ("contact", "email", "contains", ""),
    ("contact", "first_name", "starts_with", "x" * 1001),
    ("contact", "email_status", "is", ["gone"]),
    ("contact", "date_added", "before", "next week"),
    ("contact", "date_added", "within_last_days", 0),
    ("contact", "loyalty_points", "gt", None),
    ("list_membership", "lists", "in_any", []),
    ("list_membership", "lists", "in_none", [99]),
    ("tags", "tags", "has_any", [""]),
    ("email_activity", "campaign", "opened", None),
    ("email_activity", "campaign", "clicked", 8),
    ("email_activity", "last_n_campaigns", "was_sent", 0),
    ("email_activity", "last_n_days", "not_opened", 100_000),
    ("ecommerce", "total_spent", "between", [500, 100]),
    ("ecommerce", "last_order_date", "after", None),
    ("ecommerce", "purchase", "purchased_within_days", None),
])
def test_criterion_errors_read_well(source, field, op, value):
    with pytest.raises(ek.SegmentDefinitionError) as caught:
        check_criterion(ek.Criterion(source=source, field=field, op=op, value=value), CATALOG)
    assert_reads_well(caught.value.reason)


def test_an_empty_group_and_an_oversized_definition_read_well():
    with pytest.raises(ek.SegmentDefinitionError) as empty:
        ek.SegmentDefinition.from_json({"version": 1, "criteria": {"type": "and", "group": []}})
    assert_reads_well(empty.value.reason)


@pytest.mark.parametrize("settings", [
    {"success_event": "purchase"}, {"success_days": 0}, {"holdout_share": 0.9},
])
def test_campaign_plan_errors_read_well(settings):
    chosen = {"success_event": "click", "success_days": 14, "holdout_share": 0.1, **settings}
    with pytest.raises(ek.ConfigError) as caught:
        check_plan_settings(**chosen)
    assert_reads_well(str(caught.value))


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "x" * 500])
def test_name_errors_read_well(name):
    with pytest.raises(ek.InvalidNameError) as caught:
        ek.clean_name(name, what="segment")
    assert_reads_well(str(caught.value))
