"""Clustering more failures than one machine can group: fit on a sample, assign the rest.

Why: grouping (the neighbour graph, UMAP, HDBSCAN, merging) grows faster than the failures do and
holds them all in memory; 100,000 failures take about a minute on two cores (bench/README.md,
"Clustering speed"). A failure mode is something that recurs, so a fixed random sample of
FIT_SAMPLE failures holds every mode worth reviewing many times over. The modes are found on the
sample, and every other failure is placed by the rule that attaches a run's noise
(`algorithms.within_reach`: the most similar centre, if within that mode's reach), which is one
matrix product per call and splits into independent chunks: here in this process, or in Ray
tasks (mining.scale.ray_engine). Both run the same function on the same chunks, so the result is
the same wherever it runs. With FIT_SAMPLE or fewer failures nothing is sampled.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from mining.cluster.algorithms import ModeReach, within_reach

FIT_SAMPLE = 100_000  # failures grouped on one machine; more are placed by `assign_rows`
MIN_FIT_SAMPLE = 20  # two modes of the smallest size, at least
ASSIGN_CHUNK = 50_000  # calls placed per step (and per Ray task)

RowAssigner = Callable[[np.ndarray, ModeReach], np.ndarray]
"""Places vectors by a ModeReach: one label per row, NOISE where no mode reaches."""


def fit_rows(count: int, limit: int | None, seed: int) -> np.ndarray:
    """The rows the modes are fitted on: all of them, or a fixed random `limit` of them, in order."""
    if limit is None or count <= limit:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=limit, replace=False))


def chunk_bounds(count: int) -> Iterator[tuple[int, int]]:
    """The [start, end) row ranges `assign_rows` works in, ASSIGN_CHUNK rows each."""
    for start in range(0, count, ASSIGN_CHUNK):
        yield start, min(start + ASSIGN_CHUNK, count)


def assign_locally(vectors: np.ndarray, rule: ModeReach) -> np.ndarray:
    """The default RowAssigner: chunk after chunk in this process."""
    labels = np.empty(len(vectors), dtype=np.int64)
    for start, end in chunk_bounds(len(vectors)):
        labels[start:end] = within_reach(vectors[start:end], rule)
    return labels
