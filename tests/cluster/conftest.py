"""Fixtures of the clustering tests."""

from __future__ import annotations

import numpy as np
import pytest

from mining.cluster import run as run_module
from mining.cluster.algorithms import NOISE, Assignment


class _CutTheLargestInTwo:
    """The real clusterer, then its largest mode cut in two alternately: what HDBSCAN does to one
    request phrased two ways, made certain."""

    def __init__(self, real):
        self.real = real

    def fit(self, vectors, min_cluster_size, seed, neighbours=None) -> Assignment:
        found = self.real.fit(vectors, min_cluster_size, seed, neighbours)
        labels = found.labels.copy()
        largest = np.bincount(labels[labels != NOISE]).argmax()
        members = np.flatnonzero(labels == largest)
        labels[members[1::2]] = labels.max() + 1
        return Assignment(labels, found.probabilities)


@pytest.fixture
def cutting(monkeypatch):
    """Runs whose clusterer cuts the largest mode in two (for merging to find)."""
    real = run_module.get_algorithm
    monkeypatch.setattr(run_module, "get_algorithm", lambda name: _CutTheLargestInTwo(real(name)))
