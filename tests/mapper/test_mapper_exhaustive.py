"""The mapper against an independent brute force: on a tiny accelerator every mapping
(factorisations, every loop order, keep/bypass) is evaluated with the engine; the mapper,
allowed to score everything it keeps, must find the same optimum, so its pruning and its
choice of loop orders lose nothing: on the GEMM, and on a 1-D convolution whose input
window slides (another problem shape, tensors of other names)."""

from __future__ import annotations

import itertools
import math

import pytest

from sparsim.analysis.nest import build_nest
from sparsim.designs.mapper import map_spec
from sparsim.errors import CapacityError, MappingError
from sparsim.evaluate import evaluate
from sparsim.spec.constraints import parse_constraints
from sparsim.spec.mapping import LevelMapping, Mapping
from sparsim.spec.problem import Problem as ProblemInstance

from .conftest import tiny_problem

LEVELS = ("Backing", "Scratchpad", "PEBuffer")
FANOUT = {"Scratchpad": 2, "PEBuffer": 2}  # spatial below each level
PE_KEEP = ("A", "Z")  # fixed by a constraint, to keep the brute force small
CONSTRAINTS = parse_constraints(
    {
        "mapspace_constraints": [
            {"target": "PEBuffer", "type": "bypass", "keep": ["A", "Z"], "bypass": ["B"]}
        ]
    },
    "test",
)


def _splits(size: int, parts: int):
    if parts == 1:
        yield (size,)
        return
    for first in range(1, size + 1):
        if size % first == 0:
            for rest in _splits(size // first, parts - 1):
                yield (first, *rest)


def _all_mappings(problem, pe_keep=PE_KEEP):
    """Every mapping: slots per dim = temporal at 3 levels + spatial at 2 levels."""
    instance = problem.workload.problem()
    dims = tuple(instance.instance)
    per_dim = [list(_splits(instance.instance[d], 5)) for d in dims]
    orders = ["".join(p) for p in itertools.permutations(dims)]
    tensors = instance.shape.tensor_names
    keeps = [
        [t for t, on in zip(tensors, bits, strict=True) if on]
        for bits in itertools.product((True, False), repeat=len(tensors))
    ]
    pe_keep = list(pe_keep)
    for factors in itertools.product(*per_dim):
        # slot order: Backing t, Scratchpad t, Scratchpad s, PEBuffer t, PEBuffer s
        temporal = [{d: f[slot] for d, f in zip(dims, factors, strict=True)} for slot in (0, 1, 3)]
        spatial = [{d: f[slot] for d, f in zip(dims, factors, strict=True)} for slot in (2, 4)]
        if any(
            math.prod(s.values()) > FANOUT[name]
            for s, name in zip(spatial, LEVELS[1:], strict=True)
        ):
            continue
        for o0, o1, k1 in itertools.product(orders, orders, keeps):
            yield Mapping(
                levels=[
                    LevelMapping(level="Backing", temporal=temporal[0], temporal_permutation=o0),
                    LevelMapping(
                        level="Scratchpad",
                        temporal=temporal[1],
                        temporal_permutation=o1,
                        spatial=spatial[0],
                        keep=k1,
                    ),
                    LevelMapping(
                        level="PEBuffer", temporal=temporal[2], spatial=spatial[1], keep=pe_keep
                    ),
                ]
            )


def _brute_force_edp(problem, pe_keep=PE_KEEP) -> float:
    best = float("inf")
    seen = set()
    for mapping in _all_mappings(problem, pe_keep):
        spec = problem.with_mapping(mapping)
        # Mappings that differ only in the order of bound-1 loops are the same loop nest.
        key = (build_nest(spec).loops, tuple(tuple(lm.keep or ()) for lm in mapping.levels))
        if key in seen:
            continue
        seen.add(key)
        try:
            result = evaluate(spec)
        except CapacityError:
            continue
        except MappingError:  # more instances than the hardware has
            continue
        best = min(best, result.energy_pJ * result.cycles)
    return best


CASES = {
    "dense": ((2, 2, 2), None, None),
    "compressed A with skipping": (
        (2, 2, 2),
        {"A": {"distribution": "fixed-structured", "density": 0.5}},
        [
            {
                "level": "Backing",
                "formats": {"A": [{"format": "UOP"}, {"format": "CP", "metadata_word_bits": 2}]},
            },
            {
                "level": "Scratchpad",
                "formats": {"A": [{"format": "CP", "metadata_word_bits": 2}]},
                "actions": [{"type": "skipping", "target": "B", "condition_on": ["A"]}],
            },
        ],
    ),
}


@pytest.mark.parametrize(
    "case",
    [
        "dense",
        # the same search with compression and skipping (37 s): the long run
        pytest.param("compressed A with skipping", marks=pytest.mark.slow),
    ],
)
def test_mapper_finds_the_brute_force_optimum(case):
    dims, densities, optimizations = CASES[case]
    problem = tiny_problem(dims, densities, optimizations)
    found = map_spec(problem, CONSTRAINTS, max_evaluations=100_000)
    assert found.result.energy_pJ * found.result.cycles == pytest.approx(
        _brute_force_edp(problem), rel=1e-9
    )


CONV1D = {
    "kind": "problem",
    "name": "conv1d",
    "shape": {
        "name": "conv1d",
        "dimensions": ["R", "P"],
        "coefficients": [{"name": "Wstride", "default": 1}],
        "data-spaces": [
            {"name": "Filter", "projection": [[["R"]]]},
            {"name": "Signal", "projection": [[["R"], ["P", "Wstride"]]]},
            {"name": "Result", "projection": [[["P"]]], "read-write": True},
        ],
    },
}


@pytest.mark.parametrize(("size", "stride"), [((3, 4), 1), ((3, 4), 2), ((2, 6), 3)])
def test_mapper_finds_the_brute_force_optimum_on_a_sliding_window(size, stride):
    conv1d = {**CONV1D, "instance": {"R": size[0], "P": size[1], "Wstride": stride}}
    problem = tiny_problem().model_copy(update={"workload": ProblemInstance(**conv1d)})
    constraints = parse_constraints(
        {
            "mapspace_constraints": [
                {
                    "target": "PEBuffer",
                    "type": "bypass",
                    "keep": ["Filter", "Result"],
                    "bypass": ["Signal"],
                }
            ]
        },
        "test",
    )
    found = map_spec(problem, constraints, max_evaluations=100_000)
    best = _brute_force_edp(problem, pe_keep=("Filter", "Result"))
    assert found.result.energy_pJ * found.result.cycles == pytest.approx(best, rel=1e-9)
