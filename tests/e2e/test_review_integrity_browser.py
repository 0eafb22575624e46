"""End to end, in chromium: the review form never saves on the wrong call, undo names what it will
undo and asks before reaching back, and state survives a reload and a link (the reviewer's name,
the workspace in use, the record)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from browser import (choose_option, needs_chromium, open_nav, select_row, serve, settled, shown, sidebar_field,
                     type_in_sidebar)
from mining.cluster import ClusterSettings, list_clusters, run_clustering
from mining.ingest import ingest_paths
from mining.review import list_events, save_review
from mining.store import Workspace

from failure_modes_data import use_fp32_embeddings, write_failure_modes_log  # noqa: E402
from paths import FIXTURES

pytestmark = needs_chromium
TYPED = "Typed for the first call, never meant for any other."
FIXED = "The right answer for the call now on screen."
ID = re.compile(r"record=([0-9a-f]{32})")


@pytest.fixture
def clustered(tmp_path: Path) -> tuple[Path, list[str], str]:
    """The three-mode log, ingested and clustered (fp32: the same modes every time), with one save
    of ana's from an earlier session; closed before the app opens it. Returns the path, the mode
    names and the source id of the call ana saved."""
    path = tmp_path / "workspace.duckdb"
    workspace = Workspace.open(path)
    ingest_paths(workspace, [write_failure_modes_log(tmp_path / "modes.jsonl")])
    use_fp32_embeddings(workspace)
    run_clustering(workspace, ClusterSettings(seed=0))
    names = [cluster["name"] for cluster in list_clusters(workspace)]
    earlier = workspace.cursor().execute(
        "SELECT record_id, source_id FROM records WHERE record_id IN (SELECT record_id FROM signals)"
        " ORDER BY source_id DESC LIMIT 1").fetchone()
    save_review(workspace, earlier[0], "ana", verdict="unsure")
    Workspace.close_all()
    return path, names, earlier[1]


def test_a_correction_typed_before_a_filter_change_never_lands_on_another_call(clustered, tmp_path, chromium_page):
    from playwright.sync_api import expect

    path, names, earlier = clustered
    page = chromium_page
    with serve(path, tmp_path / "streamlit.log") as url:
        page.goto(url)
        type_in_sidebar(page, "Reviewer", "ana")
        open_nav(page, "Review")
        shown(page, page.get_by_text("failures in this queue", exact=False))
        grid = page.locator('[data-testid="stDataFrame"]').first
        select_row(page, grid, lambda: expect(page).to_have_url(ID, timeout=10_000))
        first = ID.search(page.url).group(1)
        settled(page)
        mode = shown(page, page.get_by_text(re.compile(r"^Failure mode: "))).first.inner_text().split(": ", 1)[1]
        other = next(name for name in names if name != mode)
        page.get_by_role("textbox", name="Corrected answer").fill(TYPED)

        # Another failure mode in the queue filter, and Save pressed straight after: the first call's form
        # is either gone (the review moved on to the new queue) or refused if its press arrives late.
        page.locator('[data-testid="stExpander"]', has_text="Filters").locator("summary").click()
        modes = page.locator('[data-testid="stMultiSelect"]', has_text="Failure mode")
        choose_option(page, modes, other)  # chosen: the change is on its way to the app
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Save and next").click()
        shown(page, page.get_by_text(re.compile(r"^(Not done: you pressed Save and next on call|Not saved: "
                                                r"nothing changed on call)")).first)
        expect(page).not_to_have_url(re.compile(rf"record={first}"))
        expect(page.get_by_text(f"Failure mode: {other}", exact=True)).to_be_visible()
        second = ID.search(page.url).group(1)
        settled(page)

        # The call on screen gets what is typed into its own form.
        correction = page.get_by_role("textbox", name="Corrected answer")
        expect(correction).not_to_have_value(TYPED)
        hard = page.get_by_role("radio", name="Hard example")
        expect(hard).to_have_count(1)  # settled: no faded form of the run before
        hard.check(force=True)
        correction.fill(FIXED)
        page.get_by_role("button", name="Save and next").click()
        saved = shown(page, page.get_by_text(re.compile(r"^Saved .+ \(\d+ changes\)"))).inner_text()
        call = re.match(r"^Saved (.+) \(", saved).group(1)

        # Undo names the call, the reviewer, the fields and the time; this session's save goes at once.
        # (.first: the bulk actions' copy of the line sits in their closed expander)
        expect(page.get_by_text(re.compile(rf"^Undo would cancel ana's save on call {re.escape(call)} "
                                           r"\(verdict hard_example, correction\) from \d\d:\d\d UTC\.$")).first
               ).to_be_visible()
        page.get_by_role("button", name="Undo my last action").click()
        shown(page, page.get_by_text(f"Undid ana's save on call {call}", exact=False))
        # The next one back is from an earlier session: named, and only after a confirmation.
        page.get_by_role("button", name="Undo my last action").click()
        shown(page, page.get_by_text(f"This will undo an earlier action, not your last one in this session: "
                                     f"ana's save on call {earlier} (verdict unsure)", exact=False))
        page.get_by_role("button", name="Cancel").click()
        expect(page.get_by_text("This will undo an earlier action", exact=False)).to_have_count(0)
        expect(page.get_by_text(f"Undo would cancel ana's save on call {earlier}", exact=False).first).to_be_visible()
    workspace = Workspace.open(path)
    try:
        events = list_events(workspace)
    finally:
        Workspace.close_all()
    assert not [event for event in events if event.record_id == first]  # nothing on the call typed into first
    assert not [event for event in events if TYPED in str(event.payload)]  # the typed text nowhere
    corrections = [event for event in events if event.action == "correction"]
    assert [(event.record_id, event.after["text"]) for event in corrections] == [(second, FIXED)]
    assert {event.record_id for event in events if event.action == "undo"} == {second}  # the Cancel undid nothing


@pytest.fixture
def two_workspaces(tmp_path: Path) -> tuple[Path, Path]:
    """The server's own workspace (a few calls) and another beside it, in the same folder, with the
    three-mode log: a record of the second is in no way in the first."""
    own, other = tmp_path / "workspace.duckdb", tmp_path / "other.duckdb"
    ingest_paths(Workspace.open(own), [FIXTURES / "openai_chat.jsonl"])
    ingest_paths(Workspace.open(other), [write_failure_modes_log(tmp_path / "modes.jsonl")])
    Workspace.close_all()
    return own, other


def record_header(page):
    """The line under a record's heading that starts with its source id (Records and Review pages)."""
    return page.locator('[data-testid="stText"]').filter(has_text=re.compile(r" · "))


def test_a_reload_keeps_the_reviewer_and_links_land_where_they_point(two_workspaces, tmp_path, chromium_page):
    from playwright.sync_api import expect

    own, other = two_workspaces
    page = chromium_page
    with serve(own, tmp_path / "streamlit.log") as url:
        # The reviewer's name survives a reload (this browser keeps it).
        page.goto(url)
        type_in_sidebar(page, "Reviewer", "ana")
        page.wait_for_function("document.cookie.includes('faultline_reviewer=ana')")
        page.reload()
        expect(sidebar_field(page, "Reviewer")).to_have_value("ana")

        # A link copied in another workspace opens that record in that workspace, in a new session.
        type_in_sidebar(page, "Workspace", str(other))
        expect(page).to_have_url(re.compile(r"[?&]ws="))
        settled(page)
        open_nav(page, "Records")
        shown(page, page.get_by_text("matching records", exact=False))
        grid = page.locator('[data-testid="stDataFrame"]').first
        select_row(page, grid, lambda: expect(page).to_have_url(ID, timeout=10_000))
        header = shown(page, record_header(page)).first.inner_text()
        link = page.url
        assert "ws=" in link
        fresh = page.context.browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        fresh.set_default_timeout(90_000)
        fresh.goto(link)
        expect(shown(fresh, record_header(fresh)).first).to_have_text(header)
        expect(fresh.get_by_text("No record has the id", exact=False)).to_have_count(0)
        expect(sidebar_field(fresh, "Workspace")).to_have_value(str(other))
        fresh.context.close()

        # Open in Records from another record lands on that one, though a record was opened there before.
        opened = ID.search(page.url).group(1)
        open_nav(page, "Review")
        shown(page, page.get_by_text("failures in this queue", exact=False))
        queue = page.locator('[data-testid="stDataFrame"]').first
        select_row(page, queue, lambda: expect(page).to_have_url(ID, timeout=10_000))
        if ID.search(page.url).group(1) == opened:  # a call other than the one open in Records
            select_row(page, queue, lambda: expect(page).not_to_have_url(re.compile(rf"record={opened}"),
                                                                       timeout=10_000), row=1)
        target = ID.search(page.url).group(1)
        source_id = shown(page, record_header(page)).first.inner_text().split(" · ")[0]
        page.get_by_role("link", name="Open in Records").click()
        shown(page, page.get_by_text("matching records", exact=False))
        expect(page).to_have_url(re.compile(rf"record={target}"))
        expect(record_header(page).first).to_have_text(re.compile(rf"^{re.escape(source_id)} · "))
