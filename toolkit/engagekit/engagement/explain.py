"""Why a contact has its level: its features, its score and the thresholds, in words."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from engagekit.config import SCORE_DECIMALS
from engagekit.data.schema import LEVEL_LABELS
from engagekit.engagement.features import window_bounds
from engagekit.engagement.levels import LevelResult
from engagekit.errors import NotFoundError


@dataclass(frozen=True)
class Explanation:
    """The reasons behind one contact's level.

    Attributes
    ----------
    contact_id : int
    level : str
    features : dict
        The contact's row of features and score.
    thresholds : dict
        ``least_engaged_max`` and ``most_engaged_min``.
    reasons : list of str
        Sentences, in order, that lead to the level.
    """

    contact_id: int
    level: str
    features: dict
    thresholds: dict
    reasons: list[str]

    def __str__(self) -> str:
        return f"{LEVEL_LABELS[self.level]}: " + " ".join(self.reasons)


def explain_contact(levels: LevelResult, contact_id: int) -> Explanation:
    """Explain the level of ``contact_id`` in ``levels``.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.engagement.levels import compute_levels
    >>> levels = compute_levels(generate_sample(200, seed=5), as_of="2026-11-30")
    >>> explain_contact(levels, int(levels.table["contact_id"][0])).level in LEVEL_LABELS
    True
    """
    rows = levels.table[levels.table["contact_id"] == contact_id]
    if rows.empty:
        raise NotFoundError(f"no contact with id {contact_id}")
    row = rows.iloc[0].to_dict()
    config, cuts = levels.config, levels.thresholds
    start, end = window_bounds(levels.as_of, config)
    sends = int(row["eligible_sends"])
    reasons = [
        f"As of {levels.as_of:%Y-%m-%d %H:%M}, {sends} email(s) sent between {start:%Y-%m-%d %H:%M} "
        f"and {end:%Y-%m-%d %H:%M} count (the last {config.exclusion_hours:g} hours are left out)."
    ]
    if sends < config.min_sends:
        reasons.append(
            f"That is fewer than the {config.min_sends} needed to judge engagement, so the contact "
            "is in Everyone else."
        )
    else:
        reasons.append(
            f"It opened {int(row['opened'])} and clicked {int(row['clicked'])} of them (a click "
            f"counts as an open), a score of ({config.open_weight:g} x {int(row['opened'])} + "
            f"{config.click_weight:g} x {int(row['clicked'])}) / {sends} = "
            f"{shown_score(row['score'], cuts.least_engaged_max, cuts.most_engaged_min)}."
        )
        reasons.append(_placement(row["level"], row["score"], cuts.least_engaged_max,
                                  cuts.most_engaged_min))
    if pd.notna(row["last_open_at"]):
        reasons.append(
            f"Last engagement {row['days_since_last_engagement']:.0f} day(s) before, with "
            f"{int(row['sends_since_last_engagement'])} send(s) since."
        )
    return Explanation(
        contact_id=int(contact_id),
        level=str(row["level"]),
        features=row,
        thresholds=cuts.to_dict(),
        reasons=reasons,
    )


def shown_score(value: float, *others: float) -> str:
    """A score with three decimals, or as many more (up to ``SCORE_DECIMALS``) as it takes to
    tell it apart from ``others``: an explanation never says 0.233 lies above a cut of 0.233.

    Examples
    --------
    >>> shown_score(0.2333334, 0.2333333), shown_score(0.5, 0.25)
    ('0.2333334', '0.500')
    """
    for decimals in range(3, SCORE_DECIMALS + 1):
        text = f"{value:.{decimals}f}"
        if all(math.isnan(other) or round(other, SCORE_DECIMALS) == round(value, SCORE_DECIMALS)
               or f"{other:.{decimals}f}" != text for other in others):
            return text
    return f"{value:.{SCORE_DECIMALS}f}"


def _placement(level: str, score: float, least_max: float, most_min: float) -> str:
    if score <= 0:
        return "With no open and no click, it is Least engaged."
    if math.isnan(least_max):
        return f"No thresholds were learned, so it is {LEVEL_LABELS[level]}."
    least, most = shown_score(least_max, score), shown_score(most_min, score)
    if level == "least_engaged":
        return f"The score is at or below the least engaged cut of {least}: Least engaged."
    if level == "most_engaged":
        return f"The score is at or above the most engaged cut of {most}: Most engaged."
    return (
        f"The score lies above the least engaged cut of {least} and below the most engaged "
        f"cut of {most}: Somewhat engaged."
    )
