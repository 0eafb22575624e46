"""Merging modes that are one problem: the clusterer cut one group in two, or two close requests
fail in the same way.

Why not centroids alone: measured on three logs (bench/README.md, "Merging modes"), the centroid
cosine of two modes does not tell a split mode from two neighbouring intents. On Banking77 the most
similar pair of modes (0.83) is two different intents (card arrival, ordering a card) while halves
of one intent sit at 0.71-0.78. Two more kinds of evidence do tell them apart, and a merge needs the
centroids close (>= MergeRule.related) plus one of them:

- neighbours: the members of the two modes are each other's nearest neighbours (at least
  MergeRule.mixed of their nearest-neighbour links cross between them). Two intents, however close,
  keep their neighbours on their own side; one request phrased two ways does not.
- failures: the two modes fail the same way (the cosine of their failure-kind mixes is at least
  MergeRule.same_failure), in a log where kinds tell modes apart at all (the median of that cosine
  over all pairs is at most MergeRule.informative_kinds). Where the same wrong answers cut across
  every mode, failing alike says nothing, and only the neighbours count.

Merging is agglomerative: the closest qualifying pair of groups is merged, the merged group's centroid
and mixes are recomputed, and again, so a chain of loosely related modes does not collapse into one.
A reviewer's "keep apart" decision (two centroids) blocks any pair of groups that resemble its two
sides, in this run and every later one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mining.cluster.algorithms import NOISE

NEIGHBOURS = 10
SAME_SIDE = 0.9  # a group resembles a side of a "keep apart" decision at this centroid cosine
EXACT_BELOW = 8192  # points below which nearest neighbours are found exactly
NOT_FAILED = -2  # the kind of a row that did not fail (kinds.OTHER, -1, is a failure of no named kind)


@dataclass(frozen=True)
class MergeRule:
    """When two modes are one: see the module docstring for why each number."""

    related: float = 0.5
    mixed: float = 0.1
    same_failure: float = 0.9
    informative_kinds: float = 0.5


@dataclass(frozen=True)
class KeepApart:
    """A reviewer's decision that two groups are different problems, as their centroids."""

    first: np.ndarray
    second: np.ndarray


@dataclass(frozen=True)
class Part:
    """One mode as the clusterer found it, now part of a merged mode: its label before merging,
    how many members it has, how similar it is to the merged mode, and why it was merged."""

    label: int
    size: int
    similarity: float
    reason: str
    centroid: np.ndarray


@dataclass(frozen=True)
class Merged:
    """The labels after merging (a merged mode keeps the label of its largest part) and, for
    every mode made of several parts, those parts, largest first."""

    labels: np.ndarray
    parts: dict[int, list[Part]]


def nearest_neighbours(vectors: np.ndarray, graph: np.ndarray | None = None) -> np.ndarray:
    """The NEIGHBOURS nearest other points of every point (rows of unit vectors).

    `graph` is an approximate neighbour graph already computed for UMAP (mining.cluster.algorithms
    .neighbour_graph), reused when there is one; otherwise the search is exact, in blocks.
    """
    count = len(vectors)
    wanted = min(NEIGHBOURS, count - 1)
    if graph is not None:
        rows = np.arange(count)[:, None]
        unusable = (graph == rows) | (graph < 0)
        picked = np.take_along_axis(graph, np.argsort(unusable, axis=1, kind="stable"), axis=1)[:, :wanted]
        return np.where(picked < 0, rows, picked).astype(np.int64)
    if count > EXACT_BELOW:
        raise ValueError("nearest_neighbours needs the neighbour graph above EXACT_BELOW points")
    result = np.empty((count, wanted), dtype=np.int64)
    for start in range(0, count, 1024):
        similarity = vectors[start:start + 1024] @ vectors.T
        similarity[np.arange(len(similarity)), np.arange(start, start + len(similarity))] = -np.inf
        nearest = np.argpartition(-similarity, wanted - 1, axis=1)[:, :wanted]
        order = np.argsort(-np.take_along_axis(similarity, nearest, axis=1), axis=1)
        result[start:start + len(similarity)] = np.take_along_axis(nearest, order, axis=1)
    return result


class _Groups:
    """The groups being merged: members, centroid, kind mix of each, and how many nearest-neighbour
    links run from each group to each other (kept up to date as groups merge)."""

    def __init__(self, vectors: np.ndarray, labels: np.ndarray, kinds: np.ndarray | None,
                 neighbours: np.ndarray) -> None:
        self.vectors, self.labels, self.kinds = vectors, labels.copy(), kinds
        self.kind_count = 0 if kinds is None else int(kinds.max(initial=-1)) + 1
        self.per_point = neighbours.shape[1]
        found = sorted(int(label) for label in np.unique(labels) if label != NOISE)
        self.index = {label: position for position, label in enumerate(found)}
        position = np.array([self.index.get(int(label), -1) for label in labels])
        source, target = np.repeat(position, self.per_point), position[neighbours.ravel()]
        kept = (source >= 0) & (target >= 0)
        self.links = np.zeros((len(found), len(found)), dtype=np.int64)
        np.add.at(self.links, (source[kept], target[kept]), 1)
        self.sizes = np.bincount(position[position >= 0], minlength=len(found))

    def ids(self) -> list[int]:
        return list(self.index)

    def centroid(self, label: int) -> np.ndarray:
        mean = self.vectors[self.labels == label].mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)

    def kind_mix(self, label: int) -> np.ndarray:
        """Unit vector of how many of the group's failures are of each kind ('Other' included)."""
        if self.kinds is None:
            return np.zeros(0)
        kinds = self.kinds[(self.labels == label) & (self.kinds != NOT_FAILED)]
        mix = np.bincount(kinds + 1, minlength=self.kind_count + 1).astype(np.float64)
        return mix / max(float(np.linalg.norm(mix)), 1e-12)

    def mixing(self, first: int, second: int) -> float:
        """The share of the two groups' nearest-neighbour links that cross from one to the other."""
        a, b = self.index[first], self.index[second]
        return float((self.links[a, b] + self.links[b, a]) / (self.per_point * (self.sizes[a] + self.sizes[b])))

    def merge(self, kept: int, absorbed: int) -> None:
        """Make `absorbed` part of `kept`."""
        a, b = self.index[kept], self.index.pop(absorbed)
        self.labels[self.labels == absorbed] = kept
        self.links[a] += self.links[b]
        self.links[:, a] += self.links[:, b]
        self.links[b], self.links[:, b] = 0, 0
        self.sizes[a] += self.sizes[b]
        self.sizes[b] = 0


def _blocked(first: list[np.ndarray], second: list[np.ndarray], decisions: list[KeepApart]) -> bool:
    """Whether a reviewer kept a part of one group (its centroid before merging) apart from a part
    of the other."""
    for decision in decisions:
        for one in first:
            for other in second:
                if ((one @ decision.first >= SAME_SIDE and other @ decision.second >= SAME_SIDE)
                        or (one @ decision.second >= SAME_SIDE and other @ decision.first >= SAME_SIDE)):
                    return True
    return False


def merge_modes(vectors: np.ndarray, labels: np.ndarray, kinds: np.ndarray | None, neighbours: np.ndarray,
                rule: MergeRule = MergeRule(), keep_apart: list[KeepApart] | None = None) -> Merged:
    """Merge the modes that are one problem (module docstring).

    vectors: unit rows; labels: each row's mode (NOISE for none); kinds: each row's failure kind
    (kinds.OTHER for 'Other', NOT_FAILED for a row that did not fail; None when nothing is known of
    the failures); neighbours: each row's nearest other rows (nearest_neighbours).
    """
    groups = _Groups(vectors, labels, kinds, neighbours)
    decisions = keep_apart or []
    ids = groups.ids()
    centres = {label: groups.centroid(label) for label in ids}
    mixes = {label: groups.kind_mix(label) for label in ids}
    kind_evidence = kinds is not None and _kinds_tell_modes_apart(list(mixes.values()), rule)
    original = {label: (int(np.sum(labels == label)), centres[label]) for label in ids}
    made_of = {label: [centres[label]] for label in ids}
    reasons: dict[int, str] = {}
    while len(ids) > 1:
        matrix = np.array([centres[label] for label in ids])
        similarity = matrix @ matrix.T
        pairs = sorted(zip(*np.nonzero(np.triu(similarity >= rule.related, k=1))), key=lambda ij: -similarity[ij])
        best = next(((ids[i], ids[j], reason) for i, j in pairs
                     if (reason := _evidence(groups, ids[i], ids[j], mixes, kind_evidence, rule))
                     and not _blocked(made_of[ids[i]], made_of[ids[j]], decisions)), None)
        if best is None:
            break
        first, second, reason = best
        kept, absorbed = sorted((first, second), key=lambda label: (-groups.sizes[groups.index[label]], label))
        groups.merge(kept, absorbed)
        reasons[absorbed] = reason
        reasons.setdefault(kept, reason)
        ids.remove(absorbed)
        centres[kept], mixes[kept] = groups.centroid(kept), groups.kind_mix(kept)
        made_of[kept] += made_of.pop(absorbed)
        del centres[absorbed], mixes[absorbed]
    return Merged(groups.labels, _parts(labels, groups.labels, original, centres, reasons))


def _kinds_tell_modes_apart(mixes: list[np.ndarray], rule: MergeRule) -> bool:
    """Whether modes fail in different ways in this log: the median kind-mix cosine over all pairs
    is at most rule.informative_kinds."""
    if len(mixes) < 3:
        return False
    matrix = np.array(mixes)
    similarity = matrix @ matrix.T
    return float(np.median(similarity[np.triu_indices(len(mixes), k=1)])) <= rule.informative_kinds


def _evidence(groups: _Groups, first: int, second: int, mixes: dict[int, np.ndarray], kind_evidence: bool,
              rule: MergeRule) -> str | None:
    """Why two close groups are one problem ('neighbours' or 'failures'), or None when they are not."""
    if groups.mixing(first, second) >= rule.mixed:
        return "neighbours"
    if kind_evidence and float(mixes[first] @ mixes[second]) >= rule.same_failure:
        return "failures"
    return None


def _parts(before: np.ndarray, after: np.ndarray, original: dict[int, tuple[int, np.ndarray]],
           centres: dict[int, np.ndarray], reasons: dict[int, str]) -> dict[int, list[Part]]:
    """For each merged mode, the modes it was made of, largest first."""
    parts: dict[int, list[Part]] = {}
    for label, (size, centre) in original.items():
        merged = int(after[np.flatnonzero(before == label)[0]])
        parts.setdefault(merged, []).append(Part(label, size, float(centre @ centres[merged]),
                                                 reasons.get(label, ""), centre))
    return {merged: sorted(found, key=lambda part: (-part.size, part.label))
            for merged, found in parts.items() if len(found) > 1}
