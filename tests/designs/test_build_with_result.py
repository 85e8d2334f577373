"""``build_with_result`` hands back the result its mapping computed: the same, to the last
bit, as evaluating the spec it returns (so callers may skip that evaluation)."""

from __future__ import annotations

import pytest

from sparsim.designs import get_design, resize
from sparsim.designs.build import build_with_result
from sparsim.evaluate import evaluate
from sparsim.spec.workload import Conv, Gemm

GEMM = Gemm(name="g", M=512, K=1024, N=256)


@pytest.mark.parametrize(
    ("design", "densities", "objective"),
    [
        ("tc", None, None),
        ("stc-flexible", {"A": "2:8", "B": 0.5}, None),
        ("stc-flexible-dual", {"A": "2:4", "B": 0.4}, None),
        ("dstc", {"A": 0.25, "B": 0.6}, None),
        ("ttc-vegeta-m8", {"A": "4:8", "B": 0.5}, None),
        ("stc", {"A": "2:4"}, "edp"),  # the mapper's path
    ],
)
def test_the_result_is_the_spec_evaluated(design, densities, objective) -> None:
    spec, result = build_with_result(design, GEMM, densities, objective=objective)
    assert result == evaluate(spec)


def test_on_resized_hardware_and_a_convolution() -> None:
    design = get_design("dstc")
    smem = design.level_name("shared-buffer")
    bigger = resize(
        design.architecture, smem, data_capacity=4 * design.architecture.level(smem).data_capacity
    )
    conv = Conv(name="c", C=64, out_channels=128, P=14, Q=14, R=3, S=3)
    spec, result = build_with_result(design, conv, {"A": 0.5, "B": 0.5}, architecture=bigger)
    assert result == evaluate(spec)
    assert spec.architecture == bigger
