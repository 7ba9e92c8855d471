"""Why a contact has its level: its features, its score, the thresholds, and the opens and clicks
left out of engagement (machine opens, scanner clicks), in words."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from engagekit.config import ENGAGEMENT_RULE_LABELS, SCORE_DECIMALS, EngagementConfig
from engagekit.data.activity import left_out_by_rule
from engagekit.data.dataset import Dataset
from engagekit.data.machine import classify_events, describe_verdict
from engagekit.data.schema import LEVEL_LABELS
from engagekit.engagement.features import last_engagement_ever_of, window_bounds
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
    left_out : pandas.DataFrame
        The contact's opens and clicks of window emails, up to the as-of time, that did not count
        (``campaign_id``, ``event_type``, ``occurred_at``, ``reason``, ``why``); empty when the
        data was not given.
    """

    contact_id: int
    level: str
    features: dict
    thresholds: dict
    reasons: list[str]
    left_out: pd.DataFrame

    def __str__(self) -> str:
        return f"{LEVEL_LABELS[self.level]}: " + " ".join(self.reasons)


def explain_contact(levels: LevelResult, contact_id: int, *, data: Dataset | None = None) -> Explanation:
    """Explain the level of ``contact_id`` in ``levels``.

    With ``data`` (the dataset the levels were computed from) the explanation also says which of
    the contact's opens and clicks were left out of engagement, and why.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.engagement.levels import compute_levels
    >>> data = generate_sample(200, seed=5)
    >>> levels = compute_levels(data, as_of="2026-11-30")
    >>> explanation = explain_contact(levels, int(levels.table["contact_id"][0]), data=data)
    >>> explanation.level in LEVEL_LABELS
    True
    >>> list(explanation.left_out.columns)
    ['campaign_id', 'event_type', 'occurred_at', 'reason', 'why']
    """
    rows = levels.table[levels.table["contact_id"] == contact_id]
    if rows.empty:
        raise NotFoundError(f"There is no contact with id {contact_id}.")
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
            f"Last engagement in the window: {row['last_open_at']:%Y-%m-%d}, "
            f"{row['days_since_last_engagement']:.0f} day(s) before, with "
            f"{int(row['sends_since_last_engagement'])} send(s) since (a click counts as an open)."
        )
    if data is not None:
        reasons.append(_ever_sentence(data, int(contact_id), levels, in_window=pd.notna(row["last_open_at"])))
    left_out = EMPTY_LEFT_OUT if data is None else left_out_events(
        data, int(contact_id), as_of=levels.as_of, config=config)
    if len(left_out):
        reasons.append(_left_out_sentence(left_out))
    return Explanation(
        contact_id=int(contact_id),
        level=str(row["level"]),
        features=row,
        thresholds=cuts.to_dict(),
        reasons=reasons,
        left_out=left_out,
    )


def _ever_sentence(data: Dataset, contact_id: int, levels: LevelResult, *, in_window: bool) -> str:
    """When the contact last engaged at all, up to the as-of time (before the window, maybe)."""
    ever = last_engagement_ever_of(data, as_of=levels.as_of, config=levels.config)
    row = ever.loc[ever["contact_id"] == contact_id].iloc[0]
    if pd.isna(row["last_engagement_ever_at"]):
        return "Last engagement ever: none up to the as-of date."
    when = f"{row['last_engagement_ever_at']:%Y-%m-%d}, {row['days_since_last_engagement_ever']:.0f} day(s) before"
    return (f"Last engagement ever: {when}." if in_window else
            f"Last engagement ever: {when}, before the window.")


EMPTY_LEFT_OUT = pd.DataFrame(columns=["campaign_id", "event_type", "occurred_at", "reason", "why"])


def left_out_events(
    data: Dataset, contact_id: int, *, as_of: pd.Timestamp, config: EngagementConfig
) -> pd.DataFrame:
    """The opens and clicks of ``contact_id`` that ``config`` leaves out of engagement as of
    ``as_of`` (emails sent in the window, events up to ``as_of``), each with its reason.

    Columns: ``campaign_id``, ``event_type``, ``occurred_at``, ``reason`` (a code of
    :data:`engagekit.data.machine.REASONS`, or ``clicks_only``) and ``why`` (a sentence).
    """
    start, end = window_bounds(as_of, config)
    events = data.email_events[data.email_events["contact_id"] == contact_id]
    sent = events["campaign_id"].map(data.campaigns.set_index("campaign_id")["sent_at"])
    events = events[(sent > start) & (sent <= end) & (events["occurred_at"] <= as_of)]
    # Every rule looks at one contact's events at most, so classifying only this contact's gives
    # the verdicts the whole data gives.
    verdicts = classify_events(events, data.campaigns, config.machine_rules)
    kind = events["event_type"].to_numpy(dtype=object)
    reason = verdicts.reason.astype(object)
    after = verdicts.seconds_after_send
    left_out = left_out_by_rule(kind, verdicts, config)
    by_rule = left_out & (reason == "")
    reason[by_rule] = "clicks_only"
    why = [
        f"no open counts ({ENGAGEMENT_RULE_LABELS['clicks_only'].lower()})" if code == "clicks_only"
        else describe_verdict(code, seconds, config.machine_rules)
        for code, seconds in zip(reason[left_out], after[left_out], strict=True)
    ]
    chosen = events[left_out]
    return pd.DataFrame({
        "campaign_id": chosen["campaign_id"].to_numpy(),
        "event_type": chosen["event_type"].to_numpy(dtype=object),
        "occurred_at": chosen["occurred_at"].to_numpy(),
        "reason": reason[left_out].astype(str),
        "why": why,
    })


def _left_out_sentence(left_out: pd.DataFrame) -> str:
    """"Left out: 12 open(s) (12 fetched ... by a privacy proxy) and 2 click(s) (...)."."""
    parts = []
    for kind, noun in (("open", "open(s)"), ("click", "click(s)")):
        mine = left_out[left_out["event_type"] == kind]
        if mine.empty:
            continue
        reasons = mine.groupby("reason", sort=False).size()
        detail = "; ".join(
            f"{count} {_REASON_NOUNS.get(code, code)}" for code, count in reasons.items())
        parts.append(f"{len(mine)} {noun} ({detail})")
    return "Left out of engagement: " + " and ".join(parts) + "."


_REASON_NOUNS = {
    "source": "marked as a machine's by the data source",
    "proxy": "fetched by a privacy proxy seconds after the send",
    "prefetcher": "fetched on arrival by a mail client that opens every email and never clicks",
    "burst": "clicked by a link scanner, several links within seconds",
    "early_click": "clicked by a link scanner before any open, seconds after the send",
    "clicks_only": "opens, which do not count under clicks only",
}


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
