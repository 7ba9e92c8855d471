"""Campaign plans with a holdout: draw the groups, size the test, then measure what it did.

================  ===================================================================================
step              rule
================  ===================================================================================
audience          the segment's members that can be emailed when the plan is made (subscribed):
                  both groups are drawn from them, so they are alike but for the email
holdout           a stable random share of that audience (:mod:`engagekit.data.holdout`); it is
                  recorded with the plan and left out of the treatment's send-ready export
success           the contact *opened* (an open or a click of any email), *clicked* any email, or
                  placed an *order*, from the send date for the plan's number of days; opens and
                  clicks count as the engagement rule in force counts them (machine opens left out
                  under *confirmed opens*, every open under *clicks only*, scanner clicks unless
                  they count), exactly as the levels and the activity criteria count them
baseline          for the power estimate: the audience's own success rate over the same number of
                  days before the plan's as-of time
guardrails        unsubscribes and bounces in the same window, per group
status            *planned* before the send date, *sent* from the send date, *measured* once a
                  measurement is stored (a measurement before the window has ended is interim)
================  ===================================================================================
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from engagekit.campaigns.lift import Lift, measure_lift
from engagekit.campaigns.power import minimum_detectable_effect, required_size
from engagekit.config import EngagementConfig
from engagekit.data.activity import counted_events
from engagekit.data.dataset import Dataset
from engagekit.data.holdout import holdout_mask
from engagekit.data.schema import EmailStatus, EventType
from engagekit.errors import ConfigError
from engagekit.workspace.plans import PlanRecord

SUCCESS_EVENTS: dict[str, str] = {
    "open": "opened an email",
    "click": "clicked an email",
    "order": "placed an order",
}
DEFAULT_HOLDOUT_SHARE = 0.1
DEFAULT_SUCCESS_DAYS = 14
PLAN_STATUSES = ("planned", "sent", "measured")


@dataclass(frozen=True)
class PlanPower:
    """What a test of these sizes can detect.

    Attributes
    ----------
    treatment_size, holdout_size : int
    baseline_rate : float
        The audience's success rate over the plan's window length before the as-of time.
    minimum_effect : float or None
        The smallest absolute rise of the success rate detected with 80 % power at the 5 % level.
    """

    treatment_size: int
    holdout_size: int
    baseline_rate: float
    minimum_effect: float | None

    def size_for(self, effect: float) -> int | None:
        """Contacts in all a test needs to detect an absolute rise of ``effect``."""
        total = self.treatment_size + self.holdout_size
        share = self.holdout_size / total if total else 0.0
        return required_size(self.baseline_rate, effect, holdout_share=share)

    def summary(self) -> str:
        """One sentence for the user.

        Examples
        --------
        >>> PlanPower(4000, 1000, 0.1, 0.032).summary()
        'With 4,000 contacts emailed and 1,000 held out, from a baseline of 10.0%, the test can detect a rise of 3.2 points or more (80% power, 5% level).'
        """
        if self.minimum_effect is None:
            return "A group is empty: the test cannot detect anything; use a larger segment or another holdout share."
        return (
            f"With {self.treatment_size:,} contacts emailed and {self.holdout_size:,} held out, from a "
            f"baseline of {self.baseline_rate:.1%}, the test can detect a rise of "
            f"{100 * self.minimum_effect:.1f} points or more (80% power, 5% level)."
        )


@dataclass(frozen=True)
class PlanResult:
    """A measurement of a plan: the lift on its success event and the guardrails.

    Attributes
    ----------
    lift : Lift
    unsubscribe_rates, bounce_rates : dict
        ``{"treatment": rate, "holdout": rate}`` in the success window.
    window_start, window_end : pandas.Timestamp
        The window measured (its end is the as-of time when the window has not ended yet).
    complete : bool
        Whether the whole window had passed at the as-of time.
    """

    lift: Lift
    unsubscribe_rates: dict[str, float]
    bounce_rates: dict[str, float]
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    complete: bool

    def to_json(self) -> str:
        data = asdict(self)
        data["window_start"], data["window_end"] = self.window_start.isoformat(), self.window_end.isoformat()
        return json.dumps(data, allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> PlanResult:
        data = json.loads(text)
        return cls(lift=Lift(**data["lift"]), unsubscribe_rates=data["unsubscribe_rates"],
                   bounce_rates=data["bounce_rates"], window_start=pd.Timestamp(data["window_start"]),
                   window_end=pd.Timestamp(data["window_end"]), complete=bool(data["complete"]))

    def guardrail_warnings(self, *, tolerance: float = 0.002) -> list[str]:
        """Sentences for guardrails the treatment made worse by more than ``tolerance``.

        Examples
        --------
        >>> lift = measure_lift(40, 400, 5, 100)
        >>> result = PlanResult(lift, {"treatment": 0.02, "holdout": 0.0}, {"treatment": 0.0, "holdout": 0.0},
        ...                     pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-15"), True)
        >>> result.guardrail_warnings()
        ['Unsubscribes: 2.0% of the treatment against 0.0% of the holdout.']
        """
        warnings = []
        for label, rates in (("Unsubscribes", self.unsubscribe_rates), ("Bounces", self.bounce_rates)):
            if rates["treatment"] - rates["holdout"] > tolerance:
                warnings.append(f"{label}: {rates['treatment']:.1%} of the treatment against "
                                f"{rates['holdout']:.1%} of the holdout.")
        return warnings


@dataclass(frozen=True)
class CampaignPlan:
    """A plan with its groups (from the workspace) and, once measured, its result."""

    record: PlanRecord
    members: pd.DataFrame  # contact_id, holdout

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def treatment_ids(self) -> np.ndarray:
        return self.members.loc[~self.members["holdout"], "contact_id"].to_numpy(np.int64)

    @property
    def holdout_ids(self) -> np.ndarray:
        return self.members.loc[self.members["holdout"], "contact_id"].to_numpy(np.int64)

    @property
    def window_end(self) -> pd.Timestamp:
        return self.record.send_date + pd.Timedelta(days=self.record.success_days)

    @property
    def result(self) -> PlanResult | None:
        return PlanResult.from_json(self.record.result) if self.record.result else None

    def status(self, as_of: pd.Timestamp) -> str:
        """``planned``, ``sent`` or ``measured`` (see the module notes)."""
        if self.record.result:
            return "measured"
        return "sent" if as_of >= self.record.send_date else "planned"

    def describe(self) -> str:
        record = self.record
        return (f"'{record.name}': {len(self.treatment_ids):,} to email, {len(self.holdout_ids):,} held out "
                f"({record.holdout_share:.0%}) from '{record.segment_name}'; sent {record.send_date:%Y-%m-%d}; "
                f"success: {SUCCESS_EVENTS[record.success_event]} within {record.success_days} days.")


def check_plan_settings(*, success_event: str, success_days: int, holdout_share: float) -> None:
    """Refuse settings a plan cannot have, in words the user reads."""
    if success_event not in SUCCESS_EVENTS:
        raise ConfigError(f"The success event must be one of {', '.join(SUCCESS_EVENTS)}, not {success_event!r}.")
    if not 1 <= int(success_days) <= 365:
        raise ConfigError(f"The success window must be 1 to 365 days, not {success_days}.")
    if not 0.01 <= float(holdout_share) <= 0.5:
        raise ConfigError(f"The holdout share must be between 1% and 50%, not {float(holdout_share):.0%}.")


def sendable_members(dataset: Dataset, member_ids: np.ndarray) -> np.ndarray:
    """The members one may email (subscribed), sorted."""
    contacts = dataset.contacts
    subscribed = dataset.derived("subscribed contact ids", lambda: np.sort(contacts.loc[
        contacts["email_status"] == EmailStatus.SUBSCRIBED.value, "contact_id"].to_numpy(np.int64)))
    members = np.asarray(member_ids, dtype=np.int64)
    if not (members[1:] > members[:-1]).all():  # engines give sorted ids: sorting them again costs
        members = np.unique(members)
    return members[np.isin(members, subscribed)]


def draw_groups(contact_ids: np.ndarray, *, holdout_share: float, seed: int) -> np.ndarray:
    """The holdout mask of a plan's audience."""
    return holdout_mask(contact_ids, holdout_share, seed)


def successes(dataset: Dataset, contact_ids: np.ndarray, event: str, start: pd.Timestamp,
              end: pd.Timestamp, *, config: EngagementConfig) -> np.ndarray:
    """Whether each contact had the success ``event`` in ``[start, end)``, opens and clicks counted
    as ``config``'s engagement rule counts them.

    Examples
    --------
    An Apple Mail proxy fetched the email seconds after the send: not a person reading it.

    >>> from engagekit.data.sample import generate_sample
    >>> data = generate_sample(3, seed=1)
    >>> sent = data.campaigns["sent_at"].max()
    >>> opened = pd.DataFrame({"contact_id": data.contact_ids[:1], "campaign_id": data.campaigns["campaign_id"].iloc[-1:],
    ...                        "event_type": "open", "occurred_at": sent, "machine": True})
    >>> data = data.replace(email_events=opened)
    >>> window = (sent, sent + pd.Timedelta(days=1))
    >>> [bool(successes(data, data.contact_ids[:1], "open", *window, config=EngagementConfig(engagement=rule))[0])
    ...  for rule in ("all_opens", "confirmed_opens")]
    [True, False]
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if event == "order":
        orders = dataset.orders
        times = orders["ordered_at"]
        done = orders.loc[(times >= start) & (times < end), "contact_id"].to_numpy(np.int64)
    elif _whole_seconds(start) and _whole_seconds(end):
        # The activity index holds every counted open and click to the second, which is exact
        # for bounds on whole seconds, and reads no event table.
        # An order is not an open of an email: the email-activity rule, as the activity criteria use.
        index = dataset.activity_for(config.for_email_activity())
        done = index.contact_ids[index.engaged_between(
            start.value // 1_000_000_000, end.value // 1_000_000_000, clicks_only=event == "click")]
    else:
        kinds = (EventType.CLICK.value,) if event == "click" else (EventType.OPEN.value, EventType.CLICK.value)
        counted = counted_events(dataset, config.for_email_activity())
        done = _events(counted, kinds, start, end).to_numpy(np.int64)
    return np.isin(np.asarray(contact_ids, dtype=np.int64), done)


def _whole_seconds(time: pd.Timestamp) -> bool:
    return time.value % 1_000_000_000 == 0


def _events(events: pd.DataFrame, kinds: tuple[str, ...], start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    times = events["occurred_at"]
    return events.loc[events["event_type"].isin(kinds) & (times >= start) & (times < end), "contact_id"]


def plan_power(dataset: Dataset, contact_ids: np.ndarray, holdout: np.ndarray, *, success_event: str,
               success_days: int, as_of: pd.Timestamp, config: EngagementConfig) -> PlanPower:
    """The power of a plan before it is sent, from the audience's own recent success rate (its
    opens and clicks counted by ``config``'s engagement rule, as the measurement counts them)."""
    start = as_of - pd.Timedelta(days=success_days)
    done = successes(dataset, contact_ids, success_event, start, as_of + pd.Timedelta(seconds=1),
                     config=config)
    baseline = float(done.mean()) if len(done) else 0.0
    n_holdout = int(np.count_nonzero(holdout))
    n_treatment = len(contact_ids) - n_holdout
    return PlanPower(n_treatment, n_holdout, baseline,
                     minimum_detectable_effect(n_treatment, n_holdout, baseline))


def measure(dataset: Dataset, plan: CampaignPlan, *, as_of: pd.Timestamp,
            config: EngagementConfig) -> PlanResult:
    """The plan's lift and guardrails in its success window, counting what happened by ``as_of``
    (opens and clicks as ``config``'s engagement rule counts them)."""
    record = plan.record
    start = record.send_date
    end = min(plan.window_end, as_of + pd.Timedelta(seconds=1))
    if end <= start:
        raise ConfigError(f"'{record.name}' is sent on {start:%Y-%m-%d}: there is nothing to measure "
                          f"as of {as_of:%Y-%m-%d}.")
    groups = {"treatment": plan.treatment_ids, "holdout": plan.holdout_ids}
    wins = {name: successes(dataset, ids, record.success_event, start, end, config=config)
            for name, ids in groups.items()}
    lift = measure_lift(int(wins["treatment"].sum()), len(groups["treatment"]),
                        int(wins["holdout"].sum()), len(groups["holdout"]))

    def rates(kind: str) -> dict[str, float]:
        hit = _events(dataset.email_events, (kind,), start, end).to_numpy(np.int64)
        return {name: float(np.isin(ids, hit).mean()) if len(ids) else 0.0 for name, ids in groups.items()}

    return PlanResult(lift, rates(EventType.UNSUBSCRIBE.value), rates(EventType.BOUNCE.value),
                      start, end, complete=end >= plan.window_end)


__all__ = [
    "DEFAULT_HOLDOUT_SHARE",
    "DEFAULT_SUCCESS_DAYS",
    "PLAN_STATUSES",
    "SUCCESS_EVENTS",
    "CampaignPlan",
    "PlanPower",
    "PlanResult",
    "check_plan_settings",
    "draw_groups",
    "measure",
    "plan_power",
    "sendable_members",
    "successes",
]
