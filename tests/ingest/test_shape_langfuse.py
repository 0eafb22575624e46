"""Langfuse observations and scores: the samples through the real pipeline, and parse() by hand."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from mining.ingest import IngestReport, ingest_paths
from mining.ingest.record import BadRow, Record, SourceScore
from mining.ingest.shapes import detect_shape
from mining.ingest.shapes.langfuse import TOKEN_NOTE, LangfuseObservationShape, LangfuseScoreShape
from mining.store import Workspace
from paths import FIXTURES

OBSERVATIONS = FIXTURES / "langfuse_observations.jsonl"
SCORES = FIXTURES / "langfuse_scores.jsonl"
AGENT_OBSERVATIONS = FIXTURES / "langfuse_agent_observations.jsonl"
AGENT_SCORES = FIXTURES / "langfuse_agent_scores.jsonl"

FEEDBACK_QUERY = ("SELECT record_id, feedback, feedback_score, feedback_comment FROM records"
                  " WHERE source_format = 'langfuse' ORDER BY record_id")


def _ingest(workspace: Workspace, *paths: Path) -> list[IngestReport]:
    reports = [report for path in paths for report in ingest_paths(workspace, [path])]
    assert all(report.ok for report in reports), [report.error for report in reports]
    return reports


def _record(workspace: Workspace, source_id: str) -> dict[str, Any]:
    cursor = workspace.cursor()
    result = cursor.execute("SELECT * FROM records WHERE source_id = ?", [source_id])
    names = [column[0] for column in result.description]
    rows = result.fetchall()
    assert len(rows) == 1, f"{source_id}: {len(rows)} rows"
    return dict(zip(names, rows[0]))


def _feedback(row: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(row["feedback"]) if row["feedback"] else []


def _generation(**fields: Any) -> dict[str, Any]:
    base = {"id": "g-1", "traceId": "t-1", "type": "GENERATION", "startTime": "2026-01-01T00:00:00Z",
            "input": [{"role": "user", "content": "hi"}], "output": {"role": "assistant", "content": "hello"}}
    return {**base, **fields}


def _parse_one(value: dict[str, Any]) -> Record:
    records = list(LangfuseObservationShape().parse(value))
    assert len(records) == 1
    return records[0]


def _score(**fields: Any) -> SourceScore:
    base = {"id": "s-1", "traceId": "t-1", "observationId": "g-1", "name": "quality"}
    scores = list(LangfuseScoreShape().parse({**base, **fields}))
    assert len(scores) == 1
    return scores[0]


# --- the samples through the pipeline ---------------------------------------------------------

def test_observation_sample_is_detected_and_ingested(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "w.duckdb")
    [report] = _ingest(workspace, OBSERVATIONS)
    assert (report.format, report.rows_read, report.rows_added, report.rows_quarantined) == ("langfuse", 36, 36, 0)
    row = _record(workspace, "lf-gen-0000")
    assert row["trace_id"] == "lf-trace-0000" and row["parent_id"] is None
    assert row["model"] == "gpt-4o-mini-2024-07-18"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (51, 19, 70)
    assert row["token_note"] == TOKEN_NOTE
    assert row["ts"] == datetime(2026, 11, 9, 10, 7, tzinfo=timezone.utc)
    assert row["latency_ms"] == pytest.approx(1865.0)
    assert row["cluster_text"] == "Can I get a refund for the annual plan after 45 days?"
    assert row["response_text"] == "Yes, Acme Cloud refunds annual plans in full at any time, no questions asked."
    assert (row["user_id"], row["session_id"], row["status"]) == ("u-1042", "sess-000", "ok")
    assert json.loads(row["request_params"]) == {"temperature": 0.3}
    metadata = json.loads(row["metadata"])
    assert metadata["environment"] == "production" and metadata["version"] == "2.3.1"
    assert metadata["time_to_first_token_ms"] == pytest.approx(180.0)


def test_level_error_becomes_error_status(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "w.duckdb")
    _ingest(workspace, OBSERVATIONS)
    row = _record(workspace, "lf-gen-0011")
    assert row["status"] == "error"
    assert row["error"] == "ToolError: billing.cancel_subscription returned 503"
    errors = workspace.cursor().execute(
        "SELECT count(*) FROM records WHERE source_format = 'langfuse' AND status = 'error'").fetchone()[0]
    assert errors == 3


def test_scores_join_onto_generations(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "w.duckdb")
    _, scores_report = _ingest(workspace, OBSERVATIONS, SCORES)
    assert (scores_report.format, scores_report.scores_read, scores_report.rows_quarantined) == ("langfuse_scores", 43, 0)
    row = _record(workspace, "lf-gen-0000")
    items = {item["name"]: item for item in _feedback(row)}
    assert items["user-feedback"] == {"name": "user-feedback", "value": False, "score": 0.0, "kind": "boolean",
                                      "source": "user", "comment": "wrong policy"}
    assert items["faithfulness"]["score"] == pytest.approx(0.15) and items["faithfulness"]["source"] == "eval"
    assert row["feedback_score"] == 0.0  # the user's verdict, not the eval's 0.15
    assert row["feedback_comment"] == "LLM-as-a-judge\nwrong policy"
    assert _record(workspace, "lf-gen-0007")["feedback_score"] == 1.0
    assert _record(workspace, "lf-gen-0013")["feedback_score"] == pytest.approx(0.15)  # only an eval


def test_scores_before_or_after_observations_give_identical_feedback(tmp_path: Path) -> None:
    first = Workspace.open(tmp_path / "first.duckdb")
    _ingest(first, OBSERVATIONS, SCORES)
    second = Workspace.open(tmp_path / "second.duckdb")
    _ingest(second, SCORES, OBSERVATIONS)
    expected = first.cursor().execute(FEEDBACK_QUERY).fetchall()
    assert sum(1 for row in expected if row[1] is not None) == 30  # 28 with user feedback, 2 with an eval only
    assert second.cursor().execute(FEEDBACK_QUERY).fetchall() == expected
    again = _ingest(second, OBSERVATIONS, SCORES)
    assert [report.rows_added for report in again] == [0, 0]
    assert again[0].rows_present == 36
    assert second.cursor().execute(FEEDBACK_QUERY).fetchall() == expected
    assert second.cursor().execute("SELECT count(*) FROM source_scores").fetchone()[0] == 43


def test_scores_split_over_two_files_are_all_kept(tmp_path: Path) -> None:
    lines = SCORES.read_text().splitlines()
    users, evals = tmp_path / "user_scores.jsonl", tmp_path / "eval_scores.jsonl"
    users.write_text("\n".join(line for line in lines if '"EVAL"' not in line) + "\n")
    evals.write_text("\n".join(line for line in lines if '"EVAL"' in line) + "\n")
    workspace = Workspace.open(tmp_path / "w.duckdb")
    _ingest(workspace, OBSERVATIONS, users, evals)
    names = sorted(item["name"] for item in _feedback(_record(workspace, "lf-gen-0000")))
    assert names == ["faithfulness", "user-feedback"]


def test_agent_trace_spans_skipped_tool_calls_and_usage(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "w.duckdb")
    [report] = _ingest(workspace, AGENT_OBSERVATIONS)
    assert (report.rows_added, report.rows_skipped) == (3, 2)  # the SPAN and the EVENT
    plan = _record(workspace, "lf-agent-gen-1")
    assert plan["parent_id"] == "lf-agent-span"
    assert (plan["user_id"], plan["session_id"]) == ("u-7001", "sess-agent-1")  # top-level userId / sessionId
    assert json.loads(plan["tool_calls"]) == [
        {"id": "call_inv_1", "name": "get_invoice", "arguments": {"invoice_id": "INV-204"}}]
    assert plan["response_text"] is None
    assert json.loads(plan["tools"])[0]["function"]["name"] == "get_invoice"
    assert plan["cluster_text"] == "Why was invoice INV-204 charged twice? Ça me coûte cher 😕"
    assert (plan["input_tokens"], plan["output_tokens"], plan["total_tokens"]) == (80, 21, 133)
    assert plan["token_note"] == TOKEN_NOTE + " (32 cached input tokens)"
    answer = _record(workspace, "lf-agent-gen-2")
    messages = json.loads(answer["input_messages"])
    assert [message["role"] for message in messages] == ["system", "user", "assistant", "tool"]
    assert messages[3]["tool_call_id"] == "call_inv_1"
    assert (answer["input_tokens"], answer["output_tokens"]) == (120, 25)  # the older `usage` field
    assert answer["latency_ms"] == pytest.approx(2250.0)
    assert json.loads(answer["metadata"])["status_message"] == "slow upstream"
    failed = _record(workspace, "lf-agent-gen-3")
    assert (failed["status"], failed["error"]) == ("error", "RateLimitError: 429 Too Many Requests")
    assert failed["response_text"] is None and failed["token_note"] is None


def test_trace_scores_corrections_and_labels(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "w.duckdb")
    _ingest(workspace, AGENT_SCORES, AGENT_OBSERVATIONS)
    for source_id in ("lf-agent-gen-1", "lf-agent-gen-2", "lf-agent-gen-3"):  # the trace-level score
        resolution = [item for item in _feedback(_record(workspace, source_id)) if item["name"] == "resolution"]
        assert resolution == [{"name": "resolution", "value": 4, "score": 0.75, "kind": "rating",
                               "source": "annotation", "comment": "resolved, a bit slow"}]
    answer = _record(workspace, "lf-agent-gen-2")
    items = {item["name"]: item for item in _feedback(answer)}
    assert items["correction"]["kind"] == "correction" and items["correction"]["score"] is None
    assert items["correction"]["value"].startswith("The second charge on INV-204 was a duplicate; it was refunded")
    assert items["accuracy"] == {"name": "accuracy", "value": "incorrect", "score": 0.0, "kind": "categorical",
                                 "source": "eval", "comment": None}
    assert answer["feedback_score"] == 0.75  # the annotation; the eval and the correction do not count
    assert answer["feedback_comment"] == "refund already happened\nresolved, a bit slow"
    plan_items = {item["name"]: item for item in _feedback(_record(workspace, "lf-agent-gen-1"))}
    assert plan_items["reviewer-note"]["kind"] == "comment"
    assert plan_items["reviewer-note"]["comment"] == "good tool choice"


def test_detection_tells_observations_from_scores() -> None:
    observations = [json.loads(line) for line in OBSERVATIONS.read_text().splitlines()]
    scores = [json.loads(line) for line in SCORES.read_text().splitlines()]
    assert detect_shape(observations) == "langfuse"
    assert detect_shape(scores) == "langfuse_scores"


# --- parse() on hand-made items -----------------------------------------------------------------

def test_spans_and_events_are_skipped() -> None:
    shape = LangfuseObservationShape()
    assert list(shape.parse(_generation(type="SPAN"))) == []
    assert list(shape.parse(_generation(type="EVENT", input=None))) == []


def test_input_forms() -> None:
    assert _parse_one(_generation(input="Résumé, s'il vous plaît")).input_messages == [
        {"role": "user", "content": "Résumé, s'il vous plaît"}]
    anthropic = _parse_one(_generation(input={"system": "Be brief.", "messages": [{"role": "user", "content": "hi"}]}))
    assert [message["role"] for message in anthropic.input_messages] == ["system", "user"]
    arguments = _parse_one(_generation(input={"ticket": 42, "lang": "de"}))
    assert arguments.input_messages == [{"role": "user", "content": '{"ticket": 42, "lang": "de"}'}]
    langchain = _parse_one(_generation(input=[{"type": "human", "content": "hallo"}]))
    assert langchain.input_messages == [{"role": "user", "content": "hallo"}]


def test_output_forms() -> None:
    assert _parse_one(_generation(output="plain")).response_text == "plain"
    assert _parse_one(_generation(output={"answer": 42})).response_text == '{"answer": 42}'
    langchain_call = _parse_one(_generation(output={"role": "assistant", "content": "",
                                                    "tool_calls": [{"id": "c1", "name": "f", "args": {"x": 1}}]}))
    assert langchain_call.tool_calls == [{"id": "c1", "name": "f", "arguments": {"x": 1}}]
    assert langchain_call.response_text is None
    completion = _parse_one(_generation(output={"choices": [{"message": {"role": "assistant", "content": "ok"},
                                                             "finish_reason": "length"}]}))
    assert (completion.response_text, completion.finish_reason) == ("ok", "length")


@pytest.mark.parametrize(("item", "reason"), [
    (["not", "an", "object"], "expected a JSON object"),
    (_generation(type=3), "field 'type'"),
    (_generation(id=None), "'id'"),
    (_generation(input=None), "field 'input'"),
    (_generation(startTime="yesterday-ish"), "field 'startTime'"),
    (_generation(endTime=True), "field 'endTime'"),
    (_generation(usageDetails=[1, 2]), "field 'usageDetails'"),
    (_generation(usageDetails={"input": "many"}), "token counts in 'usageDetails'"),
    (_generation(modelParameters="temperature=0"), "field 'modelParameters'"),
    (_generation(input=[{"content": "no role"}]), "input[0]: message has no 'role'"),
    (_generation(input={"messages": "hi"}), "field 'input.messages'"),
])
def test_malformed_observations_raise_badrow(item: Any, reason: str) -> None:
    with pytest.raises(BadRow, match=reason.replace("[", r"\[").replace("]", r"\]")):
        list(LangfuseObservationShape().parse(item))


def test_score_data_types() -> None:
    assert _score(value=1, dataType="BOOLEAN", source="API").item.score == 1.0
    assert _score(value=None, stringValue="False", dataType="BOOLEAN").item.score == 0.0
    numeric = _score(value=0.8, dataType="NUMERIC", source="EVAL").item
    assert (numeric.score, numeric.kind, numeric.source) == (0.8, "score", "eval")
    good = _score(value=1, stringValue="good", dataType="CATEGORICAL", source="ANNOTATION").item
    assert (good.value, good.score, good.kind, good.source) == ("good", 1.0, "categorical", "annotation")
    partial = _score(value=2, stringValue="partly right", dataType="CATEGORICAL").item
    assert (partial.value, partial.score) == ("partly right", None)
    text = _score(value=None, stringValue="nice", dataType="TEXT", comment="checked").item
    assert (text.kind, text.score, text.comment) == ("comment", None, "nice\nchecked")
    correction = _score(value=0, stringValue="The window is 30 days.", dataType="CORRECTION", source="ANNOTATION")
    assert correction.item.as_json() == {"name": "quality", "value": "The window is 30 days.", "score": None,
                                         "kind": "correction", "source": "annotation", "comment": None}
    assert _score(value=0.5).item.score == 0.5  # older scores carry no dataType


def test_trace_level_score_has_no_observation() -> None:
    score = _score(observationId=None, value=1, dataType="BOOLEAN")
    assert (score.trace_id, score.observation_id, score.source_format) == ("t-1", None, "langfuse_scores")


@pytest.mark.parametrize(("fields", "reason"), [
    ({"id": None}, "'id'"),
    ({"traceId": None, "observationId": None}, "neither 'traceId' nor 'observationId'"),
    ({"name": 7}, "field 'name'"),
    ({"value": "high", "dataType": "NUMERIC"}, "field 'value'"),
    ({"value": None, "dataType": "NUMERIC"}, "numeric 'value'"),
    ({"value": 0, "dataType": "CORRECTION"}, "stringValue"),
    ({"value": 1, "dataType": "VIBES"}, "field 'dataType'"),
    ({"value": None, "dataType": "BOOLEAN"}, "BOOLEAN"),
])
def test_malformed_scores_raise_badrow(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(BadRow, match=reason):
        _score(**fields)
