"""Campaign plans kept in the workspace: the plan, its frozen audience and holdout, its result.

A plan is written once with the members it was drawn from (each marked treatment or holdout), so
the groups a measurement compares are exactly the groups that were planned, whatever the segment
matches later. Names are unique ignoring case (:func:`engagekit.names.name_key`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engagekit.errors import DuplicateNameError, NotFoundError
from engagekit.names import clean_name, name_key
from engagekit.workspace.database import Database, insert_frame, utc_now
from engagekit.workspace.tables import build_tables


@dataclass(frozen=True)
class PlanRecord:
    """One stored plan (see :class:`engagekit.campaigns.planning.CampaignPlan` for its meaning)."""

    name: str
    segment_name: str
    definition: str
    offer: str
    send_date: pd.Timestamp
    success_event: str
    success_days: int
    holdout_share: float
    seed: int
    as_of: pd.Timestamp
    id: int | None = None
    campaign_id: int | None = None
    created_at: pd.Timestamp | None = None
    measured_at: pd.Timestamp | None = None
    result: str | None = None


class PlanStore:
    """The campaign plans of one workspace.

    Examples
    --------
    >>> import tempfile
    >>> store = PlanStore(Database.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db"))
    >>> record = PlanRecord("Win-back", "Least engaged", "{}", "10% off", pd.Timestamp("2026-12-03"),
    ...                     "click", 14, 0.2, 7, pd.Timestamp("2026-12-01"))
    >>> saved = store.create(record, np.array([1, 2, 3]), np.array([False, True, False]))
    >>> store.get("win-back").id == saved.id, store.members(saved.id)["holdout"].tolist()
    (True, [False, True, False])
    """

    def __init__(self, database: Database):
        self.database = database
        self._plans = build_tables().campaign_plans
        self._members = build_tables().plan_members

    def list(self) -> list[PlanRecord]:
        """Every plan, newest first."""
        with self.database.engine.connect() as conn:
            rows = conn.execute(sa.select(self._plans).order_by(self._plans.c.plan_id.desc())).mappings()
            return [_record(row) for row in rows]

    def get(self, name_or_id: str | int) -> PlanRecord:
        with self.database.engine.connect() as conn:
            row = self._find(conn, name_or_id)
        if row is None:
            raise NotFoundError(f"There is no campaign plan called '{name_or_id}'.")
        return _record(row)

    def members(self, plan_id: int) -> pd.DataFrame:
        """``contact_id`` and ``holdout`` (bool) of every contact the plan was drawn from."""
        query = (sa.select(self._members.c.contact_id, self._members.c.holdout)
                 .where(self._members.c.plan_id == plan_id).order_by(self._members.c.contact_id))
        with self.database.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        return frame.astype({"contact_id": "int64", "holdout": bool})

    def create(self, record: PlanRecord, contact_ids: np.ndarray, holdout: np.ndarray) -> PlanRecord:
        """Store a new plan with its members; a name already taken (any case) is refused."""
        name = clean_name(record.name, what="campaign plan")

        def work(conn: Connection) -> PlanRecord:
            if self._find(conn, name) is not None:
                raise DuplicateNameError(f"A campaign plan called '{name}' already exists; choose another name.")
            values = {**_values(record), "name": name, "name_key": name_key(name), "created_at": utc_now()}
            plan_id = conn.execute(
                sa.insert(self._plans).values(**values).returning(self._plans.c.plan_id)
            ).scalar_one()
            insert_frame(conn, self._members, pd.DataFrame({
                "plan_id": plan_id, "contact_id": np.asarray(contact_ids, dtype=np.int64),
                "holdout": np.asarray(holdout, dtype=bool),
            }))
            return replace(record, name=name, id=int(plan_id), created_at=pd.Timestamp(values["created_at"]))

        return self.database.run(work, lock=self._plans)

    def update(self, plan_id: int, **changes: object) -> None:
        """Record a linked campaign (``campaign_id``) or a measurement (``measured_at``, ``result``)."""
        allowed = {"campaign_id", "measured_at", "result"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))} of a plan")
        values = {key: (value.to_pydatetime() if isinstance(value, pd.Timestamp) else value)
                  for key, value in changes.items()}
        self.database.run(lambda conn: conn.execute(
            sa.update(self._plans).where(self._plans.c.plan_id == plan_id).values(**values)))

    def delete(self, name_or_id: str | int) -> str:
        """Delete a plan and its members; returns its name."""

        def work(conn: Connection) -> str:
            row = self._find(conn, name_or_id)
            if row is None:
                raise NotFoundError(f"There is no campaign plan called '{name_or_id}'.")
            conn.execute(sa.delete(self._members).where(self._members.c.plan_id == row["plan_id"]))
            conn.execute(sa.delete(self._plans).where(self._plans.c.plan_id == row["plan_id"]))
            return row["name"]

        return self.database.run(work, lock=self._plans)

    def _find(self, conn: Connection, name_or_id: str | int):
        plans = self._plans
        if isinstance(name_or_id, int) or (isinstance(name_or_id, str) and name_or_id.isdecimal()):
            row = conn.execute(sa.select(plans).where(plans.c.plan_id == int(name_or_id))).mappings().first()
            if row is not None:
                return row
        return conn.execute(
            sa.select(plans).where(plans.c.name_key == name_key(str(name_or_id)))
        ).mappings().first()


def _values(record: PlanRecord) -> dict:
    return {
        "segment_name": record.segment_name, "definition": record.definition, "offer": record.offer,
        "send_date": record.send_date.to_pydatetime(), "success_event": record.success_event,
        "success_days": int(record.success_days), "holdout_share": float(record.holdout_share),
        "seed": int(record.seed), "as_of": record.as_of.to_pydatetime(),
        "campaign_id": record.campaign_id,
    }


def _stamp(value) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value)


def _record(row) -> PlanRecord:
    return PlanRecord(
        name=row["name"], segment_name=row["segment_name"], definition=row["definition"],
        offer=row["offer"], send_date=pd.Timestamp(row["send_date"]), success_event=row["success_event"],
        success_days=int(row["success_days"]), holdout_share=float(row["holdout_share"]),
        seed=int(row["seed"]), as_of=pd.Timestamp(row["as_of"]), id=int(row["plan_id"]),
        campaign_id=None if row["campaign_id"] is None else int(row["campaign_id"]),
        created_at=_stamp(row["created_at"]), measured_at=_stamp(row["measured_at"]), result=row["result"],
    )


__all__ = ["PlanRecord", "PlanStore"]
