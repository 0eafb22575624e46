"""End to end: a reviewer works the Review page in a real (headless) chromium, and the review survives a reload."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from browser import needs_chromium, open_nav, select_row, settled, shown
from mining.cluster import ClusterSettings, run_clustering
from mining.ingest import ingest_paths
from mining.store import Workspace

from failure_modes_data import write_failure_modes_log  # noqa: E402

pytestmark = needs_chromium
CORRECTION = "Refunds take 5 to 7 working days; I have reopened order 4100 for you."


@pytest.fixture
def clustered(tmp_path: Path) -> Path:
    """The three-mode log, ingested and clustered once, closed before the app opens the workspace."""
    path = tmp_path / "workspace.duckdb"
    workspace = Workspace.open(path)
    ingest_paths(workspace, [write_failure_modes_log(tmp_path / "modes.jsonl")])
    run_clustering(workspace, ClusterSettings(seed=0))
    Workspace.close_all()
    return path


def sign_in(page, name: str) -> None:
    """Type the reviewer's name in the sidebar (a fresh browser session starts without one)."""
    field = page.locator('[data-testid="stSidebar"]').get_by_role("textbox", name="Reviewer")
    field.fill(name)
    field.press("Enter")


def test_a_reviewer_marks_a_hard_example_and_finds_it_after_a_reload(clustered, app_url, page):
    from playwright.sync_api import expect

    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.goto(app_url)
    sign_in(page, "ana")
    open_nav(page, "Review")
    shown(page, page.get_by_text("failures in this queue", exact=False))

    # The first record of the queue opens for review, its correction prefilled with the response.
    grid = page.locator('[data-testid="stDataFrame"]').first
    select_row(page, grid, lambda: expect(page).to_have_url(re.compile(r"[?&]record=[0-9a-f]{32}"), timeout=10_000))
    record_id = re.search(r"record=([0-9a-f]{32})", page.url).group(1)
    correction = page.get_by_role("textbox", name="Corrected answer")
    expect(correction).to_have_value("Please check our help centre.")
    expect(correction).to_be_focused()  # ready to type the fix
    expect(page.get_by_text("Failure mode: ", exact=False).first).to_be_visible()

    # Hard example, two tags, an edited correction; Save and next.
    hard = page.get_by_role("radio", name="Hard example")
    expect(hard).to_have_count(1)  # the page has settled: no faded element of the run before
    hard.check(force=True)
    tags = page.locator('[data-testid="stMultiSelect"]', has_text="Tags")
    for name in ("hallucination", "wrong answer"):
        tags.locator("input").click()
        page.get_by_role("option", name=name, exact=True).click()
        page.keyboard.press("Escape")
    correction.fill(CORRECTION)
    correction.press("Control+Enter")  # the form submits from the keyboard: Save and next
    shown(page, page.get_by_text(re.compile(r"^Saved .+ \(\d+ changes\)")))
    expect(page).not_to_have_url(re.compile(rf"record={record_id}"))

    # After a reload (a new session) the record, reopened by its URL, shows the saved review.
    page.reload()
    shown(page, page.get_by_text("failures in this queue", exact=False))
    page.goto(f"{app_url}/review?record={record_id}")
    sign_in(page, "ana")
    expect(page.get_by_text("Enter your name as Reviewer", exact=False)).to_have_count(0)
    shown(page, page.get_by_role("button", name="Save and next"))
    expect(page.get_by_role("textbox", name="Corrected answer")).to_have_count(1)
    expect(page.get_by_role("textbox", name="Corrected answer")).to_have_value(CORRECTION)
    expect(page.get_by_role("radio", name="Hard example")).to_be_checked()
    tags = page.locator('[data-testid="stMultiSelect"]', has_text="Tags")
    expect(tags).to_contain_text("hallucination")
    expect(tags).to_contain_text("wrong answer")

    # The Annotations tab exports every review event as JSONL.
    page.get_by_role("tab", name="Annotations").click()
    page.wait_for_timeout(300)  # switching tabs reruns the page (only the open team tab is drawn):
    settled(page)  # a button pressed while the rerun redraws it is lost
    with page.expect_download() as download:
        page.get_by_role("button", name="Export annotations (JSONL)").click()
    lines = [json.loads(line) for line in Path(download.value.path()).read_text().splitlines()]
    events = {line["action"]: line for line in lines if line["type"] == "event"}
    assert events["verdict"]["record_id"] == record_id and events["verdict"]["payload"]["after"] == "hard_example"
    assert events["correction"]["payload"]["after"]["text"] == CORRECTION
    assert sorted(events["tags"]["payload"]["after"]) == ["hallucination", "wrong_answer"]
    assert alerts == []


@pytest.fixture
def ingested(tmp_path: Path) -> Path:
    """The three-mode log, ingested only (no clustering), closed before the app opens the workspace."""
    path = tmp_path / "workspace.duckdb"
    workspace = Workspace.open(path)
    ingest_paths(workspace, [write_failure_modes_log(tmp_path / "modes.jsonl")])
    Workspace.close_all()
    return path


def open_for_review(page, app_url: str, source_id: str, reviewer: str) -> None:
    """Open one record on the Review page by the id its source gave it, as `reviewer`."""
    from playwright.sync_api import expect

    page.goto(app_url)  # the app itself first: on a fresh server a deep link would run the page alone
    shown(page, page.locator('[data-testid="stSidebar"]').get_by_role("textbox", name="Reviewer"))
    page.goto(f"{app_url}/review?record={source_id}")
    sign_in(page, reviewer)
    expect(page.get_by_text("Enter your name as Reviewer", exact=False)).to_have_count(0)
    shown(page, page.get_by_role("button", name="Save and next"))
    expect(page.get_by_role("textbox", name="Corrected answer")).to_have_count(1)


def test_two_reviewers_in_two_sessions_save_at_once_and_nothing_is_lost(ingested, app_url, page):
    from playwright.sync_api import expect

    other = page.context.browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    other.set_default_timeout(90_000)
    sessions = {"ana": (page, "Hard example", "ana's correction"), "ben": (other, "Not a failure", "ben's correction")}
    for name, (tab, _, _) in sessions.items():
        open_for_review(tab, app_url, "refund-03", name)
    for name, (tab, verdict, correction) in sessions.items():
        choice = tab.get_by_role("radio", name=verdict)
        expect(choice).to_have_count(1)  # the page has settled: no faded element of the run before
        choice.check(force=True)
        tab.get_by_role("textbox", name="Corrected answer").fill(correction)
    for tab, _, _ in sessions.values():  # both submit before either waits
        tab.get_by_role("textbox", name="Corrected answer").press("Control+Enter")
    for tab, _, _ in sessions.values():
        shown(tab, tab.get_by_text(re.compile(r"^Saved refund-03 \(\d+ changes\)")))

    # Both answers are there: the record is disputed, and the lead sees both in the adjudication list.
    # A page shows what the store held when it last ran, and ana's may have run before ben's save
    # landed: the lead opens the page afresh, as one would at the meeting.
    open_for_review(page, app_url, "refund-03", "ana")
    page.get_by_role("tab", name="Agreement").click()
    expect(page.get_by_role("button", name="Pick ana's answer")).to_be_visible()
    expect(page.get_by_role("button", name="Pick ben's answer")).to_be_visible()
    agreement = page.get_by_role("tabpanel", name="Agreement")
    expect(agreement.locator('[data-testid="stCode"]').get_by_text("ben's correction", exact=True)).to_be_visible()
    page.get_by_role("button", name="Pick ben's answer").click()
    shown(page, page.get_by_text("Final answer saved."))
    page.get_by_role("tab", name="Agreement").click()
    expect(agreement.get_by_text("No disagreements to settle.")).to_be_visible()
