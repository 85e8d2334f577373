"""The mapping as one loop nest, outermost loop first, with each loop owned by a storage level.

A level's temporal loops iterate over its tile; its spatial loops spread that tile over the
instances of the next level inward (or over the MACs, below the innermost level). So the
tile a level holds is everything the loops of that level and of all inner levels touch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from sparsim.spec.model import DIMS, Spec

# Dimensions each tensor of the GEMM depends on (A[M,K], B[N,K], Z[M,N]).
RELEVANT_DIMS = {"A": frozenset("MK"), "B": frozenset("NK"), "Z": frozenset("MN")}
INPUT_TENSORS = ("A", "B")
OUTPUT_TENSOR = "Z"


@dataclass(frozen=True)
class Loop:
    dim: str
    bound: int
    level: int  # index of the owning storage level, 0 = outermost
    spatial: bool
    mesh_axis: str | None = None  # "X" or "Y" for spatial loops


@dataclass(frozen=True)
class Nest:
    loops: tuple[Loop, ...]  # outermost first, bound-1 loops dropped
    n_levels: int
    dims: dict[str, int]

    def loops_inside(self, level: int) -> tuple[Loop, ...]:
        """Loops of ``level`` and of all levels inside it: they span the level's tile."""
        return self._inside[level]

    @cached_property
    def _inside(self) -> list[tuple[Loop, ...]]:
        return [
            tuple(loop for loop in self.loops if loop.level >= level)
            for level in range(self.n_levels + 1)
        ]

    def tile_shape(self, level: int) -> dict[str, int]:
        shape = dict.fromkeys(DIMS, 1)
        for loop in self.loops_inside(level):
            shape[loop.dim] *= loop.bound
        return shape

    def spatial_fanout(self, level: int) -> int:
        """Spatial loops of ``level``: how many next-level instances one instance feeds."""
        return math.prod(loop.bound for loop in self.loops if loop.spatial and loop.level == level)

    def instances_used(self, level: int) -> int:
        """Instances of ``level`` that hold a tile: all spatial loops above it."""
        return math.prod(loop.bound for loop in self.loops if loop.spatial and loop.level < level)

    def temporal_iterations(self) -> int:
        """Cycles of a dense, fully utilised run: the product of all temporal loops."""
        return math.prod(loop.bound for loop in self.loops if not loop.spatial)


def build_nest(spec: Spec) -> Nest:
    gemm = spec.workload.as_gemm()
    loops: list[Loop] = []
    for index, level in enumerate(spec.architecture.levels):
        level_map = spec.mapping.for_level(level.name)
        # Permutations are innermost first; the nest is written outermost first.
        for dim in reversed(level_map.temporal_order(DIMS)):
            bound = level_map.temporal.get(dim, 1)
            if bound > 1:
                loops.append(Loop(dim, bound, index, spatial=False))
        order = level_map.spatial_order(DIMS)
        split = len(order) if level_map.split is None else level_map.split
        for position, dim in reversed(list(enumerate(order))):
            bound = level_map.spatial.get(dim, 1)
            if bound > 1:
                axis = "X" if position < split else "Y"
                loops.append(Loop(dim, bound, index, spatial=True, mesh_axis=axis))
    return Nest(tuple(loops), len(spec.architecture.levels), gemm.dims)
