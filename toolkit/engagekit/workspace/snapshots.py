"""Stored level snapshots: a level result saved in the workspace, for SQL segments and history.

A snapshot is keyed by its as-of time, settings, thresholds and the data version it was computed
from; storing the same one twice returns the first (also when two processes race to store it).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engagekit.config import EngagementConfig, MachineRules
from engagekit.engagement.levels import LevelResult, compute_levels, thresholds_json
from engagekit.engagement.tiers import Thresholds
from engagekit.errors import NotFoundError
from engagekit.workspace import levels_sql
from engagekit.workspace.database import (
    Database,
    insert_frame,
    mark_visible,
    refresh_statistics,
    utc_now,
)
from engagekit.workspace.levels_sql import DatabaseRunner
from engagekit.workspace.tables import SNAPSHOT_COLUMNS, build_tables


class SnapshotStore:
    """Level snapshots of one workspace.

    ``load_data`` gives the workspace data when a snapshot has to be computed; ``verdicts`` the
    id of the stored machine verdicts of some rules, for levels computed in the database (see
    :class:`~engagekit.workspace.levels_sql.DatabaseRunner`).
    """

    def __init__(self, database: Database, load_data: Callable[[], object],
                 verdicts: Callable[[MachineRules], int] | None = None):
        self.database = database
        self._load_data = load_data
        self._verdicts = verdicts
        self._snapshots = build_tables().level_snapshots
        self._rows = build_tables().snapshot_levels

    def store(self, levels: LevelResult, *, learned: bool = True,
              data_version: int | None = None) -> int:
        """Store a level result and return its snapshot id (an identical one is reused).

        ``data_version`` is the version of the data the levels come from (by default the current
        one). ``learned`` says whether its thresholds were learned at its as-of time (the default) or
        given (for instance the current thresholds applied to an earlier time).
        """
        def write_rows(conn: Connection, snapshot_id: int) -> None:
            frame = levels.table[["contact_id", *SNAPSHOT_COLUMNS]].assign(snapshot_id=snapshot_id)
            frame["level"] = frame["level"].astype(str)
            insert_frame(conn, self._rows, frame)

        return self._store(levels.as_of, levels.config, levels.thresholds, learned, write_rows,
                           data_version=data_version)

    def _store(self, as_of: pd.Timestamp, config: EngagementConfig, thresholds: Thresholds,
               learned: bool, write_rows: Callable[[Connection, int], None], *,
               data_version: int | None = None) -> int:
        key = self._key(as_of, config, thresholds, data_version)
        return self._run_storing(lambda conn: self._find_or_insert(conn, key, learned, write_rows))

    def _run_storing(self, work: Callable[[Connection], int]) -> int:
        """``work`` (which finds or stores a snapshot) in one write transaction, the snapshot
        table locked for the check-then-insert, so a racing writer waits and then finds this
        snapshot instead of clashing with it on the unique key; its rows then made visible to
        index-only scans (:func:`~engagekit.workspace.database.mark_visible`)."""
        snapshot_id = self.database.run(work, lock=self._snapshots)
        mark_visible(self.database, self._rows)
        return snapshot_id

    def _key(self, as_of: pd.Timestamp, config: EngagementConfig, thresholds: Thresholds,
             data_version: int | None) -> dict:
        return {
            "as_of": as_of.to_pydatetime(),
            "config": config.to_json(),
            "thresholds": thresholds_json(thresholds),
            # the version of the data the levels were computed from, when the caller knows it
            "data_version": self.database.data_version() if data_version is None else data_version,
        }

    def _find_or_insert(self, conn: Connection, key: dict, learned: bool,
                        write_rows: Callable[[Connection, int], None]) -> int:
        found = self._find(conn, key)
        if found is not None:
            return found
        snapshot_id = conn.execute(
            sa.insert(self._snapshots).values(**key, learned=learned, created_at=utc_now())
            .returning(self._snapshots.c.snapshot_id)
        ).scalar_one()
        write_rows(conn, int(snapshot_id))
        refresh_statistics(conn, self._rows)
        return int(snapshot_id)

    def store_in_database(self, *, as_of: pd.Timestamp, config: EngagementConfig,
                          thresholds: Thresholds | None = None) -> int:
        """Compute the levels as of ``as_of`` inside the database and store them as a snapshot.

        The levels job (:mod:`engagekit.workspace.levels_sql`) runs as ``INSERT ... SELECT``: no
        event and no contact row passes through Python. The features are computed once, into a
        temporary table of the storing transaction; the cuts are found from it (one row back) and
        bound into the insert, so the snapshot's key holds them as the memory engine's does.
        """
        runner = DatabaseRunner(self.database.engine, verdicts=self._verdicts)
        flagged = levels_sql.flagged_for(runner, config)
        columns = ["contact_id", *SNAPSHOT_COLUMNS]
        version = self.database.data_version()  # read before the data, as ensure() does

        def work(conn: Connection) -> int:
            features = levels_sql.store_features(conn, build_tables(), as_of, config, flagged)
            cuts = thresholds
            if cuts is None:
                learned = conn.execute(levels_sql.cuts_query(features, config))
                cuts = levels_sql.thresholds_of(pd.DataFrame(learned.all(), columns=list(learned.keys())))

            def write_rows(conn: Connection, snapshot_id: int) -> None:
                query = levels_sql.levels_of(features, config, cuts).subquery("levels")
                rows = sa.select(sa.literal(snapshot_id, sa.Integer()).label("snapshot_id"),
                                 *[query.c[column] for column in columns])
                conn.execute(sa.insert(self._rows).from_select(["snapshot_id", *columns], rows))

            key = self._key(as_of, config, cuts, version)
            snapshot_id = self._find_or_insert(conn, key, thresholds is None, write_rows)
            features.drop(conn)
            return snapshot_id

        return self._run_storing(work)

    def _find(self, conn: Connection, key: dict) -> int | None:
        found = conn.execute(
            sa.select(self._snapshots.c.snapshot_id).where(
                *[self._snapshots.c[k] == v for k, v in key.items()])
        ).scalar()
        return None if found is None else int(found)

    def ensure(
        self, *, as_of: pd.Timestamp, config: EngagementConfig,
        thresholds: Thresholds | None = None, levels: LevelResult | None = None,
    ) -> int:
        """The id of a stored snapshot of the levels as of ``as_of``, computing it if needed.

        With learned thresholds (``thresholds=None``) a snapshot already stored for the same time,
        settings and data is found without computing anything; ``levels``, when given, are the
        levels already computed for exactly these settings.
        """
        if thresholds is None:
            found = self._find_learned(as_of, config)
            if found is not None:
                return found
        # The version is read before the data: should an import land in between, the snapshot is
        # filed under the older version, which is never served again, not under the newer one.
        version = None
        if levels is None:
            version = self.database.data_version()
            levels = compute_levels(self._load_data(), as_of=as_of, config=config, thresholds=thresholds)
        return self.store(levels, learned=thresholds is None, data_version=version)

    def ensure_in_database(self, *, as_of: pd.Timestamp, config: EngagementConfig) -> int:
        """Like :meth:`ensure` with learned thresholds, computing a missing snapshot in the
        database (:meth:`store_in_database`) instead of in memory.

        An embedded SQLite workspace is the exception: its data is on this machine, where the
        memory engine has the levels in a second from the columnar copy, while SQLite's own run
        of the job takes minutes at a million contacts. Both give the same levels.
        """
        found = self._find_learned(as_of, config)
        if found is not None:
            return found
        # orders are credited to emails in the library only
        if self.database.engine.dialect.name == "sqlite" or not levels_sql.runs_in_database(config):
            return self.ensure(as_of=as_of, config=config)
        return self.store_in_database(as_of=as_of, config=config)

    def _find_learned(self, as_of: pd.Timestamp, config: EngagementConfig) -> int | None:
        """A stored snapshot with thresholds learned at ``as_of`` under ``config``, on this data."""
        snapshots = self._snapshots
        with self.database.engine.connect() as conn:
            found = conn.execute(sa.select(snapshots.c.snapshot_id).where(
                snapshots.c.as_of == as_of.to_pydatetime(),
                snapshots.c.config == config.to_json(),
                snapshots.c.data_version == self.database.data_version(conn),
                snapshots.c.learned.is_(True),
            )).scalar()
        return None if found is None else int(found)

    def list(self) -> pd.DataFrame:
        """Stored snapshots: id, as_of, config, thresholds, data_version, created_at."""
        with self.database.engine.connect() as conn:
            return pd.read_sql(sa.select(self._snapshots).order_by(self._snapshots.c.as_of), conn)

    def load(self, snapshot_id: int) -> LevelResult:
        """A stored snapshot as a :class:`LevelResult`."""
        snapshots, rows = self._snapshots, self._rows
        with self.database.engine.connect() as conn:
            head = conn.execute(
                sa.select(snapshots).where(snapshots.c.snapshot_id == snapshot_id)
            ).mappings().first()
            if head is None:
                raise NotFoundError(f"There is no stored snapshot with id {snapshot_id}.")
            table = pd.read_sql(
                sa.select(rows.c.contact_id, *[rows.c[c] for c in SNAPSHOT_COLUMNS])
                .where(rows.c.snapshot_id == snapshot_id)
                .order_by(rows.c.contact_id),
                conn,
            )
        return LevelResult(
            as_of=pd.Timestamp(head["as_of"]),
            config=EngagementConfig.from_json(head["config"]),
            thresholds=Thresholds.from_dict(json.loads(head["thresholds"])),
            table=levels_sql.level_table(table),
        )


__all__ = ["SnapshotStore"]
