"""The Evaluate page, run headless with AppTest: runs and their scores, comparison, item checks, and
an endpoint run in the background against a small OpenAI-compatible server on 127.0.0.1 (tests/chat_server.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
from streamlit.testing.v1 import AppTest

import ui
from chat_server import serve_chat
from export_data import build
from mining import jobs
from mining.evaluate.items import golden_set
from mining.evaluate.runs import evaluate_file, list_runs, run_scores
from mining.export.golden import add_golden
from mining.store import Workspace
from paths import ROOT

PAGE = "views/evaluate.py"


def start(reviewer: str = "ana") -> AppTest:
    at = AppTest.from_file(ROOT / "app.py", default_timeout=120).run()
    at.session_state[ui.REVIEWER_KEY] = reviewer
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return "\n".join(element.value for element in at.text)


@pytest.fixture
def ids(workspace: Workspace, tmp_path: Path) -> dict[str, str]:
    ids = build(workspace, tmp_path)
    add_golden(workspace, [ids[s] for s in ("bill-1", "bill-2", "net-1", "net-2")], "ana")
    return ids


def write(path: Path, answers: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"id": k, "answer": v}) + "\n" for k, v in answers.items()), encoding="utf-8")
    return path


def test_an_empty_golden_set_says_what_to_do(workspace):
    at = start()
    assert any("golden set has no item with a reference answer" in info.value for info in at.info)
    assert "No evaluation run yet." in texts(at)


def test_runs_show_their_scores_and_two_runs_compare(workspace, ids, tmp_path):
    wrong = {s: f"Wrong answer about {s}." for s in ("bill-1", "bill-2", "net-1", "net-2")}
    evaluate_file(workspace, "production", write(tmp_path / "a.jsonl", wrong), checks=["normalized"])
    better = {**wrong, "bill-1": "The correct answer for bill-1.", "bill-2": "I don't know."}
    evaluate_file(workspace, "tuned", write(tmp_path / "b.jsonl", better), checks=["normalized"])
    at = start()
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Accuracy"] == "25.0%" and metrics["Omniscience index"] == "-25.0"  # the newest run: tuned
    assert metrics["Correct / incorrect / abstained"] == "1 / 2 / 1"
    assert "tuned against production on 4 golden items both answered: 2 improved, 0 regressed." in texts(at)
    deltas = next(frame.value for frame in at.dataframe if "B - A [95% interval]" in frame.value.columns)
    row = deltas[deltas["metric"] == "omniscience index"].iloc[0]
    assert row["A"] == "-100.0" and row["B"] == "-25.0" and row["B - A [95% interval]"].startswith("75.0 [")
    assert deltas[deltas["metric"] == "accuracy"].iloc[0]["B"] == "25.0%"
    assert len(at.get("plotly_chart")) == 2


def test_an_items_own_checks_are_saved_from_the_page(workspace, ids):
    at = start()
    at.selectbox(key="evaluate_item").set_value("net-2").run()
    at.session_state[ui.REVIEWER_KEY] = "ana"
    at.text_area(key=f"evaluate_item_checks_{ids['net-2']}").set_value("contains:net-2\nregex:(?i)answer").run()
    next(button for button in at.button if button.label == "Save the item's checks").click().run()
    assert not at.exception
    item = next(item for item in golden_set(workspace).items if item.source_id == "net-2")
    assert [check["type"] for check in item.checks] == ["contains", "regex"]
    at.text_area(key=f"evaluate_item_checks_{ids['net-2']}").set_value("fuzzy").run()
    next(button for button in at.button if button.label == "Save the item's checks").click().run()
    assert any("unknown check" in error.value and "fuzzy" in error.value for error in at.error)


@pytest.fixture
def endpoint() -> Iterator[str]:
    """Every question answered with the correct answer, except a refund question: "I don't know"."""
    def answer(body: dict) -> tuple[int, str]:
        question = body["messages"][-1]["content"]
        return 200, "I don't know." if "refund" in question else "The correct answer for that."

    with serve_chat(answer) as chat:
        yield chat.url


def test_an_endpoint_run_goes_in_the_background_and_is_scored(workspace, ids, endpoint):
    at = start()
    at.text_input(key="evaluate_name").set_value("served").run()
    at.radio(key="evaluate_source").set_value("endpoint").run()
    at.text_input(key="evaluate_base_url").set_value(endpoint).run()
    at.text_input(key="evaluate_model").set_value("tiny").run()
    at.text_area(key="evaluate_checks").set_value("contains:correct answer").run()
    at.session_state[ui.REVIEWER_KEY] = "ana"
    next(button for button in at.button if button.label == "Ask the endpoint").click().run()
    state = jobs.wait(workspace, timeout=60)
    assert state is not None and state.state == "finished", state
    at.run()
    assert not at.exception
    runs = list_runs(workspace).to_dicts()
    assert runs[0]["name"] == "served" and runs[0]["source"] == "endpoint" and runs[0]["created_by"] == "ana"
    overall = run_scores(workspace, "served")["overall"]
    assert (overall["correct"], overall["abstained"]) == (3, 1)  # bill-1 asks about a refund
