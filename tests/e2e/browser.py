"""Helpers for the browser tests: serve the app on a free local port, wait for what a page shows.

Uses the system's chromium (Debian's package), never a browser downloaded by `playwright install`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest

from mining.store import WORKSPACE_ENV
from paths import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WAIT_MS = 90_000
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"chromium is not installed ({CHROMIUM})")


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


@contextmanager
def serve(workspace: Path, log: Path, defaults: bool = False) -> Iterator[str]:
    """`streamlit run app.py` over `workspace` on a free 127.0.0.1 port; yields its URL, then stops it.

    With `defaults`, the listening address and usage statistics are left to the repository's
    .streamlit/config.toml, as a plain `streamlit run app.py` leaves them."""
    port = free_port()
    env = {**os.environ, WORKSPACE_ENV: str(workspace)}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.headless", "true",
               "--server.fileWatcherType", "none"]  # edits elsewhere in the tree must not interrupt the test
    if not defaults:
        command += ["--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
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


def open_nav(page, title: str) -> None:
    """Click the navigation link whose label is `title` exactly (a link's text also holds its icon's
    name: "report" is Quarantine's icon, so a substring match would be ambiguous)."""
    page.locator('[data-testid="stSidebarNavLink"]').filter(has=page.get_by_text(title, exact=True)).click()


def shown(page, locator):
    """Wait for `locator`; if the app shows a traceback instead, fail at once with its text."""
    from playwright.sync_api import expect

    crash = page.locator('[data-testid="stException"]')
    expect(locator.or_(crash).first).to_be_visible()
    if crash.count():
        pytest.fail(f"the app raised: {crash.first.inner_text()}")
    return locator


def select_row(page, grid, selected: Callable[[], None], row: int = 0) -> None:
    """Tick a row's selection box in a table (a canvas), retrying while the table settles.

    `selected` asserts (with a short timeout) that the page reacted to the selection.
    """
    from playwright.sync_api import expect

    expect(grid.locator('[role="gridcell"]').first).to_be_attached()  # the grid has drawn its rows
    grid.scroll_into_view_if_needed()
    for attempt in range(5):
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17 + 35 * row)  # left column, under the header
        try:
            selected()
            return
        except AssertionError:
            if attempt == 4:
                raise


def sidebar_field(page, label: str):
    """A text box of the sidebar by its label: Workspace or Reviewer."""
    return page.locator('[data-testid="stSidebar"]').get_by_role("textbox", name=label)


def type_in_sidebar(page, label: str, value: str) -> None:
    """Type `value` in a sidebar text box and commit it (Enter), as a person does."""
    field = sidebar_field(page, label)
    field.fill(value)
    field.press("Enter")


def settled(page) -> None:
    """Wait until the app's script run has ended: a widget touched while a run still draws the page
    may be redrawn under the pointer (an open dropdown then closes)."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()


def choose_option(page, select, name: str) -> None:
    """Open a select box or multiselect and pick the option `name`, retrying while the page settles
    (a dropdown opened as a rerun redraws its widget closes again)."""
    from playwright.sync_api import Error, expect

    for attempt in range(5):
        settled(page)
        select.locator("input").click()
        try:
            page.get_by_role("option", name=name, exact=True).click(timeout=5_000)
            expect(select).to_contain_text(name, timeout=5_000)
            return
        except (AssertionError, Error):
            if attempt == 4:
                raise
            page.keyboard.press("Escape")
