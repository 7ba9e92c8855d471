"""Segments: the pre-built and saved segments, their members, and what to do with them."""

from __future__ import annotations

import streamlit as st

import engagekit as ek

import builder_model as model
import state
import widgets

SELECTED = "segments_selected"
VIEW = "segments_view"
MEMBERS_VIEW, EXPORT_VIEW, LIST_VIEW, MANAGE_VIEW = "Members", "Export", "Add to list", "Copy, edit or delete"
READ_ONLY_HELP = "Pre-built segments are read-only: copy one to get a segment you can change."

# The New segment button sits beside the title, clear of the table's toolbar.
title_col, new_col = st.columns([4, 1], vertical_alignment="center")
title_col.title("Segments")
data = state.require_data()
store = state.segment_store()
catalog = state.catalog()
as_of = state.settings().as_of

flash = st.session_state.pop("segments_flash", None)
if flash:
    st.success(widgets.md_escape(flash), icon=":material/check_circle:")
undo = st.session_state.get("segments_undo")
if undo:
    note, button = st.columns([5, 1], vertical_alignment="center")
    note.caption(f"'{widgets.md_escape(undo)}' is in the trash.")
    if button.button("Undo delete", key="segments_undo_delete", icon=":material/undo:"):
        try:
            restored = store.restore(undo)
        except ek.EngagekitError as error:
            widgets.show_error(error)
        else:
            st.session_state.pop("segments_undo", None)
            st.session_state["segments_select_next"] = restored.name
            st.session_state["segments_flash"] = f"Restored '{restored.name}'."
            st.rerun()

segments = store.list()
by_name = {segment.name: segment for segment in segments}
total = data.n_contacts


def open_builder(segment=None) -> None:
    """Load ``segment`` (or an empty tree) into the builder and go there."""
    if segment is None:
        st.session_state["builder"] = model.new_tree()
    else:
        st.session_state["builder"] = model.tree_from_document(
            segment.definition.to_dict(), name=segment.name, editing=segment.name
        )
    st.switch_page("app_pages/builder.py")


def segment_table() -> str | None:
    """The segments found by the search, in the chosen order; returns the name of a clicked row."""
    search_col, sort_col, _ = st.columns([3, 2, 2], vertical_alignment="bottom")
    search = search_col.text_input("Search by name", key="segments_search", placeholder="Part of a name",
                                   icon=":material/search:")
    sort = sort_col.selectbox("Sort by", list(ek.SEGMENT_SORTS), key="segments_sort",
                              format_func=ek.SEGMENT_SORTS.get)
    overview = state.segment_overview(search, sort)
    if overview.empty:
        st.info(f"No segment's name contains '{widgets.md_escape(search.strip())}'.",
                icon=":material/search_off:")
        return None
    st.caption(f"Members are found when a segment is used: the counts are live, as of {as_of:%Y-%m-%d}. "
               "Click a row to open a segment.")
    picked_rows = st.dataframe(
        overview, hide_index=True, placeholder="",  # pre-built segments were never changed
        # A new key after a pick in the selectbox clears the table's tick, so a click on the row
        # picked before is a new click again.
        key=f"segments_table_{st.session_state.get('segments_table_version', 0)}", on_select="rerun",
        selection_mode="single-row",
        column_order=["name", "kind", "contacts", "share", "updated_at", "description"],
        column_config={
            # Pixel widths that leave the sentence the most room; the box below shows it whole.
            "name": st.column_config.TextColumn("Segment", width=230),
            "kind": st.column_config.TextColumn("Kind", width=75),
            "contacts": st.column_config.NumberColumn("Contacts", format="localized", width=75),
            "share": widgets.share_bar("Share", width=100),
            "updated_at": st.column_config.DatetimeColumn("Last changed", format="YYYY-MM-DD HH:mm",
                                                          width=130),
            "description": st.column_config.TextColumn(
                "Who is in it", width="large", help="Open a segment to read its whole description."),
        },
    )
    for reason in dict.fromkeys(overview["unavailable"][overview["unavailable"] != ""]):
        st.caption(f":material/info: {widgets.md_escape(reason)}")  # its count is left blank
    rows = picked_rows.selection.rows if picked_rows else []
    return overview["name"].iloc[rows[0]] if rows else None


if new_col.button("New segment", icon=":material/add:", key="segments_new"):
    open_builder()
clicked = segment_table()
# Act on a row click once, when it is new, so the selectbox below can still change the segment.
if clicked and clicked != st.session_state.get("segments_last_click"):
    st.session_state["segments_last_click"] = clicked
    st.session_state[SELECTED] = clicked
# A segment chosen by an action of the last run (copy, rename, delete) or by another page.
if "segments_select_next" in st.session_state:
    st.session_state[SELECTED] = st.session_state.pop("segments_select_next")
if st.session_state.get(SELECTED) not in by_name:
    st.session_state[SELECTED] = segments[0].name


def picked_by_hand() -> None:
    st.session_state["segments_table_version"] = st.session_state.get("segments_table_version", 0) + 1
    st.session_state.pop("segments_last_click", None)


name = st.selectbox("Segment", list(by_name), key=SELECTED, on_change=picked_by_hand)
segment = by_name[name]
definition = segment.definition
members_count, unavailable = state.count_or_reason(definition)


def members_view() -> None:
    columns = st.multiselect(
        "Columns", state.session().member_columns(), default=list(ek.DEFAULT_MEMBER_COLUMNS),
        key="segments_columns", format_func=ek.field_label,
        help="Contact fields, tags and lists, levels and engagement metrics.",
    )
    if not columns:
        st.info("Choose at least one column.")
        return
    try:
        widgets.paged_table(state.members(definition, columns), key="segments_members")
    except ek.DataError as error:  # the slip-risk column on a history too short
        widgets.show_error(error)
    st.download_button(
        "Download these columns (CSV)", data=state.deferred_export(definition, columns),
        file_name=f"{widgets.csv_file_name(segment.name)}", mime="text/csv",
        on_click="ignore", key="segments_members_download", icon=":material/download:",
        help="Spreadsheet-safe: cells that a spreadsheet would run as formulas are quoted.",
    )


def export_view() -> None:
    file_stem = widgets.csv_file_name(segment.name).removesuffix(".csv")
    layout_col, excel_col = st.columns([3, 1], vertical_alignment="bottom")
    layout = layout_col.selectbox(
        "Headings", list(ek.EXPORT_LAYOUTS), key="segments_layout",
        index=list(ek.EXPORT_LAYOUTS).index("readable"),
        format_func=lambda name: ek.EXPORT_LAYOUTS[name].label,
        help="Ready for an import into Constant Contact or Mailchimp: their column names, and a "
        "Tags column holding the segment's name.")
    excel = excel_col.checkbox("For Excel", key="segments_excel",
                               help="UTF-8 with a byte-order mark, so Excel shows accents rightly.")
    audience_col, export_col = st.columns(2, gap="large")
    with audience_col:
        st.markdown("**Send-ready audience**")
        audience = state.audience(definition)
        left_out = ", ".join(f"{n:,} {status}" for status, n in audience.left_out.items() if n)
        st.write(f"The members you can email: **{audience.size:,}** of the {members_count:,} "
                 f"members as of {as_of:%Y-%m-%d}"
                 + (f"; left out: {left_out}." if left_out else "; nobody is left out."))
        st.download_button(
            "Download send-ready audience", data=state.deferred_audience(segment, layout=layout, excel=excel),
            file_name=f"{file_stem}-audience.csv", mime="text/csv", on_click="ignore",
            key="segments_audience", icon=":material/send:", type="primary",
        )
    with export_col:
        st.markdown("**Export members**")
        optional = [column for column in ek.member_columns(data) if column != "email"]
        fields = st.multiselect(
            "Fields besides email", optional, default=list(ek.DEFAULT_EXPORT_FIELDS[1:]),
            key="segments_export_fields", format_func=ek.field_label,
        )
        st.download_button(
            "Download CSV", data=state.deferred_export(segment, fields, layout=layout, excel=excel),
            file_name=f"{file_stem}.csv", mime="text/csv", on_click="ignore",
            key="segments_export", icon=":material/download:",
        )


NEW_LIST = "__new__"


def list_view() -> None:
    st.write("Copy today's members into a list. Running it again adds only the new members.")
    # Only lists made here: an imported list would be undone by the next import.
    list_names = state.session().list_names(editable=True)
    choice = st.selectbox(
        "List", [NEW_LIST, *list_names], key="segments_list_choice",
        format_func=lambda v: "A new list…" if v == NEW_LIST else v,
        help="Lists made in engagekit. Lists that came with an import are not offered: the next "
        "import would undo the additions. See the Lists page.",
    )
    new_name = st.text_input("New list name", key="segments_new_list",
                             disabled=choice != NEW_LIST, placeholder=f"{segment.name} {as_of:%Y-%m-%d}")
    target = new_name if choice == NEW_LIST else choice
    if st.button("Add members to the list", key="segments_add_to_list",
                 disabled=not target.strip(), icon=":material/playlist_add:"):
        try:
            result = state.add_to_list(definition, target)
        except ek.EngagekitError as error:
            widgets.show_error(error)
        else:
            st.session_state["segments_flash"] = result.summary()
            st.session_state["segments_list_choice_next"] = result.list_name
            st.rerun()


def copy_section() -> None:
    st.markdown("**Copy**")
    copy_name = st.text_input("Name of the copy", key="segments_copy_name",
                              placeholder=f"{segment.name} (copy)")
    if st.button("Copy segment", key="segments_copy", icon=":material/content_copy:"):
        try:
            copied = store.copy(segment.name, copy_name.strip() or None)
        except ek.EngagekitError as error:
            widgets.show_error(error)
        else:
            st.session_state["segments_select_next"] = copied.name
            st.session_state["segments_flash"] = f"Copied to '{copied.name}'."
            st.rerun()


def change_section() -> None:
    st.markdown("**Change**")
    help_text = READ_ONLY_HELP if segment.prebuilt else None
    if st.button("Edit in the builder", key="segments_edit", icon=":material/edit:",
                 disabled=segment.prebuilt, help=help_text):
        try:
            open_builder(segment)
        except ValueError as error:  # groups nested deeper than the builder shows
            st.error(str(error))
    renamed = st.text_input("New name", key="segments_rename_name", disabled=segment.prebuilt,
                            help=help_text)
    if st.button("Rename", key="segments_rename", disabled=segment.prebuilt or not renamed.strip(),
                 help=help_text):
        try:
            store.rename(segment.name, renamed)
        except ek.EngagekitError as error:
            widgets.show_error(error)
        else:
            st.session_state["segments_select_next"] = renamed.strip()
            st.session_state["segments_flash"] = f"Renamed to '{renamed.strip()}'."
            st.rerun()
    delete_section(help_text)


def delete_section(help_text: str | None) -> None:
    question = ("Delete this segment? It goes to the trash, and you can undo it; lists and contacts "
                "are not affected.")
    if widgets.confirm_delete("segments_delete", segment.name, question, disabled=segment.prebuilt,
                              help=help_text):
        store.delete(segment.name)
        st.session_state["segments_undo"] = segment.name
        st.session_state["segments_select_next"] = segments[0].name
        st.session_state["segments_flash"] = f"Deleted '{segment.name}'."
        st.rerun()


def manage_view() -> None:
    copy_col, edit_col = st.columns(2, gap="large")
    with copy_col:
        copy_section()
    with edit_col:
        change_section()


if "segments_list_choice_next" in st.session_state:  # the list just added to stays chosen
    st.session_state["segments_list_choice"] = st.session_state.pop("segments_list_choice_next")

with st.container(border=True):
    heading_col, count_col = st.columns([3, 1])
    with heading_col:
        st.subheader(widgets.md_escape(segment.name), anchor=False)
        st.caption("Pre-built, read-only" if segment.prebuilt else
                   f"Saved segment · last changed {segment.updated_at:%Y-%m-%d %H:%M} UTC")
        st.text(definition.describe(catalog))
    if unavailable is None:
        count_col.metric("Contacts", f"{members_count:,}",
                         delta=f"{ek.format_share(members_count / total)} of contacts" if total else None,
                         delta_color="off", delta_arrow="off")
        warning = ek.narrowness_warning(members_count, total)
        if warning:
            st.warning(warning, icon=":material/warning:")
    else:
        count_col.metric("Contacts", "–")
        widgets.show_error(unavailable)

    view = widgets.view_picker(VIEW, [MEMBERS_VIEW, EXPORT_VIEW, LIST_VIEW, MANAGE_VIEW])
    if unavailable is not None and view != MANAGE_VIEW:  # nothing to show or send: say why
        st.info(unavailable, icon=":material/info:")
    else:
        {MEMBERS_VIEW: members_view, EXPORT_VIEW: export_view, LIST_VIEW: list_view,
         MANAGE_VIEW: manage_view}[view]()
