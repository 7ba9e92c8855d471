"""The nodes of a segment definition: criteria (leaves) and ``and`` / ``or`` groups.

Plain data with no rules attached: :mod:`engagekit.segments.definition` wraps a tree into a
versioned, validated document, and validation and sentences walk the same nodes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Tag


class Criterion(BaseModel):
    """A leaf of the tree: ``source``, ``field``, ``op`` and the ``value`` the operator takes.

    Examples
    --------
    >>> Criterion(source="tags", field="tags", op="has_any", value=["vip"]).op
    'has_any'
    """

    model_config = ConfigDict(extra="forbid")

    source: str
    field: str
    op: str
    value: Any = None

    def key(self) -> str:
        """A stable text key of the criterion, for caches."""
        return json.dumps(
            [self.source, self.field, self.op, self.value], sort_keys=True, default=str
        )


def _node_kind(node: Any) -> str:
    if isinstance(node, dict):
        return "group" if "type" in node or "group" in node else "criterion"
    return "group" if isinstance(node, Group) else "criterion"


Node = Annotated[
    Annotated[Criterion, Tag("criterion")] | Annotated["Group", Tag("group")],
    Discriminator(_node_kind),
]


class Group(BaseModel):
    """A group of criteria and groups, combined with ``and`` or ``or``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["and", "or"]
    group: list[Node]


def all_of(*nodes: Criterion | Group) -> Group:
    """An ``and`` group.

    Examples
    --------
    >>> g = all_of(where("tags", "tags", "has_any", ["vip"]), any_of(
    ...     where("ecommerce", "purchase", "has_purchased")))
    >>> [node.type if isinstance(node, Group) else node.op for node in g.group]
    ['has_any', 'or']
    """
    return Group(type="and", group=list(nodes))


def any_of(*nodes: Criterion | Group) -> Group:
    """An ``or`` group."""
    return Group(type="or", group=list(nodes))


def where(source: str, field: str, op: str, value: Any = None) -> Criterion:
    """A criterion, for building definitions in code."""
    return Criterion(source=source, field=field, op=op, value=value)


def iter_criteria(group: Group, path: str = "criteria") -> Iterator[tuple[str, Criterion]]:
    """``(path, criterion)`` for every criterion under ``group``, depth first."""
    for i, node in enumerate(group.group):
        here = f"{path}.group[{i}]"
        if isinstance(node, Group):
            yield from iter_criteria(node, here)
        else:
            yield here, node


def node_dict(node: Criterion | Group) -> dict[str, Any]:
    if isinstance(node, Group):
        return {"type": node.type, "group": [node_dict(child) for child in node.group]}
    out = {"source": node.source, "field": node.field, "op": node.op}
    if node.value is not None:
        out["value"] = node.value
    return out


__all__ = ["Criterion", "Group", "all_of", "any_of", "iter_criteria", "node_dict", "where"]
