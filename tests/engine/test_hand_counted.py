"""Small cases counted by hand (see each docstring for the arithmetic)."""

from __future__ import annotations

import pytest

from sparsim.evaluate import evaluate
from sparsim.spec.sparse_optimizations import ActionOptimization
from sparsim.spec.sparsity import parse_density
from tests.engine.conftest import tiny_spec


def test_dot_product():
    """z = sum_k a_k b_k, K=8, everything in the buffer, one MAC.

    DRAM: reads 8 A + 8 B, 1 Z update -> 17 x 100 pJ = 1700 pJ.
    Buffer: A, B: 8 fills x 3 + 8 reads x 2 = 40 pJ each; Z: 1 fill x 3 + 8 updates x 3 +
    7 read-modify-write reads x 2 = 41 pJ. MAC: 8 x 1 pJ. Total 1829 pJ, 8 cycles.
    """
    result = evaluate(tiny_spec(1, 1, 8))
    dram, buffer = result.levels
    assert dram.tensors["A"].reads.actual == 8 and dram.tensors["B"].reads.actual == 8
    assert dram.tensors["Z"].updates.actual == 1 and dram.tensors["Z"].reads.actual == 0
    z = buffer.tensors["Z"]
    assert (z.fills.actual, z.updates.actual, z.reads.actual) == (1, 8, 7)
    assert dram.energy_pJ == 1700
    assert buffer.energy_pJ == 40 + 40 + 41
    assert result.energy_pJ == 1829
    assert result.cycles == 8 and result.computes.actual == 8


def test_two_level_gemm():
    """M=2, N=3, K=4; DRAM loops over N (3), the buffer over M and K.

    Buffer tiles: A 2x4 = 8 (reused across N: filled once), B 1x4 = 4 (filled 3 times: 12),
    Z 2x1 = 2 (filled 3 times: 6). 24 computes read A, B and update Z once each; Z reads
    = 24 updates - 6 first writes = 18.
    DRAM: (8 + 12) reads + 6 Z updates = 2600 pJ. Buffer: A 24x2 + 8x3 = 72,
    B 24x2 + 12x3 = 84, Z 18x2 + 6x3 + 24x3 = 126. MAC 24. Total 2906 pJ.
    """
    spec = tiny_spec(2, 3, 4, buffer_temporal={"M": 2, "K": 4}, dram_temporal={"N": 3})
    result = evaluate(spec)
    dram, buffer = result.levels
    assert [buffer.tensors[t].fills.actual for t in "ABZ"] == [8, 12, 6]
    assert [buffer.tensors[t].reads.actual for t in "ABZ"] == [24, 24, 18]
    assert buffer.tensors["Z"].updates.actual == 24
    assert (dram.energy_pJ, buffer.energy_pJ, result.compute.energy_pJ) == (2600, 282, 24)
    assert result.energy_pJ == 2906 and result.cycles == 24


def test_spatial_multicast_and_reduction():
    """K=4 spread over 4 MACs: Z is reduced in space (1 update per N, M pair), B is
    scattered (every MAC a different b_k), and the cycles drop to N*M = 6."""
    spec = tiny_spec(2, 3, 4, buffer_temporal={"M": 2, "N": 3}, spatial={"K": 4})
    result = evaluate(spec)
    buffer = result.levels[1]
    assert buffer.tensors["Z"].updates.actual == 6
    assert buffer.tensors["B"].reads.actual == 24
    assert result.cycles == 6


def _half_dense_a(action_type: str, target: str):
    return evaluate(
        tiny_spec(
            2,
            3,
            4,
            buffer_temporal={"M": 2, "N": 3, "K": 4},
            densities={"A": parse_density("2:4")},
            actions=[ActionOptimization(type=action_type, target=target, condition_on=["A"])],
        )
    )


def test_gating_or_skipping_the_output_removes_no_compute():
    """A is 2:4-sparse. Gating Z on A gates half of Z's 24 buffer updates and 18 read-backs
    (12 and 9), skipping skips them; every one of the 24 computes still happens (Timeloop
    removes computes only for an optimized operand), so both take 24 cycles. With no
    skipped_* energies, a skipped access costs the gated one: same energy, but skipped
    accesses carry no words (9 read words instead of 18)."""
    gated, skipped = _half_dense_a("gating", "Z"), _half_dense_a("skipping", "Z")
    z_gated, z_skipped = gated.levels[1].tensors["Z"], skipped.levels[1].tensors["Z"]
    assert (z_gated.updates.actual, z_gated.updates.gated) == pytest.approx((12, 12))
    assert (z_gated.reads.actual, z_gated.reads.gated) == pytest.approx((9, 9))
    assert (z_skipped.updates.actual, z_skipped.updates.skipped) == pytest.approx((12, 12))
    for result in (gated, skipped):
        assert result.computes.actual == 24 and result.computes.skipped == 0
        assert result.cycles == 24
    assert skipped.energy_pJ == gated.energy_pJ
    assert (z_skipped.read_words, z_gated.read_words) == pytest.approx((9, 18))


def test_gating_or_skipping_an_operand_removes_the_computes_it_feeds():
    """Gating or skipping B on the 2:4 A at the buffer: half of B's 24 reads are ineffectual
    (gated or skipped) and the 12 computes they would feed never happen, either way: 12
    actual computes, 12 cycles (Timeloop's storage-optimization combiner)."""
    gated, skipped = _half_dense_a("gating", "B"), _half_dense_a("skipping", "B")
    b_gated, b_skipped = gated.levels[1].tensors["B"], skipped.levels[1].tensors["B"]
    assert (b_gated.reads.actual, b_gated.reads.gated) == pytest.approx((12, 12))
    assert (b_skipped.reads.actual, b_skipped.reads.skipped) == pytest.approx((12, 12))
    for result in (gated, skipped):
        assert result.computes.actual == pytest.approx(12)
        assert result.computes.skipped == pytest.approx(12) and result.computes.gated == 0
        assert result.cycles == 12


def test_shipped_example_spec_round_trips():
    """The example spec (the STC calibration case exported to sparsim's format) evaluates to
    Sparseloop's published 65536 cycles and 126.03 uJ."""
    from pathlib import Path

    from sparsim.evaluate import load

    example = Path(__file__).resolve().parents[2] / "examples" / "stc-2of4-M512-K256-N1024.yaml"
    result = evaluate(load(example))
    assert result.cycles == 65536
    assert result.energy_uJ == pytest.approx(126.03, rel=1e-3)
