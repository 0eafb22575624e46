"""Hostile files: every good line kept exactly as a clean file gives it, every bad line quarantined
where it is, on both ingest paths; one bad file never costs the others.

The files are built by tests/hostile_files.py from small good logs of every shape. The oracle for a
file is the clean base it was made from: ingest must give the same records (ids, models, texts,
feedback...) minus only the calls the damage is inside.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from hostile_files import BASES, Hostile, all_cases
from mining.__main__ import main
from mining.ingest import fastpath_openai, pipeline
from mining.ingest.containers import MAX_LINE_ENV, NESTED_TOO_DEEP
from mining.ingest import ingest_paths
from mining.ingest.shapes import detect_shape
from mining.store import Workspace
from paths import FIXTURES

CASES = all_cases()
# The vectorised path reads OpenAI-shape JSONL (plain or gzip); those files are read both ways.
BOTH_PATHS = {case.id for case in CASES if case.format == "openai" and ".jsonl" in case.filename}
COMPARED = "* EXCLUDE (ingest_id, source_file, source_line, raw)"  # what differs by design between copies


@dataclass
class Snapshot:
    """What a workspace holds after an ingest, by record id, and the scores by score id."""

    records: dict[str, dict[str, Any]]
    scores: dict[str, str]


def snapshot(workspace: Workspace) -> Snapshot:
    cursor = workspace.cursor()
    frame = cursor.execute(f"SELECT {COMPARED} FROM records").fetchdf()
    records = {row["record_id"]: row for row in json.loads(frame.to_json(orient="records", date_format="iso"))}
    scores = dict(cursor.execute("SELECT score_id, item::VARCHAR FROM source_scores").fetchall())
    return Snapshot(records, scores)


_ORACLES: dict[str, Snapshot] = {}


@pytest.fixture
def oracle(tmp_path_factory):
    """The clean base's snapshot, made once per base."""
    def made(base: str) -> Snapshot:
        if base not in _ORACLES:
            folder = tmp_path_factory.mktemp(f"oracle-{base}")
            path = folder / BASES[base].filename
            path.write_bytes(BASES[base].content())
            workspace = Workspace.open(folder / "w.duckdb")
            try:
                report, = ingest_paths(workspace, [path])
                assert report.error is None and report.rows_quarantined == 0
                _ORACLES[base] = snapshot(workspace)
            finally:
                Workspace.close_all()
        return _ORACLES[base]
    return made


def _params() -> list[Any]:
    params = []
    for case in CASES:
        for way in (("fast", "reference") if case.id in BOTH_PATHS else ("any",)):
            params.append(pytest.param(case, way, id=f"{case.id}[{way}]"))
    return params


def test_the_suite_has_at_least_forty_hostile_files_of_every_shape():
    assert len(CASES) >= 40
    assert {case.base for case in CASES} == set(BASES)
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case, way", _params())
def test_a_hostile_file_keeps_every_good_line_and_quarantines_the_bad_ones(case: Hostile, way: str, tmp_path,
                                                                         monkeypatch, oracle):
    monkeypatch.setattr(fastpath_openai, "ENABLED", way != "reference")
    if case.max_line_mb:
        monkeypatch.setenv(MAX_LINE_ENV, str(case.max_line_mb))
    path = tmp_path / case.filename
    path.write_bytes(case.content)
    expected = oracle(case.base)
    workspace = Workspace.open(tmp_path / "w.duckdb")
    try:
        report, = ingest_paths(workspace, [path], format=case.forced)
        got = snapshot(workspace)
        quarantined = workspace.cursor().execute(
            "SELECT file, line, reason, raw FROM quarantine ORDER BY line NULLS LAST").fetchall()
    finally:
        Workspace.close_all()

    assert report.error is None and report.format == case.format
    kept = {record_id: row for record_id, row in expected.records.items() if row["source_id"] not in case.lost}
    assert {record_id: row for record_id, row in got.records.items() if row["source_id"] not in case.extra} == kept
    extra = {row["source_id"]: row for row in got.records.values() if row["source_id"] in case.extra}
    assert {source_id: {key: extra[source_id][key] for key in fields} for source_id, fields in case.extra.items()
            if source_id in extra} == case.extra
    assert got.scores == expected.scores
    assert (report.rows_added, report.rows_present) == (len(kept) + len(case.extra), case.present)

    assert report.rows_quarantined == len(case.quarantined) == len(quarantined)
    for (line, fragment), (file, stored_line, reason, raw) in zip(case.quarantined, quarantined):
        assert (file, stored_line) == (str(path.resolve()), line)
        assert fragment in reason, reason
        assert raw is not None and "\udc80" not in raw
    if not case.base.startswith("langfuse_scores"):  # rows of a score file are scores, not records
        assert report.rows_read == report.rows_added + report.rows_present + report.rows_quarantined + report.rows_skipped


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_the_default_limit_reads_a_50_mb_response_line(tmp_path, fast, monkeypatch):
    """The line the vectorised path once ran out of DuckDB memory on (1536 MB) is read, both ways."""
    monkeypatch.setattr(fastpath_openai, "ENABLED", fast)
    monkeypatch.delenv(MAX_LINE_ENV, raising=False)
    rows = BASES["openai"].rows()
    call = json.loads(rows[0])
    call["id"] = "req_huge"
    call["response"]["choices"][0]["message"]["content"] = "x" * (50 << 20)
    path = tmp_path / "huge.jsonl"
    path.write_bytes(b"\n".join(rows[:6] + [json.dumps(call).encode()] + rows[6:]) + b"\n")
    workspace = Workspace.open(tmp_path / "w.duckdb")
    try:
        report, = ingest_paths(workspace, [path])
        length = workspace.cursor().execute(
            "SELECT length(response_text) FROM records WHERE source_id = 'req_huge'").fetchone()[0]
    finally:
        Workspace.close_all()
    assert (report.error, report.rows_added, report.rows_quarantined) == (None, 13, 0)
    assert length == 50 << 20


def test_a_gzip_whose_checksum_is_wrong_is_refused_whole_naming_the_file(workspace, tmp_path):
    """Damage inside the stream (unlike a cut at its end) means no line of it can be trusted."""
    packed = bytearray(gzip.compress(BASES["openai"].content()))
    packed[-8] ^= 0xFF
    path = tmp_path / "openai.jsonl.gz"
    path.write_bytes(bytes(packed))
    report, = ingest_paths(workspace, [path])
    assert report.error.startswith(f"{path.resolve()}: damaged gzip file")
    assert workspace.cursor().execute("SELECT count(*) FROM records").fetchone()[0] == 0
    assert workspace.cursor().execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


# --- detection decides by the majority -----------------------------------------------------------

def _calls() -> list[dict[str, Any]]:
    return [json.loads(row) for row in BASES["openai"].rows()]


@pytest.mark.parametrize("odd", [
    {"id": "t", "request": {"model": "m"}, "response": None, "error": "upstream timeout"},
    {"id": None, "timestamp": None, "request": None, "response": None, "error": None},
    None,
    {"input": "hello", "output": "a plain table row"},
])
def test_one_odd_line_does_not_change_the_shape(odd):
    assert detect_shape(_calls() + [odd]) == "openai"


def test_a_known_shape_wins_over_generic_whenever_it_has_half_the_lines():
    foreign = [{"question": f"q{n}", "answer": "a"} for n in range(12)]  # fit generic, not openai
    assert detect_shape(_calls() + foreign) == "openai"
    assert detect_shape(_calls()[:11] + foreign) == "generic"  # now the table rows are the majority
    assert detect_shape([{"foo": 1}] * 3 + _calls()[:2]) is None


def test_the_failed_call_is_an_openai_record_with_its_error(workspace, tmp_path):
    """Defect 1 as reported: a logged timeout among 36 calls changed the whole file to generic."""
    lines = (FIXTURES / "openai_chat.jsonl").read_text().splitlines()
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(lines + ['{"id":"req_timeout_1","timestamp":"2026-11-09T10:08:00Z","request":'
                                       '{"model":"gpt-4o-mini"},"response":null,"error":"upstream timeout"}']) + "\n")
    detected, = ingest_paths(workspace, [path])
    explicit, = ingest_paths(workspace, [path], format="openai")
    cursor = workspace.cursor()
    assert (detected.format, detected.rows_added, detected.rows_quarantined) == ("openai", 37, 0)
    assert (explicit.rows_added, explicit.rows_present) == (0, 37)
    assert cursor.execute("SELECT count(*) FROM records WHERE model IS NULL OR source_format <> 'openai'"
                          ).fetchone()[0] == 0
    assert cursor.execute("SELECT count(*) FROM records WHERE feedback_score < 0.5").fetchone()[0] == 23
    assert cursor.execute("SELECT status, error, input_messages FROM records WHERE source_id = 'req_timeout_1'"
                          ).fetchone() == ("error", "upstream timeout", "[]")


# --- every file is its own unit ------------------------------------------------------------------

FAILURES = [RecursionError("maximum recursion depth exceeded"), MemoryError(),
            duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate\nPossible solutions: ..."),
            OSError(28, "No space left on device"), RuntimeError("something unforeseen")]
FAILURE_TEXT = [NESTED_TOO_DEEP, "ran out of memory reading it",
                "the workspace could not store it (Out of Memory Error: failed to allocate)",
                "system error: No space left on device", "RuntimeError: something unforeseen"]


def _failing_for(name: str, exc: Exception, monkeypatch) -> None:
    """Make the ingest of the file called `name` raise `exc` half way; the others read as usual."""
    real = pipeline._stage_and_commit

    def stage(run):
        if run.reader.path.name == name:
            run.position.lines = "line 5"
            raise exc
        real(run)

    monkeypatch.setattr(pipeline, "_stage_and_commit", stage)


@pytest.mark.parametrize("exc, text", list(zip(FAILURES, FAILURE_TEXT)), ids=[type(e).__name__ for e in FAILURES])
def test_a_file_that_fails_is_reported_by_name_and_the_folder_goes_on(workspace, tmp_path, monkeypatch, exc, text):
    for name in ("a.jsonl", "b.jsonl", "c.jsonl"):
        (tmp_path / name).write_bytes(BASES["openai"].content().replace(b'"req_', f'"{name[0]}_'.encode()))
    _failing_for("b.jsonl", exc, monkeypatch)
    reports = ingest_paths(workspace, [tmp_path])
    assert [(Path(r.file).name, r.rows_added) for r in reports] == [("a.jsonl", 12), ("b.jsonl", 0), ("c.jsonl", 12)]
    assert reports[1].error == f"{tmp_path / 'b.jsonl'}: {text} (while reading line 5)"
    assert "\n" not in reports[1].error
    assert workspace.cursor().execute("SELECT count(*) FROM records").fetchone()[0] == 24


def test_the_command_line_reports_every_file_then_exits_1(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "logs"
    folder.mkdir()
    for name in ("a.jsonl", "b.jsonl", "c.jsonl"):
        (folder / name).write_bytes(BASES["openai"].content().replace(b'"req_', f'"{name[0]}_'.encode()))
    _failing_for("b.jsonl", RecursionError("maximum recursion depth exceeded"), monkeypatch)
    code = main(["ingest", str(folder), str(tmp_path / "missing.jsonl"), "-q", "-w", str(tmp_path / "w.duckdb")])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"{(folder / 'a.jsonl').resolve()} [openai]: 12 rows read, 12 added" in out
    assert f"{(folder / 'c.jsonl').resolve()} [openai]: 12 rows read, 12 added" in out
    assert f"FAILED  {folder / 'b.jsonl'}: nested too deeply to read" in out
    assert f"FAILED  {tmp_path / 'missing.jsonl'}: no such file" in out
    assert err.startswith(f"error: {folder / 'b.jsonl'}: nested too deeply") and "(and 1 more file failed)" in err
