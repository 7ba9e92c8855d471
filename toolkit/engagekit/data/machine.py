"""Which opens a machine fetched and which clicks a link scanner made: the classifier.

Since Apple Mail Privacy Protection (2021) Apple's proxy fetches every message for its users, so
an open no longer means a person read the email; link scanners (Microsoft SafeLinks, Mimecast,
Proofpoint) follow every link seconds after delivery. :func:`classify_events` gives every email
event a verdict by these rules, in this order (the first that applies decides; settings in
:class:`~engagekit.config.MachineRules`, defaults in brackets):

=================  ============================================================================
reason             rule
=================  ============================================================================
``source``         the source marked the event as a machine's (``machine`` is true). A source
                   that marks it ``false`` has confirmed a person: no rule below overrides it.
``proxy``          an open at most ``proxy_seconds`` (120) after its send whose user agent is a
                   privacy proxy's (``Mozilla/5.0``, Apple's) or whose address starts with a
                   proxy prefix (``17.``, Apple's network).
``prefetcher``     an open of a contact with at least ``prefetch_min_sends`` (3) deliveries that
                   did not bounce, *every* one of them opened at most ``prefetch_seconds`` (120)
                   after its send, and no click at all: a mail client that fetches everything on
                   arrival, as Apple Mail does for its users even without user agents in the data.
``burst``          a click of one email within ``burst_seconds`` (5) of another click of the same
                   email on a different link (or, when a link is not known, of any other click):
                   a scanner following every link at once. Two clicks of one link are a person's
                   double click.
``early_click``    a click at most ``early_click_seconds`` (60) after its send with no open of
                   that email at or before it: a scanner checking links on delivery.
=================  ============================================================================

Sends, bounces and unsubscribes are never flagged. Seconds are measured from the campaign's sent
time; an event dated before its send (a clock problem in the data) meets no time rule.

Every rule looks at the events of one contact at most, so the verdicts on one contact's events
are the same whether or not the other contacts' events are classified with them.

The verdict is a property of the data as imported, not of a reference time: the *prefetcher* rule
looks at all of a contact's history, because a mail client that prefetched the last dozen emails
prefetched the earlier ones too. What the verdicts change in the levels is chosen in
:class:`~engagekit.config.EngagementConfig` (``engagement``, ``count_scanner_clicks``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engagekit.config import MachineRules
from engagekit.data.schema import EventType

REASONS: tuple[str, ...] = ("", "source", "proxy", "prefetcher", "burst", "early_click")
"""Reason codes of :func:`classify_events`; ``""`` is an event that counts as a person's."""

MACHINE_OPEN_REASONS = ("source", "proxy", "prefetcher")
SCANNER_CLICK_REASONS = ("source", "burst", "early_click")


@dataclass(frozen=True)
class Verdicts:
    """The classifier's verdict on every email event, in the order of the events frame.

    Attributes
    ----------
    machine_open, scanner_click : numpy.ndarray of bool
        Opens fetched by a machine; clicks made by a link scanner.
    reason : numpy.ndarray of str
        The rule that decided (one of :data:`REASONS`; ``""`` when none did).
    seconds_after_send : numpy.ndarray of float
        How long after its campaign's send each event happened.
    """

    machine_open: np.ndarray
    scanner_click: np.ndarray
    reason: np.ndarray
    seconds_after_send: np.ndarray

    @property
    def flagged(self) -> np.ndarray:
        return self.machine_open | self.scanner_click


def classify_events(
    events: pd.DataFrame, campaigns: pd.DataFrame, rules: MachineRules | None = None
) -> Verdicts:
    """The verdict of the rules in the module docstring on each of ``events``.

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical ``email_events`` (the optional columns may be blank or absent).
    campaigns : pandas.DataFrame
        Canonical ``campaigns``, holding every campaign the events refer to.
    rules : MachineRules, optional

    Examples
    --------
    >>> campaigns = pd.DataFrame({"campaign_id": [1], "sent_at": [pd.Timestamp("2026-11-02 10:00")]})
    >>> events = pd.DataFrame({
    ...     "contact_id": [1, 1, 2], "campaign_id": [1, 1, 1],
    ...     "event_type": ["open", "click", "open"],
    ...     "occurred_at": pd.to_datetime(["2026-11-02 10:00:04", "2026-11-02 13:00:00",
    ...                                    "2026-11-02 12:00:00"]),
    ...     "user_agent": ["Mozilla/5.0", None, "Mozilla/5.0"]})
    >>> classify_events(events, campaigns).reason.tolist()
    ['proxy', '', '']
    """
    rules = rules or MachineRules()
    n = len(events)
    kind = events["event_type"].to_numpy(dtype=object)
    is_open = kind == EventType.OPEN.value
    is_click = kind == EventType.CLICK.value
    sent = campaigns["sent_at"].to_numpy("datetime64[us]").astype(np.int64)[
        pd.Index(campaigns["campaign_id"]).get_indexer(events["campaign_id"])]
    occurred = events["occurred_at"].to_numpy("datetime64[us]").astype(np.int64)
    after = (occurred - sent) / 1e6
    soon = lambda limit: (after >= 0) & (after <= limit)  # noqa: E731 - a rule reads best inline
    source = _column(events, "machine")
    marked = source.eq(True).fillna(False).to_numpy(dtype=bool)
    trusted = source.eq(False).fillna(False).to_numpy(dtype=bool)
    undecided = ~marked & ~trusted

    reason = np.full(n, "", dtype=object)
    reason[marked & (is_open | is_click)] = "source"
    rules_in_order = [
        ("proxy", is_open & soon(rules.proxy_seconds) & _from_proxy(events, rules)),
        ("prefetcher", is_open & _prefetchers(events, is_open, is_click, after, rules)),
        ("burst", is_click & _in_burst(events, is_click, rules.burst_seconds)),
        ("early_click", is_click & soon(rules.early_click_seconds) & ~_opened_by_then(events, is_open)),
    ]
    for code, applies in rules_in_order:
        reason[undecided & applies & (reason == "")] = code
    flagged = reason != ""
    return Verdicts(
        machine_open=flagged & is_open,
        scanner_click=flagged & is_click,
        reason=reason.astype(str),
        seconds_after_send=after,
    )


def describe_verdict(reason: str, seconds_after_send: float, rules: MachineRules | None = None) -> str:
    """One sentence saying why an event was (or was not) left out.

    Examples
    --------
    >>> describe_verdict("proxy", 4.0)
    'fetched 4 s after the send by a privacy proxy (within 120 s)'
    >>> describe_verdict("", 3600.0)
    "counted as a person's"
    """
    rules = rules or MachineRules()
    after = f"{seconds_after_send:.0f} s after the send"
    return {
        "": "counted as a person's",
        "source": "marked as a machine's by the data source",
        "proxy": f"fetched {after} by a privacy proxy (within {rules.proxy_seconds:g} s)",
        "prefetcher": (
            f"fetched {after}, by a contact whose every email is opened within "
            f"{rules.prefetch_seconds:g} s of its send and who never clicks"
        ),
        "burst": f"clicked {after}, within {rules.burst_seconds:g} s of a click on another link",
        "early_click": (
            f"clicked {after}, before any open and within {rules.early_click_seconds:g} s of the send"
        ),
    }[reason]


def _column(events: pd.DataFrame, name: str) -> pd.Series:
    if name in events.columns:
        return events[name]
    return pd.Series(pd.NA, index=events.index, dtype="object")


def _text(events: pd.DataFrame, name: str) -> pd.Series:
    """A text column trimmed, blank as ``""``."""
    return _column(events, name).astype("str").where(_column(events, name).notna(), "").str.strip()


def _from_proxy(events: pd.DataFrame, rules: MachineRules) -> np.ndarray:
    agents = {agent.strip().casefold() for agent in rules.proxy_user_agents} - {""}
    by_agent = _text(events, "user_agent").str.casefold().isin(agents).to_numpy(dtype=bool)
    ip = _text(events, "ip")
    by_address = np.zeros(len(events), dtype=bool)
    for prefix in filter(None, rules.proxy_ip_prefixes):
        by_address |= ip.str.startswith(prefix).to_numpy(dtype=bool)
    return by_agent | by_address


def _prefetchers(
    events: pd.DataFrame, is_open: np.ndarray, is_click: np.ndarray, after: np.ndarray,
    rules: MachineRules,
) -> np.ndarray:
    """Whether each event's contact is a prefetcher (see the ``prefetcher`` rule)."""
    contact = events["contact_id"].to_numpy(np.int64)
    campaign = events["campaign_id"].to_numpy(np.int64)
    bounced = events["event_type"].to_numpy(dtype=object) == EventType.BOUNCE.value
    deliveries = pd.DataFrame({
        "contact": contact, "campaign": campaign, "bounced": bounced,
        "fast_open": is_open & (after >= 0) & (after <= rules.prefetch_seconds),
    }).groupby(["contact", "campaign"], sort=False).agg(
        bounced=("bounced", "any"), fast_open=("fast_open", "any"))
    kept = deliveries[~deliveries["bounced"]]
    per_contact = kept.groupby(level="contact")["fast_open"].agg(["size", "all"])
    clickers = np.unique(contact[is_click])
    chosen = per_contact.index[(per_contact["size"] >= rules.prefetch_min_sends) & per_contact["all"]]
    chosen = np.setdiff1d(chosen.to_numpy(np.int64), clickers)
    return np.isin(contact, chosen)


def _in_burst(events: pd.DataFrame, is_click: np.ndarray, seconds: float) -> np.ndarray:
    """Clicks within ``seconds`` of a neighbouring click of the same email on another link."""
    rows = np.flatnonzero(is_click)
    out = np.zeros(len(events), dtype=bool)
    if len(rows) < 2:
        return out
    clicks = pd.DataFrame({
        "contact": events["contact_id"].to_numpy(np.int64)[rows],
        "campaign": events["campaign_id"].to_numpy(np.int64)[rows],
        "time": events["occurred_at"].to_numpy("datetime64[us]")[rows].astype(np.int64) / 1e6,
        "link": _text(events, "link").to_numpy(dtype=object)[rows],
        "row": rows,
    }).sort_values(["contact", "campaign", "time"], kind="stable")
    same = ((clicks["contact"].to_numpy()[1:] == clicks["contact"].to_numpy()[:-1])
            & (clicks["campaign"].to_numpy()[1:] == clicks["campaign"].to_numpy()[:-1]))
    close = np.diff(clicks["time"].to_numpy()) <= seconds
    link = clicks["link"].to_numpy()
    known = (link[1:] != "") & (link[:-1] != "")
    other_link = ~known | (link[1:] != link[:-1])
    pair = same & close & other_link
    hit = np.zeros(len(clicks), dtype=bool)
    hit[1:] |= pair
    hit[:-1] |= pair
    out[clicks["row"].to_numpy()[hit]] = True
    return out


def _opened_by_then(events: pd.DataFrame, is_open: np.ndarray) -> np.ndarray:
    """Whether the email of each event had an open at or before the event."""
    key = [events["contact_id"].to_numpy(np.int64), events["campaign_id"].to_numpy(np.int64)]
    times = events["occurred_at"].to_numpy("datetime64[us]").astype(np.int64)
    first_open = pd.Series(np.where(is_open, times, np.iinfo(np.int64).max)).groupby(key).transform("min")
    return first_open.to_numpy() <= times


__all__ = [
    "MACHINE_OPEN_REASONS",
    "REASONS",
    "SCANNER_CLICK_REASONS",
    "Verdicts",
    "classify_events",
    "describe_verdict",
]
