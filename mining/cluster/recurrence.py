"""Which failures recur: a failure whose nearest calls fail no more often than calls do overall is a one-off.

Why: a failure mode is a kind of request that keeps failing, and the passing calls say which kinds
those are. Around a failure of a kind that keeps failing, most of the nearest calls failed too;
around a one-off (a sporadic failure of a kind that usually works), most of them passed. Clustered
with the rest, one-offs do harm: UMAP places each next to the nearest clump of failures and HDBSCAN
takes it in, so a mode holds requests of other kinds (CLINC150's recipe mode held cook-time
failures), its name and examples drift, and its failure rate is estimated from a core that spreads
over several kinds of request.

The test: each failure's NEIGHBOURS nearest other calls are found among the failures and the passing
calls the run was given (all of them, or a sample). A failure recurs where most of them failed, or
where more of them failed than would happen with a probability below SIGNIFICANCE (binomial tail)
were failures spread evenly, at the share they have among those calls. The first half of the rule
speaks in logs where most calls fail, in which the second would ask for a neighbourhood of failures
only; the second in logs where few calls fail, where a mode's calls can fail in fewer than half
of its neighbours (its kind of request sits among close kinds that work) and still far more often
than calls do overall. Only recurring failures form modes. A one-off can still join a mode it lies
within (`attach_noise`) and otherwise stays unclustered, as an outlier does.

With no passing calls every failure is kept, and so, in effect, where passing calls are a small
sample of many (a large workspace): the pool's share of failures is then high and most
neighbourhoods are mostly failures. Measured on CLINC150 and Banking77 in bench/README.md
("Recurring failures").
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

NEIGHBOURS = 14  # as many as the run's neighbour graph has besides the point itself (15 with it)
SIGNIFICANCE = 0.01
BLOCK = 1024  # rows compared at once in the exact search: 1024 x 20,000 similarities is 80 MB


def recurring(failures: np.ndarray, passing: np.ndarray, failure_graph: np.ndarray | None = None) -> np.ndarray:
    """A boolean per failure (rows of unit vectors): does it lie where calls fail more than they do overall?

    `passing` holds the passing calls' vectors (all, or a sample). `failure_graph` is the run's
    approximate neighbour graph of the failures (mining.cluster.algorithms.neighbour_graph), reused
    when there is one; otherwise the failures' neighbours are found exactly.
    """
    count, pool = len(failures), len(failures) + len(passing)
    wanted = min(NEIGHBOURS, pool - 1)
    share = count / pool if pool else 1.0
    if len(passing) == 0 or wanted < 1:
        return np.ones(count, dtype=bool)
    failure_side = (_graph_similarities(failures, failure_graph, wanted) if failure_graph is not None
                    else _top_similarities(failures, failures, wanted, exclude_self=True))
    passing_side = _top_similarities(failures, passing, wanted)
    nearest = np.concatenate([failure_side, passing_side], axis=1)
    is_failure = np.concatenate([np.ones_like(failure_side, dtype=bool), np.zeros_like(passing_side, dtype=bool)],
                                axis=1)
    order = np.argsort(-nearest, axis=1, kind="stable")[:, :wanted]
    failing_neighbours = np.take_along_axis(is_failure, order, axis=1).sum(axis=1)
    return (2 * failing_neighbours >= wanted) | (binom.sf(failing_neighbours - 1, wanted, share) < SIGNIFICANCE)


def _top_similarities(queries: np.ndarray, pool: np.ndarray, wanted: int, exclude_self: bool = False) -> np.ndarray:
    """The `wanted` largest cosine similarities of each query to the pool, in blocks (-inf pads a short pool)."""
    result = np.full((len(queries), wanted), -np.inf, dtype=np.float32)
    available = len(pool) - (1 if exclude_self else 0)
    take = min(wanted, available)
    if take <= 0:
        return result
    for start in range(0, len(queries), BLOCK):
        similarity = queries[start:start + BLOCK] @ pool.T
        if exclude_self:
            rows = np.arange(len(similarity))
            similarity[rows, rows + start] = -np.inf
        result[start:start + len(similarity), :take] = -np.partition(-similarity, take - 1, axis=1)[:, :take]
    return result


def _graph_similarities(failures: np.ndarray, graph: np.ndarray, wanted: int) -> np.ndarray:
    """The similarities to each failure's neighbours in an approximate graph (itself and gaps left out)."""
    rows = np.arange(len(failures))[:, None]
    usable = (graph != rows) & (graph >= 0)
    neighbours = np.where(usable, graph, 0)
    similarity = np.empty(graph.shape, dtype=np.float32)
    for start in range(0, len(failures), BLOCK):
        block = slice(start, start + BLOCK)
        similarity[block] = np.einsum("ij,ikj->ik", failures[block], failures[neighbours[block]])
    similarity = np.where(usable, similarity, -np.inf)
    similarity = -np.sort(-similarity, axis=1)[:, :wanted]
    if similarity.shape[1] < wanted:
        similarity = np.pad(similarity, ((0, 0), (0, wanted - similarity.shape[1])), constant_values=-np.inf)
    return similarity
