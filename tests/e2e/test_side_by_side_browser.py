"""End to end: scripts work on the workspace while the app serves it to a browser.

The defect: with the app running, every command failed ("open in another program"), even `info`.
Here the app is open on the Records page in chromium while a script reviews and ingests; both
sides see each other's work, and nothing is refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from browser import ROOT, needs_chromium, open_nav, shown
from mining.ingest import ingest_paths
from mining.store import Workspace
from paths import FIXTURES

pytestmark = needs_chromium


@pytest.fixture
def workspace_file(tmp_path: Path) -> Path:
    path = tmp_path / "workspace.duckdb"
    ingest_paths(Workspace.open(path), [FIXTURES / "openai_chat.jsonl"])
    Workspace.close_all()
    return path


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FAULTLINE_WAIT_SECONDS": "60"}
    return subprocess.run([sys.executable, "-m", "mining", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_scripts_run_while_the_app_serves_the_workspace(workspace_file, app_url, page, tmp_path):
    from playwright.sync_api import expect

    page.goto(app_url)
    open_nav(page, "Records")
    shown(page, page.get_by_text("36 matching records", exact=False))

    info = cli("info", "--json", "-w", str(workspace_file))
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["records"] == 36
    review = cli("review", "req_00001", "-w", str(workspace_file), "-r", "script", "--verdict", "hard_example")
    assert review.returncode == 0, review.stderr
    more = tmp_path / "more.jsonl"
    line = json.loads((FIXTURES / "openai_chat.jsonl").read_text().splitlines()[0])
    line["id"] = "req_from_cron"
    more.write_text(json.dumps(line) + "\n")
    ingest = cli("ingest", str(more), "-q", "-w", str(workspace_file))
    assert ingest.returncode == 0 and "1 added" in ingest.stdout, ingest.stderr

    page.reload()  # the app's next run sees what the scripts wrote
    open_nav(page, "Records")
    shown(page, page.get_by_text("37 matching records", exact=False))
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    after = cli("show", "req_00001", "--json", "-w", str(workspace_file))
    assert after.returncode == 0, after.stderr
