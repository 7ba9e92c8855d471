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
from engagekit.data.io.reading import PathLike, header_key, read_header
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
    folder = path.parent.name.casefold()
    if folder in ("opens", "clicks", "sent"):
        return folder
    if _is_recipient_list(path):
        return "sent"
    return "clicks" if "url" in {header_key(column) for column in header} else "opens"


def _unzip(path: Path, scratch: Path) -> Path:
    """Extract the CSV files of a zip archive (an export as downloaded) into a new folder."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):  # workbooks are zip archives too
        raise DataError(f"{path.name}: this is an Excel workbook; save the sheet as CSV (UTF-8)")
    folder = scratch / f"{len(list(scratch.iterdir()))}-{path.stem}"
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
                report.notes.append(f"{candidate.name}: not a known export layout; skipped")
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


__all__ = ["LAYOUTS", "detect_layout", "read_any"]
