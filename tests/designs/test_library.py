"""The library designs (Eyeriss-like, Simba-like): data files only, mapped by the mapper
under their published constraints, dense and with zero-gating on input activations."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparsim.designs.mapper import load_problem, map_spec
from sparsim.spec.sparse_optimizations import LevelSparseOptimization
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.workload import Gemm

LIBRARY = Path(__file__).resolve().parents[2] / "src" / "sparsim" / "designs" / "library"
# Where each design gates: the innermost weight holder and the accumulator, on zero B.
GATED = {
    "eyeriss-like": ("weights_spad", "psum_spad"),
    "simba-like": ("PEWeightRegs", "PEAccuBuffer"),
}
SMALL = Gemm(name="small", M=8, K=16, N=8)


def _gated(problem, levels):
    weights, accumulator = levels
    optimizations = [
        LevelSparseOptimization.model_validate(
            {"level": level, "actions": [{"type": "gating", "target": t, "condition_on": ["B"]}]}
        )
        for level, t in ((weights, "A"), (accumulator, "Z"))
    ]
    return problem.model_copy(
        update={
            "densities": {"B": TensorDensity(distribution="hypergeometric", density=0.5)},
            "sparse_optimizations": optimizations,
        }
    )


@pytest.mark.parametrize("name", sorted(GATED))
def test_library_design_maps_dense_and_gated_under_its_constraints(name):
    problem, constraints = load_problem(LIBRARY / f"{name}.yaml")
    assert constraints is not None
    problem = problem.model_copy(update={"workload": SMALL})
    dense = map_spec(problem, constraints)
    gated = map_spec(_gated(problem, GATED[name]), constraints)
    for found in (dense, gated):
        for level in found.spec.mapping.levels:
            rules = constraints.for_level(level.level)
            if rules.keep is not None:
                assert set(rules.keep) <= set(level.keep)
            if rules.bypass is not None:
                assert not set(rules.bypass) & set(level.keep)
            for dim, value in rules.temporal.exact.items():
                assert level.temporal.get(dim, 1) == value
            for dim, value in rules.spatial.exact.items():
                assert level.spatial.get(dim, 1) == value
    # Gating on zero activations: half the weight reads and partial-sum updates cost the
    # idle energy instead.
    macs = SMALL.M * SMALL.K * SMALL.N
    mac = problem.architecture.compute.energy
    # Timeloop's combiner: the MACs a gated operand would have fed never happen (reported
    # as skipped, free); gating a storage access never gates a MAC.
    assert gated.result.computes.skipped == pytest.approx(0.5 * macs)
    assert gated.result.compute.energy_pJ == pytest.approx(0.5 * macs * mac.random)
    assert gated.result.energy_pJ < dense.result.energy_pJ
