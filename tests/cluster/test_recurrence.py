"""Recurring failures and one-offs (mining/cluster/recurrence.py), on made-up vectors and in a real run.

A one-off is a failure of a kind of request that usually works: its nearest calls pass. It must not
form or widen a mode; a failure of a kind that keeps failing must, even where its kind sits among
close kinds that work.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from failure_modes_data import write_failure_modes_log, use_fp32_embeddings
from mining.__main__ import main
from mining.cluster import ClusterSettings, member_source_ids, run_clustering
from mining.cluster.algorithms import NOISE
from mining.cluster.recurrence import recurring
from mining.ingest import ingest_paths
from mining.store import Workspace


def _around(direction: int, count: int, rng: np.random.Generator, spread: float = 0.05) -> np.ndarray:
    """`count` unit vectors close to axis `direction` of a 16-D space."""
    points = np.zeros((count, 16), dtype=np.float32)
    points[:, direction] = 1.0
    points += rng.normal(0.0, spread, points.shape).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def test_failures_among_passing_calls_of_their_kind_are_one_offs_and_a_failing_kind_recurs():
    rng = np.random.default_rng(0)
    failing_kind = _around(0, 20, rng)  # a request that keeps failing: 20 failures, 3 passing calls
    one_offs = _around(1, 2, rng)  # a request that usually works: 2 failures among 40 passing calls
    failures = np.vstack([failing_kind, one_offs])
    passing = np.vstack([_around(0, 3, rng), _around(1, 40, rng), _around(2, 200, rng)])
    assert recurring(failures, passing).tolist() == [True] * 20 + [False] * 2


def test_a_kind_failing_more_often_than_calls_do_recurs_even_where_most_of_its_neighbours_pass():
    rng = np.random.default_rng(1)
    # 10 failures among 20 passing calls of the same kind (a third fail) in a log where 3% of calls fail;
    # two one-offs, each among the passing calls of its own kind
    failures = np.vstack([_around(0, 10, rng), _around(1, 1, rng), _around(2, 1, rng)])
    passing = np.vstack([_around(0, 20, rng), _around(1, 100, rng), _around(2, 100, rng), _around(3, 200, rng)])
    assert recurring(failures, passing).tolist() == [True] * 10 + [False, False]


def test_a_kind_failing_40_percent_of_the_time_in_a_log_where_a_quarter_fails_recurs():
    """The demo's case: modes that fail 10-50% of the time, not 85%, must not be taken for one-offs."""
    rng = np.random.default_rng(5)
    failures = np.vstack([_around(0, 16, rng), _around(1, 20, rng)] + [_around(2 + n, 1, rng) for n in range(3)])
    passing = np.vstack([_around(0, 24, rng), _around(1, 10, rng)] + [_around(2 + n, 30, rng) for n in range(3)])
    kept = recurring(failures, passing)
    assert kept[:16].sum() >= 15 and kept[16:36].all() and not kept[36:].any()


def test_in_a_log_where_most_calls_fail_a_mostly_failing_neighbourhood_recurs():
    rng = np.random.default_rng(2)
    # 56% of calls fail: a mode with a few passing calls of a close kind among it is still a mode,
    # and a failure among the passing calls of its own kind is still a one-off
    failures = np.vstack([_around(0, 30, rng), _around(1, 1, rng)])
    passing = np.vstack([_around(0, 4, rng), _around(1, 20, rng)])
    assert recurring(failures, passing).tolist() == [True] * 30 + [False]


def test_with_no_passing_calls_every_failure_is_kept_and_a_tiny_pool_still_counts():
    rng = np.random.default_rng(3)
    assert recurring(_around(0, 5, rng), np.zeros((0, 16), dtype=np.float32)).all()
    assert recurring(_around(0, 2, rng), _around(1, 1, rng)).all()  # each: 1 of its 2 neighbours failed
    assert recurring(_around(0, 1, rng), _around(1, 1, rng)).tolist() == [False]  # its one neighbour passed


def test_the_search_in_blocks_and_in_samples_counts_each_failures_own_neighbours(monkeypatch):
    """Blocks of 7 failures and a pool of 40 sampled failures give what a direct count gives."""
    import mining.cluster.recurrence as recurrence

    rng = np.random.default_rng(4)
    failures = np.vstack([_around(0, 40, rng, 0.3), _around(1, 5, rng, 0.3), _around(3, 30, rng, 0.3)])
    passing = np.vstack([_around(1, 60, rng, 0.3), _around(2, 100, rng, 0.3), _around(3, 30, rng, 0.3)])
    pool = np.vstack([failures, passing])
    similarity = failures @ pool.T
    similarity[np.arange(len(failures)), np.arange(len(failures))] = -np.inf
    nearest = np.argsort(-similarity, axis=1)[:, :recurrence.NEIGHBOURS]
    counts = (nearest < len(failures)).sum(axis=1)
    expected = (counts > int(recurrence.NEIGHBOURS * len(failures) / len(pool))) | (2 * counts >= recurrence.NEIGHBOURS)
    monkeypatch.setattr(recurrence, "BLOCK", 7)
    assert (recurring(failures, passing) == expected).all()
    monkeypatch.setattr(recurrence, "POOL_SAMPLE", 40)  # 40 of 75 failures and 40 passing calls stand for all
    sampled = recurring(failures, passing, seed=1)
    assert len(sampled) == len(failures) and (sampled == expected).mean() >= 0.8


def test_a_run_leaves_one_offs_out_of_the_modes_and_says_how_many(workspace: Workspace, tmp_path: Path,
                                                                 openai_line, write_log, capsys):
    """Three modes that always fail, and single failures of six requests whose other calls pass."""
    ingest_paths(workspace, [write_failure_modes_log(tmp_path / "modes.jsonl")])
    one_off_texts = ["What are your opening hours on Sunday?", "Do you sell gift cards?",
                     "Which sizes does the linen shirt come in?", "Is the blue kettle dishwasher safe?",
                     "How do I subscribe to the newsletter?", "What material is the winter coat made of?"]
    ingest_paths(workspace, [write_log("one_offs.jsonl", [
        openai_line(f"one-off-{n}", text, "Please check our help centre.", thumbs="down")
        for n, text in enumerate(one_off_texts)])])
    use_fp32_embeddings(workspace)
    summary = run_clustering(workspace, ClusterSettings(seed=0))
    clustered = {source_id for cluster_id, members in member_source_ids(workspace).items() if cluster_id != NOISE
                 for source_id in members}
    assert not any(source_id.startswith("one-off-") for source_id in clustered)
    assert sum(source_id.split("-")[0] in ("refund", "login", "shipping") for source_id in clustered) >= 50
    assert summary.clusters == 3 and 1 <= summary.one_offs <= summary.unclustered
    assert f"({summary.one_offs} one-offs: their nearest calls mostly pass)" in summary.describe()
    workspace_path = str(workspace.path)
    Workspace.close_all()
    assert main(["--workspace", workspace_path, "cluster", "--seed", "0", "--include-one-offs", "--json", "-q"]) == 0
    assert '"one_offs": 0' in capsys.readouterr().out


def test_the_grouped_rows_graph_serves_every_row_with_one_offs_left_without_neighbours():
    from mining.cluster.merge import nearest_neighbours
    from mining.cluster.run import _lifted

    grouped = np.array([0, 2, 3])  # rows 1 and 4 are one-offs
    graph = np.array([[0, 1, 2], [1, 0, -1], [2, 1, 0]])  # numbered among the grouped rows, -1 a gap
    lifted = _lifted(graph, grouped, 5)
    assert lifted.tolist() == [[0, 2, 3], [-1, -1, -1], [2, 0, -1], [3, 2, 0], [-1, -1, -1]]
    vectors = np.eye(5, dtype=np.float32)
    nearest = nearest_neighbours(vectors, lifted)
    assert nearest[1].tolist() == [1] * nearest.shape[1] and set(nearest[0]) <= {2, 3, 0}
    assert _lifted(graph, np.arange(3), 3) is graph and _lifted(None, grouped, 5) is None
