"""A compact, array-based index of email activity, built once per data version.

Features as of any time T are then a handful of vectorised passes over these arrays
(``np.bincount`` on integer contact positions), which is what makes levels over a million contacts
fast. The index is plain numpy arrays so it can be saved beside the workspace database and loaded
in a fraction of a second (see :meth:`ActivityIndex.save` / :meth:`ActivityIndex.load`).

Rules encoded here:

- A *delivery* is a (contact, campaign) pair with any event. Any event implies the email was sent:
  an open without a recorded send still counts as a send (exports often lack send rows).
- A delivery is known as of T when its earliest event happened at or before T.
- A click counts as an open: a delivery's first engagement is its first open or click.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from engagekit.dataset import Dataset
from engagekit.schema import EventType

NEVER = np.iinfo(np.int64).max
_FORMAT_VERSION = 1


def to_seconds(times: pd.Series | pd.Timestamp | np.ndarray) -> np.ndarray | int:
    """Naive UTC times as whole seconds since the Unix epoch (int64)."""
    if isinstance(times, pd.Timestamp):
        return int(np.datetime64(times.to_datetime64(), "s").astype(np.int64))
    values = np.asarray(times, dtype="datetime64[s]")
    return values.astype(np.int64)


@dataclass(frozen=True)
class ActivityIndex:
    """Per-delivery and per-engagement arrays, indexed by contact and campaign *position*.

    Positions follow the order of ``dataset.contacts`` and ``dataset.campaigns``.

    Attributes
    ----------
    contact_ids, campaign_ids
        Position -> id.
    campaign_sent
        Sent time of each campaign, seconds since the epoch.
    delivery_contact, delivery_campaign
        One entry per delivery (contact, campaign pair with any event), sorted by contact.
    delivery_first, delivery_engaged, delivery_clicked, delivery_bounced
        Earliest event, earliest open-or-click, earliest click and earliest bounce of the delivery
        (seconds; ``NEVER`` when there is none).
    engagement_contact, engagement_campaign, engagement_time, engagement_is_click
        Every open and click event, sorted by contact then time, for "last open" style features.
    """

    contact_ids: np.ndarray
    campaign_ids: np.ndarray
    campaign_sent: np.ndarray
    delivery_contact: np.ndarray
    delivery_campaign: np.ndarray
    delivery_first: np.ndarray
    delivery_engaged: np.ndarray
    delivery_clicked: np.ndarray
    delivery_bounced: np.ndarray
    engagement_contact: np.ndarray
    engagement_campaign: np.ndarray
    engagement_time: np.ndarray
    engagement_is_click: np.ndarray

    @property
    def n_contacts(self) -> int:
        return len(self.contact_ids)

    @property
    def n_deliveries(self) -> int:
        return len(self.delivery_contact)

    @classmethod
    def build(cls, dataset: Dataset) -> ActivityIndex:
        """Index the email events of ``dataset``.

        Examples
        --------
        >>> from engagekit.sample import generate_sample
        >>> index = ActivityIndex.build(generate_sample(200, seed=1))
        >>> index.n_contacts
        200
        """
        events = dataset.email_events
        contact_ids = dataset.contacts["contact_id"].to_numpy(np.int64)
        campaign_ids = dataset.campaigns["campaign_id"].to_numpy(np.int64)
        contact_pos = _positions(contact_ids, events["contact_id"].to_numpy(np.int64))
        campaign_pos = _positions(campaign_ids, events["campaign_id"].to_numpy(np.int64))
        time = to_seconds(events["occurred_at"])
        kind = events["event_type"].to_numpy(dtype=object)
        is_open = kind == EventType.OPEN.value
        is_click = kind == EventType.CLICK.value
        is_bounce = kind == EventType.BOUNCE.value

        n_campaigns = max(len(campaign_ids), 1)
        key = contact_pos.astype(np.int64) * n_campaigns + campaign_pos
        order = np.argsort(key, kind="stable")
        key_sorted = key[order]
        starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]]) if len(key) else \
            np.empty(0, dtype=np.int64)
        time_sorted = time[order]

        def earliest(mask: np.ndarray) -> np.ndarray:
            if not len(starts):
                return np.empty(0, dtype=np.int64)
            masked = np.where(mask[order], time_sorted, NEVER)
            return np.minimum.reduceat(masked, starts)

        delivery_key = key_sorted[starts]
        engaged = is_open | is_click
        engagement_order = np.lexsort((time[engaged], contact_pos[engaged]))
        return cls(
            contact_ids=contact_ids,
            campaign_ids=campaign_ids,
            campaign_sent=to_seconds(dataset.campaigns["sent_at"]),
            delivery_contact=(delivery_key // n_campaigns).astype(np.int32),
            delivery_campaign=(delivery_key % n_campaigns).astype(np.int32),
            delivery_first=earliest(np.ones(len(time), dtype=bool)),
            delivery_engaged=earliest(engaged),
            delivery_clicked=earliest(is_click),
            delivery_bounced=earliest(is_bounce),
            engagement_contact=contact_pos[engaged][engagement_order].astype(np.int32),
            engagement_campaign=campaign_pos[engaged][engagement_order].astype(np.int32),
            engagement_time=time[engaged][engagement_order],
            engagement_is_click=is_click[engaged][engagement_order],
        )

    def save(self, path: str | Path) -> None:
        """Write the arrays to one uncompressed ``.npz`` file (fast to load)."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self)}
        np.savez(Path(path), format_version=np.array(_FORMAT_VERSION), **arrays)

    @classmethod
    def load(cls, path: str | Path) -> ActivityIndex | None:
        """Read an index written by :meth:`save`; ``None`` when absent or of another format."""
        path = Path(path)
        if not path.exists():
            return None
        with np.load(path) as stored:
            if int(stored["format_version"]) != _FORMAT_VERSION:
                return None
            return cls(**{f.name: stored[f.name] for f in fields(cls)})


def _positions(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in ``ids`` (all values are known ids: the dataset checked it)."""
    if len(ids) and np.all(ids[1:] > ids[:-1]):
        return np.searchsorted(ids, values).astype(np.int64)
    return pd.Index(ids).get_indexer(values).astype(np.int64)
