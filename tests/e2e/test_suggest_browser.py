"""End to end, in chromium: the reader's suggestion on a call nobody reviewed, accepted with one key
(Alt+A), saved on that call with the suggested verdict and tag, and the review moves on."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from browser import needs_chromium, open_nav, settled, shown, type_in_sidebar
from failure_modes_data import MODES, use_fp32_embeddings, write_failure_modes_log
from mining.ingest import ingest_paths
from mining.review import add_tag, list_events, save_review
from mining.store import Workspace

pytestmark = needs_chromium
TAGS = {"refund": "billing", "login": "account_access", "shipping": "delivery"}


@pytest.fixture
def reviewed(tmp_path: Path) -> tuple[Path, str]:
    """The three-mode log with six calls of each mode reviewed by ana (a hard example with its mode's
    tag); the path and the record id of a shipping call nobody reviewed."""
    path = tmp_path / "workspace.duckdb"
    workspace = Workspace.open(path)
    ingest_paths(workspace, [write_failure_modes_log(tmp_path / "modes.jsonl", varied_answers=True)])
    use_fp32_embeddings(workspace)
    for tag in TAGS.values():
        add_tag(workspace, tag)
    ids = dict(workspace.cursor().execute("SELECT source_id, record_id FROM records").fetchall())
    for mode in MODES:
        for index in range(6):
            save_review(workspace, ids[f"{mode}-{index:02d}"], "ana", verdict="hard_example", tags=[TAGS[mode]])
    Workspace.close_all()
    return path, ids["shipping-12"]


def _with_record(url: str, record_id: str) -> str:
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "record"] + [("record", record_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_one_key_accepts_the_readers_suggestion_for_the_call_on_screen(reviewed, tmp_path, chromium_page):
    from playwright.sync_api import expect

    from browser import serve

    path, target = reviewed
    page = chromium_page
    with serve(path, tmp_path / "streamlit.log") as url:
        page.goto(url)
        type_in_sidebar(page, "Reviewer", "cy")
        open_nav(page, "Review")
        shown(page, page.get_by_text("failures in this queue", exact=False))
        settled(page)
        page.goto(_with_record(page.url, target))
        shown(page, page.get_by_text(re.compile(r"^The reader, which learnt from the reviews so far, suggests: "
                                                r"Hard example .*tags delivery")))
        expect(page.get_by_role("button", name=re.compile("Accept the suggestion"))).to_be_visible()
        settled(page)
        page.keyboard.press("Alt+A")
        shown(page, page.get_by_text(re.compile(r"^Saved shipping-12 ")))
        expect(page).not_to_have_url(re.compile(rf"record={target}"))
    workspace = Workspace.open(path)
    try:
        saved = {event.action: event.payload["after"] for event in list_events(workspace, target) if event.reviewer == "cy"}
    finally:
        Workspace.close_all()
    assert saved.get("verdict") == "hard_example" and saved.get("tags") == ["delivery"], saved
