"""One clustering run: failures -> vectors -> failure modes with names, numbers, history and a map.

Why the run is computed in memory and written in one transaction at the end: a run takes from
seconds to a minute, the app keeps reading the previous run meanwhile, and a run that fails half
way must leave that previous run as the latest, never a half-written one. The run row itself is
written first (status 'running') and marked 'failed' with the reason if anything goes wrong, so
the history says what happened.

The stages are in their own modules of this package: algorithms (reduce, cluster, attach, map),
kinds (what went wrong), merge (modes that are one problem), labels (keywords, names, examples),
rates (each mode's failure rate), identity (ids and trends across runs). Reading runs back is
views; nearest neighbours is similar.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from mining.cluster.algorithms import (ALGORITHMS, NOISE, Assignment, Neighbours, attach_noise, centroids,
                                       default_min_cluster_size, get_algorithm, map_coordinates, mode_reach,
                                       neighbour_graph)
from mining.cluster.identity import ClusterShape, Identity, match_clusters
from mining.cluster.kinds import Kinds, failure_kinds
from mining.cluster.labels import Label, central_examples, distinct_name, labels_for
from mining.cluster.merge import EXACT_BELOW, NOT_FAILED, Merged, Part, merge_modes, nearest_neighbours
from mining.cluster.merge_views import keep_apart_decisions
from mining.cluster.rates import ModeRate, mode_rates, wilson
from mining.cluster.recurrence import recurring
from mining.cluster.sample_fit import FIT_SAMPLE, MIN_FIT_SAMPLE, RowAssigner, assign_locally, fit_rows
from mining.common import Progress, plural
from mining.detect import failures_sql, signal_labels
from mining.embed import ChunkEncoder, EmbeddingSettings, embedding_settings, register_ids, text_sql, vectors_for
from mining.processes import this_process
from mining.store import Workspace

SCOPES = ("failures", "all")
MAP_SAMPLE = 20_000  # points placed on the 2-D map; the clustering itself always uses every point
RATE_SAMPLE = 20_000  # passing records embedded to estimate how many are of each mode's kind



class ClusteringError(Exception):
    """A run that cannot be done, with a message meant for a person."""


@dataclass(frozen=True)
class ClusterSettings:
    """The choices behind one run.

    algorithm: one of ALGORITHMS ('hdbscan', the default, or 'kmeans').
    scope: 'failures' (records any enabled signal flags) or 'all' records.
    attach_unclustered: put points no cluster claimed into the nearest cluster.
    min_cluster_size: the smallest group that counts as a mode; None chooses from the count.
    seed: fixes UMAP's randomness so a run can be repeated exactly; None runs UMAP in parallel.
    merge_similar: merge modes that are one problem (mining.cluster.merge); off shows every group
    the clusterer found.
    recurring_only: with scope 'failures', form modes from the failures that recur (mining.cluster
    .recurrence): one-offs join a mode only when they lie within it. Off clusters every failure.
    fit_sample: with more records than this, the modes are found on a fixed random sample of this
    many and the others placed in them (mining.cluster.sample_fit); None groups every record.
    """

    algorithm: str = "hdbscan"
    scope: str = "failures"
    attach_unclustered: bool = True
    min_cluster_size: int | None = None
    seed: int | None = None
    merge_similar: bool = True
    recurring_only: bool = True
    fit_sample: int | None = FIT_SAMPLE

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown clustering algorithm {self.algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
        if self.scope not in SCOPES:
            raise ValueError(f"unknown scope {self.scope!r}; choose one of {', '.join(SCOPES)}")
        if self.min_cluster_size is not None and self.min_cluster_size < 2:
            raise ValueError("min_cluster_size must be at least 2")
        if self.fit_sample is not None and self.fit_sample < MIN_FIT_SAMPLE:
            raise ValueError(f"fit_sample must be at least {MIN_FIT_SAMPLE} records")


@dataclass
class RunSummary:
    """What a run found, for the command line and the page's notice."""

    run_id: str
    points: int
    clusters: int
    unclustered: int
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    one_offs: int = 0  # of the unclustered: failures whose nearest calls mostly pass

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        trends = ", ".join(f"{count} {status}" for status, count in self.statuses.items() if count)
        return (f"{self.clusters} failure modes among {self.points:,} records"
                + (f" ({trends})" if trends else "")
                + (f", {self.unclustered:,} unclustered" if self.unclustered else "")
                + (f" ({plural(self.one_offs, 'one-off')}: their nearest calls mostly pass)"
                   if self.one_offs else "")
                + f", in {self.seconds:.1f} s")


def _scaled(progress: Progress, start: float, end: float) -> Progress:
    """A progress callback for one stage that moves the overall bar from `start` to `end`."""
    return lambda fraction, message: progress(start + (end - start) * fraction, message)


def _no_progress(fraction: float, message: str) -> None:
    """The progress callback used when the caller gives none."""


def scope_ids(workspace: Workspace, scope: str) -> list[str]:
    """The record ids a run clusters, in a fixed order."""
    source = failures_sql() if scope == "failures" else "SELECT record_id FROM records"
    rows = workspace.cursor().execute(f"SELECT record_id FROM ({source}) ORDER BY record_id").fetchall()
    return [row[0] for row in rows]


def _record_facts(workspace: Workspace, record_ids: list[str], text: str) -> dict[str, list]:
    """Text, time, failure flag, answer and signals of each record, in the order of `record_ids`."""
    cursor = workspace.cursor()
    try:
        register_ids(cursor, record_ids)
        table = cursor.sql(f"""
            SELECT {text_sql(text, 'r')} AS text, r.ts,
                   r.record_id IN ({failures_sql()}) AS failed, r.response_text AS answer,
                   coalesce((SELECT list(s.signal) FROM signals s WHERE s.record_id = r.record_id), []) AS fired
            FROM wanted w JOIN records r USING (record_id) ORDER BY w.position""").to_arrow_table()
    finally:
        cursor.close()
    return {name: table.column(name).to_pylist() for name in ("text", "ts", "failed", "answer", "fired")}


def _start_run(workspace: Workspace, run_id: str, settings: ClusterSettings, embedding: EmbeddingSettings) -> None:
    params = {**asdict(settings), "embedding": embedding.as_json()}
    with workspace.transaction() as cursor:
        cursor.execute("""INSERT INTO cluster_runs (run_id, started_at, algorithm, model_id, scope, params, status, owner)
                          VALUES (?, now(), ?, ?, ?, ?, 'running', ?)""",
                       [run_id, settings.algorithm, embedding.model_id, settings.scope, json.dumps(params),
                        this_process()])


def _fail_run(workspace: Workspace, run_id: str, message: str) -> None:
    with workspace.transaction() as cursor:
        cursor.execute("UPDATE cluster_runs SET status = 'failed', finished_at = now(), message = ? WHERE run_id = ?",
                       [message, run_id])


def previous_run_id(workspace: Workspace, model_id: str) -> str | None:
    """The latest finished run made with the same embedding model (other vectors cannot be compared)."""
    row = workspace.cursor().execute("""
        SELECT run_id FROM cluster_runs WHERE status = 'finished' AND model_id = ?
        ORDER BY finished_at DESC LIMIT 1""", [model_id]).fetchone()
    return row[0] if row else None


def _previous_shapes(workspace: Workspace, run_id: str | None) -> dict[int, ClusterShape]:
    """The live clusters of a previous run: centroid and member ids."""
    if run_id is None:
        return {}
    cursor = workspace.cursor()
    centres = cursor.execute("SELECT cluster_id, centroid FROM clusters WHERE run_id = ? AND status <> 'gone'",
                             [run_id]).fetchall()
    members: dict[int, set[str]] = {cluster_id: set() for cluster_id, _ in centres}
    for cluster_id, record_id in cursor.execute(
            "SELECT cluster_id, record_id FROM cluster_members WHERE run_id = ? AND cluster_id >= 0", [run_id]).fetchall():
        members.setdefault(cluster_id, set()).add(record_id)
    return {cluster_id: ClusterShape(np.asarray(centre, dtype=np.float32), frozenset(members[cluster_id]))
            for cluster_id, centre in centres}


def _next_cluster_id(workspace: Workspace) -> int:
    """One more than any cluster id ever given, so an id is never reused for another mode."""
    row = workspace.cursor().execute("""
        SELECT greatest((SELECT max(cluster_id) FROM clusters), (SELECT max(cluster_id) FROM cluster_names))""").fetchone()
    return 0 if row[0] is None else int(row[0]) + 1


def _passing_sample(workspace: Workspace, embedding: EmbeddingSettings, seed: int, progress: Progress,
                    encoder: ChunkEncoder | None) -> tuple[np.ndarray, int]:
    """Vectors of a fixed random sample of at most RATE_SAMPLE passing records with text, and how
    many passing records have text: what each mode's rate is estimated against (mining.cluster.rates)."""
    rows = workspace.cursor().execute(f"""
        SELECT record_id, count(*) OVER () FROM records
        WHERE record_id NOT IN ({failures_sql()}) AND {text_sql(embedding.text, 'records')} IS NOT NULL
        ORDER BY hash(record_id || ?::VARCHAR) LIMIT ?""", [seed, RATE_SAMPLE]).fetchall()
    passing, total = [row[0] for row in rows], (rows[0][1] if rows else 0)
    if not passing:
        return np.zeros((0, 0), dtype=np.float32), 0
    return vectors_for(workspace, passing, embedding, progress, encoder).matrix, total


def _members_rate(failed: np.ndarray) -> ModeRate:
    """A mode's rate when passing calls were clustered too: the share of its members that failed."""
    low, high = wilson(float(failed.sum()), float(len(failed)))
    return ModeRate(float(failed.mean()), low, high, float((~failed).sum()))


def _map_rows(count: int, seed: int) -> np.ndarray:
    """Which points get map coordinates: all of them, or a fixed random MAP_SAMPLE."""
    if count <= MAP_SAMPLE:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=MAP_SAMPLE, replace=False))


def run_clustering(workspace: Workspace, settings: ClusterSettings | None = None,
                   embedding: EmbeddingSettings | None = None, progress: Progress | None = None,
                   encoder: ChunkEncoder | None = None, assigner: RowAssigner | None = None) -> RunSummary:
    """Embed what is not cached yet, cluster, name, match to the last run, and store the run.

    `embedding` defaults to the workspace's embedding settings. `encoder` and `assigner` say where
    texts are embedded and records beyond the fitted sample placed (default: this process;
    mining.scale.ray_engine: a Ray cluster), with the same results. Raises ClusteringError when
    there is nothing to cluster; any failure marks the run failed and keeps the previous run current.
    """
    settings = settings or ClusterSettings()
    embedding = embedding or embedding_settings(workspace)
    progress = progress or _no_progress
    started = time.perf_counter()
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    _start_run(workspace, run_id, settings, embedding)
    try:
        summary = _compute_and_store(workspace, run_id, settings, embedding, progress, encoder, assigner)
    except Exception as exc:
        _fail_run(workspace, run_id, str(exc) or type(exc).__name__)
        raise
    summary.seconds = round(time.perf_counter() - started, 2)
    with workspace.transaction() as cursor:
        cursor.execute("UPDATE cluster_runs SET message = ? WHERE run_id = ?", [summary.describe(), run_id])
    progress(1.0, summary.describe())
    return summary


def _compute_and_store(workspace: Workspace, run_id: str, settings: ClusterSettings, embedding: EmbeddingSettings,
                       progress: Progress, encoder: ChunkEncoder | None, assigner: RowAssigner | None) -> RunSummary:
    progress(0.0, "finding the records to cluster")
    record_ids = scope_ids(workspace, settings.scope)
    if not record_ids:
        raise ClusteringError("no failures to cluster: no enabled signal flags any record (see the Failures page), "
                              "or cluster all records" if settings.scope == "failures" else "the workspace has no records")
    vectors = vectors_for(workspace, record_ids, embedding, _scaled(progress, 0.0, 0.45), encoder)
    record_ids, matrix = vectors.record_ids, vectors.matrix
    if len(record_ids) < 2:
        raise ClusteringError(f"only {len(record_ids)} record in scope has text to compare; clustering needs more")
    facts = _record_facts(workspace, record_ids, embedding.text)
    texts = facts["text"]
    seed = 0 if settings.seed is None else settings.seed
    fit = fit_rows(len(record_ids), settings.fit_sample, seed)
    sampled = len(fit) < len(record_ids)
    min_size = settings.min_cluster_size or default_min_cluster_size(len(fit))
    passing, passing_total = np.zeros((0, 0), dtype=np.float32), 0
    if settings.scope == "failures":
        passing, passing_total = _passing_sample(workspace, embedding, seed, _scaled(progress, 0.45, 0.5), encoder)
    fitted = matrix[fit] if sampled else matrix
    one_off = np.zeros(len(fitted), dtype=bool)
    if settings.scope == "failures" and settings.recurring_only:
        progress(0.5, "telling recurring failures from one-offs")
        one_off = ~recurring(fitted, passing, seed)
    progress(0.52, f"grouping {int(np.sum(~one_off)):,} records ({settings.algorithm})"
             + (f", of a sample of {len(fit):,} out of {len(record_ids):,}" if sampled else ""))
    grouped = np.flatnonzero(~one_off)
    neighbours = neighbour_graph(fitted[grouped], settings.seed)
    assignment = _group(fitted, grouped, min_size, settings, neighbours)
    graph = _lifted(neighbours[0], grouped, len(fitted))
    if settings.attach_unclustered:
        assignment = attach_noise(fitted, assignment)
    failed = np.asarray(facts["failed"], dtype=bool)
    progress(0.6, "sorting the failures into kinds")
    failed_rows = np.flatnonzero(failed)
    kinds = failure_kinds([facts["answer"][row] for row in failed_rows],
                          [frozenset(facts["fired"][row]) for row in failed_rows], signal_labels(workspace))
    row_kinds = np.full(len(record_ids), NOT_FAILED, dtype=np.int64)
    row_kinds[failed_rows] = kinds.labels
    labels, parts = assignment.labels, {}
    if settings.merge_similar:
        progress(0.62, "merging modes that are one problem")
        merged = _merge(workspace, fitted, assignment.labels, row_kinds[fit], graph)
        labels, parts = merged.labels, merged.parts
    fit_texts = [texts[row] for row in fit] if sampled else texts
    part_words = labels_for(fit_texts, assignment.labels) if parts else {}
    probabilities = assignment.probabilities
    if sampled:
        progress(0.63, f"placing the other {len(record_ids) - len(fit):,} records in the modes")
        labels, probabilities, one_off = _place_the_rest(matrix, fit, labels, probabilities, one_off,
                                                         assigner or assign_locally)
    progress(0.65, "naming the failure modes")
    centres = centroids(matrix, labels)
    words = labels_for(texts, labels)
    if settings.scope == "failures":
        progress(0.75, "estimating each mode's failure rate")
        rates = mode_rates(matrix, labels, centres, passing, passing_total / max(len(passing), 1))
        overall = len(record_ids) / max(len(record_ids) + passing_total, 1)
    else:  # every call is clustered: a mode's rate is its members' own
        rates = {label: _members_rate(failed[labels == label]) for label in centres}
        overall = float(failed.mean())
    progress(0.8, "matching to the previous run")
    previous = previous_run_id(workspace, embedding.model_id)
    ids = np.asarray(record_ids)
    shapes = {label: ClusterShape(centre, frozenset(ids[labels == label].tolist())) for label, centre in centres.items()}
    identities, gone = match_clusters(shapes, _previous_shapes(workspace, previous), _next_cluster_id(workspace))
    progress(0.85, "drawing the map")
    shown = _map_rows(len(record_ids), seed)
    coordinates = np.full((len(record_ids), 2), np.nan)
    coordinates[shown] = map_coordinates(matrix[shown], settings.seed,
                                         neighbours if len(shown) == len(grouped) == len(record_ids) else None)
    member_ids = np.array([identities[int(label)].cluster_id if label != NOISE else NOISE for label in labels])
    rows = []
    for label, centre in centres.items():
        members = labels == label
        failures = int(np.sum(members & failed))
        rate = rates[label].rate
        rows.append({
            "cluster_id": identities[label].cluster_id, "keywords": words[label].keywords, "name": words[label].name,
            "size": int(members.sum()), "failures": failures, "failure_rate": rate,
            "failure_rate_low": rates[label].low, "failure_rate_high": rates[label].high,
            "lift": rate / overall if overall > 0 else None, "status": identities[label].status,
            "examples": [record_ids[row] for row in central_examples(matrix, labels, texts, centre, label)],
            "centroid": centre.tolist(), "previous_id": identities[label].previous_id,
        })
    _settle_names(workspace, previous, rows)
    part_rows = _part_rows(parts, part_words, identities)
    progress(0.95, "saving the run")
    _store_run(workspace, run_id, previous, ids, member_ids, coordinates, probabilities, rows, gone,
               (ids[failed_rows], kinds), part_rows)
    statuses = {status: sum(1 for row in rows if row["status"] == status)
                for status in ("new", "growing", "shrinking", "stable")}
    statuses["gone"] = len(gone)
    return RunSummary(run_id, len(record_ids), len(rows), int(np.sum(labels == NOISE)), statuses,
                      one_offs=int(np.sum(one_off & (labels == NOISE))))


def _group(matrix: np.ndarray, grouped: np.ndarray, min_size: int, settings: ClusterSettings,
           neighbours: Neighbours) -> Assignment:
    """The clusterer's assignment of every row, fitted on the `grouped` rows (`neighbours` is their
    graph); the other rows, one-offs, stay noise."""
    found = get_algorithm(settings.algorithm).fit(matrix[grouped], min_size, settings.seed, neighbours)
    if len(grouped) == len(matrix):
        return found
    labels = np.full(len(matrix), NOISE, dtype=np.int64)
    probabilities = np.zeros(len(matrix))
    labels[grouped], probabilities[grouped] = found.labels, found.probabilities
    return Assignment(labels, probabilities)


def _lifted(graph: np.ndarray | None, grouped: np.ndarray, count: int) -> np.ndarray | None:
    """The neighbour graph of the grouped rows in the numbering of all `count` rows; a one-off row
    has no neighbours (-1), so one graph search serves the clusterer and the merging."""
    if graph is None or len(grouped) == count:
        return graph
    lifted = np.full((count, graph.shape[1]), -1, dtype=np.int64)
    lifted[grouped] = np.where(graph >= 0, grouped[np.maximum(graph, 0)], -1)
    return lifted


def _part_rows(parts: dict[int, list[Part]], words: dict[int, Label],
               identities: dict[int, Identity]) -> list[list[Any]]:
    """mode_parts rows: each merged mode's parts, named as the clusterer found them (two parts with
    the same top keywords get told apart, as modes are)."""
    rows = []
    for label, found in parts.items():
        taken: set[str] = set()
        for number, part in enumerate(found):
            name = distinct_name(words[part.label].name, words[part.label].keywords, taken, part.label)
            taken.add(name.lower())
            rows.append([identities[label].cluster_id, number, name, part.size, part.similarity, part.reason,
                         part.centroid.tolist()])
    return rows


def _merge(workspace: Workspace, matrix: np.ndarray, labels: np.ndarray, row_kinds: np.ndarray,
           graph: np.ndarray | None) -> Merged:
    """The run's modes with those that are one problem merged, reviewers' keep-apart decisions kept
    (`row_kinds`: each row's failure kind, NOT_FAILED for a passing call)."""
    if graph is None and len(matrix) > EXACT_BELOW:  # most failures were one-offs: too few grouped for a graph
        graph = neighbour_graph(matrix)[0]
    return merge_modes(matrix, labels, row_kinds, nearest_neighbours(matrix, graph),
                       keep_apart=keep_apart_decisions(workspace))


def _place_the_rest(matrix: np.ndarray, fit: np.ndarray, labels: np.ndarray, probabilities: np.ndarray,
                    one_off: np.ndarray, assigner: RowAssigner) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, probabilities and one-off flags for every row, from those of the `fit` rows: each other
    row goes to the mode that reaches it (mining.cluster.sample_fit), with probability 0, as an
    attached row; it is not a one-off, since it was never compared with its neighbours."""
    count = len(matrix)
    rest = np.setdiff1d(np.arange(count), fit, assume_unique=True)
    all_labels = np.full(count, NOISE, dtype=np.int64)
    all_probabilities = np.zeros(count)
    all_one_off = np.zeros(count, dtype=bool)
    all_labels[fit], all_probabilities[fit], all_one_off[fit] = labels, probabilities, one_off
    rule = mode_reach(matrix[fit], labels)
    if rule is not None:
        all_labels[rest] = assigner(matrix[rest], rule)
    return all_labels, all_probabilities, all_one_off


def _settle_names(workspace: Workspace, previous: str | None, rows: list[dict[str, Any]]) -> None:
    """A matched mode keeps the previous run's name (and a model's summary of it); a new mode gets a
    name no other mode has.

    Keeping names stops them drifting week to week as keywords shift. Two modes that share their
    top keywords (one request phrased two ways, say) would otherwise show the same name twice.
    """
    found = workspace.cursor().execute("SELECT cluster_id, name, summary, named_by FROM clusters WHERE run_id = ?",
                                       [previous]).fetchall() if previous else []
    kept = {cluster_id: rest for cluster_id, *rest in found}
    for row in rows:
        row["summary"] = row["named_by"] = None
        if row["previous_id"] is not None and row["previous_id"] in kept and kept[row["previous_id"]][0]:
            row["name"], row["summary"], row["named_by"] = kept[row["previous_id"]]
    taken = {row["name"].lower() for row in rows if row["previous_id"] is not None}
    for row in sorted(rows, key=lambda row: -row["size"]):
        if row["previous_id"] is None:
            row["name"] = distinct_name(row["name"], row["keywords"], taken, row["cluster_id"])
            taken.add(row["name"].lower())


def _store_kinds(cursor: duckdb.DuckDBPyConnection, run_id: str, failure_ids: np.ndarray, kinds: Kinds) -> None:
    """The run's failure kinds and the kind of each of its failures."""
    members = pa.table({"record_id": pa.array(failure_ids.tolist(), pa.string()),
                        "kind_id": pa.array(kinds.labels.tolist(), pa.int32())})
    cursor.register("new_kind_members", members)
    cursor.execute("INSERT INTO kind_members SELECT ?, record_id, kind_id FROM new_kind_members", [run_id])
    cursor.unregister("new_kind_members")
    cursor.executemany("""INSERT INTO failure_kinds (run_id, kind_id, name, signals, basis, size, example)
                              VALUES (?, ?, ?, ?, ?, ?, ?)""",
                       [[run_id, kind_id, kind.name, json.dumps(list(kind.signals)), kind.basis, kind.size,
                         str(failure_ids[kind.example])] for kind_id, kind in kinds.kinds.items()])


def _store_run(workspace: Workspace, run_id: str, previous: str | None, record_ids: np.ndarray,
               member_ids: np.ndarray, coordinates: np.ndarray, probabilities: np.ndarray,
               rows: list[dict[str, Any]], gone: list[int], kinds: tuple[np.ndarray, Kinds],
               part_rows: list[list[Any]]) -> None:
    """Members, clusters (with dates and weekly counts from SQL), failure kinds (`kinds`: the
    failures' record ids and their kinds), the parts of merged modes and the finished run, atomically.

    A mode that disappeared is kept in this run as 'gone', with size 0, so it is seen going.
    """
    members = pa.table({
        "record_id": pa.array(record_ids.tolist(), pa.string()),
        "cluster_id": pa.array(member_ids.tolist(), pa.int32()),
        "x": pa.array(coordinates[:, 0], pa.float64(), from_pandas=True),
        "y": pa.array(coordinates[:, 1], pa.float64(), from_pandas=True),
        "probability": pa.array(probabilities, pa.float64()),
    })
    with workspace.transaction() as cursor:
        cursor.register("new_members", members)
        cursor.execute("""INSERT INTO cluster_members
                          SELECT ?, record_id, cluster_id, nullif(x, 'NaN'::DOUBLE), nullif(y, 'NaN'::DOUBLE),
                                 probability FROM new_members""", [run_id])
        cursor.unregister("new_members")
        for row in rows:
            cursor.execute("""
                INSERT INTO clusters (run_id, cluster_id, name, keywords, size, failures, failure_rate, lift,
                                      status, examples, centroid, failure_rate_low, failure_rate_high, summary,
                                      named_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [run_id, row["cluster_id"], row["name"], json.dumps(row["keywords"]), row["size"], row["failures"],
                 row["failure_rate"], row["lift"], row["status"], json.dumps(row["examples"]), row["centroid"],
                 row["failure_rate_low"], row["failure_rate_high"], row["summary"], row["named_by"]])
        for cluster_id in gone:
            cursor.execute("""
                INSERT INTO clusters (run_id, cluster_id, name, keywords, size, failures, failure_rate, lift,
                                      first_seen, last_seen, weekly, status, examples, centroid)
                SELECT ?, cluster_id, name, keywords, 0, 0, NULL, NULL, first_seen, last_seen, weekly, 'gone',
                       examples, centroid
                FROM clusters WHERE run_id = ? AND cluster_id = ?""", [run_id, previous, cluster_id])
        cursor.execute("""
            WITH dated AS (
                SELECT m.cluster_id, r.ts FROM cluster_members m JOIN records r USING (record_id)
                WHERE m.run_id = ? AND m.cluster_id >= 0 AND r.ts IS NOT NULL),
            weeks AS (
                SELECT cluster_id, strftime(ts, '%G-W%V') AS week, count(*) AS n FROM dated GROUP BY ALL),
            spans AS (SELECT cluster_id, min(ts) AS first_seen, max(ts) AS last_seen FROM dated GROUP BY cluster_id),
            series AS (
                SELECT cluster_id, to_json(list({'week': week, 'count': n} ORDER BY week)) AS weekly
                FROM weeks GROUP BY cluster_id)
            UPDATE clusters c SET first_seen = spans.first_seen, last_seen = spans.last_seen, weekly = series.weekly
            FROM spans JOIN series USING (cluster_id)
            WHERE c.run_id = ? AND c.cluster_id = spans.cluster_id""", [run_id, run_id])
        _store_kinds(cursor, run_id, *kinds)
        if part_rows:
            cursor.executemany("""INSERT INTO mode_parts (run_id, cluster_id, part, name, size, similarity, reason,
                                                          centroid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                               [[run_id, *row] for row in part_rows])
        cursor.execute("""UPDATE cluster_runs SET status = 'finished', finished_at = now(), n_points = ?
                          WHERE run_id = ?""", [len(record_ids), run_id])

