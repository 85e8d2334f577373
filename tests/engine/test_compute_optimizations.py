"""What the MACs do with zero and missing operands, counted by hand on ``tiny_spec``: an
8 x 4 x 8 GEMM (256 computes), A compressed (its zeros never reach the MACs) and B
uncompressed (its zeros do), both at fixed-structured density 0.5. A compute sees A present
and nonzero half the time and B nonzero half the time: 64 real pairs, 64 with a zero B,
128 with A missing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import sparsim
from sparsim.errors import MissingEnergyError, SpecError
from sparsim.spec.sparsity import TensorDensity
from tests.engine.conftest import tiny_spec

HALF = TensorDensity(distribution="fixed-structured", density=0.5)


def _result(optimizations, **energy):
    spec = tiny_spec(8, 4, 8, densities={"A": HALF, "B": HALF}, compress_a=True)
    spec = spec.model_copy(update={"compute_optimizations": optimizations})
    if energy:
        compute = spec.architecture.compute
        compute = compute.model_copy(update={"energy": compute.energy.model_copy(update=energy)})
        spec = spec.model_copy(
            update={"architecture": spec.architecture.model_copy(update={"compute": compute})}
        )
    return sparsim.evaluate(spec)


@pytest.mark.parametrize(
    ("optimizations", "actual", "gated", "energy"),
    [
        ([], 256, 0, 256.0),  # a missing A is a bubble the MAC computes on
        (["gating"], 64, 192, 64 + 192 * 0.25),
        (["skipping"], 128, 0, 128 + 128 * 0.25),  # skipped MACs cost the gated energy
        (["gating", "skipping"], 64, 64, 64 + 64 * 0.25 + 128 * 0.25),
    ],
)
def test_compute_optimizations_split_the_computes(optimizations, actual, gated, energy):
    result = _result(optimizations)
    assert result.computes.actual == actual
    assert result.computes.gated == gated
    assert result.computes.skipped == 256 - actual - gated
    assert result.compute.energy_pJ == pytest.approx(energy)


def test_a_skipped_compute_costs_its_own_energy_when_given():
    assert _result(["skipping"], skipped=0.125).compute.energy_pJ == pytest.approx(
        128 + 128 * 0.125
    )


def test_a_gated_compute_without_energy_is_an_error():
    with pytest.raises(MissingEnergyError, match="gated compute"):
        _result(["gating"], gated=None)


def _case_with(tmp_path: Path, target: dict) -> Path:
    source = Path(__file__).parents[1] / "robustness" / "data" / "small-case"
    case = tmp_path / "case"
    case.mkdir()
    for path in source.iterdir():
        (case / path.name).write_text(path.read_text())
    document = yaml.safe_load((case / "aggregated_input.yaml").read_text())
    document["sparse_optimizations"]["targets"].append(target)
    (case / "aggregated_input.yaml").write_text(yaml.safe_dump(document))
    return case


def test_the_importer_reads_compute_optimizations(tmp_path):
    case = _case_with(
        tmp_path, {"name": "MAC", "compute-optimization": [{"type": "gate-on-zero-operand"}]}
    )
    assert sparsim.load(case).compute_optimizations == ["gating"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"name": "MAC", "compute-optimization": [{"type": "bypass"}]}, "unknown compute"),
        ({"name": "RF", "compute-optimization": [{"type": "gating"}]}, "storage level"),
        (
            {"name": "MAC", "compute-optimization": [], "action-optimization": []},
            "only compute-optimization",
        ),
    ],
)
def test_bad_compute_optimizations_name_the_key(tmp_path, target, message):
    with pytest.raises(SpecError, match=message) as error:
        sparsim.load(_case_with(tmp_path, target))
    assert "sparse_optimizations.targets[" in str(error.value)
