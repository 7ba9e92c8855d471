"""Errors and import reports.

Every error that reaches a user says *what* went wrong and *where*: the file, the row and the
column for data, the field and the operator for a segment definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


class EngagekitError(Exception):
    """Base class of every error engagekit raises on purpose."""


class DataError(EngagekitError):
    """Input data that cannot be used (a missing column, an unreadable file, an empty table)."""


class ConfigError(EngagekitError):
    """An engagement configuration that breaks a rule (shares above 100 %, a negative window)."""


class WorkspaceError(EngagekitError):
    """A workspace that cannot be opened, read or written."""


class NotFoundError(EngagekitError):
    """A named thing (segment, list, contact) that does not exist."""


class DuplicateNameError(EngagekitError):
    """A name already taken, compared ignoring case."""


class InvalidNameError(EngagekitError):
    """A segment or list name that is blank, too long or holds control characters."""


class ReadOnlySegmentError(EngagekitError):
    """An attempt to edit, rename or delete a pre-built segment."""


class ReadOnlyListError(EngagekitError):
    """An attempt to change a list that came with the imported data (the next import would undo it)."""


@dataclass(frozen=True)
class ImportIssue:
    """One problem found in one cell or row of an imported file.

    Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2.
    """

    file: str
    row: int | None
    column: str | None
    reason: str
    value: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        shown = f" (value {self.value!r})" if self.value not in (None, "") else ""
        return f"{', '.join(where)}: {self.reason}{shown}"


@dataclass
class ImportReport:
    """What an import read, kept and skipped.

    Examples
    --------
    >>> report = ImportReport()
    >>> report.add("contacts.csv", 3, "email", "not an email address", "bob@")
    >>> print(report.issues[0])
    contacts.csv, row 3, column 'email': not an email address (value 'bob@')
    """

    issues: list[ImportIssue] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per file: rows ``read`` (blank rows aside) and ``kept``; every other row has an issue."""

    def add(
        self,
        file: str,
        row: int | None,
        column: str | None,
        reason: str,
        value: object | None = None,
    ) -> None:
        shown = None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
        self.issues.append(ImportIssue(file, row, column, reason, shown))

    def merge(self, other: ImportReport) -> None:
        self.issues.extend(other.issues)
        self.files.extend(other.files)
        self.notes.extend(other.notes)
        self.rows.update(other.rows)
        for table, count in other.counts.items():
            self.counts[table] = self.counts.get(table, 0) + count

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_frame(self) -> pd.DataFrame:
        """The issues as a table with columns file, row, column, reason, value."""
        return pd.DataFrame(
            [vars(issue) for issue in self.issues],
            columns=["file", "row", "column", "reason", "value"],
        )

    def summary(self) -> str:
        """What was read and kept, e.g. "Read 5,000 contacts, 88 campaigns; 2 problem(s) reported."."""
        kept = ", ".join(f"{count:,} {table.replace('_', ' ')}" for table, count in self.counts.items())
        skipped = f"; {len(self.issues):,} problem(s) reported" if self.issues else ""
        return f"Read {kept or 'nothing'}{skipped}."
