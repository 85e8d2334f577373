"""The fast structured approximation agrees with sparsim.tasd; MACs with padding by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sparsim.errors import SparsimError
from sparsim.spec.workload import Conv, Gemm
from sparsim.tasd import decompose, dropped_nonzeros, parse_series
from sparsim.tasder import hardware_series
from sparsim.tasder.structured import (
    BlockRanks,
    approximate,
    dropped_nonzeros_by_kept,
    keep_largest,
    nonzeros_per_block,
    structured_macs,
)

HARDWARE = ("TTC-STC-M4", "TTC-STC-M8", "TTC-VEGETA-M4", "TTC-VEGETA-M8")
SAME_M_SERIES = sorted({str(s) for hw in HARDWARE for s in hardware_series(hw)})

# Small integers give many ties and zeros, the cases where tie-breaking matters.
tensors = arrays(
    np.float32,
    st.lists(st.integers(1, 7), min_size=2, max_size=4).map(tuple),
    elements=st.integers(-3, 3).map(float),
)


@settings(max_examples=150, deadline=None)
@given(x=tensors, series=st.sampled_from(SAME_M_SERIES), data=st.data())
def test_fast_path_equals_tasd_decompose(x, series, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    parsed = parse_series(series)
    fast = approximate(torch.from_numpy(x), parsed, axis).numpy()
    exact = decompose(x, parsed, axis, pad=True).approximation
    assert np.array_equal(fast, exact)


@settings(max_examples=100, deadline=None)
@given(x=tensors, series=st.sampled_from(SAME_M_SERIES))
def test_histogram_counts_the_dropped_nonzeros(x, series):
    parsed = parse_series(series)
    m = parsed.patterns[0].m
    kept = sum(p.n for p in parsed.patterns)
    dropped = dropped_nonzeros_by_kept(nonzeros_per_block(torch.from_numpy(x), -1, m))[kept]
    approximation = decompose(x, parsed, -1, pad=True).approximation
    assert dropped == round(dropped_nonzeros(x, approximation) * np.count_nonzero(x))


@settings(max_examples=60, deadline=None)
@given(
    x=arrays(
        np.float32,
        st.tuples(st.integers(1, 3), st.integers(1, 19), st.integers(1, 4), st.integers(1, 4)),
        elements=st.integers(-3, 3).map(float),
    ),
    dtype=st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64]),
    layout=st.sampled_from(["nchw", "channels_last", "transposed"]),
    m=st.sampled_from([4, 8]),
    data=st.data(),
)
def test_kernels_equal_the_sort_in_every_layout_and_dtype(x, dtype, layout, m, data):
    """Both kernels (strided blocks, contiguous blocks) against the sort, bit for bit."""
    n = data.draw(st.integers(0, m))
    tensor = torch.from_numpy(x).to(dtype)
    if layout == "channels_last":
        tensor = tensor.contiguous(memory_format=torch.channels_last)
    elif layout == "transposed":
        tensor = tensor.transpose(0, 3)  # not contiguous: copied first
    for axis in (1, -1):
        fast = keep_largest(tensor, n, m, axis)
        assert fast.dtype == dtype and fast.shape == tensor.shape
        assert torch.equal(fast, BlockRanks.of(tensor, axis, m).keep(n))
    if layout == "channels_last":
        assert keep_largest(tensor, n, m, 1).is_contiguous(memory_format=torch.channels_last)


def test_key_ranks_by_another_score():
    x = torch.tensor([[4.0, -1.0, 3.0, 2.0, 0.5, 0.0, -6.0, 1.0]])
    key = x.abs() * torch.tensor([0.1, 10.0, 1.0, 1.0, 10.0, 1.0, 0.1, 1.0])
    # scores 0.4, 10, 3, 2 | 5, 0, 0.6, 1: the two best of each block of 4
    expected = torch.tensor([[0.0, -1.0, 3.0, 0.0, 0.5, 0.0, 0.0, 1.0]])
    assert torch.equal(keep_largest(x, 2, 4, -1, key), expected)
    assert torch.equal(BlockRanks.of(x, -1, 4, key).keep(2), expected)
    with pytest.raises(SparsimError, match="does not match"):
        keep_largest(x, 2, 4, -1, key[:, :4])


def test_autograd_inputs_take_the_sort():
    x = torch.randn(2, 8, requires_grad=True)
    kept = keep_largest(x, 3, 8, -1)
    kept.sum().backward()
    assert x.grad is not None and int(x.grad.sum()) == 6


def test_mixed_block_sizes_use_tasd():
    x = torch.tensor([[4.0, -1.0, 3.0, 2.0, 0.5, 0.0, -6.0, 1.0]])
    series = parse_series("2:4+1:8")
    expected = decompose(x.numpy(), series, -1).approximation
    assert np.array_equal(approximate(x, series, -1).numpy(), expected)


def test_dense_and_none():
    x = torch.randn(3, 8)
    assert approximate(x, parse_series("dense"), -1) is x
    assert torch.equal(approximate(x, parse_series("none"), -1), torch.zeros_like(x))


@pytest.mark.parametrize(
    ("workload", "series", "macs"),
    [
        # 64 channels in blocks of 8: 2:8 runs a quarter of the MACs.
        (Conv(C=64, out_channels=32, P=7, Q=7, R=3, S=3), "2:8", 32 * 49 * 9 * 64 // 4),
        # RGB stem: 3 channels padded to one block of 4 per filter position; 1:4 keeps 1.
        (Conv(C=3, out_channels=8, P=4, Q=4, R=3, S=3), "1:4", 8 * 16 * 9 * 1),
        # Depthwise: one channel per group, padded to 8; 1:8 saves nothing, 2:8 doubles.
        (Conv(C=16, out_channels=16, P=4, Q=4, R=3, S=3, groups=16), "2:8", 16 * 16 * 9 * 2),
        # K = 10 in blocks of 4 (3 blocks), two terms keep 2 + 1 per block.
        (Gemm(M=5, N=7, K=10), "2:4+1:4", 5 * 7 * 3 * 3),
        (Gemm(M=5, N=7, K=10), "dense", 5 * 7 * 10),
    ],
)
def test_structured_macs_by_hand(workload, series, macs):
    assert structured_macs(workload, parse_series(series)) == macs
