"""Clustering on a sample and placing the rest (mining/cluster/sample_fit.py): the modes found on a
sample of the failures hold every failure of their kind, and the rest are placed by the rule that
attaches noise."""

from __future__ import annotations

import numpy as np
import pytest

from failure_modes_data import MODES
from mining.cluster import ClusterSettings, run_clustering
from mining.cluster.algorithms import NOISE, mode_reach, within_reach
from mining.cluster.sample_fit import ASSIGN_CHUNK, assign_locally, fit_rows
from mining.cluster.views import member_source_ids
from cluster.test_cluster import _cluster_of_each_mode, _load


def test_a_run_fitted_on_a_sample_places_every_failure_in_its_mode(workspace, tmp_path):
    _load(workspace, tmp_path)
    failures = sum(len(texts) for texts in MODES.values())
    summary = run_clustering(workspace, ClusterSettings(seed=0, fit_sample=36))
    assert summary.points == failures  # every failure has a membership, sampled or placed
    _cluster_of_each_mode(workspace)
    probabilities = dict(workspace.cursor().execute(
        "SELECT probability = 0, count(*) FROM cluster_members GROUP BY ALL").fetchall())
    assert probabilities[True] >= failures - 36  # the placed ones count as attached, not found


def test_without_more_failures_than_the_sample_nothing_is_sampled(workspace, tmp_path):
    _load(workspace, tmp_path)
    run_clustering(workspace, ClusterSettings(seed=0))
    whole = member_source_ids(workspace)
    run_clustering(workspace, ClusterSettings(seed=0, fit_sample=1000))
    assert member_source_ids(workspace) == whole


def test_the_sample_is_fixed_by_the_seed_and_in_order():
    assert fit_rows(10, None, 0).tolist() == list(range(10))
    assert fit_rows(10, 20, 0).tolist() == list(range(10))
    first, again, other = fit_rows(1000, 100, 3), fit_rows(1000, 100, 3), fit_rows(1000, 100, 4)
    assert first.tolist() == again.tolist() != other.tolist()
    assert len(set(first.tolist())) == 100 and np.all(np.diff(first) > 0)


def test_placing_in_chunks_equals_placing_at_once():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(ASSIGN_CHUNK + 777, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.where(vectors[:, 0] > 0.5, 0, np.where(vectors[:, 1] > 0.5, 1, NOISE))
    rule = mode_reach(vectors[:2000], labels[:2000])
    placed = assign_locally(vectors, rule)
    assert np.array_equal(placed, within_reach(vectors, rule))
    assert set(np.unique(placed)) <= {NOISE, 0, 1} and np.sum(placed == NOISE) > 0


def test_a_sample_too_small_to_hold_two_modes_is_refused():
    with pytest.raises(ValueError, match="fit_sample must be at least"):
        ClusterSettings(fit_sample=5)
