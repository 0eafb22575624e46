"""End to end in headless chromium: a lead trains on an export from the Train page, reads the training
card with its loss curve, and scores the base, SFT and DPO models on the golden set."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import needs_chromium, open_nav, settled, shown
from export_data import build, export_training_rows
from tiny_model import save_tiny_chat_model
from mining.export.golden import add_golden
from mining.store import Workspace

pytestmark = needs_chromium


@pytest.fixture
def workspace_file(tmp_path: Path) -> Path:
    """The reviewed workspace with two golden items and an export of its hard examples."""
    path = tmp_path / "workspace.duckdb"
    workspace = Workspace.open(path)
    ids = build(workspace, tmp_path)
    add_golden(workspace, [ids["bill-2"], ids["net-1"]], "ana")
    export_training_rows(workspace, tmp_path / "exports")
    Workspace.close_all()
    return path


def test_a_lead_trains_and_scores_the_models_from_the_train_page(workspace_file, app_url, page, tmp_path):
    from playwright.sync_api import expect

    base = save_tiny_chat_model(tmp_path / "base")
    page.goto(app_url)
    open_nav(page, "Train")
    for label, value in (("Base model folder", str(base)), ("Output folder", str(tmp_path / "runs" / "week-49"))):
        page.get_by_role("textbox", name=label).fill(value)
        page.get_by_role("textbox", name=label).press("Tab")
    settled(page)
    page.get_by_role("button", name="Start training").click()
    shown(page, page.get_by_text("Trained SFT", exact=False))
    shown(page, page.get_by_role("heading", name="Training card"))
    expect(page.locator('[data-testid="stImage"]')).to_have_count(1)  # the loss curve
    page.get_by_role("button", name="Score on the golden set").click()
    shown(page, page.get_by_text("scored week-49-base, week-49-sft, week-49-dpo", exact=False))
    page.screenshot(path=str(tmp_path / "train.png"), full_page=True)
    open_nav(page, "Evaluate")
    page.get_by_role("tab", name="Compare").click()  # the newest two runs: DPO against the base
    shown(page, page.get_by_text("week-49-dpo against week-49-base on 2 golden items", exact=False))
