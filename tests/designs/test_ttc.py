"""TASD tensor cores: one structured pass per term, fused (dense operand and outputs
shared above the RF) or sequential (partial sums read back), transposed GEMMs for
activations, dense layers on the same hardware, one-line errors."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsim.cost.model import bandwidth_cycles
from sparsim.designs import build, get_design
from sparsim.designs.schemes import scheme_for
from sparsim.designs.ttc import evaluate_series, level_words
from sparsim.errors import SparsimError
from sparsim.evaluate import evaluate
from sparsim.spec.workload import Conv, Gemm
from sparsim.tasd import Series, builtin_hardware
from sparsim.tasder.structured import structured_macs

# Fits the tensor-core mapping without padding: M = 16 rows x 4 subpartitions, N within
# the register reuse limit, K a whole number of 64-wide spatial columns.
TINY = Gemm(name="tiny", M=64, K=128, N=128)
DRAM_WORD_PJ = 512.0 / 8  # fig15 STC hardware: 512 pJ per 8-word DRAM vector
DRAM_READ_BANDWIDTH = 32  # words per cycle


def plain(design: str, workload: Gemm | Conv, pattern: str | None = None):
    return evaluate(build(design, workload, {"A": pattern} if pattern else {}))


@pytest.mark.parametrize(
    ("hardware", "pattern", "design"),
    [("TTC-STC-M4", "2:4", "stc"), ("TTC-VEGETA-M8", "2:8", "stc-flexible")],
)
def test_single_term_equals_the_plain_design(hardware, pattern, design):
    series = evaluate_series(hardware, TINY, pattern)
    expected = plain(design, TINY, pattern)
    assert len(series.terms) == 1 and series.terms[0].partial_sums is None
    assert series.energy_pJ == expected.energy_pJ
    assert series.cycles == expected.cycles
    assert series.computes == expected.computes


def test_two_terms_cost_their_passes_plus_the_partial_sum_read_back():
    series = evaluate_series("TTC-VEGETA-M8", TINY, "2:8+1:8", schedule="sequential")
    first, second = plain("ttc-vegeta-m8", TINY, "2:8"), plain("ttc-vegeta-m8", TINY, "1:8")
    # The second pass reads the 64 x 128 outputs of the first back from DRAM: 8,192 words,
    # 1,024 vectors of 8 at 512 pJ.
    read_back = series.terms[1].partial_sums
    assert read_back.level == "DRAM" and read_back.words == 64 * 128
    assert read_back.energy_pJ == 1024 * 512.0 == 64 * 128 * DRAM_WORD_PJ
    assert series.energy_pJ == pytest.approx(first.energy_pJ + second.energy_pJ + 524288.0)
    assert series.partial_sum_energy_pJ == 524288.0
    # The reads share the DRAM's read bandwidth: at most 8192 / 32 = 256 cycles more.
    assert first.cycles + second.cycles <= series.cycles
    assert series.cycles <= first.cycles + second.cycles + 64 * 128 / DRAM_READ_BANDWIDTH
    assert series.computes.actual == first.computes.actual + second.computes.actual


def test_read_back_adds_cycles_when_the_dram_is_the_bottleneck():
    # K = 64 and M = 256: the passes write many outputs per operand word, so the DRAM
    # sets the pace and every extra read shows up in the cycles.
    wide = Gemm(M=256, K=64, N=512)
    series = evaluate_series("TTC-VEGETA-M4", wide, "2:4+1:4", schedule="sequential")
    second = series.terms[1]
    assert second.cycles > second.result.cycles
    dram = second.result.level("DRAM")
    reads = sum(t.reads.actual for t in dram.tensors.values())
    assert second.cycles >= math.ceil((reads + 256 * 512) / DRAM_READ_BANDWIDTH)


@pytest.mark.parametrize("hardware", builtin_hardware(), ids=lambda hw: hw.ttc_name)
def test_computes_of_every_series_are_its_density_of_the_dense_gemm(hardware):
    for option in hardware.realisable_series():
        series = evaluate_series(hardware.ttc_name, TINY, option.series)
        kept = sum(p.n for p in option.series.patterns)
        assert series.computes.actual * hardware.block_size == kept * TINY.macs
        assert series.computes.algorithmic == len(option.series.patterns) * TINY.macs


@settings(max_examples=12, deadline=None)
@given(
    m=st.integers(1, 200),
    n=st.integers(1, 300),
    k=st.integers(1, 300),
    series=st.sampled_from(["2:8+1:8", "4:8+2:8", "2:4+1:4", "1:8"]),
)
def test_each_pass_executes_its_density_of_its_padded_gemm(m, n, k, series):
    hardware = "TTC-VEGETA-M4" if series == "2:4+1:4" else "TTC-VEGETA-M8"
    result = evaluate_series(hardware, Gemm(M=m, N=n, K=k), series, schedule="sequential")
    for term, pattern in zip(result.terms, Series.parse(series).patterns, strict=True):
        computes = term.result.computes
        assert computes.algorithmic >= m * n * k
        assert computes.actual == pytest.approx(computes.algorithmic * pattern.n / pattern.m)
    assert result.energy_pJ == pytest.approx(
        sum(t.result.energy_pJ for t in result.terms) + result.partial_sum_energy_pJ
    )


def test_level_cycles_recomputed_from_a_result_match_the_engine():
    # With no read-back the recomputation must give the engine's own level cycles.
    for hardware, series in (("TTC-STC-M8", "4:8"), ("TTC-VEGETA-M8", "1:8")):
        term = evaluate_series(hardware, Gemm(M=200, K=72, N=300), series).terms[0]
        spec = build(get_design(hardware.lower()), Gemm(M=200, K=72, N=300), {"A": series})
        for level, result in zip(spec.architecture.levels, term.result.levels, strict=True):
            assert bandwidth_cycles(level, *level_words(result, 1)) == result.cycles


def test_dense_series_runs_on_the_same_hardware_with_tc_cycles():
    series = evaluate_series("TTC-VEGETA-M8", TINY, "dense")
    same_hardware = plain("ttc-vegeta-m8", TINY)
    tc = plain("tc", TINY)
    assert series.energy_pJ == same_hardware.energy_pJ
    assert series.cycles == tc.cycles and series.computes == tc.computes
    assert series.computes.actual == TINY.macs


def test_activation_series_run_the_transposed_gemm():
    gemm = Gemm(M=64, K=128, N=256)
    activations = evaluate_series("TTC-STC-M4", gemm, "2:4", operand="activations")
    transposed = plain("ttc-stc-m4", Gemm(M=256, K=128, N=64), "2:4")
    assert activations.gemm.dims == {"M": 256, "N": 64, "K": 128}
    assert activations.energy_pJ == transposed.energy_pJ
    assert activations.cycles == transposed.cycles
    weights = evaluate_series("TTC-STC-M4", gemm, "2:4")
    assert weights.energy_pJ != activations.energy_pJ
    assert weights.computes.actual == activations.computes.actual == gemm.macs / 2


def test_conv_blocks_run_along_channels_per_filter_position():
    # C = 6 channels per filter position pad to 8 (two blocks of 4): K = 9 x 8 = 72.
    conv = Conv(C=6, out_channels=16, P=8, Q=8, R=3, S=3)
    series = evaluate_series("TTC-STC-M4", conv, "2:4")
    assert series.gemm.K == 72 and conv.as_gemm().K == 54
    assert series.computes.actual == structured_macs(conv, Series.parse("2:4")) == 36864
    assert evaluate_series("TTC-STC-M4", conv, "dense").gemm.K == 54


@pytest.mark.parametrize("schedule", ["fused", "sequential"])
def test_groups_multiply_every_pass_and_the_read_back(schedule):
    one = evaluate_series("TTC-VEGETA-M8", TINY, "4:8+2:8", schedule=schedule)
    grouped = TINY.model_copy(update={"count": 3})
    three = evaluate_series("TTC-VEGETA-M8", grouped, "4:8+2:8", schedule=schedule)
    assert three.energy_pJ == pytest.approx(3 * one.energy_pJ)
    assert three.cycles == 3 * one.cycles
    assert three.partial_sum_energy_pJ == 3 * one.partial_sum_energy_pJ
    assert three.shared_energy_saved_pJ == pytest.approx(3 * one.shared_energy_saved_pJ)


def _outer_dense_and_output_pJ(result) -> float:
    """B and Z energy at the levels above the RF (DRAM, SMEM) of one pass."""
    return sum(
        level.tensors[t].energy_pJ
        for level in result.levels[:2]
        for t in ("B", "Z")
        if t in level.tensors
    )


def test_fused_terms_move_the_dense_operand_and_outputs_once_above_the_rf():
    fused = evaluate_series("TTC-VEGETA-M8", TINY, "2:8+1:8")
    first, second = plain("ttc-vegeta-m8", TINY, "2:8"), plain("ttc-vegeta-m8", TINY, "1:8")
    assert [lvl.name for lvl in first.levels[:2]] == ["DRAM", "SMEM"]
    shared = [_outer_dense_and_output_pJ(first), _outer_dense_and_output_pJ(second)]
    assert min(shared) > 0
    assert fused.shared_energy_saved_pJ == pytest.approx(min(shared))
    assert fused.energy_pJ == pytest.approx(first.energy_pJ + second.energy_pJ - min(shared))
    assert fused.partial_sum_energy_pJ == 0
    assert all(term.partial_sums is None for term in fused.terms)
    # Compute and the RF/LRF traffic of the passes add up; the shared levels do not.
    assert fused.cycles >= first.compute.cycles + second.compute.cycles
    assert fused.computes.actual == first.computes.actual + second.computes.actual


@settings(max_examples=10, deadline=None)
@given(
    m=st.integers(1, 200),
    n=st.integers(1, 300),
    k=st.integers(1, 300),
    series=st.sampled_from(["2:8+1:8", "4:8+2:8", "2:4+1:4", "4:8+1:8"]),
)
def test_fusing_never_costs_more_than_sequential_passes(m, n, k, series):
    hardware = "TTC-VEGETA-M4" if series == "2:4+1:4" else "TTC-VEGETA-M8"
    gemm = Gemm(M=m, N=n, K=k)
    fused = evaluate_series(hardware, gemm, series)
    sequential = evaluate_series(hardware, gemm, series, schedule="sequential")
    assert fused.energy_pJ <= sequential.energy_pJ + 1e-6
    assert fused.cycles <= sequential.cycles
    assert fused.computes == sequential.computes
    assert fused.cycles >= sum(t.result.compute.cycles for t in fused.terms)


@pytest.mark.parametrize("hardware", builtin_hardware(), ids=lambda hw: hw.ttc_name)
def test_catalog_ttc_designs_run_the_native_patterns(hardware):
    design = get_design(hardware.ttc_name)
    assert design.architecture_name == "stc" and design.weight_format == "CP"
    assert set(design.weight_patterns) == {(p.n, p.m) for p in hardware.native}
    for pattern in hardware.native:
        assert scheme_for(design, {"A": str(pattern)}).pattern == (pattern.n, pattern.m)
        assert design.pattern_bits((pattern.n, pattern.m)) == {4: 2, 8: 3}[pattern.m]


def test_to_dict_is_json_with_the_totals():
    series = evaluate_series("TTC-VEGETA-M8", TINY, "2:8+1:8", schedule="sequential")
    data = json.loads(json.dumps(series.to_dict()))
    assert data["schedule"] == "sequential"
    assert data["energy_uJ"] == pytest.approx(sum(t["energy_uJ"] for t in data["terms"]))
    assert data["cycles"] == sum(t["cycles"] for t in data["terms"])
    assert [t["pattern"] for t in data["terms"]] == ["2:8", "1:8"]
    assert data["terms"][0]["partial_sums"] is None
    fused = json.loads(json.dumps(evaluate_series("TTC-VEGETA-M8", TINY, "2:8+1:8").to_dict()))
    assert fused["energy_uJ"] == pytest.approx(
        sum(t["energy_uJ"] for t in fused["terms"]) - fused["shared_energy_saved_uJ"]
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: evaluate_series("TTC-XYZ", TINY, "2:4"), "unknown hardware 'TTC-XYZ'"),
        (
            lambda: evaluate_series("TTC-STC-M4", TINY, "2:8"),
            r"series '2:8': does not run on TTC-STC-M4 \(native patterns 2:4",
        ),
        (
            lambda: evaluate_series("TTC-VEGETA-M8", TINY, "4:8+2:8+1:8"),
            "does not run on TTC-VEGETA-M8",
        ),
        (lambda: evaluate_series("TTC-STC-M4", TINY, "none"), "series: the series 'none'"),
        (lambda: evaluate_series("TTC-STC-M4", TINY, "2:4+"), "term 2 of 2 is empty"),
        (
            lambda: evaluate_series("TTC-STC-M4", TINY, "2:4", schedule="overlapped"),
            "schedule: unknown schedule 'overlapped'",
        ),
        (
            lambda: evaluate_series("TTC-STC-M4", TINY, "2:4", operand="bias"),
            "operand: unknown operand 'bias'",
        ),
        (
            lambda: evaluate_series("TTC-STC-M4", TINY, "2:4", {"A": "2:4"}),
            "density A: the weights are the structured operand",
        ),
    ],
)
def test_bad_input_is_one_line(call, message):
    with pytest.raises(SparsimError, match=message) as error:
        call()
    assert "\n" not in str(error.value)
