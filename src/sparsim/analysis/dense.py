"""Dense nest analysis: per storage level and tensor, what is held and how often it moves.

All counts are per used instance of the level, for the dense (algorithmic) workload:

* ``tile``: elements of the tensor one instance holds at a time;
* ``partition``: distinct elements one instance holds over the whole run;
* ``fills``: elements written into the level from its parent (tile x refetches, where an
  outer loop that does not index the tensor does not refetch while only such loops lie
  between it and the level);
* ``reads``: elements read out for the next inner level keeping the tensor (or the MACs);
  a value broadcast to children that share it (multicast) is read once;
* ``updates``: partial sums of Z written back from inside; children that differ only in a
  reduction (K) coordinate are reduced in the network first. The first write of each
  element of a partition needs no read, the rest are read-modify-writes.

A level that ``stream``s a tensor it does not keep gets an entry too (``streamed``): it
holds nothing, and every word crossing it between its nearest outer and inner keepers
(counted as if it bypassed the tensor) is written into it once (``fills``) and read out
once (``reads``), as in the MICRO'22 artifact's Timeloop build.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sparsim.analysis.nest import OUTPUT_TENSOR, RELEVANT_DIMS, Nest
from sparsim.spec.model import TENSORS, Spec

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


def kept_levels(spec: Spec) -> dict[str, list[int]]:
    keeps: dict[str, list[int]] = {t: [] for t in TENSORS}
    for index, level in enumerate(spec.architecture.levels):
        keep = spec.mapping.for_level(level.name).keep
        for tensor in TENSORS:
            if keep is None or tensor in keep or index == 0:
                keeps[tensor].append(index)
    return keeps


def streamed_levels(spec: Spec, keeps: dict[str, list[int]]) -> dict[str, list[int]]:
    streams: dict[str, list[int]] = {t: [] for t in TENSORS}
    for index, level in enumerate(spec.architecture.levels):
        level_map = spec.mapping.for_level(level.name)
        for tensor in TENSORS:
            if index not in keeps[tensor] and level_map.streams(tensor):
                streams[tensor].append(index)
    return streams


def _refetches(nest: Nest, level: int, tensor: str) -> int:
    """How many times a level's tile of ``tensor`` is (re)loaded over the run."""
    relevant = RELEVANT_DIMS[tensor]
    outer = [loop for loop in nest.loops if loop.level < level and not loop.spatial]
    # Innermost outer loops that do not index the tensor keep the tile resident.
    while outer and outer[-1].dim not in relevant:
        outer.pop()
    return math.prod(loop.bound for loop in outer)


def _partition(nest: Nest, level: int, tensor: str) -> int:
    relevant = RELEVANT_DIMS[tensor]
    shape = nest.tile_shape(level)
    for loop in nest.loops:
        if loop.level < level and not loop.spatial:
            shape[loop.dim] *= loop.bound
    return math.prod(shape[d] for d in relevant)


def _spatial_between(nest: Nest, level: int, child: int, tensor: str) -> tuple[int, int]:
    """(all, tensor-indexing) spatial fan-out from ``level`` down to ``child``."""
    last = nest.n_levels if child == COMPUTE else child
    loops = [loop for loop in nest.loops if loop.spatial and level <= loop.level < last]
    fanout = math.prod(loop.bound for loop in loops)
    scatter = math.prod(loop.bound for loop in loops if loop.dim in RELEVANT_DIMS[tensor])
    return fanout, scatter


def analyse_dense(spec: Spec, nest: Nest) -> DenseAnalysis:
    keeps = kept_levels(spec)
    computes = math.prod(nest.dims.values())
    iterations = nest.temporal_iterations()
    compute_instances = computes // iterations
    result: dict[tuple[str, int], DenseTensorLevel] = {}
    for tensor in TENSORS:
        levels = keeps[tensor]
        # Innermost first, so each level can use its child's fills.
        for position in reversed(range(len(levels))):
            level = levels[position]
            child = levels[position + 1] if position + 1 < len(levels) else COMPUTE
            parent = levels[position - 1] if position > 0 else None
            shape = nest.tile_shape(level)
            tile = math.prod(shape[d] for d in RELEVANT_DIMS[tensor])
            fills = tile * _refetches(nest, level, tensor) if parent is not None else 0
            fanout, scatter = _spatial_between(nest, level, child, tensor)
            child_fills = iterations if child == COMPUTE else result[tensor, child].fills
            delivered = child_fills * scatter
            partition = _partition(nest, level, tensor)
            if tensor == OUTPUT_TENSOR:
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
    fanout, scatter = _spatial_between(nest, level, child, tensor)
    child_fills = nest.temporal_iterations() if child == COMPUTE else kept[tensor, child].fills
    crossing = child_fills * scatter
    if tensor == OUTPUT_TENSOR:
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
