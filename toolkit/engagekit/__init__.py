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
    InvalidNameError,
    NotFoundError,
    ReadOnlySegmentError,
    WorkspaceError,
)
from engagekit.explain import Explanation, explain_contact
from engagekit.features import FEATURE_COLUMNS, compute_features, window_bounds
from engagekit.io.canonical import read_canonical
from engagekit.io.canonical_writer import write_canonical
from engagekit.io.constant_contact import read_constant_contact
from engagekit.io.database import DatabaseMapping, read_database
from engagekit.io.detect import read_any
from engagekit.io.mailchimp import read_mailchimp, read_mailchimp_folder
from engagekit.io.merge import merge_datasets
from engagekit.levels import (
    LevelResult,
    compute_levels,
    current_and_previous,
    level_history,
    monthly_dates,
    previous_as_of,
)
from engagekit.report import EngagementReport, engagement_report, relevel
from engagekit.sample import generate_sample, write_sample
from engagekit.schema import LEVEL_LABELS, LEVELS, EmailStatus, EventType, Level
from engagekit.segments import (
    Criterion,
    Group,
    MemoryEngine,
    SegmentDefinition,
    SegmentDefinitionError,
    SqlEngine,
    all_of,
    any_of,
    field_catalog,
    from_constant_contact,
    level_segment,
    operators_for,
    segment_members,
    transition_name,
    transition_segment,
    where,
)
from engagekit.segments.operations import (
    AddToListResult,
    Audience,
    add_to_list,
    audience_csv,
    build_audience,
    export_csv,
    members_frame,
    narrowness_warning,
)
from engagekit.segments.store import Segment, SegmentStore
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
    "AddToListResult",
    "Audience",
    "ConfigError",
    "Criterion",
    "DataError",
    "DatabaseMapping",
    "Dataset",
    "DuplicateNameError",
    "EmailStatus",
    "EngagekitError",
    "EngagementConfig",
    "EngagementReport",
    "EngagementTiers",
    "EventType",
    "Explanation",
    "Group",
    "ImportIssue",
    "ImportReport",
    "ImportResult",
    "InvalidNameError",
    "Level",
    "LevelResult",
    "MemoryEngine",
    "NotFoundError",
    "ReadOnlySegmentError",
    "Segment",
    "SegmentDefinition",
    "SegmentDefinitionError",
    "SegmentStore",
    "SqlEngine",
    "Thresholds",
    "Transitions",
    "Workspace",
    "WorkspaceError",
    "add_to_list",
    "all_of",
    "any_of",
    "as_timestamp",
    "audience_csv",
    "build_audience",
    "compute_features",
    "compute_levels",
    "compute_transitions",
    "current_and_previous",
    "default_url",
    "engagement_report",
    "explain_contact",
    "export_csv",
    "field_catalog",
    "from_constant_contact",
    "generate_sample",
    "judged_scores",
    "level_history",
    "level_names",
    "level_segment",
    "members_frame",
    "merge_datasets",
    "monthly_dates",
    "movement",
    "narrowness_warning",
    "operators_for",
    "previous_as_of",
    "read_any",
    "read_canonical",
    "read_constant_contact",
    "read_database",
    "read_mailchimp",
    "read_mailchimp_folder",
    "relevel",
    "segment_members",
    "transition_name",
    "transition_segment",
    "where",
    "window_bounds",
    "write_canonical",
    "write_sample",
]
