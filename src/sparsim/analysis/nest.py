"""The mapping as one loop nest, outermost loop first, with each loop owned by a storage level.

A level's temporal loops iterate over its tile; its spatial loops spread that tile over the
instances of the next level inward (or over the MACs, below the innermost level). So the
tile a level holds is everything the loops of that level and of all inner levels touch: a
box of the problem's dimensions, which each tensor sees through its projection (a
convolution's input rank ``R*Wdilation + P*Wstride`` spans ``(R-1)*Wdilation +
(P-1)*Wstride + 1`` coordinates of a box of ``R`` by ``P``, holes included, as Timeloop
counts it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

from sparsim.spec.model import Spec
from sparsim.spec.problem import Problem


@dataclass(frozen=True)
class TensorShape:
    """One tensor's projection with the coefficients filled in: per rank (outermost first)
    its terms (dimension, coefficient)."""

    name: str
    ranks: tuple[tuple[tuple[str, int], ...], ...]
    read_write: bool

    @cached_property
    def dims(self) -> frozenset[str]:
        """The dimensions the tensor is indexed by."""
        return frozenset(dim for rank in self.ranks for dim, _ in rank)

    def extents(self, box: Mapping[str, int]) -> tuple[int, ...]:
        """Per rank, the coordinates a box of the problem (extent per dimension, 1 where
        absent) covers."""
        return tuple(sum(abs(c) * (box.get(d, 1) - 1) for d, c in rank) + 1 for rank in self.ranks)

    def size(self, box: Mapping[str, int]) -> int:
        return math.prod(self.extents(box))

    def shift(self, steps: Mapping[str, int]) -> tuple[int, ...]:
        """Per rank, how far the tensor's tile moves when the box moves by ``steps``."""
        return tuple(sum(c * steps.get(d, 0) for d, c in rank) for rank in self.ranks)


@dataclass(frozen=True)
class ProblemView:
    """What the engine needs of a problem: dimension sizes and each tensor's projection."""

    name: str
    dims: dict[str, int]
    tensors: dict[str, TensorShape]  # in the shape's order
    count: int

    @cached_property
    def outputs(self) -> tuple[str, ...]:
        """Read-write tensors (accumulated partial sums)."""
        return tuple(t for t, s in self.tensors.items() if s.read_write)

    @cached_property
    def operands(self) -> tuple[str, ...]:
        """Read-only tensors (the operands of each operation)."""
        return tuple(t for t, s in self.tensors.items() if not s.read_write)

    def relevant(self, tensor: str) -> frozenset[str]:
        return self.tensors[tensor].dims

    def full_extents(self, tensor: str) -> tuple[int, ...]:
        return self.tensors[tensor].extents(self.dims)


def view(problem: Problem) -> ProblemView:
    """The engine's view of ``problem``, shared by every evaluation of the same problem."""
    return _view(
        problem.name,
        problem.shape,
        tuple(problem.instance.items()),
        tuple(problem.coefficients.items()),
        problem.count,
    )


@lru_cache(maxsize=1024)
def _view(name, shape, instance, coefficients, count) -> ProblemView:
    values = dict(shape.coefficients) | dict(coefficients)
    sizes = dict(instance)
    tensors = {
        space.name: TensorShape(
            space.name,
            tuple(
                tuple((dim, values[c] if c else 1) for dim, c in rank) for rank in space.projection
            ),
            space.read_write,
        )
        for space in shape.data_spaces
    }
    # Dimensions in the shape's order: Timeloop completes a partial permutation in it.
    return ProblemView(name, {dim: sizes[dim] for dim in shape.dimensions}, tensors, count)


@dataclass(frozen=True)
class Loop:
    dim: str
    bound: int
    level: int  # index of the owning storage level, 0 = outermost
    spatial: bool
    mesh_axis: str | None = None  # "X" or "Y" for spatial loops
    stride: int = 1  # coordinate step of ``dim`` per iteration (inner loops' bounds on it)


@dataclass(frozen=True)
class Nest:
    loops: tuple[Loop, ...]  # outermost first, bound-1 loops dropped
    n_levels: int
    problem: ProblemView
    # Per level, innermost first, a loop for every dimension (bound 1 too): its spatial
    # loops (where it fans out) inside its temporal ones, each in permutation order.
    # Timeloop lays compressed tiles out over this complete nest.
    complete: tuple[tuple[Loop, ...], ...] = ()

    @property
    def dims(self) -> dict[str, int]:
        return self.problem.dims

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
        """The box of the problem a level's tile covers (extent per dimension)."""
        return box(self.loops_inside(level), self.dims)

    def spatial_fanout(self, level: int) -> int:
        """Spatial loops of ``level``: how many next-level instances one instance feeds."""
        return math.prod(loop.bound for loop in self.loops if loop.spatial and loop.level == level)

    def instances_used(self, level: int) -> int:
        """Instances of ``level`` that hold a tile: all spatial loops above it."""
        return math.prod(loop.bound for loop in self.loops if loop.spatial and loop.level < level)

    def temporal_iterations(self) -> int:
        """Cycles of a dense, fully utilised run: the product of all temporal loops."""
        return math.prod(loop.bound for loop in self.loops if not loop.spatial)


def tile_extents(loops, tensor: TensorShape) -> tuple[int, ...]:
    """Per rank, the coordinates of ``tensor`` the box ``loops`` span covers."""
    return tensor.extents(box(loops, ()))


def box(loops, dims) -> dict[str, int]:
    """Extent per dimension of the box ``loops`` span (1 for the dimensions they skip)."""
    shape = dict.fromkeys(dims, 1)
    for loop in loops:
        shape[loop.dim] = shape.get(loop.dim, 1) * loop.bound
    return shape


def build_nest(spec: Spec) -> Nest:
    problem = view(spec.problem)
    dims = tuple(problem.dims)
    loops: list[Loop] = []
    complete: list[tuple[Loop, ...]] = []
    inner_levels = [*spec.architecture.levels[1:], spec.architecture.compute]
    for index, level in enumerate(spec.architecture.levels):
        level_map = spec.mapping.for_level(level.name)
        complete.append(
            _complete_subnest(
                level_map, dims, index, inner_levels[index].instances > level.instances
            )
        )
        # Permutations are innermost first; the nest is written outermost first.
        for dim in reversed(level_map.temporal_order(dims)):
            bound = level_map.temporal.get(dim, 1)
            if bound > 1:
                loops.append(Loop(dim, bound, index, spatial=False))
        order = level_map.spatial_order(dims)
        split = len(order) if level_map.split is None else level_map.split
        for position, dim in reversed(list(enumerate(order))):
            bound = level_map.spatial.get(dim, 1)
            if bound > 1:
                axis = "X" if position < split else "Y"
                loops.append(Loop(dim, bound, index, spatial=True, mesh_axis=axis))
    return Nest(_with_strides(loops), len(spec.architecture.levels), problem, tuple(complete))


def _complete_subnest(level_map, dims, index: int, fans_out: bool) -> tuple[Loop, ...]:
    order = level_map.spatial_order(dims)
    split = len(order) if level_map.split is None else level_map.split
    spatial = [
        Loop(dim, level_map.spatial.get(dim, 1), index, True, "X" if i < split else "Y")
        for i, dim in enumerate(order)
    ]
    temporal = [
        Loop(dim, level_map.temporal.get(dim, 1), index, False)
        for dim in level_map.temporal_order(dims)
    ]
    return tuple((spatial if fans_out else []) + temporal)


def _with_strides(loops: list[Loop]) -> tuple[Loop, ...]:
    """Each loop's coordinate step: the product of the bounds of the inner loops over the
    same dimension (Timeloop's per-level vector strides)."""
    scale: dict[str, int] = {}
    strided = []
    for loop in reversed(loops):
        stride = scale.get(loop.dim, 1)
        strided.append(Loop(loop.dim, loop.bound, loop.level, loop.spatial, loop.mesh_axis, stride))
        scale[loop.dim] = stride * loop.bound
    return tuple(reversed(strided))
