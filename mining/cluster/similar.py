"""'Have we seen this before?': the failures nearest to a record or to a free-text query.

Why brute force over the cached vectors: the latest run's points are at most a few hundred
thousand 384-dim vectors (150 MB at 100k), and one matrix product over them takes milliseconds;
an approximate index would add a dependency and a build step for no visible gain. The matrix is
loaded once per run and kept while that run is the latest.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
import polars as pl

from mining.cluster.views import NOISE, latest_run
from mining.embed import EmbeddingSettings, embed_query, text_sql, vectors_for
from mining.store import Workspace

COLUMNS = {"record_id": pl.String, "source_id": pl.String, "similarity": pl.Float64, "text": pl.String,
           "cluster_id": pl.Int32, "cluster_name": pl.String}


class _Candidates(NamedTuple):
    run_id: str
    settings: EmbeddingSettings
    record_ids: list[str]
    matrix: np.ndarray


_loaded: dict[str, _Candidates] = {}
_lock = threading.Lock()


def _candidates(workspace: Workspace) -> _Candidates | None:
    """The latest run's records and their vectors, loaded once per run and workspace."""
    run = latest_run(workspace)
    if run is None:
        return None
    key = str(workspace.path)
    with _lock:
        cached = _loaded.get(key)
        if cached is not None and cached.run_id == run["run_id"]:
            return cached
    settings = EmbeddingSettings(**run["params"].get("embedding", {}))
    record_ids = [row[0] for row in workspace.cursor().execute(
        "SELECT record_id FROM cluster_members WHERE run_id = ? ORDER BY record_id", [run["run_id"]]).fetchall()]
    vectors = vectors_for(workspace, record_ids, settings)
    loaded = _Candidates(run["run_id"], settings, vectors.record_ids, vectors.matrix)
    with _lock:
        _loaded[key] = loaded
    return loaded


def similar_records(workspace: Workspace, record_id: str | None = None, query: str | None = None,
                    k: int = 10) -> pl.DataFrame:
    """The `k` records of the latest run most similar to `record_id`'s text or to `query`.

    Columns: record_id, source_id, similarity (cosine), text, cluster_id, cluster_name. The record
    itself is left out of its own neighbours. Empty when no run exists or the record has no text.
    """
    if (record_id is None) == (query is None):
        raise ValueError("give either a record id or a query")
    candidates = _candidates(workspace)
    if candidates is None:
        return pl.DataFrame(schema=COLUMNS)
    if query is not None:
        target = embed_query(query, candidates.settings)
    else:
        found = vectors_for(workspace, [record_id], candidates.settings)
        if not found.record_ids:
            return pl.DataFrame(schema=COLUMNS)
        target = found.matrix[0]
    similarity = candidates.matrix @ target
    order = np.argsort(-similarity, kind="stable")
    chosen = [int(row) for row in order if candidates.record_ids[row] != record_id][:k]
    return _describe(workspace, candidates, [candidates.record_ids[row] for row in chosen],
                     [float(similarity[row]) for row in chosen])


def _describe(workspace: Workspace, candidates: _Candidates, record_ids: list[str],
              similarities: list[float]) -> pl.DataFrame:
    """The neighbours with their source id, text and failure mode, in the order given."""
    if not record_ids:
        return pl.DataFrame(schema=COLUMNS)
    found = pl.DataFrame({"record_id": record_ids, "similarity": similarities, "position": range(len(record_ids))})
    cursor = workspace.cursor()
    cursor.register("neighbours", found.to_arrow())
    try:
        table = cursor.sql(f"""
            SELECT f.record_id, coalesce(r.source_id, r.record_id) AS source_id, f.similarity,
                   {text_sql(candidates.settings.text, 'r')} AS text,
                   nullif(m.cluster_id, {NOISE}) AS cluster_id, coalesce(n.name, c.name) AS cluster_name
            FROM neighbours f JOIN records r USING (record_id)
            LEFT JOIN cluster_members m ON m.run_id = ? AND m.record_id = f.record_id
            LEFT JOIN clusters c ON c.run_id = m.run_id AND c.cluster_id = m.cluster_id
            LEFT JOIN cluster_names n ON n.cluster_id = m.cluster_id
            ORDER BY f.position""", params=[candidates.run_id]).pl()
    finally:
        cursor.close()
    return table.cast({"cluster_id": pl.Int32})
