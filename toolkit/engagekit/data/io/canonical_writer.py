"""Write a dataset in the canonical CSV layout (see :mod:`engagekit.data.schema`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from engagekit.data.dataset import Dataset
from engagekit.data.schema import CSV_FILES, OPTIONAL, TAG_SEPARATOR


def contacts_with_tags(dataset: Dataset) -> pd.DataFrame:
    """The contacts frame with a ``tags`` column joining each contact's tags with ';'."""
    tags = (
        dataset.contact_tags.sort_values(["contact_id", "tag"])
        .groupby("contact_id")["tag"]
        .agg(TAG_SEPARATOR.join)
    )
    contacts = dataset.contacts.copy()
    contacts.insert(6, "tags", contacts["contact_id"].map(tags).astype(object).fillna(""))
    return contacts


def write_canonical(dataset: Dataset, folder: str | Path, *, compress_events: bool = False) -> Path:
    """Write one CSV per table into ``folder`` (created if needed) and return the folder.

    With ``compress_events`` the events file is written gzip-compressed as ``email_events.csv.gz``,
    which the canonical reader accepts like the plain file.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> ds = Dataset.from_frames(contacts=pd.DataFrame({
    ...     "contact_id": [1], "email": ["ann@example.com"], "first_name": ["Ann"],
    ...     "last_name": ["Lee"], "date_added": ["2026-01-05"], "email_status": ["subscribed"]}))
    >>> sorted(p.name for p in write_canonical(ds, tempfile.mkdtemp()).iterdir())[:2]
    ['campaigns.csv', 'contacts.csv']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = {name: getattr(dataset, name) for name in CSV_FILES}
    # Optional columns a source never filled are left out, so files stay as small as their data.
    events = frames["email_events"]
    frames["email_events"] = events.drop(columns=[
        column for column in OPTIONAL["email_events"] if events[column].isna().all()])
    contacts = contacts_with_tags(dataset)
    for name, kind in dataset.custom_fields.items():
        if kind == "date":  # a date field holds days, not times
            contacts[name] = contacts[name].dt.strftime("%Y-%m-%d")
    frames["contacts"] = contacts
    for name, file_name in CSV_FILES.items():
        path = folder / file_name
        compression = None
        if name == "email_events" and compress_events:
            path = path.with_suffix(".csv.gz")
            # a fixed gzip timestamp keeps the file byte-identical for the same data
            compression = {"method": "gzip", "mtime": 0}
        frames[name].to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S",
                            compression=compression)
    return folder
