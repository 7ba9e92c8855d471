"""The dashboard in a real headless Chromium, driven by Playwright, on a sample workspace.

It opens the app, sees the four levels, picks a transition pair by clicking the heatmap and saves it
as a segment, builds a segment with an AND group and an OR group, saves it, finds it on the
segments page with the count the library gives, downloads its export and checks the CSV. On the
way it takes a screenshot of every page: into a temporary folder, or into the folder named by
``$ENGAGEKIT_SCREENSHOTS`` (``make screenshots`` sets it to ``docs/screenshots``).

Needs Debian's ``chromium`` at /usr/bin/chromium (``.ci/run`` installs it): without it the test
fails when ``CI=true`` and is skipped elsewhere.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

import engagekit as ek
from engagekit.segments.memory_engine import MemoryEngine
from engagekit.segments.operations import members_frame
from engagekit.segments.store import SegmentStore

from factories import AND_OR_SEGMENT

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AS_OF = "2026-11-30"
LABELS = list(ek.LEVEL_LABELS.values())
STARTUP_SECONDS = 60
TIMEOUT_MS = 60_000


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"headless Chromium is missing at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    chosen = os.environ.get("ENGAGEKIT_SCREENSHOTS")
    return Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def server(tmp_path_factory, sample_dataset):
    """The dashboard's launcher (``streamlit run`` underneath) on a fresh sample workspace; yields (base URL, workspace)."""
    require_chromium()
    folder = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{folder / 'ws.db'}"
    workspace = ek.Workspace.open(url)
    workspace.import_dataset(sample_dataset)
    port = free_port()
    env = {**os.environ, "ENGAGEKIT_WORKSPACE": url}
    log = (folder / "streamlit.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "engagekit_dashboard.serve",
         "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"streamlit did not start: {(folder / 'streamlit.log').read_text()[-2000:]}")
        time.sleep(0.3)
    yield base, workspace
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    require_chromium()

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.goto(server[0])
    settle(tab)
    yield tab
    context.close()


# --- driving Streamlit ----------------------------------------------------------------------------


def settle(page) -> None:
    """Wait until the script has finished its run and the page has drawn."""
    page.wait_for_selector("[data-testid='stMain'] h1")
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')"
    )
    page.wait_for_timeout(300)
    assert page.get_by_test_id("stException").count() == 0, page.get_by_test_id("stException").first.inner_text()


def widget(page, key_part: str):
    """The element whose widget key ends with ``key_part`` (Streamlit adds class st-key-<key>)."""
    return page.locator(f"[class*='{key_part}']").first


def pick(page, key_part: str, option: str) -> None:
    """Open the dropdown of a select widget and click one of its options."""
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):  # a click that lands while the widget redraws does not open it
        widget(page, key_part).locator("input").click()
        try:
            choice.wait_for(timeout=5000)
            break
        except Exception:  # noqa: BLE001 - playwright's TimeoutError; try the click again
            page.keyboard.press("Escape")
    choice.click()


def select(page, key_part: str, option: str) -> None:
    pick(page, key_part, option)
    settle(page)


def multiselect(page, key_part: str, options: list[str]) -> None:
    for option in options:
        pick(page, key_part, option)
        page.keyboard.press("Escape")
        settle(page)


def type_number(page, key_part: str, value: float) -> None:
    field = widget(page, key_part).locator("input")
    for _ in range(3):  # typing into an input that a late rerun redraws is lost: type it again
        field.fill(str(value))
        field.press("Enter")
        settle(page)
        if float(field.input_value() or "nan") == value:
            return
    raise AssertionError(f"the number input {key_part} did not keep {value}")


def view(page, key: str, name: str) -> None:
    """Pick the view ``name`` in the page's view control ``key``."""
    page.locator(f".st-key-{key}").get_by_role("radio", name=name, exact=True).click()
    settle(page)


def go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    settle(page)


def metric(page, label: str):
    """The value element of the metric card with this label."""
    card = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return card.get_by_test_id("stMetricValue")


def metric_value(page, label: str) -> str:
    """The value of the metric card with this label (waits for the card to be drawn)."""
    value = metric(page, label)
    expect(value).to_be_visible()
    return value.inner_text().strip()


def screenshot(page, name: str, folder: Path) -> None:
    """The whole page: the viewport is stretched to the height of the main area first."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": max(900, min(int(height) + 40, 4000))})
    page.wait_for_timeout(2000)  # charts and tables redraw at the new size
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))
    page.set_viewport_size({"width": 1440, "height": 1000})


def library_engine(workspace) -> MemoryEngine:
    return MemoryEngine(workspace.load(), as_of=AS_OF)


# --- the tests -------------------------------------------------------------------------------------


def test_overview_and_a_transition_pair_saved_as_a_segment(page, server, screenshots):
    _, workspace = server
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 3")
    labels = page.get_by_test_id("stMetricLabel").all_inner_texts()
    assert all(label in " ".join(labels) for label in LABELS)
    report = ek.engagement_report(workspace.load(), as_of=AS_OF)
    for row in report.level_changes().itertuples():
        assert metric_value(page, row.label) == f"{row.current:,}"
    screenshot(page, "overview", screenshots)

    go(page, "Transitions")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2")
    # Click the heatmap cell Somewhat engaged -> Least engaged (row 2, column 3 of 4 x 4).
    heatmap = page.locator(".js-plotly-plot").nth(1)
    heatmap.locator(".scatterlayer .point").nth(1 * 4 + 2).click(force=True)
    settle(page)
    expected = len(report.transitions.pair("somewhat_engaged", "least_engaged"))
    assert metric_value(page, "Somewhat engaged → Least engaged") == f"{expected:,} contacts"
    page.locator(".st-key-pair_save").locator("button").click()
    settle(page)
    expect(page.get_by_text("Saved segment")).to_be_visible()
    saved = SegmentStore(workspace).get("Somewhat engaged → Least engaged")
    assert library_engine(workspace).count(saved.definition) == expected
    screenshot(page, "transitions", screenshots)


def test_build_save_find_and_export_a_segment(page, server, screenshots):
    _, workspace = server
    go(page, "Segment builder")
    # Group 1 (AND): current level is least or somewhat engaged, and email status is subscribed.
    multiselect(page, "_2_value", ["Least engaged", "Somewhat engaged"])
    widget(page, "_1_add").locator("button").click()
    settle(page)
    select(page, "_3_source", "Contact details")
    select(page, "_3_field", "Email status")
    multiselect(page, "_3_value", ["subscribed"])
    # Group 2 (OR): tagged newsletter, or open rate at least 50 %.
    page.locator(".st-key-builder_add_group").locator("button").click()
    settle(page)
    widget(page, "_4_type").get_by_text("any of them (OR)").click()
    settle(page)
    select(page, "_5_source", "Tags")
    multiselect(page, "_5_value", ["newsletter"])
    widget(page, "_4_add").locator("button").click()
    settle(page)
    select(page, "_6_source", "Engagement metrics")
    select(page, "_6_field", "Open rate")
    select(page, "_6_op", "is at least")
    type_number(page, "_6_value", 50)

    document = AND_OR_SEGMENT
    engine = library_engine(workspace)
    expected = engine.count(document)
    assert expected > 0
    expect(metric(page, "Matching contacts")).to_have_text(f"{expected:,}")  # once the count follows

    name = "E2E engaged subscribers"
    widget(page, "_name").locator("input").fill(name)
    page.get_by_role("button", name="Save segment").click()
    settle(page)
    expect(page.get_by_text(f"{expected:,} contacts today")).to_be_visible()
    screenshot(page, "builder", screenshots)
    saved = SegmentStore(workspace).get(name)
    assert engine.count(saved.definition) == expected

    go(page, "Segments")
    expect(page.get_by_role("heading", name=name)).to_be_visible()  # opened on the saved segment
    assert metric_value(page, "Contacts") == f"{expected:,}"
    screenshot(page, "segments", screenshots)

    view(page, "segments_view", "Export")
    with page.expect_download() as download_info:
        page.locator(".st-key-segments_export").get_by_role("button").click()
    download = download_info.value
    assert download.suggested_filename == "e2e-engaged-subscribers.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert list(rows[0]) == ["Email address", "First name", "Last name"]  # headings a person reads
    members = members_frame(workspace.load(), engine, saved.definition, ["email"])
    assert sorted(row["Email address"] for row in rows) == sorted(members["email"])


def test_settings_preview(page, screenshots):
    go(page, "Data and settings")
    chart = page.locator(".js-plotly-plot").first  # its bar labels are SVG text
    before = chart.inner_text()
    type_number(page, "st-key-set_min_sends", 5)
    page.wait_for_timeout(500)
    assert chart.inner_text() != before
    expect(page.get_by_role("button", name="Apply")).to_be_enabled()
    screenshot(page, "settings", screenshots)


def test_upload_exports_see_the_report_and_merge(page, server):
    _, workspace = server
    before = workspace.load().n_contacts
    go(page, "Data and settings")
    view(page, "settings_view", "Data source")
    files = sorted((REPO / "tests" / "fixtures" / "constant_contact").glob("*.csv"))
    page.locator("input[type=file]").set_input_files([str(path) for path in files])
    expect(page.get_by_text("contacts_export.csv")).to_be_visible()  # long names are shortened
    page.get_by_role("button", name="Check the files").click()
    settle(page)
    expect(page.get_by_text("Import report")).to_be_visible()
    page.get_by_text("Merge into it (matched by email)").click()
    settle(page)
    page.get_by_role("button", name="Import", exact=True).click()
    settle(page)
    expect(page.get_by_text("Imported the uploaded files")).to_be_visible()
    merged = workspace.load()
    assert "ann@example.com" in set(merged.contacts["email"])
    assert merged.n_contacts > before


def test_every_asset_is_served_by_the_dashboard_itself(browser, server):
    """An offline deployment works: no page asks another host for anything (fonts, icons)."""
    from urllib.parse import urlparse

    base = server[0]
    hosts: set[str] = set()
    context = browser.new_context()
    tab = context.new_page()
    tab.on("request", lambda request: hosts.add(urlparse(request.url).netloc))
    for path in ("", "transitions", "segments", "builder", "campaigns", "contact", "settings"):
        tab.goto(f"{base}/{path}")
        settle(tab)
    context.close()
    assert hosts == {urlparse(base).netloc}


def test_a_matrix_cell_clicked_again_after_the_dropdown_is_picked_again(page, server):
    _, workspace = server
    report = ek.engagement_report(workspace.load(), as_of=AS_OF)
    go(page, "Transitions")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2")

    def click_cell(row: int, column: int) -> None:
        heatmap = page.locator(".js-plotly-plot").nth(1)
        heatmap.locator(".scatterlayer .point").nth(row * 4 + column).click(force=True)
        settle(page)

    click_cell(1, 2)  # Somewhat engaged -> Least engaged
    pair = len(report.transitions.pair("somewhat_engaged", "least_engaged"))
    assert metric_value(page, "Somewhat engaged → Least engaged") == f"{pair:,} contacts"
    select(page, "pair_current", "Most engaged")
    assert metric_value(page, "Somewhat engaged → Most engaged").endswith("contacts")
    click_cell(1, 2)  # the same cell again: it is picked again
    assert metric_value(page, "Somewhat engaged → Least engaged") == f"{pair:,} contacts"
    # the chosen cell is outlined
    assert page.locator(".js-plotly-plot").nth(1).locator(".shapelayer path").count() >= 1


@pytest.mark.parametrize("key", ["Enter", "Tab"])
def test_a_typed_as_of_date_refreshes_the_preview_and_is_what_apply_saves(page, server, key):
    _, workspace = server
    go(page, "Data and settings")
    widget(page, "st-key-set_follow").get_by_text("Use the data's latest date").click()
    settle(page)
    chart = page.locator(".js-plotly-plot").first  # its bar labels are SVG text
    expected = ek.engagement_report(workspace.load(), as_of="2026-10-31").current.counts()
    field = widget(page, "st-key-set_as_of").locator("input")
    field.fill("2026-10-31")
    field.press(key)
    settle(page)
    for count in expected:  # the preview follows the typed date, before any click
        expect(chart).to_contain_text(f"{count:,}")
    page.get_by_role("button", name="Apply").click()
    settle(page)
    expect(page.get_by_text("Settings applied to every page")).to_be_visible()
    assert workspace.load_settings()[1] == ek.as_timestamp("2026-10-31")
    workspace.save_settings(ek.EngagementConfig())  # the next tests see the data's own date


def test_the_view_stays_after_a_copy_and_the_toolbar_leaves_new_segment_free(page, server, screenshots):
    go(page, "Segments")
    page.locator("[data-testid='stDataFrame']").first.hover()
    page.wait_for_timeout(500)
    toolbar = page.get_by_test_id("stElementToolbar").first.bounding_box()
    button = page.locator(".st-key-segments_new").bounding_box()
    apart = (toolbar["y"] >= button["y"] + button["height"] or button["y"] >= toolbar["y"] + toolbar["height"]
             or toolbar["x"] >= button["x"] + button["width"] or button["x"] >= toolbar["x"] + toolbar["width"])
    assert apart, (toolbar, button)
    view(page, "segments_view", "Copy, edit or delete")
    page.locator(".st-key-segments_copy").locator("button").click()
    settle(page)
    expect(page.get_by_text("Copied to")).to_be_visible()
    chosen = page.locator(".st-key-segments_view").get_by_role("radio", name="Copy, edit or delete")
    expect(chosen).to_be_checked()


def test_lists_page(page, server, screenshots):
    _, workspace = server
    go(page, "Lists")
    widget(page, "st-key-lists_new_name").locator("input").fill("Win-back December")
    page.get_by_role("button", name="Create list").click()
    settle(page)
    expect(page.get_by_text("Created the empty list 'Win-back December'")).to_be_visible()
    assert "Win-back December" in workspace.lists.workspace_lists()
    screenshot(page, "lists", screenshots)


def test_campaigns_and_contact_pages(page, server, screenshots):
    base, workspace = server
    go(page, "Campaigns")
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    expect(page.get_by_text("Holdout", exact=False).first).to_be_visible()
    screenshot(page, "campaigns", screenshots)

    data = workspace.load()
    contact = data.contacts.iloc[0]
    page.goto(f"{base}/contact?email={contact['email']}")
    settle(page)
    name = " ".join(part for part in (contact["first_name"], contact["last_name"]) if isinstance(part, str))
    expect(page.get_by_role("heading", name=name or contact["email"])).to_be_visible()
    expect(page.get_by_text("Current level", exact=False).first).to_be_visible()
    screenshot(page, "contact", screenshots)
