"""Small building blocks that several pages use the same way."""

from __future__ import annotations

import math
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

import engagekit as ek

PAGE_SIZE = 25
ROW_HEIGHT = 35  # st.dataframe's default row height in pixels
# How member columns read; any column not named here shows as the library stores it.
NUMBER_FORMATS = {
    "open_rate": "percent",
    "click_rate": "percent",
    "score": "%.2f",
    "slip_risk": "percent",
    "days_since_last_engagement": "%d",  # whole days gone by (the fraction is dropped)
}
DATETIME_WITH_TIME = {"last_open_at", "last_click_at"}  # other dates show the day only


def paged_table(frame: pd.DataFrame, *, key: str, page_size: int = PAGE_SIZE) -> None:
    """A table showing ``page_size`` rows at a time with a page picker under it."""
    pages = max(1, math.ceil(len(frame) / page_size))
    page_key = f"{key}_page"
    if st.session_state.get(page_key, 1) > pages:  # the table shrank since the last run
        st.session_state[page_key] = 1
    table = st.container()
    left, right = st.columns([3, 1], vertical_alignment="center")
    with left:
        page = st.pagination(pages, key=page_key) if pages > 1 else 1
    start = (page - 1) * page_size
    with right:
        if len(frame):
            st.caption(f"Rows {start + 1:,}–{min(start + page_size, len(frame)):,} of {len(frame):,}")
    shown = frame.iloc[start : start + page_size]
    with table:
        contacts_table(shown, key=f"{key}_table", height=ROW_HEIGHT * (len(shown) + 1) + 3)


CONTACT_LINK = "open_contact"


def contact_link(email: str) -> str:
    """The address of the Contact page for ``email`` (relative: it works under any base path)."""
    return f"contact?{urlencode({'email': email})}"


def contacts_table(frame: pd.DataFrame, **kwargs) -> None:
    """A table of contacts (member columns): readable headings and numbers, blanks left empty,
    and a link to each contact's page when the email is shown."""
    config = column_config(frame)
    if "email" in frame.columns:
        frame = frame.assign(**{CONTACT_LINK: frame["email"].map(contact_link)})
        config[CONTACT_LINK] = st.column_config.LinkColumn("Contact", display_text="Open",
                                                           help="Open the contact's page")
    st.dataframe(frame, hide_index=True, column_config=config, placeholder="", **kwargs)


def column_config(frame: pd.DataFrame) -> dict:
    """How each member column of ``frame`` shows: its label and, for numbers and dates, a format."""
    config = {}
    for column in frame.columns:
        label = ek.field_label(column)  # the library's label: loyalty_points -> Loyalty points
        if column in NUMBER_FORMATS:
            config[column] = st.column_config.NumberColumn(label, format=NUMBER_FORMATS[column])
        elif pd.api.types.is_datetime64_any_dtype(frame[column]):
            shown = "YYYY-MM-DD HH:mm" if column in DATETIME_WITH_TIME else "YYYY-MM-DD"
            config[column] = st.column_config.DatetimeColumn(label, format=shown)
        else:
            config[column] = label
    return config


# Markdown syntax characters; "<" and ">" need nothing, as raw HTML is never rendered.
_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|~$:")


def md_escape(text: str) -> str:
    """``text`` shown literally inside Markdown (user-given names are never formatting or links)."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in str(text))


def show_error(error: Exception) -> None:
    """An engagekit error, in the words the library chose (names in it shown literally)."""
    st.error(md_escape(str(error)), icon=":material/error:")


def csv_file_name(name: str, suffix: str = "") -> str:
    """A file name for a download of ``name`` (letters, digits and dashes only)."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in name.casefold()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return f"{slug or 'segment'}{suffix}.csv"
