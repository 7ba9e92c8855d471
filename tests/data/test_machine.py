"""The machine-event classifier: each rule by hand, at its boundaries, and what the verdicts say."""

from __future__ import annotations

import pandas as pd
import pytest

from engagekit.config import MachineRules
from engagekit.data.machine import classify_events, describe_verdict

SENT = pd.Timestamp("2026-11-02 10:00:00")


def verdicts(rows, rules=None, campaigns=(1, 2, 3, 4)):
    """Classify ``rows`` of (contact, campaign, type, seconds after the send, extra columns...)."""
    frame = pd.DataFrame([
        {"contact_id": contact, "campaign_id": campaign, "event_type": kind,
         "occurred_at": SENT + pd.Timedelta(days=7 * (campaign - 1), seconds=after), **extra}
        for contact, campaign, kind, after, *more in rows for extra in [more[0] if more else {}]
    ])
    sent = pd.DataFrame({"campaign_id": list(campaigns),
                         "sent_at": [SENT + pd.Timedelta(days=7 * (c - 1)) for c in campaigns]})
    return classify_events(frame, sent, rules)


PROXY = {"user_agent": "Mozilla/5.0"}


@pytest.mark.parametrize(("after", "reason"), [(0, "proxy"), (120, "proxy"), (121, ""), (-1, "")])
def test_proxy_open_within_the_limit_from_a_proxy_agent(after, reason):
    assert verdicts([(1, 1, "open", after, PROXY)]).reason.tolist() == [reason]


def test_proxy_agent_is_compared_trimmed_and_ignoring_case_and_a_reader_agent_is_not_a_proxy():
    found = verdicts([(1, 1, "open", 5, {"user_agent": "  mozilla/5.0 "}),
                      (2, 1, "open", 5, {"user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5)"})])
    assert found.reason.tolist() == ["proxy", ""]


def test_proxy_address_prefix_counts_like_a_proxy_agent():
    found = verdicts([(1, 1, "open", 5, {"ip": "17.58.1.2"}), (2, 1, "open", 5, {"ip": "171.2.3.4"})],
                     MachineRules(proxy_ip_prefixes=("17.58.",)))
    assert found.reason.tolist() == ["proxy", ""]


def test_a_proxy_click_is_not_a_machine_open():
    found = verdicts([(1, 1, "click", 3600, {**PROXY, "link": "a"})])
    assert found.reason.tolist() == [""] and not found.machine_open.any()


def prefetcher(n_sends, seconds=30, click=False):
    rows = [(1, k, "send", 0) for k in range(1, n_sends + 1)]
    rows += [(1, k, "open", seconds) for k in range(1, n_sends + 1)]
    rows += [(1, 1, "click", 3600, {"link": "a"})] if click else []
    return rows


def test_prefetcher_needs_every_delivery_opened_within_seconds_at_least_min_sends_times():
    assert set(verdicts(prefetcher(3)).reason[3:]) == {"prefetcher"}
    assert set(verdicts(prefetcher(2)).reason[2:]) == {""}  # 2 < prefetch_min_sends
    assert set(verdicts(prefetcher(3, seconds=120)).reason[3:]) == {"prefetcher"}
    assert set(verdicts(prefetcher(3, seconds=121)).reason[3:]) == {""}


def test_prefetcher_is_not_a_contact_who_clicks_or_leaves_one_email_unopened():
    assert set(verdicts(prefetcher(3, click=True)).reason) == {""}
    rows = prefetcher(3) + [(1, 4, "send", 0)]  # a fourth email never opened
    assert set(verdicts(rows).reason) == {""}


def test_prefetcher_ignores_a_bounced_email_and_flags_its_later_opens_too():
    rows = prefetcher(3) + [(1, 4, "send", 0), (1, 4, "bounce", 2), (1, 2, "open", 86_400)]
    found = verdicts(rows)
    opens = [reason for row, reason in zip(rows, found.reason, strict=True) if row[2] == "open"]
    assert opens == ["prefetcher"] * 4


@pytest.mark.parametrize(("gap", "burst"), [(0, True), (5, True), (6, False)])
def test_burst_is_two_links_of_one_email_within_burst_seconds(gap, burst):
    found = verdicts([(1, 1, "click", 3600, {"link": "a"}), (1, 1, "click", 3600 + gap, {"link": "b"})])
    assert found.reason.tolist() == (["burst"] * 2 if burst else ["", ""])


def test_burst_is_not_a_double_click_on_one_link_nor_clicks_of_two_emails():
    assert verdicts([(1, 1, "click", 3600, {"link": "a"}),
                     (1, 1, "click", 3601, {"link": "a"})]).reason.tolist() == ["", ""]
    assert verdicts([(1, 1, "click", 3600, {"link": "a"}),
                     (1, 2, "click", 3600, {"link": "b"}),
                     (2, 1, "click", 3600, {"link": "b"})]).reason.tolist() == ["", "", ""]


def test_burst_without_links_takes_any_two_clicks_within_seconds():
    assert verdicts([(1, 1, "click", 3600), (1, 1, "click", 3602)]).reason.tolist() == ["burst"] * 2


@pytest.mark.parametrize(("after", "opened_before", "reason"), [
    (0, False, "early_click"), (60, False, "early_click"), (61, False, ""), (30, True, ""),
])
def test_early_click_is_a_click_within_seconds_of_the_send_before_any_open(after, opened_before, reason):
    rows = [(1, 1, "click", after, {"link": "a"})]
    if opened_before:
        rows.insert(0, (1, 1, "open", after - 10, {"user_agent": "Outlook"}))
    assert verdicts(rows).reason.tolist()[-1] == reason


def test_source_flag_decides_before_the_rules_both_ways():
    found = verdicts([(1, 1, "open", 3600, {"machine": True}),
                      (1, 2, "open", 5, {**PROXY, "machine": False}),
                      (1, 3, "send", 0, {"machine": True})])
    assert found.reason.tolist() == ["source", "", ""]
    assert found.machine_open.tolist() == [True, False, False]


@pytest.mark.parametrize(("rules", "rows", "expected"), [
    (MachineRules(proxy_seconds=0.5), [(1, 1, "open", 0.5, PROXY), (1, 2, "open", 0.500001, PROXY)],
     ["proxy", ""]),
    (MachineRules(early_click_seconds=2.25), [(1, 1, "click", 2.25), (1, 2, "click", 2.250001)],
     ["early_click", ""]),
    (MachineRules(burst_seconds=0.75), [(1, 1, "click", 3600, {"link": "a"}),
                                        (1, 1, "click", 3600.75, {"link": "b"}),
                                        (1, 2, "click", 3600, {"link": "a"}),
                                        (1, 2, "click", 3600.750001, {"link": "b"})],
     ["burst", "burst", "", ""]),
])
def test_time_limits_hold_to_the_microsecond_for_limits_in_fractions_of_a_second(rules, rows, expected):
    assert verdicts(rows, rules).reason.tolist() == expected


def test_seconds_after_send_are_given_for_each_event_in_file_order():
    found = verdicts([(1, 2, "open", 7.5, PROXY), (1, 1, "click", 3600.25)])
    assert found.seconds_after_send.tolist() == [7.5, 3600.25]


def test_rules_are_configurable():
    rows = [(1, 1, "open", 200, PROXY)]
    assert verdicts(rows).reason.tolist() == [""]
    assert verdicts(rows, MachineRules(proxy_seconds=300)).reason.tolist() == ["proxy"]


def test_each_verdict_reads_as_a_sentence():
    assert describe_verdict("burst", 7) == "clicked 7 s after the send, within 5 s of a click on another link"
    assert "before any open" in describe_verdict("early_click", 3)
    assert "never clicks" in describe_verdict("prefetcher", 30, MachineRules(prefetch_seconds=60))
