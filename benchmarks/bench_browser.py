"""How fast the dashboard feels, measured in a real headless Chromium.

The dashboard runs with its launcher (``python -m engagekit_dashboard.serve``, as ``make dashboard``
and ``engagekit dashboard`` start it) on a workspace of the seeded benchmark data (imported
once and cached under ``benchmarks/data/``). Playwright drives Debian's Chromium and times, from the
action to the moment the app has finished its run and drawn the result:

- the first load of the Overview page;
- a page switch to every page;
- a threshold change on *Data and settings*, with its preview of level sizes;
- a builder live count after a change of a criterion's value;
- a matrix cell click on *Transitions*;
- a contact lookup on *Contact*.

Each interaction is repeated ``--runs`` times (median reported). Targets (SPEC 4): 300 ms per
interaction at 5,000 contacts, 700 ms at 1,000,000, and a first load within 3 s at 1,000,000.
Results go to ``benchmarks/results/browser.json`` (one entry per size). Run
``python benchmarks/bench_browser.py --contacts 5000`` (and ``--contacts 1000000``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

import engagekit as ek  # noqa: E402

from data import DATA_DIR, ensure_dataset, load_dataset  # noqa: E402

RESULTS = HERE / "results" / "browser.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGES = ("Transitions", "Segments", "Segment builder", "Campaigns", "Contact", "Data and settings",
         "Overview")


def targets(n_contacts: int) -> dict[str, float]:
    return {"interaction_ms": 300.0 if n_contacts <= 5000 else 700.0, "first_load_ms": 3000.0}


def workspace_url(n_contacts: int) -> str:
    """A workspace of the benchmark data, imported once (with its columnar copy)."""
    path = DATA_DIR / f"browser_{n_contacts}.db"
    url = f"sqlite:///{path}"
    ready = path.with_suffix(".ready")  # written last: an import stopped half-way is done again
    if not ready.exists():
        print(f"Importing {n_contacts:,} contacts into {path} (once)…", file=sys.stderr)
        workspace = ek.Workspace.open(url)
        workspace.import_dataset(load_dataset(ensure_dataset(n_contacts)), mode="replace")
        workspace.load()
        ready.write_text("")
    # What every import does last (the CLI's and the dashboard's): keeps the overview's history.
    ek.Session.open(url).prepare_overview()
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_dashboard(url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "ENGAGEKIT_WORKSPACE": url}
    process = subprocess.Popen(
        [sys.executable, "-m", "engagekit_dashboard.serve",
         "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                return process, base
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError("the dashboard did not start")


def finished(page, timeout_ms: float = 120_000) -> float:
    """Wait until the app's run has ended and its output is drawn; the time it ended (s)."""
    # The running indicator may appear a moment after the action: give it that moment.
    with contextlib.suppress(PlaywrightTimeout):  # too fast to be seen, or already gone
        page.wait_for_selector("[data-testid='stStatusWidget']", timeout=250)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')"
        " && document.querySelector('[data-testid=\"stMain\"] h1')", timeout=timeout_ms)
    return time.perf_counter()


class Runs:
    """The app's script runs, seen in the messages its server sends the page over the websocket.

    Each run starts with a ``new_session`` message and ends with ``script_finished``. Reading
    them sees every run, however short: the page's own state attribute can go from running to
    not running within one render, and then shows no run at all.
    """

    def __init__(self, page):
        self.started = self.ended = 0
        page.on("websocket", lambda socket: socket.on("framereceived", self._message))

    def _message(self, payload) -> None:
        if isinstance(payload, str):
            return
        message = ForwardMsg.FromString(payload)
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.started += 1
        elif kind == "script_finished" and message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            self.ended += 1


# Two animation frames after the run's last message: what it sent is drawn.
DRAWN = """() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(
  !document.querySelector('[data-testid="stSkeleton"]')
  && !document.querySelector('[data-testid="stStatusWidget"]')))))"""


def timed(page, runs: Runs, action, timeout_ms: float = 120_000) -> float:
    """Milliseconds from ``action`` to the end of the run it started, with its output drawn."""
    before = runs.ended
    started = time.perf_counter()
    action()
    deadline = started + timeout_ms / 1000
    # Done when a run has ended since the action, none is going (a rerun the page asked for is
    # waited for) and the page has drawn what it was sent (a chart's code may still be loading).
    while runs.ended == before or runs.started > runs.ended or not page.evaluate(DRAWN):
        if time.perf_counter() > deadline:
            raise RuntimeError("the action started no run that ended")
        page.wait_for_timeout(2)  # lets Playwright deliver the websocket messages
    return (time.perf_counter() - started) * 1000


def nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()


def measure(base: str, runs: int, email: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        script_runs = Runs(page)
        started = time.perf_counter()
        page.goto(base)
        page.get_by_test_id("stMetric").first.wait_for(timeout=300_000)
        results["first_load_ms"] = [(finished(page, 300_000) - started) * 1000]
        for _ in range(runs):
            for title in PAGES:
                results.setdefault(f"switch_to_{title.lower().replace(' ', '_')}_ms", []).append(
                    timed(page, script_runs, lambda title=title: nav(page, title)))

        nav(page, "Data and settings")
        finished(page)
        box = page.locator(".st-key-set_min_sends input")
        for run in range(runs):
            def change(value=str(3 + (run % 3) + 1)):
                box.fill(value)
                box.press("Enter")
            results.setdefault("threshold_preview_ms", []).append(timed(page, script_runs, change))

        nav(page, "Segment builder")
        finished(page)
        conditions = ["is not", "is"]  # the first criterion: "current engagement level is ..."
        for run in range(runs):
            def pick(condition=conditions[run % 2]):
                page.locator("[class*='_2_op']").first.click()
                page.get_by_role("option", name=condition, exact=True).click()
            results.setdefault("builder_live_count_ms", []).append(timed(page, script_runs, pick))

        nav(page, "Transitions")
        finished(page)
        for run in range(runs):
            def click_cell(cell=(run % 4) * 4 + (run + 1) % 4):
                page.locator(".js-plotly-plot").nth(1).locator(".scatterlayer .point").nth(cell).click(force=True)
            results.setdefault("matrix_cell_click_ms", []).append(timed(page, script_runs, click_cell))

        nav(page, "Contact")
        finished(page)
        lookup = page.locator(".st-key-contact_email input")
        addresses = [email, email.upper()]  # the same contact, typed two ways
        for run in range(runs):
            def look_up(address=addresses[run % 2]):
                lookup.fill(address)
                lookup.press("Enter")
            results.setdefault("contact_lookup_ms", []).append(timed(page, script_runs, look_up))
        browser.close()
    return {name: round(statistics.median(values), 1) for name, values in results.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000, help="contacts (default 5,000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per interaction (default 5)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)

    url = workspace_url(args.contacts)
    email = ek.Workspace.open(url).load().contacts["email"].iloc[7]
    process, base = start_dashboard(url)
    try:
        medians = measure(base, args.runs, email)
    finally:
        process.terminate()
        process.wait(timeout=30)
    goal = targets(args.contacts)
    interactions = {k: v for k, v in medians.items() if k != "first_load_ms"}
    print(f"\nDashboard in Chromium, {args.contacts:,} contacts (median of {args.runs}):")
    for name, value in medians.items():
        limit = goal["first_load_ms"] if name == "first_load_ms" else goal["interaction_ms"]
        print(f"  {name:<34} {value:>8.1f} ms   target {limit:.0f} ms   {value / limit:.2f}x of target")
    entry = {
        "contacts": args.contacts, "runs": args.runs, "medians_ms": medians, "targets_ms": goal,
        "slowest_interaction_ms": max(interactions.values()),
        "met": max(interactions.values()) <= goal["interaction_ms"]
        and (args.contacts <= 5000 or medians["first_load_ms"] <= goal["first_load_ms"]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    stored = json.loads(args.out.read_text()) if args.out.exists() else {}
    stored[str(args.contacts)] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(stored, indent=2) + "\n")
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
