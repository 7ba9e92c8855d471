"""Current + previous levels and transitions on 1M contacts: engagekit vs DuckDB SQL vs pandas.

Each engine runs in its own process (so peak memory is its own), on the same cached data, the same
job and the same rules; the three results must be identical. Run ``python benchmarks/run.py`` or
``python benchmarks/bench_levels.py [--contacts N] [--runs K]``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from engagekit.config import EngagementConfig  # noqa: E402
from engagekit.engagement.report import engagement_report  # noqa: E402

from data import END, dataset_dir, ensure_dataset, load_dataset, load_index  # noqa: E402

CONFIG = EngagementConfig()
AS_OF = pd.Timestamp(END)
PREVIOUS = AS_OF - pd.Timedelta(days=CONFIG.previous_period_days)
CODES = {"everyone_else": 0, "least_engaged": 1, "somewhat_engaged": 2, "most_engaged": 3}


# -- the job, three ways ----------------------------------------------------------------------
def engagekit_job(index):
    report = engagement_report(index, as_of=AS_OF, config=CONFIG)
    current = report.current.table["level"].cat.codes.to_numpy()
    previous = report.previous.table["level"].cat.codes.to_numpy()
    # category order is most..everyone_else; express as the shared codes
    remap = np.array([3, 2, 1, 0])
    return remap[previous], remap[current], report.transitions.counts.to_numpy()


def _cut_positions(n: int) -> tuple[int, int]:
    n_least = max(math.ceil(round(n * CONFIG.least_engaged_share, 9)), 1)
    n_most = max(math.ceil(round(n * CONFIG.most_engaged_share, 9)), 1)
    return n_least, n - n_most + 1  # 1-based positions in ascending score order


def _levels_from(sends: np.ndarray, score: np.ndarray) -> np.ndarray:
    judged = sends >= CONFIG.min_sends
    ordered = np.sort(score[judged])
    codes = np.zeros(len(score), dtype=np.int64)
    if len(ordered):
        least_pos, most_pos = _cut_positions(len(ordered))
        least_max, most_min = ordered[least_pos - 1], ordered[most_pos - 1]
        least = judged & ((score <= 0) | (score <= least_max))
        codes = np.where(judged, 2, 0)
        codes[least] = 1
        codes[judged & ~least & (score >= most_min)] = 3
    return codes


def pandas_job(frames):
    contacts, campaigns, events = frames

    def levels_at(t):
        start = t - pd.Timedelta(days=CONFIG.lookback_days)
        end = t - pd.Timedelta(hours=CONFIG.exclusion_hours)
        window = campaigns.loc[(campaigns["sent_at"] > start) & (campaigns["sent_at"] <= end), "campaign_id"]
        seen = events[events["campaign_id"].isin(window) & (events["occurred_at"] <= t)]
        pairs = seen.assign(
            engaged=seen["event_type"].isin(["open", "click"]), clicked=seen["event_type"] == "click"
        ).groupby(["contact_id", "campaign_id"], sort=False)[["engaged", "clicked"]].any()
        per_contact = pairs.groupby(level="contact_id").agg(
            sends=("engaged", "size"), opened=("engaged", "sum"), clicked=("clicked", "sum")
        ).reindex(contacts["contact_id"], fill_value=0)
        sends = per_contact["sends"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(sends > 0, (CONFIG.open_weight * per_contact["opened"].to_numpy()
                                         + CONFIG.click_weight * per_contact["clicked"].to_numpy()) / sends, 0.0)
        return _levels_from(sends, score)

    previous, current = levels_at(PREVIOUS), levels_at(AS_OF)
    matrix = pd.crosstab(previous, current).reindex(index=[3, 2, 1, 0], columns=[3, 2, 1, 0], fill_value=0)
    return previous, current, matrix.to_numpy()


DUCKDB_LEVELS = """
WITH window_campaigns AS (
    SELECT campaign_id FROM campaigns WHERE sent_at > $start AND sent_at <= $end
), deliveries AS (
    SELECT e.contact_id,
           bool_or(e.event_type IN ('open', 'click')) AS engaged,
           bool_or(e.event_type = 'click') AS clicked
    FROM email_events e JOIN window_campaigns USING (campaign_id)
    WHERE e.occurred_at <= $t
    GROUP BY e.contact_id, e.campaign_id
), per_contact AS (
    SELECT contact_id, count(*) AS sends, sum(engaged::INT) AS opened, sum(clicked::INT) AS clicked
    FROM deliveries GROUP BY contact_id
), scored AS (
    SELECT c.contact_id, coalesce(p.sends, 0) AS sends,
           CASE WHEN p.sends > 0 THEN ($open_weight * p.opened + $click_weight * p.clicked) / p.sends
                ELSE 0.0 END AS score
    FROM contacts c LEFT JOIN per_contact p USING (contact_id)
), judged AS (
    SELECT score, row_number() OVER (ORDER BY score) AS position, count(*) OVER () AS n
    FROM scored WHERE sends >= $min_sends
), cuts AS (
    SELECT max(CASE WHEN position = greatest(ceil(round(n * $least_share, 9)), 1) THEN score END) AS least_max,
           max(CASE WHEN position = n - greatest(ceil(round(n * $most_share, 9)), 1) + 1 THEN score END) AS most_min
    FROM judged
)
SELECT contact_id,
       CASE WHEN sends < $min_sends THEN 0
            WHEN score <= 0 OR score <= least_max THEN 1
            WHEN score >= most_min THEN 3
            ELSE 2 END AS level
FROM scored, cuts
ORDER BY contact_id
"""


def duckdb_job(connection):
    def levels_at(t):
        params = {
            "t": t.to_pydatetime(),
            "start": (t - pd.Timedelta(days=CONFIG.lookback_days)).to_pydatetime(),
            "end": (t - pd.Timedelta(hours=CONFIG.exclusion_hours)).to_pydatetime(),
            "open_weight": CONFIG.open_weight, "click_weight": CONFIG.click_weight,
            "min_sends": CONFIG.min_sends, "least_share": CONFIG.least_engaged_share,
            "most_share": CONFIG.most_engaged_share,
        }
        return connection.execute(DUCKDB_LEVELS, params).fetchnumpy()["level"].astype(np.int64)

    previous, current = levels_at(PREVIOUS), levels_at(AS_OF)
    matrix = np.zeros((4, 4), dtype=np.int64)
    np.add.at(matrix, (3 - previous, 3 - current), 1)
    return previous, current, matrix


# -- one engine in one process ------------------------------------------------------------------
def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM resets at exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def run_engine(engine: str, n_contacts: int, runs: int) -> dict:
    folder = dataset_dir(n_contacts)
    if engine == "engagekit":
        state = load_index(folder)
        job = engagekit_job
    elif engine == "pandas":
        dataset = load_dataset(folder)
        state = (dataset.contacts[["contact_id"]], dataset.campaigns, dataset.email_events)
        del dataset
        job = pandas_job
    elif engine == "duckdb":
        import duckdb

        state = duckdb.connect()
        for name in ("contacts", "campaigns", "email_events"):
            state.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{folder / (name + '.parquet')}')")
        job = duckdb_job
    else:
        raise SystemExit(f"unknown engine {engine}")
    job(state)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = job(state)
        times.append(time.perf_counter() - started)
    previous, current, matrix = result
    np.save(folder / f"result_{engine}.npy", np.stack([previous, current]))
    return {
        "median_s": round(statistics.median(times), 4),
        "runs_s": [round(t, 4) for t in times],
        "peak_rss_mb": peak_rss_mb(),
        "matrix": matrix.tolist(),
    }


def workspace_url(n_contacts: int) -> str:
    """The benchmark workspace on disk (SQLite database + columnar copy), built once."""
    from engagekit.workspace import Workspace

    folder = dataset_dir(n_contacts)
    url = f"sqlite:///{folder / 'workspace.db'}"
    if not (folder / "workspace.ready").exists():
        print("Building the benchmark workspace on disk (once)…", file=sys.stderr)
        started = time.perf_counter()
        Workspace.open(url).import_dataset(load_dataset(folder))
        Workspace.open(url).load()  # writes the columnar copy
        (folder / "workspace.ready").write_text(f"{time.perf_counter() - started:.0f} s")
    return url


def cold_start(n_contacts: int) -> dict:
    """Time, in a fresh process, from the workspace on disk to current + previous levels."""
    from engagekit.workspace import Workspace

    started = time.perf_counter()
    dataset = Workspace.open(workspace_url(n_contacts)).load()
    loaded = time.perf_counter() - started
    engagement_report(dataset, as_of=AS_OF, config=CONFIG)
    total = time.perf_counter() - started
    return {
        "load_s": round(loaded, 3),
        "cold_to_levels_s": round(total, 3),
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(run_engine(args.engine, args.contacts, args.runs)))
        return 0
    if args.cold:
        print(json.dumps(cold_start(args.contacts)))
        return 0

    folder = ensure_dataset(args.contacts)
    results = {}
    for engine in ("engagekit", "duckdb", "pandas"):
        print(f"Running {engine}…", file=sys.stderr)
        out = subprocess.run(
            [sys.executable, __file__, "--engine", engine, "--contacts", str(args.contacts),
             "--runs", str(args.runs)], check=True, capture_output=True, text=True,
        )
        results[engine] = json.loads(out.stdout.strip().splitlines()[-1])
    workspace_url(args.contacts)
    print("Measuring cold start…", file=sys.stderr)
    cold = subprocess.run([sys.executable, __file__, "--cold", "--contacts", str(args.contacts)],
                          check=True, capture_output=True, text=True)
    cold_result = json.loads(cold.stdout.strip().splitlines()[-1])

    reference = np.load(folder / "result_engagekit.npy")
    identical = {
        engine: bool(np.array_equal(reference, np.load(folder / f"result_{engine}.npy"))
                     and results[engine]["matrix"] == results["engagekit"]["matrix"])
        for engine in ("duckdb", "pandas")
    }
    ek = results["engagekit"]
    summary = {
        "contacts": args.contacts,
        "events": json.loads((folder / "done.json").read_text())["events"],
        "job": "current + previous levels and transitions",
        "engines": {name: {k: r[k] for k in ("median_s", "peak_rss_mb", "runs_s")}
                    for name, r in results.items()},
        "speedup_vs_duckdb": round(results["duckdb"]["median_s"] / ek["median_s"], 2),
        "speedup_vs_pandas": round(results["pandas"]["median_s"] / ek["median_s"], 2),
        "identical_results": identical,
        "cold_start": cold_result,
        "targets": {"speedup_vs_duckdb": ">= 2.5", "median_s": "<= 1.2", "peak_rss_mb": "<= 2560"},
    }
    # the flat keys the README promises, per engine
    for name, r in results.items():
        summary[name] = {"median_s": r["median_s"], "peak_rss_mb": r["peak_rss_mb"]}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "levels.json").write_text(json.dumps(summary, indent=2) + "\n")

    print(f"\nLevels benchmark: {args.contacts:,} contacts, {summary['events']:,} events "
          f"(current + previous levels and transitions, median of {args.runs})")
    print(f"{'engine':<10} {'median s':>9} {'peak RSS MB':>12} {'engagekit is':>14}  identical")
    for name, r in results.items():
        ratio = "" if name == "engagekit" else f"{r['median_s'] / ek['median_s']:.2f}x faster"
        same = "" if name == "engagekit" else str(identical[name])
        print(f"{name:<10} {r['median_s']:>9.3f} {r['peak_rss_mb']:>12.0f} {ratio:>14}  {same}")
    print(f"cold start (workspace on disk -> levels): {cold_result['cold_to_levels_s']:.2f} s "
          f"(load {cold_result['load_s']:.2f} s, peak RSS {cold_result['peak_rss_mb']:.0f} MB)")
    return 0 if all(identical.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
