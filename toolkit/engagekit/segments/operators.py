"""One operator table, two back ends.

Each row of :data:`OPERATORS` gives an operator's numpy mask function and its SQLAlchemy Core
expression function side by side (the pattern of sqlalchemy-filters' ``OPERATORS``), so the
in-memory and the SQL engine cannot drift apart. The engines only *prepare* the operand: an array
per contact in memory, a column or subquery expression in SQL.

Semantics both engines share
----------------------------
- **Text** is compared ignoring case: both sides are lower-cased with Python's ``str.lower``
  (SQLite gets it as a registered function, PostgreSQL uses ``lower()`` under the ICU root
  collation, which agrees with it). ``contains`` and ``starts_with`` are ``LIKE`` patterns in SQL
  with the user's ``%``, ``_`` and ``\\`` escaped, so they match literally.
- **Blank** text is a missing value or the empty string. ``not_equals`` and ``not_contains`` are
  the exact complements of ``equals`` and ``contains``: a blank first name *does not contain*
  "ann" and *is not* "Ann".
- **Missing numbers and dates** (``NaN`` / ``NaT`` / ``NULL``) match no comparison, not even
  ``ne``: an open rate that does not exist (no eligible send) is neither 0 nor "not 0". SQL's
  three-valued logic does this by itself; the numpy side says so explicitly.
- **Choices** (levels, email status): ``is`` / ``is_not`` a set of values; a missing value
  matches neither.
- **Facts** (list membership, tags, email activity, purchases): the operator is a conjunction of
  per-contact yes/no facts the engine computes (``EXISTS`` subqueries in SQL), e.g. ``not_opened``
  is *was sent* and not *opened*.

Only bound parameters reach the database: values go through ``sa.literal`` / ``like`` / ``in_``,
never into SQL text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from engagekit.segments.timing import Interval, date_interval

LIKE_ESCAPE = "\\"

Mask = np.ndarray
Sql = ColumnElement[bool]


# -- operands --------------------------------------------------------------------------------
class Coded:
    """Per-contact values as codes into their distinct values (code -1: missing).

    Text operators test each distinct value once and spread the answer by code, which is what
    keeps ``contains`` over a million contacts fast.
    """

    def __init__(self, codes: np.ndarray, categories: np.ndarray):
        self.codes = np.asarray(codes, dtype=np.intp)
        self.categories = np.asarray(categories, dtype=object)

    @classmethod
    def of(cls, values: np.ndarray | pd.Series) -> Coded:
        """Code any values; missing ones (``None``, ``NaN``) get code -1."""
        if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
            return cls(values.cat.codes.to_numpy(), values.cat.categories.to_numpy())
        codes, uniques = pd.factorize(np.asarray(values, dtype=object))
        return cls(codes, uniques)

    @cached_property
    def lowered_arrow(self) -> pa.Array:
        """The distinct values lower-cased as Python does, as an Arrow array (fast to search).

        Arrow lower-cases ASCII text exactly as ``str.lower``; other text goes through Python,
        because Unicode lower-casing has context rules (the final sigma) Arrow does not apply.
        """
        values = pa.array(self.categories, type=pa.large_string())
        lowered = pc.ascii_lower(values)
        other = np.flatnonzero(~pc.string_is_ascii(values).to_numpy(zero_copy_only=False))
        if not len(other):
            return lowered
        out = np.array(lowered.to_numpy(zero_copy_only=False), dtype=object)
        out[other] = [self.categories[i].lower() for i in other]
        return pa.array(out, type=pa.large_string())

    def spread(self, per_category: np.ndarray, missing: bool) -> Mask:
        """Per-contact answer from one answer per distinct value (index -1 is the appended one)."""
        return np.append(np.asarray(per_category, dtype=bool), missing)[self.codes]


@dataclass(frozen=True)
class SqlText:
    """A text column in SQL: as stored (for blank tests) and lower-cased (for comparisons)."""

    raw: ColumnElement
    lowered: ColumnElement


def escape_like(text: str) -> str:
    """``text`` as a LIKE pattern matching itself: ``%``, ``_`` and the escape are escaped.

    Examples
    --------
    >>> escape_like("50%_off\\\\")
    '50\\\\%\\\\_off\\\\\\\\'
    """
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def number_literal(value: float) -> ColumnElement:
    # Typed as Float so an integer column never casts the parameter to an integer.
    return sa.literal(float(value), sa.Float())


def time_literal(value: pd.Timestamp) -> ColumnElement:
    return sa.literal(value.to_pydatetime(), sa.DateTime())


# -- the table -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Operator:
    """One operator: its family, its label and its two implementations.

    ``mask(operand, argument)`` returns a boolean array over contacts; ``sql(operand, argument)``
    returns a boolean SQL expression. The *argument* is the criterion value prepared by
    :func:`argument` (shared by both engines).
    """

    name: str
    family: str
    label: str
    mask: Callable[[Any, Any], Mask]
    sql: Callable[[Any, Any], Sql]
    facts: tuple[tuple[str, bool], ...] = ()


def _number(name: str, label: str, test: Callable, sql: Callable) -> Operator:
    def mask(values: np.ndarray, arg: Any) -> Mask:
        # NaN fails every comparison but !=; test() may use !=, so exclude missing explicitly.
        return test(values, arg) & ~np.isnan(values)

    return Operator(name, "number", label, mask, sql)


def _text(name: str, label: str, per_category: Callable, missing: bool, sql: Callable) -> Operator:
    def mask(values: Coded, needle: str | None) -> Mask:
        return values.spread(per_category(values, needle), missing)

    return Operator(name, "text", label, mask, sql)


def _arrow_test(function: Callable) -> Callable[[Coded, str], np.ndarray]:
    def test(values: Coded, needle: str) -> np.ndarray:
        return function(values.lowered_arrow, needle).to_numpy(zero_copy_only=False)

    return test


_equals = _arrow_test(pc.equal)
_contains = _arrow_test(lambda values, needle: pc.match_substring(values, needle))
_starts = _arrow_test(lambda values, needle: pc.starts_with(values, needle))


def _like_contains(column: SqlText, needle: str) -> ColumnElement:
    return sa.func.coalesce(column.lowered, "").like(f"%{escape_like(needle)}%", escape=LIKE_ESCAPE)


def _date_mask(values: np.ndarray, interval: Interval) -> Mask:
    keep = ~np.isnat(values)
    if interval.start is not None:
        keep &= values >= interval.start.to_datetime64()
    if interval.end is not None:
        keep &= values < interval.end.to_datetime64()
    return keep


def _date_sql(column: ColumnElement, interval: Interval) -> Sql:
    conditions = [column.is_not(None)]
    if interval.start is not None:
        conditions.append(column >= time_literal(interval.start))
    if interval.end is not None:
        conditions.append(column < time_literal(interval.end))
    return sa.and_(*conditions)


def _fact(name: str, family: str, label: str, *terms: tuple[str, bool]) -> Operator:
    def mask(facts: Mapping[str, Mask], _arg: Any) -> Mask:
        parts = [facts[fact] if positive else ~facts[fact] for fact, positive in terms]
        return np.logical_and.reduce(parts) if len(parts) > 1 else parts[0]

    def sql(facts: Mapping[str, Sql], _arg: Any) -> Sql:
        return sa.and_(
            *[facts[fact] if positive else sa.not_(facts[fact]) for fact, positive in terms]
        )

    return Operator(name, family, label, mask, sql, terms)


def _choice(name: str, label: str, keep: bool) -> Operator:
    def mask(values: Coded, wanted: list[str]) -> Mask:
        return values.spread(np.isin(values.categories, wanted) == keep, missing=False)

    def sql(column: ColumnElement, wanted: list[str]) -> Sql:
        return column.in_(wanted) if keep else column.not_in(wanted)

    return Operator(name, "choice", label, mask, sql)


_ROWS: list[Operator] = [
    # numbers
    _number("eq", "is", lambda v, a: v == a, lambda c, a: c == number_literal(a)),
    _number("ne", "is not", lambda v, a: v != a, lambda c, a: c != number_literal(a)),
    _number("gt", "is more than", lambda v, a: v > a, lambda c, a: c > number_literal(a)),
    _number("gte", "is at least", lambda v, a: v >= a, lambda c, a: c >= number_literal(a)),
    _number("lt", "is less than", lambda v, a: v < a, lambda c, a: c < number_literal(a)),
    _number("lte", "is at most", lambda v, a: v <= a, lambda c, a: c <= number_literal(a)),
    _number(
        "between",
        "is between",
        lambda v, a: (v >= a[0]) & (v <= a[1]),
        lambda c, a: c.between(number_literal(a[0]), number_literal(a[1])),
    ),
    # text (case-insensitive; see the module note for blanks)
    _text("equals", "is", _equals, False, lambda c, n: c.lowered == n),
    _text(
        "not_equals",
        "is not",
        lambda v, n: ~_equals(v, n),
        True,
        lambda c, n: sa.func.coalesce(c.lowered, "") != n,
    ),
    _text("contains", "contains", _contains, False, _like_contains),
    _text(
        "not_contains",
        "does not contain",
        lambda v, n: ~_contains(v, n),
        True,
        lambda c, n: sa.not_(_like_contains(c, n)),
    ),
    _text(
        "starts_with",
        "starts with",
        _starts,
        False,
        lambda c, n: c.lowered.like(f"{escape_like(n)}%", escape=LIKE_ESCAPE),
    ),
    _text(
        "is_blank",
        "is blank",
        lambda v, _n: v.categories == "",
        True,
        lambda c, _n: sa.or_(c.raw.is_(None), c.raw == ""),
    ),
    _text(
        "is_not_blank",
        "is not blank",
        lambda v, _n: v.categories != "",
        False,
        lambda c, _n: sa.and_(c.raw.is_not(None), c.raw != ""),
    ),
    # dates: the argument is an Interval computed by engagekit.segments.timing
    Operator("before", "date", "is before", _date_mask, _date_sql),
    Operator("after", "date", "is after", _date_mask, _date_sql),
    Operator("within_last_days", "date", "is within the last", _date_mask, _date_sql),
    Operator("more_than_days_ago", "date", "is more than", _date_mask, _date_sql),
    # choices (levels, email status)
    _choice("is", "is", True),
    _choice("is_not", "is not", False),
    # facts
    _fact("in_any", "membership", "is in any of", ("member", True)),
    _fact("in_none", "membership", "is in none of", ("member", False)),
    _fact("has_any", "membership", "has any of", ("member", True)),
    _fact("has_none", "membership", "has none of", ("member", False)),
    _fact("opened", "activity", "opened", ("opened", True)),
    _fact("not_opened", "activity", "received but did not open", ("sent", True), ("opened", False)),
    _fact("clicked", "activity", "clicked", ("clicked", True)),
    _fact(
        "not_clicked", "activity", "received but did not click", ("sent", True), ("clicked", False)
    ),
    _fact("was_sent", "activity", "was sent", ("sent", True)),
    _fact("was_not_sent", "activity", "was not sent", ("sent", False)),
    _fact("has_purchased", "purchase", "has purchased", ("purchased", True)),
    _fact("has_not_purchased", "purchase", "has not purchased", ("purchased", False)),
    _fact(
        "purchased_within_days", "purchase", "has purchased within the last", ("purchased", True)
    ),
    _fact(
        "not_purchased_within_days",
        "purchase",
        "has not purchased within the last",
        ("purchased", False),
    ),
]

OPERATORS: dict[str, Operator] = {row.name: row for row in _ROWS}
"""Every operator by name."""

NUMBER_OPERATORS = tuple(n for n, o in OPERATORS.items() if o.family == "number")
TEXT_OPERATORS = tuple(n for n, o in OPERATORS.items() if o.family == "text")
DATE_OPERATORS = tuple(n for n, o in OPERATORS.items() if o.family == "date")
ACTIVITY_OPERATORS = tuple(n for n, o in OPERATORS.items() if o.family == "activity")
PURCHASE_OPERATORS = tuple(n for n, o in OPERATORS.items() if o.family == "purchase")


def _as_number(value: Any) -> float:
    """A criterion's number as a float, negative zero as zero: Parquet's statistics order -0.0
    below 0.0, so Spark would skip a file of zeros for "is at most -0"."""
    return float(value) + 0.0


def argument(op: str, value: Any, as_of: pd.Timestamp) -> Any:
    """The criterion value as the operator functions take it, the same for both engines.

    Numbers become floats, text is lower-cased, date operators become an
    :class:`~engagekit.segments.timing.Interval`; other values pass through.
    """
    family = OPERATORS[op].family
    if family == "number":
        return (_as_number(value[0]), _as_number(value[1])) if op == "between" else _as_number(value)
    if family == "text":
        return None if value is None else str(value).lower()
    if family == "date":
        return date_interval(op, value, as_of)
    return value
