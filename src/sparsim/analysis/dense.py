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
from dataclasses import dataclass, replace
from functools import lru_cache

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


@dataclass(frozen=True)
class Delta:
    """What one instance fetches at a visit: ``size`` elements, the whole tile (``full``)
    or the tile minus its overlap with the tile ``move`` back."""

    size: int
    full: bool
    move: tuple[int, ...]


@dataclass(frozen=True)
class Visit:
    """``weight`` visits of the same kind: the fetch now and the one at the visit before."""

    weight: int
    now: Delta
    before: Delta | None


def visits(
    tensor: TensorShape, extents: tuple[int, ...], outer: list[Loop], subtract: bool = True
) -> tuple[Visit, ...]:
    """The visits of a tile of ``extents`` over the run, as Timeloop's nest analysis makes
    them (``ComputeDeltas``, ``SaveAndSubtractIfSameStride``) with its default
    extrapolation: of each temporal loop above (``outer``, outermost first) only iterations
    0 and 1 are visited, iteration 1 standing for all the others. A visit fetches the new
    tile minus the previous one when the tile moved by the same vector as at the visit
    before (a sliding window, or a tile that stays put), and the whole tile when the move
    changed. In that order a move of the innermost loop (``d1``) always follows a visit of
    another kind, so: the first visit fetches the tile; each of the ``(n1 - 1) x outer``
    moves of the innermost loop fetches the tile minus its overlap with the tile ``d1``
    back; each move of an outer loop ``j``, taken ``(nj - 1) x (outer bounds)`` times, goes
    from iteration 1 of every inner loop to iteration 0, a move of ``dj - d1 - ... -
    d(j-1)``: an overlap fetch when that equals ``d1``, else the whole tile. Without
    ``subtract`` (the MACs, which keep nothing) every visit fetches the whole tile."""
    return _visits(tensor, extents, tuple(outer), subtract)


@lru_cache(maxsize=8192)
def _visits(
    tensor: TensorShape, extents: tuple[int, ...], outer: tuple[Loop, ...], subtract: bool
) -> tuple[Visit, ...]:
    """:func:`visits`, remembered: candidate mappings share their levels' tiles and loops."""
    tile = math.prod(extents)
    first = Delta(tile, True, tuple(0 for _ in extents))
    inner_first = outer[::-1]
    if not inner_first:
        return (Visit(1, first, None),)
    steps = [tensor.shift({loop.dim: loop.stride}) for loop in inner_first]

    def fetched(move: tuple[int, ...], overlap: bool) -> Delta:
        kept = _overlap(extents, move) if overlap and subtract else 0
        return Delta(tile - kept, kept == 0, move)

    result = [Visit(1, first, None)]
    innermost = fetched(steps[0], True)
    above = math.prod(loop.bound for loop in inner_first[1:])
    walked = steps[0]
    result.append(Visit(inner_first[0].bound - 1, innermost, first))
    for loop, step in zip(inner_first[1:], steps[1:], strict=True):
        above //= loop.bound
        move = tuple(s - w for s, w in zip(step, walked, strict=True))
        weight = (loop.bound - 1) * above
        now = fetched(move, move == steps[0])
        result.append(Visit(weight, now, innermost))
        result.append(Visit(weight * (inner_first[0].bound - 1), innermost, now))
        walked = tuple(w + s for w, s in zip(walked, step, strict=True))
    return tuple(result)


def tile_fills(tensor: TensorShape, tile_box: dict[str, int], outer: list[Loop]) -> int:
    """Elements one instance of a level fetches over the run (see :func:`visits`)."""
    return sum(v.weight * v.now.size for v in visits(tensor, tensor.extents(tile_box), outer))


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


def _spatial_between(
    nest: Nest, level: int, child: int, tensor: TensorShape, spec: Spec
) -> tuple[int, int]:
    """(all, distinct-data) spatial fan-out from ``level`` down to ``child``: the children
    fed, and how many distinct tiles they need (level by level, as Timeloop multiplies its
    multicast signatures across a bypassed level)."""
    last = nest.n_levels if child == COMPUTE else child
    fanout = scatter = 1
    names = spec.architecture.level_names
    for owner in range(level, last):
        loops = [loop for loop in nest.loops if loop.spatial and loop.level == owner]
        fanout *= math.prod(loop.bound for loop in loops)
        scatter *= feed_distinct(tensor, loops, spec, names[owner])
    return fanout, scatter


def feed_distinct(tensor: TensorShape, loops: list[Loop], spec: Spec, level: str) -> int:
    """Distinct deltas a level's fan-out sends: one per child under ``no_multicast``."""
    if tensor.name in spec.mapping.for_level(level).no_multicast:
        return math.prod(loop.bound for loop in loops)
    return distinct_positions(tensor, loops)


@dataclass(frozen=True)
class Feed:
    """One instance of a level feeding the next level inward through its spatial fan-out,
    as Timeloop's access statistics hold it: per (multicast factor, groups) the elements read
    (one read per group of children needing the same delta), and the elements children took
    from a neighbour instead (``transferred``, Timeloop's link transfers)."""

    accesses: dict[tuple[int, int], float]
    transferred: float
    fanout: int

    @property
    def reads(self) -> float:
        return sum(self.accesses.values())

    @property
    def share(self) -> float:
        """What each child receives from this level (Timeloop's parent access share, summed
        in its order, whose rounding the child's fill count inherits)."""
        share = 0.0
        for (multicast, _), accesses in sorted(self.accesses.items()):
            share += accesses * multicast / self.fanout
        return share


def _children(tensor: TensorShape, loops: list[Loop], mesh: tuple[int, int]):
    """Per child of a spatial fan-out (``loops`` outermost first): its tile's offset in the
    tensor and its (x, y) place on the array, as Timeloop numbers children (outermost loop
    most significant, laid row by row over the physical width)."""
    bounds = [loop.bound for loop in loops]
    digits = np.indices(bounds).reshape(len(loops), -1).T
    steps = np.array([tensor.shift({loop.dim: loop.stride}) for loop in loops], dtype=np.int64)
    offsets = digits @ steps
    logical_x = math.prod(loop.bound for loop in loops if loop.mesh_axis == "X")
    logical_y = math.prod(loop.bound for loop in loops if loop.mesh_axis != "X")
    width = max(mesh[0], logical_x)
    height = max(mesh[1], logical_y)
    ids = np.arange(len(offsets))
    return offsets, ids % width, ids // width, width, height


def _neighbour_taken(children, move: tuple[int, ...]) -> np.ndarray:
    """Children whose delta a neighbour (left, right, up or down) held at the visit
    before: the neighbour's tile sits ``move`` further along the tensor."""
    offsets, x, y, width, height = children
    count = len(offsets)
    taken = np.zeros(count, dtype=bool)
    target = np.array(move, dtype=np.int64)
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        if (dx and width == 1) or (dy and height == 1):
            continue
        nx, ny = x + dx, y + dy
        other = ny * width + nx
        valid = (nx >= 0) & (nx < width) & (ny >= 0) & (ny < height) & (other < count)
        other = np.where(valid, other, 0)
        same = np.all(offsets[other] - offsets == target, axis=1)
        taken |= valid & same
    return taken


def _signature(offsets: np.ndarray) -> dict[int, int]:
    """Multicast factor -> number of groups: children needing the same delta form a group."""
    if not len(offsets):
        return {}
    _, sizes = np.unique(offsets, axis=0, return_counts=True)
    factors, groups = np.unique(sizes, return_counts=True)
    return dict(zip(factors.tolist(), groups.tolist(), strict=True))


@lru_cache(maxsize=8192)
def _feed(
    tensor: TensorShape,
    loops: tuple[Loop, ...],
    child_visits: tuple[Visit, ...],
    mesh: tuple[int, int],
    separate: bool,
    link_transfers: bool,
) -> Feed:
    """A level's spatial fan-out serving its children's visits (Timeloop's
    ``ComputeSpatialWorkingSet``): children whose tiles sit at the same coordinates share one
    read (unless ``separate``: the mapping's ``no_multicast``); a child whose delta equals
    what a neighbour fetched at the visit before (the same kind of fetch, the neighbour's
    tile as far along the tensor as the tile moved) takes it from the neighbour when that
    saves reads (Timeloop's ``ComputeNetworkLinkTransfers``; off for the tensors under
    ``no_link_transfer``). Remembered: candidate mappings that share their inner levels ask
    for the same fan-outs (the Feed is never changed by its users)."""
    fanout = math.prod(loop.bound for loop in loops)
    shifting = [loop for loop in loops if any(tensor.shift({loop.dim: loop.stride}))]
    candidates = (
        []
        if not loops or separate or not link_transfers
        else [
            v
            for v in child_visits
            if v.before is not None
            and v.now.size
            and v.now.full == v.before.full
            and (v.now.full or v.now.move == v.before.move)
            and (shifting or not any(v.now.move))
        ]
    )
    distinct = fanout if separate else distinct_positions(tensor, loops)
    children = _children(tensor, loops, mesh) if candidates else None
    if separate or distinct == fanout:
        plain = {1: fanout}
    elif distinct == 1:
        plain = {fanout: 1}
    else:  # diagonal groups (a sliding window spread over the array)
        plain = _signature((children or _children(tensor, loops, mesh))[0])
    accesses: dict[tuple[int, int], float] = {}
    transferred = 0.0
    for visit in child_visits:
        if not visit.now.size:
            continue
        signature = plain
        if visit in candidates:
            taken = _neighbour_taken(children, visit.now.move)
            if taken.any():
                remaining = _signature(children[0][~taken])
                if sum(remaining.values()) < distinct:
                    signature = remaining
                    transferred += visit.weight * visit.now.size * int(taken.sum())
        for multicast, groups in signature.items():
            key = (multicast, groups)
            accesses[key] = accesses.get(key, 0.0) + visit.weight * visit.now.size * groups
    return Feed(accesses, transferred, fanout)


def analyse_dense(spec: Spec, nest: Nest) -> DenseAnalysis:
    problem = nest.problem
    keeps = kept_levels(spec, problem.tensors)
    computes = math.prod(nest.dims.values())
    iterations = nest.temporal_iterations()
    compute_instances = computes // iterations
    result: dict[tuple[str, int], DenseTensorLevel] = {}
    temporal = [loop for loop in nest.loops if not loop.spatial]
    names = spec.architecture.level_names
    for tensor, shape_of in problem.tensors.items():
        levels = keeps[tensor]
        partitions = _partition(nest, levels, shape_of)
        fetched: dict[int, tuple[Visit, ...]] = {}  # per keeper, its visits (fills before peers)
        # Innermost first, so each level can use its child's fills.
        for position in reversed(range(len(levels))):
            level = levels[position]
            child = levels[position + 1] if position + 1 < len(levels) else COMPUTE
            parent = levels[position - 1] if position > 0 else None
            shape = nest.tile_shape(level)
            extents = shape_of.extents(shape)
            outer = [loop for loop in temporal if loop.level < level]
            reuse = tensor not in spec.mapping.for_level(names[level]).no_temporal_reuse
            fetched[level] = visits(shape_of, extents, outer, subtract=reuse)
            fanout, scatter = _spatial_between(nest, level, child, shape_of, spec)
            # The level just above the child serves the child's own visits; the levels
            # above it (a bypassed stretch) multiply its reads by their distinct tiles.
            feeder = nest.n_levels - 1 if child == COMPUTE else child - 1
            if child == COMPUTE:
                child_visits = visits(shape_of, shape_of.extents({}), temporal, subtract=False)
            else:
                child_visits = fetched[child]
            feeder_loops = [loop for loop in nest.loops if loop.spatial and loop.level == feeder]
            mesh = tuple(spec.architecture.mesh_fanout(feeder, axis) or 1 for axis in ("X", "Y"))
            feeder_map = spec.mapping.for_level(names[feeder])
            feed = _feed(
                shape_of,
                tuple(feeder_loops),
                child_visits,
                mesh,
                shape_of.name in feeder_map.no_multicast,
                shape_of.name not in feeder_map.no_link_transfer,
            )
            delivered = feed.reads * (
                scatter // feed_distinct(shape_of, feeder_loops, spec, names[feeder])
            )
            if child != COMPUTE and feed.transferred:
                _add_peers(result, tensor, child, feed, nest, partitions)
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
                tile=math.prod(extents),
                partition=partition,
                instances=nest.instances_used(level),
                fills=sum(v.weight * v.now.size for v in fetched[level])
                if parent is not None
                else 0,
                reads=reads,
                updates=updates,
                fanout=fanout,
                scatter=scatter,
            )
    streams = streamed_levels(spec, keeps)
    for tensor, levels in streams.items():
        for level in levels:
            result[tensor, level] = _streamed(spec, nest, result, keeps[tensor], tensor, level)
    return DenseAnalysis(nest, keeps, streams, result, computes, compute_instances, iterations)


def _add_peers(result, tensor: str, child: int, feed: Feed, nest: Nest, partitions) -> None:
    """A child's accesses for link transfers (Timeloop's ``ComputePeerAccesses``): the
    transferred elements, spread over all its instances, are read once more and filled
    once more; what it receives from its parent shrinks to the rest. Timeloop keeps the
    counts in integers: reads rounded, fills truncated."""
    entry = result[tensor, child]
    peers = feed.transferred / nest.instances_used(child)
    fills = math.floor(feed.share + peers) if entry.parent is not None else 0
    if nest.problem.tensors[tensor].read_write:
        reads = round(max(entry.updates + peers - partitions[child], 0))
    else:
        reads = round(entry.reads + peers)
    result[tensor, child] = replace(entry, fills=fills, reads=reads)


def _streamed(
    spec: Spec,
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
    fanout, scatter = _spatial_between(nest, level, child, shape_of, spec)
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
