"""Failure kinds: what went wrong, read from the response side, across the modes of what was asked.

Why a second axis: a mode groups failures by the request (what users asked), but a model's wrong
answers often cut across requests: the same made-up hotline, the same "I'm sorry, I can't", the
same cut-off answer, whatever was asked. The mode x kind table shows that at a glance ("8 of 9
modes get the same made-up hotline"), and a fix for one kind fixes it in every mode.

How a failure gets its kind, in a way a reviewer can check:
1. When signals that say what the answer did fired (refusal, truncated, invalid JSON, tool error,
   a team's own rule...), the kind is that set of signals: "Refusal", "Truncated + Invalid JSON".
   Signals that only judge the call from outside (negative feedback, a slow call) say nothing about
   what went wrong, so they do not make a kind.
2. The other failures (a confident wrong answer shows no such signal) are grouped by the answer's
   words, numbers masked (an order number is a slot): answers whose TF-IDF vectors are alike
   (cosine >= SAME_ANSWER) join the group of the most common answer they resemble, and the group
   is named by its most common answer.
3. Groups smaller than the smallest kind worth naming, and any beyond MAX_KINDS, are "Other".
Reviewers' tags are not used to group (only reviewed calls have them, so they would split a kind
into its reviewed and unreviewed calls); the mode x kind view reports them per kind instead.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

OTHER = -1
SAME_ANSWER = 0.6
MAX_KINDS = 12
NAME_CHARACTERS = 60
# Signals that judge a call from outside (someone disliked it, it was slow): not what went wrong.
JUDGEMENT_SIGNALS = frozenset({"negative_feedback", "latency_outlier"})
BATCH = 512
DIGITS = re.compile(r"\d+")
MAX_LEADERS = 2000


@dataclass(frozen=True)
class Kind:
    """One failure kind: its name, the signals that define it (none for an answer kind), and how
    it was formed ('signals', 'answer' or 'other'); `example` is the row of its most typical call."""

    name: str
    signals: tuple[str, ...]
    basis: str
    size: int
    example: int


@dataclass(frozen=True)
class Kinds:
    """The kind of every failure (OTHER for the rest) and what each kind is."""

    labels: np.ndarray
    kinds: dict[int, Kind]


def smallest_kind(failures: int) -> int:
    """A kind recurs: at least 3 calls, and 1% of the failures in a big workspace."""
    return max(3, round(failures * 0.01))


def _normalised(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def _slots_masked(answer: str) -> str:
    """Numbers are slots (an order number, a date, an amount): two answers alike but for them are one."""
    return DIGITS.sub("0", answer)


def _answer_groups(answers: list[str]) -> np.ndarray:
    """A group per answer: each distinct answer, most common first, joins the most alike leader
    before it (cosine of TF-IDF word vectors >= SAME_ANSWER) or leads a new group.

    Compared a block at a time (against the leaders so far, then within the block), so a million
    alike answers cost a few matrix products; past MAX_LEADERS leaders an unmatched answer stays a
    group of its own without being compared against, which only ever leaves it in "Other"."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    counts = Counter(_slots_masked(answer) for answer in answers)
    distinct = sorted(counts, key=lambda answer: (-counts[answer], answer))
    try:
        vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                                  token_pattern=r"(?u)\b\w+\b").fit_transform(distinct)
    except ValueError:  # no words at all: every answer is its own group
        vectors = None
    group_of = np.arange(len(distinct))
    leaders: list[int] = []
    for start in range(0, len(distinct) if vectors is not None else 0, BATCH):
        rows = list(range(start, min(start + BATCH, len(distinct))))
        earlier = (vectors[rows] @ vectors[leaders].T).toarray() if leaders else np.zeros((len(rows), 0))
        within = (vectors[rows] @ vectors[rows].T).toarray()
        fresh: list[int] = []  # positions in `rows` of the leaders this block adds
        for offset, row in enumerate(rows):
            scores = np.concatenate([earlier[offset], within[offset, fresh]])
            best = int(np.argmax(scores)) if len(scores) else -1
            if best >= 0 and scores[best] >= SAME_ANSWER:
                leader = leaders[best] if best < len(leaders) else rows[fresh[best - len(leaders)]]
                group_of[row] = group_of[leader]
            elif len(leaders) + len(fresh) < MAX_LEADERS:
                fresh.append(offset)
        leaders.extend(rows[offset] for offset in fresh)
    position = {answer: index for index, answer in enumerate(distinct)}
    return np.array([group_of[position[_slots_masked(answer)]] for answer in answers])


def _shortened(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= NAME_CHARACTERS else text[:NAME_CHARACTERS - 1].rstrip() + "…"


def failure_kinds(answers: list[str | None], signals: list[frozenset[str]], labels: dict[str, str]) -> Kinds:
    """The kind of each failure from its answer text and the signals it raised (stored names);
    `labels` names signals for people (mining.detect.signal_labels)."""
    count = len(answers)
    minimum = smallest_kind(count)
    defining = [frozenset(fired - JUDGEMENT_SIGNALS) for fired in signals]
    free = [row for row in range(count) if not defining[row]]
    groups = _answer_groups([_normalised(answers[row]) for row in free]) if free else np.array([], dtype=int)
    answer_group = dict(zip(free, groups.tolist()))
    keys = [("signals", tuple(sorted(defining[row]))) if defining[row] else ("answer", answer_group[row])
            for row in range(count)]
    sizes = Counter(keys)
    kept = [key for key, size in sorted(sizes.items(), key=lambda item: (-item[1], str(item[0])))
            if size >= minimum][:MAX_KINDS]
    number = {key: index for index, key in enumerate(kept)}
    kind_labels = np.array([number.get(key, OTHER) for key in keys], dtype=np.int64)
    kinds: dict[int, Kind] = {}
    for key, index in number.items():
        rows = np.flatnonzero(kind_labels == index)
        if key[0] == "signals":
            name = " + ".join(labels.get(signal, signal) for signal in key[1])
            kinds[index] = Kind(name, key[1], "signals", len(rows), int(rows[0]))
        else:
            common = Counter(_normalised(answers[row]) for row in rows).most_common(1)[0][0]
            example = next(int(row) for row in rows if _normalised(answers[row]) == common)
            text = answers[example] or ""
            name = f"Answers “{_shortened(text)}”" if text.strip() else "No answer text"
            kinds[index] = Kind(name, (), "answer", len(rows), example)
    rest = np.flatnonzero(kind_labels == OTHER)
    if len(rest):
        kinds[OTHER] = Kind("Other failures", (), "other", len(rest), int(rest[0]))
    return Kinds(kind_labels, kinds)
