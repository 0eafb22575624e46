"""Merging modes that are one problem: the rule on made-up vectors, and a real run on real embeddings
where the clusterer is made to cut one mode in two."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from failure_modes_data import MODES
from mining.__main__ import main
from mining.cluster import (ClusterSettings, forget_keep_apart, keep_apart, list_clusters, list_keep_apart,
                            mode_parts, run_clustering)
from mining.cluster.algorithms import NOISE
from mining.cluster.merge import NOT_FAILED, KeepApart, merge_modes, nearest_neighbours
from mining.store import Workspace

from cluster.test_cluster import _load


def _blob(rng: np.random.Generator, centre: np.ndarray, count: int, spread: float = 0.15) -> np.ndarray:
    points = centre + spread * rng.standard_normal((count, len(centre))) / np.sqrt(len(centre))
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _close_pair(rng: np.random.Generator, dimensions: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Two centres at cosine about 0.7: close, yet far enough apart for their points not to mix."""
    first = _unit(rng.standard_normal(dimensions))
    other = _unit(rng.standard_normal(dimensions) - (rng.standard_normal(dimensions) @ first) * first)
    return first, _unit(0.7 * first + 0.714 * other)


def test_one_group_cut_in_two_is_merged_and_two_close_groups_are_not():
    rng = np.random.default_rng(0)
    first, second = _close_pair(rng)
    vectors = np.vstack([_blob(rng, first, 40), _blob(rng, second, 40)])
    labels = np.array([0, 1] * 20 + [2] * 40)  # group one cut in two, alternately; group two whole
    merged = merge_modes(vectors, labels, None, nearest_neighbours(vectors))
    assert sorted(set(merged.labels.tolist())) == [0, 2]
    assert [(part.label, part.size, part.reason) for part in merged.parts[0]] == [(0, 20, "neighbours"),
                                                                                  (1, 20, "neighbours")]
    assert all(part.similarity > 0.9 for part in merged.parts[0])


def test_close_requests_that_fail_alike_merge_only_where_kinds_tell_modes_apart():
    rng = np.random.default_rng(1)
    first, second = _close_pair(rng)
    others = [_unit(rng.standard_normal(32)) for _ in range(3)]
    vectors = np.vstack([_blob(rng, first, 30), _blob(rng, second, 30), *[_blob(rng, c, 30) for c in others]])
    labels = np.repeat(np.arange(5), 30)
    neighbours = nearest_neighbours(vectors)
    telling = np.repeat([0, 0, 1, 2, 3], 30)  # the close pair fails one way, every other mode its own way
    merged = merge_modes(vectors, labels, telling, neighbours)
    assert sorted(set(merged.labels.tolist())) == [0, 2, 3, 4]
    assert {part.reason for part in merged.parts[0]} == {"failures"}
    shared = np.zeros(150, dtype=np.int64)  # one wrong answer everywhere: failing alike says nothing
    assert len(set(merge_modes(vectors, labels, shared, neighbours).labels.tolist())) == 5
    different = np.repeat([0, 1, 2, 3, 4], 30)
    assert len(set(merge_modes(vectors, labels, different, neighbours).labels.tolist())) == 5


def test_passing_calls_do_not_count_as_a_kind_and_noise_stays_noise():
    rng = np.random.default_rng(2)
    first, second = _close_pair(rng)
    others = [_unit(rng.standard_normal(32)) for _ in range(3)]
    vectors = np.vstack([_blob(rng, first, 30), _blob(rng, second, 30), *[_blob(rng, c, 30) for c in others],
                         _blob(rng, _unit(rng.standard_normal(32)), 5)])
    labels = np.concatenate([np.repeat(np.arange(5), 30), [NOISE] * 5])
    kinds = np.concatenate([np.repeat([0, 0, 1, 2, 3], 30), [0] * 5])
    kinds[30:45] = NOT_FAILED  # half of the second mode passed: its failures still all fail as kind 0
    merged = merge_modes(vectors, labels, kinds, nearest_neighbours(vectors))
    assert merged.labels[60:90].tolist() == [2] * 30 and merged.labels[-5:].tolist() == [NOISE] * 5
    assert set(merged.labels[:60].tolist()) == {0}


def test_a_keep_apart_decision_blocks_the_merge_of_groups_like_its_two_sides():
    rng = np.random.default_rng(0)
    first, second = _close_pair(rng)
    vectors = np.vstack([_blob(rng, first, 40), _blob(rng, second, 40)])
    labels = np.array([0, 1] * 20 + [2] * 40)
    halves = [_unit(vectors[labels == label].mean(axis=0)) for label in (1, 0)]
    kept = merge_modes(vectors, labels, None, nearest_neighbours(vectors), keep_apart=[KeepApart(*halves)])
    assert sorted(set(kept.labels.tolist())) == [0, 1, 2] and kept.parts == {}
    unrelated = KeepApart(_unit(rng.standard_normal(32)), _unit(rng.standard_normal(32)))
    assert len(set(merge_modes(vectors, labels, None, nearest_neighbours(vectors),
                               keep_apart=[unrelated]).labels.tolist())) == 2


def test_nearest_neighbours_exact_and_from_a_graph_leave_out_the_point_itself():
    rng = np.random.default_rng(3)
    vectors = _blob(rng, _unit(rng.standard_normal(16)), 50, spread=1.0)
    found = nearest_neighbours(vectors)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    assert found.shape == (50, 10)
    assert (found == np.argsort(-similarity, axis=1)[:, :10]).all()
    graph = np.hstack([np.arange(50)[:, None], found[:, :5], np.full((50, 1), -1), found[:, 5:]])
    assert (nearest_neighbours(vectors, graph) == found).all()


def _live(workspace: Workspace) -> list[dict]:
    return [mode for mode in list_clusters(workspace) if mode["status"] != "gone"]


def test_a_run_merges_a_cut_mode_shows_its_parts_and_keeps_them_apart_when_told(workspace, tmp_path: Path,
                                                                                cutting, capsys):
    _load(workspace, tmp_path)
    run_clustering(workspace, ClusterSettings(seed=0))
    modes = _live(workspace)
    assert len(modes) == len(MODES)
    merged = [mode for mode in modes if mode_parts(workspace, mode["id"])]
    assert len(merged) == 1
    parts = mode_parts(workspace, merged[0]["id"])
    assert [part["part"] for part in parts] == [0, 1] and {part["reason"] for part in parts} == {"neighbours"}
    assert sum(part["size"] for part in parts) == merged[0]["size"]
    assert len({part["name"] for part in parts}) == 2  # halves of one request, yet told apart by name

    assert keep_apart(workspace, merged[0]["id"], 1, "ana") == 1
    decision, = list_keep_apart(workspace)
    assert decision["made_by"] == "ana" and decision["second_name"] == parts[0]["name"]
    run_clustering(workspace, ClusterSettings(seed=0))
    assert len(_live(workspace)) == len(MODES) + 1
    assert not any(mode_parts(workspace, mode["id"]) for mode in _live(workspace))

    forget_keep_apart(workspace, decision["decision_id"])
    run_clustering(workspace, ClusterSettings(seed=0))
    assert len(_live(workspace)) == len(MODES)

    assert main(["--workspace", str(workspace.path), "cluster", "--seed", "0", "--no-merge", "--quiet"]) == 0
    assert len(_live(workspace)) == len(MODES) + 1


def test_keeping_apart_a_part_a_mode_does_not_have_is_refused(workspace, tmp_path: Path, cutting):
    _load(workspace, tmp_path)
    run_clustering(workspace, ClusterSettings(seed=0))
    mode = next(mode for mode in _live(workspace) if mode_parts(workspace, mode["id"]))
    with pytest.raises(ValueError, match="has no part 5"):
        keep_apart(workspace, mode["id"], 5)
    assert list_keep_apart(workspace) == []
