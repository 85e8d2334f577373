"""The greedy decomposition: hand-computed cases, a slow reference, and the invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sparsim.errors import SparsimError
from sparsim.tasd import Pattern, Series, decompose, evaluate, parse_series

BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(BITS[a.dtype.itemsize])


def magnitude(value) -> float:
    return float(abs(int(value))) if isinstance(value, np.integer) else abs(float(value))


def reference_decompose(x: np.ndarray, series: Series):
    """The documented rule, written the slow and obvious way (rows along the last axis)."""
    residual = x.copy()
    taken = np.zeros(x.shape, bool)
    terms, masks = [], []
    for pattern in series.kernel_patterns:
        mask = np.zeros(x.shape, bool)
        for row in range(x.shape[0]):
            for start in range(0, x.shape[1], pattern.m):
                block = range(start, start + pattern.m)
                order = sorted(
                    block, key=lambda j: (taken[row, j], -magnitude(residual[row, j]), j)
                )
                mask[row, order[: pattern.n]] = True
        term = np.zeros_like(x)
        term[mask] = residual[mask]
        residual[mask] = 0
        taken |= mask
        terms.append(term)
        masks.append(mask)
    return terms, residual, masks


# --- hand-computed cases -------------------------------------------------------------------


def test_hand_computed_two_terms():
    x = np.array([[1.0, -3.0, 2.0, 0.0, 5.0, 0.0, 0.0, 0.5]], np.float32)
    d = decompose(x, "2:4+1:8")
    np.testing.assert_array_equal(d.terms[0], [[0, -3, 2, 0, 5, 0, 0, 0.5]])
    np.testing.assert_array_equal(d.terms[1], [[1, 0, 0, 0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(d.residual, np.zeros((1, 8)))
    first, second = d.compressed
    np.testing.assert_array_equal(first.values, [[[-3, 2], [5, 0.5]]])
    np.testing.assert_array_equal(first.indices, [[[1, 2], [0, 3]]])
    assert first.indices.dtype == np.uint8
    np.testing.assert_array_equal(second.values, [[[1]]])
    np.testing.assert_array_equal(second.indices, [[[0]]])
    assert d.terms[0].dtype == np.float32 and d.terms[0].shape == x.shape


def test_ties_keep_lower_index_and_exactly_n():
    d = decompose(np.ones((1, 4)), "2:4+2:4")
    np.testing.assert_array_equal(d.compressed[0].indices, [[[0, 1]]])
    np.testing.assert_array_equal(d.compressed[1].indices, [[[2, 3]]])
    np.testing.assert_array_equal(d.residual, np.zeros((1, 4)))


def test_block_with_fewer_nonzeros_than_n_keeps_zeros():
    d = decompose(np.array([[0.0, 0.0, 7.0, 0.0]]), "2:4")
    np.testing.assert_array_equal(d.compressed[0].indices, [[[0, 2]]])
    np.testing.assert_array_equal(d.compressed[0].values, [[[0, 7]]])
    np.testing.assert_array_equal(d.masks[0], [[True, False, True, False]])


def test_reused_position_only_when_block_is_full():
    # 4:8 takes 8, 7, 6, 5 (the whole second 4-block); 3:4 then has no free position in
    # that block and reuses the lowest indices, holding zero.
    x = np.array([[1.0, 2, 3, 4, 5, 6, 7, 8]])
    d = decompose(x, "4:8+3:4")
    np.testing.assert_array_equal(d.terms[0], [[0, 0, 0, 0, 5, 6, 7, 8]])
    np.testing.assert_array_equal(d.terms[1], [[0, 2, 3, 4, 0, 0, 0, 0]])
    np.testing.assert_array_equal(d.compressed[1].indices, [[[1, 2, 3], [0, 1, 2]]])
    np.testing.assert_array_equal(d.compressed[1].values, [[[2, 3, 4], [0, 0, 0]]])
    np.testing.assert_array_equal(d.residual, [[1, 0, 0, 0, 0, 0, 0, 0]])


def test_int8_magnitude_of_minus_128():
    x = np.array([[-128, 127, 1, -1]], np.int8)
    d = decompose(x, "1:4+1:4")
    np.testing.assert_array_equal(d.terms[0], [[-128, 0, 0, 0]])
    np.testing.assert_array_equal(d.terms[1], [[0, 127, 0, 0]])
    np.testing.assert_array_equal(d.residual, [[0, 0, 1, -1]])
    assert d.terms[0].dtype == np.int8


def test_nan_ranks_first_then_infinities():
    x = np.array([[1.0, -np.inf, np.nan, np.inf]], np.float16)
    d = decompose(x, "2:4")
    np.testing.assert_array_equal(d.masks[0], [[False, True, True, False]])
    np.testing.assert_array_equal(d.residual, np.array([[1.0, 0, 0, np.inf]], np.float16))


def test_dense_and_none():
    x = np.arange(-4.0, 4.0).reshape(2, 4)
    dense = decompose(x, "dense")
    assert len(dense.terms) == 1
    np.testing.assert_array_equal(dense.terms[0], x)
    np.testing.assert_array_equal(dense.residual, np.zeros_like(x))
    none = decompose(x, "none")
    assert none.terms == [] and none.compressed == []
    np.testing.assert_array_equal(none.residual, x)
    np.testing.assert_array_equal(none.approximation, np.zeros_like(x))


def test_axis_zero_and_conv_reduction_axes():
    x = np.array([[1.0, 8.0], [4.0, 3.0], [2.0, 6.0], [5.0, 7.0]])
    d = decompose(x, "1:4", axis=0)
    np.testing.assert_array_equal(d.terms[0], [[0, 8], [0, 0], [0, 0], [5, 0]])
    assert d.compressed[0].indices.shape == (2, 1, 1)  # (columns, blocks, N)

    weight = np.random.default_rng(0).standard_normal((3, 2, 2, 2))  # [O, C, R, S]
    conv = decompose(weight, "2:8", axis=(1, 2, 3))
    flat = decompose(weight.reshape(3, -1), "2:8")
    np.testing.assert_array_equal(conv.terms[0].reshape(3, -1), flat.terms[0])


def test_padding_appends_zeros_and_crops_them():
    x = np.arange(1.0, 11.0).reshape(2, 5)
    d = decompose(x, "2:4", pad=True)
    np.testing.assert_array_equal(d.terms[0], [[0, 0, 3, 4, 5], [0, 0, 8, 9, 10]])
    # The last block is [5, pad, pad, pad]: 5 and one padded zero.
    np.testing.assert_array_equal(d.compressed[0].indices[0], [[2, 3], [0, 1]])
    np.testing.assert_array_equal(d.compressed[0].values[0], [[3, 4], [5, 0]])
    np.testing.assert_array_equal(d.compressed[0].to_dense(), d.terms[0])


def test_torch_in_torch_out():
    x = torch.tensor([[4.0, -1.0, 3.0, 2.0]], requires_grad=True)
    d = decompose(x, "2:4")
    assert isinstance(d.terms[0], torch.Tensor) and d.terms[0].dtype == torch.float32
    assert torch.equal(d.terms[0], torch.tensor([[4.0, 0.0, 3.0, 0.0]]))
    assert isinstance(d.compressed[0].values, torch.Tensor)
    assert isinstance(d.masks[0], torch.Tensor) and d.masks[0].dtype == torch.bool


def test_large_block_uses_wide_indices():
    x = np.arange(600.0).reshape(1, 600)
    d = decompose(x, "1:300")
    np.testing.assert_array_equal(d.compressed[0].indices, [[[299], [299]]])
    assert d.compressed[0].indices.dtype == np.int32


def test_non_contiguous_inputs():
    x = np.random.default_rng(4).standard_normal((8, 16)).astype(np.float32)
    want = decompose(x, "2:4+1:8")
    fortran = decompose(np.asfortranarray(x), "2:4+1:8")
    strided = decompose(np.repeat(x, 2, axis=1)[:, ::2], "2:4+1:8")
    for result in (fortran, strided):
        for a, b in zip(result.terms, want.terms, strict=True):
            np.testing.assert_array_equal(a, b)


def test_input_is_not_modified():
    x = np.random.default_rng(1).standard_normal((4, 8))
    before = x.copy()
    decompose(x, "2:4+2:8")
    np.testing.assert_array_equal(x, before)


def test_large_input_takes_the_parallel_path_and_agrees():
    x = np.random.default_rng(2).standard_normal((512, 1024)).astype(np.float32)
    x[np.random.default_rng(3).random(x.shape) < 0.5] = 0
    whole = decompose(x, "2:4+2:8")
    halves = [decompose(part, "2:4+2:8") for part in np.split(x, 2)]
    for t in range(2):
        np.testing.assert_array_equal(whole.terms[t], np.vstack([h.terms[t] for h in halves]))
        np.testing.assert_array_equal(
            whole.compressed[t].indices, np.vstack([h.compressed[t].indices for h in halves])
        )
        np.testing.assert_array_equal(whole.compressed[t].to_dense(), whole.terms[t])


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"series": "3:2"}, r"N <= M is required"),
        ({"series": "0:4"}, r"must be >= 1"),
        ({"series": "2:4+"}, r"term 2 of 2 is empty"),
        ({"series": "2:4", "axis": 2}, r"axis 2 is out of range for a 2-dimensional tensor"),
        ({"series": "2:4", "axis": (0, 0)}, r"repeats an axis"),
        (
            {"series": "2:8"},
            r"axis 1: length 12 is not a multiple of M=8 \(pattern 2:8\); pass pad=True",
        ),
    ],
)
def test_bad_input_is_one_clear_line(kwargs, message):
    x = np.zeros((3, 12), np.float32)
    with pytest.raises(SparsimError, match=message) as info:
        decompose(x, **kwargs)
    assert "\n" not in str(info.value)


def test_unsupported_inputs():
    with pytest.raises(SparsimError, match="dtype int32 is not supported"):
        decompose(np.zeros((1, 4), np.int32), "2:4")
    with pytest.raises(
        SparsimError, match="expected a numpy array or a CPU torch tensor, got list"
    ):
        decompose([[1.0, 2.0, 3.0, 4.0]], "2:4")
    with pytest.raises(SparsimError, match="0-dimensional"):
        decompose(np.array(1.0, np.float32), "1:1")


# --- properties ----------------------------------------------------------------------------

DTYPES = [np.float16, np.float32, np.float64, np.int8]
BLOCK_SIZES = [1, 2, 3, 4, 8, 16]
patterns = st.sampled_from(BLOCK_SIZES).flatmap(
    lambda m: st.builds(Pattern, st.integers(1, m), st.just(m))
)
any_series = st.lists(patterns, min_size=1, max_size=3).map(lambda p: Series(tuple(p)))


def elements(dtype, specials: bool):
    """Values with many ties (small integers, signed zeros) and arbitrary ones."""
    if np.issubdtype(dtype, np.integer):
        return st.one_of(st.integers(-2, 2), st.integers(-128, 127))
    width = np.dtype(dtype).itemsize * 8
    ties = st.sampled_from([0.0, 1.0, -1.0, 2.0, -2.0] + ([-0.0] if specials else []))
    return st.one_of(
        ties,
        st.floats(width=width, allow_nan=specials, allow_infinity=True, allow_subnormal=specials),
    )


@st.composite
def cases(draw, series=any_series, specials=False):
    """(x, series) with x of shape (rows, a multiple of the series period)."""
    chosen = draw(series)
    dtype = draw(st.sampled_from(DTYPES))
    shape = (draw(st.integers(1, 3)), chosen.block_lcm * draw(st.integers(1, 3)))
    x = draw(hnp.arrays(dtype, shape, elements=elements(dtype, specials)))
    if not specials and x.dtype.kind == "f":
        x = x + x.dtype.type(0)  # -0.0 -> +0.0
    return x, chosen


@settings(max_examples=120, deadline=None)
@given(cases())
def test_matches_the_slow_reference(case):
    x, series = case
    d = decompose(x, series)
    terms, residual, masks = reference_decompose(x, series)
    for got, want in zip(d.terms, terms, strict=True):
        np.testing.assert_array_equal(bits(got), bits(want))
    for got, want in zip(d.masks, masks, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(bits(d.residual), bits(residual))


@settings(max_examples=60, deadline=None)
@given(cases(specials=True))
def test_every_element_lands_unchanged_in_exactly_one_output(case):
    x, series = case
    d = decompose(x, series)
    outputs = np.stack([bits(o) for o in [*d.terms, d.residual]])
    source = bits(x)
    assert np.all((outputs == source) | (outputs == 0))
    carriers = np.count_nonzero(outputs == source, axis=0)
    assert np.all(carriers[source != 0] == 1)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_sum_of_terms_plus_residual_is_the_input_bitwise(case):
    x, series = case
    d = decompose(x, series)
    total = d.residual.copy()
    for term in d.terms:
        with np.errstate(over="ignore"):
            total = total + term
    np.testing.assert_array_equal(bits(total), bits(x))
    np.testing.assert_array_equal(bits(d.approximation + d.residual), bits(x))


@settings(max_examples=60, deadline=None)
@given(cases())
def test_each_term_satisfies_its_n_m_pattern(case):
    x, series = case
    d = decompose(x, series)
    for pattern, term, mask, packed in zip(
        series.patterns, d.terms, d.masks, d.compressed, strict=True
    ):
        per_block = mask.reshape(x.shape[0], -1, pattern.m).sum(axis=-1)
        assert np.all(per_block == pattern.n)
        assert np.all(mask | (term == 0))
        indices = packed.indices.astype(int)
        assert indices.shape == (x.shape[0], x.shape[1] // pattern.m, pattern.n)
        assert np.all((indices >= 0) & (indices < pattern.m))
        assert np.all(np.diff(indices, axis=-1) > 0)
        np.testing.assert_array_equal(bits(packed.to_dense()), bits(term))


@settings(max_examples=60, deadline=None)
@given(cases())
def test_kept_positions_are_disjoint_unless_a_block_is_full(case):
    x, series = case
    d = decompose(x, series)
    nonzero = np.stack([t != 0 for t in d.terms])
    assert np.all(nonzero.sum(axis=0) <= 1)
    taken = np.zeros(x.shape, bool)
    for pattern, mask in zip(series.patterns, d.masks, strict=True):
        blocks = (-1, pattern.m)
        free = (~taken).reshape(blocks).sum(axis=1)
        reused = (mask & taken).reshape(blocks).sum(axis=1)
        np.testing.assert_array_equal(reused, np.maximum(0, pattern.n - free))
        taken |= mask


ROOMY_SERIES = ["2:4+2:8", "2:4+2:8+2:16", "4:8+1:8", "2:8+1:8", "4:8+2:8", "2:4+1:4", "1:4+2:8"]


@settings(max_examples=60, deadline=None)
@given(cases(series=st.sampled_from(ROOMY_SERIES).map(parse_series)))
def test_masks_are_disjoint_for_series_with_room(case):
    x, series = case
    masks = np.stack(decompose(x, series).masks)
    assert np.all(masks.sum(axis=0) <= 1)


def _left_per_block(nonzero: np.ndarray, series: Series) -> np.ndarray:
    """Nonzeros a nested series leaves per block of its last M, from counts alone."""
    left = nonzero.astype(int).reshape(nonzero.shape[0], -1)
    block = 1
    for pattern in series.patterns:
        left = left.reshape(left.shape[0], -1, pattern.m // block).sum(axis=-1)
        left = np.maximum(left - pattern.n, 0)
        block = pattern.m
    return left


nested_series = st.lists(st.sampled_from([1, 2]), min_size=1, max_size=3).flatmap(
    lambda factors: st.tuples(
        *[
            st.integers(1, m).map(lambda n, m=m: Pattern(n, m))
            for m in np.cumprod([2 * f for f in factors]).tolist()
        ]
    ).map(Series)
)


@settings(max_examples=60, deadline=None)
@given(cases(series=nested_series))
def test_nested_series_drops_exactly_what_the_counts_say(case):
    """Lossless exactly when every block can hold its nonzeros; otherwise the count
    that overflows is what is dropped, block by block."""
    x, series = case
    residual = decompose(x, series).residual
    left = np.count_nonzero(residual.reshape(x.shape[0], -1, series.patterns[-1].m), axis=-1)
    np.testing.assert_array_equal(left, _left_per_block(x != 0, series))


@settings(max_examples=50, deadline=None)
@given(cases())
def test_lossless_when_the_first_term_holds_every_nonzero(case):
    x, series = case
    first = series.patterns[0]
    pruned = decompose(x, Series((first,))).terms[0]
    d = decompose(pruned, series)
    assert np.count_nonzero(d.residual) == 0
    np.testing.assert_array_equal(bits(d.terms[0]), bits(pruned))


@settings(max_examples=50, deadline=None)
@given(cases())
def test_adding_a_term_never_increases_the_error(case):
    x, series = case
    if x.dtype.kind == "f":
        x = np.clip(np.nan_to_num(x, posinf=0, neginf=0), -1e4, 1e4)  # no overflow in MSE
    full = decompose(x, series)
    previous = previous_metrics = None
    for k in range(len(series.patterns) + 1):
        prefix = decompose(x, Series(series.patterns[:k]))
        for a, b in zip(prefix.terms, full.terms, strict=False):
            np.testing.assert_array_equal(bits(a), bits(b))
        metrics = evaluate(x, full, n_terms=k)
        if previous is not None and previous_metrics is not None:
            shrunk = (prefix.residual == previous.residual) | (prefix.residual == 0)
            assert np.all(shrunk)
            assert metrics.dropped_nonzeros <= previous_metrics.dropped_nonzeros
            assert metrics.kept_magnitude >= previous_metrics.kept_magnitude
            assert metrics.mse <= previous_metrics.mse or math.isnan(metrics.mse)
        previous, previous_metrics = prefix, metrics


@settings(max_examples=50, deadline=None)
@given(cases(specials=True))
def test_numpy_and_torch_give_identical_results(case):
    x, series = case
    from_numpy = decompose(x, series)
    from_torch = decompose(torch.from_numpy(x.copy()), series)
    for a, b in zip(
        [*from_numpy.terms, from_numpy.residual],
        [*from_torch.terms, from_torch.residual],
        strict=True,
    ):
        assert isinstance(b, torch.Tensor) and b.dtype == torch.from_numpy(a).dtype
        np.testing.assert_array_equal(bits(a), bits(b.numpy()))
    for a, b in zip(from_numpy.compressed, from_torch.compressed, strict=True):
        np.testing.assert_array_equal(a.indices, b.indices.numpy())


@settings(max_examples=60, deadline=None)
@given(cases(series=st.sampled_from(["2:4", "2:4+2:8", "1:8+1:8+1:8"]).map(parse_series)))
def test_bfloat16_agrees_with_the_exact_float32_widening(case):
    x, series = case
    if x.dtype == np.int8:
        x = x.astype(np.float32)
    with np.errstate(over="ignore"):
        tensor = torch.from_numpy(x.astype(np.float32)).to(torch.bfloat16)
    narrow = decompose(tensor, series)
    wide = decompose(tensor.float(), series)
    for a, b in zip([*narrow.terms, narrow.residual], [*wide.terms, wide.residual], strict=True):
        assert a.dtype == torch.bfloat16
        assert torch.equal(a.float(), b)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_axis_zero_is_the_transpose(case):
    x, series = case
    along_rows = decompose(np.ascontiguousarray(x.T), series, axis=0)
    along_columns = decompose(x, series)
    for a, b in zip(along_rows.terms, along_columns.terms, strict=True):
        np.testing.assert_array_equal(bits(a), bits(np.ascontiguousarray(b.T)))


@settings(max_examples=60, deadline=None)
@given(cases(), st.integers(1, 15))
def test_padding_equals_explicit_zero_padding(case, cut):
    x, series = case
    x = x[:, : max(1, x.shape[1] - cut)]
    period = series.block_lcm
    padded = np.zeros((x.shape[0], -(-x.shape[1] // period) * period), x.dtype)
    padded[:, : x.shape[1]] = x
    want = decompose(padded, series)
    got = decompose(x, series, pad=True)
    for a, b in zip(got.terms, want.terms, strict=True):
        np.testing.assert_array_equal(bits(a), bits(np.ascontiguousarray(b[:, : x.shape[1]])))
