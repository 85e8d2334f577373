"""Invariants of the model over random shapes, densities and mappings."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsim.evaluate import evaluate
from sparsim.spec.sparse_optimizations import ActionOptimization
from sparsim.spec.sparsity import TensorDensity, parse_density
from tests.engine.conftest import tiny_spec

dims = st.sampled_from([1, 2, 3, 4, 6, 8, 12, 16])
densities = st.sampled_from([0.1, 0.25, 0.5, 0.75, 0.9])
distributions = st.sampled_from(["hypergeometric", "uniform", "fixed-structured"])


def _spec(M, N, K, density_a, density_b, distribution, action_type=None):
    densities = {
        "A": TensorDensity(distribution=distribution, density=density_a),
        "B": TensorDensity(distribution=distribution, density=density_b),
    }
    actions = (
        [ActionOptimization(type=action_type, target="Z", condition_on=["A", "B"])]
        if action_type
        else []
    )
    return tiny_spec(
        M, N, K, densities=densities, actions=actions, compress_a=True, buffer_capacity=None
    )


@settings(max_examples=40, deadline=None)
@given(
    dims,
    dims,
    dims,
    densities,
    densities,
    distributions,
    st.sampled_from([None, "gating", "skipping"]),
)
def test_actual_never_exceeds_algorithmic(M, N, K, da, db, distribution, action):
    result = evaluate(_spec(M, N, K, da, db, distribution, action))
    computes = result.computes
    assert 0 <= computes.actual <= computes.algorithmic == M * N * K
    assert computes.actual + computes.gated + computes.skipped == pytest.approx(
        computes.algorithmic
    )
    for level in result.levels:
        for tensor in level.tensors.values():
            for counts in (tensor.reads, tensor.fills, tensor.updates):
                assert counts.actual >= 0 and counts.gated >= 0 and counts.skipped >= 0


@settings(max_examples=40, deadline=None)
@given(dims, dims, dims, densities, densities, distributions)
def test_skipping_never_costs_more_than_gating(M, N, K, da, db, distribution):
    gated = evaluate(_spec(M, N, K, da, db, distribution, "gating"))
    skipped = evaluate(_spec(M, N, K, da, db, distribution, "skipping"))
    assert skipped.energy_pJ <= gated.energy_pJ + 1e-9
    assert skipped.cycles <= gated.cycles


@settings(max_examples=30, deadline=None)
@given(dims, dims, dims, distributions, st.sampled_from([None, "gating", "skipping"]))
def test_density_one_reproduces_dense(M, N, K, distribution, action):
    dense = evaluate(tiny_spec(M, N, K, buffer_capacity=None))
    full = evaluate(_spec(M, N, K, 1.0, 1.0, distribution, action))
    assert full.cycles == dense.cycles
    assert full.computes.actual == dense.computes.actual
    data = lambda r: sum(level.data_energy_pJ for level in r.levels) + r.compute.energy_pJ  # noqa: E731
    assert data(full) == pytest.approx(data(dense))


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([(1, 2), (2, 4), (1, 4), (3, 4), (2, 8), (4, 8), (1, 8)]), dims, dims)
def test_structured_nm_leaves_n_over_m_of_the_computes(pattern, M, N):
    n, m = pattern
    K = 2 * m
    spec = tiny_spec(
        M,
        N,
        K,
        densities={"A": parse_density(f"{n}:{m}")},
        actions=[ActionOptimization(type="skipping", target="B", condition_on=["A"])],
        compress_a=True,
        buffer_capacity=None,
    )
    result = evaluate(spec)
    assert result.computes.actual == pytest.approx(M * N * K * n / m)


@settings(max_examples=25, deadline=None)
@given(dims, dims, dims, densities, densities, st.integers(2, 5))
def test_count_repeats_the_whole_run(M, N, K, da, db, count):
    """A workload repeated ``count`` times (a grouped conv) costs ``count`` single runs."""
    spec = _spec(M, N, K, da, db, "hypergeometric", "skipping")
    once = evaluate(spec)
    repeated = evaluate(
        spec.model_copy(update={"workload": spec.workload.model_copy(update={"count": count})})
    )
    assert repeated.energy_pJ == pytest.approx(count * once.energy_pJ)
    assert repeated.cycles == count * once.cycles
    assert repeated.computes.algorithmic == count * M * N * K
    assert repeated.computes.actual == pytest.approx(count * once.computes.actual)
    for single, many in zip(once.levels, repeated.levels, strict=True):
        for name, tensor in single.tensors.items():
            assert many.tensors[name].reads.actual == pytest.approx(count * tensor.reads.actual)
            assert many.tensors[name].data_capacity_used == tensor.data_capacity_used


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5000), st.data())
def test_occupancy_distributions_match_scipy(total, data):
    """The log-space pmfs agree with scipy.stats' hypergeometric and binomial laws."""
    import numpy as np
    from scipy import stats

    from sparsim.analysis.density import _binomial, _hypergeometric

    nonzeros = data.draw(st.integers(0, total))
    size = data.draw(st.integers(1, total))
    values, probabilities = _hypergeometric(total, nonzeros, size)._pmf
    expected = stats.hypergeom(total, nonzeros, size).pmf(values)
    np.testing.assert_allclose(probabilities, expected / expected.sum(), atol=1e-9)
    assert values @ probabilities == pytest.approx(size * nonzeros / total)

    density = data.draw(st.sampled_from([0.0, 1.0]) | st.floats(1e-6, 1 - 1e-6))
    values, probabilities = _binomial(size, density)._pmf
    np.testing.assert_allclose(probabilities, stats.binom(size, density).pmf(values), atol=1e-9)


@pytest.mark.parametrize(("total", "nonzeros", "size"), [(581, 2, 2), (10**6, 3, 1000)])
def test_skewed_occupancy_keeps_its_tail(total, nonzeros, size):
    """A mean near zero: the occupancies past twelve deviations still count (2 of 581 in a
    tile of 2 holds both with probability 5.9e-6, a sixth of a percent of the mean)."""
    from scipy import stats

    from sparsim.analysis.density import _binomial, _hypergeometric

    values, probabilities = _hypergeometric(total, nonzeros, size)._pmf
    assert values @ probabilities == pytest.approx(size * nonzeros / total, rel=1e-7)
    assert probabilities[-1] == pytest.approx(
        stats.hypergeom(total, nonzeros, size).pmf(values[-1])
    )
    values, probabilities = _binomial(size, nonzeros / total)._pmf
    assert values @ probabilities == pytest.approx(size * nonzeros / total, rel=1e-7)


def test_emptiness_given_the_tile_follows_the_density_model():
    """In a tile of 4 holding 2 nonzeros: drawn at random (hypergeometric), one element is
    empty with probability 2/4 and a pair with 1/6 (C(2,2)/C(4,2)); spread evenly
    (Timeloop's fixed-structured), a pair holds its share of 1 and is never empty."""
    from sparsim.analysis.density import DensityModel

    k = np.array([0.0, 2.0, 4.0])
    hyper = DensityModel(TensorDensity(distribution="hypergeometric", density=0.25), (2, 4))
    np.testing.assert_allclose(hyper.empty_given((2, 2), (1, 1), k), [1.0, 0.5, 0.0])
    np.testing.assert_allclose(hyper.empty_given((2, 2), (1, 2), k), [1.0, 1 / 6, 0.0])
    even = DensityModel(TensorDensity(distribution="fixed-structured", density=0.5), (2, 4))
    np.testing.assert_allclose(even.empty_given((2, 2), (1, 1), k), [1.0, 0.5, 0.0])
    np.testing.assert_allclose(even.empty_given((2, 2), (1, 2), k), [1.0, 0.0, 0.0])


@given(st.integers(1, 60), st.data())
def test_empty_in_draw_is_the_hypergeometric_zero(size, data):
    from sparsim.analysis.density import _empty_in_draw

    sub = data.draw(st.integers(1, size))
    k = np.arange(size + 1, dtype=float)
    expected = [math.comb(size - sub, int(n)) / math.comb(size, int(n)) for n in k]
    np.testing.assert_allclose(_empty_in_draw(size, sub, k), expected, rtol=1e-9, atol=1e-15)


def test_fan_out_is_checked_per_tensor_and_mesh_axis():
    """The oracle's TC RF feeds a 16 x 16 LRF mesh per instance: a tensor spread 32 wide along
    Y overflows it even though 32 x 8 fits the 256 instances; 16 along X fits."""
    from pathlib import Path
    from types import SimpleNamespace

    from sparsim.analysis.sparse import FanoutNeed
    from sparsim.cost.model import _fanout_errors
    from sparsim.errors import MappingError
    from sparsim.evaluate import load

    case = Path(__file__).parents[1] / "oracle" / "cases" / "s1-571-TC-density-saf"
    architecture = load(case).architecture
    assert [architecture.mesh_fanout(2, axis) for axis in "XY"] == [16, 16]
    assert architecture.mesh_fanout(0, "X") == 1  # meshX defaults to the instances (Timeloop)
    errors = [None]
    fits = SimpleNamespace(fanouts=(FanoutNeed(2, "X", "B", 16.0), FanoutNeed(2, "Y", "A", 8.0)))
    _fanout_errors(architecture, fits, errors)
    assert errors == [None]
    too_tall = SimpleNamespace(fanouts=(FanoutNeed(2, "Y", "A", 32.0),))
    _fanout_errors(architecture, too_tall, errors)
    assert isinstance(errors[0], MappingError)
    assert "A needs a fan-out of 32 along mesh Y below RF, the mesh has 16" in str(errors[0])
