"""What every page shares: the library's session for the open workspace, cached.

Which settings and which as-of time are in force is the library's decision
(:func:`engagekit.resolve_settings`); this module only keeps the expensive objects between reruns.
The dataset and each :class:`engagekit.Session` live in ``st.cache_resource``, keyed by the
workspace URL, its data token (new with every change of the data) and the settings, so an import or
a settings change gives a fresh entry and an unchanged key is answered at once. ``cache_resource``
rather than ``cache_data``: ``cache_data`` would pickle a million-row frame on every hit.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

import engagekit as ek

WORKSPACE_KEY = "ek_workspace_url"
RUN_KEY = "ek_this_run"  # what one script run has already asked the database
HISTORY_MONTHS = 12


# --- workspace and data ---------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def open_workspace(url: str) -> ek.Workspace:
    return ek.Workspace.open(url)


def workspace_url() -> str:
    """The URL of the workspace this browser session works on ($ENGAGEKIT_WORKSPACE unless changed)."""
    if WORKSPACE_KEY not in st.session_state:
        st.session_state[WORKSPACE_KEY] = ek.default_url()
    return st.session_state[WORKSPACE_KEY]


def use_workspace(url: str) -> ek.Workspace:
    """Open the workspace at ``url`` (raises :class:`engagekit.WorkspaceError`) and switch to it,
    when the deployment allows it (see :func:`engagekit.check_workspace_allowed`)."""
    opened = open_workspace(ek.check_workspace_allowed(url))
    st.session_state[WORKSPACE_KEY] = url
    return opened


def workspace() -> ek.Workspace:
    return open_workspace(workspace_url())


def display_url(url: str) -> str:
    return ek.display_url(url)


def start_run() -> None:
    """Forget what the last script run read: the router calls this first on every run."""
    st.session_state[RUN_KEY] = {}


def _this_run(name: str, read):
    """``read()`` once per script run and workspace: a page asks for the data token and the
    settings many times per run, and each answer is a database query."""
    memo = st.session_state.setdefault(RUN_KEY, {})
    key = (name, workspace_url())
    if key not in memo:
        memo[key] = read()
    return memo[key]


def data_token() -> str:
    return _this_run("data_token", lambda: workspace().database.data_token())


@st.cache_resource(max_entries=2, show_spinner="Loading the workspace…")
def _dataset(url: str, token: str) -> ek.Dataset:
    return open_workspace(url).load()


def dataset() -> ek.Dataset:
    return _dataset(workspace_url(), data_token())


def has_data() -> bool:
    return _this_run("has_data", lambda: workspace().data_version() > 0 and dataset().n_contacts > 0)


def require_data() -> ek.Dataset:
    """The dataset, or a pointer to the settings page (and stop) when the workspace is empty."""
    if not has_data():
        st.info(
            "This workspace has no contacts yet. Load the sample data or import your exports on "
            "the **Data and settings** page."
        )
        st.page_link("app_pages/settings.py", label="Go to Data and settings", icon=":material/settings:")
        st.stop()
    return dataset()


def data_changed() -> None:
    """The data or the settings changed in this run: read them again. Every cache is keyed by
    the data token and the settings, so nothing else needs forgetting."""
    start_run()


# --- the session: settings in force and everything computed under them ----------------------------


def settings() -> ek.SettingsInForce:
    """The settings in force for this workspace, as the library resolves them (once per run)."""
    return _this_run("settings", lambda: ek.resolve_settings(workspace()))


@st.cache_resource(max_entries=6, show_spinner="Computing engagement levels…")
def _session(url: str, token: str, as_of: str, config_json: str, _settings: ek.SettingsInForce) -> ek.Session:
    # One session serves every browser session of this data and these settings (it is thread-safe).
    return ek.Session(open_workspace(url), _settings, dataset=_dataset(url, token))


def session(chosen: ek.SettingsInForce | None = None) -> ek.Session:
    """The library session for the settings in force (or ``chosen``)."""
    chosen = chosen or settings()
    return _session(workspace_url(), data_token(), *chosen.key, chosen)


def apply_settings(as_of: pd.Timestamp | None, config: ek.EngagementConfig) -> None:
    """Save settings in the workspace: in force for everyone who opens it, on every surface.

    ``as_of=None`` pins no date: the as-of time then follows the data (after an import too).
    """
    session().save_settings(config, as_of=as_of)
    data_changed()


def default_as_of() -> pd.Timestamp:
    """The as-of time the data gives when no date is pinned."""
    return settings().data_as_of


def is_pinned() -> bool:
    return settings().as_of_rule == "pinned"


# --- engagement ---------------------------------------------------------------------------------


def report(chosen: ek.SettingsInForce | None = None) -> ek.EngagementReport:
    """Current and previous levels and transitions under the settings in force (or ``chosen``)."""
    return session(chosen).report


@st.cache_data(max_entries=6, show_spinner="Computing level shares over time…")
def _history(url: str, token: str, as_of: str, config_json: str, months: int) -> pd.DataFrame:
    return session().history(months)


def history(months: int = HISTORY_MONTHS) -> pd.DataFrame:
    """Contacts and share per level at monthly as-of dates ending at the as-of time."""
    return _history(workspace_url(), data_token(), *settings().key, months)


@st.cache_resource(max_entries=6, show_spinner="Computing levels for the preview…")
def _preview(url: str, token: str, as_of: str, config_json: str, candidate_as_of: str,
             candidate_json: str) -> ek.LevelResult:
    return session().preview(ek.EngagementConfig.from_json(candidate_json), as_of=candidate_as_of)


@st.cache_data(max_entries=6, show_spinner="Auditing the data…")
def _audit(url: str, token: str, as_of: str, config_json: str) -> ek.Audit:
    return session().audit


def audit() -> ek.Audit:
    """The data-readiness audit under the settings in force."""
    return _audit(workspace_url(), data_token(), *settings().key)


def preview_levels(as_of: pd.Timestamp, config: ek.EngagementConfig) -> ek.LevelResult:
    """Levels under candidate settings, before they are applied."""
    return _preview(workspace_url(), data_token(), *settings().key, as_of.isoformat(), config.to_json())


def contact_by_email(email: str) -> int | None:
    """The contact id with this email address, or ``None``."""
    try:
        return session().contact_id(email)
    except ek.NotFoundError:
        return None


# --- segments -----------------------------------------------------------------------------------


def engine() -> ek.MemoryEngine:
    """The in-memory segment engine of the session in force."""
    return session().engine("memory")


def catalog() -> ek.Catalog:
    """Fields, operators, lists, campaigns and tags a segment criterion can use."""
    return session().catalog


def segment_store() -> ek.SegmentStore:
    return session().store


def segment_overview(search: str, sort: str) -> pd.DataFrame:
    """The segments whose name contains ``search``, in the order ``sort``, with live counts.

    Not cached here: a save, rename or delete in the store does not change the data token; the
    counts come from the engine's own cache of criterion masks.
    """
    return session().segment_overview(search=search, sort=sort)


# cache_resource, not cache_data: a hit must not unpickle a copy of a large members table; the
# pages only read these frames (slices and assign make new ones).
@st.cache_resource(max_entries=8, show_spinner="Finding the members…")
def _members(url: str, token: str, as_of: str, config_json: str, definition_json: str,
             columns: tuple[str, ...]) -> pd.DataFrame:
    return session().members(definition_json, list(columns))


def members(definition, columns) -> pd.DataFrame:
    """The members of a segment with the chosen columns, as of the settings in force."""
    return _members(workspace_url(), data_token(), *settings().key, definition.to_json(), tuple(columns))


def count(definition) -> int:
    """How many contacts a segment matches, as of the settings in force."""
    return session().count(definition)


def count_or_reason(definition) -> tuple[int | None, str | None]:
    """The count of a segment, or ``None`` and the library's sentence saying why it cannot be
    counted now (slip risk on a history too short to learn from)."""
    try:
        return count(definition), None
    except ek.DataError as error:
        return None, str(error)


def add_to_list(definition, list_name: str) -> ek.AddToListResult:
    """Copy the segment's members (as of the settings in force) into a workspace list."""
    return session().add_to_list(definition, list_name)


def audience(definition, fields=None) -> ek.Audience:
    """The send-ready audience at the settings in force (what the download will hold)."""
    return session().audience(definition, fields=fields)


def deferred_export(segment, fields=None, *, layout: str = "columns", excel: bool = False):
    """A function making the segment's CSV export, for a download button to call on click.

    The button calls it on another thread, outside this session: everything it needs is bound now.
    """
    bound = session()
    return lambda: bound.export_csv(segment, fields=fields, layout=layout, excel=excel)


def deferred_audience(segment, fields=None, *, layout: str = "columns", excel: bool = False):
    """A function making the send-ready audience CSV, evaluated when the button is clicked, at
    the page's as-of time and settings (the same session the page shows)."""
    bound = session()
    return lambda: bound.audience_csv(segment, fields=fields, layout=layout, excel=excel)


# --- sidebar ------------------------------------------------------------------------------------


def sidebar() -> None:
    """Workspace, as-of time and the settings in force, on every page."""
    with st.sidebar:
        st.caption("Workspace")
        st.code(display_url(workspace_url()), language=None, wrap_lines=True)
        if not has_data():
            st.caption("No data loaded yet.")
            return
        chosen = settings()
        config = chosen.config
        st.caption("Settings in force")
        st.markdown(
            f"**As of** {chosen.as_of:%Y-%m-%d %H:%M} ({ek.AS_OF_RULES[chosen.as_of_rule]})  \n"
            f"**Contacts** {dataset().n_contacts:,}  \n"
            f"**Window** {config.lookback_days} days, last {config.exclusion_hours:g} h left out  \n"
            f"**Judged from** {config.min_sends} sends  \n"
            f"**Counts** {ek.ENGAGEMENT_RULE_LABELS[config.engagement].split(' (')[0].lower()}"
            f"{'' if config.count_scanner_clicks else ', no scanner clicks'}"
            f"{', orders' if config.count_orders else ''}  \n"
            f"**Most engaged** top {ek.format_share(config.most_engaged_share, decimals=None)}  \n"
            f"**Least engaged** bottom {ek.format_share(config.least_engaged_share, decimals=None)}  \n"
            f"**Previous** {config.previous_period_days} days earlier"
        )
