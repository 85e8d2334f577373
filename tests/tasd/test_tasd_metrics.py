"""Metrics by hand, and the closed-form expected dropped nonzeros against the code."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from sparsim.errors import SparsimError
from sparsim.tasd import (
    decompose,
    dropped_nonzeros,
    effective_density,
    evaluate,
    expected_dropped_nonzeros,
    kept_magnitude,
    mac_reduction_vs_dense,
    mac_reduction_vs_unstructured,
    mse,
    nonzero_density,
    parse_series,
    relative_error,
    relative_matmul_error,
)


def test_metrics_by_hand():
    x = np.array([[3.0, -4.0, 0.0, 0.0]])
    approx = np.array([[0.0, -4.0, 0.0, 0.0]])
    assert nonzero_density(x) == 0.5
    assert dropped_nonzeros(x, approx) == 0.5
    assert kept_magnitude(x, approx) == pytest.approx(4 / 7)
    assert mse(x, approx) == pytest.approx(9 / 4)
    assert relative_error(x, approx) == pytest.approx(3 / 5)


def test_relative_matmul_error_by_hand():
    a = np.eye(2)
    approx = np.array([[1.0, 0.0], [0.0, 0.0]])
    assert relative_matmul_error(a, approx, np.eye(2)) == pytest.approx(1 / math.sqrt(2))
    b = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]])
    # (A - A*) B = [[0, 0, 0], [0, 2, 2]]; A B = B.
    assert relative_matmul_error(a, approx, b) == pytest.approx(math.sqrt(8) / math.sqrt(10))
    with pytest.raises(SparsimError, match=r"b: A @ B needs B of shape \(K, \.\.\.\) with K = 2"):
        relative_matmul_error(a, approx, np.ones((3, 2)))


def test_mac_figures():
    assert effective_density("2:4+2:8") == 0.75
    assert mac_reduction_vs_dense("2:4") == 2.0
    assert mac_reduction_vs_dense("none") == math.inf
    x = np.array([[1.0, 0.0, 0.0, 0.0]])
    assert mac_reduction_vs_unstructured(x, "2:4") == 0.5  # 25% nonzeros vs 50% executed


def test_evaluate_prefixes_by_hand():
    x = np.array([[4.0, -1.0, 3.0, 2.0]], np.float32)
    d = decompose(x, "2:4+1:4")
    one = evaluate(x, d, n_terms=1)
    assert one.series == "2:4"
    assert one.dropped_nonzeros == 0.5
    assert one.kept_magnitude == pytest.approx(7 / 10)
    both = evaluate(x, d, b=np.eye(4))
    assert both.series == "2:4+1:4"
    assert both.kept_magnitude == pytest.approx(9 / 10)
    assert both.relative_matmul_error == pytest.approx(1 / math.sqrt(30))
    assert both.effective_density == 0.75
    assert evaluate(x, d, n_terms=0).dropped_nonzeros == 1.0
    with pytest.raises(SparsimError, match="n_terms: must be between 0 and 2"):
        evaluate(x, d, n_terms=3)


def test_metrics_accept_torch():
    x = torch.tensor([[3.0, -4.0, 0.0, 0.0]])
    approx = torch.tensor([[0.0, -4.0, 0.0, 0.0]])
    assert dropped_nonzeros(x, approx) == 0.5


def single_term_closed_form(d: float, n: int, m: int) -> float:
    """E[(K - N)+] / E[K] with K ~ Binomial(M, d): the derivation in docs/tasd.md."""
    expected = sum(
        (k - n) * math.comb(m, k) * d**k * (1 - d) ** (m - k) for k in range(n + 1, m + 1)
    )
    return expected / (m * d)


@pytest.mark.parametrize("d", [0.05, 0.1, 0.3, 0.5, 0.75, 0.9, 1.0])
@pytest.mark.parametrize(("n", "m"), [(1, 4), (2, 4), (3, 4), (1, 8), (2, 8), (4, 8), (2, 16)])
def test_closed_form_for_one_term(d, n, m):
    assert expected_dropped_nonzeros(d, f"{n}:{m}") == pytest.approx(
        single_term_closed_form(d, n, m)
    )


def test_closed_form_known_values():
    assert expected_dropped_nonzeros(1.0, "2:4") == pytest.approx(0.5)
    assert expected_dropped_nonzeros(1.0, "2:4+2:8") == pytest.approx(0.25)
    assert expected_dropped_nonzeros(1.0, "2:4+2:8+2:16") == pytest.approx(0.125)
    assert expected_dropped_nonzeros(0.5, "2:4") == pytest.approx(6 / 16 / 2)
    assert expected_dropped_nonzeros(0.3, "dense") == 0.0
    assert expected_dropped_nonzeros(0.3, "none") == 1.0
    with pytest.raises(SparsimError, match="nested"):
        expected_dropped_nonzeros(0.5, "2:8+2:4")
    with pytest.raises(SparsimError, match=r"density: must be in \(0, 1\]"):
        expected_dropped_nonzeros(0.0, "2:4")


@pytest.mark.parametrize("series", ["2:4", "1:8", "3:8", "2:4+2:8", "1:2+1:4+2:8", "4:8+1:8"])
@pytest.mark.parametrize("d", [0.2, 0.5, 0.8])
def test_closed_form_equals_the_code_on_every_mask(series, d):
    """Exact, not statistical: run the decomposition on all 2^M nonzero patterns of one
    block of the last M and weight each by its Bernoulli(d) probability."""
    parsed = parse_series(series)
    m = parsed.patterns[-1].m
    masks = np.array(list(itertools.product([0, 1], repeat=m)), bool)
    values = np.random.default_rng(0).uniform(0.5, 1.5, masks.shape) * masks
    residual = decompose(values, parsed).residual
    nonzeros = masks.sum(axis=1)
    weights = d**nonzeros * (1 - d) ** (m - nonzeros)
    expected_dropped = np.dot(weights, np.count_nonzero(residual, axis=1))
    assert expected_dropped / (m * d) == pytest.approx(
        expected_dropped_nonzeros(d, parsed), rel=1e-12
    )


def test_closed_form_matches_a_large_sample():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((512, 512)) * (rng.random((512, 512)) < 0.6)
    measured = dropped_nonzeros(x, decompose(x, "2:4+2:8").approximation)
    assert measured == pytest.approx(expected_dropped_nonzeros(0.6, "2:4+2:8"), abs=0.004)
