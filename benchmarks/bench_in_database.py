"""The levels job where the data lives: memory, SQLite, PostgreSQL, DuckDB and local Spark.

The job is current + previous levels and the transition matrix on the seeded benchmark data
(1M contacts / 21M events by default). ``memory`` is engagekit's numpy engine; the others run the
one SQLAlchemy Core job of :mod:`engagekit.workspace.levels_sql` inside the database, or on a local
Spark session over the Parquet tables (``local[1]`` and ``local[2]``, to show it uses more cores).
Each engine runs in its own process; loading the data into a database is timed apart from the
job; every engine's levels (per contact) and matrix must equal the memory engine's.

PostgreSQL is measured when ``ENGAGEKIT_BENCH_POSTGRES_URL`` (or ``ENGAGEKIT_TEST_POSTGRES_URL``)
names a server; a database ``engagekit_bench_<contacts>`` is made there once.

Run ``python benchmarks/run.py`` or ``python benchmarks/bench_in_database.py [--contacts N]``. At
the full size the figures go to ``benchmarks/results/in_database.json``; a smaller run writes
``benchmarks/results/in_database_<N>_contacts.json`` (not kept in git).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from bench_levels import peak_rss_mb, workspace_url  # noqa: E402

from engagekit.config import EngagementConfig  # noqa: E402
from engagekit.data.schema import LEVELS  # noqa: E402
from engagekit.engagement.report import engagement_report  # noqa: E402
from engagekit.workspace import Workspace  # noqa: E402
from engagekit.workspace.levels_sql import DatabaseRunner, report_in_database  # noqa: E402
from engagekit.workspace.tables import build_tables  # noqa: E402
from engagekit.workspace.verdicts import (  # noqa: E402
    store_verdicts,
    verdicts_file,
    write_verdicts_file,
)

from data import END, dataset_dir, ensure_dataset, load_dataset, load_index  # noqa: E402

CONFIG = EngagementConfig()  # the default rule: machine opens and scanner clicks left out
AS_OF = pd.Timestamp(END)
FULL_SIZE = 1_000_000
ENGINES = ("memory", "sqlite", "postgres", "duckdb", "spark_local1", "spark_local2")
CODE_OF = {level: 3 - position for position, level in enumerate(LEVELS)}  # most engaged 3 ... 0


def postgres_base() -> str | None:
    return os.environ.get("ENGAGEKIT_BENCH_POSTGRES_URL") or os.environ.get("ENGAGEKIT_TEST_POSTGRES_URL")


def postgres_workspace(n_contacts: int) -> str:
    """A PostgreSQL workspace holding the benchmark data, imported once."""
    base = sa.engine.make_url(postgres_base())
    name = f"engagekit_bench_{n_contacts}"  # generated, never user input
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                              {"name": name}).scalar()
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    workspace = Workspace.open(url, cache_dir=dataset_dir(n_contacts) / "postgres-columnar")
    if not workspace.data_version():
        workspace.import_dataset(Workspace.open(workspace_url(n_contacts)).load(), mode="replace")
    return url


def duckdb_database(n_contacts: int) -> sa.Engine:
    """A DuckDB file holding the job's tables, read from the benchmark Parquet files once."""
    folder = dataset_dir(n_contacts)
    engine = sa.create_engine(f"duckdb:///{folder / 'bench.duckdb'}")
    with engine.begin() as conn:
        present = conn.exec_driver_sql("SELECT count(*) FROM information_schema.tables "
                                       "WHERE table_name = 'email_events'").scalar()
        if not present:
            for name in ("contacts", "campaigns", "email_events"):
                path = folder / f"{name}.parquet"  # our own cache folder, never user input
                conn.exec_driver_sql(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{path}')")
    if not present:  # the machine verdicts the job joins, classified once (not timed)
        store_verdicts(engine, load_dataset(folder), (CONFIG.machine_rules,))
    return engine


def parquet_folder(n_contacts: int) -> Path:
    """The benchmark Parquet tables, with the machine verdicts beside them (written once)."""
    folder = dataset_dir(n_contacts)
    if not verdicts_file(folder, CONFIG.machine_rules).exists():
        write_verdicts_file(folder, load_dataset(folder), CONFIG.machine_rules)
    return folder


def prepare(engine: str, n_contacts: int):
    """The engine's job as a function of nothing, after the data is in place (not timed)."""
    folder = dataset_dir(n_contacts)
    tables = build_tables()
    if engine == "memory":
        index = load_index(folder)
        return lambda: engagement_report(index, as_of=AS_OF, config=CONFIG)
    if engine == "sqlite":  # a workspace's runner stores the verdicts first if missing
        runner = Workspace.open(workspace_url(n_contacts)).runner()
    elif engine == "postgres":
        runner = Workspace.open(postgres_workspace(n_contacts)).runner()
    elif engine == "duckdb":
        runner = DatabaseRunner(duckdb_database(n_contacts))
    elif engine.startswith("spark_local"):
        from engagekit.workspace.spark import SparkRunner, local_spark

        spark = local_spark(int(engine.removeprefix("spark_local")), app_name="engagekit-bench")
        spark.sparkContext.setLogLevel("ERROR")
        runner = SparkRunner.from_parquet_folder(spark, parquet_folder(n_contacts), CONFIG.machine_rules)
    else:
        raise SystemExit(f"unknown engine {engine}")
    return lambda: report_in_database(runner, tables, as_of=AS_OF, config=CONFIG)


def run_engine(engine: str, n_contacts: int, runs: int) -> dict:
    started = time.perf_counter()
    job = prepare(engine, n_contacts)
    setup = time.perf_counter() - started
    job()  # warm-up (and, for Spark, the JVM's compilation)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        report = job()
        times.append(time.perf_counter() - started)
    codes = [
        pd.Series(levels.table["level"].astype(str).map(CODE_OF).to_numpy(np.int8),
                  index=levels.table["contact_id"].to_numpy()).sort_index().to_numpy()
        for levels in (report.previous, report.current)
    ]
    np.save(dataset_dir(n_contacts) / f"in_database_{engine}.npy", np.stack(codes))
    return {
        "setup_s": round(setup, 2),
        "median_s": round(statistics.median(times), 3),
        "runs_s": [round(t, 3) for t in times],
        "peak_rss_mb": peak_rss_mb(),
        "matrix": report.transitions.counts.to_numpy().tolist(),
        "thresholds": report.current.thresholds.to_dict(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=FULL_SIZE)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(run_engine(args.engine, args.contacts, args.runs)))
        return 0

    folder = ensure_dataset(args.contacts)
    workspace_url(args.contacts)  # the SQLite workspace (and columnar copy), built once
    engines = [e for e in ENGINES if e != "postgres" or postgres_base()]
    results = {}
    for engine in engines:
        print(f"Running {engine}…", file=sys.stderr)
        out = subprocess.run(
            [sys.executable, __file__, "--engine", engine, "--contacts", str(args.contacts),
             "--runs", str(args.runs)], capture_output=True, text=True,
        )
        if out.returncode:
            print(out.stderr[-2000:], file=sys.stderr)
            results[engine] = {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
            continue
        results[engine] = json.loads(out.stdout.strip().splitlines()[-1])

    reference = np.load(folder / "in_database_memory.npy")
    for engine, result in results.items():
        if "error" not in result:
            result["identical_to_memory"] = bool(
                np.array_equal(reference, np.load(folder / f"in_database_{engine}.npy"))
                and result["matrix"] == results["memory"]["matrix"]
                and result["thresholds"] == results["memory"]["thresholds"])
    summary = {
        "contacts": args.contacts,
        "events": json.loads((folder / "done.json").read_text())["events"],
        "job": "current + previous levels and transitions (setup: loading the data, not timed)",
        "cores": os.cpu_count(),
        "engines": {name: {k: v for k, v in r.items() if k not in ("matrix", "thresholds")}
                    for name, r in results.items()},
    }
    name = "in_database.json" if args.contacts == FULL_SIZE else f"in_database_{args.contacts}_contacts.json"
    target = HERE / "results" / name
    target.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n{'engine':<14}{'job (s)':>10}{'setup (s)':>11}{'peak MB':>10}  identical")
    for engine, r in summary["engines"].items():
        if "error" in r:
            print(f"{engine:<14}  failed: {r['error']}")
        else:
            print(f"{engine:<14}{r['median_s']:>10}{r['setup_s']:>11}{r['peak_rss_mb']:>10}  "
                  f"{r['identical_to_memory']}")
    print(f"Written to {target}")
    all_identical = all(r.get("identical_to_memory") for r in summary["engines"].values())
    return 0 if all_identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
