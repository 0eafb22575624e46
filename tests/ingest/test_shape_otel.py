"""OpenTelemetry GenAI spans: the sample export through the real pipeline, then each convention."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from mining.ingest import ingest_paths
from mining.ingest.record import BadRow, Record
from mining.ingest.shapes.otel import OtelGenAIShape
from mining.store import Workspace
from paths import FIXTURES

SHAPE = OtelGenAIShape()


@pytest.fixture(autouse=True)
def _close_workspaces():
    yield
    Workspace.close_all()


def ingest(tmp_path: Path, *names: str) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """Reports, and the workspace's records by source id (JSON columns decoded)."""
    workspace = Workspace.open(tmp_path / "w.duckdb")
    reports = ingest_paths(workspace, [FIXTURES / name for name in names])
    cursor = workspace.cursor()
    result = cursor.execute("SELECT * FROM records")
    names_ = [column[0] for column in result.description]
    rows = {}
    for values in result.fetchall():
        row = dict(zip(names_, values))
        for column in ("input_messages", "tool_calls", "tools", "request_params", "feedback", "metadata"):
            row[column] = json.loads(row[column]) if row[column] is not None else None
        rows[f"{row['source_format']}:{row['source_id']}"] = row
    return reports, rows


def value(raw: Any) -> dict[str, Any]:
    """An OTLP AnyValue for a Python value."""
    if isinstance(raw, bool):
        return {"boolValue": raw}
    if isinstance(raw, int):
        return {"intValue": str(raw)}
    if isinstance(raw, float):
        return {"doubleValue": raw}
    if isinstance(raw, list):
        return {"arrayValue": {"values": [value(item) for item in raw]}}
    if isinstance(raw, dict):
        return {"kvlistValue": {"values": attributes(raw)}}
    return {"stringValue": raw}


def attributes(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": value(item)} for key, item in values.items()]


def span(attrs: dict[str, Any], events: list[tuple[str, dict[str, Any]]] | None = None,
         span_id: str = "00000000000000a1", parent: str | None = None, **extra: Any) -> dict[str, Any]:
    result = {
        "traceId": "000000000000000000000000000000f1", "spanId": span_id, "name": "chat",
        "startTimeUnixNano": "1794218820000000000", "endTimeUnixNano": "1794218821500000000",
        "attributes": attributes(attrs), "status": {"code": 1},
        "events": [{"name": name, "attributes": attributes(event)} for name, event in events or []],
        **extra,
    }
    if parent:
        result["parentSpanId"] = parent
    return result


def one(item: Any) -> Record:
    records = list(SHAPE.parse(item))
    assert len(records) == 1
    return records[0]


CHAT = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"}


# --- the sample export, through the pipeline ---------------------------------------------------

def test_sample_export_yields_every_llm_span(tmp_path):
    reports, rows = ingest(tmp_path, "otel_genai_traces.json")
    assert len(reports) == 1
    report = reports[0]
    assert report.error is None and report.format == "otel"
    assert (report.rows_added, report.rows_quarantined) == (36, 0)
    assert all(row["source_format"] == "otel" for row in rows.values())
    current = [row for row in rows.values() if "gen_ai.input.messages" in row["raw"]]
    indexed = [row for row in rows.values() if "gen_ai.prompt.0.role" in row["raw"]]
    assert len(current) == 18 and len(indexed) == 18
    assert not any("POST /chat" in row["raw"] for row in rows.values())  # HTTP spans are context only


def test_sample_current_convention_record(tmp_path):
    _, rows = ingest(tmp_path, "otel_genai_traces.json")
    row = rows["otel:0000000100000002"]
    assert row["trace_id"] == "00000000000000000000000000000001"
    assert row["parent_id"] == "0000000100000001"
    assert row["session_id"] == "sess-000"
    assert row["user_id"] == "u-1042"  # from the parent HTTP span's enduser.id
    assert row["ts"] == datetime(2026, 11, 9, 10, 7, tzinfo=timezone.utc)
    assert row["latency_ms"] == 1865.0
    assert row["model"] == "gpt-4o-mini-2024-07-18"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (51, 19, 70)
    assert "cached" in row["token_note"]
    assert row["finish_reason"] == "stop" and row["status"] == "ok" and row["error"] is None
    assert row["cluster_text"] == "Can I get a refund for the annual plan after 45 days?"
    assert row["response_text"] == "Yes, Acme Cloud refunds annual plans in full at any time, no questions asked."
    assert [m["role"] for m in row["input_messages"]] == ["system", "user"]
    assert row["metadata"]["provider"] == "openai"
    assert row["metadata"]["resource"] == {"service.name": "nimbus-support"}
    assert json.loads(row["raw"])["spanId"] == "0000000100000002"  # the span's own JSON, not the export


def test_sample_indexed_convention_and_error_records(tmp_path):
    _, rows = ingest(tmp_path, "otel_genai_traces.json")
    indexed = rows["otel:0000000200000002"]
    assert indexed["user_id"] == "u-2291"
    assert indexed["cluster_text"] == "What's your refund window for yearly subscriptions?"
    assert indexed["response_text"] == "You can request a full refund within 90 days of purchase."
    assert indexed["input_messages"][0]["role"] == "system"
    assert indexed["metadata"]["provider"] == "openai"
    assert rows["otel:0000000600000002"]["finish_reason"] == "length"
    errors = [row for row in rows.values() if row["status"] == "error"]
    assert sorted(row["source_id"] for row in errors) == ["0000000c00000002", "0000001800000002", "0000002400000002"]
    assert errors[0]["error"] == "ToolError: billing.cancel_subscription returned 503"


def test_sample_matches_the_openai_log_of_the_same_traffic(tmp_path):
    _, rows = ingest(tmp_path, "otel_genai_traces.json", "openai_chat.jsonl")
    otel = {row["ts"]: row for row in rows.values() if row["source_format"] == "otel"}
    openai = {row["ts"]: row for row in rows.values() if row["source_format"] == "openai"}
    assert otel.keys() == openai.keys() and len(otel) == 36
    for ts, row in otel.items():
        other = openai[ts]
        assert row["cluster_text"] == other["cluster_text"]
        assert (row["user_id"], row["session_id"]) == (other["user_id"], other["session_id"])
        assert (row["input_tokens"], row["output_tokens"], row["latency_ms"]) == (
            other["input_tokens"], other["output_tokens"], other["latency_ms"])
        assert row["status"] == other["status"]
    same_answer = [ts for ts in otel if otel[ts]["response_text"] == openai[ts]["response_text"]]
    assert len(same_answer) == 33  # the three failed cancellations log a tool call in OpenAI's file only


def test_reingesting_the_sample_adds_nothing(tmp_path):
    workspace = Workspace.open(tmp_path / "w.duckdb")
    first = ingest_paths(workspace, [FIXTURES / "otel_genai_traces.json"])[0]
    second = ingest_paths(workspace, [FIXTURES / "otel_genai_traces.json"])[0]
    assert (first.rows_added, second.rows_added, second.rows_present) == (36, 0, 36)


def test_collector_jsonl_mixes_conventions(tmp_path):
    reports, rows = ingest(tmp_path, "otel_collector.jsonl")
    report = reports[0]
    assert (report.rows_read, report.rows_added, report.rows_skipped, report.rows_quarantined) == (5, 3, 1, 1)
    reason = report.quarantine_samples[0]["reason"]
    assert "a500000000000001" in reason and "'attributes' should be a list" in reason

    events = rows["otel:a100000000000002"]  # v1.28 events, numbers as JSON numbers
    assert events["user_id"] == "u-7001"  # from the resource
    assert events["cluster_text"] == "Upgrade my plan to Pro, please."
    assert events["tool_calls"] == [{"id": "call_up_1", "name": "change_plan", "arguments": {"plan": "pro"}}]
    assert events["finish_reason"] == "tool_calls"
    assert (events["input_tokens"], events["output_tokens"]) == (61, 23)
    assert events["request_params"] == {"temperature": 0.2, "max_tokens": 256}
    assert events["feedback_score"] == pytest.approx(0.9)
    assert events["feedback"][0]["source"] == "eval"

    older = rows["otel:a200000000000001"]  # v1.27 events, old token names, error.type
    assert older["session_id"] == "conv-fr-1" and older["user_id"] == "u-8002"
    assert len(older["input_messages"]) == 4
    assert older["cluster_text"] == "Et celle de février ? 請給我發票 🙏"
    assert older["response_text"] == "Elle est aussi dans Facturation > Factures. 好的"
    assert (older["input_tokens"], older["output_tokens"], older["total_tokens"]) == (88, 12, 100)
    assert (older["status"], older["error"]) == ("error", "timeout")
    assert older["model"] == "gpt-4o-mini-2024-07-18"  # the response model wins over the request model

    current = rows["otel:a300000000000001"]  # current conventions with a tool round trip
    assert [m["role"] for m in current["input_messages"]] == ["system", "user", "assistant", "tool", "user"]
    assert current["input_messages"][3] == {"role": "tool", "content": '{"temp_c": 18}', "tool_call_id": "call_w1"}
    assert current["response_text"] == "Checking Lyon."
    assert current["tool_calls"][0]["arguments"] == {"city": "Lyon"}
    assert current["finish_reason"] == "tool_calls"
    assert current["tools"][0]["name"] == "get_weather"
    assert current["request_params"] == {"seed": 7, "output_type": "json"}
    assert (current["status"], current["error"]) == ("error", "RateLimitError: 429")
    assert current["feedback_score"] == 0.0 and current["feedback"][0]["source"] == "human"
    assert current["feedback_comment"] == "Should have answered from the cache."
    assert current["metadata"]["gen_ai.usage.cache_read.input_tokens"] == 64


# --- each item form and convention, on parse() -------------------------------------------------

def test_looks_like_takes_the_three_item_forms_only():
    bare = span(CHAT)
    group = {"resource": {"attributes": []}, "scopeSpans": [{"spans": [bare]}]}
    assert SHAPE.looks_like(bare) and SHAPE.looks_like(group) and SHAPE.looks_like({"resourceSpans": [group]})
    assert not SHAPE.looks_like({"span_kind": "LLM", "context.span_id": "x"})
    assert not SHAPE.looks_like({"request": {"messages": []}, "response": {}})
    assert not SHAPE.looks_like([bare])


def test_whole_export_gives_one_record_per_llm_span_with_its_own_raw():
    first = span({**CHAT, "gen_ai.input.messages": '[{"role": "user", "parts": [{"type": "text", "content": "a"}]}]'},
                 span_id="00000000000000b1", parent="00000000000000b0")
    second = span({**CHAT, "gen_ai.input.messages": '[{"role": "user", "parts": [{"type": "text", "content": "b"}]}]'},
                  span_id="00000000000000b2", parent="00000000000000b0")
    root = span({"http.route": "/chat", "enduser.id": "u-1"}, span_id="00000000000000b0")
    export = {"resourceSpans": [{"scopeSpans": [{"spans": [root, first]}]}, {"scopeSpans": [{"spans": [second]}]}]}
    records = list(SHAPE.parse(export))
    assert [record.source_id for record in records] == ["00000000000000b1", "00000000000000b2"]
    assert [record.cluster_text() for record in records] == ["a", "b"]
    assert json.loads(records[1].raw) == second
    assert [record.user_id for record in records] == ["u-1", "u-1"]  # ancestors found across the whole item
    assert list(SHAPE.parse({"scopeSpans": [{"spans": [second]}]}))[0].user_id is None  # parent not in the item


def test_user_comes_from_the_nearest_ancestor():
    root = span({"enduser.id": "u-root"}, span_id="00000000000000c0")
    middle = span({"rpc.method": "answer"}, span_id="00000000000000c1", parent="00000000000000c0")
    call = span(CHAT, span_id="00000000000000c2", parent="00000000000000c1")
    group = {"resource": {"attributes": attributes({"user.id": "u-resource"})}, "scopeSpans": [{"spans": [call, middle, root]}]}
    assert one(group).user_id == "u-root"
    assert one({"scopeSpans": [{"spans": [call]}], "resource": group["resource"]}).user_id == "u-resource"


def test_current_convention_parts():
    record = one(span({
        **CHAT, "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
        "gen_ai.input.messages": json.dumps([
            {"role": "user", "parts": [{"type": "text", "content": "Cancel acc-77"}]},
            {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "cancel", "arguments": {"id": "acc-77"}}]},
            {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "503"}]},
        ]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "finish_reason": "stop", "parts": [
            {"type": "reasoning", "content": "hidden"}, {"type": "text", "content": "It failed; try later."}]}]),
    }))
    assert record.input_messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Cancel acc-77"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "name": "cancel", "arguments": {"id": "acc-77"}}]},
        {"role": "tool", "content": "503", "tool_call_id": "c1"},
    ]
    assert record.response_text == "It failed; try later."
    assert record.finish_reason == "stop"
    assert record.model == "gpt-4o-mini-2024-07-18"
    assert record.ts == datetime(2026, 11, 9, 10, 7, tzinfo=timezone.utc)
    assert record.latency_ms == 1500.0


def test_tool_call_response_may_say_result():
    record = one(span({**CHAT, "gen_ai.input.messages": json.dumps(
        [{"role": "tool", "parts": [{"type": "tool_call_response", "id": "c9", "result": {"ok": True}}]}])}))
    assert record.input_messages == [{"role": "tool", "content": '{"ok": true}', "tool_call_id": "c9"}]


def test_indexed_attributes_with_tool_calls():
    record = one(span({
        **CHAT, "gen_ai.system": "openai",
        "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "Weather in Oslo?",
        "gen_ai.prompt.1.role": "assistant",
        "gen_ai.prompt.1.tool_calls.0.id": "t1", "gen_ai.prompt.1.tool_calls.0.name": "weather",
        "gen_ai.prompt.1.tool_calls.0.arguments": '{"city": "Oslo"}',
        "gen_ai.prompt.2.role": "tool", "gen_ai.prompt.2.content": "-3C", "gen_ai.prompt.2.tool_call_id": "t1",
        "gen_ai.prompt.10.role": "user", "gen_ai.prompt.10.content": "And Bergen?",
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.finish_reason": "tool_calls",
        "gen_ai.completion.0.tool_calls.0.id": "t2", "gen_ai.completion.0.tool_calls.0.name": "weather",
        "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Bergen"}',
    }))
    assert [m["role"] for m in record.input_messages] == ["user", "assistant", "tool", "user"]  # 10 after 2
    assert record.input_messages[1]["tool_calls"] == [{"id": "t1", "name": "weather", "arguments": {"city": "Oslo"}}]
    assert record.input_messages[2]["tool_call_id"] == "t1"
    assert record.cluster_text() == "And Bergen?"
    assert record.response_text is None
    assert record.tool_calls == [{"id": "t2", "name": "weather", "arguments": {"city": "Bergen"}}]
    assert record.finish_reason == "tool_calls"
    assert record.metadata["provider"] == "openai"
    assert not any(key.startswith("gen_ai.prompt") for key in record.metadata)


def test_v127_content_events():
    prompt = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi 👋"}]
    completion = [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello!"}}]
    record = one(span({"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4"}, events=[
        ("gen_ai.content.prompt", {"gen_ai.prompt": json.dumps(prompt)}),
        ("gen_ai.content.completion", {"gen_ai.completion": json.dumps(completion)}),
    ]))
    assert record.input_messages == [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi 👋"}]
    assert (record.response_text, record.finish_reason) == ("Hello!", "stop")


def test_v128_message_events():
    record = one(span(CHAT, events=[
        ("gen_ai.system.message", {"content": "You are terse."}),
        ("gen_ai.user.message", {"body": json.dumps({"content": "Price of Pro?"})}),
        ("gen_ai.assistant.message", {"tool_calls": json.dumps(
            [{"id": "p1", "type": "function", "function": {"name": "price", "arguments": '{"plan": "pro"}'}}])}),
        ("gen_ai.tool.message", {"content": "20 EUR", "id": "p1"}),
        ("gen_ai.choice", {"index": 1, "finish_reason": "stop", "message": {"content": "Second choice"}}),
        ("gen_ai.choice", {"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "Pro costs 20"}}),
    ]))
    assert [m["role"] for m in record.input_messages] == ["system", "user", "assistant", "tool"]
    assert record.input_messages[2]["tool_calls"] == [{"id": "p1", "name": "price", "arguments": {"plan": "pro"}}]
    assert record.input_messages[3] == {"role": "tool", "content": "20 EUR", "tool_call_id": "p1"}
    assert (record.response_text, record.finish_reason) == ("Pro costs 20", "length")


def test_evaluation_events_become_feedback():
    record = one(span(CHAT, events=[
        ("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.25,
                                      "gen_ai.evaluation.explanation": "Off topic."}),
        ("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "groundedness", "gen_ai.evaluation.score.label": "fail"}),
        ("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "user_vote", "gen_ai.evaluation.score.label": "correct",
                                      "gen_ai.evaluation.source": "human"}),
    ]))
    by_name = {item.name: item for item in record.feedback}
    assert by_name["relevance"].score == 0.25 and by_name["relevance"].source == "eval"
    assert by_name["relevance"].comment == "Off topic."
    assert by_name["groundedness"].score == 0.0 and by_name["groundedness"].value == "fail"
    assert by_name["user_vote"].source == "human" and by_name["user_vote"].score == 1.0
    assert record.feedback_score() == 1.0  # people's judgement preferred over evals


@pytest.mark.parametrize("int_value", ["1234", 1234])
def test_int_value_as_string_or_number(int_value):
    item = span(CHAT)
    item["attributes"] += [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": int_value}},
                           {"key": "gen_ai.usage.output_tokens", "value": {"intValue": int_value}}]
    record = one(item)
    assert (record.input_tokens, record.output_tokens) == (1234, 1234)


def test_non_llm_spans_are_skipped():
    assert list(SHAPE.parse(span({"http.route": "/chat", "http.request.method": "POST"}))) == []
    assert list(SHAPE.parse(span({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}))) == []
    assert list(SHAPE.parse({"resourceSpans": []})) == []


def test_status_codes():
    assert (one(span(CHAT, status={})).status, one(span(CHAT, status={})).error) == ("ok", None)
    assert one(span({**CHAT, "error.type": "timeout"})).error == "timeout"
    failed = one(span(CHAT, status={"code": "STATUS_CODE_ERROR", "message": "boom"}))
    assert (failed.status, failed.error) == ("error", "boom")


@pytest.mark.parametrize("item, expected", [
    ("not an object", "expected an OTLP/JSON object"),
    ({"resourceSpans": {"spans": []}}, "'resourceSpans' should be a list"),
    ({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "t"}]}]}]}, "has no 'spanId'"),
    ({**span(CHAT), "attributes": {"gen_ai.operation.name": "chat"}}, "'attributes' should be a list"),
    ({**span(CHAT), "attributes": [{"key": "gen_ai.operation.name", "value": "chat"}]}, "expected an AnyValue object"),
    (span({**CHAT, "gen_ai.input.messages": "[{not json"}), "'gen_ai.input.messages' is not valid JSON"),
    (span({**CHAT, "gen_ai.input.messages": '{"role": "user"}'}), "'gen_ai.input.messages' should be a list"),
    (span({**CHAT, "gen_ai.input.messages": '[{"parts": []}]'}), "gen_ai.input.messages[0] has no 'role'"),
    (span({**CHAT, "gen_ai.output.messages": '[{"role": "assistant", "parts": "hi"}]'}), "gen_ai.output.messages[0].parts"),
    (span(CHAT, startTimeUnixNano="yesterday"), "'startTimeUnixNano' should be nanoseconds"),
    (span({**CHAT, "gen_ai.prompt.0.content": "hi"}), "'gen_ai.prompt.0.role' is missing"),
    (span(CHAT, events=[("gen_ai.user.message", {"body": "not json"})]), "'body' is not valid JSON"),
    ({**span(CHAT), "events": {"name": "x"}}, "'events' should be a list"),
    ({**span(CHAT), "status": {"code": 7}}, "'status.code' should be 0"),
])
def test_malformed_items_say_which_field_is_wrong(item, expected):
    assert expected in " | ".join(problems(item))


def problems(item) -> list[str]:
    """Why an item (or some of its spans) cannot be read: raised for the item, returned per span."""
    try:
        results = list(SHAPE.parse(item))
    except BadRow as exc:
        return [str(exc)]
    return [str(result) for result in results if isinstance(result, BadRow)]


def test_bad_int_value_names_the_attribute():
    item = span(CHAT)
    item["attributes"].append({"key": "gen_ai.usage.input_tokens", "value": {"intValue": "many"}})
    (problem,) = problems(item)
    assert re.search(r"span 00000000000000a1: .*'gen_ai.usage.input_tokens' intValue 'many'", problem)


def test_one_bad_span_does_not_cost_its_neighbours():
    good = span(CHAT)
    bad = span({**CHAT, "gen_ai.input.messages": "[{not json"})
    bad["spanId"] = "00000000000000b2"
    item = {"resourceSpans": [{"scopeSpans": [{"spans": [good, bad, {"traceId": "t"}]}]}]}
    results = list(SHAPE.parse(item))
    records = [r for r in results if isinstance(r, Record)]
    rejected = [r for r in results if isinstance(r, BadRow)]
    assert [r.source_id for r in records] == [good["spanId"]]
    assert len(rejected) == 2
    assert "span 00000000000000b2" in str(rejected[0]) and json.loads(rejected[0].raw)["spanId"] == "00000000000000b2"
    assert "has no 'spanId'" in str(rejected[1]) and json.loads(rejected[1].raw) == {"traceId": "t"}
