"""Lists: the workspace's lists, and the ones made here to create, rename and delete."""

from __future__ import annotations

import streamlit as st

import engagekit as ek

import state
import widgets

st.title("Lists")
state.require_data()
session = state.session()

flash = st.session_state.pop("lists_flash", None)
if flash:
    st.success(widgets.md_escape(flash), icon=":material/check_circle:")

st.caption("Lists are static: a contact stays in a list until it is taken out. Lists made here can be "
           "renamed and deleted, and segments add their members to them (on the Segments page); "
           "lists that came with an import are read-only, as the next import would undo any change.")


def act(work):
    """The result of ``work()``, or ``None`` after showing the library's error."""
    try:
        return work()
    except ek.EngagekitError as error:
        widgets.show_error(error)
        return None


def done(message: str) -> None:
    st.session_state["lists_flash"] = message
    st.rerun()


def all_lists() -> None:
    lists = session.lists()
    if lists.empty:
        st.info("No lists yet: make one below, or add a segment's members to a new list.")
        return
    st.dataframe(
        lists.assign(origin=lists["origin"].map({"import": "Imported", "workspace": "Made here"})),
        hide_index=True, key="lists_table", column_order=["name", "members", "origin"],
        column_config={
            "name": st.column_config.TextColumn("List", width="large"),
            "members": st.column_config.NumberColumn("Members", format="localized"),
            "origin": st.column_config.TextColumn("From"),
        },
    )


def create_list() -> None:
    st.markdown("**New list**")
    with st.form("lists_create", border=False, clear_on_submit=True):
        name = st.text_input("Name", key="lists_new_name", placeholder="e.g. Win-back December")
        if st.form_submit_button("Create list", icon=":material/playlist_add:"):
            made = act(lambda: session.create_list(name))
            if made:
                done(f"Created the empty list '{made.list_name}'.")


def change_list() -> None:
    st.markdown("**Change a list made here**")
    editable = session.list_names(editable=True)
    if not editable:
        st.caption("No list has been made here yet.")
        return
    chosen = st.selectbox("List", editable, key="lists_chosen")
    new_name = st.text_input("New name", key="lists_rename_name", placeholder=chosen)
    if st.button("Rename", key="lists_rename", icon=":material/edit:", disabled=not new_name.strip()):
        renamed = act(lambda: session.rename_list(chosen, new_name))
        if renamed:
            st.session_state["lists_chosen_next"] = renamed.list_name
            done(f"Renamed '{chosen}' to '{renamed.list_name}'.")
    members = int(session.lists().set_index("name").loc[chosen, "members"])
    question = (f"Delete the list '{widgets.md_escape(chosen)}' and its {members:,} memberships? The "
                "contacts stay in the workspace. This cannot be undone.")
    if widgets.confirm_delete("lists_delete", chosen, question):
        deleted = act(lambda: session.delete_list(chosen))
        if deleted:
            done(f"Deleted the list '{deleted}'.")


if "lists_chosen_next" in st.session_state:  # a renamed list stays chosen under its new name
    st.session_state["lists_chosen"] = st.session_state.pop("lists_chosen_next")
all_lists()
new_col, change_col = st.columns(2, gap="large")
with new_col:
    create_list()
with change_col:
    change_list()
