"""The in-memory workspace data: one pandas frame per canonical table.

A :class:`Dataset` is what imports produce, what the workspace stores and loads, and what the
in-memory engines read. Its frames always have the canonical columns and dtypes
(see :mod:`engagekit.data.schema`); :meth:`Dataset.from_frames` is the one place that enforces them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from engagekit.config import EngagementConfig, MachineRules
from engagekit.data.activity import ActivityIndex
from engagekit.data.arrow import sorted_categorical
from engagekit.data.growth import Earlier, GrownReasons, grown_index, grown_reasons
from engagekit.data.machine import PrefetchCounts
from engagekit.data.schema import (
    CODED,
    OPTIONAL,
    REQUIRED,
    STANDARD_CONTACT_COLUMNS,
    TABLES,
    TIME_DTYPE,
)
from engagekit.errors import DataError
from engagekit.timeutil import AsOf, as_timestamp, natural_as_of


def to_time(values: pd.Series) -> pd.Series:
    """Times (datetime values or ISO 8601 text) as naive ``datetime64[us]``."""
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return values.astype(TIME_DTYPE)
    parsed = pd.to_datetime(values, format="ISO8601", utc=True)
    return parsed.dt.tz_localize(None).astype(TIME_DTYPE)


def as_codes(values: pd.Series) -> pd.Series:
    """Text as a categorical of its distinct values in sorted order, so that the same data always
    has the same codes (blanks stay blank).

    Examples
    --------
    >>> as_codes(pd.Series(["open", None, "click"])).cat.codes.tolist()
    [1, -1, 0]
    """
    if values.dtype == "str":
        return sorted_categorical(values)
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("str").where(values.notna(), None).astype("category")
    categories = values.cat.categories
    if categories.dtype != "str":
        values = values.cat.rename_categories(categories.astype("str"))
    if not values.cat.categories.is_monotonic_increasing:
        values = values.cat.reorder_categories(values.cat.categories.sort_values())
    return values


def concat_column(parts: list[pd.Series]) -> pd.Series:
    """The parts of one column one after another; coded text (categoricals) stays coded, into
    the sorted union of the parts' values: a plain ``pd.concat`` of categoricals with different
    values would turn tens of millions of codes into text.

    Examples
    --------
    >>> joined = concat_column([pd.Series(["b", "a"], dtype="category"),
    ...                         pd.Series(["c"], dtype="category")])
    >>> joined.dtype.name, joined.cat.codes.tolist()
    ('category', [1, 0, 2])
    """
    if len(parts) > 1 and all(isinstance(part.dtype, pd.CategoricalDtype) for part in parts):
        return pd.Series(union_categoricals(parts, sort_categories=True),
                         index=parts[0].index.append([part.index for part in parts[1:]]),
                         name=parts[0].name)
    return pd.concat(parts)


FLAG_DTYPE = "boolean"  # pandas' nullable boolean: true, false or blank (unknown)


def to_flag(values: pd.Series) -> pd.Series:
    """True / false / blank values (booleans, or text such as ``true``, ``no``, ``1``) as
    nullable booleans; any other text raises :class:`DataError`.

    A column of millions of cells holds a handful of distinct values: each is read once.

    Examples
    --------
    >>> to_flag(pd.Series(["Yes", "0", None, "", "true"])).tolist()
    [True, False, <NA>, <NA>, True]
    """
    if pd.api.types.is_bool_dtype(values):
        return values.astype(FLAG_DTYPE)
    codes, distinct = pd.factorize(values)
    words = pd.Series(distinct, dtype="object").astype("str").str.strip().str.casefold()
    parsed = words.map(FLAG_WORDS)
    bad = (words != "") & parsed.isna()
    if bad.any():
        raise DataError(f"{distinct[int(np.argmax(bad.to_numpy()))]!r} is not a true/false value")
    flags = pd.array(parsed.astype("object").where(parsed.notna(), None).tolist(), dtype=FLAG_DTYPE)
    return pd.Series(flags.take(codes, allow_fill=True), index=values.index)


FLAG_WORDS = {"true": True, "1": True, "yes": True, "1.0": True,
              "false": False, "0": False, "no": False, "0.0": False}


def _coerce(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Cast the standard columns of ``table`` to their canonical dtypes (trusting valid input)."""
    spec = TABLES[table]
    optional = OPTIONAL.get(table, ())
    missing = [column for column in spec if column not in frame.columns and column not in optional]
    if missing:
        raise DataError(f"table '{table}' lacks column(s) {', '.join(missing)}")
    # A shallow copy: a column already of its canonical dtype is kept, not copied (tens of
    # millions of events pass through here on an import).
    out = frame.copy(deep=False)
    for column in optional:
        if column not in out.columns:
            out[column] = pd.Series(pd.NA, index=out.index, dtype="object")
    coded = CODED.get(table, ())
    for column, kind in spec.items():
        values = out[column]
        if column in coded:
            out[column] = as_codes(values)
        elif kind == "flag":
            out[column] = values if values.dtype == "boolean" else to_flag(values)
        elif kind == "id":
            out[column] = values.astype("int64", copy=False)
        elif kind == "time":
            out[column] = values if values.dtype == TIME_DTYPE else to_time(values)
        elif kind == "number":
            out[column] = values.astype("float64", copy=False)
        elif values.dtype != "str":
            out[column] = values.astype("str").where(values.notna(), None)
    return out if isinstance(out.index, pd.RangeIndex) and out.index.start == 0 and \
        out.index.step == 1 else out.reset_index(drop=True)


def empty_table(table: str) -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes of ``table``."""
    return _coerce(pd.DataFrame({column: [] for column in TABLES[table]}), table)


class FrameKeeper(Protocol):
    """Where a stored dataset keeps frames derived from it (see :meth:`Dataset.lasting`)."""

    def read(self, key: str) -> pd.DataFrame | None: ...

    def write(self, key: str, frame: pd.DataFrame) -> None: ...


class ReadOnUse:
    """A table that is read the first time it is used (once, even from several threads).

    A workspace's stored copy hands its largest table, the email events, over this way: the
    levels come from the stored activity index, so opening a workspace need not wait for tens of
    millions of event rows that only some pages read. ``read`` must already hold what it reads
    (an open file), so the table stays readable if the copy is replaced meanwhile.

    Examples
    --------
    >>> table = ReadOnUse(lambda: pd.DataFrame({"a": [1]}))
    >>> table.frame() is table.frame()
    True
    """

    def __init__(self, read: Callable[[], pd.DataFrame], *, rows: int | None = None):
        self._read: Callable[[], pd.DataFrame] | None = read
        self._frame: pd.DataFrame | None = None
        self._lock = threading.Lock()
        self.rows = rows  # the row count, when known without reading (a file's metadata)

    @property
    def is_read(self) -> bool:
        return self._frame is not None

    def frame(self) -> pd.DataFrame:
        with self._lock:
            if self._frame is None:
                self._frame, self._read = self._read(), None
            return self._frame


class _Table:
    """A table field of :class:`Dataset`: holds a frame, or a :class:`ReadOnUse` it reads on use."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.slot = name, f"_{name}_table"

    def __get__(self, dataset: Dataset | None, owner: type | None = None) -> pd.DataFrame:
        if dataset is None:  # the class itself (dataclasses asks for a default): there is none
            return self
        value = getattr(dataset, self.slot)
        return value.frame() if isinstance(value, ReadOnUse) else value

    def __set__(self, dataset: Dataset, value: pd.DataFrame | ReadOnUse) -> None:
        if value is self:
            raise TypeError(f"a Dataset needs its {self.name} table")
        object.__setattr__(dataset, self.slot, value)  # frozen: set once, by __init__


@dataclass(frozen=True)
class Dataset:
    """All the data of one workspace, in canonical frames.

    Parameters
    ----------
    contacts, contact_tags, lists, list_memberships, campaigns, email_events, orders
        One frame per canonical table (see :mod:`engagekit.data.schema`).
    custom_fields
        Custom contact fields: column name in ``contacts`` -> ``"text"``, ``"number"`` or ``"date"``.

    Examples
    --------
    >>> import pandas as pd
    >>> ds = Dataset.from_frames(contacts=pd.DataFrame({
    ...     "contact_id": [1], "email": ["ann@example.com"], "first_name": ["Ann"],
    ...     "last_name": [None], "date_added": ["2026-01-05"], "email_status": ["subscribed"]}))
    >>> ds.n_contacts
    1
    """

    contacts: pd.DataFrame = _Table()
    contact_tags: pd.DataFrame = _Table()
    lists: pd.DataFrame = _Table()
    list_memberships: pd.DataFrame = _Table()
    campaigns: pd.DataFrame = _Table()
    email_events: pd.DataFrame = _Table()  # may be a ReadOnUse (see Dataset.trusted)
    orders: pd.DataFrame = _Table()
    custom_fields: dict[str, str] = field(default_factory=dict)
    given_activity: ActivityIndex | None = field(default=None, repr=False, compare=False)
    _indexes: dict[str, ActivityIndex] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _indexing: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False)
    given_reasons: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    given_counts: dict[str, PrefetchCounts] = field(default_factory=dict, repr=False, compare=False)
    _earlier: list[Earlier] = field(default_factory=list, init=False, repr=False, compare=False)
    _grown: dict[str, GrownReasons] = field(default_factory=dict, init=False, repr=False, compare=False)
    _derived: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)
    kept_by: FrameKeeper | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_frames(
        cls,
        *,
        contacts: pd.DataFrame,
        contact_tags: pd.DataFrame | None = None,
        lists: pd.DataFrame | None = None,
        list_memberships: pd.DataFrame | None = None,
        campaigns: pd.DataFrame | None = None,
        email_events: pd.DataFrame | None = None,
        orders: pd.DataFrame | None = None,
        custom_fields: dict[str, str] | None = None,
    ) -> Dataset:
        """Build a dataset, casting every table to its canonical dtypes and checking references."""
        custom_fields = dict(custom_fields or {})
        coerced = _coerce(contacts, "contacts")
        for name, kind in custom_fields.items():
            if name not in contacts.columns:
                raise DataError(f"custom field '{name}' has no column in contacts")
            if kind == "number":
                coerced[name] = pd.to_numeric(contacts[name]).astype("float64").to_numpy()
            elif kind == "date":
                coerced[name] = to_time(contacts[name]).to_numpy()
            else:
                coerced[name] = contacts[name].astype("str").where(contacts[name].notna(), None).to_numpy()
        coerced = coerced[list(STANDARD_CONTACT_COLUMNS) + list(custom_fields)]

        def table(frame: pd.DataFrame | None, name: str) -> pd.DataFrame:
            return empty_table(name) if frame is None else _coerce(frame, name)[list(TABLES[name])]

        dataset = cls(
            contacts=coerced,
            contact_tags=table(contact_tags, "contact_tags"),
            lists=table(lists, "lists"),
            list_memberships=table(list_memberships, "list_memberships"),
            campaigns=table(campaigns, "campaigns"),
            email_events=table(email_events, "email_events"),
            orders=table(orders, "orders"),
            custom_fields=custom_fields,
        )
        dataset.check_integrity()
        return dataset

    @classmethod
    def trusted(
        cls, *, custom_fields: dict[str, str], activity: ActivityIndex | None = None,
        machine_reasons: dict[str, np.ndarray] | None = None,
        prefetch_counts: dict[str, PrefetchCounts] | None = None, kept_by: FrameKeeper | None = None,
        **frames: pd.DataFrame | ReadOnUse,
    ) -> Dataset:
        """Wrap frames that already are canonical (the workspace's own columnar copy, written
        from a checked dataset), without casting or checking them again; ``activity`` is their
        activity index, ``machine_reasons`` the classifier's codes and ``prefetch_counts`` its
        counts (both by rules), when stored with them. A table given as a :class:`ReadOnUse` is
        read when first used; ``kept_by`` keeps the results of :meth:`lasting` beside the stored
        data."""
        return cls(**frames, custom_fields=dict(custom_fields), given_activity=activity,
                   given_reasons=dict(machine_reasons or {}),
                   given_counts=dict(prefetch_counts or {}), kept_by=kept_by)

    def check_integrity(self) -> None:
        """Raise :class:`DataError` when a key is duplicated, blank or points nowhere."""
        for name in TABLES:
            frame = getattr(self, name)
            for column in REQUIRED[name]:
                blank = frame[column].isna()
                if blank.any():
                    raise DataError(
                        f"table '{name}' has {int(blank.sum())} blank value(s) in required "
                        f"column '{column}'"
                    )
        for name, key in [("contacts", "contact_id"), ("contacts", "email"),
                          ("lists", "list_id"), ("campaigns", "campaign_id"), ("orders", "order_id")]:
            duplicated = getattr(self, name)[key].duplicated()
            if duplicated.any():
                example = getattr(self, name)[key][duplicated].iloc[0]
                raise DataError(f"table '{name}' has duplicate {key} values (e.g. {example!r})")
        known = {
            "contact_id": self.contacts["contact_id"],
            "list_id": self.lists["list_id"],
            "campaign_id": self.campaigns["campaign_id"],
        }
        for name in ("contact_tags", "list_memberships", "email_events", "orders"):
            frame = getattr(self, name)
            for key, valid in known.items():
                if key in frame.columns:
                    unknown = ~frame[key].isin(valid)
                    if unknown.any():
                        raise DataError(
                            f"table '{name}' refers to {int(unknown.sum())} unknown {key} value(s) "
                            f"(e.g. {int(frame[key][unknown].iloc[0])})"
                        )

    @property
    def n_contacts(self) -> int:
        return self.row_count("contacts")

    def row_count(self, table: str) -> int:
        """Rows of ``table``, without reading a table that is read on use when its count is known."""
        value = getattr(self, f"_{table}_table")
        if isinstance(value, ReadOnUse) and value.rows is not None and not value.is_read:
            return value.rows
        return len(getattr(self, table))

    @cached_property
    def contact_ids(self) -> np.ndarray:
        """Contact ids in the order of ``contacts``; engines index arrays by this position."""
        return self.contacts["contact_id"].to_numpy()

    @property
    def activity(self) -> ActivityIndex:
        """The activity index counting engagement by the default settings."""
        return self.activity_for(None)

    def activity_for(self, config: EngagementConfig | None) -> ActivityIndex:
        """The activity index counting engagement as ``config`` does (its ``counting_key``): the
        one given when it counts the same way, else built on first use and kept."""
        config = config or EngagementConfig()
        key = config.counting_key()
        if self.given_activity is not None and self.given_activity.counting == key:
            return self.given_activity
        # One build per rule even when several threads (dashboard sessions) ask at once.
        with self._indexing:
            if key not in self._indexes:
                grown = grown_index(self, self._earlier[0], config) if self._earlier else None
                self._indexes[key] = grown if grown is not None else ActivityIndex.build(self, config)
            return self._indexes[key]

    def machine_reasons(
        self, rules: MachineRules, classify: Callable[[], tuple[np.ndarray, PrefetchCounts]]
    ) -> np.ndarray:
        """The classifier's reason code of every email event under ``rules`` (file order; see
        :mod:`engagekit.data.machine`), made by ``classify`` (codes and counts) once and kept:
        verdicts are a property of the data as imported, so every engagement rule's index
        reuses them. Data that grows earlier data (:meth:`grows_from`) classifies only what it
        adds."""
        key = rules.model_dump_json()
        if key not in self.given_reasons:
            grown = grown_reasons(self, self._earlier[0], rules) if self._earlier else None
            if grown is not None:
                self.given_reasons[key], self.given_counts[key] = grown.codes, grown.counts
                self._grown[key] = grown
            else:
                self.given_reasons[key], self.given_counts[key] = classify()
        return self.given_reasons[key]

    def grown_reasons(self, rules: MachineRules) -> GrownReasons | None:
        """What changed in the classifier's verdicts under ``rules`` against the earlier data,
        when :meth:`machine_reasons` grew them from its (see :meth:`grows_from`); ``None``
        when they were made from every event, or not made yet."""
        return self._grown.get(rules.model_dump_json())

    def prefetch_counts(self, rules: MachineRules) -> PrefetchCounts | None:
        """The classifier's prefetcher counts under ``rules``, when classified (see
        :meth:`machine_reasons`)."""
        return self.given_counts.get(rules.model_dump_json())

    def known_indexes(self) -> dict[str, ActivityIndex]:
        """The activity indexes made or given so far, by counting key (none is built here)."""
        known = dict(self._indexes)
        if self.given_activity is not None:
            known.setdefault(self.given_activity.counting, self.given_activity)
        return known

    def known_reasons(self) -> dict[str, tuple[np.ndarray, PrefetchCounts]]:
        """The classifier's codes and counts made or given so far, by rules (none made here)."""
        return {key: (codes, self.given_counts[key]) for key, codes in self.given_reasons.items()
                if key in self.given_counts}

    def grows_from(self, earlier: Earlier) -> Dataset:
        """Mark this data as ``earlier``'s rows with more appended (an import's merge says so):
        its verdicts and indexes are then grown from ``earlier``'s where the new rows allow (see
        :mod:`engagekit.data.growth`). Returns this dataset."""
        self._earlier[:] = [earlier]
        return self

    def forget_earlier(self) -> None:
        """Let go of the earlier data's arrays (once what grows from them is made)."""
        self._earlier.clear()

    def derived(self, key: str, make: Callable[[], object]) -> object:
        """A value computed from this data, made by ``make`` on first use under ``key`` and kept
        (the data never changes: a dashboard rerun or a second plan reuses it).

        Examples
        --------
        >>> data = Dataset.from_frames(contacts=pd.DataFrame({"contact_id": [1],
        ...     "email": ["ann@example.com"], "first_name": [None], "last_name": [None],
        ...     "date_added": ["2026-01-05"], "email_status": ["subscribed"]}))
        >>> data.derived("answer", lambda: 42), data.derived("answer", lambda: 0)
        (42, 42)
        """
        if key not in self._derived:
            self._derived[key] = make()
        return self._derived[key]

    def lasting(self, key: str, make: Callable[[], pd.DataFrame], *, remember: bool = True) -> pd.DataFrame:
        """Like :meth:`derived`, for a frame that is also kept with the stored data (when this
        dataset was read from a workspace's copy), so a later process reads it at once. With
        ``remember=False`` it is kept on disk only (a large frame the caller holds itself).

        Examples
        --------
        >>> data = Dataset.from_frames(contacts=pd.DataFrame({"contact_id": [1],
        ...     "email": ["ann@example.com"], "first_name": [None], "last_name": [None],
        ...     "date_added": ["2026-01-05"], "email_status": ["subscribed"]}))
        >>> data.lasting("sizes", lambda: pd.DataFrame({"n": [1]}))["n"].tolist()
        [1]
        """
        def make_or_read() -> pd.DataFrame:
            kept = self.kept_by.read(key) if self.kept_by is not None else None
            if kept is None:
                kept = make()
                if self.kept_by is not None:
                    self.kept_by.write(key, kept)
            return kept

        return self.derived(key, make_or_read) if remember else make_or_read()

    def last_sent_at(self) -> pd.Timestamp | None:
        """When the last campaign was sent (``None`` without campaigns)."""
        sent = self.campaigns["sent_at"].dropna()
        return None if sent.empty else pd.Timestamp(sent.max())

    def default_as_of(self, *, now: AsOf) -> pd.Timestamp:
        """The natural reference time for this data (see :func:`engagekit.timeutil.natural_as_of`).

        ``now`` is passed in by the caller (the session), never read here.

        Examples
        --------
        >>> ds = Dataset.from_frames(contacts=pd.DataFrame({
        ...     "contact_id": [1], "email": ["a@b.co"], "first_name": [None], "last_name": [None],
        ...     "date_added": [None], "email_status": ["subscribed"]}),
        ...     campaigns=pd.DataFrame({"campaign_id": [1], "name": ["Hi"], "sent_at": ["2026-11-29T18:00"]}))
        >>> ds.default_as_of(now="2027-01-01")
        Timestamp('2026-11-30 00:00:00')
        """
        return natural_as_of(self.last_sent_at(), now=as_timestamp(now, name="now"))

    def replace(self, **changes: object) -> Dataset:
        """A copy with some tables replaced (re-validated)."""
        current = {name: getattr(self, name) for name in TABLES}
        current["custom_fields"] = self.custom_fields
        current.update(changes)
        # Changed tables make any stored activity index stale: from_frames builds a new one.
        return Dataset.from_frames(**current)

    def summary(self) -> dict[str, int]:
        """Row counts per table."""
        return {name: len(getattr(self, name)) for name in TABLES}


__all__ = ["Dataset", "FrameKeeper", "ReadOnUse", "empty_table"]
