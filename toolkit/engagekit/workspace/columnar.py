"""The columnar copy beside a workspace database: Parquet files and the activity index.

Loading a large workspace from its own columnar copy takes seconds where reading the database
takes minutes. The copy is keyed by the workspace's *data token*, a random value written with every
change of the data (see :func:`engagekit.workspace.database.bump_data_version`), so a copy is only
ever served for the very data it was written from: not after an import, not for another database
that happens to share the folder, not for a restored backup or a database recreated under the same
URL.

Writers never share a temporary folder: each writes into its own and renames it into place, so
concurrent loads of one workspace cannot trip over each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.engine import Engine

from engagekit.config import MachineRules
from engagekit.data.activity import ActivityIndex
from engagekit.data.arrow import text_in_one_chunk
from engagekit.data.dataset import Dataset, ReadOnUse
from engagekit.data.machine import PrefetchCounts
from engagekit.data.schema import TABLES
from engagekit.workspace.verdicts import write_verdicts_file

_COMPLETE = "custom_fields.json"  # written last: a folder without it is incomplete
# Read on first use: the levels come from the stored activity index, so opening a workspace does
# not wait for every event (seconds at a million contacts) nor for the contacts' details; only the
# pages that list them read them.
READ_ON_USE = ("contacts", "contact_tags", "list_memberships", "email_events", "orders")
_REASONS = "machine_reasons"  # the classifier's verdicts, one file per set of machine rules
_KEPT = "kept"  # frames derived from the data (KeptFrames)
ABANDONED_AFTER_SECONDS = 3600
_READING = threading.Lock()


class ColumnarCache:
    """A folder of columnar copies, one sub-folder per data token.

    Examples
    --------
    >>> import tempfile
    >>> from engagekit.data.sample import generate_sample
    >>> cache = ColumnarCache(Path(tempfile.mkdtemp()))
    >>> cache.write(generate_sample(50, seed=1), "abc")
    >>> cache.read("abc").n_contacts, cache.read("other")
    (50, None)
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @classmethod
    def beside(cls, engine: Engine) -> ColumnarCache:
        """The default place: next to a SQLite file (``shop.db`` -> ``shop.db.columnar``), else
        a folder in the user's cache named after the database URL."""
        database = engine.url.database
        if engine.dialect.name == "sqlite" and database and database != ":memory:":
            path = Path(database).expanduser()
            return cls(path.with_name(path.name + ".columnar"))
        url = engine.url.render_as_string(hide_password=True)
        return cls(Path.home() / ".cache" / "engagekit" / hashlib.sha256(url.encode()).hexdigest()[:16])

    def _path(self, token: str) -> Path:
        # the token is ours (hex), but never let a value choose a path outside the folder
        return self.folder / hashlib.sha256(token.encode()).hexdigest()[:32]

    def folder_for(self, token: str) -> Path | None:
        """The folder of the complete copy for ``token`` (``<table>.parquet`` files), or ``None``."""
        folder = self._path(token)
        return folder if (folder / _COMPLETE).exists() else None

    def read(self, token: str) -> Dataset | None:
        """The copy written for ``token``, or ``None`` when there is none (or it is incomplete)."""
        folder = self._path(token)
        if not (folder / _COMPLETE).exists():
            return None
        # One read at a time in a process: it takes milliseconds (the large tables are read on
        # use), and four threads reading at once once raised a SystemError from inside
        # CPython 3.11's compiler ("AST constructor recursion depth mismatch").
        with _READING:
            return self._read(folder)

    def _read(self, folder: Path) -> Dataset | None:
        try:
            frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES
                      if name not in READ_ON_USE}
            frames |= {name: _read_on_use(folder / f"{name}.parquet") for name in READ_ON_USE}
            custom = json.loads((folder / _COMPLETE).read_text())
            index = ActivityIndex.load(folder / "activity")
            reasons, counts = _load_reasons(folder / _REASONS)
        except (OSError, ValueError):
            return None  # removed or replaced by another process meanwhile: read the database
        # Written by write() from a checked dataset, and Parquet keeps the dtypes.
        dataset = Dataset.trusted(**frames, custom_fields=custom, activity=index,
                                  machine_reasons=reasons, prefetch_counts=counts,
                                  kept_by=KeptFrames(folder / _KEPT))
        if index is None:  # written by an older version: index again, once
            self._save_index(dataset, folder)
        return dataset

    def write(self, dataset: Dataset, token: str, *, prune: bool = True) -> None:
        """Write the copy for ``token`` (atomically) and, with ``prune``, remove copies of other
        tokens (see :meth:`prune`)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._path(token)
        work = Path(tempfile.mkdtemp(prefix=".writing-", dir=self.folder))
        try:
            for name in TABLES:
                getattr(dataset, name).to_parquet(work / f"{name}.parquet", index=False)
            dataset.activity.save(work / "activity")  # classifies the events, once
            _save_reasons(dataset.given_reasons, dataset.given_counts, work / _REASONS)
            for rules in list(dataset.given_reasons):  # flagged events for Spark, per rules
                write_verdicts_file(work, dataset, MachineRules.model_validate_json(rules))
            (work / _COMPLETE).write_text(json.dumps(dataset.custom_fields))
            with contextlib.suppress(OSError):  # another process wrote the same copy first: keep theirs
                work.rename(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if prune:
            self.prune(keep=token)

    def prune(self, *, keep: str) -> None:
        """Remove the copies of every token but ``keep``."""
        target = self._path(keep)
        for stale in self.folder.iterdir():
            # another writer's folder in progress is left alone, unless abandoned (a killed process)
            try:
                in_progress = stale.name.startswith(".writing-") and (
                    time.time() - stale.stat().st_mtime < ABANDONED_AFTER_SECONDS)
            except OSError:  # removed by another process meanwhile
                continue
            if stale != target and not in_progress:
                shutil.rmtree(stale, ignore_errors=True)

    @staticmethod
    def _save_index(dataset: Dataset, folder: Path) -> None:
        work = Path(tempfile.mkdtemp(prefix=".index-", dir=folder))
        try:
            dataset.activity.save(work)
            shutil.rmtree(folder / "activity", ignore_errors=True)
            with contextlib.suppress(OSError):
                work.rename(folder / "activity")
        finally:
            shutil.rmtree(work, ignore_errors=True)


class KeptFrames:
    """Small frames derived from one copy's data (the level history), kept in its folder.

    Examples
    --------
    >>> kept = KeptFrames(Path(tempfile.mkdtemp()) / "kept")
    >>> kept.read("history"), kept.write("history", pd.DataFrame({"n": [3]}))
    (None, None)
    >>> kept.read("history")["n"].tolist()
    [3]
    """

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.parquet"

    def read(self, key: str) -> pd.DataFrame | None:
        try:
            return pd.read_parquet(self._path(key))
        except (OSError, ValueError):  # not kept yet, or the copy was replaced meanwhile
            return None

    def write(self, key: str, frame: pd.DataFrame) -> None:
        # Best effort and atomic: a reader sees a whole file or none; a copy removed meanwhile
        # (the data changed) simply keeps nothing.
        with contextlib.suppress(OSError):
            self.folder.mkdir(exist_ok=True)
            handle, name = tempfile.mkstemp(dir=self.folder, suffix=".writing")
            os.close(handle)
            work = Path(name)
            try:
                frame.to_parquet(work, index=False)
                work.replace(self._path(key))
            finally:
                work.unlink(missing_ok=True)


def _read_on_use(path: Path) -> ReadOnUse:
    # Opened now: a reader that comes later still reads this copy, even once it has been replaced.
    source = pa.memory_map(str(path))
    rows = pq.ParquetFile(source).metadata.num_rows
    return ReadOnUse(lambda: text_in_one_chunk(pd.read_parquet(source)), rows=rows)


def _save_reasons(reasons: dict[str, np.ndarray], counts: dict[str, PrefetchCounts],
                  folder: Path) -> None:
    folder.mkdir()
    for number, (rules, codes) in enumerate(reasons.items()):
        np.save(folder / f"{number}.npy", codes)
        if rules in counts:  # what verdicts on new campaigns are added to (data.growth)
            each = counts[rules]
            np.save(folder / f"{number}.counts.npy", np.stack([each.kept, each.slow, each.clicked]))
    (folder / "rules.json").write_text(json.dumps(list(reasons)))


def _load_reasons(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, PrefetchCounts]]:
    if not (folder / "rules.json").exists():  # written by an older version: classified on use
        return {}, {}
    rules = json.loads((folder / "rules.json").read_text())
    reasons = {key: np.load(folder / f"{number}.npy", mmap_mode="r") for number, key in enumerate(rules)}
    counts = {key: PrefetchCounts(*np.load(path)) for number, key in enumerate(rules)
              if (path := folder / f"{number}.counts.npy").exists()}
    return reasons, counts


__all__ = ["ColumnarCache"]
