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
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from engagekit.config import EngagementConfig
from engagekit.data.machine import Verdicts, classify_events
from engagekit.data.schema import EventType

NEVER = np.iinfo(np.int64).max
_LOW_MASK = (1 << 32) - 1
_FORMAT_VERSION = 5
_COUNTING_FILE = "counting.json"


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
        Earliest event, open-or-click, click and bounce of the delivery (seconds; ``NEVER`` if none).
    delivery_last_engaged, delivery_last_clicked
        Latest open-or-click and click of the delivery (``NEVER`` if none).
    delivery_cell_key, delivery_flag_time
        ``contact << 3 | flags``, the flags saying whether the delivery was ever engaged (1),
        clicked (2) and bounced (4); and the time by which all its flags are known (-1 if it has
        none). As of any T after the flag time the key is final: counting is one ``bincount``.
    engagement_key, click_key
        Sorted ``delivery << 32 | (time - epoch)`` of every open-or-click and every click event: the
        latest engagement of a delivery up to any time T is one binary search away.
    epoch
        The time subtracted in the keys.
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
        """For each delivery, its latest keyed event at or before ``t`` (``NEVER`` if none)."""
        offset = np.int64(t) - int(self.epoch)
        if offset < 0 or not len(keys):
            return np.full(len(deliveries), NEVER, dtype=np.int64)
        wanted = (deliveries.astype(np.int64) << 32) | min(int(offset), _LOW_MASK)
        position = np.searchsorted(keys, wanted, side="right") - 1
        found = keys[np.maximum(position, 0)]
        hit = (position >= 0) & ((found >> 32) == deliveries)
        return np.where(hit, (found & _LOW_MASK) + int(self.epoch), NEVER)

    @classmethod
    def build(cls, dataset: EventTables, config: EngagementConfig | None = None) -> ActivityIndex:
        """Index the email events of ``dataset`` that count as engagement under ``config``.

        Examples
        --------
        >>> from engagekit.data.sample import generate_sample
        >>> index = ActivityIndex.build(generate_sample(200, seed=1))
        >>> index.n_contacts
        200
        """
        config = config or EngagementConfig()
        events = counted_events(dataset, config)
        contact_ids = dataset.contacts["contact_id"].to_numpy(np.int64)
        campaign_ids = dataset.campaigns["campaign_id"].to_numpy(np.int64)
        campaign_sent = to_seconds(dataset.campaigns["sent_at"])
        sent_order = np.argsort(campaign_sent, kind="stable")
        sent_rank = np.empty_like(sent_order)
        sent_rank[sent_order] = np.arange(len(sent_order))

        contact_pos = _positions(contact_ids, events["contact_id"].to_numpy(np.int64))
        campaign_pos = _positions(campaign_ids, events["campaign_id"].to_numpy(np.int64))
        time = to_seconds(events["occurred_at"])
        kind = events["event_type"].to_numpy(dtype=object)
        is_click = kind == EventType.CLICK.value
        is_engaged = is_click | (kind == EventType.OPEN.value)
        is_bounce = kind == EventType.BOUNCE.value

        # Group events by delivery: campaigns in sent order, then contacts.
        key = sent_rank[campaign_pos].astype(np.int64) * max(len(contact_ids), 1) + contact_pos
        order = np.argsort(key, kind="stable")
        key_sorted = key[order]
        starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]]) if len(key) else \
            np.empty(0, dtype=np.int64)
        delivery_of_event = np.empty(len(key), dtype=np.int64)
        delivery_of_event[order] = _run_ids(starts, len(key))
        time_sorted = time[order]

        def per_delivery(mask: np.ndarray, reduce: np.ufunc, empty: int) -> np.ndarray:
            if not len(starts):
                return np.empty(0, dtype=np.int64)
            return reduce.reduceat(np.where(mask[order], time_sorted, empty), starts)

        everything = np.ones(len(time), dtype=bool)
        delivery_key = key_sorted[starts]
        contact = (delivery_key % max(len(contact_ids), 1)).astype(np.int64)
        engaged_at = per_delivery(is_engaged, np.minimum, NEVER)
        clicked_at = per_delivery(is_click, np.minimum, NEVER)
        bounced_at = per_delivery(is_bounce, np.minimum, NEVER)
        flags = [at != NEVER for at in (engaged_at, clicked_at, bounced_at)]
        delivery_campaign = sent_order[delivery_key // max(len(contact_ids), 1)]
        counts = np.bincount(sent_rank[delivery_campaign], minlength=len(campaign_ids))
        epoch = int(time.min()) if len(time) else 0
        return cls(
            contact_ids=contact_ids,
            campaign_ids=campaign_ids,
            campaign_sent=campaign_sent,
            sent_order=sent_order,
            delivery_offsets=np.r_[0, np.cumsum(counts)].astype(np.int64),
            # int64 (numpy's index type) so counting needs no conversion of millions of entries
            delivery_contact=contact,
            delivery_campaign=delivery_campaign.astype(np.int32),
            delivery_first=per_delivery(everything, np.minimum, NEVER),
            delivery_engaged=engaged_at,
            delivery_clicked=clicked_at,
            delivery_bounced=bounced_at,
            delivery_cell_key=(contact << 3) | cell_flags(*flags),
            delivery_flag_time=np.max(
                [np.where(flag, at, -1) for flag, at in zip(flags, (engaged_at, clicked_at, bounced_at),
                                                            strict=True)], axis=0, initial=-1,
            ) if len(contact) else np.empty(0, dtype=np.int64),
            delivery_last_engaged=_never_if_absent(per_delivery(is_engaged, np.maximum, -1)),
            delivery_last_clicked=_never_if_absent(per_delivery(is_click, np.maximum, -1)),
            engagement_key=_event_keys(delivery_of_event, time, is_engaged, epoch),
            click_key=_event_keys(delivery_of_event, time, is_click, epoch),
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


def counted_events(dataset: EventTables, config: EngagementConfig) -> pd.DataFrame:
    """``contact_id, campaign_id, event_type, occurred_at`` of the email events as ``config``
    counts them: an open or click left out becomes a ``send`` (its delivery still happened), and
    with ``count_orders`` each credited order is one more ``open`` (see the module rules)."""
    events = dataset.email_events[["contact_id", "campaign_id", "event_type", "occurred_at"]]
    verdicts = classify_events(dataset.email_events, dataset.campaigns, config.machine_rules)
    kind = events["event_type"].to_numpy(dtype=object)
    left_out = left_out_by_rule(kind, verdicts, config)
    if left_out.any():
        events = events.assign(event_type=np.where(left_out, EventType.SEND.value, kind))
    if config.count_orders and len(dataset.orders) and len(events):
        events = pd.concat([events, _order_engagements(dataset, events, config)], ignore_index=True)
    return events


def left_out_by_rule(kind: np.ndarray, verdicts: Verdicts, config: EngagementConfig) -> np.ndarray:
    """Which events (of these types, with these verdicts) ``config`` leaves out of engagement:
    scanner clicks unless ``count_scanner_clicks``; machine opens for *confirmed opens only*;
    every open for *clicks only*."""
    left_out = verdicts.scanner_click & (not config.count_scanner_clicks)
    if config.engagement == "confirmed_opens":
        left_out = left_out | verdicts.machine_open
    elif config.engagement == "clicks_only":
        left_out = left_out | (kind == EventType.OPEN.value)
    return left_out


def _order_engagements(
    dataset: EventTables, events: pd.DataFrame, config: EngagementConfig
) -> pd.DataFrame:
    """An ``open`` at each order's time, of the last email sent to its contact before it."""
    sent = dataset.campaigns.set_index("campaign_id")["sent_at"]
    deliveries = events[["contact_id", "campaign_id"]].drop_duplicates()
    deliveries = deliveries.assign(sent_at=deliveries["campaign_id"].map(sent)).sort_values("sent_at")
    orders = dataset.orders[["contact_id", "ordered_at"]].sort_values("ordered_at")
    credited = pd.merge_asof(
        orders, deliveries, left_on="ordered_at", right_on="sent_at", by="contact_id",
        direction="backward", tolerance=pd.Timedelta(days=config.order_attribution_days),
    ).dropna(subset=["campaign_id"])
    return pd.DataFrame({
        "contact_id": credited["contact_id"].astype(np.int64),
        "campaign_id": credited["campaign_id"].astype(np.int64),
        "event_type": EventType.OPEN.value,
        "occurred_at": credited["ordered_at"],
    })


def cell_flags(engaged: np.ndarray, clicked: np.ndarray, bounced: np.ndarray) -> np.ndarray:
    """The 3-bit cell of each delivery: engaged 1, clicked 2, bounced 4."""
    return engaged.astype(np.int64) | (clicked.astype(np.int64) << 1) | (bounced.astype(np.int64) << 2)


def _run_ids(starts: np.ndarray, n: int) -> np.ndarray:
    """For n sorted items whose runs begin at ``starts``, the run number of each item."""
    ids = np.zeros(n, dtype=np.int64)
    if len(starts) > 1:
        ids[starts[1:]] = 1
    return np.cumsum(ids)


def _never_if_absent(latest: np.ndarray) -> np.ndarray:
    return np.where(latest < 0, NEVER, latest)


def _event_keys(delivery: np.ndarray, time: np.ndarray, mask: np.ndarray, epoch: int) -> np.ndarray:
    return np.sort((delivery[mask] << 32) | (time[mask] - epoch))


def _positions(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in ``ids`` (all values are known ids: the dataset checked it)."""
    if len(ids) and np.all(ids[1:] > ids[:-1]):
        return np.searchsorted(ids, values).astype(np.int64)
    return pd.Index(ids).get_indexer(values).astype(np.int64)
