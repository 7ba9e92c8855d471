"""Classifying and indexing only what a merge added: new campaigns, their events, new contacts.

A weekly merge adds a campaign or two to millions of stored events. When the new data begins with
every row of the data before it (contacts, campaigns and events appended, none changed) and the new
events all belong to new campaigns sent no earlier than the last stored one, what was worked out
for the earlier data stays true for its deliveries, and only the new campaigns' events are read:

- **Verdicts.** Every rule of the classifier but *prefetcher* looks at one delivery at most; the
  *prefetcher* rule looks at three counts per contact
  (:class:`~engagekit.data.machine.PrefetchCounts`), which add up across campaigns. The new events
  are classified with the earlier counts, and a contact whose standing as a prefetcher changed
  (it clicked at last, or now has enough deliveries) has its whole history classified again.
- **Activity index.** Deliveries are numbered by campaign in sent order, so the new campaigns'
  deliveries come after every earlier one: their arrays are appended, counted in the earlier
  index's epoch and time type, and the earlier deliveries of contacts classified again are indexed
  again in place.

Anything else (orders counted as engagement, a new campaign sent before a stored one, a new event
of a stored campaign, a time outside the earlier index's range) is built anew. Either way the result
equals a build from scratch, array for array.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Protocol

import numpy as np
import pandas as pd

from engagekit.config import EngagementConfig, MachineRules
from engagekit.data.activity import (
    ActivityIndex,
    EventTables,
    fitting_time_type,
    machine_reasons,
    needs_verdicts,
)
from engagekit.data.event_arrays import EventArrays, microseconds, positions
from engagekit.data.machine import PrefetchCounts, classify_grouped

_PER_DELIVERY = [item.name for item in fields(ActivityIndex)
                 if item.name.startswith("delivery_") and item.name != "delivery_offsets"]


class GrowingData(EventTables, Protocol):
    """What growing needs of the new data (a :class:`~engagekit.data.dataset.Dataset` has it)."""

    def machine_reasons(self, rules: MachineRules, classify) -> np.ndarray: ...
    def grown_reasons(self, rules: MachineRules) -> GrownReasons | None: ...


@dataclass(frozen=True)
class Earlier:
    """What the data before a merge leaves to build on: its keys, its indexes (by counting key)
    and its classifier's reason codes and prefetcher counts (by machine rules).

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> data = generate_sample(30, seed=1)
    >>> earlier = Earlier.of(data)
    >>> earlier.n_events == len(data.email_events), earlier.indexes
    (True, {})
    """

    contact_ids: np.ndarray
    campaign_ids: np.ndarray
    campaign_sent_us: np.ndarray
    n_events: int
    indexes: dict[str, ActivityIndex]
    reasons: dict[str, tuple[np.ndarray, PrefetchCounts]]

    @classmethod
    def of(cls, dataset) -> Earlier:
        """What ``dataset`` (a :class:`~engagekit.data.dataset.Dataset`) has worked out so far;
        nothing is computed here."""
        return cls(
            contact_ids=dataset.contacts["contact_id"].to_numpy(np.int64),
            campaign_ids=dataset.campaigns["campaign_id"].to_numpy(np.int64),
            campaign_sent_us=microseconds(dataset.campaigns["sent_at"]),
            n_events=dataset.row_count("email_events"),
            indexes=dataset.known_indexes(),
            reasons=dataset.known_reasons(),
        )


@dataclass(frozen=True)
class GrownReasons:
    """The classifier's results on grown data, and what changed against the earlier data.

    Attributes
    ----------
    codes, counts
        The reason code of every event (file order) and the prefetcher's counts.
    remade
        The rows (sorted positions) whose codes were made here: the new events and every event
        of the contacts in ``reclassified``; every other row kept its earlier code.
    reclassified
        Ids of the contacts whose standing as a prefetcher changed (their earlier events were
        classified again).
    """

    codes: np.ndarray
    counts: PrefetchCounts
    remade: np.ndarray
    reclassified: np.ndarray


def grown_reasons(dataset: GrowingData, earlier: Earlier, rules: MachineRules) -> GrownReasons | None:
    """The classifier's results on ``dataset`` under ``rules``, from ``earlier``'s and the new
    events alone; ``None`` when it cannot grow."""
    known = earlier.reasons.get(rules.model_dump_json())
    new = _appended_events(dataset, earlier)
    if known is None or new is None:
        return None
    codes, counts = known
    contact_ids = dataset.contacts["contact_id"].to_numpy(np.int64)
    arrays = EventArrays.group(new, dataset.campaigns, contact_ids)
    verdicts = classify_grouped(arrays, new, rules, earlier=counts)
    grown = np.concatenate([np.asarray(codes), arrays.in_file_order(verdicts.reason_code)])
    changed = _standing_changed(counts, verdicts.counts, rules)
    remade = np.arange(earlier.n_events, len(grown))
    if changed.any():  # these contacts' whole history, classified again
        rows = _rows_of(dataset.email_events, contact_ids, changed)
        again = dataset.email_events.iloc[rows]
        regrouped = EventArrays.group(again, dataset.campaigns, contact_ids)
        grown[rows] = regrouped.in_file_order(classify_grouped(regrouped, again, rules).reason_code)
        remade = np.union1d(remade, rows)
    return GrownReasons(grown, verdicts.counts, remade, contact_ids[changed])


def grown_index(dataset: GrowingData, earlier: Earlier, config: EngagementConfig) -> ActivityIndex | None:
    """The activity index of ``dataset`` under ``config``, grown from ``earlier``'s; ``None``
    when it cannot grow (see the module docstring)."""
    before = earlier.indexes.get(config.counting_key())
    new = _appended_events(dataset, earlier)
    if before is None or new is None or config.count_orders or not before.n_deliveries:
        return None
    epoch, time_type = int(before.epoch), before.delivery_first.dtype.type
    if len(new):
        seconds = microseconds(new["occurred_at"]) // 1_000_000
        if int(seconds.min()) < epoch or (time_type is np.int32 and fitting_time_type(
                int(seconds.max()) - epoch) is not np.int32):
            return None  # the epoch or the time type changes: every time is counted anew
    verdicts = None
    if needs_verdicts(config):
        machine_reasons(dataset, config.machine_rules)
        verdicts = dataset.grown_reasons(config.machine_rules)
        if verdicts is None:  # made from every event: which stored deliveries changed is unknown
            return None
    codes = None if verdicts is None else np.asarray(verdicts.codes)
    appended = _Part.of(dataset, new, None if codes is None else codes[earlier.n_events:])
    grown = _joined(before, ActivityIndex._build(appended, config, (epoch, time_type)),
                    len(earlier.campaign_ids))
    if verdicts is None or not len(verdicts.reclassified):
        return grown
    # the reclassified contacts' stored events; their new ones are in ``grown`` already
    rows = verdicts.remade[verdicts.remade < earlier.n_events]
    again = _Part.of(dataset, dataset.email_events.iloc[rows], codes[rows])
    return _indexed_again(grown, ActivityIndex._build(again, config, (epoch, time_type)))


@dataclass(frozen=True)
class _Part:
    """Some of a dataset's events, with every contact and campaign (so positions stay the
    dataset's) and the classifier's codes of those events."""

    contacts: pd.DataFrame
    campaigns: pd.DataFrame
    email_events: pd.DataFrame
    orders: pd.DataFrame
    codes: np.ndarray | None

    @classmethod
    def of(cls, dataset: EventTables, events: pd.DataFrame, codes: np.ndarray | None) -> _Part:
        return cls(dataset.contacts, dataset.campaigns, events, dataset.orders.iloc[:0], codes)

    def machine_reasons(self, rules: MachineRules, classify) -> np.ndarray:
        return self.codes


def _appended_events(dataset: EventTables, earlier: Earlier) -> pd.DataFrame | None:
    """The events ``dataset`` adds to ``earlier``'s, when it only appends (see the module
    docstring); ``None`` otherwise."""
    contacts = dataset.contacts["contact_id"].to_numpy(np.int64)
    campaigns = dataset.campaigns["campaign_id"].to_numpy(np.int64)
    sent = microseconds(dataset.campaigns["sent_at"])
    n_contacts, n_campaigns = len(earlier.contact_ids), len(earlier.campaign_ids)
    if (len(contacts) < n_contacts or len(campaigns) < n_campaigns
            or len(dataset.email_events) < earlier.n_events
            or not np.array_equal(contacts[:n_contacts], earlier.contact_ids)
            or not np.array_equal(campaigns[:n_campaigns], earlier.campaign_ids)
            or not np.array_equal(sent[:n_campaigns], earlier.campaign_sent_us)):
        return None
    if n_campaigns and len(sent) > n_campaigns and sent[n_campaigns:].min() < sent[:n_campaigns].max():
        return None  # a new campaign among the stored ones: deliveries are numbered anew
    new = dataset.email_events.iloc[earlier.n_events:]
    if len(new) and positions(campaigns, new["campaign_id"].to_numpy(np.int64)).min() < n_campaigns:
        return None  # a new event of a stored campaign changes a stored delivery
    return new


def _standing_changed(before: PrefetchCounts, after: PrefetchCounts, rules: MachineRules) -> np.ndarray:
    """Which contacts (positions) became, or stopped being, prefetchers."""
    return before.padded(len(after.kept)).prefetchers(rules) != after.prefetchers(rules)


def _rows_of(events: pd.DataFrame, contact_ids: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """The rows of ``events`` of the ``chosen`` contacts (a mask by position)."""
    return np.flatnonzero(positions(contact_ids, events["contact_id"].to_numpy(np.int64), of=chosen))


def _joined(before: ActivityIndex, appended: ActivityIndex, n_campaigns: int) -> ActivityIndex:
    """``before`` with the deliveries of ``appended`` (the new campaigns', all sent after
    ``before``'s) after its own."""
    n = before.n_deliveries
    shift = np.int64(n) << np.int64(32)
    per_delivery = {name: np.concatenate([getattr(before, name), getattr(appended, name)])
                    for name in _PER_DELIVERY}
    return replace(
        appended, **per_delivery,
        # the new campaigns come after the stored ones in sent order, without deliveries before
        delivery_offsets=np.concatenate([before.delivery_offsets,
                                         appended.delivery_offsets[n_campaigns + 1:] + n]),
        engagement_key=np.concatenate([before.engagement_key, appended.engagement_key + shift]),
        click_key=np.concatenate([before.click_key, appended.click_key + shift]),
    )


def _indexed_again(index: ActivityIndex, again: ActivityIndex) -> ActivityIndex:
    """``index`` with the deliveries of ``again`` (some of its own, indexed again) in their
    place."""
    # Both number deliveries by campaign in sent order, then by contact: each campaign's run in
    # ``index`` is searched for the contacts ``again`` has in it.
    target = np.empty(again.n_deliveries, dtype=np.int64)
    runs = again.delivery_offsets
    for rank in np.flatnonzero(np.diff(runs)):
        start, stop = index.delivery_offsets[rank], index.delivery_offsets[rank + 1]
        contacts = index.delivery_contact[start:stop]
        target[runs[rank]:runs[rank + 1]] = start + np.searchsorted(
            contacts, again.delivery_contact[runs[rank]:runs[rank + 1]])
    changes = {}
    for name in _PER_DELIVERY:
        values = getattr(index, name)
        if not values.flags.writeable:  # a loaded index's maps: patch a copy
            values = np.array(values)
        values[target] = getattr(again, name)  # else the arrays _joined just made
        changes[name] = values
    indexed_again = np.zeros(index.n_deliveries, dtype=bool)
    indexed_again[target] = True
    for name in ("engagement_key", "click_key"):
        keys = getattr(index, name)
        kept = keys[~indexed_again[keys >> 32]]
        added = getattr(again, name)
        # ``target`` grows with ``again``'s numbering, so the added keys come sorted
        added = (target[added >> 32] << 32) | (added & ((1 << 32) - 1))
        changes[name] = np.insert(kept, np.searchsorted(kept, added, side="right"), added)
    return replace(index, **changes)


__all__ = ["Earlier", "GrownReasons", "grown_index", "grown_reasons"]
