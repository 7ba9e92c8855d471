"""What a segment criterion can say: sources, fields, operators and the shape of their values.

This is the one table a form builder reads: :func:`field_catalog` lists every field (with the
dataset's custom fields), :func:`operators_for` the operators of a field with the kind of value
each expects and, where the values are a closed set, the choices.

=================  ==============================================  ===============================
source             fields                                          operators
=================  ==============================================  ===============================
engagement         current_level, previous_level                   is, is_not (levels)
engagement         sunset_status                                   is, is_not (sunset statuses)
metrics            open_rate, click_rate, days_since_last_         eq, ne, gt, gte, lt, lte,
                   engagement, eligible_sends, opened, clicked,    between
                   sends_since_last_engagement, bounces, score,
                   slip_risk
list_membership    lists                                           in_any, in_none (list ids)
tags               tags                                            has_any, has_none (tags)
contact            email, first_name, last_name, custom text       equals, not_equals, contains,
                                                                   not_contains, starts_with,
                                                                   is_blank, is_not_blank
contact            date_added, custom date fields                  before, after (a date),
                                                                   within_last_days,
                                                                   more_than_days_ago (N days)
contact            email_status                                    is, is_not (statuses)
contact            custom number fields                            number comparisons
email_activity     campaign (a campaign id), last_n_campaigns      opened, not_opened, clicked,
                   (N), last_n_days (N)                            not_clicked, was_sent,
                                                                   was_not_sent
ecommerce          order_count, total_spent                        number comparisons
ecommerce          last_order_date                                 date operators
ecommerce          purchase                                        has_purchased,
                                                                   has_not_purchased (no value),
                                                                   purchased_within_days,
                                                                   not_purchased_within_days (N)
=================  ==============================================  ===============================

Metrics are the current engagement features as of the reference time (see
:mod:`engagekit.engagement.features`); ``open_rate`` and ``click_rate`` are shares between 0 and 1.
``slip_risk`` (a share too) and ``sunset_status`` come from the slip-risk model and the sunset rule
in force (see :mod:`engagekit.segments.measures`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from engagekit.data.dataset import Dataset
from engagekit.data.schema import EMAIL_STATUSES, LEVEL_LABELS, LEVELS
from engagekit.engagement.sunset import SUNSET_STATUSES
from engagekit.segments.operators import (
    ACTIVITY_OPERATORS,
    DATE_OPERATORS,
    NUMBER_OPERATORS,
    OPERATORS,
    TEXT_OPERATORS,
)
from engagekit.workspace.tables import WorkspaceTables
from engagekit.workspace.workspace import Workspace

SOURCE_LABELS: dict[str, str] = {
    "engagement": "Engagement",
    "metrics": "Engagement metrics",
    "list_membership": "List membership",
    "tags": "Tags",
    "contact": "Contact details",
    "email_activity": "Email activity",
    "ecommerce": "E-commerce",
}

VALUE_LABELS: dict[str, str] = {
    "none": "no value",
    "levels": "one or more engagement levels",
    "statuses": "one or more email statuses",
    "sunset_statuses": "one or more sunset statuses",
    "number": "a number",
    "number_range": "a lower and an upper bound",
    "text": "a text",
    "date": "a date (YYYY-MM-DD)",
    "days": "a whole number of days (1 or more)",
    "campaign_count": "a whole number of campaigns (1 or more)",
    "list_ids": "one or more lists",
    "tags": "one or more tags",
    "campaign_id": "a campaign",
}
"""What each kind of value is, as a form and an error message say it."""

VALUE_PROMPTS: dict[str, str] = {
    kind: ("Nothing to choose." if kind == "none" else
           f"{'Enter' if kind in ('number', 'number_range', 'text', 'days', 'campaign_count') else 'Choose'} "
           f"{label}.")
    for kind, label in VALUE_LABELS.items()
}
"""What a form says while a criterion's value is still missing ("Choose a campaign.")."""


def _numbers() -> dict[str, str]:
    return {op: "number_range" if op == "between" else "number" for op in NUMBER_OPERATORS}


# Field kind -> operator -> value kind. The kind of a field decides all it can be asked.
KIND_OPERATORS: dict[str, dict[str, str]] = {
    "level": {"is": "levels", "is_not": "levels"},
    "status": {"is": "statuses", "is_not": "statuses"},
    "sunset": {"is": "sunset_statuses", "is_not": "sunset_statuses"},
    "number": _numbers(),
    "share": _numbers(),
    "text": {op: "none" if "blank" in op else "text" for op in TEXT_OPERATORS},
    "date": {op: "date" if op in ("before", "after") else "days" for op in DATE_OPERATORS},
    "lists": {"in_any": "list_ids", "in_none": "list_ids"},
    "tags": {"has_any": "tags", "has_none": "tags"},
    "campaign": dict.fromkeys(ACTIVITY_OPERATORS, "campaign_id"),
    "last_campaigns": dict.fromkeys(ACTIVITY_OPERATORS, "campaign_count"),
    "last_days": dict.fromkeys(ACTIVITY_OPERATORS, "days"),
    "purchase": {
        "has_purchased": "none",
        "has_not_purchased": "none",
        "purchased_within_days": "days",
        "not_purchased_within_days": "days",
    },
}

CUSTOM_KINDS = ("text", "number", "date")


@dataclass(frozen=True)
class ValueSpec:
    """The value an operator expects: its kind, a label for a form, and the choices if closed."""

    kind: str
    label: str
    choices: tuple[tuple[object, str], ...] | None = None

    @property
    def prompt(self) -> str:
        """What to say while the value is missing ("Choose one or more lists.")."""
        return VALUE_PROMPTS[self.kind]


@dataclass(frozen=True)
class OperatorSpec:
    """An operator of a field, for a form: name, label and expected value."""

    name: str
    label: str
    value: ValueSpec


@dataclass(frozen=True)
class FieldSpec:
    """A field a criterion can test.

    Attributes
    ----------
    source, field : str
        What a criterion names.
    label : str
        How a person reads it ("Open rate").
    kind : str
        Decides the operators and values (a key of :data:`KIND_OPERATORS`).
    custom : bool
        A custom contact field of the dataset.
    """

    source: str
    field: str
    label: str
    kind: str
    custom: bool = False

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS[self.source]

    @property
    def operators(self) -> tuple[str, ...]:
        return tuple(KIND_OPERATORS[self.kind])

    def value_kind(self, op: str) -> str:
        return KIND_OPERATORS[self.kind][op]


STANDARD_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("engagement", "current_level", "Current engagement level", "level"),
    FieldSpec("engagement", "previous_level", "Previous engagement level", "level"),
    FieldSpec("engagement", "sunset_status", "Sunset status", "sunset"),
    FieldSpec("metrics", "open_rate", "Open rate", "share"),
    FieldSpec("metrics", "click_rate", "Click rate", "share"),
    FieldSpec("metrics", "days_since_last_engagement", "Days since last engagement (in window)", "number"),
    FieldSpec("metrics", "eligible_sends", "Eligible sends", "number"),
    FieldSpec("metrics", "opened", "Campaigns opened", "number"),
    FieldSpec("metrics", "clicked", "Campaigns clicked", "number"),
    FieldSpec("metrics", "sends_since_last_engagement", "Sends since last engagement", "number"),
    FieldSpec("metrics", "bounces", "Bounces", "number"),
    FieldSpec("metrics", "score", "Engagement score", "number"),
    FieldSpec("metrics", "slip_risk", "Slip risk", "share"),
    FieldSpec("list_membership", "lists", "Lists", "lists"),
    FieldSpec("tags", "tags", "Tags", "tags"),
    FieldSpec("contact", "email", "Email", "text"),
    FieldSpec("contact", "first_name", "First name", "text"),
    FieldSpec("contact", "last_name", "Last name", "text"),
    FieldSpec("contact", "date_added", "Date added", "date"),
    FieldSpec("contact", "email_status", "Email status", "status"),
    FieldSpec("email_activity", "campaign", "A campaign", "campaign"),
    FieldSpec(
        "email_activity", "last_n_campaigns", "Any of the last N campaigns", "last_campaigns"
    ),
    FieldSpec("email_activity", "last_n_days", "Campaigns sent in the last N days", "last_days"),
    FieldSpec("ecommerce", "order_count", "Order count", "number"),
    FieldSpec("ecommerce", "total_spent", "Total spent", "number"),
    FieldSpec("ecommerce", "last_order_date", "Last order date", "date"),
    FieldSpec("ecommerce", "purchase", "Purchase", "purchase"),
)

_STANDARD = {(spec.source, spec.field): spec for spec in STANDARD_FIELDS}


@dataclass(frozen=True)
class Catalog:
    """The fields and the named things (lists, campaigns, tags) of one dataset or workspace.

    ``None`` means "not known": a catalog without data (``Catalog()``) accepts any custom field
    whose operator says its type, and any list or campaign id; a catalog of a dataset checks them.

    Examples
    --------
    >>> Catalog(lists={7: "VIP"}).list_name(7)
    'VIP'
    >>> Catalog().list_name(7)
    'list #7'
    """

    custom_fields: Mapping[str, str] | None = None
    lists: Mapping[int, str] | None = None
    campaigns: Mapping[int, str] | None = None
    tags: tuple[str, ...] | None = field(default=None)
    campaign_sent: Mapping[int, object] | None = field(default=None, compare=False)

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> Catalog:
        """The catalog of a dataset: its custom fields, lists, campaigns and tags."""
        return cls(
            custom_fields=dict(dataset.custom_fields),
            lists=dict(
                zip(dataset.lists["list_id"].tolist(), dataset.lists["name"].tolist(), strict=True)
            ),
            campaigns=dict(
                zip(
                    dataset.campaigns["campaign_id"].tolist(),
                    dataset.campaigns["name"].tolist(),
                    strict=True,
                )
            ),
            tags=tuple(sorted(dataset.contact_tags["tag"].unique().tolist())),
            campaign_sent=dict(zip(dataset.campaigns["campaign_id"].tolist(),
                                   dataset.campaigns["sent_at"].tolist(), strict=True)),
        )

    @classmethod
    def from_workspace(cls, workspace: Workspace, tables: WorkspaceTables | None = None) -> Catalog:
        """The catalog of a workspace database, read with a few small queries."""
        tables = tables or workspace.tables
        fields = tables.custom_fields
        with workspace.engine.connect() as conn:
            lists = dict(conn.execute(sa.select(tables.lists.c.list_id, tables.lists.c.name)).all())
            rows = conn.execute(sa.select(tables.campaigns.c.campaign_id, tables.campaigns.c.name,
                                          tables.campaigns.c.sent_at)).all()
            campaigns = {row.campaign_id: row.name for row in rows}
            campaign_sent = {row.campaign_id: row.sent_at for row in rows}
            tags = conn.execute(sa.select(tables.contact_tags.c.tag).distinct()).scalars().all()
            custom = dict(
                conn.execute(
                    sa.select(fields.c.name, fields.c.kind).order_by(fields.c.position)
                ).all()
            )
        return cls(custom_fields=custom, lists=lists, campaigns=campaigns, tags=tuple(sorted(tags)),
                   campaign_sent=campaign_sent)

    # -- fields ------------------------------------------------------------------------------
    def fields(self) -> list[FieldSpec]:
        """Every field, standard ones first, then the custom contact fields."""
        custom = [
            FieldSpec("contact", name, custom_label(name), kind, custom=True)
            for name, kind in (self.custom_fields or {}).items()
        ]
        return [*STANDARD_FIELDS, *custom]

    def field(self, source: str, name: str) -> FieldSpec | None:
        """The spec of a field, or ``None`` when this catalog does not know it."""
        spec = _STANDARD.get((source, name))
        if spec is None and source == "contact" and self.custom_fields is not None:
            kind = self.custom_fields.get(name)
            spec = (
                FieldSpec("contact", name, custom_label(name), kind, custom=True) if kind else None
            )
        return spec

    def field_names(self, source: str) -> list[str]:
        return [spec.field for spec in self.fields() if spec.source == source]

    def operators_for(self, source: str, name: str) -> list[OperatorSpec]:
        """The operators of a field with the value each expects (empty if the field is unknown)."""
        spec = self.field(source, name)
        if spec is None:
            return []
        return [
            OperatorSpec(op, OPERATORS[op].label, self.value_spec(value_kind))
            for op, value_kind in KIND_OPERATORS[spec.kind].items()
        ]

    def value_spec(self, kind: str) -> ValueSpec:
        """How to ask for a value of this kind, with its choices when they are known."""
        return ValueSpec(kind, VALUE_LABELS[kind], self._choices(kind))

    def _choices(self, kind: str) -> tuple[tuple[object, str], ...] | None:
        if kind == "levels":
            return tuple((level, LEVEL_LABELS[level]) for level in LEVELS)
        if kind == "statuses":
            return tuple((status, status) for status in EMAIL_STATUSES)
        if kind == "sunset_statuses":
            return tuple(SUNSET_STATUSES.items())
        if kind == "list_ids" and self.lists is not None:
            return tuple(sorted(self.lists.items(), key=lambda item: str(item[1]).casefold()))
        if kind == "campaign_id" and self.campaigns is not None:
            return self._campaign_choices()
        if kind == "tags" and self.tags is not None:
            return tuple((tag, tag) for tag in self.tags)
        return None

    def _campaign_choices(self) -> tuple[tuple[int, str], ...]:
        """Campaigns newest first, each named with its sent date: the one you want is usually recent."""
        sent = self.campaign_sent or {}

        def newest_first(item: tuple[int, str]) -> tuple:
            when = sent.get(item[0])
            return (when is None, -(pd.Timestamp(when).value if when is not None else 0), -item[0])

        return tuple(
            (campaign_id, f"{name} ({pd.Timestamp(sent[campaign_id]):%Y-%m-%d})" if sent.get(campaign_id)
             is not None else name)
            for campaign_id, name in sorted(self.campaigns.items(), key=newest_first)
        )

    # -- names -------------------------------------------------------------------------------
    def list_name(self, list_id: int) -> str:
        return (self.lists or {}).get(list_id) or f"list #{list_id}"

    def campaign_name(self, campaign_id: int) -> str:
        return (self.campaigns or {}).get(campaign_id) or f"campaign #{campaign_id}"


def as_catalog(context: object = None) -> Catalog:
    """A catalog from whatever knows the names: a catalog, a dataset, a workspace or an engine.

    Examples
    --------
    >>> as_catalog(None) == Catalog()
    True
    """
    if context is None:
        return Catalog()
    if isinstance(context, Catalog):
        return context
    if isinstance(context, Dataset):
        return Catalog.from_dataset(context)
    if isinstance(context, Workspace):
        return Catalog.from_workspace(context)
    catalog = getattr(context, "catalog", None)  # an engine
    if isinstance(catalog, Catalog):
        return catalog
    raise TypeError(f"cannot name lists and campaigns from a {type(context).__name__}")


def custom_label(name: str) -> str:
    """How a custom field reads in a sentence: ``loyalty_points`` -> "loyalty points"."""
    return name.replace("_", " ").strip() or name


# Member columns that are no criterion, named so that the window's figures and the ones of all
# time are told apart (the window's "last open" counts clicks too).
COLUMN_LABELS: dict[str, str] = {
    "last_open_at": "Last engagement (in window)",
    "last_click_at": "Last click (in window)",
    "last_engagement_ever_at": "Last engagement (ever)",
    "days_since_last_engagement_ever": "Days since last engagement (ever)",
}

_LABELS_BY_NAME: dict[str, str] = {**{spec.field: spec.label for spec in STANDARD_FIELDS}, **COLUMN_LABELS}


def field_label(name: str) -> str:
    """How a field or member column reads as a heading: its catalog label, else its name in words.

    Examples
    --------
    >>> field_label("opened"), field_label("loyalty_points"), field_label("last_open_at")
    ('Campaigns opened', 'Loyalty points', 'Last engagement (in window)')
    """
    if name in _LABELS_BY_NAME:
        return _LABELS_BY_NAME[name]
    words = custom_label(name)
    return words[:1].upper() + words[1:]


def field_catalog(dataset: Dataset | None = None) -> list[FieldSpec]:
    """Every field a criterion can use, with the custom fields of ``dataset``.

    Examples
    --------
    >>> specs = field_catalog()
    >>> [s.field for s in specs if s.source == "engagement"]
    ['current_level', 'previous_level', 'sunset_status']
    """
    return (Catalog.from_dataset(dataset) if dataset is not None else Catalog()).fields()


def operators_for(source: str, field: str, dataset: Dataset | None = None) -> list[OperatorSpec]:
    """The operators of one field, each with the value it expects.

    Examples
    --------
    >>> [(o.name, o.value.kind) for o in operators_for("ecommerce", "purchase")][:2]
    [('has_purchased', 'none'), ('has_not_purchased', 'none')]
    """
    catalog = Catalog.from_dataset(dataset) if dataset is not None else Catalog()
    return catalog.operators_for(source, field)
