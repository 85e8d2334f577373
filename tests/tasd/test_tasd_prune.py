"""Pruning baselines: N:M, unstructured (per tensor and global), block, channel."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sparsim.errors import SparsimError
from sparsim.tasd import (
    block_prune,
    channel_prune,
    global_magnitude_prune,
    magnitude_prune,
    nm_prune,
)

X = np.array([[1.0, -4.0, 2.0, 2.0], [0.5, 3.0, -3.0, 0.0]])


def test_nm_prune_by_hand():
    result = nm_prune(X, "1:4")
    np.testing.assert_array_equal(result.pruned, [[0, -4, 0, 0], [0, 3, 0, 0]])
    np.testing.assert_array_equal(result.mask, [[0, 1, 0, 0], [0, 1, 0, 0]])
    assert result.sparsity == 0.75


def test_magnitude_prune_by_hand_with_tie():
    result = magnitude_prune(X, 0.5)
    # Keep 4 of 8: -4, 3, -3, then one of the tied 2s: the lower index.
    np.testing.assert_array_equal(result.mask, [[0, 1, 1, 0], [0, 1, 1, 0]])
    np.testing.assert_array_equal(result.pruned, [[0, -4, 2, 0], [0, 3, -3, 0]])


def test_global_prune_uses_one_threshold():
    small, large = X, 10 * X
    first, second = global_magnitude_prune([small, large], 0.5)
    # Keep 8 of 16: the 7 nonzeros of the large tensor, then the largest of the small one.
    np.testing.assert_array_equal(first.mask, [[0, 1, 0, 0], [0, 0, 0, 0]])
    assert second.mask.sum() == 7 and not second.mask[1, 3]
    with pytest.raises(SparsimError, match=r"tensors\[1\]: expected a numpy array"):
        global_magnitude_prune([X, [1.0]], 0.5)


def test_block_prune_by_hand():
    result = block_prune(X, (1, 2), 0.5)
    # Block L1 norms: [5, 4] / [3.5, 3]: keep 5 and 4.
    np.testing.assert_array_equal(result.mask, [[1, 1, 1, 1], [0, 0, 0, 0]])
    square = block_prune(np.arange(16.0).reshape(4, 4), (2, 2), 0.75)
    np.testing.assert_array_equal(square.mask[2:, 2:], np.ones((2, 2)))
    assert square.mask.sum() == 4


def test_channel_prune_by_hand():
    columns = channel_prune(X, 0.5, axis=1)
    # Column L1 norms: 1.5, 7, 5, 2.
    np.testing.assert_array_equal(columns.mask[0], [0, 1, 1, 0])
    rows = channel_prune(X, 0.5, axis=0)
    np.testing.assert_array_equal(rows.mask[:, 0], [1, 0])  # 9 > 6.5


def test_torch_in_torch_out():
    result = magnitude_prune(torch.tensor(X), 0.5)
    assert isinstance(result.pruned, torch.Tensor) and isinstance(result.mask, torch.Tensor)
    np.testing.assert_array_equal(result.pruned.numpy(), magnitude_prune(X, 0.5).pruned)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: magnitude_prune(X, 1.5), r"sparsity: must be between 0 and 1, got 1.5"),
        (
            lambda: block_prune(X, (1, 3), 0.5),
            r"block: block size 3 does not divide the length 4 of axis 1",
        ),
        (lambda: block_prune(X, (1, 1, 2), 0.5), r"block: needs between 1 and 2 dimensions"),
        (lambda: channel_prune(X, 0.5, axis=2), r"axis 2 is out of range"),
        (lambda: nm_prune(X, "5:4"), r"N <= M is required"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(SparsimError, match=message):
        call()


matrices = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 8), st.integers(1, 8)).map(lambda s: (s[0] * 2, s[1] * 2)),
    elements=st.one_of(st.sampled_from([0.0, 1.0, -1.0]), st.floats(-100, 100)),
)


@settings(max_examples=100, deadline=None)
@given(matrices, st.floats(0, 1))
def test_magnitude_prune_keeps_the_largest(x, sparsity):
    result = magnitude_prune(x, sparsity)
    kept = result.mask
    assert kept.sum() == x.size - round(sparsity * x.size)
    if kept.any() and (~kept).any():
        assert np.abs(x[kept]).min() >= np.abs(x[~kept]).max()
    np.testing.assert_array_equal(result.pruned, np.where(kept, x, 0))


@settings(max_examples=100, deadline=None)
@given(matrices, st.floats(0, 1))
def test_block_prune_removes_whole_blocks(x, sparsity):
    result = block_prune(x, (2, 2), sparsity)
    blocks = result.mask.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2)
    assert np.all(blocks == blocks[:, :1, :, :1])  # constant within each block
    n_blocks = x.size // 4
    assert blocks[:, 0, :, 0].sum() == n_blocks - round(sparsity * n_blocks)
    norms = np.abs(x).reshape(blocks.shape).sum(axis=(1, 3))
    kept = blocks[:, 0, :, 0]
    if kept.any() and (~kept).any():
        assert norms[kept].min() >= norms[~kept].max()
