"""Engagement settings: one typed, frozen, JSON-serialisable object with every default in one place.

A dashboard setting, a CLI flag and a notebook argument are the same field of
:class:`EngagementConfig`.
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engagekit.errors import ConfigError


class EngagementConfig(BaseModel):
    """How engagement is measured and how levels are cut.

    Parameters
    ----------
    lookback_days
        Sends whose sent time lies in ``(as_of - lookback_days, as_of - exclusion_hours]`` count.
    exclusion_hours
        Emails sent less than this many hours before ``as_of`` are ignored with their opens and
        clicks: recipients have not had time to react.
    min_sends
        Contacts with fewer eligible sends are not judged: they go to *everyone else*.
    most_engaged_share, least_engaged_share
        Quantile thresholds: the top share of judged contacts by score is *most engaged*, the bottom
        share *least engaged*, the rest *somewhat engaged* (ties never split).
    open_weight, click_weight
        Score = (open_weight x campaigns opened + click_weight x campaigns clicked) / eligible sends.
    previous_period_days
        The previous level is computed as of ``as_of - previous_period_days``.

    Examples
    --------
    >>> config = EngagementConfig(min_sends=5)
    >>> EngagementConfig.from_json(config.to_json()) == config
    True
    >>> config.with_changes(lookback_days=60).lookback_days
    60
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    lookback_days: int = Field(90, ge=1, le=3650)
    exclusion_hours: float = Field(24.0, ge=0, le=24 * 30)
    min_sends: int = Field(3, ge=1, le=1000)
    most_engaged_share: float = Field(0.2, gt=0, lt=1)
    least_engaged_share: float = Field(0.4, gt=0, lt=1)
    open_weight: float = Field(1.0, ge=0)
    click_weight: float = Field(2.0, ge=0)
    previous_period_days: int = Field(30, ge=1, le=3650)

    @model_validator(mode="after")
    def _check(self) -> EngagementConfig:
        if self.most_engaged_share + self.least_engaged_share > 1:
            raise ValueError(
                "most_engaged_share + least_engaged_share must be at most 1 "
                f"(got {self.most_engaged_share} + {self.least_engaged_share})"
            )
        if self.open_weight == 0 and self.click_weight == 0:
            raise ValueError("open_weight and click_weight cannot both be 0")
        if self.exclusion_hours >= self.lookback_days * 24:
            raise ValueError("exclusion_hours must be shorter than the lookback window")
        return self

    @classmethod
    def create(cls, **values: object) -> EngagementConfig:
        """Like the constructor, but a bad value raises :class:`ConfigError` naming the field."""
        try:
            return cls(**values)
        except ValidationError as error:
            raise ConfigError(_describe(error)) from None

    def with_changes(self, **changes: object) -> EngagementConfig:
        """A copy with some fields changed, validated like a new config."""
        return self.create(**{**self.model_dump(), **changes})

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> EngagementConfig:
        try:
            return cls.model_validate_json(text)
        except ValidationError as error:
            raise ConfigError(_describe(error)) from None

    # -- the exact reading of the numbers that every engine shares ----------------------------
    def score_weights(self) -> tuple[int, int, int]:
        """The weights as whole numbers ``(open, click, denominator)``: score = (open x opened +
        click x clicked) / (denominator x eligible sends).

        Every engine (numpy, SQLite, PostgreSQL, DuckDB, Spark) computes the score as one division
        of these two exact integers, so equal rates give bit-identical scores for any weights and
        ties never split between engines. Each weight is read as an exact fraction
        (:func:`exact_decimal`).

        Examples
        --------
        >>> EngagementConfig().score_weights()
        (1, 2, 1)
        >>> EngagementConfig(open_weight=0.1, click_weight=0.25).score_weights()
        (2, 5, 20)
        """
        opened, clicked = (exact_decimal(w) for w in (self.open_weight, self.click_weight))
        denominator = lcm(opened.denominator, clicked.denominator)
        return (int(opened * denominator), int(clicked * denominator), denominator)


def exact_decimal(value: float) -> Fraction:
    """A setting as the exact fraction it stands for: the decimal it is written as, or the closest
    fraction with a denominator of at most a million (so 1/3 is one third).

    Examples
    --------
    >>> exact_decimal(0.4), exact_decimal(2.0), exact_decimal(1 / 3)
    (Fraction(2, 5), Fraction(2, 1), Fraction(1, 3))
    """
    # repr gives the shortest decimal that reads back as the float: what the user typed.
    return Fraction(repr(float(value))).limit_denominator(10**6)



def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "config"
        parts.append(f"{where}: {item['msg']}")
    return "invalid engagement settings: " + "; ".join(parts)
