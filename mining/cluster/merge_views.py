"""Merged modes as a reviewer sees them: what a mode was made of, and keeping two parts apart.

Why "keep apart" is stored as centroids and not as mode ids: the clusterer finds the parts again
in every run, under new labels, and a merged mode's id says nothing about its parts. A part's
centroid is found again (cosine >= mining.cluster.merge.SAME_SIDE) as long as the calls it groups
are much the same, so the decision holds for as long as the problem it is about.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from mining.cluster.merge import KeepApart
from mining.cluster.views import run_or_latest
from mining.store import Workspace


def mode_parts(workspace: Workspace, cluster_id: int, run_id: str | None = None) -> list[dict[str, Any]]:
    """The modes a merged mode of the run is made of (largest first): part, name, size, similarity
    to the merged mode, and why it was merged ('neighbours' or 'failures'). Empty when not merged."""
    run_id = run_or_latest(workspace, run_id)
    cursor = workspace.cursor()
    cursor.execute("""SELECT part, name, size, similarity, reason FROM mode_parts
                      WHERE run_id = ? AND cluster_id = ? ORDER BY part""", [run_id, cluster_id])
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def keep_apart(workspace: Workspace, cluster_id: int, part: int, made_by: str | None = None,
               run_id: str | None = None) -> int:
    """Record that `part` of a merged mode is a different problem from each of its other parts;
    the next run keeps them apart. Returns how many pairs were recorded."""
    run_id = run_or_latest(workspace, run_id)
    rows = workspace.cursor().execute("""SELECT part, name, centroid FROM mode_parts
                                         WHERE run_id = ? AND cluster_id = ? ORDER BY part""",
                                      [run_id, cluster_id]).fetchall()
    chosen = [row for row in rows if row[0] == part]
    if not chosen:
        raise ValueError(f"mode {cluster_id} has no part {part} in run {run_id}")
    _, name, centroid = chosen[0]
    pairs = [[uuid.uuid4().hex, made_by, name, other_name, centroid, other_centroid]
             for other_part, other_name, other_centroid in rows if other_part != part]
    with workspace.transaction() as cursor:
        cursor.executemany("""INSERT INTO keep_apart (decision_id, made_by, first_name, second_name, first_centroid,
                                                      second_centroid) VALUES (?, ?, ?, ?, ?, ?)""", pairs)
    return len(pairs)


def list_keep_apart(workspace: Workspace) -> list[dict[str, Any]]:
    """Every keep-apart decision, newest first: id, when, who, and the two parts' names."""
    cursor = workspace.cursor()
    cursor.execute("""SELECT decision_id, made_at, made_by, first_name, second_name FROM keep_apart
                      ORDER BY made_at DESC, decision_id""")
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def forget_keep_apart(workspace: Workspace, decision_id: str) -> None:
    """Withdraw a keep-apart decision: the next run may merge the two parts again."""
    with workspace.transaction() as cursor:
        cursor.execute("DELETE FROM keep_apart WHERE decision_id = ?", [decision_id])


def keep_apart_decisions(workspace: Workspace) -> list[KeepApart]:
    """The decisions as the merge step reads them."""
    rows = workspace.cursor().execute("SELECT first_centroid, second_centroid FROM keep_apart").fetchall()
    return [KeepApart(np.asarray(first, dtype=np.float32), np.asarray(second, dtype=np.float32))
            for first, second in rows]
