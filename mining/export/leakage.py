"""Leakage: training records whose input is the same as, or nearly the same as, a golden input.

Why near duplicates too: production traffic repeats itself with small changes (a greeting, a
name, a region), and a model trained on "reset my password please" scores well on the golden
"how do I reset my password" by memory, not by skill. The comparison uses the cached embeddings of
the request text (the workspace's model), so it costs one matrix product; texts not cached yet
are embedded first. Exact duplicates (the same request, ignoring case and spacing) are caught even
when a record has no vector.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mining.common import Progress
from mining.embed import embedding_settings, vectors_for
from mining.export.selection import Example
from mining.store import Workspace

DEFAULT_THRESHOLD = 0.92


@dataclass(frozen=True)
class Leak:
    """A training candidate kept out: the golden record it resembles and how closely."""

    record_id: str
    source_id: str
    golden_id: str
    similarity: float
    exact: bool

    @property
    def reason(self) -> str:
        if self.exact:
            return f"same input as golden item {self.golden_id}"
        return f"near duplicate of golden item {self.golden_id} (cosine {self.similarity:.3f})"


def _normalised(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def find_leaks(workspace: Workspace, candidates: list[Example], golden: list[Example],
               threshold: float = DEFAULT_THRESHOLD, progress: Progress | None = None) -> list[Leak]:
    """The candidates (never golden themselves) whose request equals a golden request, or whose
    cosine similarity to one is at least `threshold`; each with its closest golden item."""
    golden_ids = {example.record_id for example in golden}
    candidates = [example for example in candidates if example.record_id not in golden_ids]
    if not candidates or not golden:
        return []
    by_text: dict[str, Example] = {}
    for example in golden:
        by_text.setdefault(_normalised(example.request_text or example.source_id), example)
    settings = replace(embedding_settings(workspace), text="request")
    vectors = vectors_for(workspace, [e.record_id for e in candidates] + [e.record_id for e in golden], settings, progress)
    row_of = {record_id: row for row, record_id in enumerate(vectors.record_ids)}
    golden_rows = [(example, row_of[example.record_id]) for example in golden if example.record_id in row_of]
    golden_matrix = vectors.matrix[[row for _, row in golden_rows]] if golden_rows else None
    leaks = []
    for example in candidates:
        twin = by_text.get(_normalised(example.request_text)) if example.request_text else None
        if twin is not None:
            leaks.append(Leak(example.record_id, example.source_id, twin.source_id, 1.0, True))
            continue
        if golden_matrix is None or example.record_id not in row_of:
            continue
        similarities = golden_matrix @ vectors.matrix[row_of[example.record_id]]
        best = int(np.argmax(similarities))
        if similarities[best] >= threshold:
            leaks.append(Leak(example.record_id, example.source_id, golden_rows[best][0].source_id,
                              round(float(similarities[best]), 4), False))
    return leaks


def twin_counts(workspace: Workspace, candidates: list[Example], threshold: float = DEFAULT_THRESHOLD,
                progress: Progress | None = None) -> dict[str, int]:
    """For each candidate, how many other candidates the leak guard would keep out of training were it
    golden: those with the same request (ignoring case and spacing) or a cosine of at least `threshold`.

    Why: a hold-out that draws a golden item from a request asked twenty ways loses the other
    nineteen from training. Drawing the candidates with the fewest twins keeps the training set.
    """
    if len(candidates) < 2:
        return {example.record_id: 0 for example in candidates}
    settings = replace(embedding_settings(workspace), text="request")
    vectors = vectors_for(workspace, [example.record_id for example in candidates], settings, progress)
    row_of = {record_id: row for row, record_id in enumerate(vectors.record_ids)}
    has_vector = np.array([example.record_id in row_of for example in candidates])
    matrix = np.zeros((len(candidates), vectors.matrix.shape[1] if len(vectors.matrix) else 1), dtype=np.float32)
    matrix[has_vector] = vectors.matrix[[row_of[e.record_id] for e in candidates if e.record_id in row_of]]
    texts = np.array([_normalised(example.request_text) for example in candidates])
    counts = np.zeros(len(candidates), dtype=np.int64)
    for start in range(0, len(candidates), 1024):  # 1024 x n at a time, never n x n
        block = slice(start, start + 1024)
        twins = (matrix[block] @ matrix.T >= threshold) & has_vector[block, None] & has_vector[None, :]
        twins |= (texts[block, None] == texts[None, :]) & (texts[block, None] != "")
        twins[np.arange(len(twins)), np.arange(start, start + len(twins))] = False
        counts[block] = twins.sum(axis=1)
    return {example.record_id: int(count) for example, count in zip(candidates, counts)}
