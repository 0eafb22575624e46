"""Ingest: files in, canonical records out, in one transaction per file.

Why one transaction per file: an ingest that stops half way (a crash, a full disk, a file that
turns out not to be a log) must leave the workspace exactly as it was. Rows are parsed and moved
into `records` in batches, so memory stays flat however large the file; what is new, already
present or a conflicting duplicate is decided in mining.ingest.commit, and bad lines are kept (and
later resolved) by mining.ingest.quarantine.

Why every file on its own: one bad file must not cost the others. Whatever goes wrong with a file
(it is not a log, a value is nested too deep to read, the workspace refuses a row, memory runs out)
becomes that file's `report.error`, naming the file and the line being read, and the next file is
read. A bad line is never a bad file: it is quarantined and the file's other lines go in.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from mining.common import Progress
from mining.detect import detect, signals_stale
from mining.ingest import fastpath_openai
from mining.ingest.commit import commit_records, commit_scores
from mining.ingest.containers import NESTED_TOO_DEEP, FileProblem, Row, RowReader, list_log_files
from mining.ingest.quarantine import Quarantine
from mining.ingest.file_report import IngestReport
from mining.ingest.rows import BATCH_SCHEMA, FileRun, Position, row_outcomes
from mining.ingest.record import SourceScore
from mining.ingest.scores import apply_source_scores
from mining.ingest.shapes import detect_shape, foreign_shape, make_shape
from mining.ingest.shapes.generic import ColumnMapping, GenericTableShape
from mining.store import Workspace

# What detection reads: enough lines that the file's majority, not its first odd lines, decides.
SNIFF_ROWS = 1000
SNIFF_CHARS = 8 << 20
BATCH_ROWS = 5000



@dataclass
class FilePreview:
    """What Faultline sees in a file before ingesting it: its container, shape and mapping."""

    file: str
    container: str
    format: str | None
    columns: list[str]
    mapping: ColumnMapping | None
    sample: list[Any]
    problems: list[str]


_SCORE_SCHEMA = pa.schema([
    ("score_id", pa.string()), ("source_format", pa.string()), ("trace_id", pa.string()),
    ("observation_id", pa.string()), ("item", pa.string()), ("ingest_id", pa.string()),
    ("seq", pa.int64()), ("line", pa.int64()), ("raw", pa.string()),
])


def preview_file(path: Path, format: str | None = None, mapping: ColumnMapping | None = None) -> FilePreview:
    """Sniff a file: container, detected shape, columns and the suggested mapping for tables."""
    reader = RowReader(path)
    head = _first_rows(reader)
    sample = [row.value for row in head if row.error is None]
    unreadable = [row for row in head if row.error]
    name = format or detect_shape(sample)
    if name is None and reader.container in ("csv", "tsv", "parquet"):
        name = "generic"
    if name == "generic":  # a stray line of a known log must not pick the columns (it is quarantined)
        sample = [value for value in sample if foreign_shape(GenericTableShape(), value) is None]
    columns = sorted({key for value in sample if isinstance(value, dict) for key in value})
    problems: list[str] = []
    chosen_mapping = None
    if name is None:
        if sample:
            problems.append("Faultline does not recognise the shape of these rows; "
                            "pick a format, or 'generic' and map the columns")
        elif unreadable:
            problems.append(f"not a log Faultline can read: {_where(unreadable[0].line)}{unreadable[0].error}")
        else:
            problems.append("the file holds no rows")
    elif name == "generic":
        shape = GenericTableShape(ColumnMapping(dict(mapping.columns), mapping.feedback_scale, mapping.day_first)
                                  if mapping else None)
        shape.prepare(sample)
        chosen_mapping = shape.mapping
        problems.extend(chosen_mapping.problems(columns))
    return FilePreview(str(path), reader.container, name, columns, chosen_mapping, sample[:5], problems)


def _first_rows(reader: RowReader) -> list[Row]:
    """The rows detection looks at: the first SNIFF_ROWS, or fewer when they are long."""
    rows: list[Row] = []
    size = 0
    stream = iter(reader)
    try:
        for row in stream:
            rows.append(row)
            size += len(row.raw)
            if len(rows) >= SNIFF_ROWS or size >= SNIFF_CHARS:
                break
    finally:
        stream.close()  # the file is closed now, not whenever the generator is collected
    return rows


def _where(line: int | None) -> str:
    """`line N: ` for a message, or nothing for a problem that is not on a line (a cut gzip file)."""
    return f"line {line}: " if line is not None else ""


def ingest_paths(
    workspace: Workspace,
    paths: list[Path | str],
    format: str | None = None,
    mapping: ColumnMapping | None = None,
    progress: Progress | None = None,
) -> list[IngestReport]:
    """Ingest files and folders; one report per file, each file in its own transaction.

    Every file is its own unit: a path that does not exist, or a file that cannot be read or breaks
    half way, gets a report with `error` set (see `ingest_file`) and the files after it are read.
    """
    files = [file for path in paths for file in _log_files(Path(path))]
    reports = []
    for index, path in enumerate(files):
        def file_progress(fraction: float, message: str, index: int = index) -> None:
            if progress:
                progress((index + fraction) / len(files), message)

        reports.append(ingest_file(workspace, path, format=format, mapping=mapping, progress=file_progress))
    if signals_stale(workspace):  # also when an earlier ingest was killed before its detection
        detect(workspace)  # new records (or scores) get their failure signals before anyone looks
    if progress:
        progress(1.0, f"done: {len(files)} file(s)")
    return reports


def _log_files(path: Path) -> list[Path]:
    """The log files at a path; a path that does not exist is kept, for `ingest_file` to report."""
    try:
        return list_log_files([path])
    except FileProblem:
        return [path]


def ingest_file(
    workspace: Workspace,
    path: Path,
    format: str | None = None,
    mapping: ColumnMapping | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest one file. Whatever goes wrong with the file comes back in `report.error`, never raised."""
    report = IngestReport(file=str(path.absolute()), format=format, ingest_id=uuid.uuid4().hex[:16])
    started = datetime.now(timezone.utc)
    position = Position()
    try:
        report.file = str(path.resolve())
        _ingest(workspace, path, format, mapping, progress, report, started, position)
    except Exception as exc:  # every failure here is this one file's (see the module docstring)
        report.error = _file_error(path, exc, position.lines)
        report.rows_added = report.rows_present = report.rows_quarantined = report.rows_resolved = 0
        report.quarantine_samples = []  # the transaction was rolled back: none of them was kept
        _log_failed_ingest(workspace, report, started)
    return report


def _ingest(workspace: Workspace, path: Path, format: str | None, mapping: ColumnMapping | None,
            progress: Progress | None, report: IngestReport, started: datetime, position: Position) -> None:
    """The work of `ingest_file`: raises whatever stops the file; the file's transaction is rolled back."""
    if not path.is_file():
        raise FileProblem(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise FileProblem(f"{path}: the file is empty")
    preview = preview_file(path, format, mapping)
    if preview.problems:
        raise FileProblem(f"{path}: " + "; ".join(preview.problems))
    report.format = preview.format
    shape = make_shape(preview.format, preview.mapping)
    with workspace.transaction() as cursor:
        reader = RowReader(path)
        problems = Quarantine(cursor, report, report.file)
        run = FileRun(cursor, shape, reader, report, problems, progress, position)
        _stage_and_commit(run)
        read = report.rows_added + report.rows_present + report.scores_read + report.rows_skipped
        if read + run.problems.conflicts == 0:
            first = report.quarantine_samples[0] if report.quarantine_samples else None
            raise FileProblem(f"{path}: no row could be read as {preview.format}; first problem: "
                              + (f"{_where(first['line'])}{first['reason']}" if first else "no rows"))
        report.rows_resolved = run.problems.settle(report.ingest_id, path.name)
        apply_source_scores(cursor, report.ingest_id)
        _log_ingest(cursor, report, started, preview.mapping)


def _file_error(path: Path, exc: Exception, lines: str) -> str:
    """One line for a person: the file, the line being read when it failed, and what went wrong."""
    problem = _describe(exc)
    text = problem if str(path) in problem else f"{path}: {problem}"
    if lines and not isinstance(exc, FileProblem):
        text += f" (while reading {lines})"
    return re.sub(r"\s*\n\s*", " ", text)


def _describe(exc: Exception) -> str:
    """What went wrong, in words a person can act on (Python's own say "maximum recursion depth")."""
    if isinstance(exc, RecursionError):
        return NESTED_TOO_DEEP
    if isinstance(exc, MemoryError):
        return "ran out of memory reading it"
    if isinstance(exc, duckdb.Error):
        return f"the workspace could not store it ({(str(exc).strip().splitlines() or [type(exc).__name__])[0]})"
    if isinstance(exc, (FileProblem, ValueError)):
        return str(exc)
    if isinstance(exc, OSError):
        return f"system error: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def _stage_and_commit(run: FileRun) -> None:
    """Read every row, commit records and scores in batches; bad rows go to the run's quarantine."""
    if fastpath_openai.applies(run.shape, run.reader):  # same records, mapped in SQL: see the module
        fastpath_openai.stage_and_commit(run)
        return
    batch: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    source_file = run.reader.path.name
    for count, row in enumerate(run.reader, start=1):
        run.report.rows_read += 1
        if row.line is not None:
            run.position.lines = f"line {row.line}"
        for item in row_outcomes(run.shape, row, run.report, source_file):
            if isinstance(item, dict):
                batch.append({**item, "seq": len(batch)})
            elif isinstance(item, SourceScore):
                scores.append(_score_row(item, row, len(scores), run.report.ingest_id))
            else:
                run.problems.add(row.line, str(item), item.raw or row.raw)
        if len(batch) >= BATCH_ROWS:
            _flush(run, batch)
        if len(scores) >= BATCH_ROWS:
            _flush_scores(run, scores)
        if count % 2000 == 0 and run.progress:
            run.progress(run.reader.fraction_done(), f"{run.reader.path.name}: {count:,} rows")
    _flush(run, batch)
    _flush_scores(run, scores)


def _score_row(score: SourceScore, row: Row, seq: int, ingest_id: str) -> dict[str, Any]:
    """A score as a batch row for mining.ingest.commit, with the line it came from for quarantine."""
    return {"score_id": score.score_id, "source_format": score.source_format, "trace_id": score.trace_id,
            "observation_id": score.observation_id, "ingest_id": ingest_id, "seq": seq, "line": row.line,
            "item": json.dumps(score.item.as_json(), ensure_ascii=False, default=str), "raw": row.raw}


def _flush(run: FileRun, batch: list[dict[str, Any]]) -> None:
    """Commit a batch of records (see mining.ingest.commit)."""
    if not batch:
        return
    run.cursor.register("record_batch", pa.Table.from_pylist(batch, schema=BATCH_SCHEMA))
    added, present = commit_records(run.cursor, "record_batch", run.problems)
    run.cursor.unregister("record_batch")
    run.report.rows_added += added
    run.report.rows_present += present
    batch.clear()


def _flush_scores(run: FileRun, scores: list[dict[str, Any]]) -> None:
    """Commit a batch of scores (see mining.ingest.commit)."""
    if not scores:
        return
    run.cursor.register("score_batch", pa.Table.from_pylist(scores, schema=_SCORE_SCHEMA))
    commit_scores(run.cursor, "score_batch", run.problems)
    run.cursor.unregister("score_batch")
    run.report.scores_read += len(scores)
    scores.clear()


def _log_ingest(cursor, report: IngestReport, started: datetime, mapping: ColumnMapping | None) -> None:
    cursor.execute(
        "INSERT INTO ingests VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?)",
        [report.ingest_id, report.file, report.format, started, report.rows_read, report.rows_added,
         report.rows_present, report.rows_quarantined, report.rows_skipped,
         json.dumps(mapping.as_json()) if mapping else None, None],
    )


def _log_failed_ingest(workspace: Workspace, report: IngestReport, started: datetime) -> None:
    """A failed file is logged too, so the ingest history says what happened to every file; when
    even that fails (the disk is full), the report says so."""
    try:
        with workspace.transaction() as cursor:
            cursor.execute(
                "INSERT INTO ingests (ingest_id, file, format, started_at, finished_at, message)"
                " VALUES (?, ?, ?, ?, now(), ?)",
                [report.ingest_id, report.file, report.format, started, report.error],
            )
    except Exception as exc:  # the file's own error is the one to report
        report.error += f"; the ingest log could not record it either ({_describe(exc)})"
