"""Lowerings between a convolution and a GEMM: im2col as a 1x1 convolution on the same
output grid, and a GEMM as the 1x1 convolution a native CNN design runs."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from sparsim.spec.workload import Conv, Gemm

small = st.integers(1, 9)


@st.composite
def convs(draw) -> Conv:
    groups = draw(st.sampled_from([1, 2, 3]))
    return Conv(
        C=groups * draw(small),
        out_channels=groups * draw(small),
        P=draw(small),
        Q=draw(small),
        R=draw(st.integers(1, 5)),
        S=draw(st.integers(1, 5)),
        stride=draw(st.integers(1, 3)),
        dilation=draw(st.integers(1, 2)),
        batch=draw(st.integers(1, 3)),
        groups=groups,
    )


def _input_elements(conv: Conv) -> int:
    problem = conv.problem()
    space = problem.shape.data_space("Inputs")

    def extent(rank) -> int:  # a rank's span: sum of coefficient x (size - 1), plus one
        return 1 + sum(
            (problem.coefficients[c] if c else 1) * (problem.instance[d] - 1) for d, c in rank
        )

    return math.prod(extent(rank) for rank in space.projection)


@given(convs())
def test_im2col_is_the_same_gemm_with_an_input_copy_per_filter_position(conv):
    lowered = conv.im2col()
    assert lowered.as_gemm() == conv.as_gemm()
    assert (lowered.R, lowered.S, lowered.stride, lowered.P, lowered.Q) == (1, 1, 1, conv.P, conv.Q)
    # The lowered input holds every (output position, filter position, channel) once:
    # the im2col matrix, never fewer elements than the convolution's own input window.
    gemm = conv.as_gemm()
    assert _input_elements(lowered) == gemm.N * gemm.K * gemm.count
    if conv.stride == conv.dilation == 1:  # else the window has holes im2col leaves out
        assert _input_elements(lowered) >= _input_elements(conv)


@given(small, small, small, st.integers(1, 3))
def test_a_gemm_is_a_1x1_convolution_over_one_row(m, k, n, count):
    gemm = Gemm(name="g", M=m, K=k, N=n, count=count)
    conv = gemm.as_conv()
    assert conv.as_gemm() == gemm
    assert (conv.R, conv.S, conv.P, conv.Q, conv.stride) == (1, 1, 1, n, 1)
    assert conv.problem().macs == gemm.macs
