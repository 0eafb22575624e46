"""Arize Phoenix / OpenInference spans: JSONL, CSV and flattened-key exports, then parse() forms."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from mining.ingest import ingest_paths
from mining.ingest.record import BadRow, Record
from mining.ingest.shapes.phoenix import PhoenixSpanShape
from mining.store import Workspace
from paths import FIXTURES

SHAPE = PhoenixSpanShape()
SYSTEM = "You are Nimbus, the support assistant of Acme Cloud. Answer from the policy documents only."


@pytest.fixture(autouse=True)
def _close_workspaces():
    yield
    Workspace.close_all()


def ingest(tmp_path: Path, *names: str) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """Reports, and the workspace's records keyed `format:source_id` (JSON columns decoded)."""
    workspace = Workspace.open(tmp_path / "w.duckdb")
    reports = ingest_paths(workspace, [FIXTURES / name for name in names])
    result = workspace.cursor().execute("SELECT * FROM records")
    columns = [column[0] for column in result.description]
    rows = {}
    for values in result.fetchall():
        row = dict(zip(columns, values))
        for column in ("input_messages", "tool_calls", "tools", "request_params", "feedback", "metadata"):
            row[column] = json.loads(row[column]) if row[column] is not None else None
        rows[f"{row['source_format']}:{row['source_id']}"] = row
    return reports, rows


def llm_span(**fields: Any) -> dict[str, Any]:
    return {"context.span_id": "00000000000000e1", "context.trace_id": "000000000000000000000000000000e0",
            "span_kind": "LLM", "name": "ChatCompletion", "start_time": "2026-11-09T10:07:00Z",
            "end_time": "2026-11-09T10:07:01.500000Z", "status_code": "OK", **fields}


def one(item: Any) -> Record:
    records = list(SHAPE.parse(item))
    assert len(records) == 1
    return records[0]


# --- the sample export, through the pipeline ---------------------------------------------------

def test_sample_jsonl_counts(tmp_path):
    reports, rows = ingest(tmp_path, "phoenix_spans.jsonl")
    report = reports[0]
    assert report.error is None and report.format == "phoenix"
    assert (report.rows_read, report.rows_added, report.rows_skipped, report.rows_quarantined) == (72, 36, 36, 0)
    assert all(row["source_id"].endswith("bbbbbbbb") for row in rows.values())  # the LLM spans, not the chains


def test_sample_jsonl_record_fields(tmp_path):
    _, rows = ingest(tmp_path, "phoenix_spans.jsonl")
    row = rows["phoenix:00000000bbbbbbbb"]
    assert row["trace_id"] == "00000000000000000000000000000007"
    assert row["parent_id"] == "00000000aaaaaaaa"
    assert (row["session_id"], row["user_id"]) == ("sess-000", "u-1042")
    assert row["ts"] == datetime(2026, 11, 9, 10, 7, tzinfo=timezone.utc)
    assert row["latency_ms"] == 1865.0
    assert row["model"] == "gpt-4o-mini-2024-07-18"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (51, 19, 70)
    assert row["request_params"] == {"temperature": 0.3}
    assert row["input_messages"] == [{"role": "system", "content": SYSTEM},
                                     {"role": "user", "content": "Can I get a refund for the annual plan after 45 days?"}]
    assert row["response_text"] == "Yes, Acme Cloud refunds annual plans in full at any time, no questions asked."
    assert row["status"] == "ok" and row["error"] is None
    assert row["feedback_score"] == 0.0
    assert row["feedback"] == [{"name": "user_feedback", "value": 0.0, "score": 0.0, "kind": "score",
                                "source": "human", "comment": None}]
    assert row["metadata"] == {"provider": "openai", "span_name": "ChatCompletion"}
    assert json.loads(row["raw"])["context.span_id"] == "00000000bbbbbbbb"

    failed = rows["phoenix:0000000bbbbbbbbb"]
    assert (failed["status"], failed["error"]) == ("error", "ToolError: billing.cancel_subscription returned 503")
    assert rows["phoenix:00000007bbbbbbbb"]["feedback_score"] == 1.0
    assert rows["phoenix:00000002bbbbbbbb"]["feedback"] is None


def test_sample_matches_the_openai_log_of_the_same_traffic(tmp_path):
    _, rows = ingest(tmp_path, "phoenix_spans.jsonl", "openai_chat.jsonl")
    phoenix = {row["ts"]: row for row in rows.values() if row["source_format"] == "phoenix"}
    openai = {row["ts"]: row for row in rows.values() if row["source_format"] == "openai"}
    assert phoenix.keys() == openai.keys() and len(phoenix) == 36
    for ts, row in phoenix.items():
        other = openai[ts]
        assert row["cluster_text"] == other["cluster_text"]
        assert row["input_messages"] == other["input_messages"]
        assert (row["user_id"], row["session_id"], row["status"]) == (other["user_id"], other["session_id"], other["status"])
        assert (row["input_tokens"], row["output_tokens"]) == (other["input_tokens"], other["output_tokens"])
        assert row["feedback_score"] == other["feedback_score"]
    same_answer = [ts for ts in phoenix if phoenix[ts]["response_text"] == openai[ts]["response_text"]]
    assert len(same_answer) == 33  # the three failed cancellations log a tool call in OpenAI's file only


def test_csv_with_json_text_cells(tmp_path):
    reports, rows = ingest(tmp_path, "phoenix_spans.csv")
    report = reports[0]
    assert report.format == "phoenix"
    assert (report.rows_read, report.rows_added, report.rows_skipped, report.rows_quarantined) == (5, 3, 2, 0)
    first = rows["phoenix:00000000bbbbbbbb"]
    assert first["input_tokens"] == 51 and first["request_params"] == {"temperature": 0.3}
    assert first["cluster_text"] == "Can I get a refund for the annual plan after 45 days?"
    assert first["feedback_score"] == 0.0

    german = rows["phoenix:00000099bbbbbbbb"]  # multi-turn, unicode, a tool call, an LLM annotation
    assert [m["role"] for m in german["input_messages"]] == ["system", "user", "assistant", "user"]
    assert german["cluster_text"] == "Konto acc-77 — bitte jetzt kündigen ✂️"
    assert german["response_text"] is None
    assert german["tool_calls"] == [{"id": "call_77", "name": "cancel_subscription", "arguments": {"account_id": "acc-77"}}]
    assert german["parent_id"] is None  # an empty cell
    assert german["ts"] == datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc) and german["latency_ms"] == 2500.0
    assert german["feedback"][0]["source"] == "eval" and german["feedback_score"] == 1.0  # label 'correct'
    assert german["feedback_comment"] == "Asked for the account, then called the tool."


def test_flattened_otel_keys(tmp_path):
    reports, rows = ingest(tmp_path, "phoenix_otel_flat.jsonl")
    assert (reports[0].rows_added, reports[0].rows_skipped) == (2, 1)
    failed = rows["phoenix:f100000000000001"]
    assert failed["input_messages"] == [{"role": "system", "content": SYSTEM},
                                        {"role": "user", "content": "Cancel my subscription now."}]
    assert failed["tool_calls"] == [{"id": "call_0011", "name": "cancel_subscription", "arguments": {"account_id": "acc-77"}}]
    assert (failed["status"], failed["error"]) == ("error", "ToolError: billing.cancel_subscription returned 503")
    sources = {item["name"]: item["source"] for item in failed["feedback"]}
    assert sources == {"user_feedback": "human", "hallucination": "eval"}
    assert failed["feedback_score"] == 0.0
    assert failed["feedback_comment"] == "Claims the cancellation succeeded; the tool failed."

    french = rows["phoenix:f200000000000001"]  # nested context, un-prefixed attribute keys
    assert french["trace_id"] == "f2000000000000000000000000000002"
    assert french["model"] == "claude-sonnet-4"
    assert french["cluster_text"] == "Ça coûte combien, le plan Pro ?"
    assert french["response_text"] == "Le plan Pro coûte 20 € par mois."
    assert (french["input_tokens"], french["output_tokens"], french["total_tokens"]) == (14, 11, 25)
    assert french["status"] == "ok"
    assert french["metadata"]["tag.tags"] == ["pricing", "fr"]


# --- parse() on hand-made spans ----------------------------------------------------------------

def test_looks_like():
    assert SHAPE.looks_like(llm_span())
    assert SHAPE.looks_like({"context": {"span_id": "x"}, "attributes": {"openinference.span.kind": "CHAIN"}})
    assert SHAPE.looks_like({"context.span_id": "x", "attributes.openinference.span.kind": "LLM"})
    assert not SHAPE.looks_like({"traceId": "t", "spanId": "s", "attributes": []})
    assert not SHAPE.looks_like({"span_kind": "LLM"})
    assert not SHAPE.looks_like("LLM")


@pytest.mark.parametrize("kind", ["CHAIN", "RETRIEVER", "TOOL", "AGENT", "EMBEDDING"])
def test_non_llm_spans_are_skipped(kind):
    assert list(SHAPE.parse(llm_span(span_kind=kind, **{"attributes.input.value": "hi"}))) == []


def test_multi_turn_with_tool_round_trip():
    record = one(llm_span(**{
        "attributes.llm.input_messages": [
            {"message.role": "user", "message.content": "Wetter in München?"},
            {"message.role": "assistant", "message.tool_calls": [
                {"tool_call.id": "w1", "tool_call.function.name": "weather", "tool_call.function.arguments": '{"city": "München"}'}]},
            {"message.role": "tool", "message.content": "12°C", "message.tool_call_id": "w1"},
            {"message.role": "user", "message.content": "Und morgen?"}],
        "attributes.llm.output_messages": [{"message.role": "assistant", "message.content": "Morgen 15°C ☀️"}],
    }))
    assert record.input_messages[1]["tool_calls"] == [{"id": "w1", "name": "weather", "arguments": {"city": "München"}}]
    assert record.input_messages[2] == {"role": "tool", "content": "12°C", "tool_call_id": "w1"}
    assert record.cluster_text() == "Und morgen?"
    assert record.response_text == "Morgen 15°C ☀️"
    assert record.latency_ms == 1500.0


def test_csv_cells_written_by_pandas_as_python_reprs():
    record = one(llm_span(**{
        "attributes.llm.input_messages": "[{'message.role': 'user', 'message.content': 'Hi'}]",
        "attributes.llm.output_messages": "[{'message.role': 'assistant', 'message.content': 'Hello'}]",
        "annotations": "[{'name': 'q', 'annotator_kind': 'CODE', 'label': 'incorrect', 'score': None}]",
        "attributes.llm.token_count.prompt": "7",
    }))
    assert (record.cluster_text(), record.response_text, record.input_tokens) == ("Hi", "Hello", 7)
    assert record.feedback[0].score == 0.0 and record.feedback[0].source == "eval"


def test_annotation_sources_and_scores():
    record = one(llm_span(annotations=[
        {"name": "thumbs", "annotator_kind": "HUMAN", "label": "thumbs_up", "score": 1},
        {"name": "judge", "annotator_kind": "LLM", "label": "hallucinated", "score": float("nan"),
         "explanation": "Invents a policy."},
        {"name": "regex", "annotator_kind": "CODE", "score": 0.0},
        {"name": "note", "annotator_kind": "HUMAN", "explanation": "Tone is fine."},
    ]))
    by_name = {item.name: item for item in record.feedback}
    assert (by_name["thumbs"].source, by_name["thumbs"].score) == ("human", 1.0)
    assert by_name["judge"].value == "hallucinated" and by_name["judge"].score is None  # NaN score: the label
    assert by_name["judge"].comment == "Invents a policy."
    assert (by_name["regex"].source, by_name["regex"].score) == ("eval", 0.0)
    assert by_name["note"].kind == "comment" and by_name["note"].score is None
    assert record.feedback_score() == 1.0  # people's judgement preferred over evals


def test_flattened_annotation_keys_in_parse():
    record = one(llm_span(**{"annotations.0.annotation.name": "correctness", "annotations.0.annotation.label": "correct",
                             "annotations.0.annotation.annotator_kind": "LLM", "annotations.0.annotation.score": "0.8"}))
    assert (record.feedback[0].name, record.feedback[0].score, record.feedback[0].source) == ("correctness", 0.8, "eval")


def test_values_fall_back_to_input_and_output_value():
    completion = {"id": "c1", "choices": [{"index": 0, "finish_reason": "length",
                                           "message": {"role": "assistant", "content": "Partial ans"}}]}
    record = one(llm_span(**{
        "attributes.input.value": json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Explain DNS"}]}),
        "attributes.input.mime_type": "application/json",
        "attributes.output.value": json.dumps(completion),
    }))
    assert (record.cluster_text(), record.response_text, record.finish_reason) == ("Explain DNS", "Partial ans", "length")
    plain = one(llm_span(**{"attributes.input.value": "Just text", "attributes.output.value": "Plain answer"}))
    assert (plain.cluster_text(), plain.response_text) == ("Just text", "Plain answer")


def test_multimodal_contents_and_nested_attributes():
    record = one({
        "context": {"span_id": "n1", "trace_id": "t1"}, "span_kind": "LLM", "status_code": "UNSET",
        "attributes": {"llm": {"model_name": "gpt-4o", "invocation_parameters": {"temperature": 1}},
                       "metadata": '{"app_version": "2.4"}'},
        "attributes.llm.input_messages": [{"message.role": "user", "message.contents": [
            {"message_content.type": "text", "message_content.text": "What is in this image?"},
            {"message_content.type": "image", "message_content.image.image.url": "https://example.invalid/x.png"}]}],
    })
    assert record.cluster_text() == "What is in this image?"
    assert (record.source_id, record.trace_id, record.model) == ("n1", "t1", "gpt-4o")
    assert record.request_params == {"temperature": 1}
    assert record.metadata["app_version"] == "2.4"
    assert record.status == "ok"


@pytest.mark.parametrize("fields, expected", [
    ({"attributes.llm.input_messages": "[{broken"}, "'attributes.llm.input_messages' is not valid JSON"),
    ({"attributes.llm.input_messages": {"message.role": "user"}}, "'attributes.llm.input_messages' should be a list"),
    ({"attributes.llm.input_messages": [{"message.content": "hi"}]}, "attributes.llm.input_messages[0] has no 'message.role'"),
    ({"attributes.llm.input_messages": ["hi"]}, "attributes.llm.input_messages[0] should be a message object"),
    ({"attributes.llm.output_messages": [{"message.role": "assistant", "message.tool_calls": "x"}]}, "message.tool_calls"),
    ({"start_time": "last tuesday"}, "'start_time'"),
    ({"end_time": True}, "'end_time'"),
    ({"attributes.llm.token_count.prompt": "lots"}, "'attributes.llm.token_count.prompt' should be a number"),
    ({"status_code": "MAYBE"}, "'status_code' should be OK, ERROR or UNSET"),
    ({"attributes.llm.invocation_parameters": "[1, 2]"}, "'attributes.llm.invocation_parameters' should be an object"),
    ({"attributes.llm.invocation_parameters": "{temperature"}, "'attributes.llm.invocation_parameters' is not valid JSON"),
    ({"annotations": "not a list at all"}, "'annotations' is not valid JSON"),
    ({"annotations": [{"name": "x", "score": "high"}]}, "annotations[0]: 'score' should be a number"),
    ({"span_kind": None}, "missing 'span_kind'"),
])
def test_malformed_rows_raise_bad_row_naming_the_field(fields, expected):
    with pytest.raises(BadRow) as caught:
        list(SHAPE.parse(llm_span(**fields)))
    assert expected in str(caught.value)


def test_not_an_object_is_a_bad_row():
    with pytest.raises(BadRow, match="expected a span object"):
        list(SHAPE.parse(["LLM"]))
