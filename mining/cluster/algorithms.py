"""The stages that turn embedding vectors into groups: reduce, then cluster, then (optionally) attach.

Why stages, as BERTopic has them: each can be swapped without touching the rest of the pipeline
(names, statistics, identity across runs only ever see labels). Sentence vectors have 384
dimensions, where density-based clustering sees every point as equally far from every other;
UMAP down to a handful of dimensions keeps the neighbourhoods and makes density meaningful again,
so HDBSCAN runs on the reduced vectors. The 2-D map is a separate, display-only reduction
(`map_coordinates`), computed for a sample when there are many points.

Algorithms (`ALGORITHMS`):
  hdbscan  UMAP to 5-D, then HDBSCAN: finds how many modes there are, leaves outliers as noise.
  kmeans   k-means on the vectors, k chosen by silhouette: every point lands in a mode.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

NOISE = -1
REDUCED_DIMENSIONS = 5
NEIGHBOURS = 15
EXACT_NEIGHBOURS_BELOW = 4096  # UMAP's own threshold for exact neighbour search
LARGE = 5_000  # above this many points UMAP runs in its faster mode (see _umap)
SILHOUETTE_SAMPLE = 4000  # points scored per candidate k: choosing k, never clustering, is sampled

Neighbours = tuple  # (indices, distances, None), as UMAP's precomputed_knn takes them


@dataclass(frozen=True)
class Assignment:
    """Labels per point (NOISE for outliers) and how surely each point belongs (0..1)."""

    labels: np.ndarray  # int64, shape (n,)
    probabilities: np.ndarray  # float64, shape (n,)


class Algorithm(Protocol):
    """Groups unit-length vectors; `min_cluster_size` is the smallest group worth naming."""

    def fit(self, vectors: np.ndarray, min_cluster_size: int, seed: int | None,
            neighbours: Neighbours | None = None) -> Assignment: ...


def default_min_cluster_size(points: int) -> int:
    """Half a percent of the points, at least 10 and at most 50.

    A failure mode is something that recurs: ten alike failures in a small workspace, a few dozen
    in a big one. Smaller groups are noise a reviewer cannot act on, and on the CLINC150 benchmark
    smaller minimums split one intent into several clusters (bench/README.md).
    """
    return int(min(50, max(10, round(points * 0.005))))


def _quiet_numba() -> None:
    """UMAP's first use compiles with numba and warns about things that are not the user's concern."""
    warnings.filterwarnings("ignore", module="umap")
    warnings.filterwarnings("ignore", category=FutureWarning, module="sklearn")
    os.environ.setdefault("NUMBA_NUM_THREADS", str(os.cpu_count() or 1))


def reduce(vectors: np.ndarray, dimensions: int = REDUCED_DIMENSIONS, seed: int | None = None,
           neighbours: Neighbours | None = None) -> np.ndarray:
    """UMAP (cosine, 15 neighbours, min_dist 0: tight clumps) down to `dimensions`.

    `neighbours` (from `neighbour_graph` of the same vectors) saves the neighbour search when the
    caller already has it. With too few points for UMAP, the vectors are returned as they are.
    """
    if len(vectors) <= max(dimensions + 2, NEIGHBOURS):
        return vectors.astype(np.float64)
    return _umap(vectors, dimensions, 0.0, seed, neighbours, full_epochs=len(vectors) <= LARGE)


def _umap(vectors: np.ndarray, dimensions: int, min_dist: float, seed: int | None,
          neighbours: Neighbours | None, full_epochs: bool) -> np.ndarray:
    """UMAP sized for two cores.

    Above LARGE points it starts from PCA instead of a spectral layout (which cost ~40 s at 100k
    points). Without `full_epochs` it runs `_epochs(points)` instead of UMAP's 500: the
    clustering asks for all 500 only below LARGE points, where they are cheap and were worth 0.006
    mean F1 on the 349 CLINC150 failures; the map never needs them.
    """
    _quiet_numba()
    import umap

    reducer = umap.UMAP(n_components=dimensions, n_neighbors=NEIGHBOURS, min_dist=min_dist, metric="cosine",
                        init="spectral" if len(vectors) <= LARGE else "pca",
                        n_epochs=None if full_epochs else _epochs(len(vectors)), random_state=seed,
                        low_memory=True, verbose=False,
                        precomputed_knn=neighbours or neighbour_graph(vectors, seed))
    return reducer.fit_transform(vectors)


def _epochs(points: int) -> int:
    """200 epochs, fewer above 15,000 points so that points x epochs stays near 3 million (~5 s).

    At 100k points 30 epochs took 5 s and 200 took 46 s, and HDBSCAN found the same clusters
    on both (NMI 0.625 and 0.627 against the intents, bench/cluster_speed.py's data).
    """
    return int(min(200, max(30, 3_000_000 // max(points, 1))))


def neighbour_graph(vectors: np.ndarray, seed: int | None = None) -> Neighbours:
    """The 15 nearest neighbours of every point, for UMAP, found with a lighter NN-descent.

    UMAP's own settings for NN-descent (21 trees, 17 iterations at 100k points) took 60 s at 100k
    points on two cores; 8 trees and 8 iterations took 11 s and found the same neighbours (recall
    1.0 against exact search on a sample, bench/README.md). Below 4,096 points UMAP searches
    exactly and quickly on its own, so nothing is computed here.
    """
    if len(vectors) < EXACT_NEIGHBOURS_BELOW:
        return None, None, None
    from pynndescent import NNDescent

    index = NNDescent(vectors, metric="cosine", n_neighbors=NEIGHBOURS, n_trees=8, n_iters=8, low_memory=True,
                      random_state=seed, compressed=True, verbose=False)
    indices, distances = index.neighbor_graph
    return indices, distances, None


class Hdbscan:
    """UMAP to 5-D, then HDBSCAN (excess-of-mass selection).

    min_samples is a fifth of the smallest cluster size (2 at the usual 10): with HDBSCAN's
    default (equal to it), 54 calls in three plain modes came out as two clusters in a quarter
    of the point orders tried; with 2, always as three, and CLINC150 scored the same.
    """

    def fit(self, vectors: np.ndarray, min_cluster_size: int, seed: int | None,
            neighbours: Neighbours | None = None) -> Assignment:
        import hdbscan

        if len(vectors) < max(min_cluster_size, 2):
            return _all_noise(len(vectors))
        reduced = reduce(vectors, seed=seed, neighbours=neighbours)
        model = hdbscan.HDBSCAN(min_cluster_size=min_cluster_size, min_samples=max(2, min_cluster_size // 5),
                                core_dist_n_jobs=os.cpu_count() or 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(reduced)
        labels = trim_outliers(vectors, np.asarray(model.labels_, dtype=np.int64))
        probabilities = np.where(labels == NOISE, 0.0, np.asarray(model.probabilities_, dtype=np.float64))
        return Assignment(labels, probabilities)


class KMeansAutoK:
    """k-means on the unit vectors for a range of k; k by cosine silhouette, finer on a near tie.

    On the vectors themselves, not on UMAP's: with few points UMAP pulled two neighbouring modes
    together, and k-means needs no density to work with. Among k values whose silhouette is
    within 1% of the best, the largest wins: a reviewer can see that two modes are one, but
    cannot split one that hides two.
    """

    def fit(self, vectors: np.ndarray, min_cluster_size: int, seed: int | None,
            neighbours: Neighbours | None = None) -> Assignment:
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score

        candidates = candidate_ks(len(vectors), min_cluster_size)
        if not candidates:
            return _all_noise(len(vectors))
        rng = np.random.default_rng(0 if seed is None else seed)
        sample = rng.choice(len(vectors), size=min(len(vectors), SILHOUETTE_SAMPLE), replace=False)
        fits = []
        for k in candidates:
            model = KMeans(n_clusters=k, n_init=3, random_state=0 if seed is None else seed).fit(vectors)
            fits.append((silhouette_score(vectors[sample], model.labels_[sample], metric="cosine"), k, model))
        best = max(score for score, _, _ in fits)
        _, _, model = max((fit for fit in fits if fit[0] >= best - 0.01 * abs(best)), key=lambda fit: fit[1])
        labels = model.labels_.astype(np.int64)
        return Assignment(labels, _closeness(labels, model.transform(vectors).min(axis=1)))


def trim_outliers(vectors: np.ndarray, labels: np.ndarray, passes: int = 3, spread: float = 3.0,
                  least_deviation: float = 0.1) -> np.ndarray:
    """Return to noise the members far less similar to their cluster's centre than the rest.

    UMAP places a scattered failure next to the nearest group and HDBSCAN then takes it in: on
    CLINC150 one cluster held 36 unrelated requests. In the original vectors such a member is far
    below its cluster's typical similarity to the centre: more than `spread` deviations under the
    median, a deviation being the scaled median absolute deviation but at least `least_deviation`
    (without that floor a tight cluster of 18 plainly alike requests lost 7 of them). The centre
    is recomputed from the kept members each pass. On CLINC150 (torch vectors, 3 seeds): mean F1
    0.858 -> 0.884, unclustered 3% -> 10% (bench/README.md).
    """
    labels = labels.copy()
    for label in np.unique(labels):
        if label == NOISE:
            continue
        members = np.flatnonzero(labels == label)
        kept = members
        for _ in range(passes):
            centre = vectors[kept].mean(axis=0)
            centre /= max(float(np.linalg.norm(centre)), 1e-12)
            similarity = vectors[members] @ centre
            typical = similarity[np.isin(members, kept)]
            median = float(np.median(typical))
            deviation = max(1.4826 * float(np.median(np.abs(typical - median))), least_deviation)
            kept = members[similarity >= median - spread * deviation]
        labels[np.setdiff1d(members, kept)] = NOISE
    return labels


def candidate_ks(points: int, min_cluster_size: int) -> list[int]:
    """About twelve k values spread geometrically from 2 to the most clusters of a useful size."""
    most = min(200, points // max(min_cluster_size, 1))
    if most < 2:
        return []
    return sorted({int(round(k)) for k in np.geomspace(2, most, num=12)})


def _closeness(labels: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """1 at a centre, falling towards 0 at the farthest member of the same cluster."""
    result = np.ones(len(labels))
    for label in np.unique(labels):
        members = labels == label
        farthest = distances[members].max()
        if farthest > 0:
            result[members] = 1.0 - distances[members] / farthest
    return result


def _all_noise(points: int) -> Assignment:
    return Assignment(np.full(points, NOISE, dtype=np.int64), np.zeros(points))


ALGORITHMS: dict[str, Callable[[], Algorithm]] = {"hdbscan": Hdbscan, "kmeans": KMeansAutoK}


def get_algorithm(name: str) -> Algorithm:
    if name not in ALGORITHMS:
        raise ValueError(f"unknown clustering algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]()


def centroids(vectors: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    """The unit-length mean vector of each cluster (noise has none)."""
    result = {}
    for label in np.unique(labels):
        if label == NOISE:
            continue
        mean = vectors[labels == label].mean(axis=0)
        result[int(label)] = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    return result


@dataclass(frozen=True)
class ModeReach:
    """What a call is assigned by: each mode's centre, and its reach (how similar to the centre its
    least similar member is). The same rule attaches a run's noise and places the calls a sampled
    fit left out (mining.cluster.sample_fit), wherever those are computed."""

    labels: np.ndarray  # int64, the modes' labels
    centres: np.ndarray  # float32, shape (modes, dim), unit-length rows
    reach: np.ndarray  # float, shape (modes,)


def mode_reach(vectors: np.ndarray, labels: np.ndarray) -> ModeReach | None:
    """The assignment rule of the modes `labels` gives `vectors`; None when there is no mode."""
    centres = centroids(vectors, labels)
    if not centres:
        return None
    ids = np.array(list(centres), dtype=np.int64)
    return ModeReach(ids, np.stack([centres[int(label)] for label in ids]),
                     np.array([float((vectors[labels == label] @ centres[int(label)]).min()) for label in ids]))


def within_reach(vectors: np.ndarray, rule: ModeReach) -> np.ndarray:
    """Each vector's mode: the one whose centre is most similar, if within its reach; else NOISE."""
    similarity = vectors @ rule.centres.T
    nearest = np.argmax(similarity, axis=1)
    close = similarity[np.arange(len(vectors)), nearest] >= rule.reach[nearest]
    return np.where(close, rule.labels[nearest], NOISE).astype(np.int64)


def attach_noise(vectors: np.ndarray, assignment: Assignment) -> Assignment:
    """Put a noise point into the cluster whose centroid is most similar, if it is within its reach.

    Within reach: at least as similar to the centroid as the cluster's least similar member. A
    point farther than that from every cluster is a one-off and stays unclustered; attaching it
    anyway only dilutes a mode (it cost 0.01 mean F1 on the CLINC150 benchmark). An attached
    point's probability stays 0, marking it as attached rather than found.
    """
    labels = assignment.labels.copy()
    noise = np.flatnonzero(labels == NOISE)
    rule = mode_reach(vectors, labels)
    if len(noise) == 0 or rule is None:
        return assignment
    labels[noise] = within_reach(vectors[noise], rule)
    return Assignment(labels, assignment.probabilities)


def map_coordinates(vectors: np.ndarray, seed: int | None = None, neighbours: Neighbours | None = None) -> np.ndarray:
    """2-D positions for the map: UMAP with a little spread (min_dist 0.1), so clumps stay readable."""
    if len(vectors) <= NEIGHBOURS:
        return _pca_2d(vectors)
    return _umap(vectors, 2, 0.1, seed, neighbours, full_epochs=False)


def _pca_2d(vectors: np.ndarray) -> np.ndarray:
    """A plain projection for a handful of points, where UMAP cannot run."""
    if len(vectors) == 0:
        return np.zeros((0, 2))
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:2].T
    return np.pad(projected, ((0, 0), (0, max(0, 2 - projected.shape[1]))))
