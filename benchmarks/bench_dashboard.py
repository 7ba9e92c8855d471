"""How fast the dashboard answers after the first load: a threshold preview and a segment count.

On the seeded 1M-contact benchmark data (cached under benchmarks/data/ by ``data.py``):

- **threshold preview**: the *Data and settings* page re-cuts the levels in force under new
  quantile shares and minimum sends (``relevel``) and shows the level sizes (``counts()``);
- **segment count**: the builder's live count, ``MemoryEngine.count`` on a three-criterion
  segment (level AND open rate AND list). Each run changes every criterion's value, so no mask is
  reused from the engine's cache: only what a first load builds (levels, list positions) is.

The first load (reading the data, computing the levels, the engine's first count) is timed too,
but the targets are the two medians: under 200 ms each. Results go to
``benchmarks/results/dashboard.json``. Run ``python benchmarks/bench_dashboard.py [--contacts N]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from engagekit.config import EngagementConfig  # noqa: E402
from engagekit.engagement.levels import compute_levels, relevel  # noqa: E402
from engagekit.segments.definition import SegmentDefinition  # noqa: E402
from engagekit.segments.memory_engine import MemoryEngine  # noqa: E402

from data import END, ensure_dataset, load_dataset, load_index  # noqa: E402

RESULTS = HERE / "results" / "dashboard.json"
TARGET_MS = 200.0
AS_OF = pd.Timestamp(END)
LEVEL_CHOICES = [["least_engaged"], ["somewhat_engaged"], ["least_engaged", "somewhat_engaged"],
                 ["most_engaged"], ["somewhat_engaged", "most_engaged"]]


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return (time.perf_counter() - started) * 1000, result


def preview_configs(base: EngagementConfig, runs: int) -> list[EngagementConfig]:
    """Distinct share and minimum-sends settings, as a user dragging the sliders makes them."""
    configs = []
    for k in range(runs):
        configs.append(base.with_changes(
            most_engaged_share=0.10 + 0.01 * (k % 15),
            least_engaged_share=0.30 + 0.01 * (k % 20),
            min_sends=base.min_sends + k % 3,
        ))
    return configs


def segment(k: int, list_ids: list[int]) -> SegmentDefinition:
    """A three-criterion segment whose every value differs with ``k``."""
    return SegmentDefinition.from_json({"version": 1, "criteria": {"type": "and", "group": [
        {"source": "engagement", "field": "current_level", "op": "is",
         "value": LEVEL_CHOICES[k % len(LEVEL_CHOICES)]},
        {"source": "metrics", "field": "open_rate", "op": "gte", "value": round(0.05 + 0.005 * k, 4)},
        {"type": "or", "group": [
            {"source": "list_membership", "field": "lists", "op": "in_any",
             "value": [list_ids[k % len(list_ids)]]},
            {"source": "metrics", "field": "days_since_last_engagement", "op": "lt", "value": 10 + k},
        ]},
    ]}})


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000, help="contacts (default 1M)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per measure (default 15)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)

    folder = ensure_dataset(args.contacts)
    first = {}
    first["load_data_ms"], dataset = timed(lambda: load_dataset(folder))
    index = load_index(folder)  # None when the cached index is of an older format
    if index is not None:
        dataset = replace(dataset, given_activity=index)  # as a workspace's columnar copy does
    config = EngagementConfig()
    first["levels_ms"], levels = timed(lambda: compute_levels(dataset, as_of=AS_OF, config=config))

    preview_runs = []
    for candidate in preview_configs(config, args.runs):
        ms, recut = timed(lambda c=candidate: relevel(levels, c).counts())
        preview_runs.append(ms)

    engine = MemoryEngine(dataset, as_of=AS_OF, config=config)
    list_ids = dataset.lists["list_id"].tolist()
    first["engine_first_count_ms"], _ = timed(lambda: engine.count(segment(10_000, list_ids)))
    count_runs = []
    for k in range(args.runs):
        definition = segment(k, list_ids)
        ms, _ = timed(lambda d=definition: engine.count(d))
        count_runs.append(ms)

    results = {
        "contacts": dataset.n_contacts,
        "events": len(dataset.email_events),
        "as_of": AS_OF.isoformat(),
        "runs": args.runs,
        "threshold_preview_ms": round(statistics.median(preview_runs), 1),
        "segment_count_ms": round(statistics.median(count_runs), 1),
        "target_ms": TARGET_MS,
        "threshold_preview_runs_ms": [round(ms, 1) for ms in preview_runs],
        "segment_count_runs_ms": [round(ms, 1) for ms in count_runs],
        "first_load_ms": {name: round(ms, 1) for name, ms in first.items()},
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("threshold_preview_ms", "segment_count_ms"):
        verdict = "ok" if results[name] < TARGET_MS else "SLOWER THAN TARGET"
        print(f"{name}: {results[name]:.1f} ms (target < {TARGET_MS:.0f} ms: {verdict})")
    print(f"first load: {results['first_load_ms']} on {results['contacts']:,} contacts")
    print(f"written to {args.out}")
    return results


if __name__ == "__main__":
    main()
