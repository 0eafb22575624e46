"""How far reviewers agree: Cohen's kappa on verdicts, per-tag kappa, and correction similarity.

Why kappa and not the share of agreement: with most failures judged "hard example", two reviewers
agree often by chance alone; kappa = (observed - expected) / (1 - expected) counts only agreement
beyond what their own verdict frequencies predict. It is None when undefined (both reviewers gave
one and the same answer to everything, so expected agreement is 1).

What is compared: records judged (a verdict other than skip) by at least two reviewers, mostly the
blind second reviews of mining.review.second_review.
- per pair of reviewers: the two reviewers' answers on the records both judged;
- overall: each such record's first review against its second (by the time of their first verdict),
  whoever gave them, so the figure covers the whole team.
Per-tag kappa treats each tag as present/absent on those records. Correction similarity is the
token F1 of the two corrections (SQuAD style: lower-cased word tokens, overlap counted as a bag),
chosen over difflib's ratio because it ignores word order and costs linear time on long answers;
averaged over the records where both reviewers wrote one.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from operator import eq
from typing import Hashable, Sequence

from mining.review.state import NOT_A_REVIEW, REVIEWER_STATE
from mining.store import Workspace


def cohen_kappa(pairs: Sequence[tuple[Hashable, Hashable]]) -> float | None:
    """Cohen's kappa of two raters' labels, given as (rater 1, rater 2) per item; None if undefined."""
    if not pairs:
        return None
    n = len(pairs)
    firsts, seconds = zip(*pairs)  # counted by C loops: a team's agreement tab counts ~10^6 labels
    observed = sum(map(eq, firsts, seconds)) / n
    first, second = Counter(firsts), Counter(seconds)
    expected = sum(first[label] * second[label] for label in first) / (n * n)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


@lru_cache(maxsize=100_000)  # the same corrections are compared on every run of the Agreement tab
def token_f1(a: str, b: str) -> float:
    """Word-overlap F1 of two texts (1.0 identical words, 0.0 none shared; two empty texts: 1.0)."""
    left, right = _tokens(a), _tokens(b)
    if not left or not right:
        return float(left == right)
    common = sum((Counter(left) & Counter(right)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(left), common / len(right)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class Review:
    """One reviewer's judged review of one record, as agreement needs it."""

    reviewer: str
    verdict: str
    tags: frozenset[str]
    correction: str | None


@dataclass
class Agreement:
    """Agreement of one pair of reviewers (`reviewers`), or overall (`reviewers` is None)."""

    reviewers: tuple[str, str] | None
    records: int
    verdict_kappa: float | None
    verdict_agreement: float | None
    tag_kappa: dict[str, float | None] = field(default_factory=dict)
    correction_similarity: float | None = None
    corrections_compared: int = 0


def double_reviews(workspace: Workspace) -> dict[str, list[Review]]:
    """record id -> its judged reviews, first verdict first, for records with two or more."""
    rows = workspace.cursor().execute(f"""
        WITH s AS (SELECT * FROM {REVIEWER_STATE}),
        first AS (SELECT record_id, reviewer, min(event_at) AS first_at FROM review_events
                  WHERE action = 'verdict' GROUP BY ALL)
        SELECT record_id, reviewer, verdict, tags, correction FROM s JOIN first USING (record_id, reviewer)
        WHERE verdict IS NOT NULL AND verdict <> '{NOT_A_REVIEW}'
          AND record_id IN (SELECT record_id FROM s WHERE verdict IS NOT NULL AND verdict <> '{NOT_A_REVIEW}'
                            GROUP BY record_id HAVING count(*) >= 2)
        ORDER BY record_id, first_at, reviewer""").fetchall()
    reviews: dict[str, list[Review]] = {}
    for record_id, reviewer, verdict, tags, correction in rows:
        reviews.setdefault(record_id, []).append(Review(reviewer, verdict, frozenset(tags), correction))
    return reviews


def _agreement(reviewers: tuple[str, str] | None, pairs: list[tuple[Review, Review]]) -> Agreement:
    """Every figure for one list of (first, second) reviews of the same records."""
    verdicts = [(a.verdict, b.verdict) for a, b in pairs]
    used = sorted(set().union(*(a.tags | b.tags for a, b in pairs))) if pairs else []
    corrections = [token_f1(a.correction, b.correction) for a, b in pairs if a.correction and b.correction]
    return Agreement(
        reviewers, len(pairs), cohen_kappa(verdicts),
        sum(a == b for a, b in verdicts) / len(verdicts) if verdicts else None,
        {tag: cohen_kappa([(tag in a.tags, tag in b.tags) for a, b in pairs]) for tag in used},
        sum(corrections) / len(corrections) if corrections else None, len(corrections))


# The last report per workspace, with the version of what it was computed from (see _inputs_version).
_reports: dict[str, tuple[tuple, list[Agreement]]] = {}
_reports_lock = threading.Lock()


def _inputs_version(workspace: Workspace) -> tuple:
    """What agreement is computed from, in one cheap value: the log's events on the records two or
    more reviewers have touched (count, last and sum of their arrival numbers). The log only grows,
    so any event that can change the figures changes it, and a first review of a record does not."""
    return workspace.cursor().execute(f"""
        SELECT count(*), max(seq), sum(seq) FROM review_events WHERE record_id IN (
            SELECT record_id FROM {REVIEWER_STATE} GROUP BY record_id HAVING count(*) >= 2)""").fetchone()


def agreement_report(workspace: Workspace) -> list[Agreement]:
    """Overall agreement first, then one entry per pair of reviewers (names in alphabetical order).

    Kept per workspace until its inputs change: the Review page shows it on every run, and at tens of
    thousands of double reviews computing it takes about a second (treat the result as read-only)."""
    version = _inputs_version(workspace)
    with _reports_lock:
        kept = _reports.get(str(workspace.path))
    if kept is not None and kept[0] == version:
        return kept[1]
    report = _computed(workspace)
    with _reports_lock:
        _reports[str(workspace.path)] = (version, report)
    return report


def _computed(workspace: Workspace) -> list[Agreement]:
    reviews = double_reviews(workspace)
    overall = [(found[0], found[1]) for found in reviews.values()]
    by_pair: dict[tuple[str, str], list[tuple[Review, Review]]] = {}
    for found in reviews.values():
        for a, b in combinations(sorted(found, key=lambda review: review.reviewer), 2):
            by_pair.setdefault((a.reviewer, b.reviewer), []).append((a, b))
    return [_agreement(None, overall)] + [_agreement(pair, pairs) for pair, pairs in sorted(by_pair.items())]
