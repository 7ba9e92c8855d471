"""Movement between previous and current levels, and the transition matrix."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import engagekit as ek
from engagekit.engagement.levels import LEVEL_DTYPE, LevelResult
from engagekit.engagement.tiers import Thresholds


def result(levels):
    table = pd.DataFrame({"contact_id": range(1, len(levels) + 1),
                          "level": pd.Categorical(levels, dtype=LEVEL_DTYPE)})
    return LevelResult(pd.Timestamp("2026-11-30"), ek.EngagementConfig(), Thresholds(0, 1, 1), table)


def test_movements_by_hand():
    before = ["most_engaged", "least_engaged", "somewhat_engaged", "everyone_else", "everyone_else", "most_engaged"]
    after = ["least_engaged", "most_engaged", "somewhat_engaged", "least_engaged", "everyone_else", "everyone_else"]
    assert ek.movement(np.array(before), np.array(after)).tolist() == [
        "slipping", "rising", "steady", "new", "steady", "slipping"]


def test_matrix_counts_shares_and_pairs():
    prev = result(["most_engaged", "most_engaged", "least_engaged", "everyone_else"])
    curr = result(["least_engaged", "most_engaged", "least_engaged", "somewhat_engaged"])
    moves = ek.compute_transitions(prev, curr)
    assert moves.counts.loc["most_engaged", "least_engaged"] == 1
    assert moves.counts.loc["most_engaged", "most_engaged"] == 1
    assert moves.counts.to_numpy().sum() == 4
    assert moves.row_shares.loc["most_engaged"].sum() == 1.0
    assert moves.row_shares.loc["somewhat_engaged"].sum() == 0.0
    assert moves.pair("most_engaged", "least_engaged")["contact_id"].tolist() == [1]
    assert moves.movement_counts().to_dict() == {"rising": 0, "steady": 2, "slipping": 1, "new": 1}
    long = moves.long()
    assert len(long) == 16 and long["contacts"].sum() == 4


_ORDER = ["everyone_else", "least_engaged", "somewhat_engaged", "most_engaged"]  # least to most


def _expected_movement(before: str, after: str) -> str:
    """The module's rules, written out from level names."""
    if before == "everyone_else" and after != "everyone_else":
        return "new"
    rise = _ORDER.index(after) - _ORDER.index(before)
    return "rising" if rise > 0 else "slipping" if rise < 0 else "steady"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_ORDER), st.sampled_from(_ORDER)), min_size=1, max_size=40))
def test_every_level_pair_moves_by_the_rules(pairs):
    before, after = [p for p, _ in pairs], [c for _, c in pairs]
    moves = ek.compute_transitions(result(before), result(after))
    expected = [_expected_movement(p, c) for p, c in pairs]
    assert moves.contacts["movement"].astype(str).tolist() == expected
    assert ek.movement(np.array(before), np.array(after)).tolist() == expected
    crosstab = pd.crosstab(pd.Categorical(before, categories=list(ek.LEVELS)),
                           pd.Categorical(after, categories=list(ek.LEVELS)), dropna=False)
    assert moves.counts.to_numpy().tolist() == crosstab.to_numpy().tolist()


def test_each_of_the_sixteen_pairs_by_name():
    pairs = [(p, c) for p in _ORDER for c in _ORDER]
    moves = ek.compute_transitions(result([p for p, _ in pairs]), result([c for _, c in pairs]))
    got = dict(zip(pairs, moves.contacts["movement"].astype(str), strict=True))
    assert got[("most_engaged", "somewhat_engaged")] == "slipping"
    assert got[("most_engaged", "everyone_else")] == "slipping"
    assert got[("everyone_else", "most_engaged")] == "new"
    assert got[("least_engaged", "most_engaged")] == "rising"
    assert got[("somewhat_engaged", "somewhat_engaged")] == "steady"
