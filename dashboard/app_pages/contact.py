"""Contact: one contact's profile, both levels explained, its activity, lists and segments."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import engagekit as ek

import charts
import state
import widgets

st.title("Contact")
state.require_data()
session = state.session()

# The address comes from a link in a members table (?email=...), or is typed here.
if "email" in st.query_params and "contact_email" not in st.session_state:
    st.session_state["contact_email"] = st.query_params["email"]
email = st.text_input("Email address", key="contact_email", placeholder="name@example.com",
                      help="Find a contact by its email address (any case).")
if not email.strip():
    st.info("Type an email address, or open a contact from any members table.", icon=":material/search:")
    st.stop()
try:
    card = session.contact_card(email)
except ek.EngagekitError as error:
    widgets.show_error(error)
    st.stop()
st.query_params["email"] = card.profile["email"]  # a link to this page shows this contact

profile = card.profile
name = " ".join(part for part in (profile.get("first_name"), profile.get("last_name"))
                if isinstance(part, str) and part) or profile["email"]
st.subheader(widgets.md_escape(name), anchor=False)
explanations = {previous: session.explain(card.contact_id, previous=previous) for previous in (False, True)}
in_window = explanations[False].features["last_open_at"]
facts = st.columns(5)
widgets.fact(facts[0], "Status", str(profile["email_status"]).capitalize())
added = profile.get("date_added")
widgets.fact(facts[1], "On the list since", f"{added:%Y-%m-%d}" if pd.notna(added) else "Unknown")
widgets.fact(facts[2], "Last engagement (ever)",
             f"{card.last_engaged_at:%Y-%m-%d}" if card.last_engaged_at else "Never",
             help="Its last counted open or click, however long ago (up to the as-of date).")
widgets.fact(facts[3], "Last engagement (in window)", f"{in_window:%Y-%m-%d}" if pd.notna(in_window) else "None",
             help=f"Its last open or click of the emails of the last {session.config.lookback_days} "
             "days, the ones its level is judged on (a click counts as an open).")
orders = card.timeline[card.timeline["what"] == ek.EVENT_LABELS["order"]]
widgets.fact(facts[4], "Orders", ek.format_count(len(orders)), note=f"{orders['amount'].sum():,.2f} spent")

now, before = st.columns(2, gap="large")
for column, previous, title in ((now, False, "Current level"), (before, True, "Previous level")):
    explanation = explanations[previous]
    levels = session.report.previous if previous else session.report.current
    with column, st.container(border=True):
        st.markdown(f"**{title}** (as of {levels.as_of:%Y-%m-%d}): **{ek.LEVEL_LABELS[explanation.level]}**")
        st.markdown("\n".join(f"- {widgets.md_escape(reason)}" for reason in explanation.reasons))

details, memberships = st.columns([2, 1], gap="large")
with details:
    st.markdown("##### Activity")
    timeline = card.timeline
    if timeline.empty:
        st.caption("No email activity or order up to the as-of date.")
    else:
        st.plotly_chart(charts.activity_timeline(timeline), key="contact_timeline")
        st.dataframe(timeline, hide_index=True, key="contact_activity", placeholder="", column_config={
            "at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
            "what": "What", "campaign": "Campaign",
            "amount": st.column_config.NumberColumn("Amount", format="%.2f"),
        })
with memberships:
    st.markdown("##### Segments")
    st.write(", ".join(card.segments) if card.segments else "None.")
    st.markdown("##### Lists")
    st.write(", ".join(card.lists) if card.lists else "None.")
    st.markdown("##### Tags")
    st.write(", ".join(card.tags) if card.tags else "None.")
    custom = {ek.field_label(key): value for key, value in profile.items()
              if key in session.dataset.custom_fields and pd.notna(value)}
    if custom:
        st.markdown("##### Details")
        st.dataframe(pd.DataFrame({"Field": list(custom), "Value": [str(v) for v in custom.values()]}),
                     hide_index=True, key="contact_fields")
