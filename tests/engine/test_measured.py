"""Measured tensors: Timeloop's real-data masks, the computes two measured operands really
share, and metadata counted from the real tiles."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsim.analysis.density import (
    DensityModel,
    _counted_fraction,
    density_model,
    effectual_fraction,
)
from sparsim.analysis.nest import view
from sparsim.errors import SpecError
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.workload import Conv, Gemm


def _brute(problem, masks) -> float:
    """Every operation point, one by one."""
    found = 0
    for point in itertools.product(*(range(n) for n in problem.dims.values())):
        at = dict(zip(problem.dims, point, strict=True))
        found += all(
            masks[t][tuple(sum(c * at[d] for d, c in rank) for rank in problem.tensors[t].ranks)]
            for t in masks
        )
    return found / math.prod(problem.dims.values())


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 5), st.randoms())
def test_shared_computes_of_a_gemm(m, n, k, random):
    problem = view(Gemm(M=m, N=n, K=k).problem())
    rng = np.random.default_rng(random.randint(0, 2**32 - 1))
    masks = {t: rng.random(problem.full_extents(t)) < 0.5 for t in ("A", "B")}
    assert effectual_fraction(problem, masks) == pytest.approx(_brute(problem, masks))


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(1, 2), st.randoms())
def test_shared_computes_of_a_strided_convolution(c, r, stride, dilation, random):
    conv = Conv(C=c, out_channels=2, P=3, Q=2, R=r, S=2, stride=stride, dilation=dilation)
    problem = view(conv.problem())
    rng = np.random.default_rng(random.randint(0, 2**32 - 1))
    masks = {t: rng.random(problem.full_extents(t)) < 0.6 for t in ("Weights", "Inputs")}
    assert _counted_fraction(problem, masks) == pytest.approx(_brute(problem, masks))
    assert effectual_fraction(problem, masks) == pytest.approx(_brute(problem, masks))


def test_a_timeloop_mask_lists_the_first_rank_fastest(tmp_path):
    """'0111' over a 2 x 2 tensor in Timeloop's order: element (0, 0) is the zero."""
    path = tmp_path / "mask.txt"
    path.write_text("01\n11\n")
    spec = TensorDensity(distribution="measured", density=0.75, measured=str(path))
    model = density_model(spec, (2, 2))
    assert model.mask.tolist() == [[False, True], [True, True]]
    path.write_text("0121")
    with pytest.raises(SpecError, match="one 0 or 1 per element"):
        TensorDensity(distribution="measured", density=0.75, measured=str(path)).load_mask()


def test_metadata_of_real_tiles_counts_their_sub_tiles():
    """A 4 x 4 measured tensor in 2 x 2 tiles: among tiles holding k nonzeros, the fraction
    of their 1 x 2 rows that are empty."""
    mask = np.array(
        [[1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1]],
        dtype=bool,
    )
    spec = TensorDensity(distribution="measured", density=0.5, measured="given.npy")
    model = DensityModel(spec, (4, 4), mask)
    # Tiles: [[1,1],[0,0]] k=2 (one of two rows empty), [[0,0],[0,1]] k=1 (one empty),
    # [[1,0],[0,1]] k=2 (none empty), [[1,1],[1,1]] k=4 (none).
    empty = model.empty_given((2, 2), (1, 2), np.array([1.0, 2.0, 4.0]))
    assert empty.tolist() == [0.5, 0.25, 0.0]
