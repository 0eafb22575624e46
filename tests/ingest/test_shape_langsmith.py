"""LangSmith runs: the samples through the real pipeline, and parse() by hand."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from mining.ingest import IngestReport, ingest_paths
from mining.ingest.record import BadRow, Record
from mining.ingest.shapes import detect_shape
from mining.ingest.shapes.langsmith import LangSmithRunShape, chat_message
from mining.store import Workspace
from paths import FIXTURES

RUNS = FIXTURES / "langsmith_runs.jsonl"
AGENT_RUNS = FIXTURES / "langsmith_agent_runs.jsonl"
OPENAI = FIXTURES / "openai_chat.jsonl"

ROOT_RUN = "01930000-aaaa-7000-8000-000000000000"


def _ingest(workspace: Workspace, *paths: Path) -> list[IngestReport]:
    reports = [report for path in paths for report in ingest_paths(workspace, [path])]
    assert all(report.ok for report in reports), [report.error for report in reports]
    return reports


def _record(workspace: Workspace, source_id: str) -> dict[str, Any]:
    result = workspace.cursor().execute("SELECT * FROM records WHERE source_id = ?", [source_id])
    names = [column[0] for column in result.description]
    rows = result.fetchall()
    assert len(rows) == 1, f"{source_id}: {len(rows)} rows"
    return dict(zip(names, rows[0]))


def _lc(class_name: str, **kwargs: Any) -> dict[str, Any]:
    """A message as LangChain serialises it into a run."""
    return {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", class_name], "kwargs": kwargs}


def _run(**fields: Any) -> dict[str, Any]:
    base = {
        "id": "r-1", "run_type": "llm", "trace_id": "r-1", "start_time": "2026-01-01T00:00:00+00:00",
        "end_time": "2026-01-01T00:00:01.500000+00:00",
        "inputs": {"messages": [[_lc("HumanMessage", content="hi", type="human")]]},
        "outputs": {"generations": [[{"text": "hello", "message": _lc("AIMessage", content="hello", type="ai")}]]},
    }
    return {**base, **fields}


def _parse_one(run: dict[str, Any]) -> Record:
    records = list(LangSmithRunShape().parse(run))
    assert len(records) == 1
    return records[0]


# --- the samples through the pipeline ---------------------------------------------------------

def test_run_sample_is_detected_and_ingested(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "w.duckdb")
    [report] = _ingest(workspace, RUNS)
    assert (report.format, report.rows_read, report.rows_added, report.rows_quarantined) == ("langsmith", 36, 36, 0)
    row = _record(workspace, "01900000-7a1c-7000-8000-000000000000")
    assert row["trace_id"] == "01900000-7a1c-7000-8000-000000000000" and row["parent_id"] is None
    assert row["model"] == "gpt-4o-mini-2024-07-18"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (51, 19, 70)
    assert row["finish_reason"] == "stop"
    assert row["ts"] == datetime(2026, 11, 9, 10, 7, tzinfo=timezone.utc)
    assert row["latency_ms"] == pytest.approx(1865.0)
    assert (row["user_id"], row["session_id"], row["status"]) == ("u-1042", "sess-000", "ok")
    assert json.loads(row["request_params"]) == {"temperature": 0.3}
    assert json.loads(row["metadata"])["tags"] == ["production"]
    assert json.loads(row["feedback"]) == [
        {"name": "user_score", "value": 0.0, "score": 0.0, "kind": "score", "source": "user", "comment": None}]
    assert row["feedback_score"] == 0.0
    assert _record(workspace, "01900005-7a1c-7000-8000-000000000005")["finish_reason"] == "length"
    assert _record(workspace, "01900007-7a1c-7000-8000-000000000007")["feedback_score"] == 1.0


def test_error_runs_become_error_status(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "w.duckdb")
    _ingest(workspace, RUNS)
    row = _record(workspace, "0190000b-7a1c-7000-8000-00000000000b")
    assert (row["status"], row["error"]) == ("error", "ToolError: billing.cancel_subscription returned 503")
    count = workspace.cursor().execute("SELECT count(*) FROM records WHERE status = 'error'").fetchone()[0]
    assert count == 3


def test_runs_match_the_openai_sample_call_by_call(tmp_path: Path) -> None:
    """The two samples log the same traffic: per call, the text to cluster on and the reply agree,
    except the three cancellations, which the OpenAI sample logs as a tool call and LangSmith as text."""
    workspace = Workspace.open(tmp_path / "w.duckdb")
    _ingest(workspace, RUNS, OPENAI)
    query = ("SELECT cluster_text, response_text, input_tokens, output_tokens, status FROM records"
             " WHERE source_format = ? ORDER BY ts")
    langsmith = workspace.cursor().execute(query, ["langsmith"]).fetchall()
    openai = workspace.cursor().execute(query, ["openai"]).fetchall()
    assert len(langsmith) == len(openai) == 36
    assert [row[0] for row in langsmith] == [row[0] for row in openai]
    differing = [index for index, (ours, theirs) in enumerate(zip(langsmith, openai)) if ours != theirs]
    assert differing == [11, 23, 35]


def test_agent_runs_tool_calls_wrap_openai_and_feedback(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "w.duckdb")
    [report] = _ingest(workspace, AGENT_RUNS)
    assert (report.rows_added, report.rows_skipped, report.rows_quarantined) == (5, 2, 0)  # chain and tool runs

    plan = _record(workspace, "01930001-aaaa-7000-8000-000000000001")
    assert (plan["trace_id"], plan["parent_id"]) == (ROOT_RUN, ROOT_RUN)
    assert json.loads(plan["tool_calls"]) == [
        {"id": "call_inv_1", "name": "get_invoice", "arguments": {"invoice_id": "INV-204"}}]
    assert plan["response_text"] is None and plan["finish_reason"] == "tool_calls"
    assert plan["model"] == "gpt-4o" and plan["session_id"] == "thread-42"
    assert json.loads(plan["tools"])[0]["function"]["name"] == "get_invoice"
    assert json.loads(plan["request_params"]) == {"temperature": 0.0, "stream": False}
    assert plan["cluster_text"] == "Warum wurde die Rechnung INV-204 doppelt belastet? 💳"
    assert (plan["feedback_score"], plan["feedback_comment"]) == (1.0, "right tool")  # the item, not the stats too
    assert len(json.loads(plan["feedback"])) == 1

    answer = _record(workspace, "01930003-aaaa-7000-8000-000000000003")
    messages = json.loads(answer["input_messages"])
    assert [message["role"] for message in messages] == ["system", "user", "assistant", "tool"]
    assert messages[2]["tool_calls"][0]["name"] == "get_invoice" and messages[2]["content"] is None
    assert messages[3]["tool_call_id"] == "call_inv_1"
    assert answer["response_text"] == "Die zweite Belastung war ein Duplikat; sie wird in 3-5 Werktagen erstattet."
    assert (answer["input_tokens"], answer["output_tokens"], answer["total_tokens"]) == (130, 28, 158)
    assert answer["finish_reason"] == "end_turn"
    items = {item["name"]: item for item in json.loads(answer["feedback"])}
    assert items["correctness"]["kind"] == "correction" and items["correctness"]["score"] is None
    assert items["correctness"]["source"] == "annotation"
    assert items["correctness"]["value"]["outputs"]["output"].endswith("automatisch erstattet.")
    assert items["helpfulness"]["source"] == "eval"
    assert answer["feedback_score"] == pytest.approx(0.4)  # only the eval judged; the correction is no score

    wrapped = _record(workspace, "01930004-aaaa-7000-8000-000000000004")
    assert wrapped["response_text"] == "Yes: status.acme.cloud lists current incidents."
    assert (wrapped["model"], wrapped["finish_reason"]) == ("gpt-4o-mini", "stop")
    assert (wrapped["input_tokens"], wrapped["output_tokens"], wrapped["total_tokens"]) == (30, 11, 41)
    assert json.loads(wrapped["request_params"]) == {"temperature": 0.2, "stream": False}
    assert wrapped["ts"] == datetime(2026, 11, 20, 11, 30, tzinfo=timezone.utc)  # naive times are UTC
    assert (wrapped["feedback_score"], wrapped["feedback_comment"]) == (0.5, "fast\nno link given")

    completion = _record(workspace, "01930005-aaaa-7000-8000-000000000005")
    assert completion["cluster_text"] == "Classify the ticket: 'VM won't boot'. Category:"
    assert (completion["response_text"], completion["model"]) == (" compute", "gpt-3.5-turbo-instruct")

    failed = _record(workspace, "01930006-aaaa-7000-8000-000000000006")
    assert failed["status"] == "error" and failed["error"].startswith("APITimeoutError('Request timed out.')")
    assert failed["response_text"] is None and failed["latency_ms"] == pytest.approx(30000.0)


def test_reingest_is_idempotent(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "w.duckdb")
    _ingest(workspace, RUNS)
    [again] = _ingest(workspace, RUNS)
    assert (again.rows_added, again.rows_present) == (0, 36)
    assert workspace.cursor().execute("SELECT count(*) FROM records").fetchone()[0] == 36


def test_detection() -> None:
    runs = [json.loads(line) for line in RUNS.read_text().splitlines()]
    assert detect_shape(runs) == "langsmith"


# --- parse() on hand-made items -----------------------------------------------------------------

def test_non_llm_runs_are_skipped() -> None:
    for run_type in ("chain", "tool", "retriever", "prompt", "parser", "embedding"):
        assert list(LangSmithRunShape().parse(_run(run_type=run_type, inputs=None))) == []


def test_multi_turn_with_tool_messages() -> None:
    call = {"name": "lookup", "args": {"q": "tarif"}, "id": "call_1", "type": "tool_call"}
    record = _parse_one(_run(inputs={"messages": [[
        _lc("SystemMessage", content="Sei knapp.", type="system"),
        _lc("HumanMessage", content=[{"type": "text", "text": "Was kostet der Pro-Tarif?"}], type="human"),
        _lc("AIMessage", content="", type="ai", tool_calls=[call]),
        _lc("ToolMessage", content="29 €", type="tool", tool_call_id="call_1"),
        _lc("FunctionMessage", content="legacy", type="function", name="old_lookup"),
    ]]}))
    assert record.input_messages == [
        {"role": "system", "content": "Sei knapp."},
        {"role": "user", "content": "Was kostet der Pro-Tarif?"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "call_1", "name": "lookup", "arguments": {"q": "tarif"}}]},
        {"role": "tool", "content": "29 €", "tool_call_id": "call_1"},
        {"role": "tool", "content": "legacy", "name": "old_lookup"},
    ]
    assert record.cluster_text() == "Was kostet der Pro-Tarif?"
    assert record.latency_ms == pytest.approx(1500.0)


def test_tool_calls_in_additional_kwargs() -> None:
    openai_call = {"id": "c9", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}
    reply = _lc("AIMessage", content="", type="ai", additional_kwargs={"tool_calls": [openai_call]})
    record = _parse_one(_run(outputs={"generations": [[{"text": "", "message": reply,
                                                         "generation_info": {"finish_reason": "tool_calls"}}]]}))
    assert record.tool_calls == [{"id": "c9", "name": "f", "arguments": {"a": 1}}]
    assert (record.response_text, record.finish_reason) == (None, "tool_calls")


def test_wrap_openai_form() -> None:
    record = _parse_one(_run(
        inputs={"messages": [{"role": "user", "content": "¿Hay una página de estado?"}], "model": "gpt-4o-mini",
                "temperature": 0.1, "tools": [{"type": "function", "function": {"name": "status"}}]},
        outputs={"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "status", "arguments": "{}"}}]},
            "finish_reason": "tool_calls"}], "model": "gpt-4o-mini-2024-07-18",
            "usage_metadata": {"input_tokens": 9, "output_tokens": 4, "total_tokens": 13}},
    ))
    assert record.cluster_text() == "¿Hay una página de estado?"
    assert record.tool_calls == [{"id": "c1", "name": "status", "arguments": {}}]
    assert (record.model, record.request_params) == ("gpt-4o-mini", {"temperature": 0.1})
    assert record.tools == [{"type": "function", "function": {"name": "status"}}]
    assert (record.input_tokens, record.output_tokens, record.total_tokens) == (9, 4, 13)


def test_other_inputs_are_kept_as_one_user_turn() -> None:
    assert _parse_one(_run(inputs={"question": "why?"})).input_messages == [{"role": "user", "content": "why?"}]
    assert _parse_one(_run(inputs={"a": 1})).input_messages == [{"role": "user", "content": '{"a": 1}'}]


def test_feedback_items_win_over_stats() -> None:
    record = _parse_one(_run(
        feedback=[{"key": "thumbs", "score": 0, "comment": "wrong", "feedback_source": {"type": "api"}},
                  {"key": "fix", "correction": "Use the EU region.", "feedback_source": {"type": "app"}}],
        feedback_stats={"thumbs": {"n": 1, "avg": 0.0}},
    ))
    assert [(item.name, item.kind, item.score, item.source) for item in record.feedback] == [
        ("thumbs", "score", 0.0, "user"), ("fix", "correction", None, "annotation")]
    assert record.feedback[1].value == "Use the EU region."


def test_chat_message_forms() -> None:
    assert chat_message({"type": "ai", "data": {"content": "x"}}, "m") == {"role": "assistant", "content": "x"}
    assert chat_message(_lc("ChatMessage", content="y", role="critic"), "m") == {"role": "critic", "content": "y"}
    assert chat_message({"role": "user", "content": "z"}, "m") == {"role": "user", "content": "z"}


@pytest.mark.parametrize(("run", "reason"), [
    ("a run", "expected a JSON object"),
    (_run(run_type=None), "field 'run_type'"),
    (_run(id=None), "'id'"),
    (_run(inputs=None), "field 'inputs'"),
    (_run(inputs={}), "field 'inputs'"),
    (_run(inputs={"messages": "hi"}), "field 'inputs.messages'"),
    (_run(inputs={"prompts": [1]}), "field 'inputs.prompts'"),
    (_run(inputs={"messages": [[{"lc": 1, "id": ["x", "BotMessage"], "kwargs": {"type": "bot", "content": "?"}}]]}),
     "unknown LangChain message type"),
    (_run(inputs={"messages": [["hi"]]}), "inputs.messages"),
    (_run(start_time="31/31/2026"), "field 'start_time'"),
    (_run(end_time=[2026]), "field 'end_time'"),
    (_run(outputs=["hello"]), "field 'outputs'"),
    (_run(outputs={"generations": []}), "field 'outputs.generations'"),
    (_run(outputs={"choices": {}}), "field 'outputs.choices'"),
    (_run(prompt_tokens="lots"), "field 'prompt_tokens'"),
    (_run(extra=[]), "field 'extra'"),
    (_run(extra={"metadata": "x"}), "field 'extra.metadata'"),
    (_run(feedback_stats=[1]), "field 'feedback_stats'"),
    (_run(feedback=[3]), r"field 'feedback\[0\]'"),
    (_run(tags="prod"), "field 'tags'"),
])
def test_malformed_runs_raise_badrow(run: Any, reason: str) -> None:
    with pytest.raises(BadRow, match=reason):
        list(LangSmithRunShape().parse(run))
