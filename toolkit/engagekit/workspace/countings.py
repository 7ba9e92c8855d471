"""Counted deliveries: which emails count as opened and clicked under an engagement rule, stored.

The SQL segment engine reads "opened" and "clicked" from here, so it counts exactly the events the
in-memory engine counts: the classifier's verdicts (:mod:`engagekit.data.machine`) and the
engagement rule are applied once, in the library, and stored per rule and data version (like level
snapshots, they are derived: computed on first use, reused afterwards).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from engagekit.config import EngagementConfig
from engagekit.data.activity import ActivityIndex, as_datetimes
from engagekit.workspace.database import Database, find_or_store
from engagekit.workspace.tables import build_tables


class CountingStore:
    """Counted deliveries of one workspace; ``load_data`` gives the data when a rule is new."""

    def __init__(self, database: Database, load_data: Callable[[], object]):
        self.database = database
        self._load_data = load_data
        self._countings = build_tables().engagement_countings
        self._rows = build_tables().counted_deliveries

    def ensure(self, config: EngagementConfig) -> int:
        """The id of the stored counted deliveries of ``config``'s rule for email activity."""
        config = config.for_email_activity()
        key = {"counting": config.counting_key(), "data_version": self.database.data_version()}
        return find_or_store(self.database, self._countings, key, self._rows,
                             lambda: counted_deliveries(self._load_data().activity_for(config)))


def counted_deliveries(index: ActivityIndex) -> pd.DataFrame:
    """``campaign_id, contact_id, engaged_at, clicked_at`` of every delivery the index counts as
    engaged (first counted open-or-click; first counted click or blank).

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> ds = generate_sample(200, seed=1)
    >>> rows = counted_deliveries(ds.activity)
    >>> bool((rows["clicked_at"].dropna() >= rows.loc[rows["clicked_at"].notna(), "engaged_at"]).all())
    True
    """
    engaged = index.delivery_engaged != index.never
    return pd.DataFrame({
        "campaign_id": index.campaign_ids[index.delivery_campaign[engaged]],
        "contact_id": index.contact_ids[index.delivery_contact[engaged]],
        "engaged_at": as_datetimes(index.seconds(index.delivery_engaged[engaged])),
        "clicked_at": as_datetimes(index.seconds(index.delivery_clicked[engaged])),  # never: blank
    })


__all__ = ["CountingStore", "counted_deliveries"]
