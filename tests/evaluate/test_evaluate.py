"""Evaluation runs from candidate files on the hand-made reviewed workspace: matching rows to golden
items, scores per mode and tag, per-item checks, re-scoring, comparison, the commands, demo files."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import polars as pl
import pytest

from chat_server import serve_chat
from export_data import build
from mining.__main__ import main
from mining.demo_answers import write_candidates
from mining.evaluate.answers import AnswerFileError, AnswerMapping
from mining.endpoint import EndpointConfig
from mining.evaluate.compare import cluster_figure, compare_runs, delta_figure
from mining.evaluate.items import golden_set, set_item_checks
from mining.evaluate.runs import (RunError, evaluate_endpoint, evaluate_file, list_runs, run_items, run_scores,
                                  score_run)
from mining.export.golden import add_golden
from mining.store import Workspace

GOLDEN = ("bill-1", "bill-2", "net-1", "net-2", "tool-0", "nocorr-0")
NORMALIZED = ["normalized"]


@pytest.fixture
def ids(workspace: Workspace, tmp_path: Path) -> dict[str, str]:
    ids = build(workspace, tmp_path)
    add_golden(workspace, [ids[source] for source in GOLDEN], "ana")
    return ids


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def production(tmp_path: Path) -> Path:
    return write(tmp_path / "production.jsonl", [{"id": source, "answer": f"Wrong answer about {source}."}
                                                 for source in ("bill-1", "bill-2", "net-1", "net-2")])


def tuned(tmp_path: Path) -> Path:
    return write(tmp_path / "tuned.jsonl", [
        {"id": "bill-1", "answer": "the correct answer for bill-1"},
        {"id": "bill-2", "answer": "I don't know, sorry."},
        {"id": "net-1", "answer": "The correct answer for net-1."},
        {"id": "net-2", "answer": "Wrong answer about net-2."},
        {"id": "stranger-9", "answer": "not a golden item"},
        {"id": "net-1", "answer": "a second row for net-1"}])


def test_golden_items_carry_references_and_leave_out_those_without(workspace, ids):
    golden = golden_set(workspace)
    references = {item.source_id: item.reference for item in golden.items}
    assert references["bill-1"] == "The correct answer for bill-1."
    assert json.loads(references["tool-0"])[0]["name"] == "create_ticket"
    assert golden.left_out == [("nocorr-0", "no reference answer yet (review it and write the correct answer)")]
    tool = next(item for item in golden.items if item.source_id == "tool-0")
    assert tool.tools and tool.messages[-1]["role"] == "user"


def test_a_file_run_is_scored_overall_per_mode_and_per_tag(workspace, ids, tmp_path):
    summary = evaluate_file(workspace, "tuned", tuned(tmp_path), checks=NORMALIZED, created_by="ana")
    overall = summary.scores["overall"]
    # bill-1 and net-1 correct, bill-2 abstained, net-2 wrong, tool-0 has no row (abstained: no answer)
    assert (overall["correct"], overall["incorrect"], overall["abstained"]) == (2, 1, 2)
    assert overall["accuracy"] == 0.4 and overall["omniscience_index"] == 20.0
    assert overall["hallucination_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary.scores["clusters"]["0"]["n"] == 2 and summary.scores["clusters"]["1"]["n"] == 3
    assert summary.scores["tags"]["tool_misuse"]["abstained"] == 1
    assert summary.answer_file.unknown == ["stranger-9"] and summary.answer_file.duplicates == ["net-1"]
    assert summary.answer_file.missing == ["tool-0"]
    assert any("no row" in warning for warning in summary.warnings)
    items = {row["id"]: row for row in run_items(workspace, "tuned").to_dicts()}
    assert items["bill-2"]["verdict"] == "abstained" and items["tool-0"]["reason"] == "no answer"
    assert items["net-2"]["reason"].startswith("normalized: differs")
    runs = list_runs(workspace).to_dicts()
    assert runs[0]["name"] == "tuned" and runs[0]["status"] == "scored" and runs[0]["items"] == 5


def test_an_items_own_checks_replace_the_runs_and_a_rescore_applies_them(workspace, ids, tmp_path):
    evaluate_file(workspace, "tuned", tuned(tmp_path), checks=NORMALIZED)
    assert set_item_checks(workspace, ids["net-2"], [{"type": "contains", "text": "net-2"}])
    assert not set_item_checks(workspace, ids["ok-0"], None)  # not golden
    rescored = score_run(workspace, "tuned")
    assert rescored.scores["overall"]["correct"] == 3
    assert run_scores(workspace, "tuned")["overall"]["correct"] == 3


def test_rows_match_by_mapped_columns_or_by_input_text_in_csv_and_parquet(workspace, ids, tmp_path):
    csv = tmp_path / "answers.csv"
    pl.DataFrame({"call": ["bill-1", "net-1"], "text": ["The correct answer for bill-1.", "nope"]}).write_csv(csv)
    summary = evaluate_file(workspace, "csv", csv, AnswerMapping(id_column="call", answer_column="text"), NORMALIZED)
    assert summary.scores["overall"]["correct"] == 1 and summary.scores["overall"]["incorrect"] == 1
    parquet = tmp_path / "answers.parquet"
    pl.DataFrame({"question": ["  why was I charged twice for the OCTOBER invoice? ", "How do I open port 8443 in "
                               "the firewall of my VPC?"],
                  "answer": ["x", "The correct answer for net-1."]}).write_parquet(parquet)
    golden_questions = {item.source_id for item in golden_set(workspace).items}
    assert "net-1" in golden_questions
    by_input = evaluate_file(workspace, "parquet", parquet, AnswerMapping(key="input", input_column="question"),
                             NORMALIZED)
    assert by_input.answer_file.unknown == ["  why was I charged twice for the OCTOBER invoice? "]  # bill-0: not golden
    assert by_input.scores["overall"]["correct"] == 1


def test_bad_files_are_refused_with_file_line_and_problem(workspace, ids, tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "bill-1", "answer": "x"}\n{"id": "bill-2", "answer": \n', encoding="utf-8")
    with pytest.raises(AnswerFileError, match=r"broken.jsonl, line 2: not JSON"):
        evaluate_file(workspace, "broken", broken)
    with pytest.raises(AnswerFileError, match="no column 'answer'; the file has id, reply"):
        evaluate_file(workspace, "cols", write(tmp_path / "cols.jsonl", [{"id": "bill-1", "reply": "x"}]))
    with pytest.raises(RunError, match="none of its 1 row matches a golden item"):
        evaluate_file(workspace, "none", write(tmp_path / "none.jsonl", [{"id": "zzz", "answer": "x"}]))
    with pytest.raises(AnswerFileError, match="use a .jsonl"):
        evaluate_file(workspace, "txt", tmp_path / "answers.txt")
    assert list_runs(workspace).is_empty()


def test_the_default_semantic_check_accepts_a_paraphrase_and_rejects_another_answer(workspace, ids, tmp_path):
    path = write(tmp_path / "para.jsonl", [{"id": "bill-1", "answer": "This is the correct answer for bill-1"},
                                           {"id": "bill-2", "answer": "Paris is the capital of France."}])
    summary = evaluate_file(workspace, "para", path)
    items = {row["id"]: row for row in run_items(workspace, "para").to_dicts()}
    assert items["bill-1"]["verdict"] == "correct" and items["bill-1"]["reason"].startswith("semantic: similarity")
    assert items["bill-2"]["verdict"] == "incorrect"
    assert summary.scores["overall"]["abstained"] == 3  # the three items without a row


def test_comparing_two_runs_shows_deltas_changed_items_and_modes(workspace, ids, tmp_path):
    evaluate_file(workspace, "production", production(tmp_path), checks=NORMALIZED)
    evaluate_file(workspace, "tuned", tuned(tmp_path), checks=NORMALIZED)
    comparison = compare_runs(workspace, "production", "tuned")
    assert comparison.paired == 5
    changes = {d.metric: d for d in comparison.deltas}
    assert changes["accuracy"].a == 0.0 and changes["accuracy"].b == 0.4
    assert changes["omniscience_index"].delta == pytest.approx(20.0 - (-80.0))
    assert sorted(item["id"] for item in comparison.improved) == ["bill-1", "bill-2", "net-1"]
    assert comparison.regressed == []  # tool-0: abstained in both, net-2: wrong in both
    modes = {row["cluster_id"]: row for row in comparison.clusters}
    assert modes[0]["a_omniscience"] == -100.0 and modes[0]["b_omniscience"] == 50.0
    assert len(delta_figure(comparison).data) == 1 and len(cluster_figure(comparison).data) == 2
    with pytest.raises(RunError, match="no scored evaluation run named 'nope'"):
        compare_runs(workspace, "production", "nope")


def test_evaluate_compare_and_golden_checks_commands(workspace, ids, tmp_path, capsys):
    path = str(workspace.path)
    Workspace.close_all()
    assert main(["-w", path, "evaluate", "--answers", str(production(tmp_path)), "--name", "production",
                 "-c", "normalized", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"accuracy", "omniscience_index", "hallucination_rate", "correct", "incorrect", "abstained",
            "clusters"} <= set(report)
    assert report["omniscience_index"] == -80.0 and report["file"]["missing"] == ["tool-0"]
    assert main(["-w", path, "evaluate", "-a", str(tuned(tmp_path)), "-n", "tuned", "-c", "normalized"]) == 0
    out = capsys.readouterr().out
    assert "omniscience index   20.0 [" in out and "per failure mode" in out
    assert main(["-w", path, "compare", "production", "tuned"]) == 0
    out = capsys.readouterr().out
    assert "improved: 3" in out and "regressed: 0" in out
    assert main(["-w", path, "golden", "checks", "net-2", "contains:net-2"]) == 0
    assert capsys.readouterr().out.strip() == "net-2: contains:net-2"
    assert main(["-w", path, "evaluate", "--rescore", "-n", "tuned", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["correct"] == 3
    assert main(["-w", path, "golden", "checks", "ok-0", "exact"]) == 1
    assert "not in the golden set" in capsys.readouterr().err
    assert main(["-w", path, "evaluate", "-n", "x", "-a", "f.jsonl", "--check", "fuzzy"]) == 1
    assert capsys.readouterr().err.startswith("error: unknown check 'fuzzy'")
    assert main(["-w", path, "evaluate", "-n", "x"]) == 1
    assert "give exactly one of" in capsys.readouterr().err


def test_demo_candidate_files_make_the_tuned_run_better(workspace, ids, tmp_path):
    production_file, tuned_file = write_candidates(workspace, tmp_path / "candidates")
    rows = [json.loads(line) for line in tuned_file.read_text(encoding="utf-8").splitlines()]
    assert {row["id"] for row in rows} == {"bill-1", "bill-2", "net-1", "net-2", "tool-0"}
    evaluate_file(workspace, "production", production_file, checks=NORMALIZED)
    evaluate_file(workspace, "tuned", tuned_file, checks=NORMALIZED)
    comparison = compare_runs(workspace, "production", "tuned")
    changes = {d.metric: d for d in comparison.deltas}
    assert changes["omniscience_index"].delta > 0 and not comparison.regressed


def test_an_endpoint_run_stores_answers_as_they_come_and_resumes_where_it_stopped(workspace, ids):
    outage = {"on": True}
    stop = threading.Event()

    def answer(body: dict) -> tuple[int, str]:
        question = body["messages"][-1]["content"]
        if "payment methods" in question and outage["on"]:
            return 503, "overloaded"
        if "8443" in question:
            stop.set()  # the user presses Stop while this answer is on its way
        return 200, "The correct answer for that."

    def config(url: str) -> EndpointConfig:
        return EndpointConfig(url, "tiny", api_key_env=None, concurrency=1, retries=1, backoff_s=0.001)

    with serve_chat(answer) as chat:
        first = evaluate_endpoint(workspace, "served", config(chat.url), ["contains:correct answer"], "ana",
                                  stop_event=stop)
        first_questions = chat.questions()
        assert first.unanswered and first.scored < 5
        assert list_runs(workspace).to_dicts()[0]["status"] == "answering"
        outage["on"] = False
        second = evaluate_endpoint(workspace, "served", config(chat.url), ["contains:correct answer"], "ana")
        resumed = chat.questions()[len(first_questions):]
    assert second.unanswered == [] and second.scored == 5
    answered_first = {q for q in first_questions if "payment methods" not in q}
    assert not answered_first & set(resumed)  # what was answered is never asked again
    assert any("payment methods" in q for q in resumed) and len(resumed) == len(set(resumed))
    assert list_runs(workspace).to_dicts()[0]["status"] == "scored"
    assert run_scores(workspace, "served")["overall"]["correct"] == 5


def test_the_evaluate_command_asks_an_endpoint(workspace, ids, capsys):
    path = str(workspace.path)
    Workspace.close_all()
    with serve_chat(lambda body: (200, "The correct answer for that.")) as chat:
        assert main(["-w", path, "evaluate", "--endpoint", chat.url, "--model", "tiny", "--name", "served",
                     "--api-key-env", "", "-c", "contains:correct answer", "--json", "-q"]) == 0
        assert {body["model"] for body in chat.requests} == {"tiny"} and len(chat.requests) == 5
    report = json.loads(capsys.readouterr().out)
    assert report["correct"] == 5 and report["omniscience_index"] == 100.0 and report["unanswered"] == 0
    assert main(["-w", path, "evaluate", "--endpoint", "ftp://nowhere", "--model", "m", "--name", "bad",
                 "--api-key-env", "", "-q"]) == 1
    assert capsys.readouterr().err.startswith("error: The endpoint URL 'ftp://nowhere' is not an http")
