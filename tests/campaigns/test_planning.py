"""Campaign plans with a holdout: stable groups, power before sending, measured lift after."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engagekit as ek
from engagekit.campaigns.lift import measure_lift
from engagekit.campaigns.planning import _events, successes
from engagekit.campaigns.power import minimum_detectable_effect, required_size
from engagekit.data.activity import counted_events
from engagekit.data.holdout import holdout_mask
from engagekit.data.sample_winback import WINBACK, simulate_test

END = ek.as_timestamp("2026-11-30")
SEND = WINBACK.send_time(END)
TARGET = ek.where("tags", "tags", "has_any", [WINBACK.tag])


# -- holdout ------------------------------------------------------------------------------------
def test_the_holdout_is_stable_per_contact_and_seed():
    ids = np.arange(1, 20_001)
    mask = holdout_mask(ids, 0.1, seed=3)
    assert abs(mask.mean() - 0.1) < 0.01
    shuffled = np.random.default_rng(0).permutation(ids)
    assert (holdout_mask(shuffled, 0.1, seed=3) == mask[shuffled - 1]).all()  # order does not matter
    assert not (holdout_mask(ids, 0.1, seed=4) == mask).all()  # another seed, another draw
    assert (holdout_mask(ids, 0.2, seed=3) >= mask).all()  # a larger share keeps the first holdout


def test_holdouts_of_different_seeds_are_independent():
    ids = np.arange(1, 100_001)
    both = holdout_mask(ids, 0.5, seed=1) & holdout_mask(ids, 0.5, seed=2)
    assert abs(both.mean() - 0.25) < 0.01


# -- power --------------------------------------------------------------------------------------
def test_power_the_required_size_detects_the_effect_it_was_sized_for():
    total = required_size(0.05, 0.02, holdout_share=0.2)
    n_holdout = round(total * 0.2)
    assert minimum_detectable_effect(total - n_holdout, n_holdout, 0.05) == pytest.approx(0.02, abs=0.001)
    assert minimum_detectable_effect(8000, 2000, 0.05) < minimum_detectable_effect(800, 200, 0.05)
    assert minimum_detectable_effect(100, 0, 0.05) is None
    assert required_size(0.5, 0.6, holdout_share=0.2) is None  # a rate above 100 %


# -- lift ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("true_lift", [0.0, 0.05])
def test_the_interval_covers_the_true_lift_in_about_95_percent_of_tests(true_lift):
    seeds = range(400)
    covered = 0
    for seed in seeds:
        lift = measure_lift(*simulate_test(2000, baseline_rate=0.04, true_lift=true_lift,
                                           holdout_share=0.2, seed=seed))
        covered += lift.absolute_low <= true_lift <= lift.absolute_high
    assert 0.92 <= covered / len(seeds) <= 0.98


def test_a_lift_without_successes_is_not_significant():
    lift = measure_lift(0, 500, 0, 100)
    assert lift.p_value == 1.0 and not lift.significant
    assert "nothing to compare" in measure_lift(3, 10, 0, 0).summary()


# -- the sample's past win-back test -----------------------------------------------------------
@pytest.mark.parametrize("seed", [7, 11, 23])
def test_the_sample_campaign_is_measured_around_its_true_lift(tmp_path, seed):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ek.Workspace.open(url).import_dataset(ek.generate_sample(3000, seed=seed), mode="replace")
    before = ek.Session.open(url, as_of=SEND.normalize())
    plan = before.plan_campaign("Win-back", TARGET, send_date=SEND, holdout_share=WINBACK.holdout_share,
                                seed=WINBACK.seed, success_event="order", success_days=WINBACK.success_days)
    assert plan.status(before.as_of) == "planned"
    result = ek.Session.open(url, as_of=END).measure_plan("win-back")
    assert result.complete
    assert result.lift.absolute_low <= WINBACK.true_lift <= result.lift.absolute_high
    assert result.lift.holdout_size == len(plan.holdout_ids) > 0


# -- plans in the workspace -------------------------------------------------------------------
@pytest.fixture
def session(tmp_path, sample_dataset):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ek.Workspace.open(url).import_dataset(sample_dataset, mode="replace")
    return ek.Session.open(url, as_of="2026-10-15")


def test_a_plan_records_its_groups_and_leaves_the_holdout_out_of_the_audience(session):
    plan = session.plan_campaign("Spring back", "Least engaged", send_date="2026-10-16", offer="10% off",
                                 holdout_share=0.25, seed=9, success_event="open")
    members = session.members("Least engaged", ["contact_id", "email_status"])
    sendable = members.loc[members["email_status"] == "subscribed", "contact_id"]
    assert sorted(plan.members["contact_id"]) == sorted(sendable)
    audience = session.treatment_audience(plan)
    holdout_emails = session.dataset.contacts.set_index("contact_id").loc[plan.holdout_ids, "email"]
    assert not set(audience.frame["email"]) & set(holdout_emails)
    assert audience.size == len(plan.treatment_ids)
    again = session.plans()[0]
    assert again.members.equals(plan.members) and again.record.offer == "10% off"


def test_plan_names_are_unique_and_settings_checked(session):
    session.plan_campaign("Test", "Least engaged", send_date="2026-10-16")
    with pytest.raises(ek.DuplicateNameError, match="already exists"):
        session.plan_campaign("TEST", "Least engaged", send_date="2026-10-16")
    with pytest.raises(ek.ConfigError, match="holdout share"):
        session.plan_campaign("Other", "Least engaged", send_date="2026-10-16", holdout_share=0.9)
    with pytest.raises(ek.ConfigError, match="success event"):
        session.plan_campaign("Other", "Least engaged", send_date="2026-10-16", success_event="reply")


def test_status_goes_planned_sent_measured(session):
    plan = session.plan_campaign("Test", "Least engaged", send_date="2026-10-20", success_days=7)
    assert plan.status(session.as_of) == "planned"
    with pytest.raises(ek.ConfigError, match="nothing to measure"):
        session.measure_plan(plan)
    later = session.with_settings(as_of="2026-10-24")
    assert plan.status(later.as_of) == "sent"
    interim = later.measure_plan(plan, save=False)
    assert not interim.complete and interim.window_end == pd.Timestamp("2026-10-24 00:00:01")
    done = session.with_settings(as_of="2026-11-30").measure_plan(plan)
    assert done.complete and session.plan("test").status(session.as_of) == "measured"
    assert session.plan("test").result.to_json() == done.to_json()  # nan != nan, so as stored


# -- success follows the engagement rule in force ------------------------------------------------
def machine_opened_workspace(tmp_path) -> str:
    """40 contacts, two campaigns (1 October, and the plan's on 16 October), each opened by a
    machine (flagged by the source) for everyone within seconds of the send; people opened the
    first one for contacts 1-2 and the plan's one for contacts 1-4."""
    from factories import tiny_dataset

    sent = {1: "2026-10-01 10:00", 2: "2026-10-16 10:00"}
    people = {1: [1, 2], 2: [1, 2, 3, 4]}
    rows = []
    for campaign, at in sent.items():
        for contact in range(1, 41):
            rows.append((contact, campaign, "send", at, None))
            rows.append((contact, campaign, "open", str(pd.Timestamp(at) + pd.Timedelta(seconds=3)), True))
        rows += [(contact, campaign, "open", str(pd.Timestamp(at) + pd.Timedelta(hours=5)), False)
                 for contact in people[campaign]]
    data = tiny_dataset(sent, [], n_contacts=40)
    events = pd.DataFrame(rows, columns=["contact_id", "campaign_id", "event_type", "occurred_at", "machine"])
    data = ek.Dataset.from_frames(contacts=data.contacts, campaigns=data.campaigns, email_events=events)
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ek.Workspace.open(url).import_dataset(data, mode="replace")
    return url


@pytest.mark.parametrize(("engagement", "baseline", "opened"), [
    ("confirmed_opens", 2 / 40, 4),  # machine opens left out: only people count
    ("all_opens", 1.0, 40),
])
def test_open_success_counts_opens_as_the_engagement_rule_does(tmp_path, engagement, baseline, opened):
    url = machine_opened_workspace(tmp_path)
    everyone = ek.where("contact", "email_status", "is", ["subscribed"])
    before = ek.Session.open(url, as_of="2026-10-15", changes={"engagement": engagement})
    plan = before.plan_campaign("Wake up", everyone, send_date="2026-10-16", success_event="open",
                                success_days=14, holdout_share=0.25, seed=1)
    assert before.plan_power(plan).baseline_rate == pytest.approx(baseline)
    lift = before.with_settings(as_of="2026-11-30").measure_plan(plan, save=False).lift
    assert lift.treatment_successes + lift.holdout_successes == opened


# -- success counting: the activity index against the counted events --------------------------------

SAMPLES = {seed: ek.generate_sample(150, seed=seed) for seed in (3, 4)}


@settings(max_examples=60, deadline=None)
@given(seed=st.sampled_from(sorted(SAMPLES)), event=st.sampled_from(["open", "click"]),
       start_days=st.integers(0, 200), length_seconds=st.integers(0, 40 * 86_400),
       engagement=st.sampled_from(["all_opens", "confirmed_opens", "clicks_only"]),
       scanner_clicks=st.booleans(), orders=st.booleans())
def test_successes_on_whole_seconds_equal_the_counted_events(seed, event, start_days, length_seconds,
                                                            engagement, scanner_clicks, orders):
    """The index path (bounds on whole seconds) finds exactly the contacts the event path finds."""
    data = SAMPLES[seed]
    config = ek.EngagementConfig(engagement=engagement, count_scanner_clicks=scanner_clicks,
                                 count_orders=orders)
    start = data.campaigns["sent_at"].max().floor("D") - pd.Timedelta(days=start_days)
    end = start + pd.Timedelta(seconds=length_seconds)
    kinds = ("click",) if event == "click" else ("open", "click")
    counted = counted_events(data, config.for_email_activity())
    expected = np.isin(data.contact_ids, _events(counted, kinds, start, end).to_numpy(np.int64))
    found = successes(data, data.contact_ids, event, start, end, config=config)
    assert found.tolist() == expected.tolist()
