"""The segment builder's state: a plain dict tree kept in ``st.session_state``.

::

    {"name": "Lapsed VIPs", "editing": None,          # editing: name of the saved segment loaded
     "serial": "3f2a9c1b",                            # prefix of this tree's widget keys
     "type": "and",                                   # how the groups combine
     "groups": [{"id": 1, "type": "or",               # how a group's criteria combine
                 "criteria": [{"id": 2, "source": "engagement", "field": "current_level",
                               "op": "is", "value": ["least_engaged"]}]}],
     "next_id": 3}

Ids make widget keys that survive adding and removing rows. The tree maps one to one onto the
library's definition document: top group -> groups -> criteria.
"""

from __future__ import annotations

import uuid
from typing import Any

NEW_CRITERION = {"source": "engagement", "field": "current_level", "op": "is", "value": []}


def _serial() -> str:
    """A new prefix for the widget keys of a tree, so a freshly loaded tree never inherits the
    widget values of the previous one."""
    return uuid.uuid4().hex[:8]


def new_tree(name: str = "") -> dict[str, Any]:
    tree = {"name": name, "editing": None, "type": "and", "groups": [], "next_id": 1,
            "serial": _serial()}
    add_group(tree)
    return tree


def _next_id(tree: dict[str, Any]) -> int:
    tree["next_id"] += 1
    return tree["next_id"] - 1


def add_group(tree: dict[str, Any], kind: str = "and") -> dict[str, Any]:
    group = {"id": _next_id(tree), "type": kind, "criteria": []}
    tree["groups"].append(group)
    add_criterion(tree, group)
    return group


def add_criterion(tree: dict[str, Any], group: dict[str, Any],
                  criterion: dict[str, Any] | None = None) -> dict[str, Any]:
    row = {"id": _next_id(tree), **(criterion or NEW_CRITERION)}
    row["value"] = _copy(row.get("value"))
    group["criteria"].append(row)
    return row


def remove_group(tree: dict[str, Any], group_id: int) -> None:
    tree["groups"] = [g for g in tree["groups"] if g["id"] != group_id]


def remove_criterion(tree: dict[str, Any], group_id: int, criterion_id: int) -> None:
    for group in tree["groups"]:
        if group["id"] == group_id:
            group["criteria"] = [c for c in group["criteria"] if c["id"] != criterion_id]


def duplicate_criterion(tree: dict[str, Any], group_id: int, criterion_id: int) -> None:
    """Add a copy of a criterion right after it, in the same group."""
    group = find_group(tree, group_id)
    position = next(i for i, c in enumerate(group["criteria"]) if c["id"] == criterion_id)
    original = group["criteria"][position]
    copy = {**{k: _copy(v) for k, v in original.items()}, "id": _next_id(tree)}
    group["criteria"].insert(position + 1, copy)


def find_group(tree: dict[str, Any], group_id: int) -> dict[str, Any]:
    return next(g for g in tree["groups"] if g["id"] == group_id)


def document(tree: dict[str, Any]) -> dict[str, Any]:
    """The definition document of the tree (what ``SegmentDefinition.from_json`` reads)."""
    groups = []
    for group in tree["groups"]:
        criteria = []
        for row in group["criteria"]:
            item = {"source": row["source"], "field": row["field"], "op": row["op"]}
            if row.get("value") is not None:
                item["value"] = row["value"]
            criteria.append(item)
        groups.append({"type": group["type"], "group": criteria})
    return {"version": 1, "criteria": {"type": tree["type"], "group": groups}}


def criterion_path(group_index: int, criterion_index: int) -> str:
    """Where a criterion sits in the document, as the library's errors name it."""
    return f"criteria.group[{group_index}].group[{criterion_index}]"


def tree_from_document(doc: dict[str, Any], name: str = "", editing: str | None = None) -> dict[str, Any]:
    """A builder tree from a definition document.

    The builder shows two levels (groups of criteria). A criterion at the top becomes a group of
    its own; a group nested deeper than that cannot be shown and raises ``ValueError``.
    """
    tree = {"name": name, "editing": editing, "type": doc["criteria"]["type"], "groups": [],
            "next_id": 1, "serial": _serial()}
    for node in doc["criteria"]["group"]:
        if "group" in node:
            group = {"id": _next_id(tree), "type": node["type"], "criteria": []}
            for leaf in node["group"]:
                if "group" in leaf:
                    raise ValueError("this segment has groups inside groups, which the builder "
                                     "cannot show")
                add_criterion(tree, group, leaf)
        else:
            group = {"id": _next_id(tree), "type": "and", "criteria": []}
            add_criterion(tree, group, node)
        tree["groups"].append(group)
    return tree


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value
