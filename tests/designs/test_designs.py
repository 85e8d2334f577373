"""Built-in designs: any GEMM maps and evaluates; density rules; TC matches the dense case."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparsim.designs import build, design_names, get_design, scheme_for
from sparsim.designs.heuristic import split
from sparsim.errors import SparsimError
from sparsim.evaluate import evaluate, load_sparseloop_case
from sparsim.spec.workload import Conv, Gemm

FIG15 = Path(__file__).resolve().parents[3] / "shared/reference/sparseloop-micro22/fig15/cases"
DIMS = st.one_of(
    st.sampled_from([1, 2, 3, 7, 13, 16, 17, 31, 64, 97, 128, 257]), st.integers(1, 600)
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    m=DIMS,
    n=DIMS,
    k=DIMS,
    a=st.sampled_from(["2:4", "2:6", "2:8", "1:8", "0.4", "dense"]),
    b=st.sampled_from(["0.3", "0.82", "dense"]),
)
def test_every_design_maps_any_gemm(m, n, k, a, b):
    for name in design_names():
        spec = build(name, Gemm(M=m, N=n, K=k), {"A": a, "B": b})
        result = evaluate(spec)
        padded = spec.workload.as_gemm()
        assert all(padded.dims[d] >= size for d, size in {"M": m, "N": n, "K": k}.items())
        assert result.computes.algorithmic == padded.M * padded.N * padded.K
        assert result.computes.actual <= result.computes.algorithmic * (1 + 1e-9)
        assert result.cycles > 0 and result.energy_pJ > 0


@given(size=st.integers(1, 5000), limit=st.integers(1, 128), granule=st.sampled_from([1, 4, 6, 8]))
def test_split_pads_minimally(size, limit, granule):
    cut = split(size, limit, granule)
    assert cut.factor % granule == 0
    assert cut.factor <= max(limit, granule)
    assert cut.factor * cut.chunks >= size
    assert cut.chunks == math.ceil(size / max(granule, limit // granule * granule))
    # Less than one granule of padding per chunk.
    assert cut.factor * cut.chunks - size < cut.chunks * granule


def test_divisible_gemm_is_not_padded():
    spec = build("stc", Gemm(M=512, K=256, N=1024), {"A": "2:4"})
    assert spec.workload.as_gemm().dims == {"M": 512, "N": 1024, "K": 256}


def test_density_rules_follow_design_to_scheme():
    stc, flexible, dstc = get_design("STC"), get_design("stc_flexible"), get_design("dstc")
    assert scheme_for(stc, {"A": "2:8"}).pattern == (2, 4)
    assert scheme_for(stc, {"A": "2:6"}).weights.density == 0.5
    assert scheme_for(flexible, {"A": "2:6"}).pattern == (2, 6)
    assert scheme_for(flexible, {"A": "1:8"}).pattern == (2, 8)
    # Denser than any supported pattern, or unstructured: run dense.
    assert scheme_for(flexible, {"A": "3:4"}).weights.distribution == "dense"
    assert scheme_for(stc, {"A": 0.3}).weights.distribution == "dense"
    # Activations only where the design exploits them.
    assert scheme_for(stc, {"B": 0.5}).activations.distribution == "dense"
    assert scheme_for(dstc, {"B": 0.5}).activations.distribution == "hypergeometric"
    assert scheme_for(get_design("tc"), {"A": "2:4", "B": 0.5}).densities["A"].density == 1.0


def test_structured_weights_halve_stc_computes_and_cycles():
    gemm = Gemm(M=256, K=512, N=256)
    dense = evaluate(build("tc", gemm, {"A": "2:4"}))
    sparse = evaluate(build("stc", gemm, {"A": "2:4"}))
    assert sparse.computes.actual == dense.computes.actual / 2
    assert sparse.cycles == pytest.approx(dense.cycles / 2)


def test_conv_workload_builds():
    conv = Conv(C=64, out_channels=128, P=14, Q=14, R=3, S=3)
    spec = build("stc-flexible-dual", conv, {"A": "2:4", "B": 0.5})
    assert evaluate(spec).computes.algorithmic >= conv.macs


@pytest.mark.parametrize(
    "densities, message",
    [
        ({"Z": 0.5}, "unknown tensor 'Z'"),
        ({"A": "5:4"}, "N:M needs 1 <= N <= M"),
        ({"B": 1.5}, "density must be in [0, 1]"),
        ({"B": "lots"}, "expected N:M"),
    ],
)
def test_bad_densities_are_one_line_errors(densities, message):
    with pytest.raises(SparsimError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build("dstc", Gemm(M=16, N=16, K=16), densities)


def test_unknown_design_lists_the_valid_names():
    with pytest.raises(SparsimError, match="designs: tc, stc, stc-flexible"):
        get_design("ampere")


def _fig15(case: str, design: str) -> Path:
    path = FIG15 / case.split("/")[0] / case.split("/")[1] / design
    if not path.is_dir():
        pytest.skip(f"reference data absent: {path} (../shared not checked out)")
    return path


def test_tc_equals_the_artifact_dense_case():
    """TC on M128-K1152-N1024 costs 276.58 uJ in the artifact (reference README)."""
    case = _fig15("WD-1.0/M128-K1152-N1024-IAD0.44-WD1.0", "TC-RF2x-24-bandwidth")
    reference = evaluate(load_sparseloop_case(case))
    ours = evaluate(build("tc", Gemm(M=128, K=1152, N=1024), {"A": "2:4", "B": 0.44}))
    assert ours.energy_uJ == pytest.approx(276.58, rel=1e-3)
    assert ours.energy_pJ == pytest.approx(reference.energy_pJ, rel=1e-9)
    assert ours.cycles == reference.cycles


@pytest.mark.parametrize(
    "design, artifact, a",
    [
        ("stc", "STC-RF2x-24-bandwidth", "2:4"),
        ("stc-flexible-dual", "STC_flexible_dualCompress-RF2x-24-bandwidth-RLE", "2:4"),
        ("dstc", "DSTC-RF2x-24-bandwidth", "0.5"),
    ],
)
def test_designs_match_the_artifact_on_the_calibration_layer(design, artifact, a):
    case = _fig15("WD-0.5/M512-K256-N1024-IAD0.82-WD0.5", artifact)
    reference = evaluate(load_sparseloop_case(case))
    ours = evaluate(build(design, Gemm(M=512, K=256, N=1024), {"A": a, "B": 0.82}))
    assert ours.energy_pJ == pytest.approx(reference.energy_pJ, rel=0.05)
    assert ours.cycles == pytest.approx(reference.cycles, rel=0.05)
    assert ours.computes.actual == pytest.approx(reference.computes.actual, rel=1e-6)
