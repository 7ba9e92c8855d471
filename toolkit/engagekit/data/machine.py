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
are the same whether or not the other contacts' events are classified with them. Every rule but
*prefetcher* looks at the events of one delivery at most; the *prefetcher* rule adds up three
counts per contact (:class:`PrefetchCounts`), so events of new campaigns are classified with the
counts of the earlier ones and without their events (see :mod:`engagekit.data.growth`).

The verdict is a property of the data as imported, not of a reference time: the *prefetcher* rule
looks at all of a contact's history, because a mail client that prefetched the last dozen emails
prefetched the earlier ones too. What the verdicts change in the levels is chosen in
:class:`~engagekit.config.EngagementConfig` (``engagement``, ``count_scanner_clicks``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engagekit.config import MachineRules
from engagekit.data.arrow import dictionary_at
from engagekit.data.event_arrays import BOUNCE, CLICK, OPEN, EventArrays

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
    reason_code : numpy.ndarray of int8
        The rule that decided, as its position in :data:`REASONS` (0: none did).
    seconds_after_send : numpy.ndarray of float, optional
        How long after its campaign's send each event happened: given by
        :func:`classify_events`, ``None`` for verdicts made from stored reason codes
        (:meth:`from_codes`) and for the grouped ones of :func:`classify_grouped`.
    counts : PrefetchCounts, optional
        What the *prefetcher* rule counted per contact (given by :func:`classify_grouped`).
    """

    machine_open: np.ndarray
    scanner_click: np.ndarray
    reason_code: np.ndarray
    seconds_after_send: np.ndarray | None = None
    counts: PrefetchCounts | None = None

    @classmethod
    def from_codes(cls, reason_code: np.ndarray, kind: np.ndarray) -> Verdicts:
        """Verdicts from stored reason codes and the events' type codes."""
        flagged = reason_code != 0
        return cls(machine_open=flagged & (kind == OPEN), scanner_click=flagged & (kind == CLICK),
                   reason_code=reason_code)

    @property
    def flagged(self) -> np.ndarray:
        return self.machine_open | self.scanner_click

    @property
    def reason(self) -> np.ndarray:
        """The rule that decided, by name (one of :data:`REASONS`)."""
        return np.asarray(REASONS, dtype=object)[self.reason_code].astype(str)


@dataclass(frozen=True)
class PrefetchCounts:
    """What the *prefetcher* rule counts per contact (by contact position), over its deliveries:
    those that did not bounce (``kept``), those of them without an open soon after the send
    (``slow``), and those with a click (``clicked``). Deliveries of different campaigns are
    different deliveries, so the counts of two sets of campaigns add up.

    Examples
    --------
    >>> earlier = PrefetchCounts(kept=np.array([3, 1]), slow=np.array([0, 1]), clicked=np.array([0, 0]))
    >>> later = PrefetchCounts(kept=np.array([1, 0, 2]), slow=np.array([0, 0, 0]), clicked=np.array([0, 0, 0]))
    >>> total = earlier.padded(3) + later
    >>> total.kept.tolist(), total.prefetchers(MachineRules()).tolist()
    ([4, 1, 2], [True, False, False])
    """

    kept: np.ndarray
    slow: np.ndarray
    clicked: np.ndarray

    @classmethod
    def none(cls, n_contacts: int) -> PrefetchCounts:
        return cls(*(np.zeros(n_contacts, dtype=np.int32) for _ in range(3)))

    def padded(self, n_contacts: int) -> PrefetchCounts:
        """The counts for ``n_contacts`` contacts, those beyond these counting nothing yet."""
        return PrefetchCounts(*(np.pad(np.asarray(values), (0, n_contacts - len(values)))
                                for values in (self.kept, self.slow, self.clicked)))

    def __add__(self, other: PrefetchCounts) -> PrefetchCounts:
        return PrefetchCounts(self.kept + other.kept, self.slow + other.slow,
                              self.clicked + other.clicked)

    def prefetchers(self, rules: MachineRules) -> np.ndarray:
        """Which contacts the rule calls prefetchers."""
        return (self.kept >= rules.prefetch_min_sends) & (self.slow == 0) & (self.clicked == 0)


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
    arrays = EventArrays.group(events, campaigns)
    verdicts = classify_grouped(arrays, events, rules)
    return Verdicts(*(arrays.in_file_order(getattr(verdicts, name)) for name in _PER_EVENT),
                    seconds_after_send=arrays.in_file_order(arrays.seconds_after_send()),
                    counts=verdicts.counts)


def classify_grouped(
    arrays: EventArrays, events: pd.DataFrame, rules: MachineRules | None = None, *,
    earlier: PrefetchCounts | None = None,
) -> Verdicts:
    """:func:`classify_events` on events grouped by delivery (``arrays`` of ``events``); the
    verdicts come in the arrays' grouped order (without ``seconds_after_send``), with the
    prefetcher's counts. ``earlier`` are the counts of other deliveries of the same contacts
    (earlier campaigns), added to these ones' before the rule decides.

    The text columns (user agent, address, link) are read only for the events a rule could
    flag, so millions of sends cost nothing there. Times are compared in whole microseconds,
    as the events hold them.
    """
    rules = rules or MachineRules()
    is_open, is_click = arrays.kind == OPEN, arrays.kind == CLICK
    after = arrays.microseconds_after_send()
    soon = lambda limit: (after >= 0) & (after <= _microseconds(limit))  # noqa: E731 - reads best inline
    marked, confirmed = _marked_by_source(events, arrays.row)
    undecided = ~(marked | confirmed)

    counts = _prefetch_counts(arrays, is_open, is_click, after, rules)
    if earlier is not None:
        counts = counts + earlier.padded(arrays.n_contacts)
    prefetchers = counts.prefetchers(rules)

    reason = np.zeros(arrays.n_events, dtype=np.int8)
    reason[marked & (is_open | is_click)] = REASONS.index("source")
    candidates = undecided & is_open & soon(rules.proxy_seconds)
    rules_in_order = [
        ("proxy", lambda: _from_proxy(arrays, events, candidates, rules)),
        ("prefetcher", lambda: is_open & arrays.spread(prefetchers[arrays.delivery_contact])),
        ("burst", lambda: _in_burst(arrays, events, is_click, rules.burst_seconds)),
        ("early_click", lambda: _before_any_open(arrays, is_open, is_click & soon(rules.early_click_seconds))),
    ]
    for code, applies in rules_in_order:
        reason[undecided & (reason == 0) & applies()] = REASONS.index(code)
    flagged = reason != 0
    return Verdicts(machine_open=flagged & is_open, scanner_click=flagged & is_click,
                    reason_code=reason, counts=counts)


_PER_EVENT = ("machine_open", "scanner_click", "reason_code")


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


def _microseconds(seconds: float) -> int:
    """A rule's limit in whole microseconds (an event after it by any part of one is beyond)."""
    return math.floor(seconds * 1_000_000)


def _marked_by_source(events: pd.DataFrame, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which events (at ``row``, positions in the frame) the source marked as a machine's,
    and which as a person's; neither where ``machine`` is blank or absent."""
    if "machine" not in events.columns:
        neither = np.zeros(len(row), dtype=bool)
        return neither, neither
    machine = pd.array(events["machine"], dtype="boolean")
    return (machine.to_numpy(dtype=bool, na_value=False)[row],
            (~machine).to_numpy(dtype=bool, na_value=False)[row])


def _trimmed(events: pd.DataFrame, name: str, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """A text column at ``rows`` (positions in the frame), trimmed, as codes into its distinct
    values (blank is ``""``). Millions of events carry a handful of user agents and links, so
    rules look at each distinct value once."""
    if name not in events.columns or not len(rows):
        return np.zeros(len(rows), dtype=np.int64), [""]
    codes, distinct = dictionary_at(events[name], rows)
    distinct = [value.strip() for value in distinct] + [""]
    codes[codes < 0] = len(distinct) - 1
    # the same trimmed text under two spellings gets one code
    first = {value: code for code, value in reversed(list(enumerate(distinct)))}
    canonical = np.array([first[value] for value in distinct], dtype=np.int64)
    return canonical[codes], distinct


def _matching(events: pd.DataFrame, name: str, rows: np.ndarray, test) -> np.ndarray:
    """Whether the trimmed text of column ``name`` at ``rows`` passes ``test``."""
    codes, distinct = _trimmed(events, name, rows)
    return np.array([bool(test(value)) for value in distinct], dtype=bool)[codes]


def _from_proxy(
    arrays: EventArrays, events: pd.DataFrame, candidates: np.ndarray, rules: MachineRules
) -> np.ndarray:
    """Which of the ``candidates`` came from a privacy proxy's user agent or address."""
    chosen = np.flatnonzero(candidates)
    rows = arrays.row[chosen]
    agents = {agent.strip().casefold() for agent in rules.proxy_user_agents} - {""}
    prefixes = tuple(filter(None, rules.proxy_ip_prefixes))
    hit = _matching(events, "user_agent", rows, lambda agent: agent.casefold() in agents)
    if prefixes:
        hit = hit | _matching(events, "ip", rows, lambda ip: ip.startswith(prefixes))
    out = np.zeros(len(candidates), dtype=bool)
    out[chosen[hit]] = True
    return out


def _prefetch_counts(
    arrays: EventArrays, is_open: np.ndarray, is_click: np.ndarray, after: np.ndarray,
    rules: MachineRules,
) -> PrefetchCounts:
    """What the ``prefetcher`` rule counts per contact over these deliveries."""
    def any_of(mask: np.ndarray) -> np.ndarray:
        found = np.zeros(arrays.n_deliveries, dtype=bool)
        found[arrays.delivery[mask]] = True
        return found

    def per_contact(deliveries: np.ndarray) -> np.ndarray:
        return np.bincount(contact[deliveries], minlength=arrays.n_contacts).astype(np.int32)

    kept = ~any_of(arrays.kind == BOUNCE)
    fast_open = any_of(is_open & (after >= 0) & (after <= _microseconds(rules.prefetch_seconds)))
    contact = arrays.delivery_contact
    return PrefetchCounts(kept=per_contact(kept), slow=per_contact(kept & ~fast_open),
                          clicked=per_contact(any_of(is_click)))


def _in_burst(arrays: EventArrays, events: pd.DataFrame, is_click: np.ndarray,
              seconds: float) -> np.ndarray:
    """Clicks within ``seconds`` of a neighbouring click of the same email on another link."""
    chosen = np.flatnonzero(is_click)
    out = np.zeros(arrays.n_events, dtype=bool)
    if len(chosen) < 2:
        return out
    delivery, time = arrays.delivery[chosen], arrays.time_us[chosen]
    ordered = np.lexsort((time, delivery))  # stable: equal times keep the file's order
    chosen, delivery, time = chosen[ordered], delivery[ordered], time[ordered]
    link, distinct = _trimmed(events, "link", arrays.row[chosen])
    blank = distinct.index("")
    known = (link[1:] != blank) & (link[:-1] != blank)
    pair = (delivery[1:] == delivery[:-1]) & (np.diff(time) <= _microseconds(seconds)) & (
        ~known | (link[1:] != link[:-1]))
    hit = np.zeros(len(chosen), dtype=bool)
    hit[1:] |= pair
    hit[:-1] |= pair
    out[chosen[hit]] = True
    return out


def _before_any_open(arrays: EventArrays, is_open: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Which of the ``candidates`` (events) happened before every open of their email; only the
    candidates are looked at, not every event."""
    chosen = np.flatnonzero(candidates)
    # the opens of the candidates' emails alone (clicks on delivery are few; opens are millions)
    asked = np.zeros(arrays.n_deliveries, dtype=bool)
    asked[arrays.delivery[chosen]] = True
    first_open = arrays.per_delivery(arrays.time_us, is_open & asked[arrays.delivery], np.minimum,
                                     np.iinfo(np.int64).max)
    out = np.zeros(arrays.n_events, dtype=bool)
    out[chosen[first_open[arrays.delivery[chosen]] > arrays.time_us[chosen]]] = True
    return out


__all__ = [
    "MACHINE_OPEN_REASONS",
    "REASONS",
    "PrefetchCounts",
    "SCANNER_CLICK_REASONS",
    "Verdicts",
    "classify_events",
    "classify_grouped",
    "describe_verdict",
]
