"""Segments: saved, dynamic definitions of who to email, evaluated in memory or in SQL.

A definition is a versioned JSON tree (:class:`SegmentDefinition`); :mod:`.catalog` lists what a
criterion can say; :mod:`.operators` holds the one operator table behind both engines,
:class:`MemoryEngine` (numpy over a :class:`~engagekit.data.dataset.Dataset`) and :class:`SqlEngine`
(one SQLAlchemy Core query over a workspace database), which give the same members.

Examples
--------
>>> from engagekit.data.sample import generate_sample
>>> from engagekit.segments import MemoryEngine, level_segment
>>> engine = MemoryEngine(generate_sample(300, seed=1), as_of="2026-11-30")
>>> engine.count(level_segment("most_engaged")) > 0
True
"""

from engagekit.segments.catalog import (
    Catalog,
    FieldSpec,
    OperatorSpec,
    ValueSpec,
    field_catalog,
    operators_for,
)
from engagekit.segments.constant_contact import from_constant_contact
from engagekit.segments.definition import (
    SCHEMA_VERSION,
    Criterion,
    Group,
    SegmentDefinition,
    all_of,
    any_of,
    level_segment,
    migrate,
    transition_name,
    transition_segment,
    where,
)
from engagekit.segments.errors import SegmentDefinitionError
from engagekit.segments.evaluate import make_engine, segment_members
from engagekit.segments.memory_engine import MemoryEngine
from engagekit.segments.operators import OPERATORS
from engagekit.segments.sentences import describe, describe_criterion
from engagekit.segments.spark_engine import SparkEngine
from engagekit.segments.sql_engine import SqlEngine

__all__ = [
    "OPERATORS",
    "SCHEMA_VERSION",
    "Catalog",
    "Criterion",
    "FieldSpec",
    "Group",
    "MemoryEngine",
    "OperatorSpec",
    "SegmentDefinition",
    "SegmentDefinitionError",
    "SparkEngine",
    "SqlEngine",
    "ValueSpec",
    "all_of",
    "any_of",
    "describe",
    "describe_criterion",
    "field_catalog",
    "from_constant_contact",
    "level_segment",
    "transition_name",
    "transition_segment",
    "make_engine",
    "migrate",
    "operators_for",
    "segment_members",
    "where",
]
