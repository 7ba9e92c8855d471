"""Campaigns: plan a campaign with a holdout, check its power, export the audience, measure it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import engagekit as ek

import charts
import state
import widgets

VIEW = "campaigns_view"
PLAN_VIEW, RESULTS_VIEW, SUNSET_VIEW, RISK_VIEW = ("Plan a campaign", "Plans and results", "Sunset policy",
                                                   "Slip risk")
SUCCESS_LABELS = {"open": "Opened an email", "click": "Clicked an email", "order": "Placed an order"}

st.title("Campaigns")
state.require_data()
session = state.session()
as_of = session.as_of

flash = st.session_state.pop("campaigns_flash", None)
if flash:
    st.success(widgets.md_escape(flash), icon=":material/check_circle:")

st.caption("Email a segment but hold a random share back: after the campaign, the difference between "
           "the two groups is what the email did.")
view = widgets.view_picker(VIEW, [PLAN_VIEW, RESULTS_VIEW, SUNSET_VIEW, RISK_VIEW])


def plan_form() -> None:
    segments = {segment.name: segment for segment in session.segments()}
    left, right = st.columns(2, gap="large")
    with left:
        segment_name = st.selectbox("Segment", list(segments), key="plan_segment",
                                    index=list(segments).index("Least engaged"))
        success = st.radio("Success", list(SUCCESS_LABELS), format_func=SUCCESS_LABELS.get,
                           horizontal=True, key="plan_success", index=1,
                           help="What counts as a win for a contact, in either group.")
        days = st.number_input("Success window (days after the send)", 1, 365, 14, key="plan_days")
    with right:
        share = st.slider("Holdout", 5, 50, 10, step=5, format="%d%%", key="plan_holdout",
                          help="The share of the audience that is not emailed.") / 100
        seed = st.number_input("Holdout seed", 0, 2**31 - 1, 0, key="plan_seed",
                               help="The same seed always holds out the same contacts.")
        effect = st.number_input("Effect you hope for (points)", 0.1, 50.0, 2.0, step=0.5,
                                 key="plan_effect", help="An absolute rise of the success rate.")
    segment = segments[segment_name]
    try:
        audience, holdout, power = session.draft_plan(segment, holdout_share=share, seed=int(seed),
                                                      success_event=success, success_days=int(days))
    except ek.EngagekitError as error:
        widgets.show_error(error)
        return
    sizes = st.columns(4)
    sizes[0].metric("Can be emailed", f"{len(audience):,}", border=True)
    sizes[1].metric("To email", f"{power.treatment_size:,}", border=True)
    sizes[2].metric("Held out", f"{power.holdout_size:,}", border=True)
    sizes[3].metric("Baseline success", f"{ek.format_share(power.baseline_rate)}", border=True,
                    help=f"The audience's own rate over the last {int(days)} days.")
    st.info(power.summary(), icon=":material/query_stats:")
    needed = power.size_for(effect / 100)
    if needed:
        enough = needed <= len(audience)
        st.caption(f"To detect a rise of {effect:g} points, the test needs {needed:,} contacts in all"
                   + (": this audience is large enough." if enough else
                      f"; this audience has {len(audience):,}. Use a larger segment or a larger holdout."))

    with st.form("plan_save", border=True):
        name_col, offer_col, date_col = st.columns([2, 2, 1])
        name = name_col.text_input("Plan name", placeholder=f"{segment.name} win-back")
        offer = offer_col.text_input("Offer", placeholder="e.g. 15% off your next order")
        send_date = date_col.date_input("Send date", value=(as_of + pd.Timedelta(days=2)).date())
        if st.form_submit_button("Save the plan", type="primary", icon=":material/save:"):
            try:
                saved = session.plan_campaign(name, segment, send_date=send_date, offer=offer,
                                              holdout_share=share, seed=int(seed),
                                              success_event=success, success_days=int(days))
            except ek.EngagekitError as error:
                widgets.show_error(error)
            else:
                st.session_state["campaigns_flash"] = f"Saved {saved.describe()}"
                st.session_state["campaigns_chosen"] = saved.name
                st.session_state["campaigns_view_next"] = RESULTS_VIEW
                st.rerun()


def plans_view() -> None:
    plans = session.plans()
    if not plans:
        st.info("No plans yet: plan one in **Plan a campaign**.")
        return
    table = pd.DataFrame([{
        "Plan": plan.name, "Status": plan.status(as_of).capitalize(), "Segment": plan.record.segment_name,
        "Send date": plan.record.send_date.date(), "Emailed": len(plan.treatment_ids),
        "Held out": len(plan.holdout_ids),
        "Lift (points)": None if plan.result is None else 100 * plan.result.lift.absolute,
    } for plan in plans])
    st.dataframe(table, hide_index=True, key="plans_table", column_config={
        "Emailed": st.column_config.NumberColumn(format="localized"),
        "Held out": st.column_config.NumberColumn(format="localized"),
        "Lift (points)": st.column_config.NumberColumn(format="%+.1f"),
    })
    names = [plan.name for plan in plans]
    if st.session_state.get("campaigns_chosen") not in names:
        st.session_state["campaigns_chosen"] = names[0]
    chosen = st.selectbox("Plan", names, key="campaigns_chosen")
    plan = next(p for p in plans if p.name == chosen)
    plan_details(plan)


def plan_details(plan) -> None:
    record = plan.record
    with st.container(border=True):
        st.subheader(widgets.md_escape(record.name), anchor=False)
        st.caption(f"{plan.status(as_of).capitalize()} · sent {record.send_date:%Y-%m-%d} · success: "
                   f"{SUCCESS_LABELS[record.success_event].lower()} within {record.success_days} days"
                   + (f" · offer: {record.offer}" if record.offer else ""))
        st.text(plan.describe())
        audience = session.treatment_audience(plan)
        left_out = ", ".join(f"{n:,} {status}" for status, n in audience.left_out.items() if n)
        st.write(f"Send-ready audience: **{audience.size:,}** contacts to email; the "
                 f"{len(plan.holdout_ids):,} held out are left out"
                 + (f", and so are {left_out}." if left_out else "."))
        bound = state.session()
        st.download_button("Download the audience to email", data=lambda: bound.treatment_audience(plan).to_csv(),
                           file_name=widgets.csv_file_name(record.name, "-audience"), mime="text/csv",
                           on_click="ignore", icon=":material/send:", key="plan_download")
        results(plan)
        delete_plan(plan)


def results(plan) -> None:
    st.markdown("##### Result")
    if plan.status(as_of) == "planned":
        st.caption(f"Measure after the send ({plan.record.send_date:%Y-%m-%d}) once its activity is imported.")
        return
    if st.button("Measure now", key="plan_measure", icon=":material/analytics:",
                 help=f"Compare the two groups with the data as of {as_of:%Y-%m-%d %H:%M}."):
        try:
            session.measure_plan(plan)
        except ek.EngagekitError as error:
            widgets.show_error(error)
            return
        st.session_state["campaigns_flash"] = f"Measured '{plan.name}' as of {as_of:%Y-%m-%d}."
        st.rerun()
    result = plan.result
    if result is None:
        st.caption("Not measured yet.")
        return
    lift = result.lift
    if not result.complete:
        st.warning(f"Interim result: the success window runs to {plan.window_end:%Y-%m-%d}.",
                   icon=":material/schedule:")
    cols = st.columns(3)
    cols[0].metric("Emailed: success", f"{ek.format_share(lift.treatment_rate)}",
                   f"{lift.treatment_successes:,} of {lift.treatment_size:,}", delta_color="off",
                   delta_arrow="off", border=True)
    cols[1].metric("Held out: success", f"{ek.format_share(lift.holdout_rate)}",
                   f"{lift.holdout_successes:,} of {lift.holdout_size:,}", delta_color="off",
                   delta_arrow="off", border=True)
    cols[2].metric("Lift", f"{100 * lift.absolute:+.1f} points",
                   f"95% interval {100 * lift.absolute_low:+.1f} to {100 * lift.absolute_high:+.1f}",
                   delta_color="off", delta_arrow="off", border=True)
    st.write(lift.summary())
    chart, rates = st.columns([3, 2])
    chart.plotly_chart(charts.lift_chart(lift), key="lift_chart")
    rates.plotly_chart(charts.success_rates(lift), key="success_rates")
    guardrails = pd.DataFrame({
        "Guardrail": ["Unsubscribes", "Bounces"],
        "Emailed": [result.unsubscribe_rates["treatment"], result.bounce_rates["treatment"]],
        "Held out": [result.unsubscribe_rates["holdout"], result.bounce_rates["holdout"]],
    })
    st.dataframe(guardrails, hide_index=True, key="guardrails", column_config={
        "Emailed": widgets.share_column("Emailed"),
        "Held out": widgets.share_column("Held out"),
    })
    for warning in result.guardrail_warnings():
        st.warning(warning, icon=":material/warning:")


def delete_plan(plan) -> None:
    if widgets.confirm_delete("plan_delete", plan.name, "Delete this plan, its recorded groups and its "
                              "result?", label="Delete plan"):
        state.workspace().plans.delete(plan.record.id)
        st.session_state["campaigns_flash"] = f"Deleted '{plan.name}'."
        st.rerun()


def sunset_view() -> None:
    st.caption("Contacts who ignore email for long hurt deliverability for everyone else. Simulate a "
               "rule before applying it: who it would suppress and what they still bring.")
    default = ek.SunsetRule()
    sends_col, days_col = st.columns(2, gap="large")
    sends = sends_col.number_input("Unengaged emails", 1, 1000, default.unengaged_sends, key="sunset_sends",
                                   help="Emails sent since the contact last opened or clicked.")
    days = days_col.number_input("Unengaged days", 1, 3650, default.unengaged_days, key="sunset_days",
                                 help="Days since the contact last opened or clicked.")
    rule = ek.SunsetRule(unengaged_sends=int(sends), unengaged_days=int(days))
    simulation = session.sunset(rule)
    st.info(simulation.summary(), icon=":material/wb_twilight:")
    cols = st.columns(4)
    cols[0].metric("Would be suppressed", f"{simulation.suppressed:,}", border=True,
                   help="Subscribed contacts that meet both thresholds.")
    cols[1].metric("At risk", f"{simulation.at_risk:,}", border=True,
                   help="Within 3 emails and 30 days of the rule.")
    cols[2].metric("Their share of orders", f"{ek.format_share(simulation.order_share)}", border=True,
                   help="Of the orders of the last 365 days.")
    cols[3].metric("Engaged share after", f"{ek.format_share(simulation.engaged_share_after)}",
                   f"{100 * (simulation.engaged_share_after - simulation.engaged_share_before):+.1f} points",
                   border=True, help="Emailed contacts that engaged in the last 90 days.")
    statuses = simulation.table["sunset_status"].value_counts()
    counts = pd.DataFrame({"Status": list(ek.SUNSET_STATUSES.values()),
                           "Contacts": [int(statuses.get(key, 0)) for key in ek.SUNSET_STATUSES]})
    st.dataframe(counts, hide_index=True, key="sunset_counts",
                 column_config={"Contacts": st.column_config.NumberColumn(format="localized")})
    export_col, list_col = st.columns(2, gap="large")
    with export_col:
        st.markdown("**Suppression list**")
        st.write("The contacts to stop emailing, to upload to your email tool's suppression list.")
        bound = state.session()
        st.download_button("Download the suppression list", data=lambda: ek.to_safe_csv(bound.suppression_frame(rule)),
                           file_name=f"sunset-{rule.unengaged_sends}-emails-{rule.unengaged_days}-days.csv",
                           mime="text/csv", on_click="ignore", icon=":material/block:", key="sunset_download")
    with list_col:
        st.markdown("**Last chance first**")
        st.write("Send them a final two or three emails before suppressing them: copy them into a list.")
        name = st.text_input("List name", value=f"Last chance {as_of:%Y-%m-%d}", key="sunset_list")
        if st.button("Add them to the list", key="sunset_add", icon=":material/playlist_add:",
                     disabled=not name.strip()):
            try:
                result = session.add_last_chance_list(name, rule)
            except ek.EngagekitError as error:
                widgets.show_error(error)
            else:
                st.session_state["campaigns_flash"] = result.summary()
                st.rerun()


def risk_view() -> None:
    st.caption("The chance that a judged contact drops a level over the next period, learnt from this "
               "workspace's own history. Add the **Slip risk** column to a segment's members to use it.")
    try:
        with st.spinner("Learning slip risk from the history…"):
            risk = session.slip_risk()
    except ek.EngagekitError as error:
        widgets.show_error(error)
        return
    backtest = risk.backtest
    cols = st.columns(3)
    cols[0].metric("ROC AUC", f"{backtest.auc:.2f}", f"baseline {backtest.baseline_auc:.2f}",
                   delta_color="off", delta_arrow="off", border=True,
                   help="How well the risk ranks who slipped (0.5 is chance); the baseline ranks by "
                   "days since last engagement.")
    cols[1].metric("Top tenth: slipped", f"{ek.format_share(backtest.top_decile_precision)}",
                   f"baseline {ek.format_share(backtest.baseline_top_decile_precision)}", delta_color="off",
                   delta_arrow="off", border=True)
    cols[2].metric("Slipped overall", f"{ek.format_share(backtest.slipped / backtest.contacts)}",
                   f"{backtest.slipped:,} of {backtest.contacts:,}", delta_color="off", delta_arrow="off",
                   border=True)
    st.write(backtest.summary())
    st.plotly_chart(charts.calibration(backtest.calibration), key="risk_calibration")


if view == PLAN_VIEW:
    plan_form()
elif view == RESULTS_VIEW:
    plans_view()
elif view == SUNSET_VIEW:
    sunset_view()
else:
    risk_view()
