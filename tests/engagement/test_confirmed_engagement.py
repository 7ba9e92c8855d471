"""What counts as engagement: the rule's effect on features and levels, by hand and as properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import engagekit as ek
from engagekit.data.dataset import Dataset
from engagekit.engagement.features import compute_features

from factories import tiny_dataset

T = pd.Timestamp("2026-11-30")
CAMPAIGNS = {k: (T - pd.Timedelta(days=7 * k)).isoformat() for k in range(1, 7)}


def features(dataset, **changes):
    config = ek.EngagementConfig(**changes)
    return compute_features(dataset.activity_for(config), as_of=T, config=config).set_index("contact_id")


def with_columns(dataset: Dataset, **columns) -> Dataset:
    return dataset.replace(email_events=dataset.email_events.assign(**columns))


def proxied_contact():
    """Contact 1: every email opened 10 s after the send by Apple's proxy, one read and clicked an
    hour later; contact 2 reads two of six emails."""
    events = [(c, k, "send", t) for c in (1, 2) for k, t in CAMPAIGNS.items()]
    events += [(1, k, "open", (pd.Timestamp(t) + pd.Timedelta(seconds=10)).isoformat())
               for k, t in CAMPAIGNS.items()]
    events += [(1, 1, "click", (pd.Timestamp(CAMPAIGNS[1]) + pd.Timedelta(hours=1)).isoformat())]
    events += [(2, k, "open", (pd.Timestamp(CAMPAIGNS[k]) + pd.Timedelta(hours=3)).isoformat()) for k in (2, 3)]
    dataset = tiny_dataset(CAMPAIGNS, events, n_contacts=2)
    agents = np.where(dataset.email_events["event_type"] == "open", "Mozilla/5.0", None)
    agents[(dataset.email_events["contact_id"] == 2).to_numpy()] = None
    return with_columns(dataset, user_agent=agents)


def test_each_rule_counts_its_opens():
    dataset = proxied_contact()
    every = features(dataset, **ek.EVERY_OPEN_AND_CLICK)
    confirmed = features(dataset)
    clicks = features(dataset, engagement="clicks_only")
    assert (every.loc[1, "opened"], confirmed.loc[1, "opened"], clicks.loc[1, "opened"]) == (6, 1, 1)
    assert (every.loc[2, "opened"], confirmed.loc[2, "opened"], clicks.loc[2, "opened"]) == (2, 2, 0)
    assert confirmed.loc[1, "eligible_sends"] == every.loc[1, "eligible_sends"] == 6
    # the last engagement is the person's click, not the proxy's later fetches
    assert confirmed.loc[1, "last_open_at"] == pd.Timestamp(CAMPAIGNS[1]) + pd.Timedelta(hours=1)


def test_scanner_clicks_are_left_out_unless_counted():
    events = [(1, k, "send", t) for k, t in CAMPAIGNS.items()]
    sent = pd.Timestamp(CAMPAIGNS[2])
    events += [(1, 2, "click", (sent + pd.Timedelta(seconds=s)).isoformat()) for s in (8, 9)]
    dataset = with_columns(tiny_dataset(CAMPAIGNS, events, n_contacts=1),
                           link=[None] * 6 + ["https://a.example", "https://b.example"])
    assert features(dataset).loc[1, "clicked"] == 0
    assert features(dataset, count_scanner_clicks=True).loc[1, "clicked"] == 1
    assert features(dataset, engagement="all_opens").loc[1, "clicked"] == 0


def test_an_order_counts_as_engagement_with_the_last_email_within_the_attribution_days():
    events = [(1, k, "send", t) for k, t in CAMPAIGNS.items()] + [(2, k, "send", t) for k, t in CAMPAIGNS.items()]
    orders = pd.DataFrame({
        "order_id": ["o1", "o2"], "contact_id": [1, 2],
        "ordered_at": [pd.Timestamp(CAMPAIGNS[3]) + pd.Timedelta(days=5),  # the 5th day: credited
                       pd.Timestamp(CAMPAIGNS[3]) + pd.Timedelta(days=5, seconds=1)],  # too late
        "amount": [10.0, 20.0],
    })
    dataset = tiny_dataset(CAMPAIGNS, events, n_contacts=2, orders=orders)
    assert features(dataset)["opened"].tolist() == [0, 0]
    assert features(dataset, count_orders=True)["opened"].tolist() == [1, 0]
    # an order is no open of an email: segments' "opened" ignores it
    engine = ek.MemoryEngine(dataset, as_of=T, config=ek.EngagementConfig(count_orders=True))
    opened = ek.where("email_activity", "campaign", "opened", 3)
    assert engine.members(opened).tolist() == []


def test_orders_without_any_email_count_as_nothing():
    orders = pd.DataFrame({"order_id": ["o1"], "contact_id": [1], "ordered_at": ["2026-11-20"],
                           "amount": [5.0]})
    dataset = tiny_dataset({}, [], n_contacts=1, orders=orders)
    assert features(dataset, count_orders=True)["opened"].tolist() == [0]


def test_features_refuse_an_index_that_counts_by_another_rule():
    dataset = proxied_contact()
    with pytest.raises(ValueError, match="other settings"):
        compute_features(dataset.activity, as_of=T, config=ek.EngagementConfig(engagement="all_opens"))


def test_explanation_names_the_opens_left_out_and_why():
    dataset = proxied_contact()
    levels = ek.compute_levels(dataset, as_of=T)
    explanation = ek.explain_contact(levels, 1, data=dataset)
    assert explanation.left_out["reason"].tolist() == ["proxy"] * 6
    assert "Left out of engagement: 6 open(s) (6 fetched by a privacy proxy" in str(explanation)
    assert "10 s after the send" in explanation.left_out["why"].iloc[0]
    assert ek.explain_contact(levels, 2, data=dataset).left_out.empty
    clicks_only = ek.compute_levels(dataset, as_of=T, config=ek.EngagementConfig(engagement="clicks_only"))
    reasons = ek.explain_contact(clicks_only, 2, data=dataset).left_out["reason"].tolist()
    assert reasons == ["clicks_only", "clicks_only"]


# -- properties ------------------------------------------------------------------------------------

event_rows = st.lists(
    st.tuples(st.integers(1, 4), st.integers(1, 6), st.sampled_from(["send", "open", "click", "bounce"]),
              st.one_of(st.integers(0, 200), st.integers(0, 6 * 86_400)),
              st.sampled_from([None, "Mozilla/5.0", "Outlook"]), st.sampled_from([None, None, True, False]),
              st.sampled_from([None, "a", "b"])),
    max_size=50,
)


def random_dataset(rows) -> Dataset:
    events = [(c, k, kind, (pd.Timestamp(CAMPAIGNS[k]) + pd.Timedelta(seconds=s)).isoformat())
              for c, k, kind, s, *_ in rows]
    dataset = tiny_dataset(CAMPAIGNS, events, n_contacts=4)
    return with_columns(dataset, user_agent=[r[4] for r in rows], machine=[r[5] for r in rows],
                        link=[r[6] for r in rows])


@settings(max_examples=80, deadline=None)
@given(event_rows, st.booleans())
def test_leaving_machine_opens_out_never_raises_opened_or_score(rows, scanner_clicks):
    dataset = random_dataset(rows)
    every = features(dataset, engagement="all_opens", count_scanner_clicks=scanner_clicks)
    confirmed = features(dataset, engagement="confirmed_opens", count_scanner_clicks=scanner_clicks)
    assert (confirmed["opened"] <= every["opened"]).all()
    assert (confirmed["score"] <= every["score"] + 1e-12).all()
    assert (confirmed["eligible_sends"] == every["eligible_sends"]).all()


@settings(max_examples=80, deadline=None)
@given(event_rows)
def test_without_flagged_events_every_rule_but_clicks_only_gives_todays_levels(rows):
    dataset = random_dataset([(*row[:5], None, row[6]) for row in rows])
    verdicts = ek.classify_events(dataset.email_events, dataset.campaigns)
    assume(not verdicts.flagged.any())
    today = ek.compute_levels(dataset, as_of=T, config=ek.EngagementConfig(**ek.EVERY_OPEN_AND_CLICK)).table
    for rule in ("all_opens", "confirmed_opens"):
        for scanner in (False, True):
            config = ek.EngagementConfig(engagement=rule, count_scanner_clicks=scanner)
            got = ek.compute_levels(dataset, as_of=T, config=config).table
            pd.testing.assert_frame_equal(got, today)


@pytest.mark.parametrize("rule", ["all_opens", "confirmed_opens", "clicks_only"])
def test_both_engines_leave_the_same_opens_out_of_opened(tmp_path, rule):
    dataset = proxied_contact()
    workspace = ek.Workspace.open(f"sqlite:///{tmp_path}/ws.db")
    workspace.import_dataset(dataset)
    config = ek.EngagementConfig(engagement=rule)
    memory = ek.MemoryEngine(workspace.load(), as_of=T, config=config)
    sql = ek.SqlEngine(workspace, as_of=T, config=config)
    expected = {"all_opens": [1, 2], "confirmed_opens": [2], "clicks_only": []}[rule]
    opened_second = ek.where("email_activity", "campaign", "opened", 2)
    assert memory.members(opened_second).tolist() == sql.members(opened_second).tolist() == expected
    clicked_first = ek.where("email_activity", "campaign", "clicked", 1)
    assert memory.members(clicked_first).tolist() == sql.members(clicked_first).tolist() == [1]


def test_a_workspace_of_the_older_layout_gains_the_event_columns(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE email_events (contact_id BIGINT NOT NULL, campaign_id BIGINT "
                             "NOT NULL, event_type VARCHAR(16) NOT NULL, occurred_at DATETIME NOT NULL)")
    engine.dispose()
    workspace = ek.Workspace.open(url)
    columns = {column["name"] for column in sa.inspect(workspace.engine).get_columns("email_events")}
    assert {"machine", "user_agent", "ip", "link", "synthesised"} <= columns
    workspace.import_dataset(proxied_contact())
    assert workspace.load().email_events["user_agent"].eq("Mozilla/5.0").sum() == 6
