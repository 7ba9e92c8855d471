"""Email events as compact arrays grouped by delivery: what the classifier and the index read.

Tens of millions of events are held as a few numpy arrays with small constants per event:

==================  ============================================================================
array               per event
==================  ============================================================================
``contact``         the contact's position in ``contacts`` (int32)
``campaign``        the campaign's position in ``campaigns`` (int32)
``kind``            the event type as an int8 code, its position in :data:`~engagekit.data.schema.EVENT_TYPES`
``time_us``         when it happened, microseconds since the epoch (int64)
``delivery``        the number of its delivery (a contact, campaign pair), int32 (int64 beyond 2^31)
==================  ============================================================================

Deliveries are numbered by campaign in sent-time order, then by contact; ``order`` lists the events
delivery by delivery and ``starts`` says where each delivery's run begins in it. Grouping is one
stable sort of an int64 key (:func:`~engagekit.data.sorting.stable_order`), so the events of a
delivery keep their file order.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engagekit.data.arrow import arrow_strings
from engagekit.data.schema import EVENT_TYPES, EventType
from engagekit.data.sorting import stable_order

SEND, OPEN, CLICK, BOUNCE, UNSUBSCRIBE = (EVENT_TYPES.index(kind.value) for kind in EventType)
_DENSE_SLACK = 4  # a lookup table up to this many times the number of ids beats a binary search


def event_codes(values: pd.Series | np.ndarray) -> np.ndarray:
    """Event types (canonical names) as int8 codes; an unknown name is -1.

    Examples
    --------
    >>> event_codes(pd.Series(["send", "click", "open"])).tolist()
    [0, 2, 1]
    """
    values = pd.Series(values)
    if isinstance(values.dtype, pd.CategoricalDtype):  # each distinct name looked up once
        names = event_codes(np.asarray(values.cat.categories, dtype=object))
        return np.r_[names, -1].astype(np.int8)[values.cat.codes.to_numpy()]
    found = pc.index_in(arrow_strings(values), value_set=pa.array(EVENT_TYPES))
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int8)


def positions(ids: np.ndarray, values: np.ndarray, *, of: np.ndarray | None = None) -> np.ndarray:
    """Position of each value in ``ids`` (every value is one of ``ids``), as int32 when it fits;
    with ``of`` (one entry per id), the entry of ``of`` at that position instead.

    Ids that are sorted and nearly dense (the usual 1..n) are looked up in a table, one memory
    access per value; other ids by binary search or a hash index.

    Examples
    --------
    >>> positions(np.array([3, 4, 7]), np.array([7, 3, 3])).tolist()
    [2, 0, 0]
    >>> positions(np.array([3, 4, 7]), np.array([7, 3]), of=np.array([30, 40, 70])).tolist()
    [70, 30]
    """
    ids = np.asarray(ids, dtype=np.int64)
    values = np.asarray(values, dtype=np.int64)
    kind = np.int32 if len(ids) < np.iinfo(np.int32).max else np.int64
    if of is None:
        of = np.arange(len(ids), dtype=kind)
    if not len(ids) or not len(values):
        return np.zeros(len(values), dtype=of.dtype)
    if np.all(ids[1:] > ids[:-1]):
        low, span = int(ids[0]), int(ids[-1]) - int(ids[0]) + 1
        if span <= _DENSE_SLACK * len(ids) + 1024:
            # ids from near zero (the usual 1..n) index the table as they are: no shifted copy
            # of millions of values
            shift = 0 if 0 <= low <= span else low
            table = np.zeros(span + low - shift, dtype=of.dtype)
            table[ids - shift] = of
            return table[values - shift] if shift else table[values]
        return of[np.searchsorted(ids, values)]
    return of[pd.Index(ids).get_indexer(values)]


def microseconds(times: pd.Series | np.ndarray) -> np.ndarray:
    """Naive UTC times as int64 microseconds since the epoch."""
    return np.asarray(times, dtype="datetime64[us]").view(np.int64)


def run_starts(values: np.ndarray) -> np.ndarray:
    """Where each run of equal neighbouring values begins.

    Examples
    --------
    >>> run_starts(np.array([4, 4, 7, 4])).tolist()
    [0, 2, 3]
    """
    starts = np.empty(len(values), dtype=bool)
    starts[:1] = True
    np.not_equal(values[1:], values[:-1], out=starts[1:])
    return np.flatnonzero(starts)


def reduce_runs(values: np.ndarray, delivery: np.ndarray, runs: np.ndarray, n_deliveries: int,
                reduce: np.ufunc, empty: int) -> np.ndarray:
    """``reduce`` of ``values`` over each run of ``delivery`` (from :func:`run_starts`), one entry
    per delivery; ``empty`` for a delivery without values.

    Examples
    --------
    >>> delivery = np.array([0, 0, 2])
    >>> reduce_runs(np.array([5, 3, 9]), delivery, run_starts(delivery), 3, np.minimum, -1).tolist()
    [3, -1, 9]
    """
    out = np.full(n_deliveries, empty, dtype=values.dtype)
    if len(runs):
        out[delivery[runs]] = reduce.reduceat(values, runs)
    return out


@dataclass(frozen=True)
class EventArrays:
    """The email events of a dataset as arrays, delivery by delivery (see the module table).

    Every per-event array is in *grouped order*: the events of delivery 0 first, then those of
    delivery 1, and so on, each delivery's in file order; ``row`` gives each one's row in the
    events frame. A reduction per delivery is then one pass over contiguous runs.

    Attributes
    ----------
    row, kind, time_us, delivery
        Per event, in grouped order (``delivery`` never decreases).
    starts
        Where each delivery's run begins.
    delivery_contact, delivery_campaign
        Contact and campaign position of each delivery.
    sent_us
        Sent time of each campaign (microseconds), by campaign position.
    sent_order
        Campaign positions by sent time (ties in file order).
    n_contacts
        How many contacts the positions refer to.
    """

    row: np.ndarray
    kind: np.ndarray
    time_us: np.ndarray
    delivery: np.ndarray
    starts: np.ndarray
    delivery_contact: np.ndarray
    delivery_campaign: np.ndarray
    sent_us: np.ndarray
    sent_order: np.ndarray
    n_contacts: int

    @classmethod
    def group(
        cls, events: pd.DataFrame, campaigns: pd.DataFrame, contact_ids: np.ndarray | None = None,
    ) -> EventArrays:
        """Group ``events`` by delivery.

        ``contact_ids`` are the contacts positions refer to (the dataset's, in its order); by
        default the distinct contacts of the events.

        Examples
        --------
        >>> campaigns = pd.DataFrame({"campaign_id": [1, 2],
        ...     "sent_at": pd.to_datetime(["2026-11-02", "2026-11-01"])})
        >>> events = pd.DataFrame({"contact_id": [7, 7, 9], "campaign_id": [1, 2, 1],
        ...     "event_type": ["send", "send", "open"],
        ...     "occurred_at": pd.to_datetime(["2026-11-02", "2026-11-01", "2026-11-03"])})
        >>> arrays = EventArrays.group(events, campaigns)
        >>> arrays.row.tolist(), arrays.delivery.tolist(), arrays.delivery_campaign.tolist()
        ([1, 0, 2], [0, 1, 2], [1, 0, 0])
        """
        if contact_ids is None:
            contact_ids = np.unique(events["contact_id"].to_numpy(np.int64))
        n_contacts = max(len(contact_ids), 1)
        sent_us = microseconds(campaigns["sent_at"])
        sent_order = np.argsort(sent_us, kind="stable")
        sent_rank = np.empty(len(sent_order), dtype=np.int64)
        sent_rank[sent_order] = np.arange(len(sent_order))

        with ThreadPoolExecutor(max_workers=1) as pool:
            # Arrow reads the type names while numpy sorts: both leave Python's lock free.
            codes = pool.submit(event_codes, events["event_type"])
            key = positions(campaigns["campaign_id"].to_numpy(np.int64),
                            events["campaign_id"].to_numpy(np.int64), of=sent_rank * n_contacts)
            key += positions(contact_ids, events["contact_id"].to_numpy(np.int64))
            row, key = stable_order(key, len(sent_order) * n_contacts)
            kind = codes.result()[row]
        boundary = np.empty(len(key), dtype=bool)
        boundary[:1] = True
        np.not_equal(key[1:], key[:-1], out=boundary[1:])
        starts = np.flatnonzero(boundary)
        delivery_key = key[starts]
        del key
        boundary[:1] = False  # the first delivery is number 0
        # a sum of booleans straight into the integer type: numpy's default casts each one
        delivery = np.cumsum(boundary, dtype=np.int32 if len(starts) < 2**31 else np.int64)
        return cls(
            row=row,
            kind=kind,
            time_us=microseconds(events["occurred_at"])[row],
            delivery=delivery,
            starts=starts,
            delivery_contact=(delivery_key % n_contacts).astype(np.int32),
            delivery_campaign=sent_order[delivery_key // n_contacts].astype(np.int32),
            sent_us=sent_us, sent_order=sent_order, n_contacts=len(contact_ids),
        )

    @property
    def n_events(self) -> int:
        return len(self.kind)

    @property
    def n_deliveries(self) -> int:
        return len(self.starts)

    def per_delivery(self, values: np.ndarray, mask: np.ndarray | None, reduce: np.ufunc,
                     empty: int) -> np.ndarray:
        """``reduce`` (``np.minimum``, ``np.maximum``, ``np.logical_or``) of ``values`` (grouped
        order) over each delivery's events where ``mask`` holds; ``empty`` for one with none.

        Only the masked events are read: a rule about clicks costs the clicks, not every send.
        """
        values = np.asarray(values)
        if mask is None:
            return reduce.reduceat(values, self.starts) if self.n_deliveries else values[:0]
        chosen = np.flatnonzero(mask)
        delivery = self.delivery[chosen]
        return reduce_runs(values[chosen], delivery, run_starts(delivery), self.n_deliveries, reduce, empty)

    def spread(self, per_delivery: np.ndarray) -> np.ndarray:
        """A value per delivery, repeated for each of its events (grouped order)."""
        return per_delivery[self.delivery]

    def microseconds_after_send(self) -> np.ndarray:
        """How long after its campaign's send each event happened, in microseconds (grouped
        order)."""
        after = self.sent_us[self.delivery_campaign[self.delivery]]
        np.subtract(self.time_us, after, out=after)
        return after

    def seconds_after_send(self) -> np.ndarray:
        """How long after its campaign's send each event happened, in seconds (grouped order)."""
        return self.microseconds_after_send() / 1e6

    def in_file_order(self, values: np.ndarray) -> np.ndarray:
        """Per-event ``values`` in grouped order, put back in the order of the events frame."""
        out = np.empty_like(values)
        out[self.row] = values
        return out


__all__ = [
    "BOUNCE", "CLICK", "OPEN", "SEND", "UNSUBSCRIBE", "EventArrays", "event_codes", "microseconds",
    "positions", "reduce_runs", "run_starts",
]
