"""The mapper against an independent brute force: on a tiny accelerator every mapping
(factorisations, every loop order, keep/bypass) is evaluated with the engine; the mapper,
allowed to score everything it keeps, must find the same optimum, so its pruning and its
collapsing of loop orders lose nothing."""

from __future__ import annotations

import itertools

import pytest

from sparsim.analysis.nest import build_nest
from sparsim.designs.mapper import map_spec
from sparsim.errors import CapacityError, MappingError
from sparsim.evaluate import evaluate
from sparsim.spec.constraints import parse_constraints
from sparsim.spec.mapping import LevelMapping, Mapping

from .conftest import tiny_problem

DIMS = ("M", "N", "K")
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


def _all_mappings(problem):
    """Every mapping: slots per dim = temporal at 3 levels + spatial at 2 levels."""
    dims = problem.workload.as_gemm().dims
    per_dim = [list(_splits(dims[d], 5)) for d in DIMS]
    orders = ["".join(p) for p in itertools.permutations(DIMS)]
    keeps = [
        [t for t, on in zip("ABZ", bits, strict=True) if on]
        for bits in itertools.product((True, False), repeat=3)
    ]
    pe_keep = list(PE_KEEP)
    for factors in itertools.product(*per_dim):
        # slot order: Backing t, Scratchpad t, Scratchpad s, PEBuffer t, PEBuffer s
        temporal = [{d: f[slot] for d, f in zip(DIMS, factors, strict=True)} for slot in (0, 1, 3)]
        spatial = [{d: f[slot] for d, f in zip(DIMS, factors, strict=True)} for slot in (2, 4)]
        if any(
            s["M"] * s["N"] * s["K"] > FANOUT[name]
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


def _brute_force_edp(problem) -> float:
    best = float("inf")
    seen = set()
    for mapping in _all_mappings(problem):
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


@pytest.mark.parametrize("case", sorted(CASES))
def test_mapper_finds_the_brute_force_optimum(case):
    dims, densities, optimizations = CASES[case]
    problem = tiny_problem(dims, densities, optimizations)
    found = map_spec(problem, CONSTRAINTS, max_evaluations=100_000)
    assert found.result.energy_pJ * found.result.cycles == pytest.approx(
        _brute_force_edp(problem), rel=1e-9
    )
