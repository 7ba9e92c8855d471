"""The engagement report: current and previous levels and the change between them."""

from __future__ import annotations

import pandas as pd

import engagekit as ek


def test_level_changes_add_up_and_match_the_levels(sample_dataset):
    report = ek.engagement_report(sample_dataset, as_of="2026-11-30")
    table = report.level_changes()
    assert list(table["level"]) == list(ek.LEVELS)
    assert table["current"].sum() == table["previous"].sum() == sample_dataset.n_contacts
    assert (table["change"] == table["current"] - table["previous"]).all()
    assert table["current"].tolist() == report.current.counts().tolist()
    assert abs(table["current_share"].sum() - 1) < 1e-9


def test_the_previous_level_is_one_period_earlier_with_its_own_or_the_current_cuts(sample_dataset):
    config = ek.EngagementConfig(previous_period_days=45)
    own = ek.engagement_report(sample_dataset, as_of="2026-11-30", config=config)
    assert own.previous.as_of == ek.as_timestamp("2026-10-16")
    shared = ek.engagement_report(sample_dataset, as_of="2026-11-30", config=config,
                                  previous_uses_current_thresholds=True)
    assert shared.previous.thresholds == shared.current.thresholds
    assert own.current.table["level"].tolist() == shared.current.table["level"].tolist()


def test_transitions_cover_every_contact(sample_dataset):
    report = ek.engagement_report(sample_dataset, as_of="2026-11-30")
    assert int(report.transitions.counts.to_numpy().sum()) == sample_dataset.n_contacts


def test_relevel_of_empty_levels_does_not_crash():
    nobody = pd.DataFrame({column: [] for column in (
        "contact_id", "email", "first_name", "last_name", "date_added", "email_status")})
    empty = ek.compute_levels(ek.Dataset.from_frames(contacts=nobody), as_of="2026-11-30")
    recut = ek.relevel(empty, empty.config.with_changes(min_sends=1))
    assert int(recut.counts().sum()) == 0
