"""Readable sentences for criteria and whole definitions, beside the executable form.

Every criterion renders a phrase ("current engagement level is Least engaged"); a definition
joins them with AND / OR, bracketing nested groups, and starts with a capital letter. Lists and
campaigns are named when a :class:`~engagekit.segments.catalog.Catalog` knows them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engagekit.data.schema import LEVEL_LABELS
from engagekit.engagement.sunset import SUNSET_STATUSES
from engagekit.segments.catalog import Catalog, as_catalog
from engagekit.segments.operators import OPERATORS
from engagekit.segments.tree import Criterion, Group
from engagekit.segments.validation import resolve_field

if TYPE_CHECKING:  # annotations only: the definition module builds on this one
    from engagekit.segments.definition import SegmentDefinition


def describe(definition: SegmentDefinition, catalog: object = None) -> str:
    """The sentence of a whole definition.

    ``catalog`` names lists and campaigns: a :class:`Catalog`, a dataset, a workspace or an
    engine (see :func:`~engagekit.segments.catalog.as_catalog`).

    Examples
    --------
    >>> from engagekit.segments.definition import SegmentDefinition, all_of, any_of, where
    >>> d = SegmentDefinition(criteria=all_of(
    ...     where("engagement", "current_level", "is", ["least_engaged"]),
    ...     any_of(where("list_membership", "lists", "in_any", [3]),
    ...            where("ecommerce", "total_spent", "gt", 500))))
    >>> describe(d, Catalog(lists={3: "VIP"}))
    'Current engagement level is Least engaged AND (is in list VIP OR total spent is more than 500)'
    """
    text = _group(definition.criteria, as_catalog(catalog))
    first = next((i for i, char in enumerate(text) if char.isalpha()), 0)
    return text[:first] + text[first : first + 1].upper() + text[first + 1 :]


def describe_criterion(criterion: Criterion, catalog: object = None) -> str:
    """The phrase of one criterion (lower-case start, to sit inside a sentence).

    Examples
    --------
    >>> from engagekit.segments.definition import where
    >>> describe_criterion(where("email_activity", "last_n_campaigns", "not_opened", 5))
    'received but did not open any of the last 5 campaigns'
    >>> describe_criterion(where("metrics", "slip_risk", "gte", 0.6))
    'slip risk is at least 60%'
    """
    catalog = as_catalog(catalog)
    spec = resolve_field(criterion, catalog)
    render = _RENDER.get(spec.kind, _compare)
    return render(criterion, spec.label[:1].lower() + spec.label[1:], catalog)


def _group(group: Group, catalog: Catalog) -> str:
    parts = []
    for node in group.group:
        if isinstance(node, Group):
            inner = _group(node, catalog)
            bracket = len(node.group) > 1 and len(group.group) > 1
            parts.append(f"({inner})" if bracket else inner)
        else:
            parts.append(describe_criterion(node, catalog))
    return f" {group.type.upper()} ".join(parts)


def _either(items: list[str], word: str = "or") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _one_or_many(items: list[str], one: str, many: str) -> str:
    return f"{one} {items[0]}" if len(items) == 1 else f"{many} {', '.join(items)}"


def number_text(value: float) -> str:
    """A number as a person writes it: ``500`` rather than ``500.0``."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _share_text(value: float) -> str:
    return f"{round(value * 100, 2):g}%"


def _compare(criterion: Criterion, label: str, catalog: Catalog) -> str:
    op = OPERATORS[criterion.op]
    value = criterion.value
    if op.family == "number":
        share = resolve_field(criterion, catalog).kind == "share"
        show = _share_text if share else number_text
        if criterion.op == "between":
            return f"{label} is between {show(value[0])} and {show(value[1])}"
        return f"{label} {op.label} {show(value)}"
    if op.family == "date":
        if criterion.op == "within_last_days":
            return f"{label} is within the last {_days(value)}"
        if criterion.op == "more_than_days_ago":
            return f"{label} is more than {_days(value)} ago"
        return f"{label} {op.label} {value}"
    if value is None:
        return f"{label} {op.label}"
    return f'{label} {op.label} "{value}"'


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _choice(criterion: Criterion, label: str, _catalog: Catalog) -> str:
    """``is`` / ``is not`` one of a closed set of values (levels, statuses), each by its label.

    Examples
    --------
    >>> from engagekit.segments.definition import where
    >>> describe_criterion(where("engagement", "sunset_status", "is", ["sunset", "at_risk"]))
    'sunset status is Would be sunset (last chance) or At risk of sunset'
    """
    labels = SUNSET_STATUSES if criterion.field == "sunset_status" else LEVEL_LABELS
    names = [labels.get(v, v) for v in criterion.value]
    if criterion.op == "is":
        return f"{label} is {_either(names)}"
    return _one_or_many(names, f"{label} is not", f"{label} is none of")


def _lists(criterion: Criterion, _label: str, catalog: Catalog) -> str:
    names = [catalog.list_name(i) for i in criterion.value]
    if criterion.op == "in_any":
        return _one_or_many(names, "is in list", "is in any of the lists")
    return _one_or_many(names, "is not in list", "is in none of the lists")


def _tags(criterion: Criterion, _label: str, _catalog: Catalog) -> str:
    if criterion.op == "has_any":
        return _one_or_many(criterion.value, "has tag", "has any of the tags")
    return _one_or_many(criterion.value, "does not have tag", "has none of the tags")


_NEGATIVE = ("not_opened", "not_clicked", "was_not_sent")


def _activity(criterion: Criterion, _label: str, catalog: Catalog) -> str:
    verb = OPERATORS[criterion.op].label
    negative = criterion.op in _NEGATIVE
    value = criterion.value
    if criterion.field == "campaign":
        target = f'campaign "{catalog.campaign_name(value)}"'
    elif criterion.field == "last_n_campaigns":
        target = "the last campaign" if value == 1 else f"any of the last {value} campaigns"
    else:
        sent = "" if criterion.op in ("was_sent", "was_not_sent") else " sent"
        target = f"{'any' if negative else 'a'} campaign{sent} in the last {_days(value)}"
    return f"{verb} {target}"


def _purchase(criterion: Criterion, _label: str, _catalog: Catalog) -> str:
    verb = OPERATORS[criterion.op].label
    return verb if criterion.value is None else f"{verb} {_days(criterion.value)}"


_RENDER: dict[str, Any] = {
    "level": _choice,
    "status": _choice,
    "sunset": _choice,
    "lists": _lists,
    "tags": _tags,
    "campaign": _activity,
    "last_campaigns": _activity,
    "last_days": _activity,
    "purchase": _purchase,
}
