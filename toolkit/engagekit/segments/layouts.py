"""Export layouts: the headings of an export file, for a person or for an email tool's import.

=================  =====================================================================================
layout             headings
=================  =====================================================================================
``columns``        the column names as engagekit stores them (``email``, ``first_name``, ...)
``readable``       the names a person reads (``Email address``, ``First name``, ``Current level``, ...)
``constant_contact`` Constant Contact's contact import: ``Email address``, ``First name``, ``Last name``,
                   other fields by their readable name, and a ``Tags`` column holding the segment's
                   name, so the imported contacts carry it as a tag
``mailchimp``      Mailchimp's audience import: ``Email Address``, ``First Name``, ``Last Name``, other
                   fields by their readable name, and ``Tags`` holding the segment's name
=================  =====================================================================================

Any layout can be written for Excel: UTF-8 with a byte-order mark, which Excel needs to show
accented names rightly (see :func:`engagekit.data.safe_csv.to_safe_csv`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from engagekit.segments.catalog import field_label


@dataclass(frozen=True)
class ExportLayout:
    """The headings of one export layout."""

    name: str
    label: str
    headings: dict[str, str] = field(default_factory=dict)
    readable_others: bool = True
    tag_column: str | None = None


EXPORT_LAYOUTS: dict[str, ExportLayout] = {
    "columns": ExportLayout("columns", "Column names as stored", readable_others=False),
    "readable": ExportLayout("readable", "Readable headings", {"email": "Email address"}),
    "constant_contact": ExportLayout(
        "constant_contact", "Ready for a Constant Contact import",
        {"email": "Email address", "first_name": "First name", "last_name": "Last name"},
        tag_column="Tags"),
    "mailchimp": ExportLayout(
        "mailchimp", "Ready for a Mailchimp import",
        {"email": "Email Address", "first_name": "First Name", "last_name": "Last Name"},
        tag_column="Tags"),
}


def lay_out(frame: pd.DataFrame, layout: str, *, segment_name: str | None = None) -> pd.DataFrame:
    """``frame`` (export columns) with the headings of ``layout``.

    Examples
    --------
    >>> frame = pd.DataFrame({"email": ["ann@example.com"], "first_name": ["Ann"], "open_rate": [0.5]})
    >>> list(lay_out(frame, "readable").columns)
    ['Email address', 'First name', 'Open rate']
    >>> lay_out(frame, "mailchimp", segment_name="VIP").to_dict("records")
    [{'Email Address': 'ann@example.com', 'First Name': 'Ann', 'Open rate': 0.5, 'Tags': 'VIP'}]
    """
    if layout not in EXPORT_LAYOUTS:
        raise ValueError(f"unknown export layout {layout!r}; use one of {', '.join(EXPORT_LAYOUTS)}")
    chosen = EXPORT_LAYOUTS[layout]
    names = {column: chosen.headings.get(column, field_label(column) if chosen.readable_others else column)
             for column in frame.columns}
    out = frame.rename(columns=names)
    if chosen.tag_column and segment_name:
        out[chosen.tag_column] = segment_name
    return out


__all__ = ["EXPORT_LAYOUTS", "ExportLayout", "lay_out"]
