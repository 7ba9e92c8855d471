"""The in-memory engine: segment definitions as boolean masks over a dataset's contacts.

Everything works on contact *positions* (the row order of ``dataset.contacts``) with numpy:
memberships and tags become position arrays, email activity is read from the dataset's
:class:`~engagekit.data.activity.ActivityIndex`, orders are aggregated with ``np.bincount``. Each
per-engine structure is built on first use and kept, and so is the mask of each criterion, so
counting the same or a similar segment again (a live count in a form) costs a few array ANDs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from engagekit.config import EngagementConfig
from engagekit.data.activity import to_seconds
from engagekit.data.dataset import Dataset
from engagekit.engagement.levels import LevelResult, current_and_previous
from engagekit.segments.catalog import Catalog
from engagekit.segments.definition import Criterion, Group, SegmentDefinition
from engagekit.segments.measures import ContactMeasures, is_measure
from engagekit.segments.operators import OPERATORS, Coded, argument
from engagekit.segments.timing import Interval, campaign_scope, order_window
from engagekit.segments.validation import check_definition, resolve_field
from engagekit.timeutil import AsOf, as_timestamp

MASK_CACHE_SIZE = 32  # a mask is a byte per contact: 32 MB at a million contacts
NAT = np.iinfo(np.int64).min


class MemoryEngine:
    """Evaluate segment definitions over a :class:`~engagekit.data.dataset.Dataset` with numpy.

    Parameters
    ----------
    dataset : Dataset
    as_of : date, time or ISO string
        The reference time of every criterion (levels, metrics, activity, orders, "last N days").
    config : EngagementConfig, optional
        How levels and metrics are computed (defaults otherwise).
    levels : tuple of LevelResult, optional
        The current and previous levels, when already computed at ``as_of`` under ``config``.
    measures : ContactMeasures, optional
        Where slip risk and sunset status come from (see :mod:`engagekit.segments.measures`);
        by default computed from ``dataset`` on first use, under the default sunset rule.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.segments.definition import level_segment
    >>> engine = MemoryEngine(generate_sample(300, seed=1), as_of="2026-11-30")
    >>> ids = engine.members(level_segment("least_engaged"))
    >>> len(ids) == engine.count(level_segment("least_engaged"))
    True
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        as_of: AsOf,
        config: EngagementConfig | None = None,
        levels: tuple[LevelResult, LevelResult] | None = None,
        measures: ContactMeasures | None = None,
    ):
        self.dataset = dataset
        self.as_of = as_timestamp(as_of)
        self.config = config or EngagementConfig()
        self.catalog = Catalog.from_dataset(dataset)
        self.n = dataset.n_contacts
        self._masks: OrderedDict[str, np.ndarray] = OrderedDict()
        self._operands: dict[tuple, Any] = {}
        self._facts: OrderedDict[tuple, Any] = OrderedDict()
        # One engine may serve several threads (a dashboard's sessions); its caches are shared.
        self._lock = threading.RLock()
        if levels is not None and (levels[0].as_of != self.as_of or levels[0].config != self.config):
            raise ValueError("levels given to MemoryEngine must be computed at its as_of and config")
        self._given_levels = levels
        if measures is not None and (measures.as_of != self.as_of or measures.config != self.config):
            raise ValueError("measures given to MemoryEngine must be computed at its as_of and config")
        self.measures = measures or ContactMeasures(lambda: dataset, as_of=self.as_of, config=self.config)

    # -- public ------------------------------------------------------------------------------
    @cached_property
    def levels(self) -> tuple[LevelResult, LevelResult]:
        """Current and previous levels, as :func:`~engagekit.engagement.levels.current_and_previous` gives
        (or as given to the constructor, when already computed elsewhere)."""
        if self._given_levels is not None:
            return self._given_levels
        return current_and_previous(self.dataset, as_of=self.as_of, config=self.config)

    def mask(self, definition: SegmentDefinition | str | dict) -> np.ndarray:
        """A boolean array over ``dataset.contacts`` rows: who is in the segment."""
        # A copy: the result may be a cached criterion mask, which callers must not change.
        return self._evaluate(definition).copy()

    def members(self, definition: SegmentDefinition | str | dict) -> np.ndarray:
        """Contact ids in the segment, sorted (int64)."""
        return np.sort(self.dataset.contact_ids[self._evaluate(definition)]).astype(np.int64)

    def count(self, definition: SegmentDefinition | str | dict) -> int:
        """How many contacts are in the segment."""
        return int(np.count_nonzero(self._evaluate(definition)))

    def _evaluate(self, definition: SegmentDefinition | str | dict) -> np.ndarray:
        definition = SegmentDefinition.coerce(definition)
        check_definition(definition, self.catalog)
        if self.n == 0:
            return np.zeros(0, dtype=bool)
        with self._lock:
            return self._group(definition.criteria)

    # -- tree --------------------------------------------------------------------------------
    def _group(self, group: Group) -> np.ndarray:
        masks = [
            self._group(node) if isinstance(node, Group) else self._criterion(node)
            for node in group.group
        ]
        if len(masks) == 1:
            return masks[0]
        # Pairwise into one new array: ufunc.reduce over a list would stack the masks first.
        combine = np.logical_and if group.type == "and" else np.logical_or
        out = combine(masks[0], masks[1])
        for mask in masks[2:]:
            combine(out, mask, out=out)
        return out

    def _criterion(self, criterion: Criterion) -> np.ndarray:
        key = criterion.key()
        mask = self._masks.get(key)
        if mask is None:
            read = MemoryEngine._measure if is_measure(criterion) else _OPERANDS[criterion.source]
            operand = read(self, criterion)
            argument_ = argument(criterion.op, criterion.value, self.as_of)
            mask = OPERATORS[criterion.op].mask(operand, argument_)
        return _remember(self._masks, key, mask)

    def _kept(self, key: tuple, build: Callable[[], Any]) -> Any:
        """A per-engine structure, built on first use and kept for the engine's life."""
        if key not in self._operands:
            self._operands[key] = build()
        return self._operands[key]

    # -- operands per source -----------------------------------------------------------------
    def _engagement(self, criterion: Criterion) -> Coded:
        result = self.levels[0 if criterion.field == "current_level" else 1]
        return self._kept(("level", criterion.field), lambda: Coded.of(result.table["level"]))

    def _metric(self, criterion: Criterion) -> np.ndarray:
        table = self.levels[0].table
        return self._kept(
            ("metric", criterion.field), lambda: table[criterion.field].to_numpy(dtype=np.float64)
        )

    def _measure(self, criterion: Criterion) -> Any:
        def build() -> Any:
            values = self.measures.values(criterion.field, self.dataset.contact_ids)
            return Coded.of(values) if values.dtype == object else values  # a status is a choice

        return self._kept(("measure", criterion.field), build)

    def _contact(self, criterion: Criterion) -> Any:
        kind = resolve_field(criterion, self.catalog).kind
        column = self.dataset.contacts[criterion.field]
        if kind in ("text", "status"):
            return self._kept(("coded", criterion.field), lambda: Coded.of(column))
        if kind == "number":
            return self._kept(
                ("number", criterion.field), lambda: column.to_numpy(dtype=np.float64)
            )
        return self._kept(
            ("date", criterion.field), lambda: column.to_numpy(dtype="datetime64[us]")
        )

    def _lists(self, criterion: Criterion) -> Mapping[str, np.ndarray]:
        groups = self._kept(
            ("lists",), lambda: self._grouped(self.dataset.list_memberships, "list_id")
        )
        return {"member": self._any_of(groups, criterion.value)}

    def _tags(self, criterion: Criterion) -> Mapping[str, np.ndarray]:
        groups = self._kept(("tags",), lambda: self._grouped(self.dataset.contact_tags, "tag"))
        return {"member": self._any_of(groups, criterion.value)}

    def _activity(self, criterion: Criterion) -> Mapping[str, np.ndarray]:
        # Shared by the six operators of one scope (opened, not_opened, ...), but per scope, so
        # kept in a bounded cache like the masks.
        key = (criterion.field, criterion.value)
        facts = self._facts.get(key)
        if facts is None:
            facts = self._activity_facts(criterion.field, criterion.value)
        return _remember(self._facts, key, facts)

    def _ecommerce(self, criterion: Criterion) -> Any:
        if criterion.field == "purchase":
            return {"purchased": self._purchased(order_window(criterion.field, criterion.value, self.as_of))}
        return self._kept(
            ("orders", criterion.field), lambda: self._order_aggregate(criterion.field)
        )

    # -- building blocks ---------------------------------------------------------------------
    def _positions(self, contact_ids: np.ndarray) -> np.ndarray:
        """Contact positions of contact ids (all known: the dataset checked its references)."""
        index = self._kept(("contact_index",), lambda: pd.Index(self.dataset.contact_ids))
        return index.get_indexer(contact_ids)

    def _grouped(self, frame: pd.DataFrame, key: str) -> dict[Any, np.ndarray]:
        positions = self._positions(frame["contact_id"].to_numpy())
        return {k: positions[rows] for k, rows in frame.groupby(key, sort=False).indices.items()}

    def _any_of(self, groups: dict[Any, np.ndarray], keys: list) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for k in keys:
            out[groups.get(k, [])] = True
        return out

    def _scope(self, field: str, value: int) -> np.ndarray:
        """Positions (in ``dataset.campaigns``) of the campaigns an activity criterion covers."""
        scope = campaign_scope(field, value, self.as_of)
        campaigns = self.dataset.campaigns
        ids = campaigns["campaign_id"].to_numpy()
        if scope.campaign_id is not None:
            return np.flatnonzero(ids == scope.campaign_id)
        sent = campaigns["sent_at"].to_numpy(dtype="datetime64[us]")
        keep = sent < scope.sent.end.to_datetime64()
        if scope.sent.start is not None:
            keep &= sent >= scope.sent.start.to_datetime64()
        chosen = np.flatnonzero(keep)
        if scope.latest is None:
            return chosen
        latest_first = chosen[np.lexsort((ids[chosen], sent[chosen]))[::-1]]
        return latest_first[: scope.latest]

    def _activity_facts(self, field: str, value: int) -> dict[str, np.ndarray]:
        index = self.dataset.activity_for(self.config.for_email_activity())
        in_scope = np.zeros(len(index.campaign_ids), dtype=bool)
        in_scope[self._scope(field, value)] = True
        # One gather over the deliveries: faster than sorting them by campaign once per engine.
        rows = np.flatnonzero(in_scope[index.delivery_campaign])
        contacts = index.delivery_contact[rows]
        # The index keeps whole seconds; see engagekit.segments.timing.events_end for SQL's side.
        t = index.offset(to_seconds(self.as_of))

        def fact(first_time: np.ndarray) -> np.ndarray:
            out = np.zeros(self.n, dtype=bool)
            out[contacts[first_time[rows] <= t]] = True
            return out

        return {
            "sent": fact(index.delivery_first),
            "opened": fact(index.delivery_engaged),
            "clicked": fact(index.delivery_clicked),
        }

    @cached_property
    def _orders(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions, times (int64 microseconds) and amounts of the orders placed by ``as_of``."""
        orders = self.dataset.orders
        times = orders["ordered_at"].to_numpy(dtype="datetime64[us]")
        keep = times < order_window("order_count", None, self.as_of).end.to_datetime64()
        return (
            self._positions(orders["contact_id"].to_numpy()[keep]),
            times[keep].astype(np.int64),
            orders["amount"].to_numpy(dtype=np.float64)[keep],
        )

    def _order_aggregate(self, field: str) -> np.ndarray:
        positions, times, amounts = self._orders
        if field == "order_count":
            return np.bincount(positions, minlength=self.n).astype(np.float64)
        if field == "total_spent":
            return round_cents(np.bincount(positions, weights=amounts, minlength=self.n))
        latest = np.full(self.n, NAT, dtype=np.int64)
        np.maximum.at(latest, positions, times)
        return latest.view("datetime64[us]")

    def _purchased(self, window: Interval) -> np.ndarray:
        positions, times, _ = self._orders
        keep = times < _micros(window.end)
        if window.start is not None:
            keep &= times >= _micros(window.start)
        out = np.zeros(self.n, dtype=bool)
        out[positions[keep]] = True
        return out


def _remember(cache: OrderedDict, key: Any, value: Any) -> Any:
    """Put ``value`` in a least-recently-used cache of MASK_CACHE_SIZE entries; return it."""
    cache[key] = value
    cache.move_to_end(key)
    if len(cache) > MASK_CACHE_SIZE:
        cache.popitem(last=False)
    return value


def _micros(stamp: pd.Timestamp) -> int:
    return int(np.datetime64(stamp.to_datetime64(), "us").astype(np.int64))


def round_cents(amounts: np.ndarray) -> np.ndarray:
    """Money rounded to the cent, halves away from zero (as SQL's ``round(x, 2)`` does).

    Sums of cent amounts land a hair away from whole cents, and in a different hair in SQL (the
    order of addition differs); rounding makes "total spent is 30.30" mean the same everywhere.
    """
    return np.sign(amounts) * np.floor(np.abs(amounts) * 100 + 0.5) / 100


_OPERANDS: dict[str, Callable[[MemoryEngine, Criterion], Any]] = {
    "engagement": MemoryEngine._engagement,
    "metrics": MemoryEngine._metric,
    "contact": MemoryEngine._contact,
    "list_membership": MemoryEngine._lists,
    "tags": MemoryEngine._tags,
    "email_activity": MemoryEngine._activity,
    "ecommerce": MemoryEngine._ecommerce,
}
