"""Which of this run's clusters is which of the last run's: stable ids, and the trend of each mode.

Why: clustering is re-run every week on more logs, and labels from an algorithm mean nothing from
one run to the next. A reviewer's rename, a mode's history and (later) its review tags hang on the
cluster id, so a new run must give a mode the id it had before. Two clusters are the same mode when
their centroids point the same way and they share members; the pairing that agrees best overall is
found with the Hungarian algorithm, so two new clusters never claim one old id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A pair counts as one mode when its score (mean of centroid cosine and member overlap) reaches
# this, or when either part alone is convincing.
MATCH_SCORE = 0.6
SAME_DIRECTION = 0.9
SAME_MEMBERS = 0.5
# Size change (members now over members before) that makes a mode growing or shrinking.
GROWING = 1.2
SHRINKING = 0.8


@dataclass(frozen=True)
class ClusterShape:
    """What identity is judged on: where a cluster points and whom it holds."""

    centroid: np.ndarray
    members: frozenset[str]


@dataclass(frozen=True)
class Identity:
    """A new cluster's lasting id and trend, and the previous id it continues (None when new)."""

    cluster_id: int
    status: str
    previous_id: int | None


def member_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared members over the smaller cluster's size: a mode that grew still overlaps fully."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def trend(size: int, previous_size: int) -> str:
    """growing, shrinking or stable, from the member count now and in the matched cluster before."""
    if previous_size <= 0:
        return "new"
    ratio = size / previous_size
    if ratio >= GROWING:
        return "growing"
    if ratio <= SHRINKING:
        return "shrinking"
    return "stable"


def match_clusters(new: dict[int, ClusterShape], previous: dict[int, ClusterShape],
                   next_id: int) -> tuple[dict[int, Identity], list[int]]:
    """Give each new cluster label an Identity; also return the previous ids no cluster continues.

    New modes get fresh ids counting up from `next_id` (never reused: an id once gone stays gone).
    """
    from scipy.optimize import linear_sum_assignment

    new_labels, old_ids = sorted(new), sorted(previous)
    pairs: dict[int, int] = {}
    if new_labels and old_ids:
        scores = np.zeros((len(new_labels), len(old_ids)))
        acceptable = np.zeros_like(scores, dtype=bool)
        for row, label in enumerate(new_labels):
            for column, old_id in enumerate(old_ids):
                cosine = float(np.dot(new[label].centroid, previous[old_id].centroid))
                overlap = member_overlap(new[label].members, previous[old_id].members)
                scores[row, column] = (cosine + overlap) / 2
                acceptable[row, column] = (scores[row, column] >= MATCH_SCORE or cosine >= SAME_DIRECTION
                                           or overlap >= SAME_MEMBERS)
        rows, columns = linear_sum_assignment(np.where(acceptable, scores, -1.0), maximize=True)
        pairs = {new_labels[row]: old_ids[column] for row, column in zip(rows, columns) if acceptable[row, column]}
    identities = {}
    for label in new_labels:
        if label in pairs:
            old_id = pairs[label]
            status = trend(len(new[label].members), len(previous[old_id].members))
            identities[label] = Identity(old_id, status, old_id)
        else:
            identities[label] = Identity(next_id, "new", None)
            next_id += 1
    gone = [old_id for old_id in old_ids if old_id not in pairs.values()]
    return identities, gone
