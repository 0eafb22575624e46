"""End to end: the Clusters page in a real (headless) chromium: run, map, one failure mode up close."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import needs_chromium, open_nav, select_row, shown
from mining.cluster import ClusterSettings, kinds_of_mode, run_clustering
from mining.cluster.views import cluster_detail, list_clusters, unclustered_count
from mining.ingest import ingest_paths
from mining.store import Workspace

from failure_modes_data import use_fp32_embeddings, write_failure_modes_log  # noqa: E402

pytestmark = needs_chromium


@pytest.fixture
def top_mode(tmp_path: Path) -> dict:
    """The three-mode log whose failures answer three wrong answers in turn, ingested and clustered
    once (closed before the app opens it); its top mode with its examples' answers, its kinds, and the
    number of legend entries the map should show (a mode each, and unclustered if any)."""
    workspace = Workspace.open(tmp_path / "workspace.duckdb")
    ingest_paths(workspace, [write_failure_modes_log(tmp_path / "modes.jsonl", varied_answers=True)])
    use_fp32_embeddings(workspace)
    run_clustering(workspace, ClusterSettings(seed=0))
    top = cluster_detail(workspace, list_clusters(workspace)[0]["id"])
    top["legend"] = len(list_clusters(workspace)) + (1 if unclustered_count(workspace) else 0)
    top["answers"] = dict(workspace.cursor().execute(
        "SELECT record_id, response_text FROM records WHERE record_id IN (SELECT unnest(?::VARCHAR[]))",
        [[example["record_id"] for example in top["examples"]]]).fetchall())
    top["kinds"] = kinds_of_mode(workspace, top["id"])
    Workspace.close_all()
    return top


def test_map_and_a_failure_mode_open_and_a_rerun_keeps_them(top_mode, app_url, page):
    from playwright.sync_api import expect

    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.goto(app_url)
    open_nav(page, "Failure modes")
    shown(page, page.get_by_text("Ranked by impact"))

    # The map: a plotly WebGL scatter with one legend entry per mode (three) and unclustered, if any.
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    expect(chart.locator("canvas").first).to_be_attached()
    assert top_mode["legend"] in (3, 4)
    expect(chart.locator(".legendtext")).to_have_count(top_mode["legend"])

    # The first-ranked mode opens in detail: its name, numbers, typical examples (log text, as text).
    grid = page.locator('[data-testid="stDataFrame"]').first
    select_row(page, grid, lambda: expect(page.get_by_text("Most typical examples")).to_be_visible(timeout=10_000))
    expect(page.get_by_role("heading", name=top_mode["name"])).to_be_visible()
    expect(page.locator('[data-testid="stMetric"]', has_text="Lift")).to_contain_text(f"{top_mode['lift']:.1f}×")
    # Each example as what was asked and what the model answered, with the signal that fired.
    messages = page.locator('[data-testid="stChatMessage"]')
    for example in top_mode["examples"]:
        expect(messages.get_by_text(example["text"], exact=True)).to_be_visible()
    for answer in set(top_mode["answers"].values()):
        expect(messages.get_by_text(answer, exact=True).first).to_be_visible()
    expect(page.get_by_text("Negative feedback", exact=False).first).to_be_visible()
    # What went wrong in this mode, by kind: the three wrong answers cut across every mode.
    expect(page.get_by_text("What went wrong here")).to_be_visible()
    assert len(top_mode["kinds"]) == 3
    for kind in top_mode["kinds"]:
        link = page.locator('[data-testid="stPageLink"]', has_text=f"{kind['name']}: {kind['calls']} calls")
        expect(link).to_be_visible()
        assert f"kind={kind['id']}" in (link.locator("a").get_attribute("href") or "")
    expect(page.get_by_text("What went wrong, across the modes")).to_be_visible()
    expect(page.get_by_text("3 of 3 modes get: Refusal (18 calls)")).to_be_visible()

    # A second run from the page goes in the background and reports back; modes carry over as stable.
    page.get_by_role("button", name="Find failure modes").click()
    shown(page, page.get_by_text("(3 stable)", exact=False))

    main = page.locator('[data-testid="stMain"]')
    assert main.locator("b", has_text="bold").count() == 0 and main.locator('img[src="x"]').count() == 0
    assert alerts == []
