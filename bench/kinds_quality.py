"""Failure-kind benchmark: do Faultline's failure kinds find the wrong answers that cut across modes?

Run by hand: `python bench/kinds_quality.py [DATA] [--name clinc150|banking77] [--seeds 0 1 2]`,
with BERTopic from bench/requirements.txt. DATA holds NAME_openai.jsonl and NAME_truth.json
(default ../shared/benchmarks, clinc150; banking77: see bench/banking77.py).

In both logs every failing call got one of four wrong answers, whatever was asked (CLINC150: "According
to my records, the answer is N.", a false "completed successfully", an error apology, "I can't do
that right now"; Banking77: a refusal, a made-up delivery guarantee, a made-up hotline, a false "no
fee"). The truth of a failure's kind is its answer with numbers masked. Side by side on the same
failures, per seed:
  Faultline   run_clustering(ClusterSettings(seed=s)) in a fresh copy of the warm workspace: its
              failure kinds (mining/cluster/kinds.py: signals first, then the answers' words);
  BERTopic    BERTopic() defaults on the failures' answers, embedded with the packaged
              all-MiniLM-L6-v2 (the same model Faultline embeds requests with), UMAP random_state=s.
Scores: for each true answer the best F1 of one kind (or topic); recovered = F1 >= 0.6; mean F1;
how many kinds (topics) were found; the share of failures in no kind ("Other" / outliers).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster_quality import ROOT, Bench, load, local_sentence_transformer  # noqa: E402

RECOVERED_F1 = 0.6
DIGITS = re.compile(r"\d+")


def answers(bench: Bench) -> list[str]:
    """Each failure's answer, in bench order."""
    from mining.store import Workspace

    workspace = Workspace.open(bench.template)
    rows = dict(workspace.cursor().execute("SELECT record_id, coalesce(response_text, '') FROM records").fetchall())
    Workspace.close_all()
    return [rows[record_id] for record_id in bench.record_ids]


def score(truth: list[str], found: list[int], none: int) -> dict[str, Any]:
    """Best F1 per true answer, recovered, mean F1, the number of groups and the share in none."""
    truth_array, found_array = np.asarray(truth), np.asarray(found)
    groups = [label for label in np.unique(found_array) if label != none]
    best = {}
    for answer in sorted(set(truth)):
        wanted = truth_array == answer
        best[answer] = float(max((2 * np.sum(wanted & (found_array == label)) / (wanted.sum() + np.sum(found_array == label))
                                  for label in groups), default=0.0))
    return {"f1": best, "recovered": sum(f1 >= RECOVERED_F1 for f1 in best.values()),
            "mean_f1": float(np.mean(list(best.values()))), "groups": len(groups),
            "in_none": float(np.mean(found_array == none))}


def run_faultline(bench: Bench, seed: int) -> tuple[list[int], float]:
    from mining.cluster import ClusterSettings, run_clustering
    from mining.cluster.kinds import OTHER
    from mining.store import Workspace

    workspace = bench.fresh_workspace(f"kinds-{seed}-{time.monotonic_ns()}")
    started = time.perf_counter()
    run_clustering(workspace, ClusterSettings(seed=seed), bench.embedding)
    seconds = time.perf_counter() - started
    kind_of = dict(workspace.cursor().execute("""SELECT record_id, kind_id FROM kind_members
        WHERE run_id = (SELECT run_id FROM cluster_runs WHERE status = 'finished' ORDER BY finished_at DESC LIMIT 1)
        """).fetchall())
    Workspace.close_all()
    return [kind_of.get(record_id, OTHER) for record_id in bench.record_ids], seconds


def run_bertopic(texts: list[str], vectors: np.ndarray, seed: int, model: Any) -> tuple[list[int], float]:
    from bertopic import BERTopic
    from umap import UMAP

    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False,
                      random_state=seed)
    topic_model = BERTopic(embedding_model=model, umap_model=umap_model)
    started = time.perf_counter()
    topics, _ = topic_model.fit_transform(texts, embeddings=vectors)
    return [int(topic) for topic in topics], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(ROOT.parent / "shared" / "benchmarks"))
    parser.add_argument("--name", default="clinc150")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    from mining.cluster.kinds import OTHER
    from mining.embed.vectors import encode

    with tempfile.TemporaryDirectory() as folder:
        bench = Bench(Path(args.data), Path(folder), args.name)
        texts = answers(bench)
        truth = [DIGITS.sub("N", text) for text in texts]
        vectors = encode(texts, bench.embedding)
        model = local_sentence_transformer()
        print(f"{len(texts)} failures, {len(set(truth))} distinct wrong answers; 2 cores, load {load()}", file=sys.stderr)
        run_bertopic(texts, vectors, args.seeds[0], model)  # untimed: numba compiles UMAP once
        rows = []
        for seed in args.seeds:
            kinds, kind_seconds = run_faultline(bench, seed)
            topics, topic_seconds = run_bertopic(texts, vectors, seed, model)
            rows.append({"Faultline kinds": {**score(truth, kinds, OTHER), "seconds": kind_seconds},
                         "BERTopic on the answers": {**score(truth, topics, -1), "seconds": topic_seconds}})
            for name, result in rows[-1].items():
                print(f"seed {seed} {name}: {result['recovered']}/{len(set(truth))}, mean F1 {result['mean_f1']:.3f}, "
                      f"{result['groups']} groups, {100 * result['in_none']:.1f}% in none", file=sys.stderr)
    print(f"{args.name}: seeds {args.seeds}, load at the end {load()}\n")
    print("| pipeline | recovered | mean F1 | groups | in no group |")
    print("|---|---:|---:|---:|---:|")
    for name in rows[0]:
        get = lambda key: [row[name][key] for row in rows]  # noqa: E731
        print(f"| {name} | {statistics.mean(get('recovered')):.1f} of {len(set(truth))} "
              f"| {statistics.mean(get('mean_f1')):.3f} ({min(get('mean_f1')):.3f}-{max(get('mean_f1')):.3f}) "
              f"| {statistics.mean(get('groups')):.1f} | {100 * statistics.mean(get('in_none')):.1f}% |")
    print("\n| wrong answer | " + " | ".join(rows[0]) + " |")
    print("|---|" + "---:|" * len(rows[0]))
    for answer in sorted(set(truth)):
        print(f"| {answer[:60]} | " + " | ".join(f"{statistics.mean(row[name]['f1'][answer] for row in rows):.2f}"
                                               for name in rows[0]) + " |")


if __name__ == "__main__":
    main()
