"""The data-readiness audit: each measure by hand, the sample's figures, and the command."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

import engagekit as ek
from engagekit.cli import app

from factories import tiny_dataset

T = pd.Timestamp("2026-11-30")
CAMPAIGNS = {1: "2026-11-02T10:00:00", 2: "2026-11-09T10:00:00", 3: "2026-11-16T10:00:00"}


def audited():
    """Three contacts and three emails: the first opened by Apple's proxy, the second's sends made
    up on import, the third sent without tracking."""
    events = [(c, k, "send", t) for c in (1, 2, 3) for k, t in CAMPAIGNS.items()]
    events += [(1, 1, "open", "2026-11-02T10:00:09"), (2, 1, "open", "2026-11-02T15:00:00"),
               (2, 1, "click", "2026-11-02T15:01:00"), (3, 2, "open", "2026-11-10T08:00:00")]
    dataset = tiny_dataset(CAMPAIGNS, events)
    kind = dataset.email_events["event_type"]
    synthesised = (kind == "send") & (dataset.email_events["campaign_id"] == 2)
    agents = ["Mozilla/5.0" if row == ("open", 1) else None
              for row in zip(kind, dataset.email_events["contact_id"], strict=True)]
    return dataset.replace(email_events=dataset.email_events.assign(
        synthesised=synthesised, user_agent=agents))


def test_audit_measures_by_hand():
    audit = ek.audit_data(audited(), as_of=T)
    assert (audit.contacts, audit.judged) == (3, 3)
    assert (audit.opens, audit.machine_opens, audit.clicks, audit.scanner_clicks) == (3, 1, 1, 0)
    assert audit.flag_reasons.to_dict() == {"proxy": 1}
    assert (audit.sends, audit.untracked_sends) == (9, 3)
    assert audit.untracked_campaigns["name"].tolist() == ["Campaign 3"]
    assert audit.synthesised_campaigns[["name", "sends"]].values.tolist() == [["Campaign 2", 3]]
    text = str(audit)
    assert "Machine opens: 1 of 3 opens (33.3%): privacy proxy 1." in text
    assert "Sends without tracking: 3 of 9 (33.3%), in 1 campaign(s)" in text
    assert "3 send(s) in 1 campaign(s) were assumed from activity (Campaign 2)" in text
    assert not audit.bulk_sender and "below Gmail's bulk-sender threshold" in text


def test_level_change_matrix_compares_every_open_with_the_rule_in_force():
    dataset = audited()
    audit = ek.audit_data(dataset, as_of=T)
    every = ek.compute_levels(dataset, as_of=T, config=ek.EngagementConfig(**ek.EVERY_OPEN_AND_CLICK))
    confirmed = ek.compute_levels(dataset, as_of=T)
    moved = (every.table["level"].astype(str) != confirmed.table["level"].astype(str)).sum()
    assert audit.changed == moved
    assert audit.level_change.counts.to_numpy().sum() == 3
    unchanged = ek.audit_data(dataset, as_of=T, config=ek.EngagementConfig(**ek.EVERY_OPEN_AND_CLICK))
    assert unchanged.changed == 0


def test_a_day_of_5000_gmail_sends_makes_a_bulk_sender_with_its_requirements():
    n = ek.GMAIL_BULK_SENDER_DAILY
    contacts = pd.DataFrame({"contact_id": range(1, n + 1), "email": [f"p{i}@gmail.com" for i in range(n)],
                             "first_name": None, "last_name": None, "date_added": None,
                             "email_status": "subscribed"})
    events = pd.DataFrame({"contact_id": range(1, n + 1), "campaign_id": 1, "event_type": "send",
                           "occurred_at": CAMPAIGNS[1]})
    campaigns = pd.DataFrame({"campaign_id": [1], "name": ["Big"], "sent_at": [CAMPAIGNS[1]]})
    dataset = ek.Dataset.from_frames(contacts=contacts, campaigns=campaigns, email_events=events)
    audit = ek.audit_data(dataset, as_of=T)
    assert audit.bulk_sender
    assert int(audit.peak_day["gmail_sends"]) == n
    last = audit.lines()[-1]
    assert "at or above Gmail's bulk-sender threshold" in last
    assert "spam rate below 0.3%" in last and "one-click unsubscribe" in last
    fewer = dataset.replace(email_events=events.iloc[1:])
    assert not ek.audit_data(fewer, as_of=T).bulk_sender


def test_audit_of_the_sample_workspace_reports_its_machines():
    sample = ek.generate_sample(1500)
    audit = ek.audit_data(sample, as_of=ek.SAMPLE_END)
    assert 0.3 < audit.machine_opens / audit.opens < 0.8
    assert 0.1 < audit.scanner_clicks / audit.clicks < 0.8
    assert audit.untracked_sends == 0 and audit.synthesised_campaigns.empty
    # contacts whose every open the proxy made fall from most engaged to least engaged
    assert audit.level_change.counts.loc["most_engaged", "least_engaged"] > 0


def test_audit_command_prints_the_findings_and_takes_the_engagement_flag(tmp_path):
    url = f"sqlite:///{tmp_path}/ws.db"
    ek.Session.open(url).import_dataset(audited())
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "-w", url, "--as-of", "2026-11-30"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Machine opens: 1 of 3 opens (33.3%)" in result.output
    assert "Every open and click (rows)" in result.output
    result = runner.invoke(app, ["audit", "-w", url, "--as-of", "2026-11-30", "--engagement", "all-opens"],
                           terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "engagement: All opens." in result.output
    result = runner.invoke(app, ["audit", "-w", url, "--engagement", "some-opens"])
    assert result.exit_code == 1
    assert "engagement" in result.output and "clicks_only" in result.output
    assert "Traceback" not in result.output
