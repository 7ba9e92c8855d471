"""A compact, array-based index of email activity, built once per data version.

Features as of any time T are then a handful of vectorised passes over these arrays
(``np.bincount`` on integer contact positions), which is what makes levels over a million contacts
fast. The index is plain numpy arrays so it can be saved beside the workspace database and opened
in an instant, memory-mapped (see :meth:`ActivityIndex.save` / :meth:`ActivityIndex.load`).

Rules encoded here:

- A *delivery* is a (contact, campaign) pair with any event. Any event implies the email was sent:
  an open without a recorded send still counts as a send (exports often lack send rows).
- A delivery is known as of T when its earliest event happened at or before T.
- A click counts as an open: a delivery's first engagement is its first open or click.
- An index counts the events one engagement rule counts (``EngagementConfig.counting_key``):
  opens and clicks it leaves out (machine opens, scanner clicks, every open for *clicks only*;
  see :mod:`engagekit.data.machine`) still make their delivery a send, and with ``count_orders``
  an order is an engagement of the last email sent to the contact at most
  ``order_attribution_days`` before it.
- Events are kept to the second; the keys below allow 136 years between the first and last event.
- Times per delivery are seconds after the index's ``epoch`` (its earliest event): ``int32`` while
  the data spans less than 68 years (four bytes a value instead of eight, for tens of millions of
  deliveries), else ``int64``; :meth:`ActivityIndex.offset` and :meth:`ActivityIndex.seconds`
  convert from and to seconds since the Unix epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from engagekit.config import EngagementConfig, MachineRules
from engagekit.data.event_arrays import (
    BOUNCE,
    CLICK,
    OPEN,
    SEND,
    EventArrays,
    microseconds,
    positions,
    reduce_runs,
    run_starts,
)
from engagekit.data.machine import PrefetchCounts, Verdicts, classify_grouped
from engagekit.data.memory import reused_memory
from engagekit.data.schema import EventType

NEVER = np.iinfo(np.int64).max
"""No such event (in seconds since the Unix epoch)."""
_LOW_MASK = (1 << 32) - 1
_FORMAT_VERSION = 6
_COUNTING_FILE = "counting.json"


def as_datetimes(seconds: np.ndarray) -> np.ndarray:
    """Seconds since the Unix epoch (int64) as ``datetime64[us]``, ``NEVER`` as a blank time (NaT).

    Examples
    --------
    >>> as_datetimes(np.array([0, NEVER])).tolist()
    [datetime.datetime(1970, 1, 1, 0, 0), None]
    """
    micro = seconds * 1_000_000  # NEVER wraps around here; it is overwritten just below
    micro[seconds == NEVER] = np.iinfo(np.int64).min  # NaT's bit pattern
    return micro.view("datetime64[us]")


def to_seconds(times: pd.Series | pd.Timestamp | np.ndarray) -> np.ndarray | int:
    """Naive UTC times as whole seconds since the Unix epoch (int64)."""
    if isinstance(times, pd.Timestamp):
        return int(np.datetime64(times.to_datetime64(), "s").astype(np.int64))
    values = np.asarray(times, dtype="datetime64[s]")
    return values.astype(np.int64)


class EventTables(Protocol):
    """What the index is built from: a :class:`~engagekit.data.dataset.Dataset` has these."""

    contacts: pd.DataFrame
    campaigns: pd.DataFrame
    email_events: pd.DataFrame
    orders: pd.DataFrame


@dataclass(frozen=True)
class ActivityIndex:
    """Per-delivery arrays, indexed by contact and campaign *position*.

    Positions follow the order of ``dataset.contacts`` and ``dataset.campaigns``. Deliveries are
    grouped by campaign, campaigns in sent-time order, so the deliveries of the campaigns in any
    time window form one contiguous slice (:meth:`window`): a feature pass touches only them.

    Attributes
    ----------
    contact_ids, campaign_ids
        Position -> id.
    campaign_sent
        Sent time of each campaign (seconds since the epoch), by campaign position.
    sent_order, delivery_offsets
        Campaign positions by sent time; the deliveries of ``sent_order[k]`` are
        ``delivery_offsets[k]:delivery_offsets[k + 1]``.
    delivery_contact, delivery_campaign
        One entry per delivery (a contact, campaign pair with any event).
    delivery_first, delivery_engaged, delivery_clicked, delivery_bounced
        Earliest event, open-or-click, click and bounce of the delivery (seconds after ``epoch``;
        :attr:`never` if none).
    delivery_last_engaged, delivery_last_clicked
        Latest open-or-click and click of the delivery (seconds after ``epoch``; :attr:`never`
        if none).
    delivery_cell_key, delivery_flag_time
        ``contact << 3 | flags``, the flags saying whether the delivery was ever engaged (1),
        clicked (2) and bounced (4); and the time by which all its flags are known (seconds
        after ``epoch``; the type's least value if it has none). As of any T after the flag time
        the key is final: counting is one ``bincount``.
    engagement_key, click_key
        Sorted ``delivery << 32 | (time - epoch)`` of every open-or-click and every click event: the
        latest engagement of a delivery up to any time T is one binary search away.
    epoch
        The earliest event (seconds since the Unix epoch), which every time above is counted
        from.
    counting
        The engagement rule the index counts (:meth:`EngagementConfig.counting_key`).
    """

    contact_ids: np.ndarray
    campaign_ids: np.ndarray
    campaign_sent: np.ndarray
    sent_order: np.ndarray
    delivery_offsets: np.ndarray
    delivery_contact: np.ndarray
    delivery_campaign: np.ndarray
    delivery_first: np.ndarray
    delivery_engaged: np.ndarray
    delivery_clicked: np.ndarray
    delivery_bounced: np.ndarray
    delivery_last_engaged: np.ndarray
    delivery_last_clicked: np.ndarray
    delivery_cell_key: np.ndarray
    delivery_flag_time: np.ndarray
    engagement_key: np.ndarray
    click_key: np.ndarray
    epoch: np.ndarray
    counting: str

    @property
    def n_contacts(self) -> int:
        return len(self.contact_ids)

    @property
    def n_deliveries(self) -> int:
        return len(self.delivery_contact)

    @property
    def never(self) -> int:
        """The delivery time of an event that never happened (the time type's greatest value)."""
        return int(np.iinfo(self.delivery_first.dtype).max)

    def offset(self, t: int) -> int:
        """``t`` (seconds since the Unix epoch) as a delivery time: seconds after ``epoch``,
        held inside the time type so that every time before it is earlier and :attr:`never` later.

        Examples
        --------
        >>> from engagekit.data.sample import generate_sample
        >>> index = ActivityIndex.build(generate_sample(50, seed=1))
        >>> index.offset(int(index.epoch) + 60), index.offset(2**62) == index.never - 1
        (60, True)
        """
        limits = np.iinfo(self.delivery_first.dtype)
        return min(max(int(t) - int(self.epoch), int(limits.min) + 1), int(limits.max) - 1)

    def seconds(self, times: np.ndarray) -> np.ndarray:
        """Delivery times as seconds since the Unix epoch (int64), :attr:`never` as ``NEVER``."""
        absolute = times.astype(np.int64) + int(self.epoch)
        absolute[times == self.never] = NEVER
        return absolute

    def window(self, start: int, end: int) -> slice:
        """The deliveries of campaigns sent in ``(start, end]`` (seconds), as one slice."""
        sent = self.campaign_sent[self.sent_order]
        first, last = np.searchsorted(sent, [start, end], side="right")
        return slice(int(self.delivery_offsets[first]), int(self.delivery_offsets[last]))

    def delivery_sent_times(self, deliveries: slice) -> np.ndarray:
        """The sent time of each delivery's campaign, for a slice from :meth:`window`."""
        first, last = np.searchsorted(self.delivery_offsets, [deliveries.start, deliveries.stop])
        runs = np.diff(self.delivery_offsets[first : last + 1])
        return np.repeat(self.campaign_sent[self.sent_order[first:last]], runs)

    def latest_up_to(self, keys: np.ndarray, deliveries: np.ndarray, t: int) -> np.ndarray:
        """For each delivery, its latest keyed event at or before ``t`` (seconds since the
        Unix epoch), as a delivery time (:attr:`never` if none)."""
        offset = int(t) - int(self.epoch)
        time_type = self.delivery_first.dtype
        if offset < 0 or not len(keys):
            return np.full(len(deliveries), self.never, dtype=time_type)
        wanted = (deliveries.astype(np.int64) << 32) | min(offset, _LOW_MASK)
        position = np.searchsorted(keys, wanted, side="right") - 1
        found = keys[np.maximum(position, 0)]
        hit = (position >= 0) & ((found >> 32) == deliveries)
        return np.where(hit, found & _LOW_MASK, self.never).astype(time_type)

    def engaged_between(self, start: int, end: int, *, clicks_only: bool = False) -> np.ndarray:
        """Positions of the contacts with a counted open or click (a click, with ``clicks_only``)
        at a time in ``[start, end)`` (seconds), sorted.

        Examples
        --------
        >>> from engagekit.data.sample import generate_sample
        >>> index = ActivityIndex.build(generate_sample(200, seed=1))
        >>> first, last = int(index.campaign_sent.min()), int(index.campaign_sent.max()) + 86_400 * 30
        >>> engaged = index.engaged_between(first, last)
        >>> len(engaged) > len(index.engaged_between(first, last, clicks_only=True)) > 0
        True
        """
        keys = self.click_key if clicks_only else self.engagement_key
        offsets = keys & _LOW_MASK
        # Python integers: bounds far from the data must not overflow, only select nothing or all.
        low, high = (min(max(int(bound) - int(self.epoch), 0), _LOW_MASK + 1) for bound in (start, end))
        deliveries = keys[(offsets >= low) & (offsets < high)] >> 32
        return np.unique(self.delivery_contact[deliveries])

    @classmethod
    def build(cls, dataset: EventTables, config: EngagementConfig | None = None) -> ActivityIndex:
        """Index the email events of ``dataset`` that count as engagement under ``config``.

        Memory stays a few dozen bytes per event: event types are int8 codes, positions and
        times int32, and the events are grouped by delivery once (:class:`EventArrays`), for the
        classifier and for the index alike.

        Examples
        --------
        >>> from engagekit.data.sample import generate_sample
        >>> index = ActivityIndex.build(generate_sample(200, seed=1))
        >>> index.n_contacts
        200
        """
        with reused_memory():  # hundreds of large arrays made and dropped: see data.memory
            return cls._build(dataset, config or EngagementConfig())

    @classmethod
    def _build(cls, dataset: EventTables, config: EngagementConfig,
               frame: tuple[int, type] | None = None) -> ActivityIndex:
        """The index of ``dataset``; ``frame`` is the epoch and time type to count times in
        (another index's, which every event here fits) instead of this data's own."""
        contact_ids = dataset.contacts["contact_id"].to_numpy(np.int64)
        arrays = EventArrays.group(dataset.email_events, dataset.campaigns, contact_ids)
        left_out = _left_out_grouped(dataset, arrays, config)
        kind = arrays.kind if left_out is None else np.where(left_out, SEND, arrays.kind)
        del left_out
        credited, credited_at = _order_engagements(dataset, arrays, config)  # orders, as engagements

        # The floor of the earliest time is the earliest floor: seconds after the reduction.
        n = arrays.n_deliveries
        first = np.minimum.reduceat(arrays.time_us, arrays.starts) // 1_000_000 if n else np.zeros(0, np.int64)
        if len(credited):
            np.minimum.at(first, credited, credited_at)
        if frame is None:
            epoch = int(first.min()) if n else 0  # every event's delivery has its earliest in ``first``
            latest = max(int(arrays.time_us.max()) // 1_000_000 if n else epoch,
                         int(credited_at.max(initial=epoch)))
            time_type = fitting_time_type(latest - epoch)
        else:
            epoch, time_type = frame
        first = (first - epoch).astype(time_type)
        extra = (credited, (credited_at - epoch).astype(time_type))

        # The opens and clicks that count, and then their clicks, taken out once: every reduction
        # below reads only them (a fifth of the events), in runs per delivery.
        counted = np.flatnonzero((kind == OPEN) | (kind == CLICK))
        engaged = _Events.at(counted, arrays, epoch, time_type)
        clicked = engaged.subset(kind[counted] == CLICK)
        bounced = _Events.at(np.flatnonzero(kind == BOUNCE), arrays, epoch, time_type)
        counts = _deliveries_per_campaign(arrays)
        delivery_contact, delivery_campaign = arrays.delivery_contact, arrays.delivery_campaign
        sent_us, sent_order = arrays.sent_us, arrays.sent_order
        del arrays, kind, counted  # what follows is per delivery, or the counted events only

        engaged_at = engaged.earliest(n, extra)
        clicked_at = clicked.earliest(n)
        bounced_at = bounced.earliest(n)
        never = np.iinfo(time_type).max
        flags = [at != never for at in (engaged_at, clicked_at, bounced_at)]
        contact = delivery_contact.astype(np.int64)
        cell_key = contact << 3
        cell_key |= cell_flags(*flags)
        return cls(
            contact_ids=contact_ids,
            campaign_ids=dataset.campaigns["campaign_id"].to_numpy(np.int64),
            campaign_sent=sent_us // 1_000_000,
            sent_order=sent_order,
            delivery_offsets=np.r_[0, np.cumsum(counts)].astype(np.int64),
            # int64 (numpy's index type) so counting needs no conversion of millions of entries
            delivery_contact=contact,
            delivery_campaign=delivery_campaign.astype(np.int32),
            delivery_first=first,
            delivery_engaged=engaged_at,
            delivery_clicked=clicked_at,
            delivery_bounced=bounced_at,
            delivery_cell_key=cell_key,
            delivery_flag_time=_flag_time(engaged_at, clicked, clicked_at, bounced, bounced_at),
            delivery_last_engaged=engaged.latest(n, extra),
            delivery_last_clicked=clicked.latest(n),
            engagement_key=engaged.keys(extra),
            click_key=clicked.keys(),
            epoch=np.array(epoch, dtype=np.int64),
            counting=config.counting_key(),
        )

    def save(self, folder: str | Path) -> None:
        """Write each array to its own ``.npy`` file in ``folder`` (created if needed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for item in fields(self):
            if item.name != "counting":
                np.save(folder / f"{item.name}.npy", getattr(self, item.name))
        (folder / _COUNTING_FILE).write_text(self.counting)
        (folder / "format").write_text(str(_FORMAT_VERSION))

    @classmethod
    def load(cls, folder: str | Path) -> ActivityIndex | None:
        """Open an index written by :meth:`save`; ``None`` when absent or of another format.

        The arrays are memory-mapped, read-only: opening is instant, and a feature pass reads
        from disk only the deliveries of its window.
        """
        folder = Path(folder)
        marker = folder / "format"
        if not marker.exists() or marker.read_text().strip() != str(_FORMAT_VERSION):
            return None
        # np.asarray: plain ndarray views of the maps (memmap slicing has a per-call cost)
        arrays = {item.name: np.asarray(np.load(folder / f"{item.name}.npy", mmap_mode="r"))
                  for item in fields(cls) if item.name != "counting"}
        return cls(**arrays, counting=(folder / _COUNTING_FILE).read_text())


def fitting_time_type(span: int) -> type:
    """The time type of an index whose events span ``span`` seconds: ``int32`` while it holds
    them and its greatest value (:attr:`ActivityIndex.never`) stays later than every one."""
    return np.int32 if span < np.iinfo(np.int32).max - 1 else np.int64


def counted_events(dataset: EventTables, config: EngagementConfig) -> pd.DataFrame:
    """``contact_id, campaign_id, event_type, occurred_at`` of the email events as ``config``
    counts them: an open or click left out becomes a ``send`` (its delivery still happened), and
    with ``count_orders`` each credited order is one more ``open`` (see the module rules).

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> data = generate_sample(100, seed=1)
    >>> counted = counted_events(data, EngagementConfig(engagement="clicks_only"))
    >>> "open" in set(counted["event_type"]), len(counted) == len(data.email_events)
    (False, True)
    """
    keep = getattr(dataset, "derived", None)  # a Dataset keeps them: each plan and rerun reuses
    if keep is not None:
        return keep(f"counted_events {config.counting_key()}", lambda: _counted(dataset, config))
    return _counted(dataset, config)


def _counted(dataset: EventTables, config: EngagementConfig) -> pd.DataFrame:
    events = dataset.email_events[["contact_id", "campaign_id", "event_type", "occurred_at"]]
    arrays = EventArrays.group(dataset.email_events, dataset.campaigns,
                               dataset.contacts["contact_id"].to_numpy(np.int64))
    left_out = _left_out(dataset, arrays, config)
    if left_out.any():
        events = events.assign(event_type=events["event_type"].where(~left_out, EventType.SEND.value))
    delivery, time = _order_engagements(dataset, arrays, config)
    if len(delivery):
        events = pd.concat([events, pd.DataFrame({
            "contact_id": dataset.contacts["contact_id"].to_numpy(np.int64)[
                arrays.delivery_contact[delivery]],
            "campaign_id": dataset.campaigns["campaign_id"].to_numpy(np.int64)[
                arrays.delivery_campaign[delivery]],
            "event_type": EventType.OPEN.value,
            "occurred_at": (time * 1_000_000).astype("datetime64[us]"),
        })], ignore_index=True)
    return events


def _left_out(dataset: EventTables, arrays: EventArrays, config: EngagementConfig) -> np.ndarray:
    """Which events (file order) ``config`` leaves out of engagement."""
    left_out = _left_out_grouped(dataset, arrays, config)
    return np.zeros(arrays.n_events, bool) if left_out is None else arrays.in_file_order(left_out)


def _left_out_grouped(
    dataset: EventTables, arrays: EventArrays, config: EngagementConfig
) -> np.ndarray | None:
    """Which events (grouped order) ``config`` leaves out of engagement; ``None`` when it leaves
    none out. The classifier runs only when the rule needs its verdicts: counting every open and
    click needs none."""
    if not needs_verdicts(config):
        return (arrays.kind == OPEN) if config.engagement == "clicks_only" else None
    reasons = np.asarray(machine_reasons(dataset, config.machine_rules, arrays))[arrays.row]
    return left_out_by_rule(arrays.kind, Verdicts.from_codes(reasons, arrays.kind), config)


def needs_verdicts(config: EngagementConfig) -> bool:
    """Whether ``config`` leaves some events out by the classifier's verdicts: machine opens
    (*confirmed opens only*) or scanner clicks (unless they count).

    Examples
    --------
    >>> needs_verdicts(EngagementConfig()), needs_verdicts(EngagementConfig(
    ...     engagement="clicks_only", count_scanner_clicks=True))
    (True, False)
    """
    return config.engagement == "confirmed_opens" or not config.count_scanner_clicks


def left_out_by_rule(kind: np.ndarray, verdicts: Verdicts, config: EngagementConfig) -> np.ndarray:
    """Which events (of these types, as names or :mod:`~engagekit.data.event_arrays` codes, with
    these verdicts) ``config`` leaves out of engagement: scanner clicks unless
    ``count_scanner_clicks``; machine opens for *confirmed opens only*; every open for *clicks
    only*."""
    left_out = verdicts.scanner_click & (not config.count_scanner_clicks)
    if config.engagement == "confirmed_opens":
        left_out = left_out | verdicts.machine_open
    elif config.engagement == "clicks_only":
        kind = np.asarray(kind)
        left_out = left_out | (kind == (OPEN if kind.dtype.kind in "iu" else EventType.OPEN.value))
    return left_out


def _order_engagements(
    dataset: EventTables, arrays: EventArrays, config: EngagementConfig
) -> tuple[np.ndarray, np.ndarray]:
    """The delivery and time (seconds) of each order credited to an email: the last email sent
    to its contact at most ``order_attribution_days`` before it (``count_orders``)."""
    none = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    if not config.count_orders or not len(dataset.orders) or not arrays.n_events:
        return none
    deliveries = pd.DataFrame({
        "contact": arrays.delivery_contact.astype(np.int64),
        "delivery": np.arange(arrays.n_deliveries),
        "sent_at": arrays.sent_us[arrays.delivery_campaign].astype("datetime64[us]"),
    }).sort_values("sent_at", kind="stable")
    orders = dataset.orders[["contact_id", "ordered_at"]]
    known = orders["contact_id"].isin(dataset.contacts["contact_id"]).to_numpy()
    orders = pd.DataFrame({
        "contact": positions(dataset.contacts["contact_id"].to_numpy(np.int64),
                             orders["contact_id"].to_numpy(np.int64)[known]).astype(np.int64),
        "ordered_at": orders["ordered_at"].to_numpy("datetime64[us]")[known],
    }).sort_values("ordered_at", kind="stable")
    credited = pd.merge_asof(
        orders, deliveries, left_on="ordered_at", right_on="sent_at", by="contact",
        direction="backward", tolerance=pd.Timedelta(days=config.order_attribution_days),
    ).dropna(subset=["delivery"])
    return (credited["delivery"].to_numpy(np.int64),
            microseconds(credited["ordered_at"]) // 1_000_000)


def cell_flags(engaged: np.ndarray, clicked: np.ndarray, bounced: np.ndarray) -> np.ndarray:
    """The 3-bit cell of each delivery: engaged 1, clicked 2, bounced 4 (int8)."""
    cell = engaged.astype(np.int8)
    cell |= clicked.view(np.int8) << 1
    cell |= bounced.view(np.int8) << 2
    return cell


def machine_reasons(
    dataset: EventTables, rules: MachineRules, arrays: EventArrays | None = None
) -> np.ndarray:
    """The classifier's reason code of each event (file order): the ones the dataset keeps for
    ``rules`` (computed once per dataset, stored with the columnar copy), else classified now
    (from ``arrays``, the events grouped by delivery, grouped here when not given).

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> data = generate_sample(100, seed=1)
    >>> len(machine_reasons(data, MachineRules())) == len(data.email_events)
    True
    """
    def classify() -> tuple[np.ndarray, PrefetchCounts]:
        grouped = arrays if arrays is not None else EventArrays.group(
            dataset.email_events, dataset.campaigns, dataset.contacts["contact_id"].to_numpy(np.int64))
        verdicts = classify_grouped(grouped, dataset.email_events, rules)
        return grouped.in_file_order(verdicts.reason_code), verdicts.counts

    keep = getattr(dataset, "machine_reasons", None)
    return keep(rules, classify) if keep is not None else classify()[0]


def _flag_time(
    engaged_at: np.ndarray, clicked: _Events, clicked_at: np.ndarray, bounced: _Events,
    bounced_at: np.ndarray,
) -> np.ndarray:
    """The time by which every flag of a delivery is known (the type's least value when it has
    none).

    A click is an engagement, so a clicked delivery's first click is never before its first
    engagement: only the clicked and bounced deliveries (few) need looking at after the first.
    """
    limits = np.iinfo(engaged_at.dtype)
    latest = np.where(engaged_at == limits.max, limits.min, engaged_at)
    for events, at in ((clicked, clicked_at), (bounced, bounced_at)):
        deliveries = events.delivery[events.runs]
        latest[deliveries] = np.maximum(latest[deliveries], at[deliveries])
    return latest


def _deliveries_per_campaign(arrays: EventArrays) -> np.ndarray:
    """How many deliveries each campaign has, campaigns in sent order (deliveries come grouped
    by campaign in that order)."""
    campaign = arrays.delivery_campaign
    starts = run_starts(campaign)
    counts = np.zeros(len(arrays.sent_order), dtype=np.int64)
    sent_rank = np.empty(len(arrays.sent_order), dtype=np.int64)
    sent_rank[arrays.sent_order] = np.arange(len(arrays.sent_order))
    counts[sent_rank[campaign[starts]]] = np.diff(np.r_[starts, len(campaign)])
    return counts


def _event_keys(delivery: np.ndarray, time: np.ndarray) -> np.ndarray:
    # The events come delivery by delivery (each delivery's in file order, mostly by time): the
    # keys are long runs in order, which timsort merges several times faster than a quicksort.
    return np.sort((delivery.astype(np.int64) << 32) | time, kind="stable")


@dataclass(frozen=True)
class _Events:
    """Some of the events, in grouped order: their deliveries, their times (seconds after the
    index's epoch), and where each delivery's run begins among them."""

    delivery: np.ndarray
    time: np.ndarray
    runs: np.ndarray

    @classmethod
    def at(cls, rows: np.ndarray, arrays: EventArrays, epoch: int, time_type: type) -> _Events:
        """The events at ``rows`` (positions in grouped order, ascending)."""
        seconds = arrays.time_us[rows] // 1_000_000
        seconds -= epoch
        return cls.of(arrays.delivery[rows], seconds.astype(time_type))

    @classmethod
    def of(cls, delivery: np.ndarray, time: np.ndarray) -> _Events:
        return cls(delivery, time, run_starts(delivery))

    def subset(self, mask: np.ndarray) -> _Events:
        """Those of these events where ``mask`` (one entry per event here) holds."""
        chosen = np.flatnonzero(mask)
        return _Events.of(self.delivery[chosen], self.time[chosen])

    def earliest(self, n_deliveries: int, extra: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Per delivery, the earliest of these events (and of ``extra``), the type's greatest
        value if none."""
        never = np.iinfo(self.time.dtype).max
        found = reduce_runs(self.time, self.delivery, self.runs, n_deliveries, np.minimum, never)
        if extra is not None and len(extra[0]):
            np.minimum.at(found, extra[0], extra[1])
        return found

    def latest(self, n_deliveries: int, extra: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Per delivery, the latest of these events (and of ``extra``), the type's greatest
        value if none."""
        found = reduce_runs(self.time, self.delivery, self.runs, n_deliveries, np.maximum, -1)
        if extra is not None and len(extra[0]):
            np.maximum.at(found, extra[0], extra[1])
        found[found < 0] = np.iinfo(found.dtype).max
        return found

    def keys(self, extra: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """The sorted ``delivery << 32 | time`` of these events (and of ``extra``)."""
        delivery, time = self.delivery, self.time
        if extra is not None and len(extra[0]):
            delivery, time = np.concatenate([delivery, extra[0]]), np.concatenate([time, extra[1]])
        return _event_keys(delivery, time)
