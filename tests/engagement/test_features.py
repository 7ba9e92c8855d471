"""Features as of T, with hand-computed cases at every boundary of the window."""

import numpy as np
import pandas as pd
import pytest

from engagekit.config import EVERY_OPEN_AND_CLICK, EngagementConfig
from engagekit.engagement.features import compute_features, last_engagement_ever

from factories import tiny_dataset

T = "2026-11-30T12:00:00"


def features_of(campaigns, events, **kwargs):
    table = compute_features(tiny_dataset(campaigns, events).activity, as_of=T, **kwargs)
    return table.set_index("contact_id")


def test_send_exactly_24_hours_before_counts_and_23h59_does_not():
    table = features_of(
        {1: "2026-11-29T12:00:00", 2: "2026-11-29T12:01:00"},
        [(1, 1, "send", "2026-11-29T12:00:00"), (1, 2, "send", "2026-11-29T12:01:00")],
    )
    assert table.loc[1, "eligible_sends"] == 1


def test_window_start_is_exclusive_and_end_inclusive():
    table = features_of(
        {1: "2026-09-01T12:00:00", 2: "2026-09-01T12:00:01"},
        [(1, 1, "send", "2026-09-01T12:00:00"), (1, 2, "send", "2026-09-01T12:00:01")],
    )
    assert table.loc[1, "eligible_sends"] == 1


def test_open_after_as_of_does_not_count():
    table = features_of(
        {1: "2026-11-01"},
        [(1, 1, "send", "2026-11-01"), (1, 1, "open", "2026-11-30T12:00:01"),
         (2, 1, "send", "2026-11-01"), (2, 1, "open", "2026-11-30T12:00:00")],
    )
    assert table.loc[1, "opened"] == 0
    assert table.loc[2, "opened"] == 1


def test_open_of_campaign_outside_window_does_not_count():
    table = features_of(
        {1: "2026-08-01", 2: "2026-11-01"},
        [(1, 1, "send", "2026-08-01"), (1, 1, "open", "2026-11-02"), (1, 2, "send", "2026-11-01")],
    )
    assert table.loc[1, "eligible_sends"] == 1
    assert table.loc[1, "opened"] == 0
    assert np.isnan(table.loc[1, "days_since_last_engagement"])


def test_the_last_engagement_ever_looks_before_the_window_and_not_after_as_of():
    dataset = tiny_dataset(
        {1: "2026-03-01", 2: "2026-11-01", 3: "2026-11-20"},
        [(1, 1, "send", "2026-03-01"), (1, 1, "click", "2026-03-02T08:00:00"),
         (1, 2, "send", "2026-11-01"),
         (2, 1, "send", "2026-03-01"), (2, 3, "send", "2026-11-20"), (2, 3, "open", "2026-11-21T06:00:00"),
         (2, 1, "open", "2026-12-05"),  # after the as-of time: not yet
         (3, 2, "send", "2026-11-01")],
    )
    ever = last_engagement_ever(dataset.activity, as_of=T).set_index("contact_id")
    window = compute_features(dataset.activity, as_of=T).set_index("contact_id")
    assert ever.loc[1, "last_engagement_ever_at"] == pd.Timestamp("2026-03-02T08:00:00")
    assert ever.loc[1, "days_since_last_engagement_ever"] == pytest.approx(273 + 4 / 24)
    assert pd.isna(window.loc[1, "last_open_at"])  # the click was before the window
    assert ever.loc[2, "last_engagement_ever_at"] == window.loc[2, "last_open_at"] == \
        pd.Timestamp("2026-11-21T06:00:00")
    assert pd.isna(ever.loc[3, "last_engagement_ever_at"])
    assert np.isnan(ever.loc[3, "days_since_last_engagement_ever"])


def test_opens_and_clicks_of_excluded_recent_campaign_do_not_count():
    table = features_of(
        {1: "2026-11-30T00:00:00"},
        [(1, 1, "send", "2026-11-30T00:00:00"), (1, 1, "click", "2026-11-30T01:00:00")],
    )
    assert table.loc[1, ["eligible_sends", "opened", "clicked"]].tolist() == [0, 0, 0]
    assert pd.isna(table.loc[1, "last_click_at"])


def test_click_counts_as_open_and_repeat_opens_count_once():
    table = features_of(
        {1: "2026-11-01", 2: "2026-11-08", 3: "2026-11-15", 4: "2026-11-22"},
        [(1, c, "send", d) for c, d in [(1, "2026-11-01"), (2, "2026-11-08"), (3, "2026-11-15"), (4, "2026-11-22")]]
        + [(1, 1, "open", "2026-11-01T05:00"), (1, 1, "open", "2026-11-03T05:00"),
           (1, 2, "click", "2026-11-09T00:00")],
    )
    row = table.loc[1]
    assert (row["eligible_sends"], row["opened"], row["clicked"]) == (4, 2, 1)
    assert row["open_rate"] == pytest.approx(0.5)
    assert row["click_rate"] == pytest.approx(0.25)
    # default weights: (1 x 2 opens + 2 x 1 click) / 4 sends
    assert row["score"] == pytest.approx(1.0)
    assert row["last_open_at"] == pd.Timestamp("2026-11-09")
    assert row["last_click_at"] == pd.Timestamp("2026-11-09")
    assert row["days_since_last_engagement"] == pytest.approx(21.5)
    assert row["sends_since_last_engagement"] == 2


def test_open_without_send_record_implies_the_send_and_bounces_count():
    table = features_of(
        {1: "2026-11-01", 2: "2026-11-08"},
        [(1, 1, "open", "2026-11-02"), (2, 2, "send", "2026-11-08"), (2, 2, "bounce", "2026-11-08T00:01")],
    )
    assert table.loc[1, ["eligible_sends", "opened"]].tolist() == [1, 1]
    assert table.loc[2, "bounces"] == 1
    assert table.loc[3, "eligible_sends"] == 0
    assert np.isnan(table.loc[3, "open_rate"])
    assert table.loc[3, "score"] == 0


def test_weights_and_lookback_are_configurable():
    config = EngagementConfig(lookback_days=10, exclusion_hours=0, open_weight=1, click_weight=5)
    table = features_of(
        {1: "2026-11-10", 2: "2026-11-25", 3: "2026-11-30T11:00"},
        [(1, 1, "send", "2026-11-10"), (1, 2, "send", "2026-11-25"), (1, 3, "send", "2026-11-30T11:00"),
         (1, 3, "click", "2026-11-30T11:30")],
        config=config,
    )
    assert table.loc[1, "eligible_sends"] == 2
    assert table.loc[1, "score"] == pytest.approx((1 + 5) / 2)


def test_last_open_is_the_latest_up_to_as_of_when_a_campaign_is_reopened_later():
    table = features_of(
        {1: "2026-11-01", 2: "2026-11-05"},
        [(1, 1, "send", "2026-11-01"), (1, 1, "open", "2026-11-02"), (1, 1, "open", "2026-11-20"),
         (1, 1, "click", "2026-12-05"), (1, 2, "send", "2026-11-05")],
    )
    assert table.loc[1, "last_open_at"] == pd.Timestamp("2026-11-20")
    assert pd.isna(table.loc[1, "last_click_at"])
    assert table.loc[1, "clicked"] == 0
    # campaign 2 was sent before the last engagement, so no send since
    assert table.loc[1, "sends_since_last_engagement"] == 0


def reference_features(dataset, as_of, config):
    """The feature rules written plainly with pandas, event by event."""
    t = pd.Timestamp(as_of)
    start, end = t - pd.Timedelta(days=config.lookback_days), t - pd.Timedelta(hours=config.exclusion_hours)
    campaigns = dataset.campaigns.set_index("campaign_id")["sent_at"]
    events = dataset.email_events.assign(sent_at=lambda f: f["campaign_id"].map(campaigns))
    events = events[(events["sent_at"] > start) & (events["sent_at"] <= end) & (events["occurred_at"] <= t)]
    rows = []
    for contact_id in dataset.contacts["contact_id"]:
        mine = events[events["contact_id"] == contact_id]
        engaged = mine[mine["event_type"].isin(["open", "click"])]
        clicks = mine[mine["event_type"] == "click"]
        sends = mine["campaign_id"].nunique()
        last = engaged["occurred_at"].max()
        sent_times = mine.drop_duplicates("campaign_id")["sent_at"]
        rows.append({
            "contact_id": contact_id,
            "eligible_sends": sends,
            "opened": engaged["campaign_id"].nunique(),
            "clicked": clicks["campaign_id"].nunique(),
            "bounces": mine.loc[mine["event_type"] == "bounce", "campaign_id"].nunique(),
            "last_open_at": last,
            "last_click_at": clicks["occurred_at"].max(),
            "sends_since_last_engagement": int((sent_times > last).sum()) if pd.notna(last) else sends,
        })
    return pd.DataFrame(rows)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

event_rows = st.lists(
    st.tuples(st.integers(1, 4), st.integers(1, 6), st.sampled_from(["send", "open", "click", "bounce"]),
              st.integers(0, 80 * 24)),
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(event_rows, st.integers(0, 60 * 24))
def test_features_match_a_plain_reference(rows, as_of_hours):
    base = pd.Timestamp("2026-08-01")
    campaigns = {k: (base + pd.Timedelta(days=10 * k)).isoformat() for k in range(1, 7)}
    events = [(c, k, kind, (pd.Timestamp(campaigns[k]) + pd.Timedelta(hours=h // 4)).isoformat())
              for c, k, kind, h in rows]
    dataset = tiny_dataset(campaigns, events, n_contacts=4)
    as_of = base + pd.Timedelta(days=30) + pd.Timedelta(hours=as_of_hours)
    # The reference counts every open and click: the classifier has its own tests.
    config = EngagementConfig(lookback_days=45, **EVERY_OPEN_AND_CLICK)
    ours = compute_features(dataset.activity_for(config), as_of=as_of, config=config)
    expected = reference_features(dataset, as_of, config)
    for column in expected.columns:
        pd.testing.assert_series_equal(ours[column], expected[column], check_dtype=False,
                                       check_names=False, obj=column)
