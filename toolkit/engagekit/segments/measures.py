"""Criteria on what only the library computes: slip risk and sunset status.

==============  ==========  ================  ============================================================
field           source      stored as         what it is, as of T
==============  ==========  ================  ============================================================
slip_risk       metrics     ``number``        the chance that a judged contact drops a level next period,
                                              a share from 0 to 1 (:mod:`engagekit.engagement.slip_risk`);
                                              blank for contacts not judged, so it matches no comparison
sunset_status   engagement  ``label``         where the sunset rule in force puts the contact
                                              (:data:`~engagekit.engagement.sunset.SUNSET_STATUSES`)
==============  ==========  ================  ============================================================

Neither is written in SQL: the model and the rule run once in Python per data, settings and as-of
time (:class:`ContactMeasures`), and each engine reads the result its own way: the memory engine as
an array over contacts, the SQL engine from the workspace's stored measures
(:class:`~engagekit.workspace.measures.MeasureStore`), the Spark engine from a temporary view. So
the three give the same members. When the history is too short to learn slip risk, every engine
raises the model's own one-sentence :class:`~engagekit.errors.DataError`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict

import numpy as np
import pandas as pd

from engagekit.config import EngagementConfig
from engagekit.data.dataset import Dataset
from engagekit.engagement.slip_risk import SlipRisk, slip_risk
from engagekit.engagement.sunset import SUNSET_STATUSES, SunsetRule, sunset_table
from engagekit.errors import EngagekitError
from engagekit.segments.tree import Criterion

MEASURE_FIELDS: dict[tuple[str, str], str] = {
    ("metrics", "slip_risk"): "number",
    ("engagement", "sunset_status"): "label",
}
"""``(source, field)`` of each measure criterion -> the value column it is stored in."""


def is_measure(criterion: Criterion) -> bool:
    """Whether a criterion tests a measure (rather than a level, a feature or the data)."""
    return (criterion.source, criterion.field) in MEASURE_FIELDS


class ContactMeasures:
    """Slip risk and sunset status of every contact as of one time, each computed on first use.

    Parameters
    ----------
    load_data : callable
        Gives the :class:`~engagekit.data.dataset.Dataset` to compute from (called on first use).
    as_of : pandas.Timestamp
    config : EngagementConfig
    sunset_rule : SunsetRule, optional
        The rule behind ``sunset_status`` (default :class:`SunsetRule`).
    train : callable, optional
        Gives the :class:`~engagekit.engagement.slip_risk.SlipRisk` already learnt elsewhere (a
        session shares its own); by default the model is trained on ``load_data()``.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> data = generate_sample(200, seed=1)
    >>> measures = ContactMeasures(lambda: data, as_of=pd.Timestamp("2026-11-30"),
    ...                            config=EngagementConfig())
    >>> sorted(measures.frame("sunset_status").columns)
    ['contact_id', 'label']
    >>> measures.frame("slip_risk")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    engagekit.errors.DataError: The history has too few judged contacts who slipped (or stayed) to learn slip risk ...
    """

    def __init__(self, load_data: Callable[[], Dataset], *, as_of: pd.Timestamp,
                 config: EngagementConfig, sunset_rule: SunsetRule | None = None,
                 train: Callable[[], SlipRisk] | None = None):
        self.as_of = as_of
        self.config = config
        self.sunset_rule = sunset_rule or SunsetRule()
        self._load_data = load_data
        self._train = train or (lambda: slip_risk(self._load_data(), as_of=as_of, config=config))
        self._lock = threading.Lock()
        self._results: dict[str, object] = {}

    def slip_risk(self) -> SlipRisk:
        """The slip-risk model's result (trained once; a failure is kept and raised again, so a
        history too short to learn from is not retrained on every count)."""
        return self._once("slip_risk", self._train)

    def sunset_table(self) -> pd.DataFrame:
        """The per-contact table of :func:`~engagekit.engagement.sunset.sunset_table`."""
        return self._once("sunset_status", lambda: sunset_table(
            self._load_data(), as_of=self.as_of, rule=self.sunset_rule, config=self.config))

    def _once(self, name: str, compute: Callable[[], object]):
        with self._lock:
            if name not in self._results:
                try:
                    self._results[name] = compute()
                except EngagekitError as error:
                    self._results[name] = error
            result = self._results[name]
        if isinstance(result, EngagekitError):
            raise result
        return result

    def values(self, field: str, contact_ids: np.ndarray) -> np.ndarray:
        """The measure ``field`` of each of ``contact_ids`` (float shares, or status names)."""
        if field == "slip_risk":
            return self.slip_risk().risk.reindex(contact_ids).to_numpy(dtype=np.float64)
        table = self.sunset_table().set_index("contact_id")["sunset_status"]
        return table.reindex(contact_ids).to_numpy(dtype=object)

    def column(self, field: str, contact_ids: np.ndarray) -> np.ndarray:
        """The measure ``field`` of each of ``contact_ids`` as a member column shows it: slip risk
        as a share, sunset status by its label ("Would be sunset (last chance)")."""
        values = self.values(field, contact_ids)
        if field == "sunset_status":
            return pd.Series(values, dtype=object).map(SUNSET_STATUSES).to_numpy(dtype=object)
        return values

    def frame(self, field: str) -> pd.DataFrame:
        """``contact_id`` and the value column of ``field`` (see :data:`MEASURE_FIELDS`), one row
        per contact: what the SQL and Spark engines store or register."""
        if field == "slip_risk":
            risk = self.slip_risk().risk
            return pd.DataFrame({"contact_id": risk.index.to_numpy(np.int64),
                                 "number": risk.to_numpy(np.float64)})
        table = self.sunset_table()
        return pd.DataFrame({"contact_id": table["contact_id"].to_numpy(np.int64),
                             "label": table["sunset_status"].to_numpy(dtype=object)})

    def settings_key(self, field: str) -> str:
        """The settings the measure ``field`` depends on, as JSON text (its storage key)."""
        settings = {"config": json.loads(self.config.to_json())}
        if field == "sunset_status":
            settings["sunset_rule"] = asdict(self.sunset_rule)
        return json.dumps(settings, sort_keys=True)


def column_of(criterion: Criterion) -> str:
    """The stored value column of a measure criterion (``number`` or ``label``)."""
    return MEASURE_FIELDS[(criterion.source, criterion.field)]


__all__ = ["MEASURE_FIELDS", "ContactMeasures", "column_of", "is_measure"]
