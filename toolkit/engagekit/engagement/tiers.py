"""The tier rules: quantile thresholds on the score (the scikit-learn transformer over them is
:class:`engagekit.engagement.estimator.EngagementTiers`).

Rules (SPEC 2), all enforced here and nowhere else:

- a contact with fewer than ``min_sends`` eligible sends is *everyone else* (not judged: its
  score enters as ``nan``, see :func:`judged_scores`);
- among judged contacts, the lowest ``least_engaged_share`` by score are *least engaged* and the
  highest ``most_engaged_share`` *most engaged*, the rest *somewhat engaged*;
- thresholds are score values, so equal scores always get equal levels: a tie at a cut goes to the
  outer level, which may then hold more than its share;
- a judged contact with a score of 0 (no open, no click) is *least engaged*, whatever the cuts;
- a higher score never gets a lower level;
- the cut positions are whole numbers computed exactly (:func:`cut_size`), so the SQL job
  (:mod:`engagekit.workspace.levels_sql`) finds the same cuts from counts per distinct score.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from engagekit.config import EngagementConfig, exact_decimal
from engagekit.data.schema import LEVEL_RANKS, levels_from_ranks

# Level codes as returned by ``transform``: higher is more engaged.
LEVEL_BY_CODE: dict[int, str] = {rank: str(level) for level, rank in LEVEL_RANKS.items()}
CODE_BY_LEVEL: dict[str, int] = {level: code for code, level in LEVEL_BY_CODE.items()}


@dataclass(frozen=True)
class Thresholds:
    """Score cuts learned by :class:`EngagementTiers`.

    ``least_engaged_max``: a judged score at or below it is least engaged.
    ``most_engaged_min``: a judged score at or above it (and above the least cut) is most engaged.
    Both are ``nan`` when no contact was judged.
    """

    least_engaged_max: float
    most_engaged_min: float
    judged: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, float]) -> Thresholds:
        def number(key: str) -> float:
            value = values.get(key)
            return math.nan if value is None else float(value)

        return cls(number("least_engaged_max"), number("most_engaged_min"), int(values.get("judged") or 0))


def learn_thresholds(judged: np.ndarray, config: EngagementConfig) -> Thresholds:
    """The cuts of the judged (non-``nan``) scores under ``config``'s shares.

    Examples
    --------
    >>> learn_thresholds(np.array([0.0, 0.1, 0.5, 0.9, 1.0]), EngagementConfig())
    Thresholds(least_engaged_max=0.1, most_engaged_min=1.0, judged=5)
    """
    return Thresholds(*score_cuts(judged, config.most_engaged_share, config.least_engaged_share))


def score_cuts(judged: np.ndarray, most_share: float, least_share: float) -> tuple[float, float, int]:
    """(least_engaged_max, most_engaged_min, n judged) for one column of judged scores."""
    n = len(judged)
    if n == 0:
        return math.nan, math.nan, 0
    ordered = np.sort(judged)
    n_least, n_most = cut_size(n, least_share), cut_size(n, most_share)
    return float(ordered[n_least - 1]), float(ordered[n - n_most]), n


def cut_size(n: int, share: float) -> int:
    """How many of ``n`` judged contacts a share asks for: ``max(ceil(n x share), 1)``, exactly.

    The share is read as an exact fraction (:func:`~engagekit.config.exact_decimal`), so
    ``n x share`` never lands a hair above a whole number, and SQL can test the same rule with
    integers only (``count x denominator >= n x numerator``).

    Examples
    --------
    >>> cut_size(10, 0.2), cut_size(11, 0.2), cut_size(2, 0.2)
    (2, 3, 1)
    """
    fraction = exact_decimal(share)
    return max(-(-n * fraction.numerator // fraction.denominator), 1)


def judged_scores(score: np.ndarray, eligible_sends: np.ndarray, min_sends: int) -> np.ndarray:
    """Scores with ``nan`` for contacts with fewer than ``min_sends`` eligible sends.

    Examples
    --------
    >>> judged_scores(np.array([0.5, 0.7]), np.array([3, 2]), 3).tolist()
    [0.5, nan]
    """
    return np.where(np.asarray(eligible_sends) >= min_sends, np.asarray(score, dtype=float), np.nan)


def assign_codes(score: np.ndarray, thresholds: Thresholds) -> np.ndarray:
    """Level codes for judged scores (``nan``: not judged) under given thresholds."""
    judged = ~np.isnan(score)
    # The cuts are scores themselves (exact divisions, see features): compared as they are, a
    # score equal to a cut is always on the cut's side.
    least_cut, most_cut = thresholds.least_engaged_max, thresholds.most_engaged_min
    with np.errstate(invalid="ignore"):
        least = judged & ((score <= 0) | (score <= least_cut))
        most = judged & ~least & (score >= most_cut)
    # The codes are ranks (everyone else 0, least 1, somewhat 2, most 3): a judged contact
    # climbs one step for being judged, one for being above the least engaged, one for the top.
    codes = judged.astype(np.int64)
    codes += judged & ~least
    codes += most
    return codes


def level_categories(codes: np.ndarray) -> pd.Categorical:
    """Level codes as a categorical of level names (most engaged first), without string work.

    Examples
    --------
    >>> level_categories(np.array([0, 3])).tolist()
    ['everyone_else', 'most_engaged']
    """
    return levels_from_ranks(codes)


def level_names(codes: np.ndarray) -> np.ndarray:
    """Level names for level codes.

    Examples
    --------
    >>> level_names(np.array([3, 0])).tolist()
    ['most_engaged', 'everyone_else']
    """
    names = np.array([LEVEL_BY_CODE[code] for code in range(4)], dtype=object)
    return names[np.asarray(codes, dtype=np.int64)]
