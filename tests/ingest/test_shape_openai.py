"""OpenAI chat-completions logs in the forms applications write them."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from mining.ingest import ingest_paths
from mining.ingest.record import BadRow
from mining.ingest.shapes.openai import OpenAIChatShape

SHAPE = OpenAIChatShape()


def parse(item):
    (record,) = SHAPE.parse(item)
    return record


def test_sample_file_fields(workspace, fixtures):
    ingest_paths(workspace, [fixtures / "openai_chat.jsonl"])
    row = workspace.cursor().execute(
        "SELECT source_id, user_id, session_id, model, ts, cluster_text, response_text, finish_reason, status,"
        " latency_ms, input_tokens, output_tokens, total_tokens, feedback_score FROM records WHERE source_id = 'req_00000'"
    ).fetchone()
    assert row[:4] == ("req_00000", "u-1042", "sess-000", "gpt-4o-mini-2024-07-18")
    assert row[4] == datetime(2026, 11, 9, 10, 7, tzinfo=timezone.utc)
    assert row[5] == "Can I get a refund for the annual plan after 45 days?"
    assert row[6].startswith("Yes, Acme Cloud refunds annual plans")
    assert row[7:] == ("stop", "ok", 1865.0, 51, 19, 70, 0.0)
    tool = workspace.cursor().execute(
        "SELECT tool_calls, error, status, finish_reason, tools FROM records WHERE source_id = 'req_00011'").fetchone()
    assert json.loads(tool[0]) == [{"id": "call_0011", "name": "cancel_subscription", "arguments": {"account_id": "acc-77"}}]
    assert tool[1].startswith("ToolError") and tool[2] == "error" and tool[3] == "tool_calls"
    assert json.loads(tool[4])[0]["function"]["name"] == "cancel_subscription"


def test_top_level_request_fields_with_completion_and_string_response():
    record = parse({"model": "m", "messages": [{"role": "user", "content": "hi"}], "completion": "hello"})
    assert (record.model, record.response_text, record.cluster_text()) == ("m", "hello", "hi")


def test_top_level_choices_and_content_parts():
    record = parse({
        "id": "x1", "created": 1794218820, "model": "m",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "image_url", "image_url": {"url": "u"}}, {"type": "text", "text": "part two"}]}],  # noqa: E501 (one log line, as logged)
        "choices": [{"message": {"role": "assistant", "content": "ok"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    })
    assert record.cluster_text() == "part one\npart two"
    assert (record.response_text, record.finish_reason, record.input_tokens, record.output_tokens) == ("ok", "length", 3, 4)
    assert record.ts == datetime.fromtimestamp(1794218820, tz=timezone.utc)


def test_multi_turn_with_tool_messages_keeps_every_turn():
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "cancel acc-1"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "cancel", "arguments": "{\"id\": \"acc-1\"}"}}]},  # noqa: E501 (one log line, as logged)
        {"role": "tool", "tool_call_id": "c1", "content": "{\"ok\": false}"},
        {"role": "user", "content": "well?"},
    ]
    record = parse({"request": {"model": "m", "messages": messages}, "response": {"choices": [{"message": {"role": "assistant", "content": "Failed, sorry."}}]}})  # noqa: E501 (one log line, as logged)
    assert [m["role"] for m in record.input_messages] == ["system", "user", "assistant", "tool", "user"]
    assert record.input_messages[2]["tool_calls"] == [{"id": "c1", "name": "cancel", "arguments": {"id": "acc-1"}}]
    assert record.input_messages[3]["tool_call_id"] == "c1"
    assert record.cluster_text() == "well?"


def test_responses_api_shape():
    record = parse({
        "request": {"model": "m", "instructions": "sys", "input": "what is 2+2"},
        "response": {"output": [{"type": "reasoning"}, {"type": "message", "content": [{"type": "output_text", "text": "4"}]},
                                {"type": "function_call", "call_id": "f1", "name": "calc", "arguments": "{\"x\": 1}"}],
                     "usage": {"input_tokens": 5, "output_tokens": 1}, "status": "completed"},
    })
    assert record.input_messages[0] == {"role": "system", "content": "sys"}
    assert (record.response_text, record.input_tokens, record.output_tokens) == ("4", 5, 1)
    assert record.tool_calls == [{"id": "f1", "name": "calc", "arguments": {"x": 1}}]


@pytest.mark.parametrize("feedback, expected", [
    ({"feedback": {"thumbs": "up"}}, 1.0),
    ({"feedback": {"rating": 2, "comment": "meh"}}, 0.25),
    ({"rating": 5}, 1.0),
    ({"metadata": {"user_feedback": "👎"}}, 0.0),
    ({"score": 0.8}, 0.8),
])
def test_feedback_is_normalised_and_the_original_kept(feedback, expected):
    record = parse({"messages": [{"role": "user", "content": "q"}], "response": "a", **feedback})
    assert record.feedback_score() == pytest.approx(expected)
    assert record.feedback and record.feedback[0].value is not None


def test_unicode_and_very_long_text_survive(workspace, tmp_path):
    text = "Ünïcödé 日本語 🚀 " * 20000
    line = {"id": "u1", "messages": [{"role": "user", "content": text}], "response": "ok ✓"}
    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    ingest_paths(workspace, [path])
    stored = workspace.cursor().execute("SELECT cluster_text, response_text FROM records").fetchone()
    assert stored == (text, "ok ✓")


@pytest.mark.parametrize("item, reason", [
    ([1, 2], "got a list"),
    ({"request": {"model": "x"}, "response": "a"}, "missing required field 'messages'"),
    ({"messages": "hi", "response": "a"}, "should be a list"),
    ({"messages": [{"content": "no role"}], "response": "a"}, "no 'role'"),
    ({"messages": [{"role": "user", "content": "q"}], "response": {"choices": []}}, "no choices"),
    ({"messages": [{"role": "user", "content": "q"}], "response": 42}, "should be an object or a string"),
    ({"messages": [{"role": "user", "content": "q"}], "response": "a", "timestamp": "soon"}, "timestamp 'soon'"),
    ({"messages": [{"role": "user", "content": "q"}], "response": {"choices": [{"message": {"role": "assistant", "content": "a"}}], "usage": {"prompt_tokens": "many"}}}, "expected a number"),  # noqa: E501 (one log line, as logged)
])
def test_malformed_calls_say_what_is_wrong(item, reason):
    with pytest.raises(BadRow, match=reason):
        SHAPE.parse(item)
