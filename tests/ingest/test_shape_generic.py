"""Generic tables read through a column mapping, suggested and correctable."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mining.ingest import ingest_file
from mining.ingest.record import BadRow
from mining.ingest.shapes.generic import ColumnMapping, GenericTableShape, guess_day_first, suggest_mapping


def test_sample_csv_with_the_suggested_mapping(workspace, fixtures):
    report = ingest_file(workspace, fixtures / "generic_support_log.csv")
    assert (report.format, report.rows_added, report.rows_quarantined) == ("generic", 36, 0)
    row = workspace.cursor().execute(
        "SELECT ts, user_id, model, cluster_text, response_text, feedback_score, feedback_comment FROM records ORDER BY ts LIMIT 1"
    ).fetchone()
    assert row[0] == datetime(2026, 11, 9, 10, 7, tzinfo=timezone.utc)  # 09/11/2026 read day first
    assert row[1:5] == ("u-1042", "gpt-4o-mini", "Can I get a refund for the annual plan after 45 days?",
                        "Yes, Acme Cloud refunds annual plans in full at any time, no questions asked.")
    assert row[5] == 0.0 and row[6] == "made up a policy"  # 1 star of 5


def test_mapping_from_the_command_line_overrides_the_suggestion(workspace, fixtures):
    mapping = ColumnMapping.parse(["input=bot_answer", "output=question", "feedback=stars", "feedback_scale=rating"])
    ingest_file(workspace, fixtures / "generic_support_log.csv", format="generic", mapping=mapping)
    text = workspace.cursor().execute("SELECT cluster_text FROM records ORDER BY ts LIMIT 1").fetchone()[0]
    assert text.startswith("Yes, Acme Cloud refunds")


def test_parquet_table_with_expected_output_and_ids(workspace, tmp_path):
    path = tmp_path / "calls.parquet"
    pq.write_table(pa.table({
        "request_id": ["a", "b"], "prompt": ["q1", "q2"], "answer": ["r1", "r2"],
        "expected": ["gold1", None], "created_at": ["2026-11-01T10:00:00Z", "2026-11-02T10:00:00+01:00"],
        "thumbs": ["up", "down"], "team": ["x", "y"],
    }), path)
    report = ingest_file(workspace, path)
    assert (report.format, report.rows_added) == ("generic", 2)
    rows = workspace.cursor().execute(
        "SELECT source_id, expected_output, feedback_score, metadata, ts FROM records ORDER BY source_id").fetchall()
    assert rows[0][:3] == ("a", "gold1", 1.0) and rows[1][:3] == ("b", None, 0.0)
    assert json.loads(rows[0][3]) == {"team": "x"}
    assert rows[1][4] == datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
    again = ingest_file(workspace, path)
    assert (again.rows_added, again.rows_present) == (0, 2)


def test_rows_with_an_empty_input_are_quarantined(workspace, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("question,answer\nq1,a1\n,a2\nq3,a3\n")
    report = ingest_file(workspace, path)
    assert (report.rows_added, report.rows_quarantined) == (2, 1)
    line, reason = workspace.cursor().execute("SELECT line, reason FROM quarantine").fetchone()
    assert line == 3 and "input column 'question' is empty" in reason


def test_suggestions_and_date_order():
    assert suggest_mapping(["Event Time", "Customer Message", "Bot Reply", "LLM"]) == {
        "input": "Customer Message", "output": "Bot Reply", "time": "Event Time", "model": "LLM"}
    assert guess_day_first(["01/02/2026", "25/02/2026"]) is True
    assert guess_day_first(["02/25/2026"]) is False
    assert guess_day_first(["2026-02-25"]) is None


def test_bad_mapping_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown field 'inptu'"):
        ColumnMapping.parse(["inptu=question"])
    with pytest.raises(ValueError, match="expected field=column"):
        ColumnMapping.parse(["input"])


def test_a_json_conversation_in_the_input_cell_is_kept_as_turns():
    shape = GenericTableShape(ColumnMapping({"input": "conv", "output": "out"}))
    (record,) = shape.parse({"conv": json.dumps([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]), "out": "o"})
    assert [m["role"] for m in record.input_messages] == ["system", "user"]
    with pytest.raises(BadRow, match="expected a table row"):
        shape.parse(["not", "a", "row"])
