"""What every page shares: the open workspace, cached data and levels, and the settings in force.

Pages call these functions and never compute engagement themselves. Heavy objects (the dataset,
level results, the segment engine) live in ``st.cache_resource``, keyed by the workspace URL, its
data version, the as-of time and the settings JSON, so any import or settings change gives a fresh
entry and an unchanged key is answered at once. ``st.cache_resource`` rather than ``st.cache_data``
for them: ``cache_data`` would pickle a million-row frame on every hit.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
import streamlit as st

import engagekit as ek

WORKSPACE_KEY = "ek_workspace_url"
CONFIG_KEY = "ek_config_json"
AS_OF_KEY = "ek_as_of"
HISTORY_MONTHS = 12


# --- workspace and data ---------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def open_workspace(url: str) -> ek.Workspace:
    return ek.Workspace.open(url)


def workspace_url() -> str:
    """The URL of the workspace this session works on ($ENGAGEKIT_WORKSPACE unless changed)."""
    if WORKSPACE_KEY not in st.session_state:
        st.session_state[WORKSPACE_KEY] = ek.default_url()
    return st.session_state[WORKSPACE_KEY]


def use_workspace(url: str) -> ek.Workspace:
    """Open the workspace at ``url`` (raises :class:`engagekit.WorkspaceError`) and switch to it."""
    opened = open_workspace(url)
    st.session_state[WORKSPACE_KEY] = url
    # the other workspace has its own saved settings
    st.session_state.pop(AS_OF_KEY, None)
    st.session_state.pop(CONFIG_KEY, None)
    return opened


def workspace() -> ek.Workspace:
    return open_workspace(workspace_url())


def display_url(url: str) -> str:
    """The URL with any password masked, for showing on screen."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def data_version() -> int:
    return workspace().data_version()


@st.cache_resource(max_entries=2, show_spinner="Loading the workspace…")
def _dataset(url: str, version: int) -> ek.Dataset:
    return open_workspace(url).load()


def dataset() -> ek.Dataset:
    return _dataset(workspace_url(), data_version())


def has_data() -> bool:
    return data_version() > 0 and dataset().n_contacts > 0


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
    """Forget session choices that depended on the old data (after an import)."""
    st.session_state.pop(AS_OF_KEY, None)


# --- settings in force ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    as_of: pd.Timestamp
    config: ek.EngagementConfig
    pinned: bool = False  # as_of chosen by someone; else the data's natural reference time

    @property
    def key(self) -> tuple[str, str]:
        """Hashable cache key of these settings."""
        return self.as_of.isoformat(), self.config.to_json()


def now() -> pd.Timestamp:
    """The current time (naive UTC), to the hour: the dashboard is the edge where "now" is read.

    To the hour, because on data still being sent the natural as-of time is "now", and it is part
    of every cache key: to the second, each rerun would compute all the levels again.
    """
    return ek.as_timestamp(pd.Timestamp.now(tz="UTC")).floor("h")


def default_as_of(data: ek.Dataset) -> pd.Timestamp:
    """The data's natural reference time (see :meth:`engagekit.Dataset.default_as_of`)."""
    return data.default_as_of(now=now())


def settings() -> Settings:
    """The as-of time and engagement settings in force: this session's, else the workspace's.

    An as-of time nobody pinned follows the data (see :func:`default_as_of`), after imports too.
    """
    saved_config, pinned_as_of = workspace().load_settings()
    config_json = st.session_state.get(CONFIG_KEY)
    config = ek.EngagementConfig.from_json(config_json) if config_json else saved_config
    # In this session: an ISO time, or "" for "follow the data"; absent: the workspace decides.
    chosen = st.session_state.get(AS_OF_KEY, pinned_as_of)
    if chosen:
        return Settings(as_of=ek.as_timestamp(chosen), config=config, pinned=True)
    as_of = default_as_of(dataset()) if has_data() else now().normalize()
    return Settings(as_of=as_of, config=config, pinned=False)


def apply_settings(as_of: pd.Timestamp | None, config: ek.EngagementConfig) -> None:
    """Put settings in force for this session and save them in the workspace.

    ``as_of=None`` pins no date: the as-of time then follows the data (after an import too).
    """
    st.session_state[AS_OF_KEY] = "" if as_of is None else ek.as_timestamp(as_of).isoformat()
    st.session_state[CONFIG_KEY] = config.to_json()
    workspace().save_settings(config, as_of=as_of)


# --- engagement ---------------------------------------------------------------------------------


@st.cache_resource(max_entries=6, show_spinner="Computing engagement levels…")
def _report(url: str, version: int, as_of: str, config_json: str) -> ek.EngagementReport:
    config = ek.EngagementConfig.from_json(config_json)
    return ek.engagement_report(_dataset(url, version), as_of=as_of, config=config)


def report(chosen: Settings | None = None) -> ek.EngagementReport:
    """Current and previous levels and transitions under the settings in force (or ``chosen``)."""
    chosen = chosen or settings()
    return _report(workspace_url(), data_version(), *chosen.key)


@st.cache_data(max_entries=6, show_spinner="Computing level shares over time…")
def _history(url: str, version: int, as_of: str, config_json: str, months: int) -> pd.DataFrame:
    config = ek.EngagementConfig.from_json(config_json)
    *earlier, last = ek.monthly_dates(as_of, months)
    history = ek.level_history(_dataset(url, version), as_ofs=earlier, config=config)
    # The last date is the as-of time itself, whose levels the report has already computed.
    current = _report(url, version, as_of, config_json).current
    latest = current.summary().assign(as_of=last)[list(history.columns)]
    return pd.concat([history, latest], ignore_index=True)


def history(months: int = HISTORY_MONTHS) -> pd.DataFrame:
    """Contacts and share per level at monthly as-of dates ending at the as-of time."""
    return _history(workspace_url(), data_version(), *settings().key, months)


@st.cache_resource(max_entries=6, show_spinner="Computing levels for the preview…")
def _levels(url: str, version: int, as_of: str, config_json: str) -> ek.LevelResult:
    config = ek.EngagementConfig.from_json(config_json)
    return ek.compute_levels(_dataset(url, version), as_of=as_of, config=config)


def preview_levels(as_of: pd.Timestamp, config: ek.EngagementConfig) -> ek.LevelResult:
    """Levels under candidate settings: a fast re-cut of the levels in force when the scores hold."""
    base = report().current
    if ek.as_timestamp(as_of) == base.as_of:
        recut = ek.relevel(base, config)
        if recut is not None:
            return recut
    return _levels(workspace_url(), data_version(), ek.as_timestamp(as_of).isoformat(), config.to_json())


def contact_by_email(email: str) -> int | None:
    """The contact id with this email address (emails are stored trimmed and lower-cased)."""
    contacts = dataset().contacts
    found = contacts.loc[contacts["email"] == email.strip().lower(), "contact_id"]
    return int(found.iloc[0]) if len(found) else None


# --- segments -----------------------------------------------------------------------------------


@st.cache_resource(max_entries=4, show_spinner="Preparing the segment engine…")
def _engine(url: str, version: int, as_of: str, config_json: str) -> ek.MemoryEngine:
    # The engine evaluates on the report's levels: they are computed once for every page.
    # One engine serves every session of these settings (its caches are thread-safe).
    report = _report(url, version, as_of, config_json)
    return ek.MemoryEngine(_dataset(url, version), as_of=as_of, config=report.current.config,
                           levels=(report.current, report.previous))


def engine() -> ek.MemoryEngine:
    """The in-memory segment engine for the data and settings in force."""
    return _engine(workspace_url(), data_version(), *settings().key)


@st.cache_resource(max_entries=2, show_spinner=False)
def _catalog(url: str, version: int):
    from engagekit.segments.catalog import Catalog

    return Catalog.from_dataset(_dataset(url, version))


def catalog():
    """Fields, operators, lists, campaigns and tags a segment criterion can use."""
    return _catalog(workspace_url(), data_version())


def segment_store():
    from engagekit.segments.store import SegmentStore

    return SegmentStore(workspace())


@st.cache_data(max_entries=16, show_spinner="Finding the members…")
def _members(url: str, version: int, as_of: str, config_json: str, definition_json: str,
             columns: tuple[str, ...]) -> pd.DataFrame:
    from engagekit.segments.operations import members_frame

    return members_frame(_dataset(url, version), _engine(url, version, as_of, config_json),
                         definition_json, list(columns))


def members(definition, columns) -> pd.DataFrame:
    """The members of a segment with the chosen columns, as of the settings in force."""
    return _members(workspace_url(), data_version(), *settings().key, definition.to_json(),
                    tuple(columns))


def count(definition) -> int:
    """How many contacts a segment matches, as of the settings in force."""
    from engagekit.segments.operations import count as count_members

    return count_members(engine(), definition)


def add_to_list(definition, list_name: str):
    """Copy the segment's members (as of the settings in force) into a workspace list."""
    from engagekit.segments.operations import add_to_list as add

    return add(workspace(), engine(), definition, list_name)


def deferred_export(definition, fields=None):
    """A function making the segment's CSV export, for a download button to call on click.

    The button calls it on another thread, outside this session: everything it needs is bound now.
    """
    from engagekit.segments.operations import export_csv

    data, segment_engine = dataset(), engine()
    return lambda: export_csv(data, segment_engine, definition, fields=fields)


def deferred_audience(definition, fields=None):
    """A function making the send-ready audience CSV, evaluated when the button is clicked.

    The audience is re-evaluated at that moment (engine as of now, settings in force), as the
    library asks: a send-ready list must reflect who can be emailed when it is sent.
    """
    data, config = dataset(), settings().config

    def make() -> str:
        at = ek.as_timestamp(pd.Timestamp.now(tz="UTC")).floor("s")
        return ek.audience_csv(data, ek.MemoryEngine(data, as_of=at, config=config), definition,
                               fields=fields)

    return make


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
        follows = "fixed date" if chosen.pinned else "follows the data"
        st.markdown(
            f"**As of** {chosen.as_of:%Y-%m-%d %H:%M} ({follows})  \n"
            f"**Contacts** {dataset().n_contacts:,}  \n"
            f"**Window** {config.lookback_days} days, last {config.exclusion_hours:g} h left out  \n"
            f"**Judged from** {config.min_sends} sends  \n"
            f"**Most engaged** top {config.most_engaged_share:.0%}  \n"
            f"**Least engaged** bottom {config.least_engaged_share:.0%}  \n"
            f"**Previous** {config.previous_period_days} days earlier"
        )
