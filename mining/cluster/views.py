"""Reading clustering runs back: the ranked failure modes, one mode in detail, members, the map.

Why apart from mining/cluster/run.py: that module computes and writes a run; pages and the command
line only ever read the latest finished one, and reviewers' renames live beside runs (in
`cluster_names`, keyed by the lasting cluster id) so that they win over any run's automatic name.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from mining.embed import text_sql
from mining.store import Workspace

NOISE = -1
STATUS_ORDER = ("growing", "new", "stable", "shrinking", "gone")


def latest_run(workspace: Workspace) -> dict[str, Any] | None:
    """The latest finished run (run_id, times, algorithm, model_id, scope, params, n_points, message)."""
    cursor = workspace.cursor()
    row = cursor.execute("""
        SELECT run_id, started_at, finished_at, algorithm, model_id, scope, params, n_points, message
        FROM cluster_runs WHERE status = 'finished' ORDER BY finished_at DESC LIMIT 1""").fetchone()
    if row is None:
        return None
    run = dict(zip([column[0] for column in cursor.description], row))
    run["params"] = json.loads(run["params"]) if run["params"] else {}
    return run


def membership_sql() -> str:
    """Every record of run $run_id with its mode: record_id, cluster_id (-1 unclustered), cluster_name
    (a reviewer's rename wins; none for unclustered), cluster_status and impact (size x lift). The one
    definition the queue, the export and the progress figures join on, so they name modes alike."""
    return f"""
        SELECT m.record_id, m.cluster_id, coalesce(n.name, c.name) AS cluster_name, c.status AS cluster_status,
               c.size * coalesce(c.lift, 1) AS impact
        FROM cluster_members m LEFT JOIN clusters c ON c.run_id = m.run_id AND c.cluster_id = m.cluster_id
        LEFT JOIN cluster_names n ON n.cluster_id = m.cluster_id AND m.cluster_id <> {NOISE}
        WHERE m.run_id = $run_id"""


def run_or_latest(workspace: Workspace, run_id: str | None) -> str | None:
    """`run_id`, or the latest finished run's when None (None before the first run)."""
    if run_id is not None:
        return run_id
    run = latest_run(workspace)
    return run["run_id"] if run else None


def _text_expression(workspace: Workspace, run_id: str) -> str:
    """The SQL for the text a run compared (request, response or both) over `r`."""
    row = workspace.cursor().execute("SELECT params FROM cluster_runs WHERE run_id = ?", [run_id]).fetchone()
    params = json.loads(row[0]) if row and row[0] else {}
    return text_sql(params.get("embedding", {}).get("text", "request"), "r")


def list_clusters(workspace: Workspace, run_id: str | None = None) -> list[dict[str, Any]]:
    """The run's failure modes, biggest impact (size x lift) first and gone ones last.

    Each: id, name (a reviewer's rename wins), renamed (bool), keywords, size, failures,
    failure_rate (with failure_rate_low and _high, its 95% interval), lift, status, first_seen,
    last_seen, weekly, examples (record ids).
    """
    run_id = run_or_latest(workspace, run_id)
    return [] if run_id is None else _clusters(workspace, run_id)


def mode_names(workspace: Workspace) -> dict[int, str]:
    """Mode id -> name in the latest run (a reviewer's rename wins), then -1 "Unclustered", for
    pickers; empty before the first run."""
    run_id = run_or_latest(workspace, None)
    if run_id is None:
        return {}
    names = {cluster["id"]: cluster["name"] or f"Mode {cluster['id']}" for cluster in _clusters(workspace, run_id)}
    return {**names, NOISE: "Unclustered"}


def _clusters(workspace: Workspace, run_id: str, cluster_id: int | None = None) -> list[dict[str, Any]]:
    """The run's clusters as list_clusters describes them; only `cluster_id` when given."""
    cursor = workspace.cursor()
    cursor.execute("""
        SELECT c.cluster_id AS id, coalesce(n.name, c.name) AS name, n.name IS NOT NULL AS renamed, c.keywords,
               c.size, c.failures, c.failure_rate, c.failure_rate_low, c.failure_rate_high, c.lift, c.status,
               c.first_seen, c.last_seen, c.weekly, c.examples, c.summary, c.named_by
        FROM clusters c LEFT JOIN cluster_names n USING (cluster_id)
        WHERE c.run_id = ? AND (? IS NULL OR c.cluster_id = ?)
        ORDER BY c.status = 'gone', c.size * coalesce(c.lift, 1) DESC, c.cluster_id""", [run_id, cluster_id, cluster_id])
    columns = [column[0] for column in cursor.description]
    clusters = []
    for row in cursor.fetchall():
        cluster = dict(zip(columns, row))
        for key in ("keywords", "weekly", "examples"):
            cluster[key] = json.loads(cluster[key]) if cluster[key] else []
        clusters.append(cluster)
    return clusters


def cluster_detail(workspace: Workspace, cluster_id: int, run_id: str | None = None) -> dict[str, Any] | None:
    """One mode of the run, with its examples expanded to {record_id, source_id, text}."""
    run_id = run_or_latest(workspace, run_id)
    found = _clusters(workspace, run_id, cluster_id) if run_id else []
    if not found:
        return None
    cluster = found[0]
    cluster["examples"] = example_texts(workspace, cluster["examples"], run_id)
    return cluster


def example_texts(workspace: Workspace, record_ids: list[str], run_id: str | None = None) -> list[dict[str, Any]]:
    """{record_id, source_id, text} for each record, in the given order; the text is what the run
    compared (request, response or both), so an example reads as what put it in its mode."""
    run_id = run_or_latest(workspace, run_id)
    if run_id is None or not record_ids:
        return []
    by_id = {row[0]: row[1:] for row in workspace.cursor().execute(f"""
        SELECT r.record_id, coalesce(r.source_id, r.record_id), {_text_expression(workspace, run_id)} FROM records r
        WHERE r.record_id IN (SELECT unnest(?::VARCHAR[]))""", [record_ids]).fetchall()}
    return [{"record_id": record_id, "source_id": by_id[record_id][0], "text": by_id[record_id][1]}
            for record_id in record_ids if record_id in by_id]


def unclustered_count(workspace: Workspace, run_id: str | None = None) -> int:
    """Records of the run no mode holds."""
    run_id = run_or_latest(workspace, run_id)
    if run_id is None:
        return 0
    return workspace.cursor().execute("SELECT count(*) FROM cluster_members WHERE run_id = ? AND cluster_id = ?",
                                      [run_id, NOISE]).fetchone()[0]


def member_source_ids(workspace: Workspace, run_id: str | None = None) -> dict[int, list[str]]:
    """Every mode's members, as the ids their source gave them (record ids where it gave none)."""
    run_id = run_or_latest(workspace, run_id)
    if run_id is None:
        return {}
    members: dict[int, list[str]] = {}
    for cluster_id, source_id in workspace.cursor().execute("""
            SELECT m.cluster_id, coalesce(r.source_id, r.record_id) FROM cluster_members m
            JOIN records r USING (record_id) WHERE m.run_id = ? ORDER BY m.cluster_id, r.ts, r.record_id""",
                                                            [run_id]).fetchall():
        members.setdefault(cluster_id, []).append(source_id)
    return members


def source_ids(workspace: Workspace, record_ids: list[str]) -> dict[str, str]:
    """record id -> the id its source gave (the record id where it gave none)."""
    rows = workspace.cursor().execute("""
        SELECT record_id, coalesce(source_id, record_id) FROM records WHERE record_id IN (SELECT unnest(?::VARCHAR[]))""",
                                      [record_ids]).fetchall()
    return dict(rows)


def map_points(workspace: Workspace, limit: int = 20_000, run_id: str | None = None) -> pl.DataFrame:
    """The run's placed points (record_id, x, y, cluster_id, cluster_name, text), at most `limit`.

    A run places at most cluster.MAP_SAMPLE points; `limit` thins further for a lighter page,
    with a fixed order so that the same points show on every rerun.
    """
    run_id = run_or_latest(workspace, run_id)
    empty = pl.DataFrame(schema={"record_id": pl.String, "x": pl.Float64, "y": pl.Float64, "cluster_id": pl.Int32,
                                 "cluster_name": pl.String, "text": pl.String})
    if run_id is None:
        return empty
    table = workspace.frame(f"""
        SELECT m.record_id, m.x, m.y, m.cluster_id, coalesce(n.name, c.name) AS cluster_name,
               {_text_expression(workspace, run_id)} AS text
        FROM cluster_members m JOIN records r USING (record_id)
        LEFT JOIN clusters c ON c.run_id = m.run_id AND c.cluster_id = m.cluster_id
        LEFT JOIN cluster_names n ON n.cluster_id = m.cluster_id
        WHERE m.run_id = ? AND m.x IS NOT NULL
        ORDER BY hash(m.record_id) LIMIT ?""", [run_id, limit])
    return table if table.height else empty


def rename_cluster(workspace: Workspace, cluster_id: int, name: str, renamed_by: str | None = None) -> None:
    """Give a mode a reviewer's name; it wins over automatic names in this and every later run."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("a failure mode's name cannot be empty")
    with workspace.transaction() as cursor:
        if cursor.execute("SELECT count(*) FROM clusters WHERE cluster_id = ?", [cluster_id]).fetchone()[0] == 0:
            raise ValueError(f"there is no failure mode {cluster_id}")
        cursor.execute("""
            INSERT INTO cluster_names (cluster_id, name, renamed_by, renamed_at) VALUES (?, ?, ?, now())
            ON CONFLICT (cluster_id) DO UPDATE SET name = excluded.name, renamed_by = excluded.renamed_by,
                                                   renamed_at = excluded.renamed_at""",
                       [cluster_id, name, renamed_by])
