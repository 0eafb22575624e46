"""End to end: the real app in a real (headless) chromium, from an empty workspace to a record.

Uses the system's chromium (Debian's package), never a browser downloaded by `playwright install`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from mining.demo import demo_lines
from mining.store import WORKSPACE_ENV

ROOT = Path(__file__).parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
HTML = "<img src=x onerror=alert(1)><b>bold</b>"
WAIT_MS = 90_000

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"chromium is not installed ({CHROMIUM})")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    """Poll Streamlit's health endpoint; fail with the server's log if it dies or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not answer within {timeout}s:\n{log.read_text()}")


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free local port over an empty workspace; stopped after the test."""
    port = free_port()
    log = tmp_path / "streamlit.log"
    env = {**os.environ, WORKSPACE_ENV: str(tmp_path / "workspace.duckdb")}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]  # edits elsewhere in the tree must not interrupt the test
    with open(log, "wb") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def page(app_url: str, tmp_path: Path):
    """A chromium page; its last screen is kept in tmp_path/last.png, to see what a failing test saw."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.set_default_timeout(WAIT_MS)
            yield tab
            tab.screenshot(path=str(tmp_path / "last.png"), full_page=True)
        finally:
            browser.close()


def open_nav(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).click()


def shown(page, locator):
    """Wait for `locator`; if the app shows a traceback instead, fail at once with its text."""
    from playwright.sync_api import expect

    crash = page.locator('[data-testid="stException"]')
    expect(locator.or_(crash).first).to_be_visible()
    if crash.count():
        pytest.fail(f"the app raised: {crash.first.inner_text()}")
    return locator


def select_first_row(page, grid) -> None:
    """Tick the first row's selection box in the table (a canvas), retrying while the table settles."""
    from playwright.sync_api import expect

    expect(grid.locator('[role="gridcell"]').first).to_be_attached()  # the grid has drawn its rows
    grid.scroll_into_view_if_needed()
    for attempt in range(5):
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # left column, first row under the header
        try:
            expect(page).to_have_url(re.compile(r"[?&]record=[0-9a-f]{32}"), timeout=10_000)
            return
        except AssertionError:
            if attempt == 4:
                raise


def test_demo_to_record_and_log_text_stays_plain(app_url, page, tmp_path):
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))

    # An empty workspace offers the demo; loading it fills the overview.
    page.goto(app_url)
    page.get_by_role("button", name="Load demo data").click()
    shown(page, page.get_by_text("3,000", exact=True))

    # Records: pick the first row of the table and read its conversation.
    open_nav(page, "Records")
    shown(page, page.get_by_text("3,000 matching records"))
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible()
    select_first_row(page, grid)
    header = page.locator('[data-testid="stText"]', has_text=" · nimbus_demo_seed7.jsonl").first
    expect(header).to_be_visible()
    source_id = header.inner_text().split(" · ")[0]
    line = next(line for line in demo_lines(seed=7, calls=3000) if line["id"] == source_id)
    question = [m["content"] for m in line["request"]["messages"] if m["role"] == "user"][-1]
    expect(page.locator('[data-testid="stChatMessage"]').get_by_text(question, exact=True).first).to_be_visible()

    # A log line holding HTML, ingested through the Ingest page, is shown as the literal text.
    log = tmp_path / "html.jsonl"
    log.write_text(json.dumps({
        "id": "html-1", "timestamp": "2026-11-09T10:00:00Z", "error": HTML,
        "request": {"model": "m", "messages": [{"role": "user", "content": HTML}]},
        "response": {"choices": [{"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]},
    }) + "\n")
    open_nav(page, "Ingest")
    path_input = page.get_by_label("…or a file or folder on this machine")
    path_input.fill(str(log))
    path_input.press("Enter")
    shown(page, page.get_by_text("format: OpenAI chat completions", exact=False))
    page.get_by_role("button", name="Run ingest").click()
    added = shown(page, page.locator('[data-testid="stMetric"]', has_text="Added"))
    expect(added).to_have_text(re.compile(r"Added\s*1$"))

    page.goto(f"{app_url}/records?record=html-1")
    shown(page, page.get_by_role("group", name="Chat message from user").get_by_text(HTML, exact=True))
    expect(page.locator('[data-testid="stAlert"]').get_by_text(HTML, exact=True)).to_be_visible()
    main = page.locator('[data-testid="stMain"]')
    assert main.locator("b", has_text="bold").count() == 0
    assert main.locator('img[src="x"]').count() == 0
    assert alerts == []
