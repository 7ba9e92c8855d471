"""A sunset policy: stop emailing contacts that have not engaged for long, after a last chance.

=================  ==================================================================================
term               rule
=================  ==================================================================================
unengaged sends    emails sent to the contact since its last engagement (an open or a click, all
                   history up to the as-of time, counted as the engagement settings say), or since
                   it joined when it never engaged
unengaged days     days since that last engagement, or since it joined (its first email when the
                   date added is blank)
sunset             a subscribed contact with **both** at least ``unengaged_sends`` unengaged sends
                   and at least ``unengaged_days`` unengaged days: it gets the last-chance sequence,
                   then is suppressed
at risk            a subscribed contact within ``warning_sends`` sends of the rule (and past
                   ``unengaged_days - warning_days`` days)
=================  ==================================================================================

Why both thresholds (defaults 12 sends and 180 days): peers use one or the other. HubSpot marks a
contact unengaged after 11 (and then 16) unengaged sends, which a daily sender reaches in two or
three weeks; MailPoet stops after 6 months without engagement, which a monthly sender reaches
after six emails; Klaviyo warns from 3 to 6 months. Requiring both means a contact is never
sunset for being emailed often, nor for being emailed rarely: it has had a dozen chances over half
a year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engagekit.config import EngagementConfig
from engagekit.data.dataset import Dataset
from engagekit.data.schema import EmailStatus
from engagekit.engagement.features import compute_features
from engagekit.errors import ConfigError

SUNSET_STATUSES: dict[str, str] = {
    "sunset": "Would be sunset (last chance)",
    "at_risk": "At risk of sunset",
    "active": "Not affected",
    "not_emailed": "Not emailed (unsubscribed or bounced)",
}
"""Each status with how a person reads it. The contacts a rule would sunset are the ones its
last-chance list holds (:meth:`engagekit.Session.add_last_chance_list`): they get the last-chance
sequence, then are suppressed."""
ALL_HISTORY_DAYS = 3650  # the longest window the settings allow: ten years of history
YEAR = pd.Timedelta(days=365)
RECENT_DAYS = 90


@dataclass(frozen=True)
class SunsetRule:
    """When a contact is sunset (see the module notes).

    Examples
    --------
    >>> SunsetRule().describe()
    'No engagement in the last 12 emails and 180 days.'
    """

    unengaged_sends: int = 12
    unengaged_days: int = 180
    warning_sends: int = 3
    warning_days: int = 30

    def __post_init__(self) -> None:
        if not 1 <= self.unengaged_sends <= 1000:
            raise ConfigError(f"The sunset rule needs 1 to 1,000 unengaged emails, not {self.unengaged_sends}.")
        if not 1 <= self.unengaged_days <= 3650:
            raise ConfigError(f"The sunset rule needs 1 to 3,650 unengaged days, not {self.unengaged_days}.")

    def describe(self) -> str:
        return f"No engagement in the last {self.unengaged_sends} emails and {self.unengaged_days} days."


def sunset_table(
    dataset: Dataset, *, as_of: pd.Timestamp, rule: SunsetRule, config: EngagementConfig
) -> pd.DataFrame:
    """Per contact: ``last_engaged_at``, ``unengaged_sends``, ``unengaged_days`` and
    ``sunset_status`` as of ``as_of`` (in the order of ``dataset.contacts``).

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> table = sunset_table(generate_sample(500, seed=2), as_of=pd.Timestamp("2026-11-30"),
    ...                      rule=SunsetRule(), config=EngagementConfig())
    >>> sorted(set(table["sunset_status"])) <= sorted(SUNSET_STATUSES)
    True
    """
    # The window features over all history: the same counting rules as the levels use.
    everything = config.with_changes(lookback_days=ALL_HISTORY_DAYS, exclusion_hours=0)
    features = compute_features(dataset.activity_for(config), as_of=as_of, config=everything)
    contacts = dataset.contacts
    first_send = _first_send(dataset, features, as_of)
    joined = contacts["date_added"].to_numpy(dtype="datetime64[us]")
    joined = np.where(np.isnat(joined), first_send, joined)
    last = features["last_open_at"].to_numpy(dtype="datetime64[us]")
    since = np.where(np.isnat(last), joined, last)
    days = (np.datetime64(as_of.to_datetime64(), "us") - since) / np.timedelta64(1, "D")
    sends = features["sends_since_last_engagement"].to_numpy()
    subscribed = contacts["email_status"].to_numpy() == EmailStatus.SUBSCRIBED.value
    sunset = subscribed & (sends >= rule.unengaged_sends) & (days >= rule.unengaged_days)
    at_risk = subscribed & ~sunset & (sends >= rule.unengaged_sends - rule.warning_sends) & (
        days >= rule.unengaged_days - rule.warning_days)
    status = np.select([~subscribed, sunset, at_risk], ["not_emailed", "sunset", "at_risk"], "active")
    return pd.DataFrame({
        "contact_id": contacts["contact_id"].to_numpy(),
        "last_engaged_at": last,
        "unengaged_sends": sends,
        "unengaged_days": np.floor(np.nan_to_num(days.astype(float), nan=0.0)),
        "sunset_status": status,
    })


def _first_send(dataset: Dataset, features: pd.DataFrame, as_of: pd.Timestamp) -> np.ndarray:
    events = dataset.email_events
    known = events[events["occurred_at"] <= as_of]
    first = known.groupby("contact_id")["occurred_at"].min()
    # reindex, not map: mapping through an empty series of times (no events yet) fails in pandas
    return first.reindex(features["contact_id"].to_numpy()).to_numpy(dtype="datetime64[us]")


@dataclass(frozen=True)
class SunsetSimulation:
    """What a sunset rule would do, before it is applied.

    Attributes
    ----------
    rule : SunsetRule
    as_of : pandas.Timestamp
    table : pandas.DataFrame
        The per-contact table of :func:`sunset_table`.
    subscribed, suppressed, at_risk : int
    click_share, order_share, revenue_share : float
        The suppressed contacts' share of the last year's clicks, orders and revenue.
    engaged_share_before, engaged_share_after : float
        The share of the emailed (subscribed) contacts that engaged in the last 90 days, before and
        after suppression.
    """

    rule: SunsetRule
    as_of: pd.Timestamp
    table: pd.DataFrame
    subscribed: int
    suppressed: int
    at_risk: int
    click_share: float
    order_share: float
    revenue_share: float
    engaged_share_before: float
    engaged_share_after: float

    def suppressed_ids(self) -> np.ndarray:
        return self.table.loc[self.table["sunset_status"] == "sunset", "contact_id"].to_numpy(np.int64)

    def summary(self) -> str:
        """Sentences for the user.

        Examples
        --------
        >>> s = SunsetSimulation(SunsetRule(), pd.Timestamp("2026-11-30"), pd.DataFrame(), 1000, 120, 40,
        ...                      0.01, 0.02, 0.015, 0.40, 0.45)
        >>> print(s.summary())
        No engagement in the last 12 emails and 180 days. As of 2026-11-30, 120 of 1,000 emailed contacts (12.0%) would be suppressed, and 40 more are at risk. They made 1.0% of the last year's clicks, 2.0% of its orders and 1.5% of its revenue. The share of emailed contacts that engaged in the last 90 days rises from 40.0% to 45.0%.
        """
        share = self.suppressed / self.subscribed if self.subscribed else 0.0
        return (
            f"{self.rule.describe()} As of {self.as_of:%Y-%m-%d}, {self.suppressed:,} of {self.subscribed:,} "
            f"emailed contacts ({share:.1%}) would be suppressed, and {self.at_risk:,} more are at risk. "
            f"They made {self.click_share:.1%} of the last year's clicks, {self.order_share:.1%} of its "
            f"orders and {self.revenue_share:.1%} of its revenue. The share of emailed contacts that "
            f"engaged in the last {RECENT_DAYS} days rises from {self.engaged_share_before:.1%} to "
            f"{self.engaged_share_after:.1%}."
        )


def simulate_sunset(
    dataset: Dataset, *, as_of: pd.Timestamp, rule: SunsetRule, config: EngagementConfig
) -> SunsetSimulation:
    """Simulate ``rule`` as of ``as_of`` (nothing is changed)."""
    table = sunset_table(dataset, as_of=as_of, rule=rule, config=config)
    status = table["sunset_status"]
    gone = set(table.loc[status == "sunset", "contact_id"])
    emailed = table.loc[status != "not_emailed", "contact_id"]

    # Clicks and engagement counted by the same rules as the levels (machine events left out as
    # the settings say): the features over the last year and over the last 90 days.
    year = compute_features(dataset.activity_for(config), as_of=as_of, config=config.with_changes(
        lookback_days=365, exclusion_hours=0))
    recent = compute_features(dataset.activity_for(config), as_of=as_of, config=config.with_changes(
        lookback_days=RECENT_DAYS, exclusion_hours=0))
    clicks = year.set_index("contact_id")["clicked"]
    orders = dataset.orders
    orders = orders[(orders["ordered_at"] > as_of - YEAR) & (orders["ordered_at"] <= as_of)]
    engaged = set(recent.loc[recent["opened"] > 0, "contact_id"])

    def share(values: pd.Series, weights: pd.Series | None = None) -> float:
        weights = pd.Series(1.0, index=values.index) if weights is None else weights
        total = float(weights.sum())
        return float(weights[values.isin(gone).to_numpy()].sum()) / total if total else 0.0

    kept = emailed[~emailed.isin(gone)]
    return SunsetSimulation(
        rule=rule, as_of=as_of, table=table, subscribed=len(emailed), suppressed=len(gone),
        at_risk=int((status == "at_risk").sum()),
        click_share=share(pd.Series(clicks.index, index=clicks.index), clicks),
        order_share=share(orders["contact_id"]), revenue_share=share(orders["contact_id"], orders["amount"]),
        engaged_share_before=float(emailed.isin(engaged).mean()) if len(emailed) else 0.0,
        engaged_share_after=float(kept.isin(engaged).mean()) if len(kept) else 0.0,
    )


__all__ = ["SUNSET_STATUSES", "SunsetRule", "SunsetSimulation", "simulate_sunset", "sunset_table"]
