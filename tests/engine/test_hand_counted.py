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


def test_gating_and_skipping_on_a_half_dense_operand():
    """A is 2:4-sparse. Gating Z on A keeps the Z traffic count but half of it is gated;
    skipping removes it; computes halve either way (gated vs skipped)."""
    densities = {"A": parse_density("2:4")}
    base = dict(buffer_temporal={"M": 2, "N": 3, "K": 4}, densities=densities)
    gated = evaluate(
        tiny_spec(
            2,
            3,
            4,
            **base,
            actions=[ActionOptimization(type="gating", target="Z", condition_on=["A"])],
        )
    )
    skipped = evaluate(
        tiny_spec(
            2,
            3,
            4,
            **base,
            actions=[ActionOptimization(type="skipping", target="Z", condition_on=["A"])],
        )
    )
    z_gated, z_skipped = gated.levels[1].tensors["Z"], skipped.levels[1].tensors["Z"]
    assert z_gated.updates.actual == pytest.approx(12) and z_gated.updates.gated == pytest.approx(
        12
    )
    assert z_skipped.updates.actual == pytest.approx(
        12
    ) and z_skipped.updates.skipped == pytest.approx(12)
    assert gated.computes.actual == pytest.approx(12) and gated.computes.gated == pytest.approx(12)
    assert skipped.computes.actual == pytest.approx(
        12
    ) and skipped.computes.skipped == pytest.approx(12)
    assert skipped.cycles == 12 and gated.cycles == 24
    assert skipped.energy_pJ < gated.energy_pJ


def test_shipped_example_spec_round_trips():
    """The example spec (the STC calibration case exported to sparsim's format) evaluates to
    Sparseloop's published 65536 cycles and 126.03 uJ."""
    from pathlib import Path

    from sparsim.evaluate import load

    example = Path(__file__).resolve().parents[2] / "examples" / "stc-2of4-M512-K256-N1024.yaml"
    result = evaluate(load(example))
    assert result.cycles == 65536
    assert result.energy_uJ == pytest.approx(126.03, rel=1e-3)
