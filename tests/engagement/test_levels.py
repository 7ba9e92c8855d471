"""Levels, previous levels, history and explanations on hand-made and sample data."""

import numpy as np
import pandas as pd
import pytest

import engagekit as ek

from factories import tiny_dataset


def weekly_campaigns(n=8, last="2026-11-27"):
    return {i + 1: (pd.Timestamp(last) - pd.Timedelta(weeks=n - 1 - i)).isoformat() for i in range(n)}


@pytest.fixture
def five_contacts():
    campaigns = weekly_campaigns()
    events = [(c, k, "send", t) for c in range(1, 6) for k, t in campaigns.items()]
    # contact 1 clicks everything, 2 opens everything, 3 opens half, 4 never, 5 only got 2 sends
    for k, t in campaigns.items():
        later = (pd.Timestamp(t) + pd.Timedelta(hours=1)).isoformat()  # as a person reads
        events.append((1, k, "click", later))
        events.append((2, k, "open", later))
        if k % 2:
            events.append((3, k, "open", later))
    events = [e for e in events if not (e[0] == 5 and e[1] > 2)]
    return tiny_dataset(campaigns, events, n_contacts=5)


def test_levels_by_hand(five_contacts):
    levels = ek.compute_levels(five_contacts, as_of="2026-11-30")
    table = levels.table.set_index("contact_id")
    assert table["level"].astype(str).to_dict() == {
        1: "most_engaged", 2: "somewhat_engaged", 3: "least_engaged", 4: "least_engaged",
        5: "everyone_else",
    }
    assert levels.thresholds.judged == 4
    assert levels.counts().tolist() == [1, 1, 2, 1]
    assert levels.shares().sum() == pytest.approx(1.0)


def test_previous_level_uses_its_own_window(five_contacts):
    current, previous = ek.current_and_previous(five_contacts, as_of="2026-11-30")
    assert previous.as_of == pd.Timestamp("2026-10-31")
    # 30 days earlier only the first four weekly campaigns are in the window
    assert previous.table["eligible_sends"].max() == 4


def test_previous_can_apply_current_thresholds(five_contacts):
    current, previous = ek.current_and_previous(
        five_contacts, as_of="2026-11-30", previous_uses_current_thresholds=True
    )
    assert previous.thresholds == current.thresholds


def test_history_and_monthly_dates(five_contacts):
    dates = ek.monthly_dates("2026-11-30", 4)
    assert [d.strftime("%Y-%m-%d") for d in dates] == ["2026-08-30", "2026-09-30", "2026-10-30", "2026-11-30"]
    history = ek.level_history(five_contacts, as_ofs=dates)
    assert len(history) == 16
    assert history.groupby("as_of")["share"].sum().round(9).eq(1).all()


def test_explanation_names_score_and_cuts(five_contacts):
    levels = ek.compute_levels(five_contacts, as_of="2026-11-30")
    text = str(ek.explain_contact(levels, 3))
    assert text.startswith("Least engaged")
    assert "score of" in text and "0.500" in text
    assert "fewer than the 3" in str(ek.explain_contact(levels, 5))
    with pytest.raises(ek.NotFoundError):
        ek.explain_contact(levels, 99)


def test_relevel_matches_full_computation(five_contacts):
    levels = ek.compute_levels(five_contacts, as_of="2026-11-30")
    config = levels.config.with_changes(most_engaged_share=0.5, min_sends=2)
    recut = ek.relevel(levels, config)
    fresh = ek.compute_levels(five_contacts, as_of="2026-11-30", config=config)
    assert recut.table["level"].tolist() == fresh.table["level"].tolist()
    assert ek.relevel(levels, levels.config.with_changes(lookback_days=30)) is None


def test_every_contact_gets_one_level_on_sample_data(sample_dataset):
    report = ek.engagement_report(sample_dataset, as_of="2026-11-30")
    assert report.current.counts().sum() == sample_dataset.n_contacts
    assert report.transitions.counts.to_numpy().sum() == sample_dataset.n_contacts
    moves = report.transitions.movement_counts()
    assert (moves[["rising", "slipping", "new"]] > 0).all()
    assert np.isfinite(report.current.table["score"]).all()
