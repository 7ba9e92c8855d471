"""Read Constant Contact v3 segment criteria into an engagekit definition.

Constant Contact's API stores a segment as ``segment_criteria``, single-string JSON of the form::

    {"version": "1.0.0", "criteria": {"type": "and", "group": [
        {"source": "tracking", "field": "not_opened", "op": "contains-any",
         "const_value": "last-n-campaigns", "param": "5"}]}}

(the documented example: contacts who did not open the last 5 campaigns). Groups nest with
``type`` ``and`` / ``or`` as ours do; each leaf names a ``source``, a ``field``, an ``op`` and its
operand in ``const_value`` (with ``param`` for the N of "last N"). The families both products
share are read:

===============  ===========================================  ====================================
CC source        fields and operands                          engagekit criterion
===============  ===========================================  ====================================
tracking         opened, not_opened, clicked, not_clicked,    email_activity: last_n_campaigns
                 sent, not_sent; ``contains-any`` of          (``last-n-campaigns``), last_n_days
                 ``last-n-campaigns`` / ``last-n-days`` with  (``last-n-days``) or one campaign per
                 ``param`` N, or of campaign ids              id (an ``or`` group for several)
contact          email_address, first_name, last_name,        contact (text, date and number
                 created_at, custom fields (by name);         operators)
                 eq, ne, contains, starts-with, is-empty, ..
list_membership  ``contains-any`` / ``not-contains-any`` of   list_membership in_any / in_none
                 list ids (or names, with a dataset)
tags             ``contains-any`` / ``not-contains-any``      tags has_any / has_none
ecommerce        order_count, total_spent, last_order_date,   ecommerce
                 purchased (``in-the-last-n-days``)
===============  ===========================================  ====================================

Anything else (SMS, events, a field with no counterpart) raises a
:class:`~engagekit.segments.errors.SegmentDefinitionError` naming it and its place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from engagekit.segments.catalog import Catalog
from engagekit.segments.definition import (
    Criterion,
    Group,
    SegmentDefinition,
    load_json_object,
    where,
)
from engagekit.segments.errors import SegmentDefinitionError
from engagekit.segments.validation import check_definition

CRITERIA = "Constant Contact segment criteria"

if TYPE_CHECKING:
    from engagekit.data.dataset import Dataset

TRACKING_FIELDS = {
    "opened": "opened",
    "not_opened": "not_opened",
    "did_not_open": "not_opened",
    "clicked": "clicked",
    "not_clicked": "not_clicked",
    "did_not_click": "not_clicked",
    "sent": "was_sent",
    "was_sent": "was_sent",
    "not_sent": "was_not_sent",
    "was_not_sent": "was_not_sent",
    "did_not_send": "was_not_sent",
}
TRACKING_RANGES = {
    "last-n-campaigns": "last_n_campaigns",
    "last-n-days": "last_n_days",
    "in-the-last-n-days": "last_n_days",
}
CONTACT_FIELDS = {
    "email_address": "email",
    "email": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "created_at": "date_added",
    "date_added": "date_added",
    "email_status": "email_status",
}
TEXT_OPS = {
    "eq": "equals",
    "equals": "equals",
    "is": "equals",
    "ne": "not_equals",
    "not-eq": "not_equals",
    "not-equals": "not_equals",
    "is-not": "not_equals",
    "contains": "contains",
    "not-contains": "not_contains",
    "does-not-contain": "not_contains",
    "starts-with": "starts_with",
    "begins-with": "starts_with",
    "is-empty": "is_blank",
    "empty": "is_blank",
    "is-blank": "is_blank",
    "is-not-empty": "is_not_blank",
    "not-empty": "is_not_blank",
    "is-not-blank": "is_not_blank",
}
NUMBER_OPS = {
    "eq": "eq",
    "ne": "ne",
    "not-eq": "ne",
    "gt": "gt",
    "gte": "gte",
    "ge": "gte",
    "lt": "lt",
    "lte": "lte",
    "le": "lte",
    "between": "between",
}
DATE_OPS = {
    "before": "before",
    "lt": "before",
    "after": "after",
    "gt": "after",
    "in-the-last-n-days": "within_last_days",
    "within-last-n-days": "within_last_days",
    "more-than-n-days-ago": "more_than_days_ago",
}
ANY_OPS = {
    "contains-any": True,
    "in": True,
    "eq": True,
    "not-contains-any": False,
    "contains-none": False,
    "not-in": False,
    "ne": False,
}
ECOMMERCE_FIELDS = {
    "order_count": "order_count",
    "total_orders": "order_count",
    "orders": "order_count",
    "total_spent": "total_spent",
    "total_spend": "total_spent",
    "amount_spent": "total_spent",
    "last_order_date": "last_order_date",
    "last_purchase_date": "last_order_date",
}
SOURCES = ("tracking", "contact", "list_membership", "tags", "ecommerce")


def from_constant_contact(
    document: dict | str, *, dataset: Dataset | None = None
) -> SegmentDefinition:
    """An engagekit definition from Constant Contact v3 segment criteria.

    Parameters
    ----------
    document : dict or str
        The criteria document, or a whole CC segment object with ``segment_criteria`` (as the
        escaped JSON string the API returns, or parsed).
    dataset : Dataset, optional
        Lets list and campaign *names* stand for ids, and checks ids and custom fields.

    Examples
    --------
    >>> d = from_constant_contact('{"version":"1.0.0","criteria":{"type":"and","group":[{"source":'
    ...     '"tracking","field":"not_opened","op":"contains-any","const_value":"last-n-campaigns",'
    ...     '"param":"5"}]}}')
    >>> d.describe()
    'Received but did not open any of the last 5 campaigns'
    """
    document = load_json_object(document, what=CRITERIA)
    if "segment_criteria" in document:
        document = load_json_object(document["segment_criteria"], what=CRITERIA)
    version = str(document.get("version", "1.0.0"))
    if not version.startswith("1."):
        raise SegmentDefinitionError(
            f"Constant Contact criteria version {version!r} is not supported (1.x is)",
            path="version",
        )
    reader = _Reader(Catalog.from_dataset(dataset) if dataset is not None else Catalog())
    definition = SegmentDefinition(criteria=reader.group(document.get("criteria"), "criteria"))
    if dataset is not None:
        check_definition(definition, reader.catalog)
    return definition


class _Reader:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def group(self, node: Any, path: str) -> Group:
        if not isinstance(node, dict) or node.get("type") not in ("and", "or"):
            raise SegmentDefinitionError("expected a group with type 'and' or 'or'", path=path)
        children = node.get("group") or []
        if not isinstance(children, list) or not children:
            raise SegmentDefinitionError("empty group", path=path)
        out = []
        for i, child in enumerate(children):
            here = f"{path}.group[{i}]"
            is_group = isinstance(child, dict) and "group" in child
            out.append(self.group(child, here) if is_group else self.leaf(child, here))
        return Group(type=node["type"], group=out)

    def leaf(self, node: Any, path: str) -> Criterion | Group:
        if not isinstance(node, dict):
            raise SegmentDefinitionError("expected a criterion object", path=path)
        source = str(node.get("source", "")).lower()
        read = {
            "tracking": self.tracking,
            "contact": self.contact,
            "list_membership": self.lists,
            "tags": self.tags,
            "tag": self.tags,
            "ecommerce": self.ecommerce,
            "e-commerce": self.ecommerce,
        }.get(source)
        if read is None:
            raise SegmentDefinitionError(
                f"Constant Contact source {node.get('source')!r} has no engagekit equivalent "
                f"(supported: {', '.join(SOURCES)})",
                path=path,
            )
        field = str(node.get("field", ""))
        op = str(node.get("op", "")).lower().replace("_", "-")
        return read(field, op, node.get("const_value"), node.get("param"), path)

    # -- sources -----------------------------------------------------------------------------
    def tracking(self, field: str, op: str, value: Any, param: Any, path: str) -> Criterion | Group:
        activity = TRACKING_FIELDS.get(field.lower())
        if activity is None:
            raise _unknown("tracking field", field, TRACKING_FIELDS, path)
        if op != "contains-any":
            raise _unknown("tracking operator", op, ["contains-any"], path)
        if isinstance(value, str) and value.lower() in TRACKING_RANGES:
            return where(
                "email_activity", TRACKING_RANGES[value.lower()], activity, _int(param, path)
            )
        ids = [self._campaign_id(v, path) for v in _as_list(value if value is not None else param)]
        if not ids:
            raise SegmentDefinitionError("no campaign given", path=path)
        criteria = [where("email_activity", "campaign", activity, i) for i in ids]
        return criteria[0] if len(criteria) == 1 else Group(type="or", group=criteria)

    def contact(self, field: str, op: str, value: Any, param: Any, path: str) -> Criterion:
        if field.lower() in ("list_membership", "lists"):
            return self.lists(field, op, value, param, path)
        if field.lower() in ("tags", "tag", "tag_id", "taggings"):
            return self.tags(field, op, value, param, path)
        name = CONTACT_FIELDS.get(field.lower(), field.removeprefix("custom_field:"))
        kind = {
            "email": "text",
            "first_name": "text",
            "last_name": "text",
            "date_added": "date",
            "email_status": "status",
        }.get(name)
        if kind is None and self.catalog.custom_fields is not None:
            kind = self.catalog.custom_fields.get(name)
            if kind is None:
                raise _unknown(
                    "contact field", field, [*CONTACT_FIELDS, *self.catalog.custom_fields], path
                )
        return self._compare("contact", name, kind or _guess_kind(op), op, value, param, path)

    def lists(self, _field: str, op: str, value: Any, _param: Any, path: str) -> Criterion:
        if op not in ANY_OPS:
            raise _unknown("list membership operator", op, ANY_OPS, path)
        ids = [self._list_id(v, path) for v in _as_list(value)]
        return where("list_membership", "lists", "in_any" if ANY_OPS[op] else "in_none", ids)

    def tags(self, _field: str, op: str, value: Any, _param: Any, path: str) -> Criterion:
        if op not in ANY_OPS:
            raise _unknown("tags operator", op, ANY_OPS, path)
        tags = [str(v) for v in _as_list(value)]
        return where("tags", "tags", "has_any" if ANY_OPS[op] else "has_none", tags)

    def ecommerce(self, field: str, op: str, value: Any, param: Any, path: str) -> Criterion:
        if field.lower() in ("purchased", "purchase", "has_purchased"):
            if op in ("in-the-last-n-days", "within-last-n-days"):
                return where(
                    "ecommerce", "purchase", "purchased_within_days", _int(param or value, path)
                )
            if op in ("not-in-the-last-n-days", "not-within-last-n-days"):
                return where(
                    "ecommerce", "purchase", "not_purchased_within_days", _int(param or value, path)
                )
            if op in ("exists", "is-true", "eq"):
                return where("ecommerce", "purchase", "has_purchased")
            if op in ("not-exists", "is-false", "ne"):
                return where("ecommerce", "purchase", "has_not_purchased")
            raise _unknown(
                "purchase operator", op, ["in-the-last-n-days", "exists", "not-exists"], path
            )
        name = ECOMMERCE_FIELDS.get(field.lower())
        if name is None:
            raise _unknown("e-commerce field", field, [*ECOMMERCE_FIELDS, "purchased"], path)
        kind = "date" if name == "last_order_date" else "number"
        return self._compare("ecommerce", name, kind, op, value, param, path)

    # -- values ------------------------------------------------------------------------------
    def _compare(
        self, source: str, field: str, kind: str, op: str, value: Any, param: Any, path: str
    ) -> Criterion:
        table = {
            "text": TEXT_OPS,
            "number": NUMBER_OPS,
            "date": DATE_OPS,
            "status": {"eq": "is", "ne": "is_not", "in": "is", "not-in": "is_not"},
        }[kind]
        ours = table.get(op)
        if ours is None:
            raise _unknown(f"operator for {kind} field {field!r}", op, table, path)
        if value is None:
            value = param
        if ours in ("is_blank", "is_not_blank"):
            value = None
        elif kind == "number":
            value = (
                [_number(v, path) for v in _as_list(value)]
                if ours == "between"
                else _number(value, path)
            )
        elif kind == "date":
            value = (
                _int(value, path)
                if ours.endswith("days") or ours.endswith("ago")
                else _date(value, path)
            )
        elif kind == "status":
            value = [str(v).lower() for v in _as_list(value)]
        return where(source, field, ours, value)

    def _campaign_id(self, value: Any, path: str) -> int:
        return self._resolve(value, self.catalog.campaigns, "campaign", path)

    def _list_id(self, value: Any, path: str) -> int:
        return self._resolve(value, self.catalog.lists, "list", path)

    @staticmethod
    def _resolve(value: Any, names: dict | None, what: str, path: str) -> int:
        """An id given as a number, as digits, or (with a dataset) as a name."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        by_name = {str(name).casefold(): i for i, name in (names or {}).items()}
        if text.casefold() in by_name:
            return by_name[text.casefold()]
        raise SegmentDefinitionError(
            f"unknown {what} {value!r} (Constant Contact ids are UUIDs; give the engagekit id or, "
            f"with a dataset, the {what} name)",
            path=path,
        )


def _guess_kind(op: str) -> str:
    if op in (
        "before",
        "after",
        "in-the-last-n-days",
        "within-last-n-days",
        "more-than-n-days-ago",
    ):
        return "date"
    return "number" if op in ("gt", "gte", "ge", "lt", "lte", "le", "between") else "text"


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str) and "," in value:
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value) if isinstance(value, list | tuple) else [value]


def _int(value: Any, path: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise SegmentDefinitionError(f"expected a whole number, got {value!r}", path=path) from None


def _number(value: Any, path: str) -> float | int:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise SegmentDefinitionError(f"expected a number, got {value!r}", path=path) from None
    return int(number) if number.is_integer() else number


def _date(value: Any, path: str) -> str:
    try:
        return pd.Timestamp(str(value).strip()).date().isoformat()
    except ValueError:
        raise SegmentDefinitionError(f"expected a date, got {value!r}", path=path) from None


def _unknown(what: str, value: str, known: Any, path: str) -> SegmentDefinitionError:
    return SegmentDefinitionError(
        f"unknown Constant Contact {what} {value!r} (supported: {', '.join(known)})", path=path
    )
