"""Measured lift: the success rate of the treatment against the holdout, with its uncertainty.

The absolute lift (treatment rate minus holdout rate) gets Newcombe's score interval, the relative
lift (rate ratio minus one) the log interval, and the p-value is the two-sided score test of equal
rates: all from statsmodels' ``confint_proportions_2indep`` and ``test_proportions_2indep``, which
behave well for the small rates and small holdouts email tests have.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Lift:
    """The treatment's lift over the holdout on one success event.

    Attributes
    ----------
    treatment_size, treatment_successes, holdout_size, holdout_successes : int
    treatment_rate, holdout_rate : float
    absolute, absolute_low, absolute_high : float
        Rate difference and its 95 % interval (``nan`` when a group is empty).
    relative, relative_low, relative_high : float
        ``treatment_rate / holdout_rate - 1`` and its interval (``nan`` when the holdout rate is 0).
    p_value : float
        Two-sided test of equal rates.
    """

    treatment_size: int
    treatment_successes: int
    holdout_size: int
    holdout_successes: int
    treatment_rate: float
    holdout_rate: float
    absolute: float
    absolute_low: float
    absolute_high: float
    relative: float
    relative_low: float
    relative_high: float
    p_value: float

    @property
    def significant(self) -> bool:
        """Whether the interval of the absolute lift leaves out 0."""
        return bool(self.absolute_low > 0 or self.absolute_high < 0)

    def summary(self) -> str:
        """One sentence for the user.

        Examples
        --------
        >>> print(measure_lift(400, 4000, 60, 1000).summary())
        Treatment 10.0% (400 of 4,000) against holdout 6.0% (60 of 1,000): lift +4.0 points (95% interval +2.1 to +5.6), p < 0.001.
        """
        if not self.treatment_size or not self.holdout_size:
            return "The treatment or the holdout is empty: there is nothing to compare."
        return (
            f"Treatment {self.treatment_rate:.1%} ({self.treatment_successes:,} of {self.treatment_size:,}) "
            f"against holdout {self.holdout_rate:.1%} ({self.holdout_successes:,} of "
            f"{self.holdout_size:,}): lift {100 * self.absolute:+.1f} points (95% interval "
            f"{100 * self.absolute_low:+.1f} to {100 * self.absolute_high:+.1f}), {p_text(self.p_value)}."
        )


def p_text(p_value: float) -> str:
    """A p-value as a person reads it: ``p < 0.001`` or ``p = 0.042``.

    Examples
    --------
    >>> p_text(0.00004), p_text(0.0423)
    ('p < 0.001', 'p = 0.042')
    """
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


def measure_lift(
    treatment_successes: int, treatment_size: int, holdout_successes: int, holdout_size: int
) -> Lift:
    """The lift of the treatment over the holdout.

    Examples
    --------
    >>> lift = measure_lift(400, 4000, 60, 1000)
    >>> round(lift.absolute, 3), lift.significant
    (0.04, True)
    """
    nan = float("nan")
    if treatment_size <= 0 or holdout_size <= 0:
        rate_t = treatment_successes / treatment_size if treatment_size else nan
        rate_h = holdout_successes / holdout_size if holdout_size else nan
        return Lift(treatment_size, treatment_successes, holdout_size, holdout_successes, rate_t,
                    rate_h, nan, nan, nan, nan, nan, nan, nan)
    # statsmodels is imported on use: it is most of a second of every start-up otherwise.
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    rate_t, rate_h = treatment_successes / treatment_size, holdout_successes / holdout_size
    counts = (treatment_successes, treatment_size, holdout_successes, holdout_size)
    with warnings.catch_warnings():
        # With no success in a group statsmodels divides by zero on the way; its answers are right.
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = confint_proportions_2indep(*counts, method="newcomb", compare="diff",
                                               alpha=1 - CONFIDENCE)
        if holdout_successes and treatment_successes:
            ratio_low, ratio_high = confint_proportions_2indep(*counts, method="log", compare="ratio",
                                                               alpha=1 - CONFIDENCE)
            relative = (rate_t / rate_h - 1, ratio_low - 1, ratio_high - 1)
        else:
            relative = (rate_t / rate_h - 1 if rate_h else nan, nan, nan)
        if treatment_successes + holdout_successes in (0, treatment_size + holdout_size):
            p_value = 1.0  # every contact failed (or succeeded): no evidence of a difference
        else:
            p_value = float(test_proportions_2indep(*counts, method="score", compare="diff").pvalue)
    return Lift(treatment_size, treatment_successes, holdout_size, holdout_successes, rate_t, rate_h,
                rate_t - rate_h, float(low), float(high), *map(float, relative), p_value)


__all__ = ["CONFIDENCE", "Lift", "measure_lift", "p_text"]
