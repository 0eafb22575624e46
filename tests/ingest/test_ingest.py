"""The ingest pipeline end to end: idempotency, quarantine, transactions, folders, bad files."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from mining.ingest import fastpath_openai, pipeline
from mining.ingest import ColumnMapping, ingest_file, ingest_paths, preview_file


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

    def flaky_flush(run, batch):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real_flush(run, batch)

    monkeypatch.setattr(pipeline, "BATCH_ROWS", 10)
    monkeypatch.setattr(pipeline, "_flush", flaky_flush)
    monkeypatch.setattr(fastpath_openai, "ENABLED", False)  # the row-by-row path; test_fastpath covers the other
    report = ingest_file(workspace, fixtures / "openai_chat.jsonl")
    assert report.error == f"{fixtures / 'openai_chat.jsonl'}: system error: disk full (while reading line 20)"
    assert (report.rows_added, report.rows_quarantined) == (0, 0)
    assert count(workspace, "SELECT count(*) FROM records") == before
    assert count(workspace, "SELECT count(*) FROM records WHERE source_format = 'openai'") == 0
    assert count(workspace, "SELECT count(*) FROM ingests WHERE message LIKE '%disk full%'") == 1


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


# --- duplicate ids: the same call adds nothing, a different call under a held id is quarantined ----

@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_a_held_id_takes_the_same_call_again_and_quarantines_a_different_one(workspace, tmp_path, openai_line,
                                                                            write_log, monkeypatch, fast):
    monkeypatch.setattr(fastpath_openai, "ENABLED", fast)
    call, other = openai_line("c-1", "Refund?", "Within 30 days."), openai_line("c-2", "Hello?", "Hi.")
    first = ingest_file(workspace, write_log("first.jsonl", [call, other]))
    again = tmp_path / "again.json"  # the same call, re-serialised: keys reordered, pretty-printed
    again.write_text(json.dumps([dict(reversed(list(call.items())))], indent=4))
    same = ingest_file(workspace, again)
    changed = {**call, "response": {"choices": [{"message": {"role": "assistant", "content": "Within 90 days."}}]}}
    conflict = ingest_file(workspace, write_log("later.jsonl", [other, changed]))
    conflict_again = ingest_file(workspace, write_log("later.jsonl", [other, changed]))

    assert (first.rows_added, same.rows_added, same.rows_present, same.rows_quarantined) == (2, 0, 1, 0)
    assert (conflict.rows_added, conflict.rows_present, conflict.rows_quarantined) == (0, 1, 1)
    assert (conflict_again.rows_added, conflict_again.rows_quarantined) == (0, 1)
    line, reason, raw = workspace.cursor().execute("SELECT line, reason, raw FROM quarantine").fetchone()
    assert (line, json.loads(raw)) == (2, changed)
    assert reason.startswith("id 'c-1' already holds a different call (read from first.jsonl line 1)")
    assert workspace.cursor().execute("SELECT response_text FROM records WHERE source_id = 'c-1'").fetchall() == [
        ("Within 30 days.",)]


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_duplicate_ids_within_one_file(workspace, openai_line, write_log, monkeypatch, fast):
    monkeypatch.setattr(fastpath_openai, "ENABLED", fast)
    call = openai_line("c-1", "Refund?", "Within 30 days.")
    changed = openai_line("c-1", "Refund?", "Never.")
    report = ingest_file(workspace, write_log("log.jsonl", [call, call, changed, openai_line("c-2", "q", "a")]))
    assert (report.rows_added, report.rows_present, report.rows_quarantined) == (2, 1, 1)
    assert report.quarantine_samples[0]["line"] == 3
    assert "id 'c-1' already holds a different call (read from log.jsonl line 1)" in report.quarantine_samples[0]["reason"]


# --- a quarantined line that now reads is cleared --------------------------------------------------

def _lines(openai_line, count: int) -> list[str]:
    return [json.dumps(openai_line(f"c-{n}", f"question {n}", f"answer {n}")) for n in range(count)]


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_a_half_written_last_line_leaves_quarantine_once_the_line_is_complete(workspace, tmp_path, openai_line,
                                                                             monkeypatch, fast):
    monkeypatch.setattr(fastpath_openai, "ENABLED", fast)
    lines = _lines(openai_line, 4)
    path = tmp_path / "live.jsonl"
    path.write_text("\n".join(lines[:2]) + "\nnot json, and it stays\n" + lines[3][:50])
    first = ingest_file(workspace, path)
    path.write_text("\n".join(lines[:2]) + "\nnot json, and it stays\n" + lines[3] + "\n")
    second = ingest_file(workspace, path)
    assert (first.rows_added, first.rows_quarantined) == (2, 2)
    assert (second.rows_added, second.rows_present, second.rows_quarantined, second.rows_resolved) == (1, 2, 1, 1)
    assert workspace.cursor().execute("SELECT line, raw FROM quarantine").fetchall() == [(3, "not json, and it stays")]
    assert count(workspace, "SELECT count(*) FROM ingests WHERE rows_quarantined = 2") == 1  # the history keeps it


def test_an_upload_of_the_completed_file_clears_the_earlier_upload_s_entry(workspace, tmp_path, openai_line):
    """The app saves each upload in a folder of its own: the same file uploaded again has a new path."""
    lines = _lines(openai_line, 3)
    earlier, later, elsewhere = tmp_path / "u1" / "live.jsonl", tmp_path / "u2" / "live.jsonl", tmp_path / "o" / "x.jsonl"
    for path in (earlier, later, elsewhere):
        path.parent.mkdir()
    earlier.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:50])
    elsewhere.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:50])  # another file's entry stays
    later.write_text("\n".join(lines) + "\n")
    ingest_paths(workspace, [earlier, elsewhere])
    report = ingest_file(workspace, later)
    assert (report.rows_added, report.rows_resolved) == (1, 1)
    assert workspace.cursor().execute("SELECT file, line FROM quarantine").fetchall() == [(str(elsewhere), 3)]


# --- the rest of a file after a broken item, other delimiters ---------------------------------------

def test_a_json_array_with_a_cut_item_keeps_the_items_after_it(workspace, tmp_path, fixtures):
    """As reported: item 11 cut short, and the 25 items after it were counted nowhere."""
    items = (fixtures / "openai_chat.jsonl").read_text().splitlines()
    items[10] = items[10][:120]
    path = tmp_path / "calls.json"
    path.write_text("[\n" + ",\n".join(items) + "\n]\n")
    report = ingest_file(workspace, path)
    assert (report.rows_read, report.rows_added, report.rows_quarantined) == (36, 35, 1)
    assert report.quarantine_samples[0]["line"] == 12 and "JSON syntax error" in report.quarantine_samples[0]["reason"]
    assert count(workspace, "SELECT count(*) FROM records WHERE source_id = 'req_00035'") == 1


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_csv_written_with_another_delimiter_is_read_with_the_mapping(workspace, tmp_path, fixtures, delimiter):
    text = (fixtures / "generic_support_log.csv").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    path = tmp_path / "support.csv"
    path.write_text(out.getvalue())
    mapping = ColumnMapping.parse(["input=question", "output=bot_answer", "time=when", "feedback=stars",
                                   "feedback_scale=rating", "day_first=true"])
    report = ingest_file(workspace, path, format="generic", mapping=mapping)
    assert (report.error, report.rows_added, report.rows_quarantined) == (None, 36, 0)
    assert count(workspace, "SELECT count(*) FROM records WHERE feedback_score = 0.0") == count_stars(rows, "1")


def count_stars(rows: list[list[str]], stars: str) -> int:
    return sum(1 for row in rows[1:] if row[rows[0].index("stars")] == stars)


def test_a_json_log_whose_majority_is_a_known_shape_is_never_previewed_as_generic(tmp_path, fixtures):
    lines = (fixtures / "openai_chat.jsonl").read_text().splitlines()
    foreign = [json.dumps({"question": f"q{n}", "answer": "a", "when": "2026-11-09"}) for n in range(10)]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(foreign + lines) + "\n")  # the odd lines first: the majority still decides
    assert preview_file(path).format == "openai"
