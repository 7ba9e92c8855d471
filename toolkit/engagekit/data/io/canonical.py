"""Read a folder in the canonical CSV layout, as :func:`~engagekit.data.io.canonical_writer.write_canonical`
writes it (tables and columns in :mod:`engagekit.data.schema`).

Rules
-----
- Only ``contacts.csv`` is required; ``lists.csv``, ``list_memberships.csv``, ``campaigns.csv``,
  ``email_events.csv`` and ``orders.csv`` are read when present, each also as ``<name>.gz``.
- A file must have its table's required columns (``schema.REQUIRED``); the others may be missing.
  A blank or missing ``email_status`` means subscribed.
- ``contacts.csv``: ``tags`` holds ``;``-separated tags; every column that is not a contact column
  is a custom field, named as written, its type inferred (number, date or text; see
  :func:`~engagekit.data.io.reading.infer_field`).
- A row is reported and skipped when an id is not a whole number, a required value is blank or bad,
  an email is invalid, an event type is unknown, a key repeats (the first row is kept) or it refers
  to a contact, list or campaign that is not imported.
- Contacts sharing an email merge by the rules of :mod:`engagekit.data.io.merge`; rows of other tables
  that refer to a merged contact follow it.
- ``email_events.csv`` may carry the optional event columns of :mod:`engagekit.data.schema`:
  ``machine`` (``true`` / ``false`` / blank, also ``yes`` / ``no`` / ``1`` / ``0``: the source's
  own machine verdict, e.g. Klaviyo's *Apple Privacy Open*), ``user_agent``, ``ip``, ``link`` and
  ``synthesised``; a file without them has them blank.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from engagekit.data.dataset import Dataset, as_codes, concat_column, to_flag
from engagekit.data.io.merge import collapse_contacts, drop_repeated_events
from engagekit.data.io.reading import (
    NeedsTolerantReader,
    PathLike,
    SourceFile,
    each_distinct,
    infer_field,
    split_cells,
    storable_name,
)
from engagekit.data.memory import release_freed_memory
from engagekit.data.schema import (
    CODED,
    CSV_FILES,
    EMAIL_STATUSES,
    EVENT_TYPES,
    REQUIRED,
    TABLES,
    TAG_SEPARATOR,
)
from engagekit.errors import DataError, ImportReport

STATUSES = {
    **{status: status for status in EMAIL_STATUSES},
    "active": "subscribed", "unsubscribe": "unsubscribed", "cleaned": "bounced",
}
FLAGS = {"true": "true", "yes": "true", "1": "true", "false": "false", "no": "false", "0": "false"}
EVENTS = {
    **{event: event for event in EVENT_TYPES},
    "sent": "send", "opened": "open", "clicked": "click", "bounced": "bounce",
    "unsubscribed": "unsubscribe",
}
KEYS = {"contacts": "contact_id", "lists": "list_id", "campaigns": "campaign_id", "orders": "order_id"}
OWNERS = {key: table for table, key in KEYS.items()}
REFERENCES = {
    "list_memberships": ("list_id", "contact_id"),
    "email_events": ("contact_id", "campaign_id"),
    "orders": ("contact_id",),
}


def _column(source: SourceFile, column: str, kind: str, required: bool) -> pd.Series:
    if kind == "id":
        return source.ids(column, required=required)
    if kind == "time":
        return source.times(column, required=required)
    if kind == "number":
        return source.numbers(column, required=required)
    if kind == "email":
        return source.emails(column)
    if kind == "status":
        # A blank (or absent) status means subscribed, as in the email tools' own exports.
        return source.choices(column, STATUSES, what="email status", blank="subscribed")
    if kind == "event":
        return source.choices(column, EVENTS, what="event type", required=required)
    if kind == "flag":
        return source.choices(column, FLAGS, what=f"{column} flag")
    return source.required_text(column, column) if required else source.text(column)


def _skip_duplicates(source: SourceFile, frame: pd.DataFrame, key: str) -> None:
    keys = frame[key].where(source.ok)
    repeated = keys.notna() & keys.duplicated()
    source.flag(repeated, key, f"{key} repeats an earlier row; row skipped", skip=True)


def _skip_unknown(source: SourceFile, frame: pd.DataFrame, column: str, known: pd.Series) -> None:
    what = column.removesuffix("_id")
    values = frame[column]
    unknown = values.notna() & ~pd.Series(_known(values, known), index=values.index)
    source.flag(unknown, column, f"refers to a {what} that is not imported; row skipped", skip=True)


def _known(values: pd.Series, known: pd.Series) -> np.ndarray:
    """``values.isin(known)`` for ids; by a table indexed by id when the known ids span a range
    not much wider than their number (contact ids 1 to n), instead of tens of millions of
    lookups in a hash table."""
    integers = pd.api.types.is_integer_dtype(values) and pd.api.types.is_integer_dtype(known)
    if not integers or not len(known) or known.isna().any():
        return values.isin(known).to_numpy(dtype=bool)
    low, high = int(known.min()), int(known.max())
    if high - low > 4 * len(known) + 1024:
        return values.isin(known).to_numpy(dtype=bool)
    table = np.zeros(high - low + 1, dtype=bool)
    table[known.to_numpy(dtype="int64") - low] = True
    ids = values.to_numpy(dtype="int64", na_value=low)
    inside = values.notna().to_numpy() & (ids >= low) & (ids <= high)
    found = np.zeros(len(ids), dtype=bool)
    found[inside] = table[ids[inside] - low]
    return found


def _find(folder: Path, file_name: str) -> Path | None:
    for path in (folder / file_name, folder / f"{file_name}.gz"):
        if path.is_file():
            return path
    return None


def read_canonical(folder: PathLike) -> tuple[Dataset, ImportReport]:
    """Read a folder in the canonical CSV layout (see the module rules).

    Parameters
    ----------
    folder
        The folder holding ``contacts.csv`` and any of the other table files.

    Returns
    -------
    Dataset
        Every table found, with contact ids, list ids and campaign ids as written.
    ImportReport
        Rows skipped or cells left blank, by file, row and column; merged duplicate emails.

    Raises
    ------
    DataError
        When the folder or ``contacts.csv`` is missing, or a file cannot be read or lacks one of
        its table's required columns.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "contacts.csv").write_text(
    ...     "contact_id,email,first_name,last_name,date_added,email_status,tags,plan\\n"
    ...     "1,Ann@Example.com,Ann,Lee,2026-01-05,subscribed,vip;news,gold\\n"
    ...     "2,not-an-email,Bob,,2026-01-06,subscribed,,\\n")
    >>> ds, report = read_canonical(folder)
    >>> ds.contacts["email"].tolist(), ds.custom_fields
    (['ann@example.com'], {'plan': 'text'})
    >>> print(report.issues[0])
    contacts.csv, row 3, column 'email': not a valid email address; row skipped (value 'not-an-email')
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    paths = {table: _find(folder, file_name) for table, file_name in CSV_FILES.items()}
    if paths["contacts"] is None:
        found = ", ".join(sorted(path.name for path in folder.iterdir())) or "nothing"
        raise DataError(f"{folder}: no contacts.csv, which the canonical layout requires "
                        f"(found: {found})")
    report = ImportReport()
    sources = {table: (lambda path=path: SourceFile(path, report))
               for table, path in paths.items() if path is not None}
    if paths["email_events"] is not None:  # the large one: checked a part at a time
        sources["email_events"] = lambda path=paths["email_events"]: _InParts(path, report)
    return read_sources(sources, report), report


class _InParts:
    """A large file read and checked a part at a time (:meth:`SourceFile.parts`), so memory
    holds one part's text; the tolerant reader reads it whole when it needs it."""

    def __init__(self, path: Path, report: ImportReport):
        self.path, self.report = path, report

    def read(self, check: Callable[[SourceFile], pd.DataFrame]) -> pd.DataFrame:
        attempt = ImportReport(files=list(self.report.files))
        try:
            pieces = []
            for part in SourceFile.parts(self.path, attempt):
                pieces.append(check(part))
                release_freed_memory()
        except NeedsTolerantReader:
            return check(SourceFile(self.path, self.report, tolerant=True))
        known = len(self.report.files)
        self.report.issues.extend(attempt.issues)
        self.report.files.extend(attempt.files[known:])
        self.report.notes.extend(attempt.notes)
        self.report.rows.update(attempt.rows)
        return pieces[0] if len(pieces) == 1 else _joined(pieces)


def _joined(pieces: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat(pieces)``, joined a column at a time, each taken out of the pieces once
    joined: memory holds the table once and one column twice, not the whole table twice."""
    columns = {}
    for column in list(pieces[0].columns):
        columns[column] = concat_column([piece.pop(column) for piece in pieces])
    release_freed_memory()
    return pd.DataFrame(columns, copy=False)


def read_sources(sources: dict[str, Callable[[], SourceFile]], report: ImportReport) -> Dataset:
    """Check and assemble canonical tables, each given as a function opening its source."""
    frames: dict[str, pd.DataFrame] = {}
    for table in CSV_FILES:  # a table before those that refer to it
        if table in sources:
            frames[table] = _read_table(sources[table](), table, frames)
    return _assemble(frames, report)


def _read_table(source: SourceFile | _InParts, table: str, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The good rows of one table, checked against its key and the tables read before it."""
    if isinstance(source, _InParts):
        return source.read(lambda part: _read_table(part, table, frames))
    source.require(*REQUIRED[table])
    spec = TABLES[table]
    frame = pd.DataFrame(
        {column: _column(source, column, kind, column in REQUIRED[table])
         for column, kind in spec.items()},
        index=source.rows.index,
        copy=False,  # a frame from a dict copies by default
    )
    for column in REFERENCES.get(table, ()):
        owner = frames.get(OWNERS[column], pd.DataFrame({column: []}))
        _skip_unknown(source, frame, column, owner[column])
    if table in KEYS:
        _skip_duplicates(source, frame, KEYS[table])
    if table == "contacts":  # tags and custom fields stay text until bad rows are gone
        for header in [*source.other_columns([*spec, "tags"]), "tags"]:
            frame[header] = source.text(header)
    kept = source.kept(frame)
    return _as_stored(kept, table) if table == "email_events" else kept


def _as_stored(events: pd.DataFrame, table: str) -> pd.DataFrame:
    """The kept rows with ids and flags in the types :meth:`Dataset.from_frames` gives them, a
    part at a time: tens of millions of events are then not cast again, whole, at the end."""
    for column, kind in TABLES[table].items():
        if kind == "id" and column in REQUIRED[table]:  # a kept row has every required id
            events[column] = events[column].astype("int64")
        elif kind == "flag":
            events[column] = each_distinct(events[column], to_flag)
        elif column in CODED[table]:
            events[column] = as_codes(events[column])
    return events


def _assemble(frames: dict[str, pd.DataFrame], report: ImportReport) -> Dataset:
    """Type custom fields, merge contacts sharing an email, point references at the kept one."""
    contacts = frames.pop("contacts")
    tags = split_cells(contacts.pop("tags"), TAG_SEPARATOR)
    custom_fields: dict[str, str] = {}
    for header in contacts.columns.difference(list(TABLES["contacts"]), sort=False):
        name = storable_name(header, [*TABLES["contacts"], "tags", *custom_fields])
        if name != header:
            report.notes.append(f"contacts.csv: column '{header}' is stored as the custom field "
                                f"'{name}' (a database cannot hold the name as written)")
            contacts = contacts.rename(columns={header: name})
        custom_fields[name], contacts[name] = infer_field(contacts[name])
    merged, ids = collapse_contacts(contacts)
    if len(merged) < len(contacts):
        report.notes.append(f"contacts.csv: {len(contacts) - len(merged):,} row(s) repeat an "
                            "email and were merged into the first contact with it")
    merged_any = bool((ids.index != ids.to_numpy()).any())
    follow = (lambda values: values.map(ids)) if merged_any else (lambda values: values)  # noqa: E731
    contact_tags = pd.DataFrame({
        "contact_id": follow(contacts.loc[tags.index, "contact_id"]).to_numpy(),
        "tag": tags.to_numpy(),
    })
    for table, frame in frames.items():
        if "contact_id" in frame.columns and merged_any:
            frames[table] = frame.assign(contact_id=follow(frame["contact_id"]))
    memberships = frames.get("list_memberships")
    if memberships is not None:
        frames["list_memberships"] = (
            memberships.sort_values("added_at", kind="stable")
            .drop_duplicates(["list_id", "contact_id"]).sort_index()
        )
    if "email_events" in frames:
        frames["email_events"] = drop_repeated_events(frames["email_events"])
    dataset = Dataset.from_frames(
        contacts=merged,
        contact_tags=contact_tags.drop_duplicates(),
        custom_fields=custom_fields,
        **frames,
    )
    report.counts = dataset.summary()
    return dataset


__all__ = ["read_canonical", "read_sources"]
