"""Evaluation runs: candidate answers stored per golden item, judged, and scored per run.

A run has a name (`--name RUN`), the candidate answers (`eval_answers`), each item's verdict,
reason and failure mode at scoring time (`eval_results`), and the scores overall, per failure
mode and per tag (`eval_runs.scores`, see mining.evaluate.scores). Why answers are stored before they are judged: an endpoint run writes
each answer the moment it arrives, so a run that stops halfway continues where it stopped, and a
run can be judged again after a golden item's checks change, without asking the model again.

What is scored: every golden item with a reference answer. From a file, an item the file has no
row for is the candidate not answering (abstained, "no answer"). From an endpoint, an item whose
request failed or was never sent is not scored until the run is resumed: an outage is not the
model's abstention. The run says how many items are still unanswered.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl
import pyarrow as pa

from mining.common import Progress, now_utc, plural
from mining.detect import signal_settings
from mining.embed import text_vectors
from mining.evaluate.answers import AnswerFile, AnswerMapping, match_answers
from mining.evaluate.checks import DEFAULT_CHECKS, judge, parse_check
from mining.endpoint import AnswerResult, EndpointConfig, Prompt, generate_answers
from mining.evaluate.items import GoldenSet, golden_set
from mining.evaluate.scores import grouped_scores
from mining.store import Workspace



class RunError(ValueError):
    """A run that cannot be made as asked, with the reason."""


@dataclass
class RunSummary:
    """What a run holds after scoring."""

    name: str
    source: str
    items: int
    scored: int
    unanswered: list[str]
    left_out: list[tuple[str, str]]
    scores: dict[str, Any]
    answer_file: AnswerFile | None = None
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The command line's --json object: the contract documented in the README."""
        overall = self.scores["overall"]
        result = {"name": self.name, "source": self.source, "items": self.items, "scored": self.scored,
                  "unanswered": len(self.unanswered), **{key: overall[key] for key in (
                      "accuracy", "accuracy_ci", "omniscience_index", "omniscience_ci", "hallucination_rate",
                      "hallucination_ci", "correct", "incorrect", "abstained")},
                  "clusters": self.scores["clusters"], "tags": self.scores["tags"],
                  "left_out": [{"id": source_id, "reason": reason} for source_id, reason in self.left_out],
                  "warnings": self.warnings}
        if self.answer_file is not None:
            result["file"] = {"path": self.answer_file.path, "rows": self.answer_file.rows,
                              "unknown_ids": self.answer_file.unknown, "duplicates": self.answer_file.duplicates,
                              "missing": self.answer_file.missing}
        return result


def _checks(checks: list[str | dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [parse_check(check) for check in checks] if checks else [dict(check) for check in DEFAULT_CHECKS]


def _run_row(workspace: Workspace, name: str) -> dict[str, Any] | None:
    cursor = workspace.cursor()
    cursor.execute("SELECT * FROM eval_runs WHERE name = ?", [name])
    row = cursor.fetchone()
    if row is None:
        return None
    run = dict(zip([column[0] for column in cursor.description], row))
    for key in ("source_detail", "checks", "scores"):
        run[key] = json.loads(run[key]) if run[key] else None
    return run


def _start_run(workspace: Workspace, name: str, source: str, detail: dict[str, Any], checks: list[dict[str, Any]],
               created_by: str | None, replace_answers: bool) -> None:
    """Create the run, or update an existing one of the same source (a file run's answers are
    replaced; an endpoint run keeps its answers so that it resumes)."""
    if not name.strip():
        raise RunError("give the run a name")
    existing = _run_row(workspace, name)
    if existing and existing["source"] != source:
        raise RunError(f"run {name!r} already exists with answers from {'a file' if existing['source'] == 'file' else 'an endpoint'}; "
                       "choose another name")
    at = now_utc()
    with workspace.transaction() as cursor:
        if existing:
            cursor.execute("UPDATE eval_runs SET updated_at = ?, source_detail = ?, checks = ?, status = 'answering'"
                           " WHERE name = ?", [at, json.dumps(detail), json.dumps(checks), name])
        else:
            cursor.execute("INSERT INTO eval_runs (name, created_at, updated_at, created_by, source, source_detail,"
                           " checks, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'answering')",
                           [name, at, at, created_by, source, json.dumps(detail), json.dumps(checks)])
        if replace_answers:
            cursor.execute("DELETE FROM eval_answers WHERE run_name = ?", [name])


def _store_answers(workspace: Workspace, name: str, rows: list[tuple[str, str | None, str | None, float | None]]) -> None:
    """Insert or replace (record_id, answer, error, latency_ms) rows of a run."""
    if not rows:
        return
    # found by this local variable's name (DuckDB's replacement scan), as in mining.review.events
    new_answers = pa.table({"record_id": pa.array([r[0] for r in rows], pa.string()),  # noqa: F841
                            "answer": pa.array([r[1] for r in rows], pa.string()),
                            "error": pa.array([r[2] for r in rows], pa.string()),
                            "latency_ms": pa.array([r[3] for r in rows], pa.float64())})
    with workspace.transaction() as cursor:
        cursor.execute("INSERT OR REPLACE INTO eval_answers SELECT ?, record_id, answer, error, latency_ms, ?"
                       " FROM new_answers", [name, now_utc()])


def _stored_answers(workspace: Workspace, name: str) -> dict[str, tuple[str | None, str | None]]:
    rows = workspace.cursor().execute("SELECT record_id, answer, error FROM eval_answers WHERE run_name = ?",
                                      [name]).fetchall()
    return {record_id: (answer, error) for record_id, answer, error in rows}


def _similarity(workspace: Workspace, pairs: list[tuple[str, str]]) -> Callable[[str, str], float]:
    """Cosine similarity over the cached embeddings of every text in `pairs`, computed in one go."""
    texts = list(dict.fromkeys(text for pair in pairs for text in pair if text))
    vectors = dict(zip(texts, text_vectors(workspace, texts))) if texts else {}
    return lambda a, b: float(np.dot(vectors[a], vectors[b]))


def score_run(workspace: Workspace, name: str, golden: GoldenSet | None = None) -> RunSummary:
    """Judge a run's stored answers against the golden set and store verdicts and scores."""
    run = _run_row(workspace, name)
    if run is None:
        raise RunError(f"no evaluation run named {name!r}")
    golden = golden or golden_set(workspace, redact=run["source_detail"].get("redact", True))
    stored = _stored_answers(workspace, name)
    answered = [(item, stored[item.record_id][0]) for item in golden.items
                if item.record_id in stored and stored[item.record_id][1] is None]
    unanswered = [item.source_id for item in golden.items
                  if item.record_id not in stored or stored[item.record_id][1] is not None]
    patterns = signal_settings(workspace).abstention_patterns
    checks_of = {item.record_id: item.checks or run["checks"] for item, _ in answered}
    semantic = [(answer, item.reference) for item, answer in answered
                if answer and any(check["type"] == "semantic" for check in checks_of[item.record_id])]
    similarity = _similarity(workspace, semantic)
    results = []
    for item, answer in answered:
        judgement = judge(answer, item.reference, checks_of[item.record_id], patterns, similarity)
        results.append((item, judgement))
    scores = grouped_scores([{"verdict": j.verdict, "cluster_id": item.cluster_id, "cluster": item.cluster,
                              "tags": item.tags} for item, j in results])
    _store_results(workspace, name, results, scores, complete=not unanswered)
    warnings = [f"{len(unanswered)} golden items have no answer yet: resume the run to ask for them"] if unanswered else []
    return RunSummary(name, run["source"], len(golden.items), len(results), unanswered, golden.left_out, scores,
                      warnings=warnings)


def _store_results(workspace: Workspace, name: str, results: list, scores: dict[str, Any], complete: bool) -> None:
    new_results = pa.table({  # noqa: F841 (read by DuckDB through its name)
        "record_id": pa.array([item.record_id for item, _ in results], pa.string()),
        "verdict": pa.array([j.verdict for _, j in results], pa.string()),
        "reason": pa.array([j.reason for _, j in results], pa.string()),
        "checks": pa.array([json.dumps(j.checks) for _, j in results], pa.string()),
        "cluster_id": pa.array([item.cluster_id for item, _ in results], pa.int32())})
    with workspace.transaction() as cursor:
        cursor.execute("DELETE FROM eval_results WHERE run_name = ?", [name])
        cursor.execute("INSERT INTO eval_results SELECT ?, record_id, verdict, reason, checks, cluster_id"
                       " FROM new_results", [name])
        cursor.execute("UPDATE eval_runs SET scores = ?, items = ?, status = ?, updated_at = ? WHERE name = ?",
                       [json.dumps(scores), len(results), "scored" if complete else "answering", now_utc(), name])


def evaluate_file(workspace: Workspace, name: str, path: str | Path, mapping: AnswerMapping = AnswerMapping(),
                  checks: list[str | dict[str, Any]] | None = None, created_by: str | None = None,
                  redact: bool = True) -> RunSummary:
    """Score a candidate answer file as run `name` (a run of that name from a file is replaced)."""
    chosen = _checks(checks)
    golden = golden_set(workspace, redact)
    if not golden.items:
        raise RunError("the golden set has no item with a reference answer: add golden items and review them first")
    answer_file = match_answers(path, golden.items, mapping)
    if not answer_file.answers:
        raise RunError(f"{answer_file.path}: none of its {plural(answer_file.rows, 'row')} matches a golden item "
                       f"(by {mapping.key}); e.g. {', '.join(answer_file.unknown[:3]) or 'no rows'}")
    detail = {"file": str(Path(path).expanduser().resolve()), "mapping": mapping.as_json(), "redact": redact}
    _start_run(workspace, name, "file", detail, chosen, created_by, replace_answers=True)
    _store_answers(workspace, name, [(item.record_id, answer_file.answers.get(item.record_id), None, None)
                                     for item in golden.items])
    summary = score_run(workspace, name, golden)
    summary.answer_file = answer_file
    if answer_file.unknown:
        summary.warnings.append(f"{plural(len(answer_file.unknown), 'row')} name{'s' if len(answer_file.unknown) == 1 else ''} "
                                f"no golden item, e.g. {', '.join(answer_file.unknown[:3])}")
    if answer_file.duplicates:
        summary.warnings.append(f"{len(answer_file.duplicates)} golden items have more than one row (the first counts)")
    if answer_file.missing:
        summary.warnings.append(f"{len(answer_file.missing)} golden items have no row: scored as abstained (no answer)")
    return summary


def evaluate_endpoint(workspace: Workspace, name: str, config: EndpointConfig,
                      checks: list[str | dict[str, Any]] | None = None, created_by: str | None = None,
                      redact: bool = True, progress: Progress | None = None,
                      stop_event: threading.Event | None = None) -> RunSummary:
    """Ask an OpenAI-compatible endpoint for the golden items' answers as run `name`, storing each as it
    arrives; a run of that name continues with the items not answered yet. Then score it."""
    chosen = _checks(checks)
    golden = golden_set(workspace, redact)
    if not golden.items:
        raise RunError("the golden set has no item with a reference answer: add golden items and review them first")
    _start_run(workspace, name, "endpoint", {**config.describe(), "redact": redact}, chosen, created_by,
               replace_answers=False)
    done = {record_id for record_id, (_, error) in _stored_answers(workspace, name).items() if error is None}

    def store(result: AnswerResult) -> None:
        _store_answers(workspace, name, [(result.record_id, result.answer, result.error, result.latency_ms)])

    prompts = [Prompt(item.record_id, item.messages, item.tools) for item in golden.items]
    generate_answers(config, prompts, done, store, progress, stop_event)
    return score_run(workspace, name, golden)


def list_runs(workspace: Workspace) -> pl.DataFrame:
    """Every run, newest first: name, source, status, items, accuracy, omniscience_index,
    hallucination_rate, created_at, updated_at, created_by."""
    rows = workspace.cursor().execute("""
        SELECT name, source, status, items, scores, created_at, updated_at, created_by FROM eval_runs
        ORDER BY updated_at DESC, name""").fetchall()
    out = []
    for name, source, status, items, scores, created_at, updated_at, created_by in rows:
        overall = json.loads(scores)["overall"] if scores else {}
        out.append({"name": name, "source": source, "status": status, "items": items,
                    "accuracy": overall.get("accuracy"), "omniscience_index": overall.get("omniscience_index"),
                    "hallucination_rate": overall.get("hallucination_rate"), "created_at": created_at,
                    "updated_at": updated_at, "created_by": created_by})
    schema = {"name": pl.String, "source": pl.String, "status": pl.String, "items": pl.Int64, "accuracy": pl.Float64,
              "omniscience_index": pl.Float64, "hallucination_rate": pl.Float64,
              "created_at": pl.Datetime(time_zone="UTC"), "updated_at": pl.Datetime(time_zone="UTC"),
              "created_by": pl.String}
    return pl.DataFrame(out, schema=schema)


def run_scores(workspace: Workspace, name: str) -> dict[str, Any] | None:
    """A run's stored scores (overall, clusters, tags), or None before it was scored."""
    run = _run_row(workspace, name)
    return run["scores"] if run else None


def run_items(workspace: Workspace, name: str) -> pl.DataFrame:
    """A run's judged items: id, record_id, verdict, reason, answer, cluster_id (the mode it was scored in)."""
    return workspace.frame("""
        SELECT coalesce(r.source_id, e.record_id) AS id, e.record_id, e.verdict, e.reason, a.answer, e.cluster_id
        FROM eval_results e LEFT JOIN records r USING (record_id)
        LEFT JOIN eval_answers a ON a.run_name = e.run_name AND a.record_id = e.record_id
        WHERE e.run_name = $name ORDER BY id""", {"name": name})
