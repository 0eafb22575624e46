"""The ingest pipeline end to end: idempotency, quarantine, transactions, folders, bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mining.ingest import fastpath_openai, pipeline
from mining.ingest.pipeline import ingest_file, ingest_paths, preview_file
from mining.ingest.shapes.generic import ColumnMapping


def count(workspace, sql: str, params=()) -> int:
    return workspace.cursor().execute(sql, list(params)).fetchone()[0]


def test_ingesting_the_same_file_twice_adds_nothing(workspace, fixtures):
    first = ingest_paths(workspace, [fixtures / "openai_chat.jsonl"])[0]
    second = ingest_paths(workspace, [fixtures / "openai_chat.jsonl"])[0]
    assert (first.rows_added, first.rows_present) == (36, 0)
    assert (second.rows_added, second.rows_present) == (0, 36)
    assert count(workspace, "SELECT count(*) FROM records") == 36


def test_overlapping_and_compressed_copies_add_only_new_calls(workspace, fixtures, tmp_path):
    lines = (fixtures / "openai_chat.jsonl").read_text().splitlines()
    (tmp_path / "first.jsonl").write_text("\n".join(lines[:20]) + "\n")
    (tmp_path / "second.jsonl").write_text("\n".join(lines[10:]) + "\n")
    reports = ingest_paths(workspace, [tmp_path / "first.jsonl", tmp_path / "second.jsonl", fixtures / "openai_chat.jsonl.gz"])
    assert [(r.rows_added, r.rows_present) for r in reports] == [(20, 0), (16, 10), (0, 36)]
    assert count(workspace, "SELECT count(*) FROM records") == 36


def test_calls_without_ids_get_stable_content_ids(workspace, tmp_path, fixtures):
    line = json.loads((fixtures / "openai_chat.jsonl").read_text().splitlines()[0])
    del line["id"]
    (tmp_path / "a.jsonl").write_text(json.dumps(line) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps(line, indent=None, separators=(",", ":"), sort_keys=True) + "\n")
    reports = ingest_paths(workspace, [tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert [(r.rows_added, r.rows_present) for r in reports] == [(1, 0), (0, 1)]


def test_bad_lines_are_quarantined_and_good_lines_all_kept(workspace, fixtures):
    report = ingest_paths(workspace, [fixtures / "broken_openai_chat.jsonl"])[0]
    assert report.error is None
    assert (report.rows_added, report.rows_quarantined) == (6, 4)
    rows = workspace.cursor().execute("SELECT file, line, reason, raw FROM quarantine ORDER BY line").fetchall()
    assert [row[1] for row in rows] == [2, 4, 6, 11]
    assert all(row[0].endswith("broken_openai_chat.jsonl") for row in rows)
    assert "not valid JSON" in rows[0][2] and rows[1][3] == "this line is not json at all"
    assert "'messages' should be a list" in rows[2][2]
    assert "got a list" in rows[3][2]
    ids = {row[0] for row in workspace.cursor().execute("SELECT source_id FROM records").fetchall()}
    assert ids == {"req_00000", "req_00001", "req_00002", "req_00003", "req_00004", "req_00005"}


def test_the_ingest_log_records_every_file(workspace, fixtures, tmp_path):
    ingest_paths(workspace, [fixtures / "broken_openai_chat.jsonl"])
    (tmp_path / "empty.jsonl").write_text("")
    ingest_paths(workspace, [tmp_path / "empty.jsonl"])
    rows = workspace.cursor().execute(
        "SELECT file, format, rows_read, rows_added, rows_present, rows_quarantined, message FROM ingests ORDER BY started_at"
    ).fetchall()
    assert rows[0][1:6] == ("openai", 10, 6, 0, 4)
    assert rows[1][0].endswith("empty.jsonl") and "empty" in rows[1][6]


@pytest.mark.parametrize("content, problem", [
    (b"", "the file is empty"),
    (b"\n\n  \n", "holds no rows"),
    (b"hello world, this is prose\nnot a log\n", "line 1: not valid JSON"),
    (b'{"foo": 1}\n{"bar": 2}\n', "not recognise"),
])
def test_files_that_are_not_logs_get_a_clear_message_and_change_nothing(workspace, tmp_path, content, problem):
    path = tmp_path / "odd.jsonl"
    path.write_bytes(content)
    report = ingest_file(workspace, path)
    assert report.error and problem in report.error and str(path) in report.error
    assert count(workspace, "SELECT count(*) FROM records") == 0
    assert count(workspace, "SELECT count(*) FROM quarantine") == 0


def test_a_file_of_only_bad_rows_fails_whole(workspace, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"request": {"messages": "nope"}, "response": "x"}\n' * 3)
    report = ingest_file(workspace, path)
    assert report.error and "no row could be read" in report.error
    assert count(workspace, "SELECT count(*) FROM quarantine") == 0


def test_an_ingest_that_breaks_half_way_leaves_the_workspace_untouched(workspace, fixtures, monkeypatch):
    ingest_paths(workspace, [fixtures / "generic_support_log.csv"])
    before = count(workspace, "SELECT count(*) FROM records")
    calls = {"n": 0}
    real_flush = pipeline._flush

    def flaky_flush(cursor, batch):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real_flush(cursor, batch)

    monkeypatch.setattr(pipeline, "BATCH_ROWS", 10)
    monkeypatch.setattr(pipeline, "_flush", flaky_flush)
    monkeypatch.setattr(fastpath_openai, "ENABLED", False)  # the row-by-row path; test_fastpath covers the other
    with pytest.raises(OSError):
        ingest_file(workspace, fixtures / "openai_chat.jsonl")
    assert count(workspace, "SELECT count(*) FROM records") == before
    assert count(workspace, "SELECT count(*) FROM records WHERE source_format = 'openai'") == 0


def test_a_folder_with_mixed_shapes_ingests_each_file_in_its_shape(workspace, fixtures, tmp_path):
    for name in ("openai_chat.jsonl", "generic_support_log.csv", "broken_openai_chat.jsonl"):
        shutil.copy(fixtures / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("ignored")
    progress = []
    reports = ingest_paths(workspace, [tmp_path], progress=lambda fraction, message: progress.append(fraction))
    assert sorted((Path(r.file).name, r.format) for r in reports) == [
        ("broken_openai_chat.jsonl", "openai"), ("generic_support_log.csv", "generic"), ("openai_chat.jsonl", "openai")]
    assert progress[-1] == 1.0 and progress == sorted(progress)
    assert count(workspace, "SELECT count(*) FROM records") == 72


def test_preview_suggests_a_mapping_for_tables(fixtures):
    preview = preview_file(fixtures / "generic_support_log.csv")
    assert preview.format == "generic" and preview.container == "csv"
    assert preview.mapping.columns["input"] == "question"
    assert preview.mapping.columns["output"] == "bot_answer"
    assert preview.mapping.columns["time"] == "when"
    assert preview.mapping.day_first is True
    assert preview.problems == []


def test_a_mapping_naming_a_missing_column_is_refused(workspace, fixtures):
    report = ingest_file(workspace, fixtures / "generic_support_log.csv",
                         format="generic", mapping=ColumnMapping({"input": "nope"}))
    assert report.error and "'nope'" in report.error
    assert count(workspace, "SELECT count(*) FROM records") == 0


def test_a_bad_span_is_quarantined_alone_and_its_neighbours_ingested(workspace, fixtures, tmp_path):
    export = json.loads((fixtures / "otel_genai_traces.json").read_text())
    spans = export["resourceSpans"][0]["scopeSpans"][0]["spans"]
    llm_spans = [span for span in spans if any(a["key"] == "gen_ai.operation.name" for a in span["attributes"])]
    llm_spans[0]["startTimeUnixNano"] = "yesterday"
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(export))
    report = ingest_file(workspace, path)
    assert (report.format, report.rows_added, report.rows_quarantined) == ("otel", len(llm_spans) - 1, 1)
    reason, raw = workspace.cursor().execute("SELECT reason, raw FROM quarantine").fetchone()
    assert llm_spans[0]["spanId"] in reason and "startTimeUnixNano" in reason
    assert json.loads(raw)["spanId"] == llm_spans[0]["spanId"]


def test_re_ingesting_a_file_with_bad_lines_does_not_quarantine_them_twice(workspace, fixtures):
    first = ingest_paths(workspace, [fixtures / "broken_openai_chat.jsonl"])[0]
    second = ingest_paths(workspace, [fixtures / "broken_openai_chat.jsonl"])[0]
    assert first.rows_quarantined == second.rows_quarantined == 4
    assert count(workspace, "SELECT count(*) FROM quarantine") == 4
