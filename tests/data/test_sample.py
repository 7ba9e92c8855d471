"""The sample-data generator: canonical, reproducible, and realistic enough to show movement."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from engagekit.data.machine import classify_events
from engagekit.data.sample import (
    SAMPLE_END,
    SAMPLE_SEED,
    generate_sample,
    generate_sample_with_truth,
    write_sample,
)
from engagekit.data.schema import EMAIL_STATUSES, EVENT_TYPES, TABLES, TIME_DTYPE

END = pd.Timestamp(SAMPLE_END)
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def with_truth():
    return generate_sample_with_truth(2000, seed=SAMPLE_SEED, end=SAMPLE_END)


@pytest.fixture(scope="module")
def ds(with_truth):
    return with_truth[0]


@pytest.fixture(scope="module")
def events(ds, with_truth):
    """The events a person made (by the generator's truth), with their campaign's send time."""
    sent_at = ds.campaigns.set_index("campaign_id")["sent_at"]
    people = ds.email_events[with_truth[1] == ""]
    return people.assign(sent_at=people["campaign_id"].map(sent_at))


def test_same_seed_gives_identical_frames():
    first, second = generate_sample(300, seed=11), generate_sample(300, seed=11)
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(first, table), getattr(second, table))
    assert first.custom_fields == second.custom_fields


def test_different_seed_gives_different_data():
    first, second = generate_sample(300, seed=11), generate_sample(300, seed=12)
    assert not first.contacts["email"].equals(second.contacts["email"])
    assert not first.email_events.equals(second.email_events)


def test_canonical_columns_and_dtypes(ds):
    for table, columns in TABLES.items():
        frame = getattr(ds, table)
        assert list(frame.columns[: len(columns)]) == list(columns), table
        for column, kind in columns.items():
            if kind == "id":
                assert frame[column].dtype == np.int64, (table, column)
            elif kind == "time":
                assert frame[column].dtype == TIME_DTYPE, (table, column)
        assert len(frame) > 0, table
    assert set(ds.email_events["event_type"]) == set(EVENT_TYPES)
    assert set(ds.contacts["email_status"]) <= set(EMAIL_STATUSES)
    assert ds.custom_fields == {"city": "text", "loyalty_points": "number", "birthday": "date"}
    assert ds.contacts["loyalty_points"].dtype == np.float64
    assert ds.contacts["birthday"].dtype == TIME_DTYPE
    for field in ds.custom_fields:
        blank = ds.contacts[field].isna().mean()
        assert 0.02 < blank < 0.6, field


def test_contacts_look_real(ds):
    contacts = ds.contacts
    emails = contacts["email"]
    assert emails.is_unique
    assert (emails == emails.str.strip().str.lower()).all()
    assert emails.str.fullmatch(r"[a-z0-9._]+@[a-z0-9.-]+\.[a-z]+").all()
    assert emails.str.split("@").str[1].nunique() >= 5
    names = pd.concat([contacts["first_name"], contacts["last_name"]]).dropna()
    assert names.nunique() > 150
    assert names.str.contains(r"[^\x00-\x7f]").any(), "some names are not ASCII"
    assert contacts["first_name"].notna().mean() > 0.95
    added = contacts["date_added"]
    assert added.min() >= END - 2 * pd.Timedelta(days=366)
    assert added.max() < END
    # Growing list: more sign-ups in the last year than the one before, and some brand new ones.
    assert (added >= END - 365 * DAY).mean() > 0.5
    assert (added >= END - 30 * DAY).sum() > 20


def test_tags_lists_and_memberships(ds):
    per_contact = ds.contact_tags.groupby("contact_id").size()
    assert per_contact.max() <= 3
    assert 0.1 < len(per_contact) / ds.n_contacts < 0.9, "some contacts have no tag"
    assert {"vip", "newsletter", "wholesale", "event-attendee"} <= set(ds.contact_tags["tag"])
    assert not ds.contact_tags.duplicated().any()
    assert len(ds.lists) >= 5 and ds.lists["name"].is_unique
    memberships = ds.list_memberships.merge(ds.contacts[["contact_id", "date_added"]])
    assert (memberships["added_at"] >= memberships["date_added"]).all()
    assert (memberships["added_at"] < END).all()
    assert not memberships.duplicated(["list_id", "contact_id"]).any()
    assert set(memberships["list_id"]) == set(ds.lists["list_id"])


def test_campaigns_cover_the_months_before_end(ds):
    sent_at = ds.campaigns["sent_at"]
    assert sent_at.is_monotonic_increasing
    assert sent_at.min() >= END - pd.DateOffset(months=12) and sent_at.max() < END
    weeks = (sent_at.max() - sent_at.min()) / pd.Timedelta(weeks=1)
    assert 1.0 <= len(sent_at) / weeks <= 2.0, "one or two campaigns a week"
    assert ds.campaigns["name"].is_unique
    assert ds.campaigns["name"].str.match(r"Weekly digest #\d+").sum() > 40
    assert sent_at.dt.hour.between(6, 20).all()
    shorter = generate_sample(200, seed=3, months=3)
    assert shorter.campaigns["sent_at"].min() >= END - pd.DateOffset(months=3)


def test_status_shares_are_plausible(ds):
    shares = ds.contacts["email_status"].value_counts(normalize=True)
    assert 0.01 < shares["unsubscribed"] < 0.10
    assert 0.005 < shares["bounced"] < 0.06
    assert shares["subscribed"] > 0.85


def test_leaving_events_match_status_and_end_the_sends(ds, events):
    status = ds.contacts.set_index("contact_id")["email_status"]
    for event_type, expected in [("unsubscribe", "unsubscribed"), ("bounce", "bounced")]:
        left = events[events["event_type"] == event_type]
        assert len(left) > 0
        assert left["contact_id"].is_unique
        assert (left["contact_id"].map(status) == expected).all()
    left = events[events["event_type"].isin(["unsubscribe", "bounce"])]
    last_send = events[events["event_type"] == "send"].groupby("contact_id")["sent_at"].max()
    assert (last_send.reindex(left["contact_id"]).to_numpy() == left["sent_at"].to_numpy()).all()
    assert (left["occurred_at"] > left["sent_at"]).all()
    key = ["contact_id", "campaign_id"]
    bounced = events[events["event_type"] == "bounce"].set_index(key).index
    engaged = events[events["event_type"].isin(["open", "click"])]
    assert not engaged.set_index(key).index.isin(bounced).any()


def test_sends_only_to_members_after_they_joined(ds, events):
    sends = events[events["event_type"] == "send"]
    assert not sends.duplicated(["contact_id", "campaign_id"]).any()
    assert (sends["occurred_at"] == sends["sent_at"]).all()
    added = sends["contact_id"].map(ds.contacts.set_index("contact_id")["date_added"])
    assert (sends["occurred_at"] >= added).all()
    joined = ds.list_memberships.groupby("contact_id")["added_at"].min()
    assert (sends["occurred_at"] >= sends["contact_id"].map(joined)).all()
    share = sends.groupby("campaign_id").size() / ds.n_contacts
    assert share.max() < 0.9, "audiences are subsets of the contacts"


def test_opens_and_clicks_follow_sends(ds, events):
    assert (events["occurred_at"] < END).all()
    assert (events["occurred_at"] >= events["sent_at"]).all()
    reactions = events[events["event_type"].isin(["open", "click"])]
    assert (reactions["occurred_at"] > reactions["sent_at"]).all()
    key = ["contact_id", "campaign_id"]
    sends = events.loc[events["event_type"] == "send", key]
    matched = reactions.merge(sends.assign(sent=True), how="left")["sent"]
    assert matched.notna().all(), "every open and click belongs to a send"
    opens = events[events["event_type"] == "open"]
    clicks = events[events["event_type"] == "click"]
    assert opens.duplicated(key).any(), "some emails are opened more than once"
    # Most clicks have an open row (Apple's proxy's, for its users), but a few percent do not
    # (blocked tracking pixels).
    clicked = clicks.drop_duplicates(key)
    any_open = ds.email_events[ds.email_events["event_type"] == "open"]
    without_open = ~clicked.set_index(key).index.isin(any_open.set_index(key).index)
    assert 0.0 < without_open.mean() < 0.10
    first_open = opens.groupby(key)["occurred_at"].min()
    first_click = clicked.set_index(key)["occurred_at"]
    both = first_click.index.intersection(first_open.index)
    assert (first_click[both] >= first_open[both]).mean() > 0.95
    open_rate = len(opens.drop_duplicates(key)) / len(sends)
    assert 0.12 < open_rate < 0.40
    sent_to = set(sends["contact_id"])
    never_opened = sent_to - set(reactions["contact_id"])
    assert 0.05 < len(never_opened) / len(sent_to) < 0.5


def test_orders(ds):
    orders = ds.orders
    assert orders["order_id"].str.fullmatch(r"ORD-\d{6}").all()
    assert (orders["amount"] > 0).all()
    assert orders["amount"].median() < orders["amount"].mean(), "amounts are right-skewed"
    added = orders["contact_id"].map(ds.contacts.set_index("contact_id")["date_added"])
    assert (orders["ordered_at"] >= added).all() and (orders["ordered_at"] < END).all()
    buyers = orders["contact_id"].nunique() / ds.n_contacts
    assert 0.1 < buyers < 0.5


def test_engaged_contacts_order_more(ds, events):
    opened = events[events["event_type"] == "open"].drop_duplicates(["contact_id", "campaign_id"])
    sends = events[events["event_type"] == "send"].groupby("contact_id").size()
    rate = (opened.groupby("contact_id").size() / sends).fillna(0)[sends >= 10]
    orders = ds.orders.groupby("contact_id").size().reindex(rate.index, fill_value=0)
    assert orders[rate > rate.median()].mean() > orders[rate <= rate.median()].mean()


def _open_rate(events: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Sends and open rate per contact for campaigns sent in (as_of - 90 d, as_of - 1 d]."""
    window = events[(events["sent_at"] > as_of - 90 * DAY) & (events["sent_at"] <= as_of - DAY)
                    & (events["occurred_at"] <= as_of)]
    sends = window[window["event_type"] == "send"].groupby("contact_id").size()
    opened = (window[window["event_type"].isin(["open", "click"])]
              .drop_duplicates(["contact_id", "campaign_id"]).groupby("contact_id").size())
    out = pd.DataFrame({"sends": sends, "opened": opened}).fillna(0)
    out["rate"] = out["opened"] / out["sends"].where(out["sends"] > 0)
    return out


def test_engagement_drifts_so_contacts_rise_slip_and_arrive(ds, events):
    now = _open_rate(events, END).reindex(ds.contacts["contact_id"], fill_value=0)
    before = _open_rate(events, END - 30 * DAY).reindex(ds.contacts["contact_id"], fill_value=0)
    judged_now, judged_before = now["sends"] >= 3, before["sends"] >= 3
    both = judged_now & judged_before
    change = now["rate"] - before["rate"]
    assert (both & (change >= 0.3)).sum() >= 10, "rising"
    assert (both & (change <= -0.3)).sum() >= 10, "slipping"
    assert (judged_now & ~judged_before).sum() >= 20, "new"
    assert 0.3 < judged_now.mean() < 0.8


def test_write_sample_folder_is_small_and_readable(tmp_path):
    folder = write_sample(tmp_path / "sample_data")
    files = {path.name: path for path in folder.iterdir()}
    assert {"contacts.csv", "lists.csv", "list_memberships.csv", "campaigns.csv",
            "email_events.csv.gz", "orders.csv", "README.md"} <= set(files)
    assert sum(path.stat().st_size for path in files.values()) < 5 * 2**20
    contacts = pd.read_csv(files["contacts.csv"])
    assert len(contacts) == 5000
    assert {"email", "tags", "city", "loyalty_points", "birthday"} <= set(contacts.columns)
    events = pd.read_csv(files["email_events.csv.gz"], parse_dates=["occurred_at"])
    assert len(events) > 50_000
    assert set(events["event_type"]) == set(EVENT_TYPES)
    readme = files["README.md"].read_text(encoding="utf-8")
    assert "engagekit sample --contacts 5000 --seed 7 --end 2026-11-30 --out sample_data" in readme
    assert re.search(r"seed: 7\b", readme) and "5,000" in readme


def test_end_moves_the_data():
    ds = generate_sample(200, seed=5, end="2025-06-15T12:00:00")
    assert ds.email_events["occurred_at"].max() < pd.Timestamp("2025-06-15 12:00")
    assert ds.contacts["date_added"].max() < pd.Timestamp("2025-06-15 12:00")
    assert "Spring promo 2025" in set(ds.lists["name"])


def test_progress_bar_and_bad_arguments(capsys):
    assert generate_sample(50, seed=1, show_progress=True).n_contacts == 50
    with pytest.raises(ValueError, match="n_contacts"):
        generate_sample(0)
    with pytest.raises(ValueError, match="months"):
        generate_sample(10, months=0)


def test_machine_events_are_realistic_and_recorded(ds, with_truth):
    truth = with_truth[1]
    events = ds.email_events
    opens = events["event_type"] == "open"
    # Apple Mail Privacy Protection: a large share of opens, all seconds after the send
    assert 0.3 < (truth[opens] == "machine_open").mean() < 0.8
    sent = events["campaign_id"].map(ds.campaigns.set_index("campaign_id")["sent_at"])
    after = (events["occurred_at"] - sent).dt.total_seconds()
    assert after[truth == "machine_open"].between(0, 60).all()
    assert after[truth == "scanner_click"].between(0, 45).all()
    scanned = ds.contacts.set_index("contact_id")["email"].str.endswith(("@contoso.com", "@fabrikam.com"))
    assert scanned[events.loc[truth == "scanner_click", "contact_id"]].all()
    assert (events.loc[truth == "machine_open", "user_agent"] == "Mozilla/5.0").all()


def test_classifier_recovers_the_generators_machine_events(ds, with_truth):
    """Precision and recall of the classifier against the generator's truth (see the report)."""
    truth = with_truth[1]
    verdicts = classify_events(ds.email_events, ds.campaigns)
    for found, real in [(verdicts.machine_open, truth == "machine_open"),
                        (verdicts.scanner_click, truth == "scanner_click")]:
        hits = (found & real).sum()
        assert hits / found.sum() > 0.99, "precision"
        assert hits / real.sum() > 0.99, "recall"
    # Without user agents and addresses only the contacts who never click are recognised, but
    # nothing a person did is taken for a machine.
    bare = classify_events(ds.email_events.drop(columns=["user_agent", "ip"]), ds.campaigns)
    real = truth == "machine_open"
    assert (bare.machine_open & real).sum() / bare.machine_open.sum() > 0.99
    assert 0.2 < (bare.machine_open & real).sum() / real.sum() < 0.9
