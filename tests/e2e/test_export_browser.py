"""End to end: a few reviewed failures are exported from the Export page in a real (headless)
chromium, and the folder comes back as a zip download."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from browser import needs_chromium, open_nav, shown
from mining.review import save_review
from mining.store import Workspace

from review_data import load_calls  # noqa: E402

pytestmark = needs_chromium


@pytest.fixture
def workspace_file(tmp_path: Path, write_log, openai_line) -> Path:
    """Six failing calls, four of them reviewed as hard examples with a correction; closed before the app opens it."""
    path = tmp_path / "workspace.duckdb"
    workspace = Workspace.open(path)
    ids = load_calls(workspace, write_log, openai_line)
    for i in range(4):
        save_review(workspace, ids[f"f-{i}"], "ana", verdict="hard_example", correction=f"The right answer {i}.")
    Workspace.close_all()
    return path


def test_export_writes_a_version_and_offers_it_as_a_zip(workspace_file, app_url, page, tmp_path):
    from playwright.sync_api import expect

    page.goto(app_url)
    open_nav(page, "Export")
    export = shown(page, page.locator('[data-testid="stBaseButton-primary"]', has_text="Export"))
    export.click()

    folder = tmp_path / "exports" / "faultline-v1"
    shown(page, page.get_by_text("Wrote faultline version 1."))
    expect(page.locator('[data-testid="stCode"]', has_text=str(folder))).to_be_visible()
    assert (folder / "manifest.json").is_file()

    download_button = page.locator('[data-testid="stDownloadButton"] button', has_text="Download faultline-v1.zip")
    expect(download_button).to_be_visible()
    with page.expect_download() as download:
        download_button.click()
    assert download.value.suggested_filename == "faultline-v1.zip"
    with zipfile.ZipFile(download.value.path()) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("faultline-v1/manifest.json"))
    assert {"faultline-v1/README.md", "faultline-v1/manifest.json", "faultline-v1/sft/train.jsonl"} <= names
    assert manifest["kinds"]["sft"]["rows"] == 4
