"""Many density points on one mapping in one pass (``evaluate_densities``): each point equals
``evaluate`` of the spec with that point's densities (the one-point case runs in Python
floats, a batch in numpy arrays, so this is a differential test of the two)."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsim.designs import build, get_design
from sparsim.errors import CapacityError, MappingError, SparsimError
from sparsim.evaluate import evaluate, evaluate_densities, load
from sparsim.spec.model import Spec
from sparsim.spec.sparse_optimizations import ActionOptimization
from sparsim.spec.sparsity import TensorDensity, parse_density
from sparsim.spec.workload import parse_gemm_shape
from sparsim.sweep import plan
from sparsim.sweep.points import canonical, hardware
from sparsim.sweep.work import evaluate_unit
from tests.engine.conftest import tiny_spec

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted(p for p in (Path(__file__).parent / "timeloop_cases").iterdir() if p.is_dir())
DESIGNS = [("dstc", "2:4"), ("stc-flexible", "2:8"), ("stc", "2:4"), ("tc", "dense")]


@cache
def _spec(source: str) -> Spec:
    """A spec with sparse optimizations: a Timeloop case, the example, or a built-in design
    mapped on a small GEMM (with the densities that make it switch on its sparse features)."""
    if source.startswith("design:"):
        name, pattern = source.removeprefix("design:").split("/")
        gemm = parse_gemm_shape("M=64,K=128,N=96")
        return build(get_design(name), gemm, {"A": pattern, "B": "0.5"})
    return load(source)


SOURCES = [
    *(str(case) for case in CASES),
    str(ROOT / "examples" / "stc-2of4-M512-K256-N1024.yaml"),
    *(f"design:{name}/{pattern}" for name, pattern in DESIGNS),
]

tensor_density = st.one_of(
    st.just("dense"),
    st.sampled_from([0.05, 0.1, 0.25, 0.3, 0.5, 0.75, 0.9, 0.99]).map(str),
    st.sampled_from([0.1, 0.4, 0.8]).map(lambda d: f"uniform:{d}"),
    st.sampled_from(["1:4", "2:4", "1:8", "2:8", "3:4", "2:6", "1:2"]),
)
point = st.fixed_dictionaries({"A": tensor_density, "B": tensor_density})


def _close(batch, scalar, where: str = "") -> None:
    """Equal structure, numbers within 1e-9 relative."""
    if isinstance(scalar, dict):
        assert batch.keys() == scalar.keys(), where
        for key in scalar:
            _close(batch[key], scalar[key], f"{where}.{key}")
    elif isinstance(scalar, list | tuple):
        assert len(batch) == len(scalar), where
        for i, (b, s) in enumerate(zip(batch, scalar, strict=True)):
            _close(b, s, f"{where}[{i}]")
    elif isinstance(scalar, float | int) and not isinstance(scalar, bool):
        assert math.isclose(batch, scalar, rel_tol=1e-9, abs_tol=1e-12), (where, batch, scalar)
    else:
        assert batch == scalar, where


def _answer(spec: Spec):
    """What evaluate() says for the spec (a mapping that does not fit it included)."""
    try:
        return evaluate(spec)
    except (CapacityError, MappingError) as exc:
        return exc


def _scalar(spec: Spec, densities: dict[str, str]):
    parsed = {tensor: parse_density(d) for tensor, d in densities.items()}
    return _answer(spec.model_copy(update={"densities": parsed}))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SOURCES), st.lists(point, min_size=2, max_size=9))
def test_each_point_equals_its_scalar_evaluation(source, points):
    spec = _spec(source)
    try:
        batch = evaluate_densities(spec, points)
    except MappingError as exc:  # the same at every point (the format cannot hold the tile)
        assert all(str(_scalar(spec, densities)) == str(exc) for densities in points)
        return
    assert len(batch) == len(points)
    for densities, result in zip(points, batch, strict=True):
        expected = _scalar(spec, densities)
        if isinstance(expected, SparsimError):
            assert type(result) is type(expected) and str(result) == str(expected)
        else:
            assert not isinstance(result, SparsimError), result
            _close(result.to_dict(), expected.to_dict())


def test_an_overflowing_point_is_marked_and_the_others_are_evaluated():
    # A compressed 8 x 8 tile of A in the buffer (64 words dense, capacity 40 with B and Z).
    spec = tiny_spec(
        8,
        4,
        8,
        buffer_temporal={"M": 8, "N": 4, "K": 8},
        compress_a=True,
        buffer_capacity=96,
    )
    # Worst-case A tiles: 16 and 32 nonzeros (hypergeometric), 64 (dense; uniform can fill it).
    points = [{"A": "0.25"}, {"A": "dense"}, {"A": "0.5"}, {"A": "uniform:0.5"}]
    results = evaluate_densities(spec, points)
    for index in (1, 3):
        assert isinstance(results[index], CapacityError)
        assert "tiles need 128 words (A alone 64), capacity 96" in str(results[index])
        assert str(_scalar(spec, points[index])) == str(results[index])
    for index, words in ((0, 16), (2, 32)):
        assert results[index].level("Buffer").tensors["A"].data_capacity_used == words
        _close(results[index].to_dict(), _scalar(spec, points[index]).to_dict())


def test_measured_tensors_each_keep_their_own_occupancies(tmp_path):
    rng = np.random.default_rng(1)
    files = []
    for index, density in enumerate((0.2, 0.6)):
        path = tmp_path / f"a{index}.npy"
        np.save(path, (rng.random((8, 8)) < density).astype(float))  # A is M x K
        files.append(str(path))
    spec = tiny_spec(
        8,
        4,
        8,
        buffer_temporal={"N": 4, "K": 2},
        dram_temporal={"M": 8, "K": 4},
        compress_a=True,
        actions=[ActionOptimization(type="skipping", target="Z", condition_on=["A"])],
    )
    points = [{"A": files[0]}, {"A": files[1]}, {"A": "0.4"}]
    results = evaluate_densities(spec, points)
    for densities, result in zip(points, results, strict=True):
        _close(result.to_dict(), _scalar(spec, densities).to_dict())
    assert results[0].energy_pJ < results[1].energy_pJ


def test_other_errors_are_raised_not_marked():
    spec = _spec(str(CASES[0]))
    with pytest.raises(SparsimError, match=r"densities\[1\]\.A"):
        evaluate_densities(spec, [{"A": "0.5"}, {"A": "bogus"}])
    with pytest.raises(SparsimError, match="N:M needs"):
        evaluate_densities(spec, [{"A": TensorDensity(), "B": "5:4"}])
    assert evaluate_densities(spec, []) == []


def test_a_fixed_mapping_unit_gives_the_rows_of_scalar_evaluation():
    """The sweep's fixed-mapping rows equal evaluating each point on the unit's mapping
    one by one (re-mapped where the mapping cannot hold it)."""
    config = {
        "designs": ["dstc", "stc-flexible"],
        "workloads": [{"gemm": "M=64,K=128,N=96"}],
        "densities": {"A": [1.0, 0.3, "2:8", 0.05], "B": [1.0, 0.5, 0.1]},
        "mapping": "fixed",
    }
    _, units = plan(config)
    for unit in units:
        design = get_design(unit.design.builtin)
        architecture = hardware(unit.design, canonical(unit.memory))
        pattern = f"{unit.pattern[0]}:{unit.pattern[1]}" if unit.pattern else "dense"
        base = build(design, unit.layer, {"A": pattern, "B": "dense"}, architecture=architecture)
        rows = evaluate_unit(unit)
        assert len(rows) == len(unit.schemes)
        for densities, row in zip(unit.schemes, rows, strict=True):
            spec = build(design, unit.layer, densities, architecture=architecture)
            on_base = base.model_copy(
                update={
                    "densities": spec.densities,
                    "sparse_optimizations": spec.sparse_optimizations,
                }
            )
            expected = _answer(on_base)
            if isinstance(expected, CapacityError):
                assert row["remapped"]
                expected = evaluate(spec)
            else:
                assert not row["remapped"]
            assert row["energy_uJ"] == pytest.approx(expected.energy_uJ, rel=1e-9)
            assert row["cycles"] == pytest.approx(expected.cycles, rel=1e-9)
