"""Stored contact measures: values per contact that only the library computes, kept for SQL.

Slip risk comes from a scikit-learn model and sunset status from a sunset rule applied to all of a
contact's history: neither is written in SQL. They are computed once in Python and stored here, one
*measure set* per measure, as-of time, settings and data token, so the SQL segment engine joins
them by ``contact_id`` as it joins level snapshots. Like snapshots they are derived: computed on
first use, reused afterwards, never served for other data (the data token changes with every
import, and an import deletes them).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from engagekit.workspace.database import Database, find_or_store
from engagekit.workspace.tables import build_tables

MEASURE_COLUMNS: tuple[str, ...] = ("number", "label")
"""The value columns of ``contact_measures``: a measure fills one of them."""


class MeasureStore:
    """Contact measures of one workspace.

    Examples
    --------
    >>> import tempfile
    >>> from engagekit.workspace.workspace import Workspace
    >>> from engagekit.data.sample import generate_sample
    >>> ws = Workspace.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> _ = ws.import_dataset(generate_sample(20, seed=1))
    >>> rows = lambda: pd.DataFrame({"contact_id": ws.load().contact_ids, "number": 0.5})
    >>> first = ws.measures.ensure("demo", as_of=pd.Timestamp("2026-11-30"), settings="{}", compute=rows)
    >>> first == ws.measures.ensure("demo", as_of=pd.Timestamp("2026-11-30"), settings="{}", compute=rows)
    True
    """

    def __init__(self, database: Database):
        self.database = database
        self._sets = build_tables().measure_sets
        self._rows = build_tables().contact_measures

    def ensure(self, measure: str, *, as_of: pd.Timestamp, settings: str,
               compute: Callable[[], pd.DataFrame]) -> int:
        """The id of the stored set of ``measure`` as of ``as_of`` under ``settings`` (JSON text),
        computing it with ``compute`` (``contact_id`` and one of :data:`MEASURE_COLUMNS`) if needed."""
        # The token is read before computing: should an import land in between, the set is filed
        # under the older token, which is never served again, not under the newer one.
        key = {"measure": measure, "as_of": as_of.to_pydatetime(), "settings": settings,
               "data_token": self.database.data_token()}
        return find_or_store(self.database, self._sets, key, self._rows, compute)


__all__ = ["MEASURE_COLUMNS", "MeasureStore"]
