"""The tier assigner: hand-computed cuts, ties, estimator conventions and properties."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from engagekit.engagement.estimator import EngagementTiers
from engagekit.engagement.tiers import judged_scores, level_names

RANK = {"everyone_else": 0, "least_engaged": 1, "somewhat_engaged": 2, "most_engaged": 3}


def levels_of(scores, sends=None, min_sends=3, **params):
    scores = np.asarray(scores, dtype=float)
    sends = np.full(len(scores), 5) if sends is None else np.asarray(sends)
    X = judged_scores(scores, sends, min_sends)[:, None]
    return level_names(EngagementTiers(**params).fit(X).transform(X)[:, 0]).tolist()


def test_ten_distinct_scores_split_20_40_40():
    levels = levels_of(np.arange(1, 11) / 10)
    assert levels.count("most_engaged") == 2
    assert levels.count("least_engaged") == 4
    assert levels.count("somewhat_engaged") == 4


def test_redundant_cuts_when_scores_pile_up_at_zero():
    # 70 % of judged contacts never engaged: the least cut is 0 and holds all of them.
    scores = [0.0] * 7 + [0.5, 1.0, 2.0]
    levels = levels_of(scores)
    assert levels[:7] == ["least_engaged"] * 7
    assert levels[7:] == ["somewhat_engaged", "most_engaged", "most_engaged"]


def test_all_scores_equal_never_split():
    assert set(levels_of([0.7] * 9)) == {"least_engaged"}


def test_too_few_sends_is_everyone_else_and_does_not_move_cuts():
    levels = levels_of([0.0, 3.0, 1.0, 2.0], sends=[5, 2, 5, 5])
    assert levels[1] == "everyone_else"
    tiers = EngagementTiers().fit(judged_scores(np.array([0.0, 3.0, 1.0, 2.0]), np.array([5, 2, 5, 5]), 3)[:, None])
    assert tiers.n_judged_.tolist() == [3]


def test_no_judged_contact_gives_nan_cuts_and_everyone_else():
    X = np.full((4, 1), np.nan)
    tiers = EngagementTiers().fit(X)
    assert np.isnan(tiers.thresholds_).all()
    assert set(level_names(tiers.transform(X)[:, 0])) == {"everyone_else"}


def test_thresholds_learned_once_apply_elsewhere():
    tiers = EngagementTiers().fit(np.array([[0.0], [0.2], [0.4], [0.6], [0.8]]))
    later = level_names(tiers.transform(np.array([[0.1], [0.9], [0.0]]))[:, 0]).tolist()
    assert later == ["least_engaged", "most_engaged", "least_engaged"]


def test_estimator_conventions():
    tiers = EngagementTiers(most_engaged_share=0.1)
    assert clone(tiers).get_params() == {"most_engaged_share": 0.1, "least_engaged_share": 0.4}
    assert tiers.set_params(least_engaged_share=0.3).least_engaged_share == 0.3
    frame = pd.DataFrame({"score": [0.0, 0.5, 1.0, 1.5, np.nan]})
    out = EngagementTiers().set_output(transform="pandas").fit_transform(frame)
    assert list(out.columns) == ["level"]


def test_invalid_shares_rejected():
    with pytest.raises(ValueError, match="add up"):
        EngagementTiers(most_engaged_share=0.7, least_engaged_share=0.5).fit(np.ones((3, 1)))


def test_scikit_learn_estimator_checks_pass():
    results = check_estimator(EngagementTiers(), on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) >= 40


scores_and_sends = st.integers(1, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 3.0]) | st.floats(0, 3), min_size=n, max_size=n),
        st.lists(st.integers(0, 8), min_size=n, max_size=n),
        st.floats(0.05, 0.5),
        st.floats(0.05, 0.5),
        st.integers(1, 5),
    )
)


@settings(max_examples=300, deadline=None)
@given(scores_and_sends)
def test_level_properties(case):
    scores, sends, most, least, min_sends = case
    scores, sends = np.array(scores), np.array(sends)
    levels = np.array(levels_of(scores, sends, min_sends, most_engaged_share=most, least_engaged_share=least))
    # every contact gets exactly one known level
    assert len(levels) == len(scores) and set(levels) <= set(RANK)
    judged = sends >= min_sends
    # fewer than the minimum sends is everyone else, and only those
    assert (levels[~judged] == "everyone_else").all()
    assert (levels[judged] != "everyone_else").all()
    # a judged contact with no engagement (score 0) is least engaged
    assert (levels[judged & (scores == 0)] == "least_engaged").all()
    ranks = np.array([RANK[level] for level in levels])
    js, jr = scores[judged], ranks[judged]
    for value in np.unique(js):
        # ties never split
        assert len(set(jr[js == value])) == 1
    order = np.argsort(js, kind="stable")
    # a higher score never gets a lower level
    assert (np.diff(jr[order]) >= 0).all()
