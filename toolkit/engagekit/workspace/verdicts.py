"""The machine classifier's verdicts stored beside the events, for the levels job where the data lives.

The classifier (:mod:`engagekit.data.machine`) runs in the library; the levels job in a database or
on Spark (:mod:`engagekit.workspace.levels_sql`) reads its verdicts from a table of the *flagged*
email events (machine opens, scanner clicks: a small share of all events), one set per machine
rules and data version:

=====================  ============================================================================
where                  what holds the verdicts
=====================  ============================================================================
workspace database     ``machine_rule_sets`` (rules as JSON, data version) and ``machine_verdicts``
                       (``rules_id``, the event's key, the reason code), written with every
                       import in its transaction, for the default rules and the saved ones
Parquet (Spark)        ``machine_verdicts/<fingerprint>.parquet`` in the columnar copy of the data
                       (:meth:`~engagekit.workspace.workspace.Workspace.parquet_folder`)
=====================  ============================================================================

Rules not stored yet are classified on first use and stored then.

**The key.** ``email_events`` rows have no id: an event is its contact, campaign, type and time
(:data:`VERDICT_KEY`; rows repeating every column are dropped on import). Two events may still
share those four columns and differ in user agent or link, and so in verdict. The levels job reads
events only through those four columns, so such events stand for one another: a key is stored as
flagged only when *every* event under it is, and the job leaves out an event exactly when its key
is stored, which counts the same opens and clicks as the memory engine, contact by contact.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engagekit.config import MachineRules
from engagekit.data.activity import EventTables, machine_reasons
from engagekit.errors import ConfigError
from engagekit.workspace.bulk import StagedRows
from engagekit.workspace.database import (
    Database,
    delete_matching,
    find_or_store,
    insert_frame,
    stage_frame,
    utc_now,
)
from engagekit.workspace.tables import build_tables

VERDICT_KEY: tuple[str, ...] = ("contact_id", "campaign_id", "event_type", "occurred_at")
"""The columns of ``email_events`` the stored verdicts are joined on."""

VERDICT_FOLDER = "machine_verdicts"
"""The folder of verdict files beside the Parquet tables."""


def rules_key(rules: MachineRules) -> str:
    """The machine rules as the text verdicts are stored under (their JSON)."""
    return rules.model_dump_json()


def flagged_events(dataset: EventTables, rules: MachineRules) -> pd.DataFrame:
    """``contact_id, campaign_id, event_type, occurred_at, reason`` of each flagged key of the
    email events under ``rules``: a key is flagged when every event under it is (module notes).

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> data = generate_sample(200, seed=1)
    >>> flagged = flagged_events(data, MachineRules())
    >>> set(flagged["event_type"]) <= {"open", "click"}, bool((flagged["reason"] > 0).all())
    (True, True)
    """
    keep = getattr(dataset, "derived", None)  # a Dataset keeps them: the database and Parquet
    if keep is not None:
        return keep(f"flagged_events {rules_key(rules)}", lambda: _flagged(dataset, rules))
    return _flagged(dataset, rules)


def _flagged(dataset: EventTables, rules: MachineRules) -> pd.DataFrame:
    return _flagged_among(dataset.email_events, np.asarray(machine_reasons(dataset, rules)))


def _flagged_among(events: pd.DataFrame, codes: np.ndarray) -> pd.DataFrame:
    """The flagged keys of ``events`` (with their reason ``codes``): every event of a key must
    be among them."""
    events = events[list(VERDICT_KEY)]
    flagged = codes != 0
    # Only an unflagged open or click of a flagged contact can share a flagged event's key:
    # compare those rows alone, not the millions of sends.
    flagged_contacts = np.unique(events["contact_id"].to_numpy()[flagged])
    near = np.flatnonzero(events["event_type"].isin(["open", "click"]).to_numpy()
                          & np.isin(events["contact_id"].to_numpy(), flagged_contacts))
    shared = near[events.iloc[near].duplicated(keep=False).to_numpy()]
    if flagged[shared].any():
        # keys of several events: flagged only when none of them counts as a person's
        person = events.iloc[shared[~flagged[shared]]].drop_duplicates()
        chosen = shared[flagged[shared]]
        clash = events.iloc[chosen].merge(person, how="left", indicator=True)["_merge"]
        flagged[chosen[(clash == "both").to_numpy()]] = False
    rows = events[flagged].assign(reason=codes[flagged].astype(np.int16))
    return rows.drop_duplicates(list(VERDICT_KEY)).reset_index(drop=True)


def stage_verdicts(conn: Connection, dataset: EventTables,
                   rules: Iterable[MachineRules]) -> dict[tuple[str, int], StagedRows]:
    """Classify the events under each of ``rules`` and write the rows :func:`write_verdicts` will
    insert when it writes every verdict anew (none grown from the earlier data's) to staging files
    now (:func:`~engagekit.workspace.database.stage_frame`), by rules and the id they will be
    stored under; empty where the database does not stage.

    An import runs this in its second thread while its first writes the events, so that the
    transaction only copies the verdicts in. What is staged is only used when it is what
    :func:`write_verdicts` would insert: the same rules, under the same id.
    """
    wanted = _unique(rules)
    flagged = {key: flagged_events(dataset, each) for key, each in wanted.items()}
    if any(_grown(dataset, each) is not None for each in wanted.values()):
        return {}  # the earlier verdicts may be updated in place instead: few rows
    rows = build_tables().machine_verdicts
    staged = {}
    for rules_id, key in enumerate(wanted, start=1):
        made = stage_frame(conn, rows, flagged[key].assign(rules_id=rules_id))
        if made is not None:
            staged[key, rules_id] = made
    return staged


def write_verdicts(conn: Connection, dataset: EventTables, rules: Iterable[MachineRules],
                   data_version: int, *, staged: dict[tuple[str, int], StagedRows] | None = None) -> None:
    """Replace every stored verdict by those of ``rules`` on ``dataset``, inside ``conn``'s
    transaction (an import's: the verdicts come and go with the data).

    Verdicts that grew from the earlier data's (a merge of new campaigns, see
    :mod:`engagekit.data.growth`) are updated where they changed, when the earlier data's are
    stored (``data_version - 1``, the version the import raised): the new events' are added, and
    those of the contacts classified again replaced, instead of millions written again.
    ``staged``: rows made ready by :func:`stage_verdicts`.
    """
    tables = build_tables()
    heads, rows = tables.machine_rule_sets, tables.machine_verdicts
    wanted = _unique(rules)
    earlier = dict(conn.execute(sa.select(heads.c.rules, heads.c.rules_id)
                                .where(heads.c.data_version == data_version - 1)).all())
    updated = {}
    for key, each in wanted.items():
        machine_reasons(dataset, each)
        grown = _grown(dataset, each)
        if key in earlier and grown is not None:
            updated[key] = grown
    kept_ids = [int(earlier[key]) for key in updated]
    conn.execute(sa.delete(rows).where(rows.c.rules_id.not_in(kept_ids)))
    conn.execute(sa.delete(heads).where(heads.c.rules_id.not_in(kept_ids)))
    # ids given, not generated: DuckDB has no autoincrement
    next_id = max(kept_ids, default=0) + 1
    for key, each in wanted.items():
        if key in updated:
            rules_id = int(earlier[key])
            conn.execute(sa.update(heads).where(heads.c.rules_id == rules_id)
                         .values(data_version=data_version))
            _replace_changed(conn, rows, rules_id, dataset, updated[key])
            continue
        conn.execute(sa.insert(heads).values(
            rules_id=next_id, rules=key, data_version=data_version, created_at=utc_now()))
        insert_frame(conn, rows, flagged_events(dataset, each).assign(rules_id=next_id),
                     staged=(staged or {}).get((key, next_id)))
        next_id += 1


def _unique(rules: Iterable[MachineRules]) -> dict[str, MachineRules]:
    """The rules by their key, each once, in the order given."""
    return {rules_key(each): each for each in rules}


def _grown(dataset: EventTables, rules: MachineRules):
    """What grew from the earlier data's verdicts under ``rules`` (a
    :class:`~engagekit.data.growth.GrownReasons`), for a dataset that keeps it; else ``None``."""
    return dataset.grown_reasons(rules) if hasattr(dataset, "grown_reasons") else None


def _replace_changed(conn: Connection, rows: sa.Table, rules_id: int, dataset: EventTables,
                     grown) -> None:
    """Replace the stored verdicts that ``grown`` (:class:`~engagekit.data.growth.GrownReasons`)
    made again: those of the contacts classified again, and add the new events'. A key is
    one contact's in one campaign, so the rows made again hold every event of their keys."""
    delete_matching(conn, rows, "contact_id", grown.reclassified, rows.c.rules_id == rules_id)
    remade = grown.remade
    flagged = _flagged_among(dataset.email_events.iloc[remade], np.asarray(grown.codes)[remade])
    insert_frame(conn, rows, flagged.assign(rules_id=rules_id))


class VerdictStore:
    """The verdicts stored in one workspace database; ``load_data`` gives the data when rules
    are new."""

    def __init__(self, database: Database, load_data: Callable[[], EventTables]):
        self.database = database
        self._load_data = load_data

    def ensure(self, rules: MachineRules) -> int:
        """The ``rules_id`` of the verdicts of ``rules`` on the current data (classified and
        stored first when missing)."""
        tables = build_tables()
        key = {"rules": rules_key(rules), "data_version": self.database.data_version()}
        return find_or_store(self.database, tables.machine_rule_sets, key, tables.machine_verdicts,
                             lambda: flagged_events(self._load_data(), rules))


def stored_rules_id(engine: sa.Engine, rules: MachineRules) -> int:
    """The ``rules_id`` of the latest verdicts stored for ``rules`` in a database that is not a
    workspace (one :func:`~engagekit.workspace.levels_sql.copy_job_tables` filled)."""
    heads = build_tables().machine_rule_sets
    with engine.connect() as conn:
        found = conn.execute(sa.select(sa.func.max(heads.c.rules_id))
                             .where(heads.c.rules == rules_key(rules))).scalar()
    if found is None:
        raise ConfigError(
            "This database holds no machine verdicts for the machine rules in force, which the "
            "engagement settings need to leave machine opens or scanner clicks out. Store them "
            "with the data (copy_job_tables, or an import into a workspace), or count every open "
            "and click.")
    return int(found)


def store_verdicts(engine: sa.Engine, dataset: EventTables, rules: Iterable[MachineRules]) -> None:
    """Store the verdicts of ``rules`` on ``dataset`` in a scratch database (replacing any)."""
    scratch = sa.MetaData()
    with engine.begin() as conn:
        for table in (build_tables().machine_rule_sets, build_tables().machine_verdicts):
            # the columns alone: DuckDB has no SERIAL and no ON DELETE CASCADE
            sa.Table(table.name, scratch, *[
                sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable,
                          autoincrement=False) for c in table.columns
            ]).create(conn, checkfirst=True)
        write_verdicts(conn, dataset, rules, data_version=0)


# -- Parquet, for Spark ------------------------------------------------------------------------
def verdicts_file(folder: str | Path, rules: MachineRules) -> Path:
    """Where the verdicts of ``rules`` are beside the Parquet tables in ``folder``."""
    fingerprint = hashlib.sha256(rules_key(rules).encode()).hexdigest()[:24]
    return Path(folder) / VERDICT_FOLDER / f"{fingerprint}.parquet"


def write_verdicts_file(folder: str | Path, dataset: EventTables, rules: MachineRules) -> Path:
    """Write the verdicts of ``rules`` on ``dataset`` beside the Parquet tables in ``folder``
    (atomically: another process reading the folder sees the whole file or none)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = verdicts_file(folder, rules)
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = flagged_events(dataset, rules)
    # typed by hand: an empty text column would be Arrow's null type, which Spark cannot compare
    schema = pa.schema([("contact_id", pa.int64()), ("campaign_id", pa.int64()),
                        ("event_type", pa.string()),
                        ("occurred_at", pa.from_numpy_dtype(rows["occurred_at"].dtype)),
                        ("reason", pa.int16())])
    table = pa.Table.from_pandas(rows.astype({"event_type": str}), schema=schema,
                                 preserve_index=False)
    handle, work = tempfile.mkstemp(prefix=".writing-", suffix=".parquet", dir=target.parent)
    os.close(handle)
    try:
        pq.write_table(table, work)
        Path(work).replace(target)
    finally:
        Path(work).unlink(missing_ok=True)
    return target


__all__ = [
    "VERDICT_FOLDER", "VERDICT_KEY", "VerdictStore", "flagged_events", "rules_key",
    "stage_verdicts", "store_verdicts", "stored_rules_id", "verdicts_file", "write_verdicts",
    "write_verdicts_file",
]
