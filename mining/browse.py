"""Browsing the workspace: the library behind the Records and Quarantine pages.

Why here and not in the pages: filtering, searching and paging happen in DuckDB, so a page never
pulls more than one page of rows into Python, and the command line can reuse the same queries.
Every user value reaches SQL as a bound parameter; the SQL text itself is built only from
constant fragments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import polars as pl

from mining.cluster import latest_run
from mining.ingest import JSON_COLUMNS
from mining.sql_filter import Where
from mining.store import Workspace

Feedback = Literal["any", "negative", "positive", "none"]

# A score below this is a negative judgement (scores are 0..1, 1 = good).
NEGATIVE_BELOW = 0.5
PREVIEW_CHARS = 160

_FEEDBACK_CLAUSES: dict[str, str | None] = {
    "any": None,
    "negative": f"feedback_score < {NEGATIVE_BELOW}",
    "positive": f"feedback_score >= {NEGATIVE_BELOW}",
    "none": "feedback_score IS NULL",
}

_HAS_ERROR = "(error IS NOT NULL OR coalesce(status, '') = 'error')"

# The user's text as one string: each message's content, one per line.
_INPUT_TEXT = "array_to_string(json_extract_string(input_messages, '$[*].content'), chr(10))"
_SEARCHED = ("cluster_text", "response_text", _INPUT_TEXT)


def _preview(column: str) -> str:
    """A one-line preview of a text column, so the table stays readable and light."""
    return f"regexp_replace(left({column}, {PREVIEW_CHARS}), '\\s+', ' ', 'g')"


_SUMMARY_COLUMNS = ", ".join([
    "record_id", "source_id", "ts", "model", "source_file", "source_format",
    f"{_preview('cluster_text')} AS request", f"{_preview('response_text')} AS response",
    "feedback_score", "status", f"{_preview('error')} AS error", "finish_reason",
])


@dataclass(frozen=True)
class RecordFilter:
    """Which records to show. Empty tuples and None mean "no restriction".

    `until` is exclusive, so a day range is [first day 00:00, day after the last 00:00).
    """

    source_files: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    feedback: Feedback = "any"
    has_error: bool | None = None
    search: str = ""
    signals: tuple[str, ...] = ()  # records any of these signals flagged (stored names, e.g. "refusal")
    modes: tuple[int, ...] = ()  # records in these failure modes of the latest run (-1: left unclustered)
    kinds: tuple[int, ...] = ()  # failures of these failure kinds of the latest run (-1: other failures)


@dataclass(frozen=True)
class FilterOptions:
    """The values the filters can take in this workspace."""

    source_files: list[str]
    formats: list[str]
    models: list[str]
    first_ts: datetime | None
    last_ts: datetime | None


def like_pattern(text: str) -> str:
    """An ILIKE pattern (ESCAPE '\\') matching `text` anywhere, its % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(workspace: Workspace, f: RecordFilter) -> Where:
    """The filter's conditions over `records`."""
    where = Where()
    if f.signals:
        where.add("record_id IN (SELECT record_id FROM signals WHERE signal IN (SELECT unnest($signals)))",
                  signals=list(f.signals))
    if f.modes or f.kinds:
        run = latest_run(workspace)
        where.bind(run_id=run["run_id"] if run else None)
    if f.modes:
        where.add("record_id IN (SELECT record_id FROM cluster_members WHERE run_id = $run_id"
                  " AND cluster_id IN (SELECT unnest($modes)))", modes=list(f.modes))
    if f.kinds:
        where.add("record_id IN (SELECT record_id FROM kind_members WHERE run_id = $run_id"
                  " AND kind_id IN (SELECT unnest($kinds)))", kinds=list(f.kinds))
    where.among("source_files", "source_file", f.source_files)
    where.among("formats", "source_format", f.formats)
    where.among("models", "model", f.models)
    where.between("ts", f.since, f.until)
    if f.feedback not in _FEEDBACK_CLAUSES:
        raise ValueError(f"feedback must be one of {', '.join(_FEEDBACK_CLAUSES)}, not {f.feedback!r}")
    if _FEEDBACK_CLAUSES[f.feedback]:
        where.add(_FEEDBACK_CLAUSES[f.feedback])
    if f.has_error is not None:
        where.add(_HAS_ERROR if f.has_error else f"NOT {_HAS_ERROR}")
    if f.search.strip():
        where.add("(" + " OR ".join(f"coalesce({text}, '') ILIKE $search ESCAPE '\\'" for text in _SEARCHED) + ")",
                  search=like_pattern(f.search.strip()))
    return where


def filter_options(workspace: Workspace) -> FilterOptions:
    """Distinct source files, formats and models, and the time span, for the filter widgets."""
    cursor = workspace.cursor()

    def distinct(column: str) -> list[str]:
        rows = cursor.execute(f"SELECT DISTINCT {column} FROM records WHERE {column} IS NOT NULL ORDER BY 1")
        return [row[0] for row in rows.fetchall()]

    first, last = cursor.execute("SELECT min(ts), max(ts) FROM records").fetchone()
    return FilterOptions(distinct("source_file"), distinct("source_format"), distinct("model"), first, last)


def count_records(workspace: Workspace, f: RecordFilter = RecordFilter()) -> int:
    """How many records match the filter."""
    where = _where(workspace, f)
    return workspace.cursor().execute(f"SELECT count(*) FROM records WHERE {where.sql}", where.params).fetchone()[0]


def list_records(workspace: Workspace, f: RecordFilter = RecordFilter(), page: int = 1,
                 page_size: int = 50) -> pl.DataFrame:
    """One page (1-based) of matching records, newest first, as short summary columns."""
    where = _where(workspace, f)
    sql = (f"SELECT {_SUMMARY_COLUMNS} FROM records WHERE {where.sql}"
           " ORDER BY ts DESC NULLS LAST, record_id LIMIT $limit OFFSET $offset")
    return workspace.frame(sql, {**where.params, **_limit_offset(page, page_size)})


def get_record(workspace: Workspace, key: str) -> dict[str, Any] | None:
    """The full record for an internal record_id or the source's own id, JSON columns decoded.

    Why both: people paste the id their logging system shows them, and links inside the app use
    the record_id. A record_id match wins; among source_id matches the newest does.
    """
    cursor = workspace.cursor()
    # Two lookups, each through its column's index: one query matching either column read all the
    # records (80 ms at 1M, on every page run that shows a record).
    row = cursor.execute("SELECT * FROM records WHERE record_id = ?", [key]).fetchone()
    if row is None:
        row = cursor.execute("SELECT * FROM records WHERE source_id = ? ORDER BY ts DESC NULLS LAST, record_id LIMIT 1",
                             [key]).fetchone()
    if row is None:
        return None
    record = dict(zip([column[0] for column in cursor.description], row))
    for column in JSON_COLUMNS:
        if record.get(column) is not None:
            record[column] = json.loads(record[column])
    return record


def count_quarantine(workspace: Workspace, file: str | None = None) -> int:
    """How many quarantined lines there are, in one file or in all."""
    where = _quarantine_where(file)
    return workspace.cursor().execute(f"SELECT count(*) FROM quarantine WHERE {where.sql}", where.params).fetchone()[0]


def list_quarantine(workspace: Workspace, file: str | None = None, page: int = 1,
                    page_size: int = 50) -> pl.DataFrame:
    """One page of quarantined lines (file, line, reason, raw), in file and line order."""
    where = _quarantine_where(file)
    sql = (f"SELECT file, line, reason, raw, quarantined_at FROM quarantine WHERE {where.sql}"
           " ORDER BY file, line, quarantined_at LIMIT $limit OFFSET $offset")
    return workspace.frame(sql, {**where.params, **_limit_offset(page, page_size)})


def _quarantine_where(file: str | None) -> Where:
    where = Where()
    if file:
        where.add("file = $file", file=file)
    return where


def _limit_offset(page: int, page_size: int) -> dict[str, int]:
    if page < 1 or page_size < 1:
        raise ValueError(f"page and page_size start at 1 (got page={page}, page_size={page_size})")
    return {"limit": page_size, "offset": (page - 1) * page_size}
