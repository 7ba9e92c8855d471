"""Overview: how many contacts sit in each level, how that changed, and why."""

from __future__ import annotations

import numpy as np
import streamlit as st

import engagekit as ek

import charts
import state
import widgets

st.title("Engagement overview")
state.require_data()
chosen = state.settings()
report = state.report(chosen)
current, previous = report.current, report.previous
changes = report.level_changes()
config = chosen.config

st.caption(
    f"Levels as of **{current.as_of:%Y-%m-%d %H:%M}** compared with **{previous.as_of:%Y-%m-%d %H:%M}** "
    f"({config.previous_period_days} days earlier). Change the date and rules on *Data and settings*."
)

total, judged, before_judged = len(current.table), current.n_judged, previous.n_judged
top = st.columns(3)
top[0].metric("Contacts", f"{total:,}", border=True, height="stretch")  # as tall as its neighbours
top[1].metric(
    "Judged contacts", f"{judged:,}", delta=f"{ek.format_change(judged - before_judged)} vs previous",
    delta_color="off", delta_arrow="auto" if judged != before_judged else "off", border=True,
    height="stretch", help=f"Contacts with at least {config.min_sends} eligible sends in the window; "
    "the others are in Everyone else.",
)
movements = report.transitions.movement_counts()
top[2].metric(
    "Slipping / rising", f"{int(movements['slipping']):,} / {int(movements['rising']):,}",
    delta_color="off", border=True, height="stretch",
    help="Contacts that moved down / up a level since the previous date. "
    "See Transitions for the details.",
)

# Higher is better for the engaged levels, worse for least engaged; everyone else is neutral.
DELTA_COLORS = {"most_engaged": "normal", "somewhat_engaged": "normal",
                "least_engaged": "inverse", "everyone_else": "off"}
cards = st.columns(len(ek.LEVELS))
for card, row in zip(cards, changes.itertuples(), strict=True):
    points = (row.current_share - row.previous_share) * 100
    card.metric(
        row.label, f"{row.current:,}", delta=f"{ek.format_change(row.change)} vs previous",
        delta_color=DELTA_COLORS[row.level] if row.change else "off",
        delta_arrow="auto" if row.change else "off", border=True, height="stretch",
        help=f"{ek.format_share(row.current_share)} of contacts now, "
        f"{ek.format_share(row.previous_share)} before ({points:+.1f} points).",
    )
    card.caption(f"{ek.format_share(row.current_share)} of contacts · {points:+.1f} pts")

left, right = st.columns(2, gap="large")
with left:
    st.markdown("##### Contacts per level")
    st.caption("Pale: previous; solid: current.")
    st.plotly_chart(charts.level_bars(changes), key="level_bars")
with right:
    st.markdown("##### Score of judged contacts")
    st.caption("Dashed lines: the score cuts between the levels.")
    scores = ek.judged_scores(current.table["score"].to_numpy(), current.table["eligible_sends"].to_numpy(),
                              config.min_sends)
    scores = scores[~np.isnan(scores)]
    cuts = current.thresholds
    if not len(scores):
        st.info(f"Nobody is judged yet: no contact received {config.min_sends} emails in the "
                f"{config.lookback_days} days before the as-of date. Lower the minimum sends or "
                "pick another date on *Data and settings*.", icon=":material/info:")
    else:
        st.plotly_chart(charts.score_histogram(scores, cuts.least_engaged_max, cuts.most_engaged_min),
                        key="score_histogram")

st.markdown("##### Level shares over time")
st.caption(f"Monthly, over the {state.HISTORY_MONTHS} months to the as-of date, with the settings in force.")
st.plotly_chart(charts.share_history(state.history()), key="share_history")

with st.expander("What the levels mean", expanded=False, icon=":material/help:"):
    st.markdown(
        f"""
Every contact gets a **score**: opens and clicks per email received in the last
{config.lookback_days} days (a click weighs {config.click_weight:g}, an open {config.open_weight:g};
emails from the last {config.exclusion_hours:g} hours are left out, as recipients have not had time to
react). Contacts with at least {config.min_sends} such emails are **judged** and cut by their score:

- **Most engaged**: the top {ek.format_share(config.most_engaged_share, decimals=None)} of judged contacts.
- **Somewhat engaged**: the judged contacts in between.
- **Least engaged**: the bottom {ek.format_share(config.least_engaged_share, decimals=None)}; a judged
  contact that neither opened nor clicked is always here.
- **Everyone else**: too few emails to judge: new contacts and contacts not emailed lately.

Equal scores always share a level. The previous level is computed the same way
{config.previous_period_days} days earlier.
"""
    )

st.subheader("Why is a contact in its level?")
email = st.text_input("Contact email", placeholder="name@example.com", key="lookup_email")
if email:
    contact_id = state.contact_by_email(email)
    if contact_id is None:
        st.warning("No contact has this email address in the workspace.")
    else:
        session = state.session(chosen)
        now, before = st.columns(2)
        for column, previous, title in ((now, False, "Now"), (before, True, "Previous")):
            explanation = session.explain(contact_id, previous=previous)
            with column, st.container(border=True):
                st.markdown(f"**{title}: {ek.LEVEL_LABELS[explanation.level]}**")
                st.markdown("\n".join(f"- {widgets.md_escape(reason)}" for reason in explanation.reasons))
        st.markdown(f"[Open the contact's page]({widgets.contact_link(email.strip().lower())}) for its "
                    "activity, lists and segments.")
