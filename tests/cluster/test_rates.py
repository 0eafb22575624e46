"""mining.cluster.rates: a mode's failure rate counts the passing calls of its own kind, not those of
the kinds around it (the ball around the centre counted whole neighbouring kinds)."""

from __future__ import annotations

import numpy as np
import pytest

from mining.cluster.rates import mode_rates, wilson


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def kinds_of_request(seed: int = 0):
    """Three kinds of request as tight groups of unit vectors: A, and B right beside it, and C far
    off. A fails 80% of the time, B 5%, C 2%; a few failures of B were attached to A's mode."""
    rng = np.random.default_rng(seed)
    dimensions = 48
    a = unit(rng.normal(size=(1, dimensions)))[0]
    b = unit((a + 0.9 * unit(rng.normal(size=(1, dimensions)))[0])[None])[0]  # a neighbour of A
    c = unit(rng.normal(size=(1, dimensions)))[0]

    def calls(centre: np.ndarray, n: int) -> np.ndarray:
        return unit(centre + 0.35 * rng.normal(size=(n, dimensions)) / np.sqrt(dimensions) * 3)

    kinds = {"A": (calls(a, 100), 0.8), "B": (calls(b, 400), 0.05), "C": (calls(c, 600), 0.02)}
    failing, labels, passing, true_rate = [], [], [], {}
    for name, (vectors, rate) in kinds.items():
        failed = rng.random(len(vectors)) < rate
        true_rate[name] = float(failed.mean())
        failing.append(vectors[failed])
        labels.append(np.full(failed.sum(), 0 if name != "C" else 1))  # B's few failures sit in A's mode
        passing.append(vectors[~failed])
    matrix, labels = np.vstack(failing), np.concatenate(labels)
    centres = {label: unit(matrix[labels == label].mean(0)[None])[0] for label in (0, 1)}
    return matrix, labels, centres, np.vstack(passing), true_rate


def test_a_mode_beside_another_kind_of_request_keeps_its_own_rate():
    matrix, labels, centres, passing, true_rate = kinds_of_request()
    rates = mode_rates(matrix, labels, centres, passing, passing_scale=1.0)
    # A's failures over A's calls (about 0.8); counting B's passing calls as A's would give about 0.17
    assert abs(rates[0].rate - true_rate["A"]) <= 0.1, (rates[0], true_rate)
    assert rates[0].low <= rates[0].rate <= rates[0].high
    # B's passing calls are B's, not A's: the passing calls said to be A's are about A's own
    assert rates[0].passing < 60


@pytest.mark.parametrize("seed", [1, 2])
def test_the_estimate_holds_for_other_draws(seed):
    matrix, labels, centres, passing, true_rate = kinds_of_request(seed)
    assert abs(mode_rates(matrix, labels, centres, passing, 1.0)[0].rate - true_rate["A"]) <= 0.1


def test_a_sample_of_passing_calls_stands_for_all_of_them():
    matrix, labels, centres, passing, _ = kinds_of_request()
    whole = mode_rates(matrix, labels, centres, passing, 1.0)[0]
    half = mode_rates(matrix, labels, centres, passing[::2], 2.0)[0]
    assert abs(whole.rate - half.rate) <= 0.1


def test_no_passing_calls_means_every_call_of_the_mode_failed():
    matrix, labels, centres, _, _ = kinds_of_request()
    rate = mode_rates(matrix, labels, centres, np.zeros((0, matrix.shape[1])), 1.0)[0]
    assert rate.rate == 1.0 and rate.passing == 0.0 and rate.low < 1.0


def test_the_wilson_interval_matches_a_hand_computed_one():
    low, high = wilson(8, 10)  # p = 0.8, n = 10, z = 1.96: (0.490, 0.943)
    assert (round(low, 3), round(high, 3)) == (0.49, 0.943)
    assert wilson(0, 0) == (0.0, 1.0)
