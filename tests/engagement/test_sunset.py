"""The sunset rule at its boundaries, and what its simulation reports."""

from __future__ import annotations

import pandas as pd
import pytest

import engagekit as ek

from factories import tiny_dataset

AS_OF = pd.Timestamp("2026-11-30")
RULE = ek.SunsetRule(unengaged_sends=3, unengaged_days=60, warning_sends=1, warning_days=10)


def weekly_sends(contact: int, count: int, last: str) -> list[tuple[int, int, str, str]]:
    """``count`` weekly sends to ``contact``, the last one on ``last`` (campaign ids by date)."""
    days = pd.date_range(end=last, periods=count, freq="7D")
    return [(contact, int(day.strftime("%Y%m%d")), "send", str(day)) for day in days]


def dataset(events, statuses=("subscribed",) * 3, added="2025-01-01"):
    campaigns = {cid: str(pd.Timestamp(str(cid))) for cid in sorted({e[1] for e in events})}
    data = tiny_dataset(campaigns, events)
    contacts = data.contacts.assign(email_status=list(statuses), date_added=pd.Timestamp(added))
    return data.replace(contacts=contacts)


def status(data) -> dict[int, str]:
    table = ek.engagement.sunset.sunset_table(data, as_of=AS_OF, rule=RULE, config=ek.EngagementConfig())
    return dict(zip(table["contact_id"], table["sunset_status"], strict=True))


def test_both_thresholds_are_needed():
    opened_long_ago = [(1, 20260801, "open", "2026-08-01 12:00")]
    events = [*weekly_sends(1, 3, "2026-11-20"), (1, 20260801, "send", "2026-08-01"), *opened_long_ago,
              *weekly_sends(2, 3, "2026-11-20"), (2, 20261001, "send", "2026-10-01"),
              (2, 20261001, "open", "2026-10-01 12:00"),  # only 60 days minus a bit ago
              *weekly_sends(3, 2, "2026-11-20"), (3, 20260702, "send", "2026-07-02"),
              (3, 20260702, "open", "2026-07-02 09:00")]
    found = status(dataset(events))
    assert found[1] == "sunset"  # 3 sends since an open 121 days ago
    assert found[2] == "at_risk"  # 3 sends, but the open was 59.5 days ago
    assert found[3] == "at_risk"  # 130 days, but only 2 sends since


def test_a_contact_that_never_engaged_counts_from_the_day_it_joined():
    events = weekly_sends(1, 4, "2026-11-20")
    assert status(dataset(events, added="2026-10-25"))[1] == "active"  # 4 sends, but joined 36 days ago
    assert status(dataset(events, added="2026-01-01"))[1] == "sunset"


def test_only_subscribed_contacts_are_sunset():
    events = weekly_sends(1, 4, "2026-11-20")
    assert status(dataset(events, statuses=("unsubscribed", "subscribed", "bounced")))[1] == "not_emailed"


def test_the_simulation_reports_what_the_suppressed_bring(sample_dataset):
    simulation = ek.simulate_sunset(sample_dataset, as_of=AS_OF, rule=ek.SunsetRule(),
                                    config=ek.EngagementConfig())
    assert 0 < simulation.suppressed < simulation.subscribed
    assert 0 <= simulation.click_share < simulation.suppressed / simulation.subscribed
    assert simulation.engaged_share_after >= simulation.engaged_share_before
    assert set(simulation.suppressed_ids()) == set(
        simulation.table.loc[simulation.table["sunset_status"] == "sunset", "contact_id"])


@pytest.mark.parametrize("sends", [0, 1001])
def test_impossible_rules_are_refused(sends):
    with pytest.raises(ek.ConfigError, match="unengaged emails"):
        ek.SunsetRule(unengaged_sends=sends)


def test_a_workspace_without_emails_sunsets_nobody():
    data = dataset([])
    assert set(status(data).values()) == {"active"}


def test_the_rule_in_force_decides_what_engagement_is():
    # Contact 1 opened long ago and clicked nothing: under "clicks only" it never engaged.
    events = [*weekly_sends(1, 3, "2026-11-20"), (1, 20261001, "send", "2026-10-01"),
              (1, 20261001, "open", "2026-10-01 12:00")]
    data = dataset(events, added="2026-01-01")
    for engagement, expected in (("all_opens", "at_risk"), ("clicks_only", "sunset")):
        config = ek.EngagementConfig(engagement=engagement)
        table = ek.engagement.sunset.sunset_table(data, as_of=AS_OF, rule=RULE, config=config)
        assert table.set_index("contact_id").loc[1, "sunset_status"] == expected, engagement


def test_the_last_chance_segment_is_the_last_chance_list_under_the_sessions_rule(tmp_path, sample_dataset):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ek.Workspace.open(url).import_dataset(sample_dataset, mode="replace")
    rule = ek.SunsetRule(unengaged_sends=6, unengaged_days=90)
    session = ek.Session.open(url, as_of=AS_OF, sunset_rule=rule)
    last_chance = ek.where("engagement", "sunset_status", "is", ["sunset"])
    members = session.member_ids(last_chance)
    assert len(members) > 0
    assert members.tolist() == sorted(session.sunset().suppressed_ids().tolist())
    assert session.member_ids(last_chance, engine="sql").tolist() == members.tolist()
    added = session.add_last_chance_list("Last chance")
    assert added.added == len(members)
    listed = session.workspace.load()
    in_list = listed.lists.loc[listed.lists["name"] == "Last chance", "list_id"].iloc[0]
    assert sorted(listed.list_memberships.loc[listed.list_memberships["list_id"] == in_list, "contact_id"]) \
        == members.tolist()
    # the member column shows each contact's status by its label, under the same rule
    shown = session.members(last_chance, ["email", "sunset_status"])
    assert set(shown["sunset_status"]) == {"Would be sunset (last chance)"}
    # another rule, another session: fewer contacts reach a stricter rule
    stricter = session.with_settings(sunset_rule=ek.SunsetRule(unengaged_sends=12, unengaged_days=180))
    assert stricter.count(last_chance) < len(members)
