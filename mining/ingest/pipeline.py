"""Ingest: files in, canonical records out, in one transaction per file.

Why one transaction per file: an ingest that stops half way (a crash, a full disk, a file that
turns out not to be a log) must leave the workspace exactly as it was. Rows are staged in a
temporary table in batches, so memory stays flat however large the file, then moved into
`records` with an anti-join on the stable record id, which is what makes re-ingesting idempotent.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow as pa

from mining.detect import detect, signals_stale
from mining.ingest import fastpath_openai
from mining.ingest.containers import FileProblem, Row, RowReader, list_log_files
from mining.ingest.record import RECORD_COLUMNS, BadRow, Record, SourceScore
from mining.ingest.scores import apply_source_scores
from mining.ingest.shapes import Shape, detect_shape, make_shape
from mining.ingest.shapes.generic import ColumnMapping, GenericTableShape
from mining.store import Workspace

SNIFF_ROWS = 50
BATCH_ROWS = 5000

Progress = Callable[[float, str], None]


@dataclass
class IngestReport:
    """What one file's ingest did; the same numbers are kept in the `ingests` table."""

    file: str
    format: str | None
    ingest_id: str
    rows_read: int = 0
    rows_added: int = 0
    rows_present: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    scores_read: int = 0
    error: str | None = None
    quarantine_samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


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


_RECORD_SCHEMA = pa.schema([
    ("record_id", pa.string()), ("source_id", pa.string()), ("source_format", pa.string()),
    ("source_file", pa.string()), ("source_line", pa.int64()), ("ingest_id", pa.string()),
    ("trace_id", pa.string()), ("parent_id", pa.string()), ("session_id", pa.string()),
    ("user_id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")), ("model", pa.string()),
    ("input_messages", pa.string()), ("cluster_text", pa.string()), ("response_text", pa.string()),
    ("tool_calls", pa.string()), ("tools", pa.string()), ("request_params", pa.string()),
    ("finish_reason", pa.string()), ("status", pa.string()), ("error", pa.string()),
    ("latency_ms", pa.float64()), ("input_tokens", pa.int64()), ("output_tokens", pa.int64()),
    ("total_tokens", pa.int64()), ("token_note", pa.string()), ("feedback_score", pa.float64()),
    ("feedback_comment", pa.string()), ("feedback", pa.string()), ("expected_output", pa.string()),
    ("metadata", pa.string()), ("raw", pa.string()),
])
assert _RECORD_SCHEMA.names == RECORD_COLUMNS


def preview_file(path: Path, format: str | None = None, mapping: ColumnMapping | None = None) -> FilePreview:
    """Sniff a file: container, detected shape, columns and the suggested mapping for tables."""
    reader = RowReader(path)
    head = list(islice(iter(reader), SNIFF_ROWS))
    sample = [row.value for row in head if row.error is None]
    unreadable = [row for row in head if row.error]
    columns = sorted({key for value in sample if isinstance(value, dict) for key in value})
    name = format or detect_shape(sample)
    if name is None and reader.container in ("csv", "tsv", "parquet"):
        name = "generic"
    problems: list[str] = []
    chosen_mapping = None
    if name is None:
        if sample:
            problems.append("Faultline does not recognise the shape of these rows; "
                            "pick a format, or 'generic' and map the columns")
        elif unreadable:
            problems.append(f"not a log Faultline can read: line {unreadable[0].line}: {unreadable[0].error}")
        else:
            problems.append("the file holds no rows")
    elif name == "generic":
        shape = GenericTableShape(ColumnMapping(dict(mapping.columns), mapping.feedback_scale, mapping.day_first)
                                  if mapping else None)
        shape.prepare(sample)
        chosen_mapping = shape.mapping
        problems.extend(chosen_mapping.problems(columns))
    return FilePreview(str(path), reader.container, name, columns, chosen_mapping, sample[:5], problems)


def ingest_paths(
    workspace: Workspace,
    paths: list[Path | str],
    format: str | None = None,
    mapping: ColumnMapping | None = None,
    progress: Progress | None = None,
) -> list[IngestReport]:
    """Ingest files and folders; one report per file, each file in its own transaction."""
    files = list_log_files([Path(p) for p in paths])
    reports = []
    for index, path in enumerate(files):
        def file_progress(fraction: float, message: str, index: int = index) -> None:
            if progress:
                progress((index + fraction) / len(files), message)

        reports.append(ingest_file(workspace, path, format=format, mapping=mapping, progress=file_progress))
    if signals_stale(workspace):
        detect(workspace)  # new records (or scores) get their failure signals before anyone looks
    if progress:
        progress(1.0, f"done: {len(files)} file(s)")
    return reports


def ingest_file(
    workspace: Workspace,
    path: Path,
    format: str | None = None,
    mapping: ColumnMapping | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest one file. Problems with the whole file come back in `report.error`, never raised."""
    report = IngestReport(file=str(path.resolve()), format=format, ingest_id=uuid.uuid4().hex[:16])
    started = datetime.now(timezone.utc)
    try:
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
            _stage_and_commit(cursor, shape, RowReader(path), report, progress)
            if report.rows_added + report.rows_present + report.scores_read + report.rows_skipped == 0:
                raise FileProblem(
                    f"{path}: no row could be read as {preview.format}; "
                    f"first problem: {report.quarantine_samples[0]['reason'] if report.quarantine_samples else 'no rows'}"
                )
            apply_source_scores(cursor, report.ingest_id)
            _log_ingest(cursor, report, started, preview.mapping)
    except (FileProblem, ValueError) as exc:
        report.error = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        report.rows_added = report.rows_present = 0
        _log_failed_ingest(workspace, report, started)
    return report


def _stage_and_commit(cursor, shape: Shape, reader: RowReader, report: IngestReport,
                      progress: Progress | None) -> None:
    if fastpath_openai.applies(shape, reader):  # same records, mapped in SQL: see the module
        fastpath_openai.stage_and_commit(cursor, shape, reader, report, progress)
        return
    cursor.execute("CREATE OR REPLACE TEMP TABLE staged AS SELECT * FROM records LIMIT 0")
    cursor.execute(
        "CREATE OR REPLACE TEMP TABLE staged_scores (score_id VARCHAR, source_format VARCHAR, trace_id VARCHAR,"
        " observation_id VARCHAR, item JSON, ingest_id VARCHAR)"
    )
    batch: list[dict[str, Any]] = []
    quarantined: list[tuple] = []
    scores: list[tuple] = []
    source_file = reader.path.name
    now = datetime.now(timezone.utc)
    for count, row in enumerate(reader, start=1):
        report.rows_read += 1
        for item in _parse_row(shape, row, report):
            if isinstance(item, SourceScore):
                scores.append((item.score_id, item.source_format, item.trace_id, item.observation_id,
                               json.dumps(item.item.as_json(), ensure_ascii=False, default=str), report.ingest_id))
            elif isinstance(item, Record):
                if not item.raw:
                    item.raw = row.raw
                batch.append(item.as_row(source_file, row.line, report.ingest_id))
            else:
                quarantined.append((report.ingest_id, str(reader.path.resolve()), row.line, str(item),
                                    getattr(item, "raw", None) or row.raw, now))
        if len(batch) >= BATCH_ROWS:
            _flush(cursor, batch)
        if len(quarantined) >= BATCH_ROWS:
            _flush_quarantine(cursor, quarantined, report)
        if count % 2000 == 0 and progress:
            progress(reader.fraction_done(), f"{reader.path.name}: {count:,} rows")
    _flush(cursor, batch)
    _flush_quarantine(cursor, quarantined, report)
    report.scores_read = len(scores)
    if scores:
        cursor.executemany("INSERT INTO staged_scores VALUES (?, ?, ?, ?, ?, ?)", scores)
        cursor.execute(
            "INSERT INTO source_scores SELECT DISTINCT ON (score_id) * FROM staged_scores"
            " WHERE score_id NOT IN (SELECT score_id FROM source_scores)"
        )
    staged = cursor.execute("SELECT count(*) FROM staged").fetchone()[0]
    cursor.execute(
        "INSERT INTO records SELECT * EXCLUDE (rn) FROM ("
        " SELECT *, row_number() OVER (PARTITION BY record_id ORDER BY source_line) AS rn FROM staged)"
        " WHERE rn = 1 AND record_id NOT IN (SELECT record_id FROM records)"
    )
    report.rows_added = cursor.execute(
        "SELECT count(*) FROM records WHERE ingest_id = ?", [report.ingest_id]).fetchone()[0]
    report.rows_present = staged - report.rows_added
    cursor.execute("DROP TABLE staged")
    cursor.execute("DROP TABLE staged_scores")


def _parse_row(shape: Shape, row: Row, report: IngestReport) -> Iterator[Record | SourceScore | BadRow | str]:
    """The row's records and scores; a string or a BadRow is a reason to quarantine."""
    if row.error:
        report.rows_quarantined += 1
        yield row.error
        return
    try:
        items = list(shape.parse(row.value))
    except BadRow as exc:
        report.rows_quarantined += 1
        yield str(exc)
        return
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        report.rows_quarantined += 1
        yield f"unexpected structure for {shape.name} ({type(exc).__name__}: {exc})"
        return
    if not items:
        report.rows_skipped += 1
        return
    report.rows_quarantined += sum(1 for item in items if isinstance(item, BadRow))
    yield from items


def _flush(cursor, batch: list[dict[str, Any]]) -> None:
    if not batch:
        return
    cursor.register("record_batch", pa.Table.from_pylist(batch, schema=_RECORD_SCHEMA))
    cursor.execute("INSERT INTO staged SELECT * FROM record_batch")
    cursor.unregister("record_batch")
    batch.clear()


_QUARANTINE_SCHEMA = pa.schema([
    ("ingest_id", pa.string()), ("file", pa.string()), ("line", pa.int64()), ("reason", pa.string()),
    ("raw", pa.string()), ("quarantined_at", pa.timestamp("us", tz="UTC")),
])


def _flush_quarantine(cursor, quarantined: list[tuple], report: IngestReport) -> None:
    """Keep the bad lines; a line already quarantined by an earlier ingest of the file is not kept twice."""
    if not quarantined:
        return
    columns = list(zip(*quarantined))
    cursor.register("bad_lines", pa.Table.from_arrays(
        [pa.array(column, type=field.type) for column, field in zip(columns, _QUARANTINE_SCHEMA)],
        schema=_QUARANTINE_SCHEMA))
    cursor.execute(
        "INSERT INTO quarantine SELECT * FROM bad_lines b WHERE NOT EXISTS ("
        " SELECT 1 FROM quarantine q WHERE q.file = b.file AND q.line IS NOT DISTINCT FROM b.line"
        " AND q.reason = b.reason AND q.raw IS NOT DISTINCT FROM b.raw)"
    )
    cursor.unregister("bad_lines")
    room = 20 - len(report.quarantine_samples)
    report.quarantine_samples += [{"line": q[2], "reason": q[3], "raw": q[4][:500]} for q in quarantined[:room]]
    quarantined.clear()


def _log_ingest(cursor, report: IngestReport, started: datetime, mapping: ColumnMapping | None) -> None:
    cursor.execute(
        "INSERT INTO ingests VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?)",
        [report.ingest_id, report.file, report.format, started, report.rows_read, report.rows_added,
         report.rows_present, report.rows_quarantined, report.rows_skipped,
         json.dumps(mapping.as_json()) if mapping else None, None],
    )


def _log_failed_ingest(workspace: Workspace, report: IngestReport, started: datetime) -> None:
    """A failed file is logged too, so the ingest history says what happened to every file."""
    with workspace.transaction() as cursor:
        cursor.execute(
            "INSERT INTO ingests (ingest_id, file, format, started_at, finished_at, message)"
            " VALUES (?, ?, ?, ?, now(), ?)",
            [report.ingest_id, report.file, report.format, started, report.error],
        )
