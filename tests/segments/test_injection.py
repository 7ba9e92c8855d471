"""Hostile text in every text operator behaves as a literal on both engines.

SQL fragments, bind-parameter markers, LIKE wildcards, the escape character, quotes and non-ASCII
text are searched for in contacts that hold them (and in decoys that only *look* like them); each
engine must return exactly what a plain Python reading of the operator gives.
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from segments_support import ENGINE_KINDS, engine_over

from engagekit.data.dataset import Dataset
from engagekit.segments import SegmentDefinition, all_of, where
from engagekit.segments.operators import TEXT_OPERATORS

PAYLOADS = [
    "' OR 1=1 --", "' OR '1'='1", "'); DROP TABLE contacts; --", ":x", ":name", "%(x)s", "?", "$1",
    "%", "_", "\\", "\\%", "\\_", "%_\\", "a%b", "'", '"', "''", "--", ";", "Zoë", "ZOË", "東京",
    "İstanbul", "ΟΔΟΣ",
]
DECOYS = ["abc", "xOR 1=1", "Zoe", "zoë smith", "東京都", "100%", "a_b", "a\\b", "O'Brien", "aXb",
          "ODOS", "istanbul", "", None]
VALUES = PAYLOADS + DECOYS
FIELDS = ("first_name", "city", "email")


def reference(op: str, value: str | None, needle: str | None) -> bool:
    """What the operator means, in plain Python (case-insensitive; blank is None or '')."""
    text = (value or "").lower()
    needle = (needle or "").lower()
    return {
        "equals": value is not None and text == needle,
        "not_equals": not (value is not None and text == needle),
        "contains": value is not None and needle in text,
        "not_contains": not (value is not None and needle in text),
        "starts_with": value is not None and text.startswith(needle),
        "is_blank": not value,
        "is_not_blank": bool(value),
    }[op]


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    n = len(VALUES)
    contacts = pd.DataFrame({
        "contact_id": range(1, n + 1),
        # Emails must be unique and present: the payload goes in the middle.
        "email": [f"u{i}{value or ''}@example.com" for i, value in enumerate(VALUES)],
        "first_name": VALUES,
        "last_name": list(reversed(VALUES)),
        "date_added": ["2026-01-01"] * n,
        "email_status": ["subscribed"] * n,
        "city": VALUES[1:] + VALUES[:1],
    })
    return Dataset.from_frames(contacts=contacts, custom_fields={"city": "text"})


@pytest.fixture(scope="module", params=ENGINE_KINDS)
def engine(request, dataset):
    with engine_over(request.param, dataset) as chosen:
        yield chosen


@pytest.mark.parametrize("op", TEXT_OPERATORS)
def test_payloads_are_literals(engine, dataset, op):
    needles = [None] if "blank" in op else PAYLOADS
    wrong = []
    for field in FIELDS:
        values = dataset.contacts[field].tolist()
        values = [None if isinstance(v, float) else v for v in values]  # NaN: missing
        for needle in needles:
            definition = SegmentDefinition(criteria=all_of(where("contact", field, op, needle)))
            expected = [i + 1 for i, value in enumerate(values) if reference(op, value, needle)]
            got = engine.members(definition).tolist()
            if got != expected:
                wrong.append((field, needle, expected, got))
    assert not wrong, wrong[:3]


def test_payloads_never_reach_sql_text(dataset):
    with engine_over("sqlite", dataset) as engine:
        for op in ("equals", "not_equals", "contains", "not_contains", "starts_with"):
            for needle in PAYLOADS:
                definition = SegmentDefinition(criteria=all_of(where("contact", "city", op, needle)))
                sql = str(engine.query(definition))
                if len(needle) > 2:
                    assert needle.lower() not in sql, (op, needle)
                assert "DROP" not in sql


def test_database_is_intact_after_hostile_queries(dataset):
    with engine_over("sqlite", dataset) as engine:
        for needle in PAYLOADS:
            engine.count(
                SegmentDefinition(criteria=all_of(where("contact", "first_name", "contains", needle)))
            )
        contacts = engine.tables.contacts
        with engine.workspace.engine.connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(contacts)).scalar()
    assert count == dataset.n_contacts


def test_hostile_tags_and_list_names_are_literals(engine, dataset):
    definition = SegmentDefinition(criteria=all_of(where("tags", "tags", "has_none", ["' OR 1=1 --", "%"])))
    assert engine.count(definition) == dataset.n_contacts
    definition = SegmentDefinition(criteria=all_of(where("tags", "tags", "has_any", ["%", "_"])))
    assert engine.count(definition) == 0
