"""Documented limits of a definition: checked when it is built or saved, and everything accepted
runs on every engine with the same members (the largest accepted definitions included)."""

from __future__ import annotations

import json

import pytest
from segments_support import ENGINE_KINDS, engine_over, tiny_dataset

from engagekit.segments import SegmentDefinition
from engagekit.segments.errors import SegmentDefinitionError
from engagekit.segments.validation import MAX_CRITERIA, MAX_DEPTH, MAX_VALUES

TAG = {"source": "tags", "field": "tags", "op": "has_any"}
ADDED_AFTER = {"source": "contact", "field": "date_added", "op": "after"}


def _doc(criteria: dict) -> str:
    return json.dumps({"version": 1, "criteria": criteria})


def _nested(depth: int) -> dict:
    node = {"type": "or", "group": [dict(TAG, value=["vip"])]}
    for _ in range(depth - 1):
        node = {"type": "and", "group": [node]}
    return node


def _wide(count: int) -> dict:
    return {"type": "or", "group": [dict(TAG, value=[f"tag{i}"]) for i in range(count - 1)]
            + [dict(TAG, value=["vip"])]}


def _many_values(count: int) -> dict:
    return {"type": "and", "group": [dict(TAG, value=[f"t{i}" for i in range(count - 1)] + ["vip"])]}


REFUSED = {
    "or of 1,500 criteria": _wide(1_500),
    "65,536 tags": _many_values(65_536),
    # built as text: json.dumps itself would recurse
    "nested 500 deep": '{"type": "and", "group": [' * 499 + json.dumps(_nested(1)) + "]}" * 499,
    "nested 100,000 deep": '{"type": "and", "group": [' * 100_000 + "]}" * 100_000,
    "date after 9999-12-31": {"type": "and", "group": [dict(ADDED_AFTER, value="9999-12-31")]},
    "a huge number": {"type": "and", "group": [
        {"source": "metrics", "field": "eligible_sends", "op": "gt", "value": 10**30}]},
    "a list id beyond 64 bits": {"type": "and", "group": [
        {"source": "lists", "field": "lists", "op": "in_any", "value": [2**64]}]},
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_definitions_beyond_the_limits_are_refused_in_one_sentence(case):
    tree = REFUSED[case]
    text = f'{{"version": 1, "criteria": {tree}}}' if isinstance(tree, str) else _doc(tree)
    with pytest.raises(SegmentDefinitionError) as caught:
        SegmentDefinition.from_json(text)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400


ACCEPTED = {
    "the most criteria": _wide(MAX_CRITERIA),
    "the most values": _many_values(MAX_VALUES),
    "the deepest nesting": _nested(MAX_DEPTH),
    "the last date": {"type": "and", "group": [dict(ADDED_AFTER, value="2199-12-31")]},
    "the first date": {"type": "or", "group": [
        {"source": "contact", "field": "date_added", "op": "before", "value": "1900-01-01"},
        dict(TAG, value=["vip"])]},
}


@pytest.fixture(scope="module", params=ENGINE_KINDS)
def engine(request):
    with engine_over(request.param, tiny_dataset()) as engine:
        yield engine


@pytest.fixture(scope="module")
def expected():
    with engine_over("memory", tiny_dataset()) as memory:
        return {case: memory.members(SegmentDefinition.from_json(_doc(tree))).tolist()
                for case, tree in ACCEPTED.items()}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_the_largest_accepted_definitions_run_alike_on_every_engine(engine, expected, case):
    definition = SegmentDefinition.from_json(_doc(ACCEPTED[case]))
    assert engine.members(definition).tolist() == expected[case]


def test_limits_hold_for_definitions_built_in_code_too():
    from engagekit.segments import Group, where

    tree = Group(type="and", group=[where("tags", "tags", "has_any", ["vip"])])
    for _ in range(MAX_DEPTH):
        tree = Group(type="and", group=[tree])
    with pytest.raises(SegmentDefinitionError, match="nested more than"):
        SegmentDefinition(criteria=tree)
