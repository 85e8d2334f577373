"""The Python API is checked as thoroughly as the files: a Spec built in code gets the same
cross-checks and typed errors (with key paths) as a loaded one, and the size limits hold."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sparsim.designs import build
from sparsim.designs.mapper import divisors
from sparsim.errors import (
    MappingError,
    ResourceLimitError,
    SpecError,
    UnknownNameError,
)
from sparsim.evaluate import evaluate
from sparsim.limits import MAX_DIMENSION, MAX_MACS
from sparsim.spec.model import Spec, check_references, load_spec
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.workload import Conv, Gemm, parse_gemm_shape
from tests.engine.conftest import tiny_spec
from tests.robustness.corpus import EXAMPLE


def _with(spec: Spec, **changes) -> dict:
    """The spec's fields as keyword arguments, some replaced: a Spec built in code."""
    fields = {name: getattr(spec, name) for name in type(spec).model_fields}
    return {**fields, **changes}


@pytest.fixture
def spec() -> Spec:
    return tiny_spec(8, 8, 8)


def test_a_valid_spec_built_in_code_evaluates(spec: Spec) -> None:
    assert evaluate(Spec(**_with(spec))).computes.actual == 8**3


@pytest.mark.parametrize(
    ("update", "error", "key"),
    [
        ({"level": "L9"}, UnknownNameError, "level"),
        ({"level": "DRAM"}, MappingError, "level"),
        ({"keep": ["Q"]}, UnknownNameError, "keep"),
        ({"temporal_permutation": "MXK"}, UnknownNameError, "temporal_permutation"),
        ({"spatial_permutation": "MM"}, SpecError, "spatial_permutation"),
        ({"temporal": {"M": 8, "N": 8, "K": 8, "Q": 1}}, UnknownNameError, "temporal"),
    ],
)
def test_mapping_cross_checks_run_in_code(spec, update, error, key) -> None:
    """The buffer's mapping (levels[1]) edited in code, as a user would."""
    dram, buffer = spec.mapping.levels
    mapping = spec.mapping.model_copy(update={"levels": [dram, buffer.model_copy(update=update)]})
    with pytest.raises(error) as info:
        Spec(**_with(spec, mapping=mapping))
    assert info.value.where == f"mapping.levels[1].{key}"


def test_factor_product_in_code(spec: Spec) -> None:
    with pytest.raises(MappingError, match="factors of M multiply to 8, but M = 16"):
        Spec(**_with(spec, workload=Gemm(M=16, N=8, K=8)))


def test_unknown_tensor_density_in_code(spec: Spec) -> None:
    with pytest.raises(UnknownNameError) as info:
        Spec(**_with(spec, densities={"W": TensorDensity()}))
    assert info.value.where == "densities.W"


def test_a_copy_with_changes_is_checked_again(spec: Spec) -> None:
    """``model_copy(update=...)`` skips pydantic's validators; check_references reruns them."""
    changed = spec.model_copy(update={"densities": {"W": TensorDensity()}})
    with pytest.raises(UnknownNameError) as info:
        check_references(changed, "edited spec")
    assert info.value.where == "edited spec: densities.W"
    assert check_references(spec) == spec


def test_a_part_copied_with_a_bad_value_is_checked_again(spec: Spec) -> None:
    """A part edited with its own model_copy (a negative area of the MACs) is checked too,
    not taken as the model it already is."""
    compute = spec.architecture.compute.model_copy(update={"area": -1.0})
    architecture = spec.architecture.model_copy(update={"compute": compute})
    with pytest.raises(SpecError) as info:
        evaluate(spec.model_copy(update={"architecture": architecture}))
    assert info.value.where == "spec: architecture.compute.area"


def test_infinite_energy_in_code(spec: Spec) -> None:
    level = spec.architecture.levels[0]
    energy = level.energy.model_copy(update={"read": math.inf})
    levels = [level.model_copy(update={"energy": energy}), *spec.architecture.levels[1:]]
    architecture = spec.architecture.model_copy(update={"levels": levels})
    with pytest.raises(SpecError, match="finite") as info:
        Spec(**_with(spec, architecture=architecture))
    assert info.value.where == "architecture.levels[0].energy.read"


@pytest.mark.parametrize(
    ("edit", "error", "where"),
    [
        (lambda d: d["workload"].update(M=True), SpecError, "workload.M"),
        (lambda d: d["architecture"]["levels"][0]["energy"].update(read=".inf"), SpecError,
         "architecture.levels[0].energy.read"),
        (lambda d: d["architecture"]["levels"][1].update(read_bandwidth="1e999"), SpecError,
         "architecture.levels[1].read_bandwidth"),
        (lambda d: d["mapping"]["levels"][0].update(keep=None), SpecError,
         "mapping.levels[0].keep"),
        (lambda d: d["workload"].update(M=2**40), ResourceLimitError, "workload.M"),
        (lambda d: d["architecture"]["levels"][0].update(word_bits=65), ResourceLimitError,
         "architecture.levels[0].word_bits"),
    ],
)  # fmt: skip
def test_spec_file_errors_name_the_key(tmp_path: Path, edit, error, where) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    edit(data)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(error) as info:
        load_spec(path)
    assert info.value.where == f"{path}: {where}"


def test_workload_constructors_raise_typed_errors() -> None:
    with pytest.raises(SpecError, match="greater than 0"):
        Gemm(M=0, N=1, K=1)
    with pytest.raises(ResourceLimitError):
        Gemm(M=MAX_DIMENSION + 1, N=1, K=1)
    with pytest.raises(ResourceLimitError, match="multiply-accumulates"):
        Gemm(M=MAX_DIMENSION, N=MAX_DIMENSION, K=4)
    with pytest.raises(ResourceLimitError):
        Conv(C=1, out_channels=1, P=2**16, Q=2**16, batch=2**16)
    assert Gemm(M=2**20, N=2**20, K=2**13).macs == MAX_MACS


def test_gemm_option_limits() -> None:
    with pytest.raises(ResourceLimitError) as info:
        parse_gemm_shape("M=1000000000000,K=4,N=4")
    assert info.value.where.startswith("--gemm")
    with pytest.raises(SpecError, match="given twice"):
        parse_gemm_shape("M=4,M=8,K=4,N=4")


@given(st.integers(min_value=1, max_value=5000), st.none() | st.integers(1, 100))
def test_divisors_match_brute_force(n: int, cap: int | None) -> None:
    brute = [d for d in range(1, n + 1) if n % d == 0 and (cap is None or d <= cap)]
    assert divisors(n, cap) == brute


def test_largest_dimensions_map_quickly() -> None:
    """A prime near 2^31 and 2^31 itself: the O(sqrt n) factorisation makes them routine
    (the old divisor loop up to n never returned on M = 10^12)."""
    for m in (2**31 - 1, 2**31):
        result = evaluate(build("stc", Gemm(M=m, N=8, K=8), {"A": "2:4"}))
        assert math.isfinite(result.energy_pJ) and result.cycles > 0


@pytest.mark.parametrize("design", ["stc", "dstc"])
def test_wrong_shape_measured_tensor_is_named(tmp_path: Path, design: str) -> None:
    """Even where the design would run the tensor as dense, and never as "does not fit"."""
    path = tmp_path / "w.npy"
    np.save(path, np.ones((3, 5), dtype=np.float32))
    with pytest.raises(SpecError, match=r"shape \(3, 5\)") as info:
        build(design, Gemm(M=64, N=64, K=64), {"A": str(path)})
    assert info.value.where == str(path)


def test_measured_tensor_of_the_right_shape(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "w.npy"
    np.save(path, (rng.random((64, 64)) < 0.5).astype(np.float32))
    result = evaluate(build("dstc", Gemm(M=64, N=64, K=64), {"A": str(path)}))
    assert 0 < result.computes.actual < 64**3


def test_empty_measured_tensor(tmp_path: Path) -> None:
    path = tmp_path / "empty.npy"
    np.save(path, np.zeros((0,), dtype=np.float32))
    with pytest.raises(SpecError, match="elements"):
        build("dstc", Gemm(M=8, N=8, K=8), {"A": str(path)})
