"""How far the packaged vectors let any clustering and any rate estimate go, on a benchmark log.

Run by hand: `python bench/bounds.py [DATA] [--name clinc150|banking77]` (DATA as for
bench/cluster_quality.py). Every figure here is given the truth that a clustering never has, so
each one is an upper bound (or, for rates, a floor on the error) for methods of its kind, on the
very vectors Faultline and BERTopic cluster:

- oracle ball: per failing intent, the best F1 of any cut of the failures ranked by cosine to the
  intent's own centroid (what a mode shaped as a ball around its centre could reach at best);
- 1-NN, leave one out: each failure labelled with its nearest other failure's intent (failing
  intent or "other"), F1 per failing intent (how often a failure's nearest neighbour is of its kind);
- supervised: logistic regression trained on the labels, 10-fold, F1 per failing intent (what the
  vectors allow with labels, which a clusterer does not have);
- rates with true modes: mining/cluster/rates.py given each failing intent's failures as its mode,
  and the error of the rate it estimates against the intent's true rate.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from cluster_quality import ROOT, Bench


def oracle_ball(matrix: np.ndarray, truth: np.ndarray, intent: str) -> float:
    """The best F1 of a ball around the intent's own centroid."""
    wanted = truth == intent
    centre = matrix[wanted].mean(axis=0)
    order = np.argsort(-(matrix @ (centre / np.linalg.norm(centre))))
    found = np.cumsum(wanted[order])
    return float(np.max(2 * found / (np.arange(1, len(order) + 1) + wanted.sum())))


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import cross_val_predict

    from mining.cluster.algorithms import centroids
    from mining.cluster.rates import mode_rates

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(ROOT.parent / "shared" / "benchmarks"))
    parser.add_argument("--name", default="clinc150")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench = Bench(Path(args.data), Path(folder), args.name)
    matrix, failing = bench.matrix.astype(np.float64), bench.failing_intents
    truth = np.asarray(bench.intents)
    labelled = np.where(np.isin(truth, failing), truth, "other")
    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = labelled[np.argmax(similarity, axis=1)]
    predicted = cross_val_predict(LogisticRegression(C=10, max_iter=2000), matrix, labelled, cv=10)
    modes = np.array([failing.index(intent) if intent in failing else -1 for intent in truth])
    rates = mode_rates(matrix, modes, centroids(matrix, modes), bench.passing_matrix, 1.0)
    rows = {intent: (oracle_ball(matrix, truth, intent), 100 * (rates[number].rate - bench.true_rate[intent]))
            for number, intent in enumerate(failing)}
    nn_f1 = f1_score(labelled, nearest, labels=failing, average=None)
    supervised_f1 = f1_score(labelled, predicted, labels=failing, average=None)
    print(f"{args.name}: {len(matrix)} failures, {len(bench.passing_matrix)} passing calls\n")
    print("| intent | oracle ball F1 | 1-NN F1 | supervised F1 | rate error with the true mode |")
    print("|---|---:|---:|---:|---:|")
    for number, (intent, (ball, error)) in enumerate(rows.items()):
        print(f"| {intent} | {ball:.2f} | {nn_f1[number]:.2f} | {supervised_f1[number]:.2f} | {error:+.1f} points |")
    errors = [abs(error) for _, error in rows.values()]
    print(f"| **mean** | **{np.mean([ball for ball, _ in rows.values()]):.3f}** | **{nn_f1.mean():.3f}** "
          f"| **{supervised_f1.mean():.3f}** | **{np.mean(errors):.1f} points** ({sum(e <= 10 for e in errors)} of "
          f"{len(errors)} within 10) |")


if __name__ == "__main__":
    main()
