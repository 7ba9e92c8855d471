"""engagekit: find an email audience by engagement.

Score every contact, place it in a level by configurable quantile thresholds, see how levels move,
and turn that into dynamic segments. One import line is enough::

    import engagekit as ek

    ws = ek.Workspace.open()                       # the default embedded workspace
    data = ws.load()
    current, previous = ek.current_and_previous(data, as_of="2026-11-30")
    ek.compute_transitions(previous, current).counts
"""

from engagekit.activity import ActivityIndex
from engagekit.config import EngagementConfig
from engagekit.dataset import Dataset
from engagekit.errors import (
    ConfigError,
    DataError,
    DuplicateNameError,
    EngagekitError,
    ImportIssue,
    ImportReport,
    NotFoundError,
    WorkspaceError,
)
from engagekit.explain import Explanation, explain_contact
from engagekit.features import FEATURE_COLUMNS, compute_features, window_bounds
from engagekit.levels import (
    LevelResult,
    compute_levels,
    current_and_previous,
    level_history,
    monthly_dates,
    previous_as_of,
)
from engagekit.report import EngagementReport, engagement_report, relevel
from engagekit.schema import LEVEL_LABELS, LEVELS, EmailStatus, EventType, Level
from engagekit.tiers import EngagementTiers, Thresholds, judged_scores, level_names
from engagekit.timeutil import as_timestamp
from engagekit.transitions import MOVEMENTS, Transitions, compute_transitions, movement
from engagekit.workspace import ImportResult, Workspace, default_url

__version__ = "0.1.0"

__all__ = [
    "FEATURE_COLUMNS",
    "LEVELS",
    "LEVEL_LABELS",
    "MOVEMENTS",
    "ActivityIndex",
    "ConfigError",
    "DataError",
    "Dataset",
    "DuplicateNameError",
    "EmailStatus",
    "EngagekitError",
    "EngagementConfig",
    "EngagementReport",
    "EngagementTiers",
    "EventType",
    "Explanation",
    "ImportIssue",
    "ImportReport",
    "ImportResult",
    "Level",
    "LevelResult",
    "NotFoundError",
    "Thresholds",
    "Transitions",
    "Workspace",
    "WorkspaceError",
    "as_timestamp",
    "compute_features",
    "compute_levels",
    "compute_transitions",
    "current_and_previous",
    "default_url",
    "engagement_report",
    "explain_contact",
    "judged_scores",
    "level_history",
    "level_names",
    "monthly_dates",
    "movement",
    "previous_as_of",
    "relevel",
    "window_bounds",
]
