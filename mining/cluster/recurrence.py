"""Which failures recur: a failure whose nearest calls fail no more often than calls do overall is a one-off.

Why: a failure mode is a kind of request that keeps failing, and the passing calls say which kinds
those are. Around a failure of a kind that keeps failing, more of the nearest calls failed than
calls do overall; around a one-off (a sporadic failure of a kind that usually works), fewer. Clustered
with the rest, one-offs do harm: UMAP places each next to the nearest clump of failures and HDBSCAN
takes it in, so a mode holds requests of other kinds (CLINC150's recipe mode held cook-time
failures), its name and examples drift, and its failure rate is estimated from a core that spreads
over several kinds of request.

The rule: each failure's NEIGHBOURS nearest other calls are found among the failures and the
passing calls (samples of at most POOL_SAMPLE of each). A failure is a one-off when no more of them
failed than the overall failure rate gives on average (their number times the share of failures
among those calls, rounded down) and fewer than half of them failed. Only recurring failures form
modes. A one-off can still join a mode it lies within (`attach_noise`) and otherwise stays
unclustered, as an outlier does.

Why a count and not a significance test: a test asks more evidence than a neighbourhood holds. On
the demo log, whose failing requests fail 10-50% of the time against 22% overall, a binomial test
at 1% on 14 neighbours called 90% of the failures one-offs; the count keeps the modes and flags
the scattered failures (a thumbs-down on a request that usually works, a slow call). Why 30
neighbours: enough that the overall rate gives a few failures among them (2 on CLINC150, 6 on the
demo), so "no more than that" can be told from a mode's share; few enough to stay within one kind
of request. 20 and 40 gave the same results (bench/README.md, "Recurring failures"). The half
rule: in a log where most calls fail, a mode cannot fail much more often than calls do overall,
and a failure among mostly failing calls is never taken for a one-off.

With no passing calls every failure is kept. In a large workspace both sides are samples: the
share compared is the samples', which stands for the whole log's as long as each is drawn at random.
"""

from __future__ import annotations

import math

import numpy as np

NEIGHBOURS = 30
POOL_SAMPLE = 5_000  # failures, and passing calls, that neighbours are sought among (~10 s at 100k failures)
BLOCK = 1024  # failures compared at once: 1024 x 10,000 similarities is 40 MB


def recurring(failures: np.ndarray, passing: np.ndarray, seed: int = 0) -> np.ndarray:
    """A boolean per failure (rows of unit vectors): does it lie where calls fail more than they do overall?

    `passing` holds the passing calls' vectors (all, or a random sample); `seed` draws the sample of
    failures that neighbours are sought among when there are more than POOL_SAMPLE.
    """
    count = len(failures)
    if len(passing) == 0 or count == 0:
        return np.ones(count, dtype=bool)
    chosen = np.arange(count)
    if count > POOL_SAMPLE:
        chosen = np.sort(np.random.default_rng(seed).choice(count, size=POOL_SAMPLE, replace=False))
    pool = np.vstack([failures[chosen], passing[:POOL_SAMPLE]]).astype(np.float32)  # failures first
    wanted = min(NEIGHBOURS, len(pool) - 1)
    if wanted < 1:
        return np.ones(count, dtype=bool)
    place_in_pool = np.full(count, -1)
    place_in_pool[chosen] = np.arange(len(chosen))
    failing_neighbours = np.empty(count, dtype=np.int64)
    for start in range(0, count, BLOCK):
        block = slice(start, min(start + BLOCK, count))
        similarity = failures[block].astype(np.float32) @ pool.T
        rows = np.flatnonzero(place_in_pool[block] >= 0)
        similarity[rows, place_in_pool[block][rows]] = -np.inf  # a failure is not its own neighbour
        # the wanted-th largest similarity, and the failures at least that similar: twice as fast as
        # finding the neighbours themselves (argpartition), which cost 16 s at 100k failures
        cut = len(pool) - wanted
        kth = np.partition(similarity, cut, axis=1)[:, cut]
        failing_neighbours[block] = (similarity[:, :len(chosen)] >= kth[:, None]).sum(axis=1)
    expected = math.floor(wanted * len(chosen) / len(pool))
    return (failing_neighbours > expected) | (2 * failing_neighbours >= wanted)
