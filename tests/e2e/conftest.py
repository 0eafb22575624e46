"""Fixtures of the browser tests: a served app over a workspace file, and a headless chromium page."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, serve


@pytest.fixture
def workspace_file(tmp_path: Path) -> Path:
    """The workspace the app is served over: empty unless a test module overrides this fixture."""
    return tmp_path / "workspace.duckdb"


@pytest.fixture
def app_url(workspace_file: Path, tmp_path: Path) -> Iterator[str]:
    with serve(workspace_file, tmp_path / "streamlit.log") as url:
        yield url


@pytest.fixture
def chromium_page(tmp_path: Path):
    """A chromium page, served by no app yet; its last screen is kept in tmp_path/last.png, to see
    what a failing test saw."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.set_default_timeout(WAIT_MS)
            yield tab
            tab.screenshot(path=str(tmp_path / "last.png"), full_page=True)
        finally:
            browser.close()


@pytest.fixture
def page(app_url: str, chromium_page):
    """A chromium page beside the app served over `workspace_file`."""
    return chromium_page
