"""The vectorised OpenAI JSONL path gives exactly what the reference parser gives: records, quarantine, counts."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from mining.demo import generate_demo
from mining.ingest import fastpath_openai, rows
from mining.ingest.containers import _jsonl_rows
from mining.ingest import ingest_paths
from mining.store import Workspace


def _call(call_id: str | None = "req_1", **changes: Any) -> dict[str, Any]:
    """A typical logged call; `changes` replace or (with None values) remove top-level keys."""
    line: dict[str, Any] = {
        "id": call_id, "timestamp": "2026-11-09T10:07:00Z", "user": "u-1",
        "metadata": {"session_id": "s-1", "app_version": "2.3.1"},
        "request": {"model": "gpt-4o-mini", "messages": [
            {"role": "system", "content": "You are Nimbus."}, {"role": "user", "content": "Refund please?"}],
            "temperature": 0.3},
        "response": {"id": "chatcmpl-1", "object": "chat.completion", "created": 1794218820, "model": "gpt-4o-mini",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Within 30 days."},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 51, "completion_tokens": 19, "total_tokens": 70}},
        "latency_ms": 1865,
    }
    for key, value in changes.items():
        if value is None:
            line.pop(key, None)
        else:
            line[key] = value
    return line


def _request(**params: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], **params}


def _response(message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-9", "created": 1794218820, "model": "gpt-4o",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}], **extra}


def _tool_reply(arguments: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "restart_vm", "arguments": arguments}}]}


NASTY_CALLS: list[dict[str, Any]] = [
    _call("u1", request=_request(messages=[{"role": "user", "content": "Ça marche? 中文 עברית e\u0301 😀 \u2028 \x7f"}])),
    _call("long", request=_request(messages=[{"role": "user", "content": "word " * 40_000}])),
    _call("turns", request=_request(messages=[
        {"role": "system", "content": "sys"}, {"role": "user", "content": "first"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\": \"x\"}"}}]},
        {"role": "tool", "tool_call_id": "c1", "name": "lookup", "content": "{\"found\": true}"},
        {"role": "assistant", "content": ""}, {"role": "user", "content": "second"},
        {"role": "user", "content": ""}, {"content": "role last", "role": "user"}])),
    _call("tool-args", response=_response(_tool_reply("{\"vm_id\": \"web-1\", \"force\": true, \"n\": 3}"))),
    _call("tool-nested", response=_response(_tool_reply("{\"filter\": {\"region\": [\"eu\", \"us\"]}}"))),
    _call("tool-invalid", response=_response(_tool_reply("not json {"))),
    _call("tool-small", response=_response(_tool_reply("{\"t\": 1e-5, \"big\": 123456789012345678901}"))),
    _call("tool-object", response=_response(_tool_reply({"vm_id": "web-1"}))),
    _call("tool-null", response=_response({"role": "assistant", "content": None, "tool_calls": [
        {"id": None, "function": None}, {"id": "x", "function": {}}]})),
    _call("tool-weird", response=_response({"role": "assistant", "tool_calls": [{"id": "x"}, "skip me"]})),
    _call("tool-scalar", response=_response({"role": "assistant", "tool_calls": 5})),
    _call("tool-string-args", response=_response(_tool_reply("\"just a string\""))),
    _call("tool-nan", response=_response(_tool_reply("{\"x\": NaN}"))),
    _call("tool-comma", response=_response(_tool_reply("{\"x\": 1,}"))),
    _call("tool-empty-args", response=_response(_tool_reply(""))),
    _call("no-time", timestamp=None),
    _call("no-time-created0", timestamp=None, response=_response({"role": "assistant", "content": "x"}, created=0)),
    _call("empty-time", timestamp="", response=_response({"role": "assistant", "content": "x"})),
    _call("ms-created", timestamp=None, response={**_response({"role": "assistant", "content": "x"}),
                                                  "created": 1794218820123}),
    _call("float-created", timestamp=None, response={**_response({"role": "assistant", "content": "x"}),
                                                     "created": 1794218820.5}),
    *[_call(f"time-{index}", timestamp=stamp) for index, stamp in enumerate([
        "2026-11-20 10:00:00", "2026-11-20T10:00:00+05:30", "2026-11-20T10:00:00.1Z", "2026-11-20T10:00:00.1234567Z",
        "2026-11-20", "2026-11-20T10:00Z", "2026-02-30T10:00:00Z", "2026-11-20T24:00:00Z", " 2026-11-20T10:00:00Z",
        "not a date", 1794218820, "1794218820", "20/11/2026 10:00", "2026-11-20T10:00:00-00:00"])],
    _call("no-response", response=None),
    _call("null-response", response="__null__"),
    _call("string-response", response="Just text ✓"),
    _call("list-response", response=[1, 2]),
    _call(None),
    _call("", response=_response({"role": "assistant", "content": "by response id"})),
    _call(None, response=_response({"role": "assistant", "content": "by response id too"})),
    _call(42),
    _call("no-user", user=None),
    _call("meta-user", user=None, metadata={"user_id": "mu", "conversation_id": "conv", "trace_id": "t1"}),
    _call("req-user", user="", metadata={"session_id": ""}, request=_request(user="ru")),
    _call("meta-nested", metadata={"tags": ["a", "b"], "ctx": {"k": {"deep": 1}}, "n": 1.5, "z": None}),
    _call("meta-odd-number", metadata={"ratio": 1e-7, "big": 1e20}),
    _call("meta-string", metadata="not an object"),
    _call("meta-empty", metadata={}),
    _call("meta-feedback", metadata={"user_feedback": "up"}),
    _call("meta-quote", metadata={"say \"hi\"": "a\"b", "k:,": "v,:"}),
    _call("parts", request=_request(messages=[{"role": "user", "content": [
        {"type": "text", "text": "look at this"}, {"type": "image_url", "image_url": {"url": "x"}}]}])),
    _call("content-null", request=_request(messages=[{"role": "user", "content": None}])),
    _call("content-number", request=_request(messages=[{"role": "user", "content": 5}])),
    _call("role-number", request=_request(messages=[{"role": 1, "content": "x"}])),
    _call("message-string", request=_request(messages=["hello"])),
    _call("messages-empty", request=_request(messages=[])),
    _call("messages-string", request=_request(messages="should be a list")),
    _call("function-output", request=_request(messages=[{"type": "function_call_output", "call_id": "c", "output": "ok"}])),
    _call("choices-empty", response={"choices": []}),
    _call("choice-text", response={"choices": [{"text": "legacy completion", "finish_reason": "length"}]}),
    _call("no-usage", response={"choices": [{"message": {"role": "assistant", "content": "x"}}]}),
    _call("usage-input", response=_response({"role": "assistant", "content": "x"},
                                            usage={"input_tokens": 3, "output_tokens": 4})),
    _call("usage-null-prompt", response=_response({"role": "assistant", "content": "x"},
                                                  usage={"prompt_tokens": None, "input_tokens": 3})),
    _call("usage-float", response=_response({"role": "assistant", "content": "x"}, usage={"prompt_tokens": 3.7})),
    _call("usage-string", response=_response({"role": "assistant", "content": "x"}, usage={"prompt_tokens": "12"})),
    _call("usage-list", response=_response({"role": "assistant", "content": "x"}, usage=[1])),
    _call("finish-empty", response={"choices": [{"message": {"role": "assistant", "content": "x"}, "finish_reason": ""}]}),
    _call("finish-number", response={"choices": [{"message": {"role": "assistant", "content": "x"}, "finish_reason": 1}]}),
    *[_call(f"latency-{index}", latency_ms=value) for index, value in enumerate([12.5, "900", True, 0, -3])],
    _call("latency-null", latency_ms="__null__"),
    *[_call(f"feedback-{index}", feedback=value) for index, value in enumerate([
        {"thumbs": "up"}, {"thumbs": "down"}, {"thumbs": "👍"}, {"thumbs": "Up"}, {"thumbs": True},
        {"rating": 1}, {"rating": 3}, {"rating": 5, "comment": "great"}, {"comment": "only words", "rating": 2},
        {"rating": 4.5}, {"rating": 7}, {"comment": "just a comment"}, {"comment": ""}, {"thumbs": "up", "rating": 5},
        {"thumbs": "down", "comment": "wrong\nplan"}, {}, "up", 1, {"score": 0.5}, {"thumbs": None}, {"text": "x"}])],
    _call("rating-top", rating=4),
    _call("score-top", score=0.8),
    *[_call(f"error-{index}", error=value) for index, value in enumerate([
        "ToolError: 503", "", {"code": 503, "message": "unavailable"}, {}, [], ["a"], 0, 5, False])],
    _call("tools-empty", request=_request(tools=[])),
    _call("tools-object", request=_request(tools={"type": "function"})),
    _call("tools-string", request=_request(tools="calculator")),
    _call("params", request={"temperature": 0.7, "model": "m", "messages": [{"role": "user", "content": "x"}],
                             "max_tokens": 10, "stop": ["\n", "END"], "response_format": {"type": "json_object"},
                             "seed": 123456789012345678901, "top_p": 1.0, "logit_bias": {"50256": -100}}),
    _call("params-null", request=_request(stop=None, temperature=1e-5)),
    _call("params-unknown", request=_request(extra_body={"a": {"b": [1, {"c": 2}]}}, timeout=30)),
    _call("params-none", request={"messages": [{"role": "user", "content": "x"}]}),
    _call("responses-api", request={"model": "m", "input": "hello", "instructions": "be brief"},
          response={"output": [{"type": "message", "content": [{"type": "output_text", "text": "hi"}]}],
                    "status": "completed"}),
    _call("extra-top", session_id="top-session", trace_id="t", expected_output="exp"),
    _call("escapes", request=_request(messages=[{"role": "user", "content": "tab\t nl\n cr\r bs\b ff\f ctl\x01\x1f /"}])),
    _call("dup-a"), _call("dup-a", latency_ms=5),
]

RAW_LINES: list[bytes] = [
    b'{"id": "nan", "request": {"messages": []}, "response": {"choices": [{"message": {"role": "assistant", "content": "x"}}]}, "latency_ms": NaN}',  # noqa: E501 (one log line, as logged)
    b'{"id": "comma", "request": {"messages": [{"role": "user", "content": "x"},]}}',
    b'{"id": "dup-top", "id": "dup-top-2", "request": {"messages": [{"role": "user", "content": "x"}]}}',
    b'{"id": "dup-msg", "request": {"messages": [{"role": "user", "role": "system", "content": "x"}]}}',
    b'{"id": "dup-meta", "metadata": {"session_id": "a", "session_id": "b"}, "request": {"messages": []}}',
    b'{"id": "dup-nested", "metadata": {"ctx": {"k": 1, "k": 2}}, "request": {"messages": []}}',
    b'{"id": "ascii", "request": {"messages": [{"role": "user", "content": "caf\\u00e9 \\ud83d\\ude00 \\u000b \\/"}]}}',
    b'{"id":"compact","timestamp":"2026-11-09T10:07:00Z","request":{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1},"response":{"choices":[{"message":{"role":"assistant","content":"y"},"finish_reason":"stop"}]}}',
    b'  {"id": "spaced", "request": {"messages": [{"role": "user", "content": "x"}]}}  \t',
    b'{"id": "crlf", "request": {"messages": [{"role": "user", "content": "x"}]}}\r',
    b'{"id": "bad-utf8", "request": {"messages": [{"role": "user", "content": "\xff\xfe"}]}}',
    b'{"id": "truncated", "request": {"messages": [',
    b'[1, 2, 3]',
    b'"just a string"',
    b'not json at all',
    b'   ',
    b'',
]


def _nasty_bytes() -> bytes:
    lines = []
    for index, call in enumerate(NASTY_CALLS):
        text = json.dumps(call, ensure_ascii=index % 3 == 0, separators=(",", ":") if index % 4 == 1 else None)
        lines.append(text.replace('"__null__"', "null").encode("utf-8"))
    lines[5] = lines[5] + b"\r"  # a CRLF line among them
    return b"\xef\xbb\xbf" + b"\n".join(lines + RAW_LINES) + b"\n\n" + lines[0]  # BOM, blank tail, no final newline


@pytest.fixture
def nasty_file(tmp_path: Path) -> Path:
    path = tmp_path / "nasty.jsonl"
    path.write_bytes(_nasty_bytes())
    return path


def _ingest(tmp_path: Path, file: Path, fast: bool, monkeypatch) -> dict[str, Any]:
    """Everything an ingest leaves behind, minus what differs by design (ingest ids, times)."""
    monkeypatch.setattr(fastpath_openai, "ENABLED", fast)
    workspace = Workspace.open(tmp_path / f"{'fast' if fast else 'reference'}.duckdb")
    try:
        report, = ingest_paths(workspace, [file], format="openai")
        cursor = workspace.cursor()
        records = cursor.execute("SELECT * EXCLUDE (ingest_id) FROM records ORDER BY source_line").fetchall()
        quarantine = cursor.execute("SELECT file, line, reason, raw FROM quarantine ORDER BY line").fetchall()
    finally:
        Workspace.close_all()
    summary = report.as_json()
    summary.pop("ingest_id")
    return {"report": summary, "records": [tuple(map(_comparable, row)) for row in records], "quarantine": quarantine}


def _comparable(value: Any) -> Any:
    """NaN compares unequal to itself; a logged NaN latency must still count as the same value."""
    return "NaN" if isinstance(value, float) and value != value else value


def _assert_same(tmp_path: Path, file: Path, monkeypatch) -> dict[str, Any]:
    reference = _ingest(tmp_path, file, False, monkeypatch)
    fast = _ingest(tmp_path, file, True, monkeypatch)
    assert fast["report"] == reference["report"]
    assert fast["quarantine"] == reference["quarantine"]
    assert len(fast["records"]) == len(reference["records"])
    for mine, theirs in zip(fast["records"], reference["records"]):
        assert mine == theirs
    return fast


@pytest.fixture
def reference_calls(monkeypatch) -> list[int]:
    """Counts the rows the fast path hands to the reference parser."""
    calls: list[int] = []
    original = rows.parse_row

    def counting(shape, row, report):
        calls.append(row.line)
        return original(shape, row, report)

    monkeypatch.setattr(rows, "parse_row", counting)
    return calls


@pytest.mark.parametrize("name", ["openai_chat.jsonl", "broken_openai_chat.jsonl", "openai_chat.jsonl.gz"])
def test_fixtures_match_the_reference(tmp_path, fixtures, name, monkeypatch) -> None:
    _assert_same(tmp_path, fixtures / name, monkeypatch)


def test_broken_fixture_quarantines_the_same_lines(tmp_path, fixtures, monkeypatch) -> None:
    fast = _assert_same(tmp_path, fixtures / "broken_openai_chat.jsonl", monkeypatch)
    assert [line for _, line, _, _ in fast["quarantine"]] == [2, 4, 6, 11]


def test_demo_matches_the_reference_without_fallback(tmp_path, monkeypatch, reference_calls) -> None:
    path = generate_demo(tmp_path / "demo.jsonl", seed=5, calls=1500)
    fast = _assert_same(tmp_path, path, monkeypatch)
    assert len(fast["records"]) == 1500
    fallback = len(reference_calls) - 1500  # the reference run parses every row itself
    assert fallback == 0


def test_nasty_lines_match_the_reference(tmp_path, nasty_file, monkeypatch, reference_calls) -> None:
    fast = _assert_same(tmp_path, nasty_file, monkeypatch)
    assert fast["quarantine"] and fast["records"]
    rows = fast["report"]["rows_read"]
    assert 0 < len(reference_calls) - rows < rows  # some lines fell back, most did not


def test_small_blocks_match_the_reference(tmp_path, nasty_file, monkeypatch) -> None:
    """Block boundaries, lines longer than a block and duplicates across blocks change nothing."""
    monkeypatch.setattr(fastpath_openai, "BLOCK_BYTES", 4096)
    _assert_same(tmp_path, nasty_file, monkeypatch)


def test_gzip_matches_the_reference(tmp_path, nasty_file, monkeypatch) -> None:
    packed = tmp_path / "nasty.jsonl.gz"
    packed.write_bytes(gzip.compress(nasty_file.read_bytes()))
    _assert_same(tmp_path, packed, monkeypatch)


def test_reingest_adds_nothing(tmp_path, nasty_file) -> None:
    workspace = Workspace.open(tmp_path / "twice.duckdb")
    first, = ingest_paths(workspace, [nasty_file])
    again, = ingest_paths(workspace, [nasty_file])
    assert first.rows_added > 0 and again.rows_added == 0
    assert again.rows_present == first.rows_added + first.rows_present
    assert workspace.cursor().execute("SELECT count(*) FROM records").fetchone()[0] == first.rows_added
    Workspace.close_all()


def test_a_failure_midway_leaves_the_workspace_unchanged(tmp_path, monkeypatch) -> None:
    path = generate_demo(tmp_path / "demo.jsonl", calls=300)
    monkeypatch.setattr(fastpath_openai, "BLOCK_BYTES", 64 << 10)
    original = fastpath_openai._ingest_block
    seen: list[int] = []

    def failing(run, block):
        seen.append(block.rows)
        if len(seen) == 3:
            raise RuntimeError("disk full")
        original(run, block)

    monkeypatch.setattr(fastpath_openai, "_ingest_block", failing)
    workspace = Workspace.open(tmp_path / "w.duckdb")
    report, = ingest_paths(workspace, [path])
    first = sum(seen[:2]) + 1
    assert report.error == f"{path}: RuntimeError: disk full (while reading lines {first}-{first + seen[2] - 1})"
    assert workspace.cursor().execute("SELECT count(*) FROM records").fetchone()[0] == 0
    Workspace.close_all()


@pytest.mark.parametrize("data", [
    b"a\nb\n", b"a\nb", b"\xef\xbb\xbf a \r\n\r\n \t\nb\r\n", b"\n\n\n", b"x" * 10_000 + b"\n" + b"y\n",
    b"ok\n\xff\xfe\nstill ok\n", b" \x0b\x0cz\x0c \n", b"a\n\xef\xbb\xbf{b}\n \xef\xbb\xbf c\n\xef\xbb\xbf\n",
    b"short\n" + b"L" * 300 + b"\r\nafter\n", b"L" * 301, b"M" * 100 + b"\n" + b"N" * 101 + b"\n",
    # lines of 11, 12 and 13 bytes (a string view holds up to 12 in itself), UTF-8 across the 4-byte prefix
    b"12345678901\n123456789012\n1234567890123\n \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\n\xe2\x82\xac\xe2\x82\xac\nz",
])
@pytest.mark.parametrize("view_bytes", [fastpath_openai.VIEW_BYTES, 8])
def test_lines_are_cut_as_the_row_reader_cuts_them(data: bytes, view_bytes: int, monkeypatch) -> None:
    """Stripping, byte-order marks mid-file (files joined end to end) and lines over the limit alike,
    with string views and with the line-by-line split used for blocks too long for them."""
    monkeypatch.setattr(fastpath_openai, "VIEW_BYTES", view_bytes)
    limit = 100
    expected = [(row.line, row.raw, row.error is not None and "longer than" in row.error)
                for row in _jsonl_rows(io.BytesIO(data), limit)]
    found = []
    for block in fastpath_openai.line_blocks(io.BytesIO(data), block_bytes=7, limit=limit):
        table = block.table
        found += [(number, raw, False) for number, raw in zip(table["line"].to_pylist(), table["raw"].to_pylist())]
        found += [(number, raw.decode("utf-8", "replace"), False) for number, raw in block.reference]
        found += [(row.line, row.raw, True) for row in block.problems]
    assert sorted(found) == expected


# A key given twice: Python keeps the last value, DuckDB the first, so every object SQL reads must be
# checked for repeats (the first, middle or last key repeated, three times, and not repeated at all).
DUPLICATE_KEY_LINES: list[bytes] = [
    b'{"id": "d1", "request": {"model": "m", "model": "n", "messages": [{"role": "user", "content": "x"}]}}',
    b'{"id": "d2", "request": {"messages": [{"role": "user", "content": "x"}], "temperature": 1, "temperature": 2}}',
    b'{"id": "d3", "request": {"messages": [{"role": "user", "content": "x", "content": "y"}]}}',
    b'{"id": "d4", "request": {"messages": [{"role": "user", "content": "x", "name": "a", "name": "a"}]}}',
    b'{"id": "d5", "request": {"messages": []}, "response": {"choices": [], "choices": [{"message": {"role": "a"}}]}}',
    b'{"id": "d6", "request": {"messages": []}, "response": {"choices": [{"message": {"role": "a", "content": "x"},'
    b' "finish_reason": "stop", "finish_reason": "length"}]}}',
    b'{"id": "d7", "request": {"messages": []}, "response": {"choices": [{"message": {"role": "a", "content": "x",'
    b' "content": "y"}}]}}',
    b'{"id": "d8", "request": {"messages": []}, "response": {"choices": [{"message": {"role": "a", "content": "x"}}],'
    b' "usage": {"prompt_tokens": 1, "completion_tokens": 2, "prompt_tokens": 3}}}',
    b'{"id": "d9", "request": {"messages": []}, "feedback": {"thumbs": "up", "thumbs": "down"}}',
    b'{"id": "d10", "request": {"messages": []}, "feedback": {"rating": 2, "comment": "a", "comment": "b"}}',
    b'{"id": "d11", "request": {"messages": []}, "response": {"choices": [{"message": {"role": "a", "tool_calls":'
    b' [{"id": "c", "id": "d", "function": {"name": "f", "arguments": "{}"}}]}}]}}',
    b'{"id": "d12", "request": {"messages": []}, "response": {"choices": [{"message": {"role": "a", "tool_calls":'
    b' [{"id": "c", "function": {"name": "f", "name": "g", "arguments": "{}"}}]}}]}}',
    b'{"id": "d13", "request": {"messages": []}, "metadata": {"a": 1, "b": 2, "a": 3, "a": 4}}',
    b'{"id": "d14", "request": {"messages": [], "tools": [{"type": "function", "type": "other"}]}}',
    b'{"id": "d15", "request": {"messages": []}, "error": {"code": 1, "code": 2}}',
    b'{"id": "d16", "timestamp": "2026-11-09T10:07:00Z", "request": {"messages": []}, "timestamp": "2026-11-10T10:07:00Z"}',
    b'{"id": "d17", "request": {"messages": []}, "response": {"choices": [{"message": {}}]}, "metadata": {}}',
    b'{"id": "d18", "request": {"messages": [{"role": "user", "content": "x"}]}, "user": "a", "latency_ms": 3}',
]


def test_duplicate_keys_match_the_reference(tmp_path, monkeypatch) -> None:
    path = tmp_path / "duplicates.jsonl"
    path.write_bytes(b"\n".join(DUPLICATE_KEY_LINES) + b"\n")
    fast = _assert_same(tmp_path, path, monkeypatch)
    assert len(fast["records"]) + len(fast["quarantine"]) == len(DUPLICATE_KEY_LINES)


# JSON that DuckDB reads and Python reads otherwise, or refuses: NaN and Infinity in every position
# (Python reads them, DuckDB's reader differs), trailing commas, control characters escaped as \u00XX
# (DuckDB writes their hex digits in upper case), next to the same words inside strings, which are fine.
LENIENT_JSON_LINES: list[bytes] = [
    b'{"id": "n1", "request": {"messages": [], "temperature": NaN}}',
    b'{"id": "n2", "request": {"messages": [], "temperature": -Infinity}}',
    b'{"id": "n3", "request": {"messages": [], "stop": [Infinity, NaN]}}',
    b'{"id": "n4", "request": {"messages": []}, "latency_ms":NaN}',
    b'{"id": "n5", "request": {"messages": []}, "metadata": {"x": [1,\tNaN]}}',
    b'{"id": "n6", "request": {"messages": [{"role": "user", "content": "NaN and Infinity, -Infinity: [NaN]"}]}}',
    b'{"id": "n7", "request": {"messages": [], "temperature": nan}}',  # DuckDB reads any case, Python refuses
    b'{"id": "n8", "request": {"messages": []}, "latency_ms": -inf}',
    b'{"id": "n9", "request": {"messages": []}, "metadata": {"x": INF, "y": -NAN, "z": iNfInItY}}',
    b'{"id": "n10", "request": {"messages": []}, "latency_ms": 1e400}',
    b'{"id": "n11", "request": {"messages": [{"role": "user", "content": "Subject: information, infinite: nan-ish"}]}}',
    b'{"id": "c1", "request": {"messages": []}, "metadata": {"a": 1, }}',
    b'{"id": "c2", "request": {"messages": [], "stop": ["x",\t]}}',
    b'{"id": "c3", "request": {"messages": [{"role": "user", "content": "a,] b, } c"}]}}',
    b'{"id": "u1", "request": {"messages": [{"role": "user", "content": "\\u0000 \\u001f \\u001F \\u0010"}]}}',
    b'{"id": "u2", "request": {"messages": [{"role": "user", "content": "\\u00e9 \\u00FF \\u0020"}]}}',
    b'{"id": "u3", "request": {"messages": [{"role": "user", "content": "\\\\u0001 is not an escape"}]}}',
]


# The same inside tool-call arguments, which are JSON text in a string: Python reads NaN there, not nan.
LENIENT_ARGUMENTS = ["{\"x\": NaN}", "{\"x\": nan}", "{\"x\": -inf}", "[1, INFINITY]", "nan", " -Infinity ",
                     "{\"q\": \"info: nan, inf]\"}", "{\"q\": \"financial information\"}", "{\"x\": [1,]}"]


def test_lenient_json_matches_the_reference(tmp_path, monkeypatch) -> None:
    calls = [json.dumps(_call(f"a{index}", response=_response(_tool_reply(arguments)))).encode()
             for index, arguments in enumerate(LENIENT_ARGUMENTS)]
    path = tmp_path / "lenient.jsonl"
    path.write_bytes(b"\n".join(LENIENT_JSON_LINES + calls) + b"\n")
    fast = _assert_same(tmp_path, path, monkeypatch)
    assert len(fast["records"]) + len(fast["quarantine"]) == len(LENIENT_JSON_LINES) + len(calls)
