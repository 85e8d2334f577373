"""How good a structured approximation is, and what it costs in MACs.

All fractions are in [0, 1] (the CLI and the study print percent). ``approximation`` is
any tensor of the shape of ``x``; for a TASD decomposition it is the sum of the terms.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sparsim.errors import SparsimError, SpecError
from sparsim.tasd._arrays import as_float64
from sparsim.tasd.decompose import Decomposition
from sparsim.tasd.series import Pattern, Series, as_series


def _pair(x: Any, approximation: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = as_float64(x, "x"), as_float64(approximation, "approximation")
    if a.shape != b.shape:
        raise SparsimError(
            f"shape {b.shape} differs from the shape {a.shape} of x", "approximation"
        )
    return a, b


def nonzero_density(x: Any) -> float:
    """Fraction of nonzero entries."""
    values = as_float64(x)
    return int(np.count_nonzero(values)) / values.size if values.size else 0.0


def dropped_nonzeros(x: Any, approximation: Any) -> float:
    """Fraction of the nonzeros of x that the approximation sets to zero."""
    a, b = _pair(x, approximation)
    nonzero = a != 0
    total = int(np.count_nonzero(nonzero))
    return int(np.count_nonzero(nonzero & (b == 0))) / total if total else 0.0


def kept_magnitude(x: Any, approximation: Any) -> float:
    """Fraction of the total magnitude (sum of |x|) the approximation keeps."""
    a, b = _pair(x, approximation)
    total = np.abs(a).sum()
    return float(np.abs(b).sum() / total) if total else 1.0


def mse(x: Any, approximation: Any) -> float:
    a, b = _pair(x, approximation)
    return float(np.mean((a - b) ** 2)) if a.size else 0.0


def relative_error(x: Any, approximation: Any) -> float:
    """``||x - approximation||_F / ||x||_F``."""
    a, b = _pair(x, approximation)
    return _ratio(np.linalg.norm(a - b), np.linalg.norm(a))


def relative_matmul_error(a: Any, approximation: Any, b: Any) -> float:
    """``||(A - A*) B||_F / ||A B||_F`` for ``A @ B`` with ``B`` of shape ``(K, ...)``."""
    exact, approx = _pair(a, approximation)
    right = as_float64(b, "b")
    if exact.ndim < 1 or right.ndim < 1 or exact.shape[-1] != right.shape[0]:
        raise SpecError(
            f"A @ B needs B of shape (K, ...) with K = {exact.shape[-1] if exact.ndim else '?'}, "
            f"got {right.shape}",
            "b",
        )
    return _ratio(np.linalg.norm((exact - approx) @ right), np.linalg.norm(exact @ right))


def _ratio(numerator: float, denominator: float) -> float:
    if denominator:
        return float(numerator / denominator)
    return 0.0 if not numerator else math.inf


def effective_density(series: Series | Pattern | str) -> float:
    """Fraction of dense MACs the structured terms execute (sum of N/M)."""
    return as_series(series, max_terms=None).density


def mac_reduction_vs_dense(series: Series | Pattern | str) -> float:
    """Dense MACs / TASD MACs (2.0 for 2:4)."""
    density = effective_density(series)
    return 1 / density if density else math.inf


def mac_reduction_vs_unstructured(x: Any, series: Series | Pattern | str) -> float:
    """MACs of an ideal unstructured engine that skips every zero of x / TASD MACs.

    Below 1, the structured terms execute more MACs than x has nonzeros.
    """
    density = effective_density(series)
    ideal = nonzero_density(x)
    if density:
        return ideal / density
    return math.inf if ideal else 1.0


@dataclass(frozen=True)
class TasdMetrics:
    series: str
    nonzero_density: float
    dropped_nonzeros: float
    kept_magnitude: float
    mse: float
    relative_error: float
    relative_matmul_error: float | None
    effective_density: float
    mac_reduction_vs_dense: float
    mac_reduction_vs_unstructured: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(
    x: Any, decomposition: Decomposition, b: Any | None = None, n_terms: int | None = None
) -> TasdMetrics:
    """All metrics of ``decomposition`` of ``x``; ``n_terms`` keeps only the first terms
    (to see what each added term buys); ``b`` enables the relative matmul error."""
    series = decomposition.series
    terms = decomposition.terms
    if n_terms is not None:
        if not 0 <= n_terms <= len(terms):
            raise SparsimError(f"must be between 0 and {len(terms)}, got {n_terms}", "n_terms")
        terms = terms[:n_terms]
        if not series.is_dense or n_terms == 0:
            series = Series(series.patterns[:n_terms])
    approximation = sum((as_float64(t) for t in terms), start=np.zeros(as_float64(x).shape))
    return TasdMetrics(
        series=str(series),
        nonzero_density=nonzero_density(x),
        dropped_nonzeros=dropped_nonzeros(x, approximation),
        kept_magnitude=kept_magnitude(x, approximation),
        mse=mse(x, approximation),
        relative_error=relative_error(x, approximation),
        relative_matmul_error=None if b is None else relative_matmul_error(x, approximation, b),
        effective_density=series.density,
        mac_reduction_vs_dense=mac_reduction_vs_dense(series),
        mac_reduction_vs_unstructured=mac_reduction_vs_unstructured(x, series),
    )


def expected_dropped_nonzeros(density: float, series: Series | Pattern | str) -> float:
    """Exact expected fraction of nonzeros a nested series drops, for i.i.d. nonzeros.

    Every entry is nonzero with probability ``density`` independently (a Bernoulli mask
    with continuous values, so nonzeros never equal zero). A term keeps min(K, N) of the
    K nonzeros left in a block, whatever their values, so only counts matter. For one
    N:M term, K ~ Binomial(M, d) and

        E[dropped] / E[nonzeros] = sum_{k=N+1..M} (k - N) C(M, k) d^k (1-d)^(M-k) / (M d).

    For a nested series (each M divides the next, e.g. 2:4+2:8+2:16) the count left in a
    block of the next term is the sum of the counts left in its sub-blocks: the
    distribution is convolved, then truncated by the next N.
    """
    series = as_series(series, max_terms=None)
    if not 0 < density <= 1:
        raise SparsimError(f"must be in (0, 1], got {density}", "density")
    if series.is_dense:
        return 0.0
    if not series.patterns:
        return 1.0
    if not series.is_nested:
        raise SparsimError(
            "the closed form needs each block size to divide the next (nested series)",
            f"series '{series}'",
        )
    left = np.array([1 - density, density])  # distribution of the count in one element
    block = 1
    for pattern in series.patterns:
        sub_block = left
        for _ in range(pattern.m // block - 1):
            left = np.convolve(left, sub_block)
        block = pattern.m
        # The term keeps min(count, N): the count left is max(count - N, 0).
        left = np.concatenate(([left[: pattern.n + 1].sum()], left[pattern.n + 1 :]))
    expected_left = float(np.dot(np.arange(left.size), left))
    return expected_left / (block * density)
