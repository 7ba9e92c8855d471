"""Movement between previous and current levels, and the transition matrix."""

import numpy as np
import pandas as pd

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
