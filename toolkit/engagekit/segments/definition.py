"""Segment definitions: a versioned JSON tree of ``and`` / ``or`` groups of criteria.

The document (schema version 1)::

    {"version": 1,
     "criteria": {"type": "and", "group": [
         {"source": "engagement", "field": "current_level", "op": "is", "value": ["least_engaged"]},
         {"type": "or", "group": [
             {"source": "list_membership", "field": "lists", "op": "in_any", "value": [3]},
             {"source": "ecommerce", "field": "total_spent", "op": "gt", "value": 500}]}]}}

A group has ``type`` and ``group``; a criterion has ``source``, ``field``, ``op`` and, unless the
operator takes none, ``value``. Groups nest to any depth and may not be empty. The fields and
operators are listed in :mod:`engagekit.segments.catalog`.

Every document carries its schema version. :func:`migrate` upgrades an older document step by
step through :data:`MIGRATIONS` before it is read, so segments saved by an older engagekit keep
loading.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from engagekit.data.schema import LEVEL_LABELS
from engagekit.segments.errors import SegmentDefinitionError
from engagekit.segments.sentences import describe
from engagekit.segments.tree import (
    Criterion,
    Group,
    all_of,
    any_of,
    iter_criteria,
    node_dict,
    where,
)
from engagekit.segments.validation import check_definition, check_size

SCHEMA_VERSION = 1
"""The version of the definition document this engagekit writes."""

MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""Upgrades by source version: ``MIGRATIONS[v]`` turns a version ``v`` document into ``v + 1``."""

__all__ = [
    "MIGRATIONS", "SCHEMA_VERSION", "Criterion", "Group", "SegmentDefinition", "all_of", "any_of",
    "iter_criteria", "level_segment", "load_json_object", "migrate", "transition_name",
    "transition_segment", "where",
]


class SegmentDefinition(BaseModel):
    """A whole segment definition: schema version and criteria tree.

    Building one checks every criterion (source, field, operator and value) and normalises the
    values (e.g. a single level becomes a list of one); an error is a
    :class:`~engagekit.segments.errors.SegmentDefinitionError` naming the place in the tree.

    Examples
    --------
    >>> d = SegmentDefinition.from_json(
    ...     '{"version": 1, "criteria": {"type": "and", "group": [{"source": "engagement", '
    ...     '"field": "current_level", "op": "is", "value": "least_engaged"}]}}')
    >>> d.criteria.group[0].value
    ['least_engaged']
    >>> SegmentDefinition.from_json(d.to_json()) == d
    True
    >>> d.describe()
    'Current engagement level is Least engaged'
    """

    model_config = ConfigDict(extra="forbid")

    version: int = SCHEMA_VERSION
    criteria: Group

    @model_validator(mode="after")
    def _check(self) -> SegmentDefinition:
        if self.version != SCHEMA_VERSION:
            raise SegmentDefinitionError(
                f"Schema version {self.version} cannot be read here (this engagekit reads "
                f"version {SCHEMA_VERSION}; load documents with SegmentDefinition.from_json).",
                path="version",
            )
        check_definition(self)
        return self

    # -- reading and writing -----------------------------------------------------------------
    @classmethod
    def from_json(cls, document: str | bytes | dict[str, Any]) -> SegmentDefinition:
        """Read a definition from JSON text or a parsed dict, migrating older versions."""
        document = load_json_object(document, what="a segment definition")
        check_size(document.get("criteria"))  # before parsing: a deep tree must not recurse
        document = migrate(document)
        try:
            return cls.model_validate(document)
        except ValidationError as error:
            raise _definition_error(error) from None

    @classmethod
    def coerce(
        cls, definition: SegmentDefinition | Group | Criterion | str | bytes | dict[str, Any]
    ) -> SegmentDefinition:
        """A definition as given, read from JSON text or a dict, or made of a group or criterion."""
        if isinstance(definition, cls):
            return definition
        if isinstance(definition, Group):
            return cls(criteria=definition)
        if isinstance(definition, Criterion):
            return cls(criteria=Group(type="and", group=[definition]))
        return cls.from_json(definition)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document as a dict (criteria without a value leave ``value`` out)."""
        return {"version": self.version, "criteria": node_dict(self.criteria)}

    def to_json(self, *, indent: int | None = None) -> str:
        """The JSON document as text (non-ASCII kept as is)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    # -- reading it --------------------------------------------------------------------------
    def describe(self, catalog: Any = None) -> str:
        """A sentence for the whole tree, naming lists and campaigns when ``catalog`` knows them.

        ``catalog`` may be a :class:`~engagekit.segments.catalog.Catalog`, a dataset, a
        workspace or an engine.
        """
        return describe(self, catalog)

    def criteria_list(self) -> list[Criterion]:
        """Every criterion of the tree, depth first."""
        return [criterion for _, criterion in iter_criteria(self.criteria)]

    def uses(self, source: str) -> bool:
        """Whether any criterion reads ``source``."""
        return any(c.source == source for c in self.criteria_list())


def level_segment(level: str, *, previous: bool = False) -> SegmentDefinition:
    """The pre-built segment of one engagement level.

    Examples
    --------
    >>> level_segment("most_engaged").describe()
    'Current engagement level is Most engaged'
    """
    field = "previous_level" if previous else "current_level"
    return SegmentDefinition(criteria=all_of(where("engagement", field, "is", [level])))


def load_json_object(document: str | bytes | dict[str, Any], *, what: str) -> dict[str, Any]:
    """JSON text (or an already parsed value) as a dict, or a :class:`SegmentDefinitionError`.

    Examples
    --------
    >>> load_json_object('{"version": 1}', what="a segment definition")
    {'version': 1}
    """
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as error:
            raise SegmentDefinitionError(f"Not valid JSON: {error}.") from None
        except RecursionError:
            raise SegmentDefinitionError("The JSON is nested far too deeply.") from None
    if not isinstance(document, dict):
        raise SegmentDefinitionError(f"{what} is a JSON object, not {type(document).__name__}")
    return document


def transition_segment(previous_level: str, current_level: str) -> SegmentDefinition:
    """Contacts whose level moved from ``previous_level`` to ``current_level``.

    Examples
    --------
    >>> transition_segment("most_engaged", "least_engaged").describe()
    'Previous engagement level is Most engaged AND current engagement level is Least engaged'
    """
    return SegmentDefinition(criteria=all_of(
        where("engagement", "previous_level", "is", [previous_level]),
        where("engagement", "current_level", "is", [current_level]),
    ))


def transition_name(previous_level: str, current_level: str) -> str:
    """A segment name for a transition, e.g. "Most engaged → Least engaged"."""
    return f"{LEVEL_LABELS[previous_level]} → {LEVEL_LABELS[current_level]}"


def migrate(
    document: dict[str, Any], *, migrations: dict | None = None, target: int = SCHEMA_VERSION
) -> dict[str, Any]:
    """Upgrade a definition document to the ``target`` schema version.

    A document without ``version`` is taken as version 1 (hand-written JSON often leaves it out).

    Examples
    --------
    >>> steps = {1: lambda doc: {**doc, "version": 2}}
    >>> migrate({"version": 1, "criteria": {}}, migrations=steps, target=2)["version"]
    2
    """
    migrations = MIGRATIONS if migrations is None else migrations
    version = document.get("version", 1)
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SegmentDefinitionError(
            f"version must be a whole number from 1, not {version!r}", path="version"
        )
    if version > target:
        raise SegmentDefinitionError(
            f"schema version {version} was written by a newer engagekit (this one reads up to "
            f"{target})",
            path="version",
        )
    document = {**document, "version": version}
    while document["version"] < target:
        step = migrations.get(document["version"])
        if step is None:
            raise SegmentDefinitionError(
                f"no migration from schema version {document['version']}", path="version"
            )
        document = step(document)
    return document


def _definition_error(error: ValidationError) -> SegmentDefinitionError:
    """The first structural problem pydantic found, with its path written like ours."""
    item = error.errors()[0]
    path, after_index = "", False
    for part in item["loc"]:
        if after_index and part in ("criterion", "group"):
            after_index = False
            continue  # the discriminator's tag, not a place in the document
        after_index = isinstance(part, int)
        path += f"[{part}]" if after_index else (f".{part}" if path else str(part))
    more = len(error.errors()) - 1
    extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    reason = item["msg"]
    if item["type"] == "missing":
        reason = "this is required"
    elif item["type"] == "extra_forbidden":
        reason = "unknown key"
    elif item["type"] == "literal_error":
        reason = f"must be 'and' or 'or', not {item.get('input')!r}"
    return SegmentDefinitionError(reason + extra, path=path)
