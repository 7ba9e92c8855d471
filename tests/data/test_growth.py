"""Growing verdicts and the activity index from the data before a merge: always what a build
from scratch gives, array for array."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engagekit as ek
from engagekit.config import EngagementConfig, MachineRules
from engagekit.data.activity import machine_reasons
from engagekit.data.dataset import Dataset
from engagekit.data.growth import Earlier, grown_index, grown_reasons
from engagekit.data.sample import generate_sample

from factories import assert_same_index

CONFIGS = [
    EngagementConfig(),  # confirmed opens, scanner clicks left out: the prefetcher decides
    EngagementConfig(engagement="all_opens"),
    EngagementConfig(engagement="clicks_only"),
    EngagementConfig(engagement="all_opens", count_scanner_clicks=True),
]
START = pd.Timestamp("2026-09-01 09:00")
# seconds after a send: within the prefetch and proxy windows, just beyond, and hours later
DELAYS = [0, 3, 30, 119, 120, 121, 3_600, 50_000]
KINDS = ["open", "open", "open", "send", "click", "bounce"]


def contacts_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "contact_id": range(1, n + 1), "email": [f"c{i}@example.com" for i in range(1, n + 1)],
        "first_name": None, "last_name": None, "date_added": "2026-01-01",
        "email_status": "subscribed"})


def split(data: Dataset, n_earlier_campaigns: int, n_earlier_contacts: int) -> tuple[Dataset, Dataset]:
    """The data as two imports would store it: the earlier campaigns (in sent order) and their
    events, then all of it, the earlier rows first."""
    campaigns = data.campaigns.sort_values("sent_at", kind="stable").reset_index(drop=True)
    earlier_ids = campaigns["campaign_id"].iloc[:n_earlier_campaigns]
    events = data.email_events
    is_earlier = events["campaign_id"].isin(earlier_ids)
    # earlier contacts: every one the earlier events name, and some more
    named = set(events.loc[is_earlier, "contact_id"])
    ordered = sorted(data.contacts["contact_id"], key=lambda c: (c not in named, c))
    n_earlier_contacts = max(n_earlier_contacts, len(named))
    contacts = data.contacts.set_index("contact_id").loc[ordered].reset_index()
    frames = dict(contacts=contacts, campaigns=campaigns,
                  email_events=pd.concat([events[is_earlier], events[~is_earlier]], ignore_index=True))
    earlier = Dataset.from_frames(
        contacts=contacts.iloc[:n_earlier_contacts], campaigns=campaigns.iloc[:n_earlier_campaigns],
        email_events=events[is_earlier])
    return earlier, Dataset.from_frames(**frames)


def check_growth(earlier: Dataset, merged: Dataset, config: EngagementConfig, *, grows: bool = True):
    rules = config.machine_rules
    before = earlier.activity_for(config)
    machine_reasons(earlier, rules)
    fresh = Dataset.from_frames(contacts=merged.contacts, campaigns=merged.campaigns,
                                email_events=merged.email_events)
    expected_codes = machine_reasons(fresh, rules)
    expected_index = ek.ActivityIndex.build(fresh, config)

    reasons = grown_reasons(merged, Earlier.of(earlier), rules)
    assert (reasons is not None) == grows
    merged.grows_from(Earlier.of(earlier))
    if grows:
        np.testing.assert_array_equal(reasons.codes, expected_codes)
        # every row whose code differs from the earlier one's was made again
        earlier_codes = np.asarray(machine_reasons(earlier, rules))
        differs = np.flatnonzero(expected_codes[:len(earlier_codes)] != earlier_codes)
        assert np.isin(differs, reasons.remade).all()
        assert (reasons.remade >= len(earlier_codes)).sum() == len(expected_codes) - len(earlier_codes)
        for name in ("kept", "slow", "clicked"):
            np.testing.assert_array_equal(getattr(reasons.counts, name),
                                          getattr(fresh.prefetch_counts(rules), name))
        new = merged.email_events.iloc[len(earlier.email_events):]
        # (a new event before every earlier one moves the epoch: every time is counted anew)
        index_grows = bool(before.n_deliveries) and not config.count_orders and (
            new.empty or new["occurred_at"].min().floor("s").timestamp() >= int(before.epoch))
        assert (grown_index(merged, Earlier.of(earlier), config) is not None) == index_grows
    np.testing.assert_array_equal(machine_reasons(merged, rules), expected_codes)
    assert_same_index(merged.activity_for(config), expected_index)


@st.composite
def two_imports(draw):
    """Small data where contacts often become or stop being prefetchers when campaigns arrive."""
    n_contacts = draw(st.integers(2, 6))
    n_campaigns = draw(st.integers(2, 7))
    gaps = draw(st.lists(st.sampled_from([0, 3_600, 86_400 * 3]), min_size=n_campaigns,
                         max_size=n_campaigns))
    sent = START + pd.to_timedelta(np.cumsum(gaps), unit="s")
    # a mail client that fetches on arrival opens each email within seconds, now and then more
    fetches_all = draw(st.lists(st.booleans(), min_size=n_contacts, max_size=n_contacts))
    rows = []
    for campaign in range(1, n_campaigns + 1):
        for contact in range(1, n_contacts + 1):
            fetched = [("open", draw(st.sampled_from(DELAYS[:4])))] if fetches_all[contact - 1] else []
            kinds = draw(st.lists(st.sampled_from(KINDS), max_size=1 if fetched else 3))
            for kind, delay in fetched + [(kind, draw(st.sampled_from(DELAYS))) for kind in kinds]:
                rows.append((contact, campaign, kind, sent[campaign - 1] + pd.Timedelta(seconds=delay),
                             draw(st.sampled_from([None, "Mozilla/5.0"])),
                             draw(st.sampled_from([None, "https://a.example", "https://b.example"]))))
    events = pd.DataFrame(rows, columns=["contact_id", "campaign_id", "event_type", "occurred_at",
                                         "user_agent", "link"])
    campaigns = pd.DataFrame({"campaign_id": range(1, n_campaigns + 1),
                              "name": [f"C{i}" for i in range(1, n_campaigns + 1)], "sent_at": sent})
    data = Dataset.from_frames(contacts=contacts_frame(n_contacts), campaigns=campaigns,
                               email_events=events)
    return split(data, draw(st.integers(1, n_campaigns)), draw(st.integers(0, n_contacts)))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.engagement + str(c.count_scanner_clicks))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=two_imports())
def test_grown_verdicts_and_index_equal_a_build_from_scratch(config, data):
    earlier, merged = data
    check_growth(earlier, merged, config)


@pytest.mark.parametrize("config", CONFIGS[:2], ids=["confirmed", "all_opens"])
def test_growing_realistic_data_by_its_last_month(config):
    data = generate_sample(400, seed=3, months=4)
    cut = int((data.campaigns["sent_at"] < data.campaigns["sent_at"].max() - pd.Timedelta(days=30)).sum())
    earlier, merged = split(data, cut, 300)
    check_growth(earlier, merged, config)


def test_a_contact_that_stops_prefetching_has_its_earlier_opens_counted_again():
    sent = {1: "2026-11-01 10:00", 2: "2026-11-02 10:00", 3: "2026-11-03 10:00", 4: "2026-11-04 10:00"}
    quick = [(1, c, "open", f"{sent[c][:10]} 10:00:05") for c in (1, 2, 3)]
    campaigns = pd.DataFrame({"campaign_id": list(sent), "name": list("abcd"),
                              "sent_at": pd.to_datetime(list(sent.values()))})
    events = pd.DataFrame(quick + [(1, 4, "click", "2026-11-04 15:00:00")],
                          columns=["contact_id", "campaign_id", "event_type", "occurred_at"])
    events["occurred_at"] = pd.to_datetime(events["occurred_at"])
    data = Dataset.from_frames(contacts=contacts_frame(1), campaigns=campaigns, email_events=events)
    earlier, merged = split(data, 3, 1)
    assert (machine_reasons(earlier, MachineRules()) == 3).all()  # a prefetcher, so far
    check_growth(earlier, merged, EngagementConfig())
    assert (machine_reasons(merged, MachineRules()) == 0).all()  # a person who clicks, after all
    assert merged.activity_for(EngagementConfig()).delivery_engaged.max() < ek.ActivityIndex.never.fget(
        merged.activity_for(EngagementConfig()))


def test_orders_counted_as_engagement_or_an_earlier_campaign_are_built_anew():
    data = generate_sample(200, seed=5, months=3)
    earlier, merged = split(data, len(data.campaigns) - 2, 150)
    check_growth(earlier, merged, EngagementConfig(count_orders=True), grows=True)
    assert grown_index(merged, Earlier.of(earlier), EngagementConfig(count_orders=True)) is None
    # a new event of a stored campaign: nothing grows
    late = merged.email_events.iloc[:1].assign(occurred_at=merged.email_events["occurred_at"].max())
    touched = Dataset.from_frames(contacts=merged.contacts, campaigns=merged.campaigns,
                                  email_events=pd.concat([merged.email_events, late], ignore_index=True))
    assert grown_reasons(touched, Earlier.of(earlier), MachineRules()) is None
