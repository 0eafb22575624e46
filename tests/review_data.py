"""Small hand-made data for the review tests: a few failing calls, and cluster rows written directly.

Why cluster rows by hand: the queue only reads the latest run's sizes, lifts, statuses and
members, so writing them is exact and instant, where a real clustering run would be slow and
would decide the numbers itself.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from mining.ingest import ingest_paths
from mining.store import Workspace


def load_calls(workspace: Workspace, write_log: Callable[..., Path], openai_line: Callable[..., dict],
               failing: int = 6, passing: int = 2, name: str = "calls.jsonl") -> dict[str, str]:
    """Ingest `failing` thumbs-down calls (ids f-0, f-1, ...) and `passing` thumbs-up ones (p-0, ...),
    a day apart from 2026-11-01; returns source id -> record id."""
    lines = [openai_line(f"f-{i}", f"question {i} about topic {i % 3}", f"bad answer {i}",
                         ts=f"2026-11-{i + 1:02d}T10:00:00Z", thumbs="down") for i in range(failing)]
    lines += [openai_line(f"p-{i}", f"fine question {i}", "good answer", ts=f"2026-11-{i + 1:02d}T12:00:00Z",
                          thumbs="up") for i in range(passing)]
    ingest_paths(workspace, [write_log(name, lines)])
    return dict(workspace.cursor().execute("SELECT source_id, record_id FROM records").fetchall())


def add_cluster_run(workspace: Workspace, clusters: list[tuple[int, int, float, str, list[str]]],
                    run_id: str = "run-1", finished_at: datetime | None = None) -> None:
    """A finished run whose modes are (cluster_id, size, lift, status, member record ids); cluster -1 = noise."""
    finished_at = finished_at or datetime(2026, 11, 20, tzinfo=timezone.utc)
    cursor = workspace.cursor()
    cursor.execute("INSERT INTO cluster_runs (run_id, started_at, finished_at, algorithm, model_id, scope, params,"
                   " status) VALUES (?, ?, ?, 'kmeans', 'test', 'failures', '{}', 'finished')",
                   [run_id, finished_at, finished_at])
    for cluster_id, size, lift, status, members in clusters:
        if cluster_id != -1:
            cursor.execute("INSERT INTO clusters (run_id, cluster_id, name, keywords, size, failures, failure_rate,"
                           " lift, status) VALUES (?, ?, ?, ?, ?, ?, 1.0, ?, ?)",
                           [run_id, cluster_id, f"mode {cluster_id}", json.dumps([]), size, size, lift, status])
        for record_id in members:
            cursor.execute("INSERT INTO cluster_members (run_id, record_id, cluster_id) VALUES (?, ?, ?)",
                           [run_id, record_id, cluster_id])
