"""Engagement settings: one typed, frozen, JSON-serialisable object with every default in one place.

A dashboard setting, a CLI flag and a notebook argument are the same field of
:class:`EngagementConfig`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engagekit.errors import ConfigError

SCORE_DECIMALS = 9
"""Scores are rounded to this many decimals where they are computed, and cuts where they are
applied, so that equal rates tie for any weights: with weights 0.7 and 1.3, 3 opens of 9 sends
and 1 of 3 are one score, although floating point makes ``0.7 * 3 / 9`` and ``0.7 * 1 / 3``
differ in their last bit."""


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


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "config"
        parts.append(f"{where}: {item['msg']}")
    return "invalid engagement settings: " + "; ".join(parts)
