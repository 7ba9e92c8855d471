"""Small building blocks that several pages use the same way."""

from __future__ import annotations

import math
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

import engagekit as ek

PAGE_SIZE = 25
ROW_HEIGHT = 35  # st.dataframe's default row height in pixels
# The table's "percent" format shows two decimals fewer than its step has: a step of 0.001 gives
# the library's one decimal (ek.format_share), so a table reads "12.3%" like a metric does.
SHARE_STEP = 10.0 ** -(ek.SHARE_DECIMALS + 2)
SHARE_COLUMNS = {"open_rate", "click_rate", "slip_risk"}
# How other member columns read; any column not named here shows as the library stores it.
NUMBER_FORMATS = {
    "score": "%.2f",
    "days_since_last_engagement": "%d",  # whole days gone by (the fraction is dropped)
    "days_since_last_engagement_ever": "%d",
}


def share_column(label: str, **options) -> dict:
    """A table column of shares between 0 and 1, in the one percentage format."""
    return st.column_config.NumberColumn(label, format="percent", step=SHARE_STEP, **options)


def share_bar(label: str, **options) -> dict:
    """A share between 0 and 1 drawn as a bar, with the same percentage beside it."""
    return st.column_config.ProgressColumn(label, format="percent", step=SHARE_STEP, min_value=0.0,
                                           max_value=1.0, **options)
EMAIL_WIDTH = 270  # pixels: a long address (firstname.lastname84@northwindtraders.com) shows whole
DATETIME_WITH_TIME = {"last_open_at", "last_click_at", "last_engagement_ever_at"}  # other dates show the day only


def view_picker(key: str, views: list[str]) -> str:
    """A row of buttons choosing which part of a page shows, returning the chosen one.

    Not ``st.tabs``: a tab is not a widget, so any rerun (a success message after a copy, a
    rename, an import) would show the first tab again. A keyed control keeps its choice; an
    action can set ``<key>_next`` to open another view on the next run.
    """
    if f"{key}_next" in st.session_state:
        st.session_state[key] = st.session_state.pop(f"{key}_next")
    if st.session_state.get(key) not in views:
        st.session_state[key] = st.session_state.get(f"{key}_last", views[0])
    st.session_state[f"{key}_last"] = st.session_state[key]
    # A click on the chosen button would unselect it: the page keeps showing that view.
    return st.segmented_control("View", views, key=key, label_visibility="collapsed")


def confirm_delete(key: str, item: str, question: str, *, label: str = "Delete",
                   disabled: bool = False, help: str | None = None) -> bool:
    """A delete button that asks first; True in the run where the user confirms deleting ``item``.

    Buttons: ``key`` asks, ``<key>_yes`` confirms, ``<key>_no`` cancels. The question is kept for
    ``item`` only, so choosing another item forgets it.
    """
    asked = f"{key}_asked"
    if st.session_state.get(asked) != item:
        if st.button(label, key=key, icon=":material/delete:", disabled=disabled, help=help):
            st.session_state[asked] = item
            st.rerun()
        return False
    st.warning(question, icon=":material/warning:")
    answer = st.container(horizontal=True)
    if answer.button("Yes, delete it", key=f"{key}_yes", type="primary"):
        st.session_state.pop(asked, None)
        return True
    if answer.button("Cancel", key=f"{key}_no"):
        st.session_state.pop(asked, None)
        st.rerun()
    return False


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
        if column in SHARE_COLUMNS:
            config[column] = share_column(label)
        elif column in NUMBER_FORMATS:
            config[column] = st.column_config.NumberColumn(label, format=NUMBER_FORMATS[column])
        elif pd.api.types.is_datetime64_any_dtype(frame[column]):
            shown = "YYYY-MM-DD HH:mm" if column in DATETIME_WITH_TIME else "YYYY-MM-DD"
            config[column] = st.column_config.DatetimeColumn(label, format=shown)
        elif column == "email":  # the contact's identity: never cut off
            config[column] = st.column_config.TextColumn(label, width=EMAIL_WIDTH)
        else:
            config[column] = label
    return config


# Markdown syntax characters; "<" and ">" need nothing, as raw HTML is never rendered.
_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|~$:")


def fact(column, label: str, value: str, *, note: str | None = None, help: str | None = None) -> None:
    """A small bordered card: a label, its value in a heading size that fits five to a row (a
    metric card's large figures cut dates and words off there), and an optional note."""
    with column.container(border=True):
        st.markdown(f":small[:gray[{md_escape(label)}]]\n\n#### {md_escape(value)}", help=help)
        if note:
            st.caption(note)


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
