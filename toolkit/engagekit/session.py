"""The session: one workspace, the settings in force and one "now", for every surface.

The dashboard, the command line and the notebooks all open a :class:`Session`, and everything they
show or write comes from it: the engagement report, segment counts and members, exports, send-ready
audiences, explanations, history. So the same workspace gives the same answer everywhere.

Which settings are in force is decided here, once, when the session opens:

===============  ===================================================================================
setting          rule
===============  ===================================================================================
engagement       the config saved in the workspace (defaults if none was saved); ``config=`` replaces
config           it and ``changes=`` changes single fields, for this session only (listed in
                 :attr:`SettingsInForce.overrides`, so a surface can say so)
as-of time       given (``as_of=``), else the date pinned in the workspace, else the data's natural
                 reference time: midnight after its last send, or "now" for data still being sent
"now"            read once, to the hour (:func:`engagekit.timeutil.read_now`), or given (``now=``)
===============  ===================================================================================

Examples
--------
>>> import tempfile
>>> from engagekit.data.sample import generate_sample
>>> url = f"sqlite:///{tempfile.mkdtemp()}/ws.db"
>>> _ = Session.open(url).import_dataset(generate_sample(300, seed=1))
>>> session = Session.open(url, now="2026-12-15")
>>> session.settings.as_of, session.settings.as_of_rule
(Timestamp('2026-11-30 00:00:00'), 'data')
>>> sum(session.count(segment) for segment in session.segments())
300
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pandas as pd

from engagekit.campaigns import planning
from engagekit.config import SETTING_LABELS, EngagementConfig
from engagekit.data.dataset import Dataset
from engagekit.data.io.merge import merge_datasets
from engagekit.data.safe_csv import to_safe_csv
from engagekit.engagement.audit import Audit, audit_data
from engagekit.engagement.explain import Explanation, explain_contact
from engagekit.engagement.levels import (
    LevelResult,
    compute_levels,
    level_history,
    monthly_dates,
    relevel,
)
from engagekit.engagement.report import EngagementReport, engagement_report
from engagekit.engagement.slip_risk import SlipRisk
from engagekit.engagement.sunset import SunsetRule, SunsetSimulation, simulate_sunset
from engagekit.errors import ConfigError, DataError, NotFoundError
from engagekit.segments import operations
from engagekit.segments.catalog import Catalog
from engagekit.segments.contact_card import ContactCard, contact_card
from engagekit.segments.layouts import lay_out
from engagekit.segments.measures import ContactMeasures
from engagekit.segments.memory_engine import MemoryEngine
from engagekit.segments.spark_engine import SparkEngine
from engagekit.segments.sql_engine import SqlEngine
from engagekit.segments.store import Segment, SegmentStore
from engagekit.timeutil import AsOf, as_timestamp, natural_as_of, read_now
from engagekit.workspace.database import display_url
from engagekit.workspace.importer import ImportResult
from engagekit.workspace.levels_sql import report_in_database, runs_in_database
from engagekit.workspace.lists import WORKSPACE_ORIGIN, AddToListResult
from engagekit.workspace.plans import PlanRecord
from engagekit.workspace.spark import SparkRunner, local_spark
from engagekit.workspace.workspace import Workspace

AsOfRule = Literal["given", "pinned", "data"]
EngineKind = Literal["memory", "sql", "spark"]
ENGINE_KINDS: tuple[str, ...] = ("memory", "sql", "spark")

LevelEngine = Literal["memory", "sql", "spark"]
LEVEL_ENGINES: dict[str, str] = {
    "memory": "in memory (numpy)",
    "sql": "inside the workspace database",
    "spark": "on a local Spark session, over the workspace's Parquet copy",
}
"""Where the levels job can run, and how a surface says so."""

AS_OF_RULES: dict[str, str] = {
    "given": "chosen for this session",
    "pinned": "fixed in the workspace settings",
    "data": "follows the data",
}

Definition = operations.Definition
MEASURE_COLUMNS: tuple[str, ...] = ("slip_risk", "sunset_status")
"""Member columns the session adds from :attr:`Session.measures` (slip risk trains the model)."""


@dataclass(frozen=True)
class Replacement:
    """A replace import that can be undone: what it wrote, and the data it replaced.

    Attributes
    ----------
    result : ImportResult
        The replace import.
    previous : Dataset
        The workspace data just before it (what :meth:`Session.undo_replace` puts back).
    what : str
        What replaced it, for a sentence ("the sample data").
    workspace_lists : tuple of str
        The lists of ``previous`` made in the workspace (they are put back as such).
    """

    result: ImportResult
    previous: Dataset
    what: str
    workspace_lists: tuple[str, ...] = ()

    def summary(self) -> str:
        """What the replace did, in one sentence."""
        return (f"Replaced the workspace data with {self.what}: it now has "
                f"{self.result.counts['contacts']:,} contacts and "
                f"{self.result.counts['email_events']:,} email events.")


@dataclass(frozen=True)
class SettingsInForce:
    """The settings a session works with, and where each came from.

    Attributes
    ----------
    config : EngagementConfig
        The engagement settings in force.
    as_of : pandas.Timestamp
        The reference time of everything the session computes.
    as_of_rule : {"given", "pinned", "data"}
        Where ``as_of`` came from (see the module notes).
    saved_config : EngagementConfig
        The settings saved in the workspace.
    overrides : tuple of str
        Config fields that differ from the saved ones for this session only.
    now : pandas.Timestamp
        The session's one "now".
    data_as_of : pandas.Timestamp or None
        The as-of time the data gives (what ``as_of`` is when nobody pinned or gave one).
    """

    config: EngagementConfig
    as_of: pd.Timestamp
    as_of_rule: AsOfRule
    saved_config: EngagementConfig
    overrides: tuple[str, ...]
    now: pd.Timestamp
    data_as_of: pd.Timestamp | None = None

    @property
    def key(self) -> tuple[str, str]:
        """A hashable key of what results depend on (for caches)."""
        return self.as_of.isoformat(), self.config.to_json()

    def override_note(self) -> str | None:
        """A sentence naming the settings overridden for this session, or ``None``.

        Examples
        --------
        >>> saved = EngagementConfig()
        >>> s = SettingsInForce(saved.with_changes(min_sends=5), pd.Timestamp("2026-11-30"), "given",
        ...                     saved, ("min_sends",), pd.Timestamp("2026-12-01"))
        >>> s.override_note()
        'For this run only: minimum sends to be judged 5 (saved: 3); as-of time 2026-11-30 00:00 UTC.'
        """
        parts = [
            f"{SETTING_LABELS.get(name, name)} {_value(getattr(self.config, name))} "
            f"(saved: {_value(getattr(self.saved_config, name))})"
            for name in self.overrides
        ]
        if self.as_of_rule == "given":
            parts.append(f"as-of time {self.as_of:%Y-%m-%d %H:%M} UTC")
        return f"For this run only: {'; '.join(parts)}." if parts else None

    def describe(self) -> str:
        """One line: the as-of time and where it came from.

        Examples
        --------
        >>> saved = EngagementConfig()
        >>> SettingsInForce(saved, pd.Timestamp("2026-11-30"), "data", saved, (),
        ...                 pd.Timestamp("2026-12-01")).describe()
        'As of 2026-11-30 00:00 UTC (follows the data).'
        """
        return f"As of {self.as_of:%Y-%m-%d %H:%M} UTC ({AS_OF_RULES[self.as_of_rule]})."


def resolve_settings(
    workspace: Workspace,
    *,
    as_of: AsOf | None = None,
    config: EngagementConfig | None = None,
    changes: dict[str, object] | None = None,
    now: AsOf | None = None,
) -> SettingsInForce:
    """The settings in force for ``workspace`` (see the module notes for the rules).

    Examples
    --------
    >>> import tempfile
    >>> ws = Workspace.open(f"sqlite:///{tempfile.mkdtemp()}/ws.db")
    >>> settings = resolve_settings(ws, changes={"min_sends": 5}, now="2026-12-01 10:00")
    >>> settings.config.min_sends, settings.overrides, settings.as_of_rule
    (5, ('min_sends',), 'data')
    """
    saved_config, pinned = workspace.load_settings()
    chosen = config or saved_config
    if changes:
        unknown = sorted(set(changes) - set(EngagementConfig.model_fields))
        if unknown:
            raise ConfigError(f"Unknown setting(s): {', '.join(unknown)}.")
        chosen = chosen.with_changes(**changes)
    overrides = tuple(
        name for name in EngagementConfig.model_fields
        if getattr(chosen, name) != getattr(saved_config, name)
    )
    moment = read_now() if now is None else as_timestamp(now, name="now")
    from_data = natural_as_of(workspace.last_sent_at(), now=moment)
    if as_of is not None:
        stamp, rule = as_timestamp(as_of), "given"
    elif pinned is not None:
        stamp, rule = pinned, "pinned"
    else:
        stamp, rule = from_data, "data"
    return SettingsInForce(chosen, stamp, rule, saved_config, overrides, moment, from_data)


class Session:
    """One workspace with its settings in force; what every surface works through.

    Open one with :meth:`open`. Results are computed once per session and kept (it is safe to
    share a session between threads); a session never changes its settings: :meth:`with_settings`
    and :meth:`save_settings` give a new one, sharing the loaded data.

    Parameters
    ----------
    workspace : Workspace
    settings : SettingsInForce
        From :func:`resolve_settings`.
    dataset : Dataset, optional
        The workspace data, when already loaded.
    sunset_rule : SunsetRule, optional
        The sunset rule behind the ``sunset_status`` criterion and column, the suppression export
        and the last-chance list (default :class:`SunsetRule`).
    """

    def __init__(self, workspace: Workspace, settings: SettingsInForce, *, dataset: Dataset | None = None,
                 sunset_rule: SunsetRule | None = None):
        self.workspace = workspace
        self.settings = settings
        self.sunset_rule = sunset_rule or SunsetRule()
        self._dataset = dataset
        self._lock = threading.RLock()
        self._engines: dict[str, MemoryEngine | SqlEngine | SparkEngine] = {}
        self._reports: dict[str, EngagementReport] = {}
        self._sunsets: dict[SunsetRule, SunsetSimulation] = {}

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        as_of: AsOf | None = None,
        config: EngagementConfig | None = None,
        changes: dict[str, object] | None = None,
        now: AsOf | None = None,
        sunset_rule: SunsetRule | None = None,
    ) -> Session:
        """Open the workspace at ``url`` (default: ``$ENGAGEKIT_WORKSPACE`` or the embedded one)
        with the settings in force, optionally overridden for this session."""
        workspace = Workspace.open(url)
        return cls(workspace, resolve_settings(workspace, as_of=as_of, config=config, changes=changes, now=now),
                   sunset_rule=sunset_rule)

    # -- what is in force --------------------------------------------------------------------
    @property
    def as_of(self) -> pd.Timestamp:
        return self.settings.as_of

    @property
    def config(self) -> EngagementConfig:
        return self.settings.config

    @property
    def url(self) -> str:
        return self.workspace.url

    @property
    def display_url(self) -> str:
        """The workspace URL with any password masked."""
        return display_url(self.workspace.url)

    def with_settings(
        self, *, as_of: AsOf | None = None, config: EngagementConfig | None = None,
        changes: dict[str, object] | None = None, sunset_rule: SunsetRule | None = None,
    ) -> Session:
        """The same workspace and data under other settings (or another sunset rule), for this
        session only."""
        settings = resolve_settings(self.workspace, as_of=as_of, config=config or self.config,
                                    changes=changes, now=self.settings.now)
        if as_of is None:  # keep this session's as-of time and where it came from
            settings = replace(settings, as_of=self.as_of, as_of_rule=self.settings.as_of_rule)
        return Session(self.workspace, settings, dataset=self._dataset,
                       sunset_rule=sunset_rule or self.sunset_rule)

    def save_settings(self, config: EngagementConfig, *, as_of: AsOf | None = None) -> Session:
        """Save ``config`` (and a pinned as-of time, or ``None`` to follow the data) in the
        workspace, for everyone who opens it; returns the session under the saved settings."""
        self.workspace.save_settings(config, as_of=None if as_of is None else as_timestamp(as_of))
        return Session(self.workspace, resolve_settings(self.workspace, now=self.settings.now),
                       dataset=self._dataset, sunset_rule=self.sunset_rule)

    # -- data --------------------------------------------------------------------------------
    @property
    def dataset(self) -> Dataset:
        """The workspace data (loaded on first use, once)."""
        with self._lock:
            if self._dataset is None:
                self._dataset = self.workspace.load()
            return self._dataset

    @property
    def has_data(self) -> bool:
        return self.dataset.n_contacts > 0

    def data_version(self) -> int:
        return self.workspace.data_version()

    def import_dataset(self, dataset: Dataset, *, mode: str = "merge", allow_empty: bool = False) -> ImportResult:
        """Import into the workspace (see :meth:`Workspace.import_dataset`). Open a new session
        afterwards to work on the new data."""
        return self.workspace.import_dataset(dataset, mode=mode, allow_empty=allow_empty)

    def replace_data(self, dataset: Dataset, *, what: str = "the imported data") -> Replacement:
        """Make ``dataset`` the whole workspace data, keeping the data it replaces so that
        :meth:`undo_replace` can put it back (saved segments and workspace lists stay either way)."""
        previous, made_here = self.dataset, tuple(self.workspace.lists.workspace_lists())
        result = self.workspace.import_dataset(dataset, mode="replace")
        return Replacement(result=result, previous=previous, what=what, workspace_lists=made_here)

    def undo_replace(self, replacement: Replacement) -> ImportResult:
        """Put back the data a :meth:`replace_data` replaced, with the ids it had, so lists, plans
        and segments point at the same contacts, lists and campaigns again."""
        return self.workspace.import_dataset(replacement.previous, mode="replace", allow_empty=True,
                                             keep_free_ids=True,
                                             workspace_lists=replacement.workspace_lists)

    def preview_import(self, dataset: Dataset, *, mode: str = "merge") -> Dataset:
        """What the workspace data would be after importing ``dataset`` (nothing is written)."""
        return merge_datasets(self.dataset, dataset) if mode == "merge" and self.has_data else dataset

    def contact_id(self, email_or_id: str | int) -> int:
        """The id of the contact with this email address (or this id), else :class:`NotFoundError`."""
        contacts = self.dataset.contacts
        if isinstance(email_or_id, int | np.integer):
            if (contacts["contact_id"].to_numpy() == int(email_or_id)).any():
                return int(email_or_id)
            raise NotFoundError(f"There is no contact with id {email_or_id}.")
        found = contacts.loc[contacts["email"] == str(email_or_id).strip().lower(), "contact_id"]
        if found.empty:
            raise NotFoundError(f"There is no contact with email address {str(email_or_id).strip()!r}.")
        return int(found.iloc[0])

    # -- engagement --------------------------------------------------------------------------
    @cached_property
    def report(self) -> EngagementReport:
        """Current and previous levels and transitions, under the settings in force."""
        with self._lock:
            return engagement_report(self.dataset, as_of=self.as_of, config=self.config)

    def report_on(self, engine: LevelEngine = "memory", *, spark_cores: int = 1) -> EngagementReport:
        """The report computed by the levels job ``engine``: ``"memory"`` (:attr:`report`),
        ``"sql"`` (inside the workspace database: no event is loaded into Python) or ``"spark"``
        (a local Spark session on ``spark_cores`` cores over the workspace's Parquet copy). All
        three give the same levels, contact by contact."""
        if engine not in LEVEL_ENGINES:
            raise ConfigError(f"Unknown engine {engine!r}; use one of: {', '.join(LEVEL_ENGINES)}.")
        if engine == "memory":
            return self.report
        self._check_in_database(engine)
        with self._lock:
            if engine not in self._reports:
                if engine == "sql":
                    runner = self.workspace.runner()
                else:
                    runner = self._spark_runner(spark_cores)
                self._reports[engine] = report_in_database(
                    runner, self.workspace.tables, as_of=self.as_of, config=self.config)
            return self._reports[engine]

    def _check_in_database(self, engine: str) -> None:
        if not runs_in_database(self.config):
            raise ConfigError(
                f"The {engine} engine cannot count orders as engagement: crediting an order to "
                "the email before it is done by the memory engine. Use the memory engine, or "
                "stop counting orders (--no-orders)."
            )

    def _spark_runner(self, cores: int = 1) -> SparkRunner:
        """A local Spark session over the workspace's Parquet copy, with the machine verdicts of
        the rules in force."""
        rules = self.config.machine_rules
        return SparkRunner.from_parquet_folder(local_spark(cores),
                                               self.workspace.parquet_folder(rules), rules)

    @property
    def levels(self) -> LevelResult:
        """The current levels (the report's)."""
        return self.report.current

    def previous_uses_current_thresholds(self) -> EngagementReport:
        """The report with the current thresholds applied to the previous level too."""
        return engagement_report(self.dataset, as_of=self.as_of, config=self.config,
                                 previous_uses_current_thresholds=True)

    def preview(self, config: EngagementConfig, *, as_of: AsOf | None = None) -> LevelResult:
        """Levels under candidate settings, before they are applied: a fast re-cut of the levels
        in force when only the cuts change, else computed."""
        stamp = self.as_of if as_of is None else as_timestamp(as_of)
        if stamp == self.as_of:
            recut = relevel(self.levels, config)
            if recut is not None:
                return recut
        return compute_levels(self.dataset, as_of=stamp, config=config)

    def explain(self, contact: str | int, *, previous: bool = False, with_risk: bool = False) -> Explanation:
        """Why a contact (email address or id) has its current (or previous) level; with
        ``with_risk``, also its slip risk (which trains the model once per session)."""
        levels = self.report.previous if previous else self.report.current
        explanation = explain_contact(levels, self.contact_id(contact), data=self.dataset)
        if not with_risk or previous:
            return explanation
        risk = self.slip_risk().risk.get(explanation.contact_id)
        period = self.config.previous_period_days
        sentence = ("Not judged, so no slip risk." if risk is None or np.isnan(risk) else
                    f"Slip risk: {risk:.0%} chance of dropping a level in the next {period} days.")
        return replace(explanation, reasons=[*explanation.reasons, sentence])

    def contact_card(self, contact: str | int) -> ContactCard:
        """Everything about one contact (email address or id) as of the session's time: profile,
        tags, lists, the segments it is in, its activity timeline and its last engagement ever."""
        contact_id = self.contact_id(contact)
        engine = self.engine("memory")
        position = int(np.flatnonzero(self.dataset.contact_ids == contact_id)[0])

        def member_of(segment: Segment) -> bool:
            try:
                return bool(engine.mask(segment.definition)[position])
            except DataError:  # a slip-risk segment on a history too short to learn from: no answer
                return False

        return contact_card(self.dataset, contact_id, as_of=self.as_of, segments=self.segments(),
                            member_of=member_of, config=self.config)

    @cached_property
    def measures(self) -> ContactMeasures:
        """Slip risk and sunset status (under :attr:`sunset_rule`) of every contact, computed once
        per session on first use and shared by the segment engines and the member columns."""
        return ContactMeasures(lambda: self.dataset, as_of=self.as_of, config=self.config,
                               sunset_rule=self.sunset_rule)

    def slip_risk(self) -> SlipRisk:
        """Each judged contact's risk of dropping a level next period, with the model's backtest
        (trained once per session on the workspace's own history).

        Raises :class:`engagekit.DataError` with one sentence when the history is too short."""
        return self.measures.slip_risk()

    @cached_property
    def audit(self) -> Audit:
        """The data-readiness audit (:mod:`engagekit.engagement.audit`) under the settings in force."""
        with self._lock:
            return audit_data(self.dataset, as_of=self.as_of, config=self.config)

    def prepare_overview(self, months: int = 12) -> None:
        """Compute what a dashboard shows first (levels, transitions and the level history) and
        keep the history with the stored data: an import calls this, so a dashboard opened on
        the new data draws its overview without computing a year of levels first."""
        self.history(months)

    def history(self, months: int = 12) -> pd.DataFrame:
        """Contacts and share per level at monthly as-of dates ending at the as-of time."""
        *earlier, last = monthly_dates(self.as_of, months)
        # Kept with the stored data: a dashboard opened later shows it without recomputing.
        key = f"level_history|{self.as_of.isoformat()}|{months}|{self.config.to_json()}"
        history = self.dataset.lasting(
            key, lambda: level_history(self.dataset, as_ofs=earlier, config=self.config))
        latest = self.levels.summary().assign(as_of=last)[list(history.columns)]
        return pd.concat([history, latest], ignore_index=True)

    # -- segments ----------------------------------------------------------------------------
    @cached_property
    def store(self) -> SegmentStore:
        return SegmentStore(self.workspace)

    @cached_property
    def catalog(self) -> Catalog:
        """Fields, operators, lists, campaigns and tags a criterion can use."""
        return Catalog.from_dataset(self.dataset)

    def segments(self) -> list[Segment]:
        """Every segment: the pre-built ones first, then the saved ones by name."""
        return self.store.list()

    def segment(self, name_or_id: str | int) -> Segment:
        return self.store.get(name_or_id)

    def engine(self, kind: EngineKind = "memory") -> MemoryEngine | SqlEngine | SparkEngine:
        """The segment engine of ``kind`` ("memory", "sql" or "spark": a local Spark session over
        the workspace's Parquet copy), at the session's as-of and settings."""
        if kind not in ENGINE_KINDS:
            raise ConfigError(f"Unknown engine {kind!r}; use one of: {', '.join(ENGINE_KINDS)}.")
        with self._lock:
            if kind not in self._engines:
                if kind == "memory":
                    report = self.report
                    self._engines[kind] = MemoryEngine(
                        self.dataset, as_of=self.as_of, config=self.config,
                        levels=(report.current, report.previous), measures=self.measures,
                    )
                elif kind == "sql":
                    self._engines[kind] = SqlEngine(self.workspace, as_of=self.as_of, config=self.config,
                                                    measures=self.measures)
                else:
                    self._check_in_database(kind)
                    runner = self._spark_runner()
                    self._engines[kind] = SparkEngine(runner, as_of=self.as_of, config=self.config,
                                                      custom_fields=self.dataset.custom_fields,
                                                      measures=self.measures)
            return self._engines[kind]

    def _definition(self, segment: Definition | str) -> Definition:
        """A segment given by name is looked up; definitions pass as they are."""
        if isinstance(segment, str) and not segment.lstrip().startswith("{"):
            return self.store.get(segment)
        return segment

    def count(self, segment: Definition | str, *, engine: EngineKind = "memory") -> int:
        """How many contacts the segment (a definition, a saved segment or its name) matches."""
        return operations.count(self.engine(engine), self._definition(segment))

    def member_ids(self, segment: Definition | str, *, engine: EngineKind = "memory") -> np.ndarray:
        return self.engine(engine).members(operations.as_definition(self._definition(segment)))

    def members(
        self, segment: Definition | str, columns: Sequence[str] | None = None, *,
        engine: EngineKind = "memory",
    ) -> pd.DataFrame:
        """The segment's members with the chosen columns (see :meth:`member_columns`)."""
        chosen = list(operations.DEFAULT_MEMBER_COLUMNS if columns is None else columns)
        measured = [c for c in chosen if c in MEASURE_COLUMNS]
        base = [c for c in chosen if c not in MEASURE_COLUMNS] or ["email"]
        frame = operations.members_frame(self.dataset, self.engine(engine), self._definition(segment), base)
        if not measured:
            return frame
        ids = self.member_ids(segment, engine=engine)
        for column in measured:
            frame[column] = self.measures.column(column, ids)
        return frame[chosen]

    def member_columns(self) -> list[str]:
        """Every column :meth:`members` can show (``slip_risk`` trains the slip-risk model;
        ``sunset_status`` follows :attr:`sunset_rule`)."""
        return [*operations.member_columns(self.dataset), *MEASURE_COLUMNS]

    def export_frame(
        self, segment: Definition | str, *, fields: Sequence[str] | None = None,
        engine: EngineKind = "memory",
    ) -> pd.DataFrame:
        """The rows of a segment export: every member, email first."""
        return operations.export_frame(self.dataset, self.engine(engine), self._definition(segment),
                                       fields=fields)

    def export_csv(
        self, segment: Definition | str, path_or_buffer: str | Path | IO[str] | None = None, *,
        fields: Sequence[str] | None = None, engine: EngineKind = "memory", layout: str = "columns",
        excel: bool = False,
    ) -> str | None:
        """The segment export as a spreadsheet-safe CSV (text when no path is given), with the
        headings of ``layout`` (see :mod:`engagekit.segments.layouts`); ``excel`` adds the
        byte-order mark Excel needs."""
        chosen = self._definition(segment)
        frame = self.export_frame(chosen, fields=fields, engine=engine)
        name = chosen.name if isinstance(chosen, Segment) else None
        return to_safe_csv(lay_out(frame, layout, segment_name=name), path_or_buffer, excel=excel)

    def audience_csv(
        self, segment: Definition | str, path_or_buffer: str | Path | IO[str] | None = None, *,
        fields: Sequence[str] | None = None, engine: EngineKind = "memory", layout: str = "columns",
        excel: bool = False,
    ) -> str | None:
        """The send-ready audience as a CSV, with the headings of ``layout`` (see :meth:`export_csv`)."""
        chosen = self._definition(segment)
        frame = self.audience(chosen, fields=fields, engine=engine).frame
        name = chosen.name if isinstance(chosen, Segment) else None
        return to_safe_csv(lay_out(frame, layout, segment_name=name), path_or_buffer, excel=excel)

    def audience(
        self, segment: Definition | str, *, fields: Sequence[str] | None = None,
        engine: EngineKind = "memory",
    ) -> operations.Audience:
        """The send-ready audience: the segment evaluated anew at the session's as-of time, less
        unsubscribed and bounced contacts (counted in ``left_out``)."""
        return operations.build_audience(self.dataset, self.engine(engine), self._definition(segment),
                                         fields=fields)

    def add_to_list(
        self, segment: Definition | str, list_name: str, *, engine: EngineKind = "memory"
    ) -> AddToListResult:
        """Copy the segment's members into a workspace list (repeatable, nobody added twice)."""
        return operations.add_to_list(self.workspace, self.engine(engine), self._definition(segment),
                                      list_name)

    def segment_overview(self, *, search: str = "", sort: str = "kind") -> pd.DataFrame:
        """Every segment (or those whose name contains ``search``) with its live count, share and
        description, in the order ``sort`` (see :data:`engagekit.segments.operations.SEGMENT_SORTS`)."""
        return operations.segment_overview(self.segments(), self.engine("memory"),
                                           total=self.dataset.n_contacts, catalog=self.catalog,
                                           search=search, sort=sort)

    # -- lists -------------------------------------------------------------------------------
    def lists(self) -> pd.DataFrame:
        """Every list: ``list_id``, ``name``, ``origin`` (import / workspace), ``members``, and
        ``editable`` (made in the workspace: it can be renamed, deleted and added to)."""
        frame = self.workspace.lists.list()
        return frame.assign(editable=frame["origin"] == WORKSPACE_ORIGIN)

    def list_names(self, *, editable: bool = False) -> list[str]:
        """The names of the lists (only those members can be added to, with ``editable``)."""
        frame = self.lists()
        return (frame.loc[frame["editable"], "name"] if editable else frame["name"]).tolist()

    def create_list(self, name: str) -> AddToListResult:
        """Make an empty workspace list."""
        return self.workspace.lists.create(name)

    def rename_list(self, name: str, new_name: str) -> AddToListResult:
        """Rename a workspace list (lists from the imported data are read-only)."""
        return self.workspace.lists.rename(name, new_name)

    def delete_list(self, name: str) -> str:
        """Delete a workspace list and its memberships; returns its name. Segments that test
        membership of it then say it is unknown."""
        return self.workspace.lists.delete(name)

    def narrowness_warning(self, count: int) -> str | None:
        return operations.narrowness_warning(count, self.dataset.n_contacts)

    # -- sunset policy -----------------------------------------------------------------------
    def sunset(self, rule: SunsetRule | None = None) -> SunsetSimulation:
        """What the sunset ``rule`` (default: the session's :attr:`sunset_rule`) would do as of the
        session's time."""
        rule = rule or self.sunset_rule
        with self._lock:
            if rule not in self._sunsets:
                self._sunsets[rule] = simulate_sunset(self.dataset, as_of=self.as_of, rule=rule,
                                                      config=self.config)
            return self._sunsets[rule]

    def suppression_frame(self, rule: SunsetRule | None = None) -> pd.DataFrame:
        """The contacts to suppress: email, names, last engagement, unengaged sends and days."""
        table = self.sunset(rule).table
        gone = table[table["sunset_status"] == "sunset"]
        contacts = self.dataset.contacts.set_index("contact_id")
        frame = contacts.loc[gone["contact_id"], ["email", "first_name", "last_name"]].reset_index(drop=True)
        return frame.assign(**{column: gone[column].to_numpy() for column in
                               ("last_engaged_at", "unengaged_sends", "unengaged_days")})

    def add_last_chance_list(self, list_name: str, rule: SunsetRule | None = None) -> AddToListResult:
        """Copy the contacts the rule would sunset into a workspace list, for a last-chance sequence."""
        result = self.workspace.lists.add_members(list_name, self.sunset(rule).suppressed_ids())
        return replace(result, not_emailable=0)

    # -- campaign plans ----------------------------------------------------------------------
    def draft_plan(
        self, segment: Definition | str, *, holdout_share: float = planning.DEFAULT_HOLDOUT_SHARE,
        seed: int = 0, success_event: str = "click", success_days: int = planning.DEFAULT_SUCCESS_DAYS,
    ) -> tuple[np.ndarray, np.ndarray, planning.PlanPower]:
        """Before saving a plan: its audience (sendable members), holdout mask and power (the
        baseline's opens and clicks counted by the engagement rule in force)."""
        planning.check_plan_settings(success_event=success_event, success_days=success_days,
                                     holdout_share=holdout_share)
        audience = planning.sendable_members(self.dataset, self.member_ids(segment))
        holdout = planning.draw_groups(audience, holdout_share=holdout_share, seed=seed)
        power = planning.plan_power(self.dataset, audience, holdout, success_event=success_event,
                                    success_days=success_days, as_of=self.as_of, config=self.config)
        return audience, holdout, power

    def plan_campaign(
        self, name: str, segment: Definition | str, *, send_date: AsOf, offer: str = "",
        holdout_share: float = planning.DEFAULT_HOLDOUT_SHARE, seed: int = 0,
        success_event: str = "click", success_days: int = planning.DEFAULT_SUCCESS_DAYS,
    ) -> planning.CampaignPlan:
        """Save a plan: the segment's sendable members now, a stable holdout, the success event."""
        chosen = self._definition(segment)
        audience, holdout, _ = self.draft_plan(chosen, holdout_share=holdout_share, seed=seed,
                                               success_event=success_event, success_days=success_days)
        definition = operations.as_definition(chosen)
        segment_name = chosen.name if isinstance(chosen, Segment) else definition.describe(self.catalog)
        record = PlanRecord(
            name=name, segment_name=segment_name, definition=definition.to_json(), offer=offer,
            send_date=as_timestamp(send_date, name="send date"), success_event=success_event,
            success_days=int(success_days), holdout_share=float(holdout_share), seed=int(seed),
            as_of=self.as_of,
        )
        saved = self.workspace.plans.create(record, audience, holdout)
        return self.plan(saved.id)

    def plans(self) -> list[planning.CampaignPlan]:
        """Every campaign plan, newest first."""
        return [planning.CampaignPlan(record, self.workspace.plans.members(record.id))
                for record in self.workspace.plans.list()]

    def plan(self, name_or_id: str | int) -> planning.CampaignPlan:
        record = self.workspace.plans.get(name_or_id)
        return planning.CampaignPlan(record, self.workspace.plans.members(record.id))

    def plan_power(self, plan: planning.CampaignPlan) -> planning.PlanPower:
        return planning.plan_power(self.dataset, plan.members["contact_id"].to_numpy(np.int64),
                                   plan.members["holdout"].to_numpy(bool),
                                   success_event=plan.record.success_event,
                                   success_days=plan.record.success_days, as_of=plan.record.as_of,
                                   config=self.config)

    def treatment_audience(self, plan: planning.CampaignPlan | str, *,
                           fields: Sequence[str] | None = None) -> operations.Audience:
        """The plan's treatment group as a send-ready audience (holdout left out, and anyone who
        cannot be emailed at the session's as-of time)."""
        plan = plan if isinstance(plan, planning.CampaignPlan) else self.plan(plan)
        ids = np.intersect1d(plan.treatment_ids, self.dataset.contact_ids)
        return operations.audience_of(self.dataset, ids, fields=fields, as_of=self.as_of,
                                      engine=self.engine("memory"))

    def measure_plan(self, plan: planning.CampaignPlan | str, *, save: bool = True) -> planning.PlanResult:
        """The plan's lift and guardrails as of the session's as-of time (stored unless ``save=False``);
        opens and clicks count as the engagement rule in force counts them."""
        plan = plan if isinstance(plan, planning.CampaignPlan) else self.plan(plan)
        result = planning.measure(self.dataset, plan, as_of=self.as_of, config=self.config)
        if save:
            self.workspace.plans.update(plan.record.id, measured_at=self.as_of, result=result.to_json())
        return result


def _value(value: object) -> str:
    if isinstance(value, float) and 0 < value < 1:
        return f"{value:.0%}"
    return f"{value:g}" if isinstance(value, float) else str(value)


__all__ = ["AS_OF_RULES", "ENGINE_KINDS", "LEVEL_ENGINES", "Replacement", "Session", "SettingsInForce",
           "resolve_settings"]
