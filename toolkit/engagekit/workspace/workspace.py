"""The workspace: one SQLAlchemy database URL holding data, segments, lists and snapshots.

:class:`Workspace` ties together the pieces that each do one job: the :class:`Database` (engine,
transactions, bookkeeping), the import (:mod:`engagekit.workspace.importer`), the
:class:`ColumnarCache` beside the database, the :class:`SnapshotStore`, the :class:`MeasureStore`
(slip risk and sunset status for SQL segments), the :class:`VerdictStore` (the machine
classifier's verdicts for the levels job in the database), the :class:`ListStore` and the saved
settings.
It holds no process-wide state: each object keeps its own last loaded dataset.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Collection
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engagekit.config import EngagementConfig, MachineRules
from engagekit.data.dataset import Dataset
from engagekit.engagement.levels import LevelResult
from engagekit.engagement.tiers import Thresholds
from engagekit.timeutil import as_timestamp
from engagekit.workspace import importer
from engagekit.workspace.columnar import ColumnarCache
from engagekit.workspace.countings import CountingStore
from engagekit.workspace.database import Database, default_url, make_engine, set_meta
from engagekit.workspace.importer import ImportResult
from engagekit.workspace.levels_sql import DatabaseRunner
from engagekit.workspace.lists import ListStore
from engagekit.workspace.measures import MeasureStore
from engagekit.workspace.plans import PlanStore
from engagekit.workspace.snapshots import SnapshotStore
from engagekit.workspace.tables import WorkspaceTables, build_tables
from engagekit.workspace.verdicts import VerdictStore, verdicts_file, write_verdicts_file


class Workspace:
    """A workspace database, its columnar copy, snapshots, lists and saved settings.

    Examples
    --------
    >>> import tempfile
    >>> from engagekit.data.sample import generate_sample
    >>> ws = Workspace.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> ws.import_dataset(generate_sample(100, seed=1)).counts["contacts"]
    100
    >>> ws.load().n_contacts
    100
    """

    def __init__(self, database: Database, cache: ColumnarCache):
        self.database = database
        self.cache = cache
        self.verdicts = VerdictStore(database, self.load)
        self.snapshots = SnapshotStore(database, self.load, verdicts=self.verdicts.ensure)
        self.countings = CountingStore(database, self.load)
        self.measures = MeasureStore(database)
        self.lists = ListStore(database)
        self.plans = PlanStore(database)
        self._lock = threading.Lock()
        self._loaded: tuple[str, Dataset] | None = None

    @classmethod
    def open(cls, url: str | None = None, *, cache_dir: str | None = None) -> Workspace:
        """Open (creating if needed) the workspace at ``url`` (default: :func:`default_url`)."""
        url = url or default_url()
        database = Database(url, make_engine(url))
        cache = ColumnarCache(cache_dir) if cache_dir else ColumnarCache.beside(database.engine)
        return cls(database, cache)

    # -- the database ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.database.url

    @property
    def engine(self) -> sa.Engine:
        return self.database.engine

    @property
    def is_sqlite(self) -> bool:
        return self.database.dialect == "sqlite"

    @property
    def tables(self) -> WorkspaceTables:
        """The workspace tables, ``contacts`` with this workspace's custom field columns."""
        return self.database.data_tables()

    def transaction(self):
        """A write transaction (see :meth:`Database.transaction`)."""
        return self.database.transaction()

    def custom_fields(self, conn: Connection | None = None) -> dict[str, str]:
        return self.database.custom_fields(conn)

    def data_version(self, conn: Connection | None = None) -> int:
        return self.database.data_version(conn)

    def last_sent_at(self) -> pd.Timestamp | None:
        """When the workspace's last campaign was sent (``None`` without campaigns)."""
        campaigns = build_tables().campaigns
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(sa.func.max(campaigns.c.sent_at))).scalar()
        return None if value is None else pd.Timestamp(value)

    # -- settings ----------------------------------------------------------------------------
    def load_settings(self) -> tuple[EngagementConfig, pd.Timestamp | None]:
        """The engagement settings saved in this workspace (defaults if none) and the saved
        as-of time, if one was pinned (``None``: use the data's natural reference time)."""
        config_json, as_of = self.database.meta("config"), self.database.meta("as_of")
        config = EngagementConfig.from_json(config_json) if config_json else EngagementConfig()
        return config, (as_timestamp(as_of) if as_of else None)

    def save_settings(self, config: EngagementConfig, *, as_of: pd.Timestamp | None = None) -> None:
        """Keep ``config`` (and a pinned as-of time, or none) as this workspace's settings."""

        def work(conn: Connection) -> None:
            set_meta(conn, "config", config.to_json())
            set_meta(conn, "as_of", as_timestamp(as_of).isoformat() if as_of is not None else "")

        self.database.run(work, lock=build_tables().meta)

    # -- import and load ---------------------------------------------------------------------
    def import_dataset(
        self, dataset: Dataset, *, mode: str = "merge", allow_empty: bool = False,
        keep_free_ids: bool = False, workspace_lists: Collection[str] = (),
    ) -> ImportResult:
        """Store ``dataset`` as the workspace data, in one transaction.

        ``mode="merge"`` (the default) merges it into the current data by email identity;
        ``mode="replace"`` makes it the whole data (workspace lists are kept), and refuses a
        dataset without contacts unless ``allow_empty``. With ``keep_free_ids``, a contact or list
        the workspace does not hold keeps its own id when no other one has it (for putting back
        data this workspace held before), and the lists named in ``workspace_lists`` stay lists
        made in the workspace.
        """
        # The columnar copy and the activity index come from this same pass, written while the
        # database stores the rows: the first load after an import reads nothing back. Copies
        # of other data are removed only once this data is committed.
        result = importer.import_dataset(
            self.database, dataset, mode=mode, allow_empty=allow_empty, current=self._current_in,
            keep_free_ids=keep_free_ids, workspace_lists=workspace_lists,
            verdict_rules=(MachineRules(), self.load_settings()[0].machine_rules),
            meanwhile=lambda stored, token: self.cache.write(stored, token, prune=False),
        )
        self.cache.prune(keep=result.data_token)
        with self._lock:
            self._loaded = (result.data_token, result.stored)
        return result

    def read_database(self) -> Dataset:
        """The workspace data read from the database itself, never from the columnar copy."""
        with self.database.snapshot() as conn:
            return importer.read_tables(conn, self.database.custom_fields(conn))

    def _current_in(self, conn: Connection, token: str) -> Dataset:
        """The data as it is inside ``conn``'s transaction, whose data token is ``token`` (the
        columnar copy written for it when there is one)."""
        with self._lock:
            if token and self._loaded is not None and self._loaded[0] == token:
                return self._loaded[1]
        cached = self.cache.read(token) if token else None
        return cached if cached is not None else importer.read_tables(conn, self.database.custom_fields(conn))

    def load(self) -> Dataset:
        """The workspace data: from the columnar copy written for exactly this data, else read
        from the database (and the copy written for next time)."""
        with self.database.snapshot() as conn:
            token, version = self.database.data_token(conn), self.database.data_version(conn)
            if version and not token:  # a workspace written before data tokens: give it one
                token = self._adopt_token()
            with self._lock:
                if self._loaded is not None and self._loaded[0] == token:
                    return self._loaded[1]
            dataset = self.cache.read(token) if token else None
            if dataset is None:
                dataset = importer.read_tables(conn, self.database.custom_fields(conn))
                if token:
                    self.cache.write(dataset, token)
        with self._lock:
            self._loaded = (token, dataset)
        return dataset

    def parquet_folder(self, rules: MachineRules | None = None) -> Path:
        """The folder of the columnar copy of the current data, one ``<table>.parquet`` per table
        and the machine verdicts of ``rules`` (default rules by default), written first when
        missing: what Spark reads a workspace from."""
        data = self.load()
        with self.engine.connect() as conn:
            token = self.database.data_token(conn)
        folder = self.cache.folder_for(token) if token else None
        if folder is None:  # an empty workspace has no token: write a copy under a fixed one
            self.cache.write(data, "empty")
            folder = self.cache.folder_for("empty")
        if not verdicts_file(folder, rules or MachineRules()).exists():
            write_verdicts_file(folder, data, rules or MachineRules())
        return folder

    def runner(self) -> DatabaseRunner:
        """A runner of the levels job inside this database, with the machine verdicts it needs
        (stored first when missing: :meth:`ensure_verdicts`)."""
        return DatabaseRunner(self.engine, verdicts=self.ensure_verdicts)

    def ensure_verdicts(self, rules: MachineRules) -> int:
        """The id of the stored machine verdicts of ``rules`` on the current data (see
        :class:`VerdictStore`)."""
        return self.verdicts.ensure(rules)

    def _adopt_token(self) -> str:
        def work(conn: Connection) -> str:
            token = self.database.data_token(conn)
            if not token:
                token = uuid.uuid4().hex
                set_meta(conn, "data_token", token)
            return token

        return self.database.run(work, lock=build_tables().meta)

    # -- level snapshots (see SnapshotStore) -------------------------------------------------
    def store_snapshot(self, levels: LevelResult, *, learned: bool = True) -> int:
        return self.snapshots.store(levels, learned=learned)

    def ensure_snapshot(
        self, *, as_of, config: EngagementConfig | None = None, thresholds: Thresholds | None = None,
        levels: LevelResult | None = None,
    ) -> int:
        return self.snapshots.ensure(as_of=as_timestamp(as_of), config=config or EngagementConfig(),
                                     thresholds=thresholds, levels=levels)

    def load_snapshot(self, snapshot_id: int) -> LevelResult:
        return self.snapshots.load(snapshot_id)

    def ensure_counting(self, config: EngagementConfig) -> int:
        """The id of the stored counted deliveries for ``config``'s engagement rule (see
        :class:`CountingStore`)."""
        return self.countings.ensure(config)


__all__ = ["ImportResult", "Workspace"]
