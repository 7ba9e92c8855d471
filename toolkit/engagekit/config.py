"""Engagement settings: one typed, frozen, JSON-serialisable object with every default in one place.

A dashboard setting, a CLI flag and a notebook argument are the same field of
:class:`EngagementConfig`.
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from engagekit.errors import ConfigError
from engagekit.formats import format_share

EngagementRule = Literal["all_opens", "confirmed_opens", "clicks_only"]
ENGAGEMENT_RULES: tuple[str, ...] = ("all_opens", "confirmed_opens", "clicks_only")
ENGAGEMENT_RULE_LABELS: dict[str, str] = {
    "all_opens": "All opens",
    "confirmed_opens": "Confirmed opens only (machine opens left out)",
    "clicks_only": "Clicks only",
}


class MachineRules(BaseModel):
    """The settings of the machine-event classifier (:mod:`engagekit.data.machine` lists its rules).

    Parameters
    ----------
    proxy_seconds
        An open this soon after its send, from a proxy user agent or address, is a machine open.
    proxy_user_agents
        User agents of mail privacy proxies, compared trimmed and case-insensitively. Apple Mail
        Privacy Protection fetches with the bare ``Mozilla/5.0``.
    proxy_ip_prefixes
        Address prefixes of mail privacy proxies; Apple's proxies sit in ``17.0.0.0/8``.
    prefetch_seconds, prefetch_min_sends
        A contact with at least ``prefetch_min_sends`` deliveries, each opened within
        ``prefetch_seconds`` of its send, and no click ever, has its opens fetched by a machine.
    burst_seconds
        Clicks of several links of one email within this many seconds of each other are a link
        scanner's.
    early_click_seconds
        A click this soon after its send, before any open of that email, is a link scanner's.

    Examples
    --------
    >>> MachineRules(burst_seconds=3).burst_seconds
    3.0
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    proxy_seconds: float = Field(120.0, ge=0, le=86_400)
    proxy_user_agents: tuple[str, ...] = ("Mozilla/5.0",)
    proxy_ip_prefixes: tuple[str, ...] = ("17.",)
    prefetch_seconds: float = Field(120.0, ge=0, le=86_400)
    prefetch_min_sends: int = Field(3, ge=1, le=1000)
    burst_seconds: float = Field(5.0, ge=0, le=3600)
    early_click_seconds: float = Field(60.0, ge=0, le=86_400)


SCORE_DECIMALS = 9
"""The most decimals an explanation shows to tell a score from a cut. Scores themselves are exact:
one division of two whole numbers (:meth:`EngagementConfig.score_weights`), so equal rates give
the same score for any weights, in every engine."""


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
    engagement
        What counts as an open: ``"all_opens"``, ``"confirmed_opens"`` (machine opens left out,
        the default) or ``"clicks_only"`` (no open counts; a click still counts as an open).
    count_scanner_clicks
        Whether clicks classified as a link scanner's count (left out by default).
    count_orders
        Whether an order counts as engagement with the last email sent to the contact at most
        ``order_attribution_days`` before it.
    order_attribution_days
        How long after a send an order is credited to it.
    machine_rules
        The settings of the machine-event classifier.

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
    engagement: EngagementRule = "confirmed_opens"
    count_scanner_clicks: bool = False
    count_orders: bool = False
    order_attribution_days: int = Field(5, ge=1, le=365)
    machine_rules: MachineRules = Field(default_factory=MachineRules)

    @model_validator(mode="after")
    def _check(self) -> EngagementConfig:
        # Custom errors: their message is the whole sentence a user reads (see _describe).
        if self.most_engaged_share + self.least_engaged_share > 1:
            raise PydanticCustomError("shares", (
                f"The most engaged share ({format_share(self.most_engaged_share, decimals=None)}) "
                f"and the least engaged share ({format_share(self.least_engaged_share, decimals=None)}) "
                "add up to more than 100%: lower one of them."))
        if self.open_weight == 0 and self.click_weight == 0:
            raise PydanticCustomError("weights", "The weight of an open and the weight of a click "
                                      "cannot both be 0: give at least one of them a weight.")
        if self.exclusion_hours >= self.lookback_days * 24:
            raise PydanticCustomError("window", (
                f"Leaving out the last {self.exclusion_hours:g} hours leaves nothing of a "
                f"{self.lookback_days}-day window: leave out fewer hours or lengthen the window."))
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

    def for_email_activity(self) -> EngagementConfig:
        """These settings for "opened" and "clicked" in segments: machine opens and scanner
        clicks follow the engagement rule, but an order is not an open of an email.

        Examples
        --------
        >>> EngagementConfig(count_orders=True).for_email_activity().count_orders
        False
        """
        return self.with_changes(count_orders=False) if self.count_orders else self

    def counting_key(self) -> str:
        """The settings that decide which events count as engagement, as JSON text.

        Two configs with the same key count the same opens, clicks and orders; an activity
        index is built for one key.

        Examples
        --------
        >>> EngagementConfig(min_sends=5).counting_key() == EngagementConfig().counting_key()
        True
        """
        return self.model_dump_json(include=set(COUNTING_FIELDS))

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



# The rule before confirmed engagement: every open and every click counts (the audit's baseline).
EVERY_OPEN_AND_CLICK: dict[str, object] = {
    "engagement": "all_opens", "count_scanner_clicks": True, "count_orders": False,
}

# Fields that decide which events count as engagement (see counting_key).
COUNTING_FIELDS: tuple[str, ...] = (
    "engagement", "count_scanner_clicks", "count_orders", "order_attribution_days", "machine_rules",
)


SETTING_LABELS: dict[str, str] = {
    "lookback_days": "window (days)",
    "exclusion_hours": "left-out hours before the as-of time",
    "min_sends": "minimum sends to be judged",
    "most_engaged_share": "most engaged share",
    "least_engaged_share": "least engaged share",
    "previous_period_days": "previous period (days)",
    "open_weight": "weight of an open",
    "click_weight": "weight of a click",
    "engagement": "what counts as engagement",
    "count_scanner_clicks": "scanner clicks count",
    "count_orders": "orders count as engagement",
    "order_attribution_days": "days an order is credited to a send",
    "machine_rules": "machine-event rules",
}
"""What a person reads for each setting, in the middle of a sentence."""

SHARE_SETTINGS = ("most_engaged_share", "least_engaged_share")

# Pydantic's error types -> how the limit reads; {limit} is the bound in the field's own terms.
_LIMITS = {
    "greater_than_equal": "at least {limit}",
    "greater_than": "more than {limit}",
    "less_than_equal": "at most {limit}",
    "less_than": "less than {limit}",
}


def _describe(error: ValidationError) -> str:
    """The errors of a config as sentences naming each setting as a person reads it.

    Examples
    --------
    >>> EngagementConfig.create(min_sends=0, most_engaged_share=1.5)
    Traceback (most recent call last):
    ...
    engagekit.errors.ConfigError: Minimum sends to be judged must be at least 1, not 0. Most engaged share must be less than 100%, not 150%.
    """
    return " ".join(_sentence(item) for item in error.errors())


def _sentence(item: dict) -> str:
    if not item["loc"]:  # a rule across settings: its message is the sentence
        return item["msg"]
    name = ".".join(str(part) for part in item["loc"])
    words = SETTING_LABELS.get(str(item["loc"][0]), name.replace("_", " "))
    if len(item["loc"]) > 1:
        words = f"{words}: {name.split('.', 1)[1].replace('_', ' ')}"
    label = words[:1].upper() + words[1:]
    share = item["loc"][0] in SHARE_SETTINGS

    def shown(value: object) -> str:
        if share and isinstance(value, int | float) and not isinstance(value, bool):
            return format_share(value, decimals=None)
        return f"{value:g}" if isinstance(value, float) else repr(value) if isinstance(value, str) \
            else str(value)

    kind, context, given = item["type"], item.get("ctx") or {}, item.get("input")
    if kind in _LIMITS:
        limit = next(iter(context.values()))
        return f"{label} must be {_LIMITS[kind].format(limit=shown(limit))}, not {shown(given)}."
    if kind.startswith(("int_", "float_")):
        whole = "a whole number" if kind.startswith("int_") else "a number"
        return f"{label} must be {whole}, not {shown(given)}."
    if kind == "literal_error":
        return f"{label} must be one of {context.get('expected', '')}, not {shown(given)}."
    if kind == "extra_forbidden":
        return f"There is no setting '{name}'."
    return f"{label}: {item['msg'][:1].lower()}{item['msg'][1:]}."
