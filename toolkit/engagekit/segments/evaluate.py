"""One entry point for both engines: pick one by name and evaluate a definition with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engagekit.config import EngagementConfig
from engagekit.segments.definition import SegmentDefinition
from engagekit.segments.memory_engine import MemoryEngine
from engagekit.segments.sql_engine import SqlEngine
from engagekit.timeutil import AsOf

if TYPE_CHECKING:
    from engagekit.data.dataset import Dataset
    from engagekit.workspace import Workspace

ENGINES = ("memory", "sql")


def make_engine(
    kind: str = "memory",
    *,
    dataset: Dataset | None = None,
    workspace: Workspace | None = None,
    as_of: AsOf,
    config: EngagementConfig | None = None,
) -> MemoryEngine | SqlEngine:
    """A segment engine: ``"memory"`` (over ``dataset``, or the workspace's data) or ``"sql"``.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> make_engine("memory", dataset=generate_sample(50, seed=1), as_of="2026-11-30").n
    50
    """
    if kind == "memory":
        if dataset is None:
            if workspace is None:
                raise ValueError("the memory engine needs a dataset or a workspace")
            dataset = workspace.load()
        return MemoryEngine(dataset, as_of=as_of, config=config)
    if kind == "sql":
        if workspace is None:
            raise ValueError("the sql engine needs a workspace")
        return SqlEngine(workspace, as_of=as_of, config=config)
    raise ValueError(f"unknown engine {kind!r} (use one of {', '.join(ENGINES)})")


def segment_members(
    definition: SegmentDefinition | str | dict,
    *,
    dataset: Dataset | None = None,
    workspace: Workspace | None = None,
    as_of: AsOf,
    config: EngagementConfig | None = None,
    engine: str = "memory",
) -> np.ndarray:
    """Sorted contact ids of a segment, evaluated once by the chosen engine.

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> from engagekit.segments.definition import level_segment
    >>> ids = segment_members(level_segment("everyone_else"), dataset=generate_sample(80, seed=1),
    ...                       as_of="2026-11-30")
    >>> bool((ids[1:] > ids[:-1]).all())
    True
    """
    chosen = make_engine(engine, dataset=dataset, workspace=workspace, as_of=as_of, config=config)
    return chosen.members(definition)
