"""The mapper on the MICRO'22 artifact's designs, objectives, budget, cache and inputs."""

from __future__ import annotations

import pytest

from sparsim.designs import build
from sparsim.designs import mapper as mapper_module
from sparsim.designs.mapper import load_problem, map_spec, parse_objective
from sparsim.errors import UnknownNameError
from sparsim.evaluate import evaluate, load
from sparsim.spec.constraints import load_constraints
from sparsim.spec.workload import Conv

from .conftest import CONSTRAINTS, tiny_problem

LAYER = "WD-0.5/M512-K256-N1024-IAD0.82-WD0.5"


@pytest.mark.parametrize(
    ("design", "constraints"),
    [
        ("TC-RF2x-24-bandwidth", "tensor-core.yaml"),
        ("STC_flexible_dualCompress-RF2x-24-bandwidth-RLE", "tensor-core.yaml"),
        ("DSTC-RF2x-24-bandwidth", "output-stationary.yaml"),
    ],
)
def test_no_worse_than_the_artifacts_own_mapping(fig15, design, constraints):
    case = fig15 / LAYER / design
    problem, _ = load_problem(case)
    found = map_spec(problem, load_constraints(CONSTRAINTS / constraints))
    artifact = evaluate(load(case))
    assert found.result.edp <= artifact.edp * (1 + 1e-9)
    # The mapped spec reproduces its numbers through the public evaluate.
    again = evaluate(found.spec)
    assert (again.energy_pJ, again.cycles) == (found.result.energy_pJ, found.result.cycles)


def test_objectives_rank_what_they_say():
    problem = tiny_problem((4, 4, 2))
    by = {name: map_spec(problem, objective=name).result for name in ("edp", "energy", "cycles")}
    assert by["energy"].energy_pJ <= min(r.energy_pJ for r in by.values())
    assert by["cycles"].cycles <= min(r.cycles for r in by.values())
    assert by["edp"].energy_pJ * by["edp"].cycles <= min(
        r.energy_pJ * r.cycles for r in by.values()
    )
    assert parse_objective("energy=1,cycles=2") == (1.0, 2.0)
    # The area is the hardware's, the same for every mapping: edap picks edp's mapping.
    edap = map_spec(problem, objective="edap")
    assert edap.spec.mapping == map_spec(problem, objective="edp").spec.mapping
    assert edap.objective == "edap"
    with pytest.raises(UnknownNameError, match="power"):
        parse_objective("power")


def test_deterministic_cached_and_renamed():
    problem = tiny_problem((4, 4, 2))
    first = map_spec(problem, objective="energy=1,cycles=0.5")
    renamed = problem.model_copy(
        update={"workload": problem.workload.model_copy(update={"name": "other"})}
    )
    second = map_spec(renamed, objective="energy=1,cycles=0.5")
    assert second.spec.mapping == first.spec.mapping
    assert second.result.name == "other" and second.spec.workload.name == "other"
    assert second.result.energy_pJ == first.result.energy_pJ


def test_evaluation_budget_is_respected():
    found = map_spec(tiny_problem((4, 4, 4)), max_evaluations=2, top_k=1)
    assert found.evaluated <= 2
    assert found.pruned.get("not scored (rank, budget)", 0) > 0
    assert found.considered >= found.evaluated + sum(found.pruned.values()) - found.pruned.get(
        "sampled out", 0
    )


def test_a_design_given_an_objective_runs_a_convolution_as_its_gemm():
    """The built-in designs' constraints and densities name the GEMM's dimensions and
    tensors: the mapper maps a convolution's im2col GEMM on them."""
    conv = Conv(name="conv", C=16, out_channels=16, P=8, Q=8, R=3, S=3)
    spec = build("tc", conv, {"A": "2:4"}, objective="edp")
    assert spec.workload == conv.as_gemm()
    same = build("tc", conv.as_gemm(), {"A": "2:4"}, objective="edp")
    assert evaluate(spec).energy_pJ == evaluate(same).energy_pJ


def test_many_keep_combinations_are_searched(monkeypatch):
    """Beyond MAX_KEEP_COMBINATIONS, keep/bypass choices are found by coordinate descent:
    the result is a valid mapping within a few percent of the exhaustive search's."""
    problem = tiny_problem((4, 4, 2))
    exhaustive = map_spec(problem, max_evaluations=200)
    monkeypatch.setattr(mapper_module, "MAX_KEEP_COMBINATIONS", 1)
    monkeypatch.setattr(mapper_module, "_CACHE", type(mapper_module._CACHE)())
    searched = map_spec(problem, max_evaluations=200)
    assert any("keep/bypass combinations" in note for note in searched.notes)
    assert searched.result.edp <= exhaustive.result.edp * 1.05
    assert evaluate(searched.spec).energy_pJ == searched.result.energy_pJ


def test_a_level_without_storage_energies_keeps_nothing():
    """A level whose energy table prices no reads or fills (a pure fan-out point, as the
    Eyeriss-like DummyBuffer) is left to bypass, not chosen and then refused by the model."""
    problem = tiny_problem((4, 4, 2))
    levels = list(problem.architecture.levels)
    levels[2] = levels[2].model_copy(update={"energy": type(levels[2].energy)()})
    architecture = problem.architecture.model_copy(update={"levels": levels})
    found = map_spec(problem.model_copy(update={"architecture": architecture}))
    assert found.spec.mapping.for_level("PEBuffer").keep == []
