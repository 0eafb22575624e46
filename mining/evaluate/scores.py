"""Scores of an evaluation run, and the comparison of two runs, with bootstrap confidence intervals.

Why these three figures: accuracy alone rewards guessing (a wrong guess costs no more than
silence), so next to it stand

- the omniscience index: +1 per correct answer, -1 per incorrect one, 0 per abstention, averaged
  and scaled to -100..100; a model that guesses when it does not know scores below one that says
  so;
- the hallucination rate: incorrect / (incorrect + abstained), how often the model, when it does not
  give the right answer, makes one up instead of abstaining (undefined when it was never wrong).

Why bootstrap intervals: golden sets are small (tens to hundreds of items, a handful per failure
mode), and a 4-point difference between two runs may be noise. Items are resampled with
replacement (2,000 times, fixed seed, so a report shows the same interval every time); a
comparison resamples the items both runs answered, pairing them, so the interval is of the
difference itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

POINTS = {"correct": 1, "incorrect": -1, "abstained": 0}
RESAMPLES = 2000
SEED = 0
LEVEL = 0.95


def accuracy(points: np.ndarray) -> np.ndarray:
    """Share correct, along the last axis (one figure per resample when given a matrix)."""
    return np.mean(points == 1, axis=-1)


def omniscience_index(points: np.ndarray) -> np.ndarray:
    return 100.0 * np.mean(points, axis=-1)


def hallucination_rate(points: np.ndarray) -> np.ndarray:
    misses = np.sum(points <= 0, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(misses > 0, np.sum(points == -1, axis=-1) / np.maximum(misses, 1), np.nan)


METRICS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "accuracy": accuracy, "omniscience_index": omniscience_index, "hallucination_rate": hallucination_rate}
INTERVAL_KEYS = {"accuracy": "accuracy_ci", "omniscience_index": "omniscience_ci",
                 "hallucination_rate": "hallucination_ci"}


def points_of(verdicts: list[str]) -> np.ndarray:
    return np.array([POINTS[verdict] for verdict in verdicts], dtype=np.int8)


def _interval(samples: np.ndarray) -> list[float] | None:
    kept = samples[~np.isnan(samples)]
    if len(kept) < RESAMPLES // 2:  # undefined in most resamples (e.g. a run that was never wrong)
        return None
    tail = (1 - LEVEL) / 2 * 100
    return [round(float(np.percentile(kept, tail)), 4), round(float(np.percentile(kept, 100 - tail)), 4)]


def _resamples(size: int) -> np.ndarray:
    """Row i: the item indices of resample i (the same for every call of a given size)."""
    return np.random.default_rng(SEED).integers(0, size, size=(RESAMPLES, size))


def _value(value: float | np.ndarray) -> float | None:
    return None if np.isnan(value) else round(float(value), 4)


def score(verdicts: list[str]) -> dict[str, Any]:
    """n, the counts of each verdict, and each metric with its interval (INTERVAL_KEYS)."""
    points = points_of(verdicts)
    result: dict[str, Any] = {"n": len(points), "correct": int(np.sum(points == 1)),
                              "incorrect": int(np.sum(points == -1)), "abstained": int(np.sum(points == 0))}
    picks = _resamples(len(points)) if len(points) else None
    for name, metric in METRICS.items():
        result[name] = _value(metric(points)) if len(points) else None
        result[INTERVAL_KEYS[name]] = _interval(metric(points[picks])) if picks is not None else None
    return result


def grouped_scores(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Scores overall, per failure mode and per tag; `items` carry verdict, cluster_id, cluster, tags."""
    clusters: dict[str, list[dict[str, Any]]] = {}
    tags: dict[str, list[str]] = {}
    for item in items:
        clusters.setdefault(str(item["cluster_id"]), []).append(item)
        for tag in item["tags"]:
            tags.setdefault(tag, []).append(item["verdict"])
    return {"overall": score([item["verdict"] for item in items]),
            "clusters": {key: {"name": members[0]["cluster"], **score([m["verdict"] for m in members])}
                         for key, members in sorted(clusters.items(), key=lambda kv: int(kv[0]))},
            "tags": {tag: score(verdicts) for tag, verdicts in sorted(tags.items())}}


@dataclass(frozen=True)
class Delta:
    """One metric of run B minus run A over the items both answered, with its paired interval."""

    metric: str
    a: float | None
    b: float | None
    delta: float | None
    ci: list[float] | None


def deltas(a_verdicts: list[str], b_verdicts: list[str]) -> list[Delta]:
    """B - A for each metric over paired items (same order in both lists)."""
    a, b = points_of(a_verdicts), points_of(b_verdicts)
    picks = _resamples(len(a)) if len(a) else None
    result = []
    for name, metric in METRICS.items():
        if picks is None:
            result.append(Delta(name, None, None, None, None))
            continue
        value_a, value_b = metric(a), metric(b)
        result.append(Delta(name, _value(value_a), _value(value_b), _value(value_b - value_a),
                            _interval(metric(b[picks]) - metric(a[picks]))))
    return result


def format_figure(value: float | None, interval: list[float] | None, percent: bool) -> str:
    """A figure and its interval as people read it: "63.6% [36.4, 90.9]", "27.3 [-27.3, 81.8]", "n/a"."""
    if value is None:
        return "n/a"
    scale, unit = (100.0, "%") if percent else (1.0, "")
    text = f"{value * scale:.1f}{unit}"
    return text + (f" [{interval[0] * scale:.1f}, {interval[1] * scale:.1f}]" if interval else "")
