"""Counting a six-criterion nested segment over 1M contacts: in memory and in SQLite.

On the seeded benchmark data (``data.py``), as of its end date. The in-memory engine is built once
(levels, list and tag positions, order totals: what a first load builds); each timed count then
changes every criterion's value, so no per-criterion mask is reused. The SQL engine counts the same
definitions with one query against the benchmark workspace on disk (SQLite), its level snapshots
stored beforehand. Both engines must give the same counts. Results go to
``benchmarks/results/segments.json``: ``count_median_ms`` (target: at most 200 ms) and
``sql_sqlite_median_ms``. Run ``python benchmarks/bench_segments.py [--contacts N] [--runs K]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from bench_levels import workspace_url  # noqa: E402

from engagekit.segments import MemoryEngine, SegmentDefinition, SqlEngine  # noqa: E402
from engagekit.workspace import Workspace  # noqa: E402

from data import END, ensure_dataset  # noqa: E402

RESULTS = HERE / "results" / "segments.json"
TARGET_MS = 200.0
AS_OF = pd.Timestamp(END)
LEVELS = [["least_engaged", "somewhat_engaged"], ["most_engaged"], ["somewhat_engaged"],
          ["least_engaged"], ["most_engaged", "somewhat_engaged"]]
TAGS = ["vip", "newsletter", "wholesale", "event-attendee"]


def definition(k: int, list_ids: list[int]) -> SegmentDefinition:
    """Six criteria in three nested groups; every value changes with ``k``."""
    return SegmentDefinition.from_json({"version": 1, "criteria": {"type": "and", "group": [
        {"source": "engagement", "field": "current_level", "op": "is", "value": LEVELS[k % len(LEVELS)]},
        {"source": "metrics", "field": "open_rate", "op": "lt", "value": round(0.9 - 0.01 * k, 3)},
        {"type": "or", "group": [
            {"source": "list_membership", "field": "lists", "op": "in_any",
             "value": [list_ids[k % len(list_ids)]]},
            {"source": "tags", "field": "tags", "op": "has_any", "value": [TAGS[k % len(TAGS)]]},
            {"type": "and", "group": [
                {"source": "ecommerce", "field": "total_spent", "op": "gt", "value": 50 + 10 * k},
                {"source": "contact", "field": "email_status", "op": "is", "value": ["subscribed"]},
            ]},
        ]},
    ]}})


def median_ms(engine, definitions) -> tuple[float, list[int]]:
    times, counts = [], []
    for item in definitions:
        started = time.perf_counter()
        counts.append(engine.count(item))
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2), counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    ensure_dataset(args.contacts)
    workspace = Workspace.open(workspace_url(args.contacts))
    dataset = workspace.load()
    list_ids = dataset.lists["list_id"].tolist()
    definitions = [definition(k, list_ids) for k in range(args.runs)]

    started = time.perf_counter()
    memory = MemoryEngine(dataset, as_of=AS_OF)
    memory.count(definition(args.runs, list_ids))  # first load: levels and lookups
    first_load_s = time.perf_counter() - started
    memory_ms, memory_counts = median_ms(memory, definitions)

    print("Storing level snapshots for the SQL engine (once per data version)…", file=sys.stderr)
    sql = SqlEngine(workspace, as_of=AS_OF)
    sql.count(definitions[0])
    sql_ms, sql_counts = median_ms(sql, definitions[:3])

    result = {
        "contacts": dataset.n_contacts,
        "criteria": 6,
        "count_median_ms": memory_ms,
        "memory_first_load_s": round(first_load_s, 2),
        "sql_sqlite_median_ms": sql_ms,
        "engines_agree": memory_counts[:3] == sql_counts,
        "counts": memory_counts,
        "target_count_median_ms": TARGET_MS,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nSegment count, six nested criteria, {dataset.n_contacts:,} contacts (median of {args.runs})")
    print(f"  in memory : {memory_ms:8.1f} ms   (target <= {TARGET_MS:.0f} ms; first load "
          f"{first_load_s:.1f} s)")
    print(f"  SQLite    : {sql_ms:8.1f} ms   ({sql_ms / memory_ms:.0f}x the in-memory time)")
    print(f"  engines agree: {result['engines_agree']}")
    return 0 if result["engines_agree"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
