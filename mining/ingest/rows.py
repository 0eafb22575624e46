"""What one row of a log becomes: `records` rows, scores, and reasons to quarantine, and the run
state both ingest paths share.

Why a module of its own: the reference parser (mining.ingest.pipeline) and the vectorised OpenAI
path (mining.ingest.fastpath_openai) must judge every line the same way and write the same batch
schema. Both import these from here, so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import pyarrow as pa

from mining.common import Progress
from mining.ingest.containers import NESTED_TOO_DEEP, Row, RowReader
from mining.ingest.file_report import IngestReport
from mining.ingest.quarantine import Quarantine
from mining.ingest.record import RECORD_COLUMNS, BadRow, Record, SourceScore
from mining.ingest.shapes import Shape, foreign_shape


@dataclass
class Position:
    """Where reading a file has got to: the line or lines being read, for the message if it fails there."""

    lines: str = ""


@dataclass
class FileRun:
    """One file's ingest in progress: what both ingest paths need."""

    cursor: Any
    shape: Shape
    reader: RowReader
    report: IngestReport
    problems: Quarantine
    progress: Progress | None
    position: Position


RECORD_SCHEMA = pa.schema([
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
assert RECORD_SCHEMA.names == RECORD_COLUMNS
BATCH_SCHEMA = RECORD_SCHEMA.append(pa.field("seq", pa.int64()))  # a batch for mining.ingest.commit


def row_outcomes(shape: Shape, row: Row, report: IngestReport,
                 source_file: str) -> Iterator[dict[str, Any] | SourceScore | BadRow]:
    """What one row becomes: `records` rows (dicts), scores, and BadRows to quarantine.

    Shared with the vectorised path, so a line is judged the same whichever path reads it.
    """
    for item in parse_row(shape, row, report):
        yield _record_row(item, row, source_file, report.ingest_id) if isinstance(item, Record) else item


def parse_row(shape: Shape, row: Row, report: IngestReport) -> Iterator[Record | SourceScore | BadRow]:
    """The row's records and scores; a BadRow is a reason to quarantine (its `raw`, or the row's)."""
    if row.error:
        yield BadRow(row.error)
        return
    try:
        items = list(shape.parse(row.value))
    except BadRow as exc:
        yield _foreign(shape, row.value) or exc
        return
    except RecursionError:
        yield BadRow(NESTED_TOO_DEEP)
        return
    except (KeyError, TypeError, AttributeError, IndexError, ValueError, OverflowError) as exc:
        yield _foreign(shape, row.value) or BadRow(f"unexpected structure for {shape.name} ({type(exc).__name__}: {exc})")
        return
    if any(isinstance(item, Record) for item in items) and (foreign := _foreign(shape, row.value)):
        yield foreign
        return
    if not items:
        report.rows_skipped += 1
        return
    yield from items


def _foreign(shape: Shape, value: Any) -> BadRow | None:
    """Why a line of another known log is not read in this file's shape (see `foreign_shape`)."""
    other = foreign_shape(shape, value)
    if other is None:
        return None
    return BadRow(f"this line belongs to another log: it looks like {other.label}, not {shape.label}; it is left "
                  f"out rather than read as the wrong kind of call (ingest it from a file of its own)")


def _record_row(record: Record, row: Row, source_file: str, ingest_id: str) -> dict[str, Any] | BadRow:
    """The `records` row of a parsed record, or why it cannot be stored (a number out of range...)."""
    record.raw = record.raw or row.raw
    try:
        return record.as_row(source_file, row.line, ingest_id)
    except BadRow as exc:
        return exc
    except RecursionError:
        return BadRow(NESTED_TOO_DEEP)
