"""Tell which export a set of files is, from their headers, and read it with the right reader.

Layouts are recognised by header names, compared ignoring case and spacing:

===========================  ===================================================================
layout                       recognised by
===========================  ===================================================================
canonical                    the required columns of a canonical table (``contact_id, email``;
                             ``list_id, name``; ...): the file stands for its whole folder
constant_contact_contacts    ``Email address`` with ``Email status``, ``Email Lists``,
                             ``Created At``, ``Tags`` or ``First name``
constant_contact_report      ``Email address`` with ``Opened At`` or ``Clicked At``
mailchimp_audience           ``Email Address`` with a Mailchimp system column (``MEMBER_RATING``,
                             ``OPTIN_TIME``, ``LAST_CHANGED``, ``LEID``, ...)
mailchimp_activity           ``Timestamp`` and ``Email``, or a recipient list: ``Email`` in a
                             file in a ``sent`` folder or named like ``Welcome - sent.csv``.
                             Its kind comes from its folder (``opens``, ``clicks``, ``sent``),
                             else its name (``sent``), else its header (``Url``: clicks)
===========================  ===================================================================

A zip archive (an export as downloaded) is unpacked to a temporary folder and read like a folder.

Files of several layouts may be read in one call: each group goes to its reader and the results
merge by email identity (:mod:`engagekit.data.io.merge`), canonical first, then Constant Contact, then
Mailchimp.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from functools import reduce
from pathlib import Path, PurePosixPath

from engagekit.data.dataset import Dataset
from engagekit.data.io.canonical import read_canonical
from engagekit.data.io.constant_contact import read_constant_contact
from engagekit.data.io.mailchimp import SYSTEM_COLUMNS, read_mailchimp
from engagekit.data.io.merge import merge_datasets
from engagekit.data.io.reading import PathLike, header_key, max_unpacked_bytes, read_header
from engagekit.data.io.records import campaign_stem
from engagekit.data.schema import REQUIRED
from engagekit.errors import DataError, ImportReport

LAYOUTS: dict[str, str] = {
    "canonical": "canonical CSV (contacts.csv: contact_id, email, first_name, ...; or another "
                 "canonical table)",
    "constant_contact_contacts": "Constant Contact contact export (Email address, First name, "
                                 "Last name, Email status, ..., Tags, Email Lists, Created At)",
    "constant_contact_report": "Constant Contact opens or clicks report (Email address, ..., "
                               "Opened At; or ..., Clicked Link Address, Clicked At)",
    "mailchimp_audience": "Mailchimp audience export (Email Address, First Name, Last Name, ..., "
                          "MEMBER_RATING, OPTIN_TIME, ..., LAST_CHANGED, ..., TAGS)",
    "mailchimp_activity": "Mailchimp activity (Timestamp, Email[, Url]) in opens/, clicks/ or "
                          "sent/",
}
_MAILCHIMP_SYSTEM = {header_key(column) for column in SYSTEM_COLUMNS} - {"tags"}
_CC_CONTACT = {"email status", "email lists", "created at", "tags", "first name"}
_SENT_NAME = re.compile(r"(?:^|[\s_\-])(?:sent|recipients)$", re.IGNORECASE)
_KIND_NAME = re.compile(r"(?:^|[\s_\-])(opens|opened|clicks|clicked|sent|recipients)$", re.IGNORECASE)
_KIND_WORDS = {"opens": "opens", "opened": "opens", "clicks": "clicks", "clicked": "clicks",
               "sent": "sent", "recipients": "sent"}
_MAX_UNZIPPED = 4 * 2**30


def detect_layout(header: Sequence[str], path: PathLike | None = None) -> str | None:
    """The layout (a key of :data:`LAYOUTS`) a header belongs to, or ``None``.

    Examples
    --------
    >>> detect_layout(["Email address", "First name", "Opened At"])
    'constant_contact_report'
    >>> detect_layout(["Timestamp", "Email", "Url"])
    'mailchimp_activity'
    """
    keys = {header_key(column) for column in header}
    if any(set(required) <= keys for required in REQUIRED.values()):
        return "canonical"
    if "email address" in keys:
        if keys & _MAILCHIMP_SYSTEM:
            return "mailchimp_audience"
        if keys & {"opened at", "clicked at"}:
            return "constant_contact_report"
        if keys & _CC_CONTACT:
            return "constant_contact_contacts"
    has_email = bool(keys & {"email", "email address"})
    if has_email and ("timestamp" in keys or (path is not None and _is_recipient_list(path))):
        return "mailchimp_activity"
    return None


def _is_recipient_list(path: PathLike) -> bool:
    """A file in a ``sent`` folder, or named like ``Welcome - sent.csv`` (uploads lose folders)."""
    path = Path(path)
    return path.parent.name.casefold() == "sent" or bool(_SENT_NAME.search(campaign_stem(path)))


def _unknown(path: Path, header: Sequence[str]) -> str:
    known = "; ".join(LAYOUTS.values())
    return (f"{path.name}: unknown file layout; its header is: {', '.join(header) or '(empty)'}. "
            f"Known layouts: {known}")


def _csv_files(folder: Path) -> list[Path]:
    """CSV files below ``folder``, without hidden files and macOS archive debris."""
    found = {*folder.rglob("*.csv"), *folder.rglob("*.csv.gz")}
    return sorted(
        path for path in found
        if not any(part.startswith((".", "__MACOSX")) for part in path.relative_to(folder).parts)
    )


def _mailchimp_kind(path: Path, header: Sequence[str]) -> str:
    return _told_kind(path, header) or "opens"


def _told_kind(path: Path, header: Sequence[str]) -> str | None:
    """What a Mailchimp activity file lists, when its folder, name or header says so."""
    folder = path.parent.name.casefold()
    if folder in ("opens", "clicks", "sent"):
        return folder
    named = _KIND_NAME.search(campaign_stem(path))
    if named:
        return _KIND_WORDS[named.group(1).casefold()]
    return "clicks" if "url" in {header_key(column) for column in header} else None


def _unzip(path: Path, scratch: Path) -> Path:
    """Extract the CSV files of a zip archive (an export as downloaded) into a new folder."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):  # workbooks are zip archives too
        raise DataError(f"{path.name}: this is an Excel workbook; save the sheet as CSV (UTF-8)")
    folder = _fresh_folder(scratch, path.stem)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                member for member in archive.infolist()
                if not member.is_dir() and member.filename.lower().endswith((".csv", ".csv.gz"))
            ]
            if not members:
                raise DataError(f"{path.name}: the archive holds no CSV file")
            if sum(member.file_size for member in members) > _MAX_UNZIPPED:
                raise DataError(f"{path.name}: the archive unpacks to more than "
                                f"{_MAX_UNZIPPED // 2**30} GiB; unzip it yourself")
            for member in members:
                if member.file_size > max_unpacked_bytes(member.compress_size):
                    raise DataError(f"{path.name}: {member.filename} expands far more than an "
                                    "export does; unzip it yourself and import the CSV files")
            for member in members:
                parts = PurePosixPath(member.filename.replace("\\", "/")).parts
                if not parts or parts[0] in ("/", "") or ".." in parts:
                    continue  # a path that would land outside the folder
                target = folder.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out)
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"{path.name}: cannot open the zip archive ({error})") from None
    return folder


def _classify(
    paths: Sequence[PathLike], report: ImportReport, scratch: Path
) -> dict[str, list[tuple[Path, list[str]]]]:
    """Files by layout, with their headers; folders (and zip archives, unpacked into ``scratch``)
    are searched for CSV files."""
    groups: dict[str, list[tuple[Path, list[str]]]] = defaultdict(list)
    for path in map(Path, paths):
        if path.is_file() and zipfile.is_zipfile(path):
            path = _unzip(path, scratch)
        if path.is_dir():
            contacts = path / "contacts.csv"
            if contacts.is_file() and detect_layout(read_header(contacts)) == "canonical":
                groups["canonical"].append((contacts, []))
                continue
            candidates, scanned = _csv_files(path), True
            if not candidates:
                raise DataError(f"{path}: the folder holds no CSV file")
        elif path.is_file():
            candidates, scanned = [path], False
        else:
            raise DataError(f"{path}: no such file or folder")
        recognised = 0
        for candidate in candidates:
            header = read_header(candidate)
            layout = detect_layout(header, candidate)
            if layout is None and not scanned:
                raise DataError(_unknown(candidate, header))
            if layout is None:
                # an issue, not a note: every row of the file is left out
                report.add(candidate.name, None, None, "not a known export layout; file skipped "
                           f"(its header: {', '.join(header) or 'empty'})")
                continue
            recognised += 1
            groups[layout].append((candidate, header))
        if not recognised:
            raise DataError(f"{path}: no file in a known layout. Known layouts: "
                            f"{'; '.join(LAYOUTS.values())}")
    return groups


def read_any(paths: PathLike | Sequence[PathLike]) -> tuple[Dataset, ImportReport]:
    """Read files or folders of any known layout (see the module table).

    Parameters
    ----------
    paths
        Files, zip archives and folders; a folder is searched (at any depth) for CSV files,
        unless it holds a canonical ``contacts.csv``, in which case it is read as a canonical
        folder.

    Returns
    -------
    Dataset
        Everything read, merged by email identity when several layouts were given.
    ImportReport
        The readers' reports together, with notes on files skipped in folders.

    Raises
    ------
    DataError
        A file whose header matches no known layout (the message gives its header and the known
        layouts), or a file a reader refuses.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "export.csv").write_text(
    ...     "Email address,First name,Last name,Email status,Email Lists,Created At\\n"
    ...     "ann@example.com,Ann,Lee,Active,News,2026-01-05\\n")
    >>> ds, report = read_any([folder])
    >>> ds.contacts["email"].tolist(), ds.lists["name"].tolist()
    (['ann@example.com'], ['News'])
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    report = ImportReport()
    with tempfile.TemporaryDirectory(prefix="engagekit-import-") as scratch:
        groups = _classify(paths, report, Path(scratch))
        results = _read_groups(groups)
    for _, part in results:
        report.merge(part)
    dataset = reduce(merge_datasets, [dataset for dataset, _ in results])
    report.counts = dataset.summary()
    return dataset, report


def _read_groups(groups: dict[str, list[tuple[Path, list[str]]]]) -> list[tuple[Dataset, ImportReport]]:
    """Each group of files read by its reader."""
    results = []
    for folder in dict.fromkeys(path.parent for path, _ in groups["canonical"]):
        results.append(read_canonical(folder))
    if groups["constant_contact_contacts"] or groups["constant_contact_report"]:
        results.append(read_constant_contact(
            [path for path, _ in groups["constant_contact_contacts"]],
            [path for path, _ in groups["constant_contact_report"]],
        ))
    if groups["mailchimp_audience"] or groups["mailchimp_activity"]:
        activity: dict[str, list[Path]] = defaultdict(list)
        for path, header in groups["mailchimp_activity"]:
            activity[_mailchimp_kind(path, header)].append(path)
        results.append(read_mailchimp(
            [path for path, _ in groups["mailchimp_audience"]],
            activity["opens"], activity["clicks"], activity["sent"],
        ))
    return results


def _fresh_folder(parent: Path, name: str) -> Path:
    """A new folder ``parent/name``, or ``name (2)``, ``name (3)``... when that one exists."""
    folder, number = parent / name, 1
    while folder.exists():
        number += 1
        folder = parent / f"{name} ({number})"
    folder.mkdir(parents=True)
    return folder


def read_uploads(files: Sequence[tuple[str, bytes]]) -> tuple[Dataset, ImportReport]:
    """Read files uploaded through a browser, given as (file name, content) pairs.

    A browser sends bare file names, without the folders they were in. Zip archives (a Mailchimp
    export as downloaded) keep their folders and are read like a folder. A loose Mailchimp
    activity file must say what it lists by its name (``Welcome - sent.csv``, ``Welcome -
    opens.csv``) or its header (``Url``: clicks): a recipient list read as opens would give every
    recipient an open they never made, so such a file is refused rather than guessed. Messages
    name files as uploaded, never by a temporary folder.

    Raises
    ------
    DataError
        As :func:`read_any`, and for a loose activity file whose kind is not told.

    Examples
    --------
    >>> ds, report = read_uploads([("Spring Sale - opens.csv",
    ...                             b"Timestamp,Email\\n2026-04-01 10:00:00,ann@example.com\\n")])
    >>> sorted(ds.email_events["event_type"]), report.files
    (['open', 'send'], ['Spring Sale - opens.csv'])
    """
    with tempfile.TemporaryDirectory(prefix="engagekit-upload-") as scratch:
        root = Path(scratch)
        paths = []
        for name, content in files:
            bare = PurePosixPath(str(name).replace("\\", "/")).name or "upload.csv"
            if content.startswith(b"PK\x03\x04") and bare.lower().endswith(".zip"):
                archive = _fresh_folder(root / "archives", "archive") / bare
                archive.write_bytes(content)
                paths.append(archive)
                continue
            path = _place_loose(root, bare, content)
            paths.append(path)
        return read_any(paths)


def _place_loose(root: Path, bare: str, content: bytes) -> Path:
    """Write a loose upload where its reader finds it: a Mailchimp activity file in the folder
    of its kind (``opens/``, ``clicks/``, ``sent/``), any other file in ``uploaded/``."""
    staging = _fresh_folder(root / "staging", "file") / bare
    staging.write_bytes(content)
    header = read_header(staging) if bare.lower().endswith((".csv", ".gz", ".txt")) else []
    folder = "uploaded"
    if header and detect_layout(header, staging) == "mailchimp_activity":
        kind = _told_kind(staging, header)
        if kind is None:
            raise DataError(
                f"{bare}: a Mailchimp activity file without its folder cannot be told apart: "
                "it may list opens or recipients (sent). Upload the export's .zip file, which "
                f"keeps its folders, or rename the file '{campaign_stem(bare)} - opens.csv' or "
                f"'{campaign_stem(bare)} - sent.csv'")
        folder = kind
    number = 1
    target = root / "files" / folder / bare
    while target.exists():  # the same name twice: a second tree, so labels stay "opens/<name>"
        number += 1
        target = root / f"files-{number}" / folder / bare
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(target)
    return target


__all__ = ["LAYOUTS", "detect_layout", "read_any", "read_uploads"]
