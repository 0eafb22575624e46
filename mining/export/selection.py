"""Which reviewed records an export draws from, as `Example`s carrying everything a writer needs.

Why one query and one object: every dataset kind (SFT, DPO, KTO, corrections, golden) is a
different view of the same reviewed record, so the record, its current review state (derived from
the append-only log), its failure mode in the latest clustering run and its signals are read once,
in DuckDB, and each writer only reshapes them. Examples come out ordered by record id, so an export
made twice from the same reviews numbers its placeholders and orders its rows identically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mining.cluster import NOISE, latest_run, membership_sql
from mining.review import record_state_sql
from mining.sql_filter import Where
from mining.store import Workspace

DEFAULT_VERDICTS = ("hard_example",)


@dataclass(frozen=True)
class ExportFilter:
    """Which reviewed records to export; empty tuples and None mean "no restriction".

    `verdicts` defaults to hard examples (the slice worth training on); `not_a_failure` adds
    confirmed-good answers (useful as KTO's desirable examples). `tags` and `reviewers` match any
    of the given values; `clusters` may hold -1 for unclustered records; `until` is exclusive;
    `agreed_only` keeps records that two or more reviewers judged alike (not disputed and not
    settled by adjudication); `record_ids` pins the exact records (how a manifest is replayed).
    """

    verdicts: tuple[str, ...] = DEFAULT_VERDICTS
    tags: tuple[str, ...] = ()
    clusters: tuple[int, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    reviewers: tuple[str, ...] = ()
    agreed_only: bool = False
    record_ids: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The filter as the manifest stores it (times as ISO strings)."""
        return {"verdicts": list(self.verdicts), "tags": list(self.tags), "clusters": list(self.clusters),
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
                "reviewers": list(self.reviewers), "agreed_only": self.agreed_only,
                "record_ids": list(self.record_ids)}


@dataclass(frozen=True)
class Answer:
    """An assistant answer: text, tool calls (canonical {id, name, arguments}), or both."""

    text: str | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.text or "").strip() and not self.tool_calls

    def canonical(self) -> str:
        """A comparable form: two answers are the same when these are equal."""
        return json.dumps({"text": " ".join((self.text or "").split()), "tool_calls": list(self.tool_calls)},
                          sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class Example:
    """One reviewed record with its review state, failure mode and signals."""

    record_id: str
    source_id: str
    source_file: str
    source_format: str
    ts: datetime | None
    model: str | None
    messages: tuple[dict[str, Any], ...]
    request_text: str | None
    response: Answer
    tools: tuple[dict[str, Any], ...]
    finish_reason: str | None
    error: str | None
    feedback_score: float | None
    verdict: str | None
    tags: tuple[str, ...]
    correction: Answer | None
    note: str | None
    reviewers: tuple[str, ...]
    adjudicated_by: str | None
    agreement: str
    cluster_id: int
    cluster_name: str | None
    signals: tuple[dict[str, Any], ...] = field(default=())

    @property
    def target(self) -> Answer | None:
        """The answer to learn and to evaluate against: the reviewer's correction, or the model's
        own answer when a reviewer confirmed it was not a failure; None when there is none yet."""
        if self.correction is not None and not self.correction.empty:
            return self.correction
        if self.verdict == "not_a_failure" and not self.response.empty:
            return self.response
        return None


def _answer(text: str | None, tool_calls: Any) -> Answer:
    return Answer(text, tuple(tool_calls or ()))


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _agreement(reviewers: tuple[str, ...], adjudicated_by: str | None, disputed: bool) -> str:
    """single (one reviewer), agreed, disputed, or adjudicated (a lead settled a disagreement)."""
    if adjudicated_by:
        return "adjudicated"
    if disputed:
        return "disputed"
    return "agreed" if len(reviewers) >= 2 else "single"


def _where(f: ExportFilter, reviewed_only: bool) -> Where:
    """The filter's conditions over records (r), their review state (rs) and failure mode (cl)."""
    where = Where("rs.verdict IS NOT NULL") if reviewed_only else Where()
    where.among("verdicts", "rs.verdict", f.verdicts)
    where.among("record_ids", "r.record_id", f.record_ids)
    where.among("clusters", f"coalesce(cl.cluster_id, {NOISE})", f.clusters)
    where.overlapping("tags", "rs.tags", f.tags)
    where.overlapping("reviewers", "rs.reviewers", f.reviewers)
    where.between("r.ts", f.since, f.until)
    if f.agreed_only:
        where.add("len(rs.reviewers) >= 2 AND NOT rs.disputed AND rs.adjudicated_by IS NULL")
    return where


def select_examples(workspace: Workspace, export_filter: ExportFilter, reviewed_only: bool = True) -> list[Example]:
    """The reviewed records that pass the filter, ordered by record id; with `reviewed_only` False
    also records nobody reviewed yet (the golden set may hold those: they get no reference)."""
    where = _where(export_filter, reviewed_only)
    run = latest_run(workspace)
    params = {**where.params, "run_id": run["run_id"] if run else None}
    cursor = workspace.cursor()
    cursor.execute(f"""
        WITH rs AS ({record_state_sql()}),
        sig AS (SELECT record_id, list({{'signal': signal, 'value': value, 'detail': detail}} ORDER BY signal) AS signals
                FROM signals GROUP BY record_id),
        cl AS ({membership_sql()})
        SELECT r.record_id, coalesce(r.source_id, r.record_id) AS source_id, r.source_file, r.source_format, r.ts,
               r.model, r.input_messages, r.cluster_text, r.response_text, r.tool_calls AS response_tool_calls,
               r.tools, r.finish_reason, r.error, r.feedback_score, rs.verdict, rs.tags, rs.correction,
               rs.tool_calls AS correction_tool_calls, rs.note, rs.reviewers, rs.adjudicated_by, rs.disputed,
               coalesce(cl.cluster_id, {NOISE}) AS cluster_id, cl.cluster_name,
               coalesce(sig.signals, []) AS signals
        FROM records r LEFT JOIN rs USING (record_id) LEFT JOIN cl USING (record_id) LEFT JOIN sig USING (record_id)
        WHERE {where.sql}
        ORDER BY r.record_id""", params)
    columns = [column[0] for column in cursor.description]
    return [_example(dict(zip(columns, row))) for row in cursor.fetchall()]


def _example(row: dict[str, Any]) -> Example:
    correction_calls = _loads(row["correction_tool_calls"])
    has_correction = row["correction"] is not None or correction_calls is not None
    reviewers = tuple(row["reviewers"] or ())
    return Example(
        record_id=row["record_id"], source_id=row["source_id"], source_file=row["source_file"],
        source_format=row["source_format"], ts=row["ts"], model=row["model"],
        messages=tuple(_loads(row["input_messages"]) or ()), request_text=row["cluster_text"],
        response=_answer(row["response_text"], _loads(row["response_tool_calls"])),
        tools=tuple(_loads(row["tools"]) or ()), finish_reason=row["finish_reason"], error=row["error"],
        feedback_score=row["feedback_score"], verdict=row["verdict"], tags=tuple(row["tags"] or ()),
        correction=_answer(row["correction"], correction_calls) if has_correction else None,
        note=row["note"], reviewers=reviewers, adjudicated_by=row["adjudicated_by"],
        agreement=_agreement(reviewers, row["adjudicated_by"], bool(row["disputed"])),
        cluster_id=int(row["cluster_id"]), cluster_name=row["cluster_name"],
        signals=tuple(dict(signal) for signal in row["signals"]))
