"""Checks of a definition against the catalog, with errors that name the place in the tree.

:func:`check_definition` runs whenever a :class:`~engagekit.segments.definition.SegmentDefinition`
is built (with a catalog that knows no data: custom fields are judged by their operator, list and
campaign ids are not looked up) and again by each engine against the catalog of its data, where an
unknown custom field, list id or campaign id is an error. It also normalises values: a single
level, list id or tag becomes a list of one, duplicates go, a date becomes ``YYYY-MM-DD``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from engagekit.data.schema import EMAIL_STATUSES, LEVEL_LABELS, LEVELS
from engagekit.engagement.sunset import SUNSET_STATUSES
from engagekit.formats import format_share
from engagekit.segments.catalog import (
    CUSTOM_KINDS,
    KIND_OPERATORS,
    SOURCE_LABELS,
    VALUE_LABELS,
    VALUE_PROMPTS,
    Catalog,
    FieldSpec,
    custom_label,
)
from engagekit.segments.errors import SegmentDefinitionError
from engagekit.segments.operators import OPERATORS
from engagekit.segments.tree import Criterion, Group
from engagekit.timeutil import FIRST_DATE, LAST_DATE

if TYPE_CHECKING:  # annotations only: the definition module builds on this one
    from engagekit.segments.definition import SegmentDefinition

MAX_DAYS = 36_500
MAX_CAMPAIGNS = 10_000
MAX_TEXT = 1_000

# Limits of a definition, checked when one is built (so when it is saved) so that every accepted
# definition runs on every engine: SQLite refuses expression trees deeper than 1,000 and
# statements with more than 32,766 bound values, PostgreSQL more than 65,535, Python recurses
# about 1,000 deep, and SQL dates end at 9999-12-31 where one day more overflows.
MAX_DEPTH = 16
"""Deepest nesting of groups in a definition (the top group is depth 1)."""
MAX_CRITERIA = 250
"""Most criteria in a definition."""
MAX_VALUES = 10_000
"""Most values (tags, list ids, levels, ...) in all criteria of a definition together."""
MAX_NUMBER = 1e15
"""Largest number a criterion compares with, either sign (any count, rate or amount is smaller)."""


def check_definition(definition: SegmentDefinition, catalog: Catalog | None = None) -> None:
    """Check every group and criterion of ``definition``, normalising values in place.

    Raises
    ------
    SegmentDefinitionError
        At the first problem, naming its path (``criteria.group[1].group[0]``), or when the
        definition is larger than the limits above.
    """
    check_size(definition.criteria)
    _check_group(definition.criteria, "criteria", catalog or Catalog())


def check_size(tree: Any) -> None:
    """Refuse a tree (nodes, or their JSON as dicts) beyond :data:`MAX_DEPTH`,
    :data:`MAX_CRITERIA` or :data:`MAX_VALUES`; walked without recursion, so any depth is safe.

    Examples
    --------
    >>> deep = {"type": "and", "group": []}
    >>> for _ in range(600):
    ...     deep = {"type": "and", "group": [deep]}
    >>> check_size(deep)
    Traceback (most recent call last):
    ...
    engagekit.segments.errors.SegmentDefinitionError: Groups are nested more than 16 deep (the limit).
    """
    criteria = values = 0
    todo = [(tree, 1)]
    while todo:
        node, depth = todo.pop()
        children = node.get("group") if isinstance(node, dict) else getattr(node, "group", None)
        if isinstance(children, list):
            if depth > MAX_DEPTH:
                raise SegmentDefinitionError(f"Groups are nested more than {MAX_DEPTH} deep "
                                             "(the limit).")
            todo.extend((child, depth + 1) for child in children)
            continue
        criteria += 1
        value = node.get("value") if isinstance(node, dict) else getattr(node, "value", None)
        values += len(value) if isinstance(value, list | tuple) else 1
        if criteria > MAX_CRITERIA:
            raise SegmentDefinitionError(f"More than {MAX_CRITERIA:,} criteria (the limit): "
                                         "split the segment, or use a list.")
        if values > MAX_VALUES:
            raise SegmentDefinitionError(f"More than {MAX_VALUES:,} values in all criteria "
                                         "together (the limit): put these contacts in a list.")


def _check_group(group: Group, path: str, catalog: Catalog) -> None:
    if not group.group:
        raise SegmentDefinitionError("This group is empty: add at least one criterion.", path=path)
    for i, node in enumerate(group.group):
        where = f"{path}.group[{i}]"
        if isinstance(node, Group):
            _check_group(node, where, catalog)
        else:
            node.value = check_criterion(node, catalog, path=where)


def check_criterion(criterion: Criterion, catalog: Catalog, *, path: str = "") -> Any:
    """The normalised value of ``criterion``, or a :class:`SegmentDefinitionError` that names the
    field and the condition as a form shows them, and shares as percentages.

    Examples
    --------
    >>> check_criterion(Criterion(source="metrics", field="open_rate", op="between",
    ...                           value=[0.8, 0.2]), Catalog())
    Traceback (most recent call last):
    ...
    engagekit.segments.errors.SegmentDefinitionError: Open rate: the lower bound 80% is above the upper bound 20%; swap them.
    """
    spec = resolve_field(criterion, catalog, path=path)
    allowed = KIND_OPERATORS[spec.kind]
    label = spec.label[:1].upper() + spec.label[1:]
    if criterion.op not in allowed:
        raise SegmentDefinitionError(
            f"{label} has no condition {criterion.op!r} (it has: {', '.join(allowed)}).", path=path,
        )
    kind = allowed[criterion.op]
    shown = _share_text if spec.kind == "share" else _value_text
    condition = f"{label} ({OPERATORS[criterion.op].label})"
    try:
        value = _NORMALISE[kind](criterion.value)
    except _Reversed as error:
        raise SegmentDefinitionError(
            f"{label}: the lower bound {shown(error.low)} is above the upper bound "
            f"{shown(error.high)}; swap them.", path=path,
        ) from None
    except (TypeError, ValueError) as error:
        if criterion.value in (None, [], ""):
            reason = f"{condition}: {VALUE_PROMPTS[kind][:1].lower()}{VALUE_PROMPTS[kind][1:]}"
        elif str(error):
            reason = f"{condition}: {error}."
        else:
            reason = f"{condition} needs {VALUE_LABELS[kind]}, not {shown(criterion.value)}."
        raise SegmentDefinitionError(reason, path=path) from None
    _check_known(kind, value, catalog, path)
    return value


class _Reversed(ValueError):
    """A range whose lower bound is above its upper bound."""

    def __init__(self, low: float, high: float):
        super().__init__()
        self.low, self.high = low, high


def _value_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(item) for item in value) or "nothing"
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


def _share_text(value: Any) -> str:
    """A share as the percentage a person typed (0.8 -> 80%)."""
    if isinstance(value, list | tuple):
        return ", ".join(_share_text(item) for item in value) or "nothing"
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return format_share(value, decimals=None)
    return _value_text(value)


def resolve_field(criterion: Criterion, catalog: Catalog, *, path: str = "") -> FieldSpec:
    """The field spec a criterion names (see the module note for custom fields)."""
    if criterion.source not in SOURCE_LABELS:
        raise SegmentDefinitionError(
            f"There is no source {criterion.source!r} (there are: {', '.join(SOURCE_LABELS)}).",
            path=path,
        )
    spec = catalog.field(criterion.source, criterion.field)
    if spec is not None:
        return spec
    if criterion.source == "contact" and catalog.custom_fields is None and criterion.field:
        kind = _kind_of_operator(criterion.op)
        if kind is None:
            raise SegmentDefinitionError(
                f"The custom field {criterion.field!r} has no condition {criterion.op!r} (it has "
                "the conditions of text, number or date fields).",
                path=path,
            )
        return FieldSpec(
            "contact", criterion.field, custom_label(criterion.field), kind, custom=True
        )
    known = ", ".join(catalog.field_names(criterion.source))
    raise SegmentDefinitionError(
        f"{SOURCE_LABELS[criterion.source]} has no field {criterion.field!r} (it has: {known}).",
        path=path,
    )


def _kind_of_operator(op: str) -> str | None:
    for kind in CUSTOM_KINDS:
        if op in KIND_OPERATORS[kind]:
            return kind
    return None


def _check_known(kind: str, value: Any, catalog: Catalog, path: str) -> None:
    if kind == "list_ids" and catalog.lists is not None:
        unknown = [i for i in value if i not in catalog.lists]
        if unknown:
            raise SegmentDefinitionError(
                f"There is no list with id{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(str, unknown))} in this workspace (deleted?): choose another list.",
                path=path,
            )
    if kind == "campaign_id" and catalog.campaigns is not None and value not in catalog.campaigns:
        raise SegmentDefinitionError(f"There is no campaign with id {value} in this workspace: "
                                     "choose another campaign.", path=path)


# -- value kinds -----------------------------------------------------------------------------
def _none(value: Any) -> None:
    if value is not None:
        raise ValueError("this condition takes no value")


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError()
    if not math.isfinite(value):
        raise ValueError("the number must be finite")
    if abs(value) > MAX_NUMBER:
        raise ValueError(f"use a number between -{MAX_NUMBER:,.0f} and {MAX_NUMBER:,.0f}")
    return value


def _number_range(value: Any) -> list[int | float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise TypeError()
    low, high = _number(value[0]), _number(value[1])
    if low > high:
        raise _Reversed(low, high)
    return [low, high]


def _whole(limit: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError()
        if not 1 <= value <= limit:
            raise ValueError(f"use a whole number from 1 to {limit:,}")
        return value

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError()
    if not value:
        raise ValueError("to find an empty value, use the condition 'is blank' or 'is not blank'")
    if len(value) > MAX_TEXT:
        raise ValueError(f"the text is longer than {MAX_TEXT:,} characters")
    # Databases cannot hold NUL or lone surrogates, so such a value could never match there.
    if "\x00" in value:
        raise ValueError("the NUL character cannot be searched for")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the text is not valid Unicode") from None
    return value


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        raise TypeError()
    if not isinstance(value, str | date):
        raise TypeError()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:  # not YYYY-MM-DD: the message names the format
            raise TypeError() from None
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"use a date from {FIRST_DATE} to {LAST_DATE}")
    return value.isoformat()


def _items(check: Callable[[Any], Any]) -> Callable[[Any], list]:
    """A non-empty list of checked items without duplicates; a single item becomes a list."""

    def normalise(value: Any) -> list:
        items = value if isinstance(value, list | tuple) else [value]
        if not items:
            raise ValueError("choose at least one")
        return list(dict.fromkeys(check(item) for item in items))

    return normalise


def _choice(names: tuple[str, ...], labels: dict[str, str]) -> Callable[[Any], str]:
    # Plain strings, not the schema's StrEnum members, so values compare and print as text.
    by_text = {str(name).casefold(): str(name) for name in names}
    by_text.update({label.casefold(): str(name) for name, label in labels.items()})

    shown = ", ".join(labels.get(name, str(name)) for name in names)

    def check(value: Any) -> str:
        if not isinstance(value, str) or value.strip().casefold() not in by_text:
            raise ValueError(f"each must be one of {shown}, not {_value_text(value)}")
        return by_text[value.strip().casefold()]

    return check


def _id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError()
    if not 0 < value < 2**63:
        raise ValueError("an id is a whole number of 1 or more")
    return value


_NORMALISE: dict[str, Callable[[Any], Any]] = {
    "none": _none,
    "levels": _items(_choice(LEVELS, LEVEL_LABELS)),
    "statuses": _items(_choice(EMAIL_STATUSES, {})),
    "sunset_statuses": _items(_choice(tuple(SUNSET_STATUSES), SUNSET_STATUSES)),
    "number": _number,
    "number_range": _number_range,
    "text": _text,
    "date": _date,
    "days": _whole(MAX_DAYS),
    "campaign_count": _whole(MAX_CAMPAIGNS),
    "list_ids": _items(_id),
    "tags": _items(_text),
    "campaign_id": _id,
}
