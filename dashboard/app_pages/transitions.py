"""Transitions: how contacts moved from their previous level to their current one."""

from __future__ import annotations

import streamlit as st

import engagekit as ek

import charts
import state
import widgets

st.title("Transitions")
data = state.require_data()
report = state.report()
transitions = report.transitions
st.caption(
    f"From the levels as of **{report.previous.as_of:%Y-%m-%d}** (previous) to those as of "
    f"**{report.current.as_of:%Y-%m-%d}** (current)."
)

MOVEMENT_HELP = {
    "rising": "Moved to a more engaged level.",
    "steady": "Kept their level.",
    "slipping": "Moved to a less engaged level (or can no longer be judged).",
    "new": "Were in Everyone else before and are judged now.",
}
movements = transitions.movement_counts()
total = int(movements.sum())
for column, (name, value) in zip(st.columns(len(movements)), movements.items(), strict=True):
    column.metric(name.capitalize(), f"{int(value):,}", border=True, help=MOVEMENT_HELP[name],
                  delta=f"{ek.format_share(value / total)} of contacts" if total else None, delta_color="off",
                  delta_arrow="off")

st.markdown("##### Where contacts moved")
st.caption("Previous level on the left, current level on the right; each band is a group of contacts.")
st.plotly_chart(charts.sankey(transitions.counts), key="sankey")

# --- pick a pair: click a heatmap cell or use the two selectboxes -----------------------------------
PREVIOUS_KEY, CURRENT_KEY, CHART_VERSION = "pair_previous", "pair_current", "heatmap_version"


def pair_picked_by_hand() -> None:
    st.session_state[CHART_VERSION] = st.session_state.get(CHART_VERSION, 0) + 1
    st.session_state.pop("pair_last_click", None)

st.session_state.setdefault(PREVIOUS_KEY, "most_engaged")
st.session_state.setdefault(CURRENT_KEY, "least_engaged")

matrix, picked = st.columns([3, 2], gap="large")
with matrix:
    st.subheader("Previous → current")
    st.caption("Each cell: contacts, and the share of its row (where that previous level went). "
               "Click a cell to see its contacts.")
    chosen_pair = (st.session_state[PREVIOUS_KEY], st.session_state[CURRENT_KEY])
    event = st.plotly_chart(
        charts.transition_heatmap(transitions.counts, transitions.row_shares, chosen=chosen_pair),
        # A new key after a pick in the selectboxes clears the chart's selection, so a click on
        # the cell picked before is a new click again.
        key=f"heatmap_{st.session_state.get(CHART_VERSION, 0)}", on_select="rerun",
        selection_mode="points",
    )
    points = event.selection.points if event else []
    clicked = tuple(points[0]["customdata"][:2]) if points and "customdata" in points[0] else None
    # A selection stays in the chart until another click; act on it once, when it is new, so the
    # selectboxes can still change the pair afterwards.
    if clicked and clicked != st.session_state.get("pair_last_click"):
        st.session_state["pair_last_click"] = clicked
        st.session_state[PREVIOUS_KEY], st.session_state[CURRENT_KEY] = clicked

with picked:
    st.subheader("Contacts that moved")
    left, right = st.columns(2)
    previous = left.selectbox("Previous level", ek.LEVELS, key=PREVIOUS_KEY,
                              format_func=ek.LEVEL_LABELS.get, on_change=pair_picked_by_hand)
    current = right.selectbox("Current level", ek.LEVELS, key=CURRENT_KEY,
                              format_func=ek.LEVEL_LABELS.get, on_change=pair_picked_by_hand)
    pair_name = ek.transition_name(previous, current)
    pair_count = int(transitions.counts.loc[previous, current])
    came_from = int(transitions.counts.loc[previous].sum())
    st.metric(
        pair_name, f"{pair_count:,} contacts",
        delta=f"{ek.format_share(transitions.row_shares.loc[previous, current])} of {ek.LEVEL_LABELS[previous]}"
        if came_from else None,
        delta_color="off", delta_arrow="off",
    )
    definition = ek.transition_segment(previous, current)
    name = st.text_input("Segment name", value=pair_name, key=f"pair_name_{previous}_{current}")
    st.caption(f"A dynamic segment: {definition.describe()}.")
    save, download = st.columns(2)
    if save.button("Save as segment", type="primary", key="pair_save", icon=":material/bookmark_add:"):
        try:
            saved = state.segment_store().create(name, definition)
        except ek.EngagekitError as error:
            widgets.show_error(error)
        else:
            st.session_state["segments_select_next"] = saved.name
            st.success(f"Saved segment '{widgets.md_escape(saved.name)}'.", icon=":material/check_circle:")
            st.page_link("app_pages/segments.py", label="Open it on the Segments page",
                         icon=":material/group:")
    with download:
        st.download_button(
            "Download CSV", on_click="ignore",
            data=state.deferred_export(definition, ["first_name", "last_name", "previous_level",
                                                    "current_level"]),
            file_name=widgets.csv_file_name(pair_name), mime="text/csv", key="pair_download",
            icon=":material/download:", help="Email, first name, last name and both levels of "
            "these contacts.",
        )

# Both levels are the pair picked above, the same on every row: the table shows what differs.
members = state.members(definition, ["email", "first_name", "last_name", "open_rate", "last_open_at",
                                     "last_engagement_ever_at"])
widgets.paged_table(members, key="pair_members")
