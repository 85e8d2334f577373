"""Dense nest analysis: per storage level and tensor, what is held and how often it moves.

All counts are per used instance of the level, for the dense (algorithmic) workload:

* ``tile``: elements of the tensor one instance holds at a time (its projection of the
  level's box);
* ``partition``: distinct elements one instance holds over the whole run (Timeloop's
  partition size: the parent's, shrunk by the share of the parent's spatial working set
  one child's tile is);
* ``fills``: elements written into the level from its parent, as Timeloop's nest analysis
  counts the deltas between successive tiles (:func:`tile_fills`): a tile that slides
  (a convolution's input window moving along ``P``) fetches only what is new, a tile that
  stays put fetches nothing, any other move refetches the whole tile;
* ``reads``: elements read out for the next inner level keeping the tensor (or the MACs);
  children that need the same delta share one read (multicast): the children whose tiles
  sit at the same coordinates of the tensor;
* ``updates``: partial sums of an output written back from inside; children that differ
  only in a reduction coordinate are reduced in the network first. The first write of each
  element of a partition needs no read, the rest are read-modify-writes.

A level that ``stream``s a tensor it does not keep gets an entry too (``streamed``): it
holds nothing, and every word crossing it between its nearest outer and inner keepers
(counted as if it bypassed the tensor) is written into it once (``fills``) and read out
once (``reads``), as in the MICRO'22 artifact's Timeloop build.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sparsim.analysis.nest import Loop, Nest, TensorShape, box
from sparsim.spec.model import Spec

COMPUTE = -1  # child index meaning "the MAC array"


@dataclass(frozen=True)
class DenseTensorLevel:
    tensor: str
    level: int
    child: int  # next inner level keeping the tensor, or COMPUTE
    parent: int | None  # next outer level keeping the tensor
    tile_shape: dict[str, int]
    tile: int
    partition: int
    instances: int  # used instances of the level
    fills: float
    reads: float
    updates: float
    # Spatial loops between this level and its child: distinct children fed per instance.
    fanout: int
    scatter: int  # of which index the tensor (distinct data)
    streamed: bool = False  # passes through without being kept


@dataclass(frozen=True)
class DenseAnalysis:
    nest: Nest
    keeps: dict[str, list[int]]  # tensor -> levels keeping it, outermost first
    streams: dict[str, list[int]]  # tensor -> levels it only streams through
    tensors: dict[tuple[str, int], DenseTensorLevel]
    computes: int  # algorithmic MACs
    compute_instances: int  # MACs the mapping spreads over
    temporal_iterations: int  # computes per MAC instance

    def levels_of(self, tensor: str) -> list[DenseTensorLevel]:
        return [self.tensors[tensor, level] for level in self.keeps[tensor]]


def kept_levels(spec: Spec, tensors) -> dict[str, list[int]]:
    keeps: dict[str, list[int]] = {t: [] for t in tensors}
    for index, level in enumerate(spec.architecture.levels):
        keep = spec.mapping.for_level(level.name).keep
        for tensor in tensors:
            if keep is None or tensor in keep or index == 0:
                keeps[tensor].append(index)
    return keeps


def streamed_levels(spec: Spec, keeps: dict[str, list[int]]) -> dict[str, list[int]]:
    streams: dict[str, list[int]] = {t: [] for t in keeps}
    for index, level in enumerate(spec.architecture.levels):
        level_map = spec.mapping.for_level(level.name)
        for tensor in keeps:
            if index not in keeps[tensor] and level_map.streams(tensor):
                streams[tensor].append(index)
    return streams


def tile_fills(tensor: TensorShape, tile_box: dict[str, int], outer: list[Loop]) -> int:
    """Elements one instance of a level fetches over the run, as Timeloop's nest analysis
    counts them (``ComputeDeltas``, ``SaveAndSubtractIfSameStride``) with its default
    extrapolation: of each temporal loop above the level (``outer``, outermost first) only
    iterations 0 and 1 are visited, iteration 1 standing for all the others. Each visit
    fetches the new tile minus the previous one when the tile moved by the same vector as
    at the visit before (a sliding window, or a tile that stays put), and the whole tile
    when the move changed. In that visiting order a move of the innermost loop (``d1``)
    always follows another move, so: the first visit fetches the tile; each of the
    ``(n1 - 1) x outer`` moves of the innermost loop fetches the tile minus its overlap
    with the tile ``d1`` back; each move of an outer loop ``j``, taken
    ``(nj - 1) x (outer bounds)`` times, is from iteration 1 of every inner loop to
    iteration 0, a move of ``dj - d1 - ... - d(j-1)``: an overlap fetch when that equals
    ``d1``, else the whole tile."""
    extents = tensor.extents(tile_box)
    tile = math.prod(extents)
    total = tile
    inner_first = outer[::-1]
    if not inner_first:
        return total
    steps = [tensor.shift({loop.dim: loop.stride}) for loop in inner_first]
    first = steps[0]
    above = math.prod(loop.bound for loop in inner_first)
    walked = tuple(0 for _ in extents)
    for loop, step in zip(inner_first, steps, strict=True):
        above //= loop.bound
        move = tuple(s - w for s, w in zip(step, walked, strict=True))
        if loop is inner_first[0] or move == first:
            fetched = tile - _overlap(extents, move)
        else:
            fetched = tile
        total += (loop.bound - 1) * above * fetched
        walked = tuple(w + s for w, s in zip(walked, step, strict=True))
    return total


def _overlap(extents: tuple[int, ...], move: tuple[int, ...]) -> int:
    """Elements a box of ``extents`` shares with itself moved by ``move``."""
    return math.prod(max(0, e - abs(m)) for e, m in zip(extents, move, strict=True))


def distinct_positions(tensor: TensorShape, loops: list[Loop]) -> int:
    """Distinct tiles of ``tensor`` among the instances ``loops`` spread a tile over: two
    instances share their data (one read, multicast) exactly when their tiles sit at the
    same coordinates of the tensor."""
    moving = [(loop, tensor.shift({loop.dim: loop.stride})) for loop in loops]
    moving = [(loop, step) for loop, step in moving if any(step)]
    if not moving:
        return 1
    ranks = [sum(1 for _, step in moving if step[r]) for r in range(len(moving[0][1]))]
    if all(count <= 1 for count in ranks):  # every loop moves its own ranks: all distinct
        return math.prod(loop.bound for loop, _ in moving)
    positions = np.zeros((1, len(ranks)), dtype=np.int64)
    for loop, step in moving:
        offsets = np.arange(loop.bound, dtype=np.int64)[:, None] * np.array(step)
        positions = np.unique(
            (positions[:, None, :] + offsets[None]).reshape(-1, len(ranks)), axis=0
        )
    return len(positions)


def _partition(nest: Nest, keeps: list[int], tensor: TensorShape) -> dict[int, int]:
    """Timeloop's partition size of each level (``ComputePartitionSizes``): the outermost
    level holds the whole tensor; a level below a spatial fan-out holds its parent's
    partition shrunk by the share its tile is of the parent's spatial working set (rounded
    down), else the parent's."""
    partition = {}
    size = tensor.size(nest.dims)
    for level in range(nest.n_levels):
        if level > 0:
            fanned = [loop for loop in nest.loops if loop.spatial and loop.level == level - 1]
            if fanned:
                tile = tensor.size(nest.tile_shape(level))
                spread = tensor.size(box([*nest.loops_inside(level), *fanned], nest.dims))
                size = size * tile // spread
        partition[level] = size
    return {level: partition[level] for level in keeps}


def _spatial_between(nest: Nest, level: int, child: int, tensor: TensorShape) -> tuple[int, int]:
    """(all, distinct-data) spatial fan-out from ``level`` down to ``child``: the children
    fed, and how many distinct tiles they need (level by level, as Timeloop multiplies its
    multicast signatures across a bypassed level)."""
    last = nest.n_levels if child == COMPUTE else child
    fanout = scatter = 1
    for owner in range(level, last):
        loops = [loop for loop in nest.loops if loop.spatial and loop.level == owner]
        fanout *= math.prod(loop.bound for loop in loops)
        scatter *= distinct_positions(tensor, loops)
    return fanout, scatter


def analyse_dense(spec: Spec, nest: Nest) -> DenseAnalysis:
    problem = nest.problem
    keeps = kept_levels(spec, problem.tensors)
    computes = math.prod(nest.dims.values())
    iterations = nest.temporal_iterations()
    compute_instances = computes // iterations
    result: dict[tuple[str, int], DenseTensorLevel] = {}
    for tensor, shape_of in problem.tensors.items():
        levels = keeps[tensor]
        partitions = _partition(nest, levels, shape_of)
        # Innermost first, so each level can use its child's fills.
        for position in reversed(range(len(levels))):
            level = levels[position]
            child = levels[position + 1] if position + 1 < len(levels) else COMPUTE
            parent = levels[position - 1] if position > 0 else None
            shape = nest.tile_shape(level)
            tile = shape_of.size(shape)
            outer = [loop for loop in nest.loops if loop.level < level and not loop.spatial]
            fills = tile_fills(shape_of, shape, outer) if parent is not None else 0
            fanout, scatter = _spatial_between(nest, level, child, shape_of)
            child_fills = iterations if child == COMPUTE else result[tensor, child].fills
            delivered = child_fills * scatter
            partition = partitions[level]
            if shape_of.read_write:
                updates = delivered
                # Every update after the first to an element reads the old partial sum
                # (here or, when drained and refilled, on its way back to the child).
                reads = max(updates - partition, 0)
            else:
                updates, reads = 0, delivered
            result[tensor, level] = DenseTensorLevel(
                tensor=tensor,
                level=level,
                child=child,
                parent=parent,
                tile_shape=shape,
                tile=tile,
                partition=partition,
                instances=nest.instances_used(level),
                fills=fills,
                reads=reads,
                updates=updates,
                fanout=fanout,
                scatter=scatter,
            )
    streams = streamed_levels(spec, keeps)
    for tensor, levels in streams.items():
        for level in levels:
            result[tensor, level] = _streamed(nest, result, keeps[tensor], tensor, level)
    return DenseAnalysis(nest, keeps, streams, result, computes, compute_instances, iterations)


def _streamed(
    nest: Nest,
    kept: dict[tuple[str, int], DenseTensorLevel],
    keepers: list[int],
    tensor: str,
    level: int,
) -> DenseTensorLevel:
    """Words crossing a level that streams ``tensor``: per instance, what it forwards to
    the next inner keeper (and, for Z, the partial sums it passes back up and down)."""
    parent = max(k for k in keepers if k < level)
    inner = [k for k in keepers if k > level]
    child = inner[0] if inner else COMPUTE
    shape_of = nest.problem.tensors[tensor]
    fanout, scatter = _spatial_between(nest, level, child, shape_of)
    child_fills = nest.temporal_iterations() if child == COMPUTE else kept[tensor, child].fills
    crossing = child_fills * scatter
    if shape_of.read_write:
        above = kept[tensor, parent]
        # Partial sums go up once each; the share the keeper reads back comes down again.
        crossing += crossing * above.reads / above.updates if above.updates else 0
    return DenseTensorLevel(
        tensor=tensor,
        level=level,
        child=child,
        parent=parent,
        tile_shape=nest.tile_shape(level),
        tile=0,
        partition=0,
        instances=nest.instances_used(level),
        fills=crossing,
        reads=crossing,
        updates=0,
        fanout=fanout,
        scatter=scatter,
        streamed=True,
    )
