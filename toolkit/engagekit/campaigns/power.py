"""How large an effect a test of these sizes can see, and how large a test a chosen effect needs.

Two-sided test of two proportions at level ``alpha`` with the given ``power``, on Cohen's effect
size ``h = 2 asin(sqrt p1) - 2 asin(sqrt p0)`` (statsmodels' ``NormalIndPower``), turned back into
success rates so that the answers read as percentage points.
"""

from __future__ import annotations

import math

ALPHA = 0.05
POWER = 0.8


def _rate_after(baseline: float, h: float) -> float:
    """The rate ``p1`` whose effect size against ``baseline`` is ``h``."""
    angle = min(math.pi, 2 * math.asin(math.sqrt(baseline)) + h)
    return math.sin(angle / 2) ** 2


def minimum_detectable_effect(
    n_treatment: int, n_holdout: int, baseline_rate: float, *, alpha: float = ALPHA,
    power: float = POWER,
) -> float | None:
    """The smallest rise of the success rate (absolute, e.g. 0.03 for 3 points) the test detects.

    ``None`` when a group is empty.

    Examples
    --------
    >>> round(minimum_detectable_effect(4000, 1000, 0.10), 3)
    0.032
    """
    if n_treatment <= 0 or n_holdout <= 0:
        return None
    from statsmodels.stats.power import NormalIndPower  # imported on use: a second at start-up

    baseline = min(max(baseline_rate, 1e-6), 1 - 1e-6)
    h = NormalIndPower().solve_power(effect_size=None, nobs1=n_treatment, ratio=n_holdout / n_treatment,
                                     alpha=alpha, power=power, alternative="two-sided")
    return _rate_after(baseline, float(h)) - baseline


def required_size(
    baseline_rate: float, effect: float, *, holdout_share: float, alpha: float = ALPHA,
    power: float = POWER,
) -> int | None:
    """How many contacts in all (treatment and holdout) a test needs to detect ``effect``.

    ``None`` when the effect cannot be reached (a rate above 100 %) or the share is 0.

    Examples
    --------
    >>> required_size(0.10, 0.03, holdout_share=0.2)
    5527
    """
    target = baseline_rate + effect
    if effect <= 0 or not 0 < target < 1 or not 0 < holdout_share < 1:
        return None
    from statsmodels.stats.power import NormalIndPower  # imported on use: a second at start-up
    from statsmodels.stats.proportion import proportion_effectsize

    h = abs(proportion_effectsize(target, baseline_rate))
    ratio = holdout_share / (1 - holdout_share)
    n_treatment = NormalIndPower().solve_power(effect_size=h, nobs1=None, ratio=ratio, alpha=alpha,
                                               power=power, alternative="two-sided")
    return math.ceil(n_treatment) + math.ceil(n_treatment * ratio)


__all__ = ["ALPHA", "POWER", "minimum_detectable_effect", "required_size"]
