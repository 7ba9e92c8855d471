"""Storage: the workspace database, imports, the columnar copy, snapshots, lists and settings."""

from engagekit.workspace.access import allowed_workspace_patterns, check_workspace_allowed
from engagekit.workspace.database import (
    Database,
    bump_data_version,
    default_url,
    display_url,
    insert_frame,
    run_atomically,
    utc_now,
)
from engagekit.workspace.importer import ImportResult
from engagekit.workspace.lists import AddToListResult, ListStore
from engagekit.workspace.measures import MeasureStore
from engagekit.workspace.snapshots import SnapshotStore
from engagekit.workspace.tables import WorkspaceTables, build_tables
from engagekit.workspace.workspace import Workspace

__all__ = [
    "AddToListResult",
    "Database",
    "ImportResult",
    "ListStore",
    "MeasureStore",
    "SnapshotStore",
    "Workspace",
    "WorkspaceTables",
    "allowed_workspace_patterns",
    "build_tables",
    "bump_data_version",
    "check_workspace_allowed",
    "default_url",
    "display_url",
    "insert_frame",
    "run_atomically",
    "utc_now",
]
