"""What the Review page shows beside a record that the other review modules do not answer: the
failure mode a record belongs to in the latest clustering run, and who has reviewed anything.

Why here: pages hold no SQL; these are small reads over the latest run and the review log.
"""

from __future__ import annotations

from typing import Any

from mining.cluster import NOISE, latest_run
from mining.store import Workspace


def record_cluster(workspace: Workspace, record_id: str) -> dict[str, Any] | None:
    """The record's mode in the latest run: cluster_id (-1 unclustered) and name (a rename wins);
    None when no run holds the record."""
    run = latest_run(workspace)
    if run is None:
        return None
    row = workspace.cursor().execute(f"""
        SELECT m.cluster_id, CASE WHEN m.cluster_id = {NOISE} THEN NULL ELSE coalesce(n.name, c.name) END
        FROM cluster_members m LEFT JOIN clusters c ON c.run_id = m.run_id AND c.cluster_id = m.cluster_id
        LEFT JOIN cluster_names n ON n.cluster_id = m.cluster_id
        WHERE m.run_id = ? AND m.record_id = ?""", [run["run_id"], record_id]).fetchone()
    return {"cluster_id": row[0], "name": row[1]} if row else None


def reviewer_names(workspace: Workspace) -> list[str]:
    """Everyone who has written a review event, by name (for the queue's reviewer filter)."""
    rows = workspace.cursor().execute("SELECT DISTINCT reviewer FROM review_events ORDER BY 1").fetchall()
    return [row[0] for row in rows]
