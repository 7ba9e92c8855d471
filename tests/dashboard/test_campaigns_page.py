"""The Campaigns page: plan from a segment with its power, then measure a past campaign."""

from __future__ import annotations

import engagekit as ek
from engagekit.data.sample_winback import WINBACK

from dashboard_support import APP, APP_TIMEOUT_SECONDS

TARGET = ek.where("tags", "tags", "has_any", [WINBACK.tag])


def open_page(at_factory=None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    at.run()
    at.switch_page("app_pages/campaigns.py").run()
    assert not at.exception, at.exception
    return at


def metrics(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_plan_a_campaign_shows_the_groups_and_power_and_saves_it(workspace_url):
    at = open_page()
    at.slider(key="plan_holdout").set_value(20).run()
    shown = metrics(at)
    session = ek.Session.open(workspace_url)
    audience, holdout, power = session.draft_plan("Least engaged", holdout_share=0.2, seed=0)
    assert shown["Can be emailed"] == f"{len(audience):,}"
    assert shown["Held out"] == f"{int(holdout.sum()):,}"
    assert any(power.summary() in info.value for info in at.info)
    at.text_input[0].set_value("Winter win-back")
    at.button(key="FormSubmitter:plan_save-Save the plan").click().run()
    assert not at.exception, at.exception
    assert "Saved 'Winter win-back'" in at.success[0].value.replace("\\", "")
    plan = ek.Session.open(workspace_url).plan("winter win-back")
    assert len(plan.holdout_ids) == int(holdout.sum())
    assert at.segmented_control(key="campaigns_view").value == "Plans and results"  # the view stays


def test_measure_a_past_campaign_shows_the_lift(workspace_url):
    send = WINBACK.send_time(ek.as_timestamp("2026-11-30"))
    ek.Session.open(workspace_url, as_of=send.normalize()).plan_campaign(
        "Win-back", TARGET, send_date=send, holdout_share=WINBACK.holdout_share, seed=WINBACK.seed,
        success_event="order", success_days=WINBACK.success_days)
    at = open_page()
    at.segmented_control(key="campaigns_view").set_value("Plans and results").run()
    at.button(key="plan_measure").click().run()
    assert not at.exception, at.exception
    result = ek.Session.open(workspace_url).plan("Win-back").result
    assert result is not None and result.complete
    shown = metrics(at)
    assert shown["Lift"] == f"{100 * result.lift.absolute:+.1f} points"
    assert shown["Held out: success"] == f"{result.lift.holdout_rate:.1%}"
    assert len(at.get("plotly_chart")) == 2


def test_the_sunset_simulation_follows_the_rule_and_makes_the_last_chance_list(workspace_url):
    at = open_page()
    at.segmented_control(key="campaigns_view").set_value("Sunset policy").run()
    at.number_input(key="sunset_sends").set_value(6).run()
    at.number_input(key="sunset_days").set_value(90).run()
    assert not at.exception, at.exception
    simulation = ek.Session.open(workspace_url).sunset(ek.SunsetRule(unengaged_sends=6, unengaged_days=90))
    assert metrics(at)["Would be suppressed"] == f"{simulation.suppressed:,}"
    at.text_input(key="sunset_list").set_value("Last chance").run()
    at.button(key="sunset_add").click().run()
    assert not at.exception, at.exception
    members = ek.Workspace.open(workspace_url).lists.list().set_index("name").loc["Last chance", "members"]
    assert members == simulation.suppressed > 0
    assert at.segmented_control(key="campaigns_view").value == "Sunset policy"


def test_the_slip_risk_view_shows_the_backtest(workspace_url):
    at = open_page()
    at.segmented_control(key="campaigns_view").set_value("Slip risk").run()
    assert not at.exception, at.exception
    backtest = ek.Session.open(workspace_url).slip_risk().backtest
    assert metrics(at)["ROC AUC"] == f"{backtest.auc:.2f}"
    assert len(at.get("plotly_chart")) == 1
