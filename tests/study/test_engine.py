"""The study evaluates through the sweep engine: a sample of its points (every kind of
strategy, hardware change and activation skipping) against the scalar path, sparsim's
build + evaluate on each point written out here, and the fixed-mapping mode against the
mapping it reuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparsim.designs import build, resize
from sparsim.errors import SparsimError
from sparsim.evaluate import evaluate
from sparsim.spec.sparse_optimizations import ActionOptimization, LevelSparseOptimization
from sparsim.spec.sparsity import parse_density
from sparsim.spec.workload import Gemm, shape_name
from sparsim.study.config import load_definition
from sparsim.study.runner import (
    HardwareChange,
    Point,
    density_text,
    evaluate_points,
    point_for,
)
from sparsim.study.strategies import structured_density, unstructured_density

BY_NAME = load_definition().by_name
SHAPES = ((64, 256, 128), (96, 128, 80))  # the second pads on every design
CHANGES = (
    None,
    HardwareChange("SMEM", data_capacity=65536),
    HardwareChange("SMEM", data_capacity=524288, rescale_energy=False),
    HardwareChange("RF", data_capacity=1024),
    HardwareChange("LRF", metadata_word_bits=16),
    HardwareChange("SMEM", read_bandwidth=84.0),
)
SAMPLE = [
    ("dense", 0.0, 0.0),
    ("struct-2:6", 2 / 3, 0.0),
    ("struct-flexible", 0.75, 0.0),
    ("struct-dual", 0.5, 0.5),
    ("struct-dual", 0.75, 2 / 3),
    ("unstruct-single", 0.5, 0.0),
    ("unstruct-dual", 2 / 3, 0.75),
    ("unstruct-dual", 0.0, 0.5),
    ("struct-nm-dual", 1 / 8, 1 / 8),
]


def _points() -> list[Point]:
    points = []
    for i, (name, ws, sa) in enumerate(SAMPLE):
        for j, shape in enumerate(SHAPES):
            change = CHANGES[(i + j) % len(CHANGES)]
            points.append(point_for(BY_NAME[name], shape, 1 - ws, 1 - sa, change))
    return points


def _scalar(point: Point):
    """The point evaluated the long way: its hardware changed by hand, mapped by build at
    its own densities, the PEs skipping zero activations where the strategy says so."""
    architecture = point.design.architecture
    change = point.hardware
    if change is not None:
        sizes = {
            key: getattr(change, key)
            for key in ("data_capacity", "metadata_capacity_bits", "metadata_word_bits")
            if getattr(change, key) is not None
        }
        levels = list(
            (resize(architecture, change.level, **sizes) if sizes else architecture).levels
        )
        for index, level in enumerate(levels):
            if level.name != change.level:
                continue
            if not change.rescale_energy:
                own = architecture.level(change.level).energy
                levels[index] = level.model_copy(update={"energy": own})
            if change.read_bandwidth is not None:
                levels[index] = levels[index].model_copy(
                    update={"read_bandwidth": change.read_bandwidth}
                )
        architecture = architecture.model_copy(update={"levels": levels})
    m, k, n = point.shape
    gemm = Gemm(name=shape_name(m, k, n), M=m, K=k, N=n)
    densities = {"A": point.weights, "B": point.activations}
    spec = build(point.design, gemm, densities, architecture=architecture)
    if point.skip_activations:
        skip = ActionOptimization(type="skipping", target="A", condition_on=["B"])
        optimizations = [
            o.model_copy(update={"actions": [*o.actions, skip]}) if o.level == "LRF" else o
            for o in spec.sparse_optimizations
        ]
        if "LRF" not in [o.level for o in optimizations]:
            optimizations.append(LevelSparseOptimization(level="LRF", actions=[skip]))
        spec = spec.model_copy(update={"sparse_optimizations": optimizations})
    return evaluate(spec)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_sample_of_study_points_equals_the_scalar_path(jobs):
    points = _points()
    assert any(p.skip_activations for p in points) and any(p.hardware for p in points)
    outcomes = evaluate_points(points, jobs=jobs, progress=False)
    for point in points:
        expected = _scalar(point)
        outcome = outcomes[point]
        assert outcome.error is None
        metrics = outcome.metrics
        assert metrics["evaluated_workload"] == expected.name
        assert metrics["padded"] == ("padded" in expected.name)
        row = expected.to_row()
        for column in ("energy_uJ", "cycles", "computes_actual", "SMEM.data_uJ", "LRF.cycles"):
            assert metrics[column] == row[column], (point, column)
        lrf = [r for r in outcome.levels if r["level"] == "LRF" and r["tensor"] == "A"]
        assert lrf[0]["actual_reads"] == expected.level("LRF").tensors["A"].reads.actual


def test_fixed_mapping_reuses_the_reference_mapping_of_each_unit():
    """With ``mapping: fixed`` a unit's points share the mapping of its dense (or N:M
    pattern) point: that point's numbers are the re-mapped ones, the others are evaluated
    on its mapping (the same tiles, so the same padded shape), never re-mapped here."""
    shape = (256, 256, 512)
    strategy = BY_NAME["unstruct-dual"]
    pairs = [(1.0, 1.0), (0.5, 1.0), (0.5, 0.5), (0.25, 1 / 3)]
    points = [point_for(strategy, shape, a, b) for a, b in pairs]
    fixed = evaluate_points(points, jobs=1, progress=False, mapping="fixed")
    remap = evaluate_points(points, jobs=1, progress=False, mapping="remap")
    assert fixed[points[0]].metrics == remap[points[0]].metrics
    reference = _scalar(points[0])
    for point in points[1:]:
        assert fixed[point].metrics["evaluated_workload"] == reference.name
        assert fixed[point].metrics["computes_actual"] == remap[point].metrics["computes_actual"]
    # at 50% weights the mapper picks another mapping at the point's own densities
    assert any(
        fixed[p].metrics["cycles"] != remap[p].metrics["cycles"]
        or fixed[p].metrics["energy_uJ"] != remap[p].metrics["energy_uJ"]
        for p in points[1:]
    )


@given(
    st.one_of(
        st.integers(1, 16).flatmap(
            lambda m: st.integers(1, m).map(lambda n: structured_density(n / m, "A"))
        ),
        st.floats(1e-6, 1.0).map(lambda d: unstructured_density(d, "A")),
    )
)
def test_densities_travel_to_the_workers_as_text_that_parses_back(density):
    assert parse_density(density_text(density)) == density


def test_an_unknown_mapping_mode_is_a_typed_error():
    with pytest.raises(SparsimError, match="remap, fixed"):
        evaluate_points([], mapping="sometimes")
