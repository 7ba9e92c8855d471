"""Segments: the pre-built and saved segments, their members, and what to do with them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import engagekit as ek

import builder_model as model
import state
import widgets

SELECTED = "segments_selected"
READ_ONLY_HELP = "Pre-built segments are read-only: copy one to get a segment you can change."

st.title("Segments")
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


intro, new_col = st.columns([4, 1], vertical_alignment="bottom")
intro.caption(
    f"Members are found when a segment is used: the counts are live, as of {as_of:%Y-%m-%d}. "
    "Click a row to open a segment."
)
if new_col.button("New segment", icon=":material/add:", key="segments_new"):
    open_builder()

counted = [state.count_or_reason(segment.definition) for segment in segments]
overview = pd.DataFrame({
    "Segment": [segment.name for segment in segments],
    "Kind": [segment.kind for segment in segments],
    "Contacts": pd.array([n for n, _ in counted], dtype="Int64"),
    "Who is in it": [segment.definition.describe(catalog) for segment in segments],
})
overview["Share"] = overview["Contacts"] / total if total else 0.0
reasons = list(dict.fromkeys(reason for _, reason in counted if reason))
picked_rows = st.dataframe(
    overview[["Segment", "Kind", "Contacts", "Share", "Who is in it"]], hide_index=True,
    # A new key after a pick in the selectbox clears the table's tick, so a click on the row
    # picked before is a new click again.
    key=f"segments_table_{st.session_state.get('segments_table_version', 0)}", on_select="rerun",
    selection_mode="single-row",
    column_config={
        "Contacts": st.column_config.NumberColumn(format="localized"),
        "Share": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
        "Who is in it": st.column_config.TextColumn(width="large"),
    },
)
for reason in reasons:  # a segment that cannot be counted now (its count is left blank)
    st.caption(f":material/info: {widgets.md_escape(reason)}")
rows = picked_rows.selection.rows if picked_rows else []
clicked = segments[rows[0]].name if rows else None
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

with st.container(border=True):
    title_col, count_col = st.columns([3, 1])
    with title_col:
        st.subheader(widgets.md_escape(segment.name), anchor=False)
        st.caption("Pre-built, read-only" if segment.prebuilt else
                   f"Saved segment · last changed {segment.updated_at:%Y-%m-%d %H:%M} UTC")
        st.text(definition.describe(catalog))
    if unavailable is None:
        count_col.metric("Contacts", f"{members_count:,}",
                         delta=f"{members_count / total:.1%} of contacts" if total else None,
                         delta_color="off", delta_arrow="off")
        warning = ek.narrowness_warning(members_count, total)
        if warning:
            st.warning(warning, icon=":material/warning:")
    else:
        count_col.metric("Contacts", "–")
        widgets.show_error(unavailable)

    members_tab, export_tab, list_tab, manage_tab = st.tabs(
        ["Members", "Export", "Add to list", "Copy, edit or delete"]
    )

    if unavailable is None:
        with members_tab:
            columns = st.multiselect(
                "Columns", state.session().member_columns(), default=list(ek.DEFAULT_MEMBER_COLUMNS),
                key="segments_columns", format_func=ek.field_label,
                help="Contact fields, tags and lists, levels and engagement metrics.",
            )
            if columns:
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
            else:
                st.info("Choose at least one column.")

        with export_tab:
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

        with list_tab:
            st.write("Copy today's members into a list. Running it again adds only the new members.")
            NEW_LIST = "__new__"
            list_names = sorted(data.lists["name"].tolist(), key=str.casefold)
            choice = st.selectbox(
                "List", [NEW_LIST, *list_names], key="segments_list_choice",
                format_func=lambda v: "A new list…" if v == NEW_LIST else v,
                help="Lists that came from an import cannot be changed here (the next import would undo "
                "it): add to a list made in engagekit, or make a new one.",
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
                    st.rerun()
    else:  # nothing to show or send: say why where the members would be
        for tab in (members_tab, export_tab, list_tab):
            tab.info(unavailable, icon=":material/info:")

    with manage_tab:
        copy_col, edit_col = st.columns(2, gap="large")
        with copy_col:
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
        with edit_col:
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
            confirming = st.session_state.get("segments_confirm_delete") == segment.name
            if not confirming:
                if st.button("Delete", key="segments_delete", icon=":material/delete:",
                             disabled=segment.prebuilt, help=help_text):
                    st.session_state["segments_confirm_delete"] = segment.name
                    st.rerun()
            else:
                st.warning("Delete this segment? It goes to the trash, and you can undo it; lists and "
                           "contacts are not affected.", icon=":material/warning:")
                answer = st.container(horizontal=True)
                if answer.button("Yes, delete it", key="segments_delete_yes", type="primary"):
                    store.delete(segment.name)
                    st.session_state["segments_undo"] = segment.name
                    st.session_state.pop("segments_confirm_delete", None)
                    st.session_state["segments_select_next"] = segments[0].name
                    st.session_state["segments_flash"] = f"Deleted '{segment.name}'."
                    st.rerun()
                if answer.button("Cancel", key="segments_delete_no"):
                    st.session_state.pop("segments_confirm_delete", None)
                    st.rerun()
