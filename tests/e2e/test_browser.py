"""End to end: the real app in a real (headless) chromium, from an empty workspace to a record."""

from __future__ import annotations

import json
import re

from browser import needs_chromium, open_nav, select_row, shown
from mining.demo import demo_lines

HTML = "<img src=x onerror=alert(1)><b>bold</b>"
pytestmark = needs_chromium


def select_first_row(page, grid) -> None:
    """Select the table's first record: the URL then names it."""
    from playwright.sync_api import expect

    select_row(page, grid, lambda: expect(page).to_have_url(re.compile(r"[?&]record=[0-9a-f]{32}"), timeout=10_000))


def test_demo_to_record_and_log_text_stays_plain(app_url, page, tmp_path):
    from playwright.sync_api import expect

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
