"""Robustness figures: fuzzed imports, concurrent users and ``kill -9``, on SQLite and PostgreSQL.

``make fuzz`` runs all three and writes ``benchmarks/results/fuzz.json``:

imports
    Malformed import files made by mutating the real-layout fixtures of ``tests/fixtures/``
    (canonical, Constant Contact, Mailchimp): truncations, stray quotes, other encodings, byte-order
    marks, binary bytes, huge cells, bad dates and nanosecond times, repeated ids and rows, odd
    e-mail addresses, gzip. Each is read and merged into a workspace holding data. Counted:
    crashes (any error that is not engagekit's own), rows lost without a report entry (per file,
    rows read minus rows kept must equal the rows the report skips), and failed imports that
    changed the workspace (compared row for row with its state before).
concurrency
    Processes at once on one workspace, each mixing merge imports, segment saves, list adds and
    loads. Counted: writes lost or duplicated, and raw errors (anything but one clear line).
kills
    A process importing, or saving segments, killed with ``SIGKILL`` at a random moment. Counted:
    workspaces that do not open, are inconsistent (the columnar copy differs from the database),
    or hold neither the old nor the new data.

PostgreSQL runs when ``$ENGAGEKIT_TEST_POSTGRES_URL`` is set. The fixed-seed subset that ``make
test`` runs is in ``tests/test_fuzz.py``.
"""

from __future__ import annotations

import argparse
import codecs
import gzip
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

import engagekit as ek
from engagekit.data.io.reading import load_text
from engagekit.data.schema import TABLES

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "fixtures"
RESULTS = HERE / "results" / "fuzz.json"
POSTGRES_ENV = "ENGAGEKIT_TEST_POSTGRES_URL"

# --- mutations of one file -------------------------------------------------------------------

ODD_EMAILS = [
    "ANN@EXAMPLE.COM", " ann@example.com ", "ann\u200b@example.com", "\ufeffann@example.com",
    "ann\u2060@example.com", "an\u00adn@example.com", "-john@example.com", "+ann@example.com",
    "\uff41nn@example.com", "a" * 300 + "@example.com", "ann@@example.com", "ann@example",
    "=HYPERLINK(\"http://x\")", "ann@example.com\u202e", "", "@", "a,b@example.com",
]
BAD_TIMES = [
    "2026-13-45", "2026-02-30", "tomorrow", "2026-11-24 10:15:00.123456789",
    "2026-11-24T10:15:00.123456789+02:00", "9999-12-31", "0001-01-01", "11/24/2026 25:99 PM",
    "1e10", "-1",
]
BAD_IDS = ["9007199254740993", "9007199254740993", "1.5", "-0", "99999999999999999999", "x", ""]


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def _cell_edit(rng: random.Random, data: bytes, values: list[str]) -> bytes:
    """One cell of one data row replaced by a value from ``values``."""
    lines = _lines(data)
    if len(lines) < 2:
        return data
    row = rng.randrange(1, len(lines))
    cells = lines[row].rstrip(b"\r\n").split(b",")
    cells[rng.randrange(len(cells))] = rng.choice(values).encode("utf-8")
    lines[row] = b",".join(cells) + b"\n"
    return b"".join(lines)


def truncate(rng, data):
    return data[: rng.randrange(0, max(len(data), 1))]


def stray_quote(rng, data):
    spot = rng.randrange(0, max(len(data), 1))
    return data[:spot] + b'"' + data[spot:]


def reencode(rng, data):
    text = data.decode("utf-8", errors="replace").replace("Ann", "Ánn").replace("a", "ä", 1)
    encoding = rng.choice(["cp1252", "latin-1", "utf-16", "utf-8-sig", "utf-16-le"])
    return text.encode(encoding, errors="replace")


def bom(rng, data):
    return rng.choice([codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF8 * 2]) + data


def binary(rng, data):
    spot = rng.randrange(0, max(len(data), 1))
    return data[:spot] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))) + data[spot:]


def huge_cell(rng, data):
    return _cell_edit(rng, data, ["x" * rng.choice([1_000, 140_000, 300_000])])


def bad_date(rng, data):
    return _cell_edit(rng, data, BAD_TIMES)


def duplicate_rows(rng, data):
    lines = _lines(data)
    if len(lines) < 2:
        return data
    row = lines[rng.randrange(1, len(lines))]
    lines.insert(rng.randrange(1, len(lines) + 1), row if row.endswith(b"\n") else row + b"\n")
    return b"".join(lines)


def bad_id(rng, data):
    return _cell_edit(rng, data, BAD_IDS)


def odd_email(rng, data):
    return _cell_edit(rng, data, ODD_EMAILS)


def extra_cells(rng, data):
    lines = _lines(data)
    row = rng.randrange(len(lines))
    lines[row] = lines[row].rstrip(b"\r\n") + b",extra,cells\n"
    return b"".join(lines)


def blank_and_crlf(rng, data):
    lines = [line.rstrip(b"\r\n") + rng.choice([b"\r\n", b"\n", b"\r\n\r\n"]) for line in _lines(data)]
    return b"".join(lines)


def semicolons(rng, data):
    return data.replace(b",", b";")


MUTATIONS = [truncate, stray_quote, reencode, bom, binary, huge_cell, bad_date, duplicate_rows,
             bad_id, odd_email, extra_cells, blank_and_crlf, semicolons]
LAYOUTS = ["canonical", "constant_contact", "mailchimp"]


def make_case(rng: random.Random, folder: Path) -> dict:
    """A copy of one fixture layout in ``folder`` with one to three files mutated."""
    layout = rng.choice(LAYOUTS)
    shutil.copytree(FIXTURES / layout, folder)
    files = sorted(path for path in folder.rglob("*.csv"))
    applied = []
    for path in rng.sample(files, k=min(len(files), rng.choice([1, 1, 2, 3]))):
        data = path.read_bytes()
        for mutation in rng.sample(MUTATIONS, k=rng.choice([1, 1, 2])):
            data = mutation(rng, data)
            applied.append(f"{path.relative_to(folder)}:{mutation.__name__}")
        if rng.random() < 0.1:  # some arrive compressed
            path.unlink()
            path = path.with_name(path.name + ".gz")
            data = gzip.compress(data)
        path.write_bytes(data)
    return {"layout": layout, "mutations": applied}


# --- checking one import ---------------------------------------------------------------------


def workspace_rows(workspace: ek.Workspace) -> dict[str, list]:
    """Every row of every data table, segments and lists, sorted: the state to compare."""
    tables = workspace.tables
    state = {}
    with workspace.engine.connect() as conn:
        for name in [*TABLES, "segments", "custom_fields", "meta"]:
            table = getattr(tables, name)
            rows = conn.execute(sa.select(table)).all()
            state[name] = sorted(map(repr, rows))
    return state


def _physical_rows(path: Path) -> int:
    """Lines after the header holding anything but spaces and separators, counted on the text
    itself, not by the reader: the fixtures have no cell spanning lines, so each is a row."""
    text = load_text(path)
    lines = re.split(r"\r\n|\r|\n", text)[1:]
    return sum(bool(line.strip(" \t,;\"")) for line in lines)


def unreported_rows(report: ek.ImportReport, folder: Path) -> int:
    """Rows neither kept nor named by a "row skipped" entry: per file, rows read minus rows kept
    minus rows skipped with an entry, and the lines of the file that no row read accounts for."""
    paths: dict[str, list[Path]] = {}
    for path in folder.rglob("*.csv*"):  # a file is labelled by its name, or folder/name
        paths.setdefault(path.name, []).append(path)
        paths.setdefault(f"{path.parent.name}/{path.name}", []).append(path)
    lost = 0
    for file, counts in report.rows.items():
        skipped = {issue.row for issue in report.issues
                   if issue.file == file and issue.row is not None and "row skipped" in issue.reason}
        lost += abs(counts["read"] - counts["kept"] - len(skipped))
        if file in paths:  # a name two folders share: the file that matches best
            lost += min(max(0, _physical_rows(path) - counts["read"]) for path in paths[file])
    return lost


def check_import(folder: Path, workspace: ek.Workspace, before: dict) -> dict:
    """Read and merge one fuzzed folder; what happened, in the terms of the figures."""
    outcome = {"crash": None, "lost": 0, "changed_on_failure": False, "result": "imported"}
    try:
        dataset, report = ek.read_any([folder])
    except ek.EngagekitError as error:
        outcome["result"] = "refused"
        outcome["message"] = str(error)
        outcome["changed_on_failure"] = workspace_rows(workspace) != before
        return outcome
    except Exception as error:  # noqa: BLE001 - counting these is the point
        outcome["crash"] = f"read: {type(error).__name__}: {error}"[:300]
        outcome["trace"] = "".join(line for line in traceback.format_exc().splitlines(keepends=True) if "engagekit" in line)[-1500:]
        return outcome
    outcome["lost"] = unreported_rows(report, folder)
    try:
        workspace.import_dataset(dataset, mode="merge")
    except ek.EngagekitError as error:
        outcome["result"] = "import refused"
        outcome["message"] = str(error)
        outcome["changed_on_failure"] = workspace_rows(workspace) != before
        return outcome
    except Exception as error:  # noqa: BLE001
        outcome["crash"] = f"import: {type(error).__name__}: {error}"[:300]
        outcome["trace"] = "".join(line for line in traceback.format_exc().splitlines(keepends=True) if "engagekit" in line)[-1500:]
        outcome["changed_on_failure"] = workspace_rows(workspace) != before
        return outcome
    loaded, stored = workspace.load(), workspace.read_database()
    if loaded.n_contacts != stored.n_contacts or set(loaded.contacts["email"]) != set(
            stored.contacts["email"]):
        outcome["crash"] = "the loaded copy differs from the database"
    return outcome


def run_imports(cases: int, seed: int) -> dict:
    """Fuzz ``cases`` imports from ``seed``; the figures and the first failures."""
    rng = random.Random(seed)
    summary = {"cases": cases, "seed": seed, "crashes": 0, "rows_lost_without_report": 0,
               "failed_imports_that_changed_the_workspace": 0, "refused": 0, "imported": 0,
               "examples": []}
    with tempfile.TemporaryDirectory(prefix="engagekit-fuzz-") as scratch:
        scratch = Path(scratch)
        template = scratch / "template"
        template.mkdir()
        base = ek.Workspace.open(f"sqlite:///{template / 'ws.db'}", cache_dir=str(template / "c"))
        base.import_dataset(ek.generate_sample(120, seed=5), mode="replace")
        base.lists.create("Kept list")
        base.engine.dispose()
        for number in range(cases):
            work = scratch / f"case{number}"
            shutil.copytree(template, work)
            workspace = ek.Workspace.open(f"sqlite:///{work / 'ws.db'}", cache_dir=str(work / "c"))
            before = workspace_rows(workspace)
            case = make_case(rng, work / "input")
            outcome = check_import(work / "input", workspace, before)
            workspace.engine.dispose()
            summary["crashes"] += outcome["crash"] is not None
            summary["rows_lost_without_report"] += outcome["lost"]
            summary["failed_imports_that_changed_the_workspace"] += outcome["changed_on_failure"]
            summary["refused" if "refused" in outcome["result"] else "imported"] += 1
            bad = outcome["crash"] or outcome["lost"] or outcome["changed_on_failure"]
            if bad and len(summary["examples"]) < 10:
                summary["examples"].append({**case, **outcome})
            shutil.rmtree(work, ignore_errors=True)
    return summary


# --- databases -------------------------------------------------------------------------------


@contextmanager
def database(kind: str):
    """A fresh, empty workspace URL on ``kind`` ("sqlite" or "postgres") for the block."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="engagekit-fuzz-db-") as folder:
            yield f"sqlite:///{folder}/ws.db"
        return
    base = sa.engine.make_url(os.environ[POSTGRES_ENV])
    name = f"engagekit_fuzz_{uuid.uuid4().hex[:12]}"  # generated, never user input
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def open_workspace(url: str, cache: str) -> ek.Workspace:
    return ek.Workspace.open(url, cache_dir=cache)


def _worker_dataset(process: int, step: int) -> ek.Dataset:
    contacts = pd.DataFrame({
        "contact_id": [1, 2],
        "email": [f"p{process}-s{step}-{i}@example.com" for i in (1, 2)],
        "first_name": ["Ann", "Bob"], "last_name": ["Lee", "Roe"],
        "date_added": ["2026-01-05", "2026-01-06"], "email_status": ["subscribed"] * 2,
    })
    return ek.Dataset.from_frames(contacts=contacts)


def worker(url: str, cache: str, process: int, steps: int, out: str) -> None:
    """One user: merge imports, segment saves, list adds and loads, in turn; what it did and met."""
    workspace = open_workspace(url, cache)
    store = ek.SegmentStore(workspace)
    done = {"imported": [], "segments": [], "listed": [], "loads": 0, "raw_errors": [],
            "reported": []}
    for step in range(steps):
        action = ("import", "segment", "list", "load")[step % 4]
        try:
            if action == "import":
                workspace.import_dataset(_worker_dataset(process, step), mode="merge")
                done["imported"] += [f"p{process}-s{step}-{i}@example.com" for i in (1, 2)]
            elif action == "segment":
                store.create(f"P{process} step {step}", ek.level_segment("least_engaged"))
                done["segments"].append(f"P{process} step {step}")
            elif action == "list":
                data = workspace.load()
                mine = data.contacts.loc[data.contacts["email"].str.startswith(f"p{process}-"),
                                         "contact_id"].to_numpy()
                workspace.lists.add_members(f"List of p{process}", mine)
                emails = data.contacts.set_index("contact_id").loc[mine, "email"].tolist()
                done["listed"] += emails
            else:
                workspace.load()
                done["loads"] += 1
        except ek.EngagekitError as error:
            message = str(error)
            (done["reported"] if "\n" not in message else done["raw_errors"]).append(message)
        except Exception as error:  # noqa: BLE001 - the figure counts them
            done["raw_errors"].append(f"{action}: {type(error).__name__}: {error}"[:300])
    Path(out).write_text(json.dumps(done))


def run_concurrency(kind: str, processes: int = 4, steps: int = 24) -> dict:
    """``processes`` users at once on one fresh workspace; lost, duplicated and raw errors."""
    with database(kind) as url, tempfile.TemporaryDirectory(prefix="engagekit-fuzz-cc-") as tmp:
        seed = open_workspace(url, f"{tmp}/seed-cache")
        seed.import_dataset(ek.generate_sample(80, seed=3), mode="replace")
        seed.engine.dispose()
        outs = [f"{tmp}/worker{p}.json" for p in range(processes)]
        started = time.perf_counter()
        running = [subprocess.Popen([sys.executable, __file__, "worker", url, f"{tmp}/cache{p}",
                                     str(p), str(steps), outs[p]]) for p in range(processes)]
        codes = [process.wait(timeout=900) for process in running]
        seconds = time.perf_counter() - started
        results = [json.loads(Path(out).read_text()) for out in outs if Path(out).exists()]
        final = open_workspace(url, f"{tmp}/check-cache")
        data = final.read_database()
        emails = data.contacts["email"].tolist()
        segments = [segment.name for segment in ek.SegmentStore(final).list()]
        members = set(data.list_memberships.merge(data.contacts, on="contact_id")["email"])
        final.engine.dispose()
    imported = [email for result in results for email in result["imported"]]
    saved = [name for result in results for name in result["segments"]]
    listed = [email for result in results for email in result["listed"]]
    return {
        "database": kind, "processes": processes, "operations": processes * steps,
        "seconds": round(seconds, 1), "worker_exit_codes": codes,
        "writes": len(imported) + len(saved) + len(listed),
        "lost_writes": len(set(imported) - set(emails)) + len(set(saved) - set(segments))
        + len(set(listed) - members),
        "duplicated_writes": (len(emails) - len(set(emails)))
        + sum(segments.count(name) > 1 for name in set(saved)),
        "raw_errors": sum(len(result["raw_errors"]) for result in results)
        + (processes - len(results)),
        "reported_in_one_line": sum(len(result["reported"]) for result in results),
        "raw_error_examples": [e for result in results for e in result["raw_errors"]][:5],
        "reported_examples": sorted({e for result in results for e in result["reported"]})[:5],
    }


# --- kill -9 ---------------------------------------------------------------------------------


def victim(url: str, cache: str, job: str) -> None:
    """The process that gets killed: one large import, or segment saves without end."""
    workspace = open_workspace(url, cache)
    if job == "import":
        print("ready", flush=True)
        workspace.import_dataset(ek.generate_sample(4_000, seed=11), mode="replace")
        print("done", flush=True)
    else:
        store = ek.SegmentStore(workspace)
        print("ready", flush=True)
        for step in range(100_000):
            store.create(f"Saved {step}", ek.level_segment("most_engaged"))


def run_kills(kind: str, trials: int = 5, seed: int = 1) -> dict:
    """Kill an import and a segment save ``trials`` times each; what the workspace looks like."""
    rng = random.Random(seed)
    summary = {"database": kind, "kills": 0, "opened": 0, "consistent": 0, "old_or_new_data": 0,
               "problems": []}
    old_count = 150
    for job in ("import", "segment"):
        for trial in range(trials):
            with database(kind) as url, tempfile.TemporaryDirectory(prefix="engagekit-kill-") as tmp:
                base = open_workspace(url, f"{tmp}/c0")
                base.import_dataset(ek.generate_sample(old_count, seed=2), mode="replace")
                base.load()
                base.engine.dispose()
                process = subprocess.Popen(
                    [sys.executable, __file__, "victim", url, f"{tmp}/c1", job],
                    stdout=subprocess.PIPE, text=True)
                process.stdout.readline()  # "ready": the work starts now
                time.sleep(rng.uniform(0.05, 2.5 if job == "import" else 1.0))
                process.send_signal(signal.SIGKILL)
                process.wait()
                summary["kills"] += 1
                try:
                    after = open_workspace(url, f"{tmp}/c0")  # the old cache folder, on purpose
                    summary["opened"] += 1
                    loaded, stored = after.load(), after.read_database()
                    same = (loaded.n_contacts == stored.n_contacts
                            and len(loaded.email_events) == len(stored.email_events))
                    names = [segment.name for segment in ek.SegmentStore(after).list()]
                    summary["consistent"] += same and len(names) == len(set(names))
                    summary["old_or_new_data"] += stored.n_contacts in (old_count, 4_000)
                    if not same or stored.n_contacts not in (old_count, 4_000):
                        summary["problems"].append(f"{job} trial {trial}: {stored.n_contacts} "
                                                   f"contacts, copy {loaded.n_contacts}")
                    after.engine.dispose()
                except Exception as error:  # noqa: BLE001 - the figure counts them
                    summary["problems"].append(f"{job} trial {trial}: {type(error).__name__}: "
                                               f"{error}"[:300])
    return summary


# --- the figures -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    kinds = ["sqlite", *(["postgres"] if os.environ.get(POSTGRES_ENV) else [])]
    figures = {"imports": run_imports(args.cases, args.seed)}
    print(json.dumps({key: value for key, value in figures["imports"].items() if key != "examples"}))
    figures["concurrency"] = [run_concurrency(kind) for kind in kinds]
    print(json.dumps(figures["concurrency"]))
    figures["kills"] = [run_kills(kind, args.kills) for kind in kinds]
    print(json.dumps(figures["kills"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    imports = figures["imports"]
    bad = (imports["crashes"] + imports["rows_lost_without_report"]
           + imports["failed_imports_that_changed_the_workspace"]
           + sum(c["lost_writes"] + c["duplicated_writes"] + c["raw_errors"]
                 for c in figures["concurrency"])
           + sum(k["kills"] - k["consistent"] + k["kills"] - k["old_or_new_data"]
                 for k in figures["kills"]))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif len(sys.argv) > 1 and sys.argv[1] == "victim":
        victim(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(main())

__all__ = ["make_case", "run_concurrency", "run_imports", "run_kills", "unreported_rows"]
