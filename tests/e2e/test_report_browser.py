"""End to end: the report's HTML file, opened from disk in headless chromium with every request
watched, draws its charts and sections, runs no planted script, and asks nothing of the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from mining.report import period_for_week, render_html, weekly_report
from mining.report.formatting import TITLES
from mining.store import Workspace

import report_data  # noqa: E402

pytestmark = needs_chromium
LOCAL = ("file:", "data:", "about:", "blob:")


@pytest.fixture
def report_file(tmp_path: Path, write_log, openai_line) -> Path:
    """The hand-made workspace's report for its week, written where a mail attachment would land."""
    workspace = Workspace.open(tmp_path / "workspace.duckdb")
    report_data.build(workspace, write_log, openai_line)
    path = tmp_path / "faultline-report.html"
    path.write_text(render_html(weekly_report(workspace, period_for_week(report_data.WEEK))), encoding="utf-8")
    Workspace.close_all()
    return path


def test_the_report_opens_offline_with_its_charts_and_runs_no_log_text(report_file, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    outside: list[str] = []
    problems: list[str] = []
    dialogs: list[str] = []

    def route(handle, request) -> None:
        if request.url.startswith(LOCAL):
            handle.continue_()
        else:
            outside.append(request.url)
            handle.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.route("**/*", route)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(report_file.as_uri())
            charts = page.locator(".js-plotly-plot")
            expect(charts).to_have_count(4, timeout=30_000)
            for index in range(4):
                expect(charts.nth(index).locator("svg.main-svg").first).to_be_visible()
            expect(page.locator("#chart-volume .bars path").first).to_be_attached()  # bars were drawn
            for title in TITLES.values():
                expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
            expect(page.locator("pre", has_text="window.pwned = 1").first).to_be_visible()  # shown as text
            page.locator("#chart-modes").hover()  # hover labels render without loading anything
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            assert page.evaluate("window.pwned") is None
        finally:
            browser.close()
    assert outside == [], f"requests left the machine: {outside}"
    assert problems == [] and dialogs == []
