"""A small hand-made workspace for the report tests: two weeks of calls whose figures are known.

Why by hand: each number the report shows (calls, failures, a mode's trend, reviews, agreement,
exports and evaluation runs in or out of the week) is set here on purpose, so a test can state
it exactly. The reported week is 2026-W46 (Mon 9 .. Sun 15 Nov 2026), compared with 2026-W45.

Modes of the hand-written clustering run:
  0  2 failures in W45, 3 in W46: growing
  1  none before, 4 in W46 (one a planted script, its most typical example): new
  2  1 failure in W45, none in W46: gone
  3  1 in W45, 1 in W46: stable
  4  1 failure in W44, none in W45, 1 in W46: growing (back after a quiet week)
plus one unclustered failure in W46, passing calls in both weeks, and calls in W47 that must not count.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from mining.ingest import ingest_paths
from mining.review import save_review
from mining.store import Workspace
from review_data import add_cluster_run

WEEK = "2026-W46"
SCRIPT = '<script>window.pwned = 1; alert("x")</script> why is my | bill so high?'
EVIL_NAME = '<img src=x onerror="window.pwned=1"> billing | refunds'

# id, day of November 2026, failing, mode (None: no mode; -1: unclustered)
CALLS = [
    ("early-4", -5, True, 4),  # 2026-10-26, week 44
    ("prev-0a", 2, True, 0), ("prev-0b", 3, True, 0), ("prev-2", 4, True, 2), ("prev-3", 5, True, 3),
    ("prev-ok", 6, False, None),
    ("cur-0a", 9, True, 0), ("cur-0b", 10, True, 0), ("cur-0c", 11, True, 0),
    ("cur-1a", 9, True, 1), ("cur-1b", 10, True, 1), ("cur-1c", 12, True, 1), ("cur-1script", 14, True, 1),
    ("cur-3", 13, True, 3), ("cur-4", 12, True, 4), ("cur-noise", 15, True, -1),
    ("cur-ok1", 10, False, None), ("cur-ok2", 15, False, None),
    ("next-1", 16, True, 1), ("next-ok", 17, False, None),
]
CURRENT = {"records": 12, "failures": 10}
PREVIOUS = {"records": 5, "failures": 4}
STATUSES = {0: "growing", 1: "new", 2: "gone", 3: "stable", 4: "growing"}


def _when(day: int) -> str:
    month, day = (10, 31 + day) if day < 1 else (11, day)
    return f"2026-{month:02d}-{day:02d}T10:00:00Z"


def at(day: int, hour: int = 12) -> datetime:
    """A time on a day of November 2026 (UTC)."""
    return datetime(2026, 11, day, hour, tzinfo=timezone.utc)


def load(workspace: Workspace, write_log: Callable[..., Path], openai_line: Callable[..., dict]) -> dict[str, str]:
    """Ingest the calls (failing ones thumbed down) and write the clustering run; source id -> record id."""
    lines = [openai_line(call_id, SCRIPT if call_id == "cur-1script" else f"question {call_id}",
                         f"answer to {call_id}", ts=_when(day), thumbs="down" if failing else "up")
             for call_id, day, failing, _ in CALLS]
    ingest_paths(workspace, [write_log("report.jsonl", lines)])
    ids = dict(workspace.cursor().execute("SELECT source_id, record_id FROM records").fetchall())
    members: dict[int, list[str]] = {}
    for call_id, _, _, mode in CALLS:
        if mode is not None:
            members.setdefault(mode, []).append(ids[call_id])
    add_cluster_run(workspace, [(mode, len(found), 1.0, "stable", found) for mode, found in sorted(members.items())])
    cursor = workspace.cursor()
    cursor.execute("UPDATE clusters SET examples = ?, keywords = ? WHERE cluster_id = 1",
                   [json.dumps([ids["cur-1script"]]), json.dumps(["bill", "high"])])
    cursor.execute("UPDATE clusters SET name = ? WHERE cluster_id = 0", [EVIL_NAME])
    return ids


def review(workspace: Workspace, ids: dict[str, str]) -> None:
    """W46: ana and bob both judge cur-0a (agree) and cur-1a (disagree), carol skips one; one double
    review in W45 and one verdict in W47 that must not count."""
    save_review(workspace, ids["prev-0a"], "ana", verdict="hard_example", at=at(5))
    save_review(workspace, ids["prev-0a"], "bob", verdict="hard_example", at=at(6))
    save_review(workspace, ids["cur-0a"], "ana", verdict="hard_example", at=at(10))
    save_review(workspace, ids["cur-1a"], "ana", verdict="hard_example", at=at(10, 14))
    save_review(workspace, ids["cur-0a"], "bob", verdict="hard_example", at=at(11))
    save_review(workspace, ids["cur-1a"], "bob", verdict="not_a_failure", at=at(11, 14))
    save_review(workspace, ids["cur-3"], "carol", verdict="skip", at=at(12))
    save_review(workspace, ids["next-1"], "ana", verdict="hard_example", at=at(17))


def add_exports(workspace: Workspace) -> None:
    """faultline v1 (W45), v2 (W46) and v3 (W47): only v2 is in the week."""
    report = json.dumps({"kinds": {"sft": {"rows": 5}, "dpo": {"rows": 3}}, "golden": 2, "leaks": 1, "warnings": []})
    for version, day in ((1, 3), (2, 12), (3, 16)):
        workspace.cursor().execute(
            "INSERT INTO exports (export_id, name, version, folder, created_at, created_by, kinds, manifest, report)"
            " VALUES (?, 'faultline', ?, ?, ?, 'ana', ['sft', 'dpo'], '{}', ?)",
            [f"export-{version}", version, f"/tmp/faultline-v{version}", at(day), report])


def score(n: int, correct: int, incorrect: int) -> dict:
    """A score object as mining.evaluate stores it."""
    abstained = n - correct - incorrect
    return {"n": n, "correct": correct, "incorrect": incorrect, "abstained": abstained,
            "accuracy": correct / n, "accuracy_ci": [correct / n - 0.1, correct / n + 0.1],
            "omniscience_index": 100 * (correct - incorrect) / n, "omniscience_ci": [-10.0, 30.0],
            "hallucination_rate": incorrect / (n - correct) if n > correct else None,
            "hallucination_ci": [0.2, 0.6] if n > correct else None}


def add_eval_runs(workspace: Workspace) -> None:
    """cand-a (made in W46), cand-old (made before, re-scored in W46), cand-wip (answering in W46)
    are in the week; cand-out (W45) is not."""
    scored = {"overall": score(20, 12, 5), "clusters": {"0": {**score(8, 4, 3), "name": "billing"},
                                                        "-1": {**score(2, 2, 0), "name": None}}, "tags": {}}
    for name, created, updated, status, scores in (
            ("cand-a", at(10), at(10), "scored", scored), ("cand-old", at(1), at(13), "scored", scored),
            ("cand-wip", at(14), at(14), "answering", None), ("cand-out", at(3), at(4), "scored", scored)):
        workspace.cursor().execute(
            "INSERT INTO eval_runs (name, created_at, updated_at, created_by, source, source_detail, checks, status,"
            " items, scores) VALUES (?, ?, ?, 'ana', 'file', '{}', '{}', ?, 20, ?)",
            [name, created, updated, status, json.dumps(scores) if scores else None])


def build(workspace: Workspace, write_log: Callable[..., Path], openai_line: Callable[..., dict]) -> dict[str, str]:
    """Everything above in one workspace; source id -> record id."""
    ids = load(workspace, write_log, openai_line)
    review(workspace, ids)
    add_exports(workspace)
    add_eval_runs(workspace)
    return ids
