"""Equal rates tie for any weights: the score is one exact division everywhere it is used."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import engagekit as ek

from factories import tiny_dataset

CAMPAIGNS = {k: (pd.Timestamp("2026-11-20") - pd.Timedelta(days=k)).isoformat() for k in range(1, 10)}


def _dataset(opens_of_sends: list[tuple[int, int]]):
    """One contact per (opens, sends) pair, sent the first ``sends`` campaigns."""
    events = []
    for contact, (opened, sends) in enumerate(opens_of_sends, start=1):
        for campaign in range(1, sends + 1):
            events.append((contact, campaign, "send", CAMPAIGNS[campaign]))
            if campaign <= opened:  # an hour later: a person's open, not a machine's on arrival
                opened_at = (pd.Timestamp(CAMPAIGNS[campaign]) + pd.Timedelta(hours=1)).isoformat()
                events.append((contact, campaign, "open", opened_at))
    return tiny_dataset(CAMPAIGNS, events, n_contacts=len(opens_of_sends))


def test_three_of_nine_ties_one_of_three_with_weights_not_exact_in_binary():
    config = ek.EngagementConfig(open_weight=0.7, click_weight=1.3, min_sends=3)
    dataset = _dataset([(3, 9), (1, 3), (0, 3), (2, 3), (3, 3), (6, 9)])
    levels = ek.compute_levels(dataset, as_of="2026-11-30", config=config)
    table = levels.table.set_index("contact_id")
    assert table.loc[1, "score"] == table.loc[2, "score"]
    assert table.loc[1, "level"] == table.loc[2, "level"]
    assert table.loc[4, "level"] == table.loc[6, "level"]


def test_explanation_never_says_a_score_lies_above_an_equal_cut():
    config = ek.EngagementConfig(open_weight=0.7, click_weight=1.3, min_sends=3)
    dataset = _dataset([(3, 9), (1, 3), (0, 3), (3, 3), (2, 3)])
    levels = ek.compute_levels(dataset, as_of="2026-11-30", config=config)
    cut = levels.thresholds.least_engaged_max
    for contact in (1, 2):
        text = " ".join(ek.explain_contact(levels, contact).reasons)
        score = levels.table.set_index("contact_id").loc[contact, "score"]
        if score == cut:
            assert "at or below the least engaged cut" in text
        assert "lies above the least engaged cut of 0.233 " not in text


@settings(max_examples=40, deadline=None)
@given(
    open_weight=st.floats(0.01, 10, allow_nan=False),
    click_weight=st.floats(0, 10, allow_nan=False),
    ratio=st.sampled_from([(1, 3), (2, 3), (1, 2), (1, 1), (2, 5)]),
    factor=st.integers(2, 3),
)
def test_equal_rates_tie_for_any_weights(open_weight, click_weight, ratio, factor):
    opened, sends = ratio
    if sends * factor > 9:
        factor = 1
    dataset = _dataset([(opened, sends), (opened * factor, sends * factor), (0, 3), (3, 3)])
    config = ek.EngagementConfig(open_weight=open_weight, click_weight=click_weight, min_sends=1)
    table = ek.compute_levels(dataset, as_of="2026-11-30", config=config).table.set_index("contact_id")
    assert table.loc[1, "score"] == table.loc[2, "score"]
    assert table.loc[1, "level"] == table.loc[2, "level"]
