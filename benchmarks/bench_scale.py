"""From files to a send-ready audience at 1M, 2M, 5M and 10M contacts (about 25 events each).

Each step runs in its own process, so its wall time and peak memory (VmHWM) are its own:

- ``import``: ``engagekit import <folder> --mode replace`` into a fresh SQLite workspace (read,
  check, store, and write the columnar copy and activity index from the same pass);
- ``first_levels``: the first current + previous levels after the import (a fresh process);
- ``later_levels``: the same again (what every later CLI call or dashboard start pays);
- ``segment_count``: a segment (most engaged, or somewhat engaged and clicked in the last
  30 days) counted in memory and by the SQL engine in the workspace database; with
  ``ENGAGEKIT_BENCH_POSTGRES_URL`` (or ``ENGAGEKIT_TEST_POSTGRES_URL``) set, also by the SQL engine
  in a PostgreSQL workspace of the same data (``bench_in_database.py``'s database, imported once;
  up to 1M contacts, the sizes whose data is the benchmark sample itself);
- ``audience_export``: the send-ready audience of that segment written as CSV;
- ``merge_week``: a week's export merged in (``--mode merge``): every contact again and one new
  campaign with its sends, opens (some on arrival, from a privacy proxy) and clicks: the stored
  rows are appended to, and the classifier's verdicts and the activity index grow from the
  stored ones (``engagekit.data.growth``) instead of being made again from every event;
- ``levels_after_merge``: the levels in a fresh process after that merge;
- ``import_postgres``: with PostgreSQL set as above, the same import into a fresh PostgreSQL
  workspace (a database made for the step and dropped after it), up to 1M contacts.

The data is the seeded 1M-contact benchmark sample (``data.py``), repeated as shards with their
own contact ids and e-mail addresses for the larger sizes, written once in the canonical CSV layout
under ``benchmarks/data/scale_<n>/`` and reused. ``make bench`` runs 1M; ``make bench-scale`` runs
every size. Results: ``benchmarks/results/scale.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from bench_in_database import postgres_base, postgres_workspace  # noqa: E402

import engagekit as ek  # noqa: E402
from engagekit.data.io.canonical_writer import write_canonical  # noqa: E402
from engagekit.data.sample import generate_sample  # noqa: E402

from data import DATA_DIR, END, SEED, dataset_dir, ensure_dataset, load_dataset  # noqa: E402

SHARD = 1_000_000
STEPS = ("import", "first_levels", "later_levels", "segment_count", "audience_export", "merge_week",
         "levels_after_merge")
WEEK_SENT = "2026-12-01T09:00:00"  # after the sample's last campaign
SEGMENT = {"version": 1, "criteria": {"type": "or", "group": [
    {"source": "engagement", "field": "current_level", "op": "is", "value": ["most_engaged"]},
    {"type": "and", "group": [
        {"source": "engagement", "field": "current_level", "op": "is", "value": ["somewhat_engaged"]},
        {"source": "email_activity", "field": "last_n_days", "op": "clicked", "value": 30},
    ]},
]}}
TARGETS = {"import_1m_s": "<= 60", "import_1m_peak_mb": "<= 2048", "first_levels_1m_s": "<= 10",
           "sql_segment_count_1m_s": "<= 0.2", "sql_segment_count_postgres_1m_s": "<= 0.2",
           "import_postgres_1m_s": "<= 120", "peak_mb_10m": "<= 12288"}


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


# -- the data, written once ---------------------------------------------------------------------
def scale_dir(n_contacts: int) -> Path:
    return DATA_DIR / f"scale_{n_contacts}"


def _shard(base: ek.Dataset, number: int) -> ek.Dataset:
    """The base sample as shard ``number``: its own contact and order ids and addresses."""
    if number == 0:
        return base
    offset = number * SHARD
    moved = {name: getattr(base, name).assign(contact_id=getattr(base, name)["contact_id"] + offset)
             for name in ("contact_tags", "list_memberships", "email_events")}
    contacts = base.contacts.assign(contact_id=base.contacts["contact_id"] + offset,
                                    email=base.contacts["email"].str.replace("@", f"+s{number}@",
                                                                             regex=False))
    orders = base.orders.assign(contact_id=base.orders["contact_id"] + offset,
                                order_id=f"s{number}-" + base.orders["order_id"].astype(str))
    return ek.Dataset.trusted(contacts=contacts, orders=orders, lists=base.lists,
                              campaigns=base.campaigns, custom_fields=base.custom_fields, **moved)


def ensure_files(n_contacts: int) -> Path:
    """The canonical CSV folder of ``n_contacts`` contacts (written once)."""
    folder = scale_dir(n_contacts)
    if (folder / "done").exists():
        return folder
    print(f"Writing {n_contacts:,} contacts as canonical CSV files (once)…", file=sys.stderr)
    shutil.rmtree(folder, ignore_errors=True)
    if n_contacts < SHARD:
        write_canonical(generate_sample(n_contacts, seed=SEED, end=END), folder)
    else:
        base = load_dataset(ensure_dataset(SHARD))
        for number in range(n_contacts // SHARD):
            with tempfile.TemporaryDirectory(dir=DATA_DIR) as work:
                written = write_canonical(_shard(base, number), Path(work) / "shard")
                _append(written, folder, header=number == 0)
    (folder / "done").write_text("")
    return folder


def _append(shard: Path, folder: Path, *, header: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in shard.iterdir():
        if path.name in ("lists.csv", "campaigns.csv") and not header:
            continue  # shared by every shard
        with path.open("rb") as source, (folder / path.name).open("ab") as target:
            if not header:
                source.readline()
            shutil.copyfileobj(source, target, 1 << 24)


def ensure_week_files(n_contacts: int) -> Path:
    """A week's export after the ``n_contacts`` data (written once): every contact again, one
    in 300 of the subscribed ones now unsubscribed, and one new campaign sent to the others, a
    third of whom open it (a third of those within seconds, through a privacy proxy) and one in
    twenty-five click."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder = scale_dir(n_contacts).with_name(f"scale_{n_contacts}_week")
    if (folder / "done").exists():
        return folder
    source = ensure_files(n_contacts)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # every column read and written back as text: only the statuses changed here change
    header = pacsv.read_csv(source / "contacts.csv", read_options=pacsv.ReadOptions(
        block_size=1 << 16)).schema.names
    contacts = pacsv.read_csv(source / "contacts.csv", convert_options=pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header}, strings_can_be_null=True))
    status = np.asarray(contacts["email_status"].to_pylist(), dtype=object)
    subscribed = np.flatnonzero(status == "subscribed")
    status[subscribed[::300]] = "unsubscribed"
    contacts = contacts.set_column(header.index("email_status"), "email_status", pa.array(status))
    pacsv.write_csv(contacts, folder / "contacts.csv")
    campaign_id = int(pacsv.read_csv(source / "campaigns.csv")["campaign_id"].to_numpy().max()) + 1
    pacsv.write_csv(pa.table({"campaign_id": [campaign_id], "name": ["Weekly digest: December"],
                              "sent_at": [WEEK_SENT]}), folder / "campaigns.csv")
    ids = np.asarray(contacts["contact_id"].to_pylist(), dtype=np.int64)[status == "subscribed"]
    random = np.random.default_rng(SEED)
    opened = ids[random.random(len(ids)) < 1 / 3]
    on_arrival = random.random(len(opened)) < 1 / 3
    clicked = ids[random.random(len(ids)) < 1 / 25]
    sent = np.datetime64(WEEK_SENT, "s")
    open_at = sent + np.where(on_arrival, random.integers(2, 60, len(opened)),
                              random.integers(600, 86_400 * 3, len(opened))).astype("timedelta64[s]")
    click_at = sent + random.integers(900, 86_400 * 3, len(clicked)).astype("timedelta64[s]")
    n = len(ids) + len(opened) + len(clicked)
    agent = np.full(n, None, dtype=object)
    agent[len(ids):len(ids) + len(opened)][on_arrival] = "Mozilla/5.0"
    link = np.full(n, None, dtype=object)
    link[len(ids) + len(opened):] = "https://example.com/december"
    events = pa.table({
        "contact_id": np.concatenate([ids, opened, clicked]),
        "campaign_id": np.full(n, campaign_id),
        "event_type": ["send"] * len(ids) + ["open"] * len(opened) + ["click"] * len(clicked),
        "occurred_at": pa.array(np.concatenate([np.full(len(ids), sent), open_at, click_at]))
        .cast(pa.string()),
        "user_agent": agent, "ip": np.full(n, None, dtype=object), "link": link,
    })
    pacsv.write_csv(events, folder / "email_events.csv")
    (folder / "done").write_text("")
    return folder


# -- the steps, one per process -----------------------------------------------------------------
def run_step(step: str, n_contacts: int, url: str) -> dict:
    started = time.perf_counter()
    figures: dict = {}
    if step == "import":
        dataset, _ = ek.read_any([ensure_files(n_contacts)])
        result = ek.Workspace.open(url).import_dataset(dataset, mode="replace")
        figures["events"] = result.counts["email_events"]
    elif step == "merge_week":
        dataset, _ = ek.read_any([ensure_week_files(n_contacts)])
        result = ek.Workspace.open(url).import_dataset(dataset, mode="merge")
        figures["events"] = result.counts["email_events"]
    elif step in ("first_levels", "later_levels", "levels_after_merge"):
        session = ek.Session.open(url)
        figures["most_engaged"] = int(session.report.current.counts()["most_engaged"])
    elif step == "segment_count":
        session = ek.Session.open(url)
        definition = ek.SegmentDefinition.from_json(SEGMENT)
        figures["memory_count"] = session.count(definition)
        counted = time.perf_counter()
        figures["memory_count_s"] = round(_timed(lambda: session.count(definition)), 6)
        session.count(definition, engine="sql")  # first call: level snapshots and countings stored
        figures["sql_first_s"] = round(time.perf_counter() - counted, 3)
        figures["sql_count_s"] = round(_timed(lambda: session.count(definition, engine="sql")), 4)
        figures["sql_count"] = session.count(definition, engine="sql")
        if postgres_base() and n_contacts <= SHARD:
            figures.update(_postgres_count(n_contacts, definition))
    elif step == "import_postgres":
        with tempfile.TemporaryDirectory() as work:
            dataset, _ = ek.read_any([ensure_files(n_contacts)])
            result = ek.Workspace.open(url, cache_dir=work).import_dataset(dataset, mode="replace")
        figures["events"] = result.counts["email_events"]
    elif step == "audience_export":
        session = ek.Session.open(url)
        with tempfile.TemporaryDirectory() as work:
            session.audience_csv(ek.SegmentDefinition.from_json(SEGMENT), Path(work) / "audience.csv")
            figures["rows"] = sum(1 for _ in (Path(work) / "audience.csv").open()) - 1
    else:
        raise SystemExit(f"unknown step {step}")
    return {"seconds": round(time.perf_counter() - started, 2), "peak_rss_mb": peak_rss_mb(), **figures}


def _postgres_count(n_contacts: int, definition: ek.SegmentDefinition) -> dict:
    """The SQL count in the PostgreSQL workspace of the benchmark sample (first call, then the
    median of five). Beyond 1M contacts the scale data is made of shards, not that sample."""
    workspace = ek.Workspace.open(postgres_workspace(n_contacts),
                                  cache_dir=dataset_dir(n_contacts) / "postgres-columnar")
    session = ek.Session(workspace, ek.resolve_settings(workspace))
    started = time.perf_counter()
    count = session.count(definition, engine="sql")  # first call: level snapshots and countings stored
    return {"sql_first_postgres_s": round(time.perf_counter() - started, 3),
            "sql_count_postgres_s": round(_timed(lambda: session.count(definition, engine="sql")), 4),
            "sql_count_postgres": count}


def _timed(work, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def measure(n_contacts: int) -> dict:
    ensure_files(n_contacts)
    ensure_week_files(n_contacts)
    with tempfile.TemporaryDirectory(dir=DATA_DIR) as work:
        url = f"sqlite:///{Path(work) / 'workspace.db'}"
        steps = {}
        for step in STEPS:
            print(f"  {n_contacts:,} contacts: {step}…", file=sys.stderr)
            out = subprocess.run([sys.executable, __file__, "--step", step, "--contacts",
                                  str(n_contacts), "--url", url],
                                 check=True, capture_output=True, text=True)
            steps[step] = json.loads(out.stdout.strip().splitlines()[-1])
    if postgres_base() and n_contacts <= SHARD:
        print(f"  {n_contacts:,} contacts: import_postgres…", file=sys.stderr)
        with fresh_postgres_database(f"engagekit_scale_import_{n_contacts}") as url:
            out = subprocess.run([sys.executable, __file__, "--step", "import_postgres", "--contacts",
                                  str(n_contacts), "--url", url],
                                 check=True, capture_output=True, text=True)
            steps["import_postgres"] = json.loads(out.stdout.strip().splitlines()[-1])
    return steps


@contextlib.contextmanager
def fresh_postgres_database(name: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database ``name`` (generated, never user input),
    dropped afterwards."""
    base = sa.engine.make_url(postgres_base())
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000",
                        help="comma-separated contact counts (make bench-scale: 1M,2M,5M,10M)")
    parser.add_argument("--contacts", type=int, help="one size (what benchmarks/run.py passes)")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, args.contacts, args.url)))
        return 0
    sizes = [args.contacts] if args.contacts else [int(size) for size in args.sizes.split(",")]
    results = {str(n): measure(n) for n in sizes}
    first = results[str(sizes[0])]
    growth = {
        str(n): {step: round(results[str(n)][step]["seconds"] / max(first[step]["seconds"], 1e-9)
                             / (n / sizes[0]), 2) for step in STEPS}
        for n in sizes[1:]
    }
    summary = {"sizes": sizes, "steps": results, "time_per_contact_vs_smallest": growth,
               "targets": TARGETS, "sample": f"seed {SEED}, {dataset_dir(SHARD).name} repeated as shards"}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "scale.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\nScale benchmark: wall time in seconds / peak RSS in MB, each step in its own process")
    print(f"{'contacts':>11} " + " ".join(f"{step:>22}" for step in STEPS))
    for n in sizes:
        cells = [f"{results[str(n)][s]['seconds']:>9.1f} s {results[str(n)][s]['peak_rss_mb']:>7.0f} MB"
                 for s in STEPS]
        print(f"{n:>11,} " + " ".join(f"{cell:>22}" for cell in cells))
    for n in sizes:
        count = results[str(n)]["segment_count"]
        print(f"{n:>11,} segment count: memory {count['memory_count_s'] * 1000:.1f} ms, "
              f"SQL {count['sql_count_s'] * 1000:.0f} ms ({count['sql_count']:,} contacts, equal to "
              f"memory: {count['sql_count'] == count['memory_count']})")
        if "import_postgres" in results[str(n)]:
            imported = results[str(n)]["import_postgres"]
            print(f"{n:>11,} import into PostgreSQL: {imported['seconds']:.1f} s, "
                  f"{imported['peak_rss_mb']:.0f} MB")
        if "sql_count_postgres" in count:
            print(f"{n:>11,} segment count on PostgreSQL: SQL {count['sql_count_postgres_s'] * 1000:.0f} ms "
                  f"({count['sql_count_postgres']:,} contacts, equal to memory: "
                  f"{count['sql_count_postgres'] == count['memory_count']})")
    if growth:
        print("time per contact against the smallest size (1.00 = linear):", json.dumps(growth))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
