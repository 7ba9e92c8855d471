"""engagekit: find an email audience by engagement.

Score every contact, place it in a level by configurable quantile thresholds, see how levels move,
and turn that into dynamic segments. One import line is enough::

    import engagekit as ek

    session = ek.Session.open()            # the default workspace, with its saved settings
    session.report.level_changes()         # contacts per level, now and one period before
    session.count("Most engaged")          # any segment, by name or definition

The layers below the session (data, engagement, workspace, segments) are public too, for work
outside a workspace: ``ek.compute_levels(dataset, as_of=...)`` and friends.
"""

from engagekit.campaigns.lift import Lift, measure_lift
from engagekit.campaigns.planning import SUCCESS_EVENTS, CampaignPlan, PlanPower, PlanResult
from engagekit.campaigns.power import minimum_detectable_effect, required_size
from engagekit.config import (
    ENGAGEMENT_RULE_LABELS,
    ENGAGEMENT_RULES,
    EVERY_OPEN_AND_CLICK,
    EngagementConfig,
    MachineRules,
)
from engagekit.data.activity import ActivityIndex
from engagekit.data.dataset import Dataset
from engagekit.data.io.canonical import read_canonical
from engagekit.data.io.canonical_writer import write_canonical
from engagekit.data.io.constant_contact import read_constant_contact
from engagekit.data.io.database import DatabaseMapping, read_database
from engagekit.data.io.detect import read_any, read_uploads
from engagekit.data.io.mailchimp import read_mailchimp, read_mailchimp_folder
from engagekit.data.io.merge import merge_datasets
from engagekit.data.machine import REASONS, Verdicts, classify_events, describe_verdict
from engagekit.data.safe_csv import to_safe_csv
from engagekit.data.sample import (
    SAMPLE_END,
    SAMPLE_SEED,
    generate_sample,
    generate_sample_with_truth,
    write_sample,
)
from engagekit.data.sample_winback import WINBACK as SAMPLE_WINBACK
from engagekit.data.schema import LEVEL_LABELS, LEVELS, EmailStatus, EventType, Level
from engagekit.engagement.audit import GMAIL_BULK_SENDER_DAILY, Audit, audit_data
from engagekit.engagement.explain import Explanation, explain_contact, left_out_events
from engagekit.engagement.features import FEATURE_COLUMNS, compute_features, window_bounds
from engagekit.engagement.levels import (
    LevelResult,
    compute_levels,
    current_and_previous,
    level_history,
    monthly_dates,
    previous_as_of,
    relevel,
)
from engagekit.engagement.report import EngagementReport, engagement_report
from engagekit.engagement.slip_risk import Backtest, SlipRisk, slip_risk
from engagekit.engagement.sunset import (
    SUNSET_STATUSES,
    SunsetRule,
    SunsetSimulation,
    simulate_sunset,
)
from engagekit.engagement.tiers import Thresholds, judged_scores, level_names
from engagekit.engagement.transitions import MOVEMENTS, Transitions, compute_transitions, movement
from engagekit.errors import (
    ConfigError,
    DataError,
    DuplicateNameError,
    EngagekitError,
    ImportIssue,
    ImportReport,
    InvalidNameError,
    NotFoundError,
    ReadOnlyListError,
    ReadOnlySegmentError,
    WorkspaceError,
)
from engagekit.formats import SHARE_DECIMALS, format_change, format_count, format_share
from engagekit.names import MAX_NAME_LENGTH, clean_name, name_key
from engagekit.segments import (
    Criterion,
    Group,
    MemoryEngine,
    SegmentDefinition,
    SegmentDefinitionError,
    SqlEngine,
    all_of,
    any_of,
    describe,
    field_catalog,
    from_constant_contact,
    level_segment,
    operators_for,
    segment_members,
    transition_name,
    transition_segment,
    where,
)
from engagekit.segments.catalog import SOURCE_LABELS, Catalog, field_label
from engagekit.segments.contact_card import EVENT_LABELS, ContactCard
from engagekit.segments.layouts import EXPORT_LAYOUTS, ExportLayout, lay_out
from engagekit.segments.operations import (
    DEFAULT_EXPORT_FIELDS,
    DEFAULT_MEMBER_COLUMNS,
    SEGMENT_SORTS,
    Audience,
    add_to_list,
    audience_csv,
    build_audience,
    export_csv,
    member_columns,
    members_frame,
    narrowness_warning,
    segment_overview,
)
from engagekit.segments.store import PREBUILT, Segment, SegmentStore
from engagekit.segments.validation import check_criterion, check_definition
from engagekit.session import (
    AS_OF_RULES,
    ENGINE_KINDS,
    LEVEL_ENGINES,
    Replacement,
    Session,
    SettingsInForce,
    resolve_settings,
)
from engagekit.timeutil import as_timestamp, natural_as_of
from engagekit.workspace import (
    AddToListResult,
    ImportResult,
    Workspace,
    allowed_workspace_patterns,
    check_workspace_allowed,
    default_url,
    display_url,
)

__version__ = "0.2.0"

__all__ = [
    "AS_OF_RULES",
    "DEFAULT_EXPORT_FIELDS",
    "DEFAULT_MEMBER_COLUMNS",
    "ENGAGEMENT_RULES",
    "ENGAGEMENT_RULE_LABELS",
    "ENGINE_KINDS",
    "EVENT_LABELS",
    "EXPORT_LAYOUTS",
    "EVERY_OPEN_AND_CLICK",
    "LEVEL_ENGINES",
    "FEATURE_COLUMNS",
    "GMAIL_BULK_SENDER_DAILY",
    "LEVELS",
    "LEVEL_LABELS",
    "MAX_NAME_LENGTH",
    "MOVEMENTS",
    "PREBUILT",
    "REASONS",
    "SEGMENT_SORTS",
    "SAMPLE_END",
    "SAMPLE_SEED",
    "SAMPLE_WINBACK",
    "SHARE_DECIMALS",
    "SOURCE_LABELS",
    "SUNSET_STATUSES",
    "SUCCESS_EVENTS",
    "ActivityIndex",
    "Backtest",
    "AddToListResult",
    "Audience",
    "CampaignPlan",
    "Audit",
    "Catalog",
    "ConfigError",
    "ContactCard",
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
    "ExportLayout",
    "Group",
    "ImportIssue",
    "ImportReport",
    "ImportResult",
    "InvalidNameError",
    "Level",
    "LevelResult",
    "Lift",
    "MachineRules",
    "MemoryEngine",
    "NotFoundError",
    "PlanPower",
    "PlanResult",
    "ReadOnlyListError",
    "ReadOnlySegmentError",
    "Segment",
    "SegmentDefinition",
    "SegmentDefinitionError",
    "Replacement",
    "SegmentStore",
    "Session",
    "SettingsInForce",
    "SlipRisk",
    "SqlEngine",
    "SunsetRule",
    "SunsetSimulation",
    "Thresholds",
    "Transitions",
    "Verdicts",
    "Workspace",
    "WorkspaceError",
    "add_to_list",
    "all_of",
    "any_of",
    "as_timestamp",
    "audience_csv",
    "audit_data",
    "build_audience",
    "check_criterion",
    "check_definition",
    "classify_events",
    "clean_name",
    "compute_features",
    "compute_levels",
    "compute_transitions",
    "current_and_previous",
    "default_url",
    "describe",
    "describe_verdict",
    "display_url",
    "engagement_report",
    "explain_contact",
    "export_csv",
    "field_catalog",
    "field_label",
    "format_change",
    "format_count",
    "format_share",
    "from_constant_contact",
    "generate_sample",
    "generate_sample_with_truth",
    "judged_scores",
    "lay_out",
    "left_out_events",
    "level_history",
    "level_names",
    "level_segment",
    "member_columns",
    "measure_lift",
    "members_frame",
    "merge_datasets",
    "minimum_detectable_effect",
    "monthly_dates",
    "movement",
    "name_key",
    "narrowness_warning",
    "segment_overview",
    "natural_as_of",
    "operators_for",
    "previous_as_of",
    "allowed_workspace_patterns",
    "check_workspace_allowed",
    "read_any",
    "read_uploads",
    "read_canonical",
    "read_constant_contact",
    "read_database",
    "read_mailchimp",
    "read_mailchimp_folder",
    "relevel",
    "required_size",
    "resolve_settings",
    "segment_members",
    "simulate_sunset",
    "slip_risk",
    "to_safe_csv",
    "transition_name",
    "transition_segment",
    "where",
    "window_bounds",
    "write_canonical",
    "write_sample",
]


def __getattr__(name: str):
    # The scikit-learn transformer is imported on first use: scikit-learn takes most of a second
    # to import, and nothing else at start-up needs it.
    if name == "EngagementTiers":
        from engagekit.engagement.estimator import EngagementTiers

        return EngagementTiers
    raise AttributeError(f"module 'engagekit' has no attribute {name!r}")
