"""Sparse post-processing of the dense analysis, with Sparseloop's semantics.

Order of effects:
1. density models give each tile's occupancy distribution;
2. formats (compressed innermost rank) scale data accesses to the nonzeros and add
   metadata accesses per rank;
3. ``skipping-spatial`` compacts a level's spatial fan-out by the leaders' densities, if
   the leaders have a format to find their zeros by: fewer PEs are used on average, but
   the array (and so the compute cycles) is sized by the fullest fiber a leader can have;
4. ``gating`` / ``skipping`` on a target conditioned on leaders turn the fraction
   ``1 - prod(1 - P(leader tile empty))`` of the target's reads and updates into gated or
   skipped ones; the leader tile is what the spatial multicast / reduction group of one
   target access touches;
5. ``position-skipping`` maps only nonzero positions onto the spatial array; a tile whose
   nonzeros do not fill it leaves PEs idle (utilisation occ / (ceil(occ/S) * S));
6. computes: each operand (A, B) optimized by gating, skipping or skipping-spatial loses
   the fraction of computes its ineffectual accesses at its innermost optimized level
   would have fed; position skipping keeps the leaders' nonzeros. The rest are skipped
   (Timeloop's "nonexistent" computes: free); an optimization of Z removes none;
7. levels that only stream a tensor move the words its outer keeper actually sends.

Counts here are totals over all instances; ``instances`` is the expected number of
instances that do the work. Everything that depends on the densities is a number at each
density point (:mod:`sparsim.analysis.points`): one mapping's nest and dense analysis serve
a whole density sweep in one numpy pass, a single evaluation being the one-point case.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np

from sparsim.analysis import points as pts
from sparsim.analysis.dense import COMPUTE, DenseAnalysis, DenseTensorLevel
from sparsim.analysis.density import DensityPoints, effectual_fraction
from sparsim.analysis.formats import (
    RankLayout,
    RankUnits,
    effective_bits,
    is_compressed,
    rank_units,
    tensor_layouts,
)
from sparsim.analysis.nest import Loop, tile_extents
from sparsim.analysis.points import Points
from sparsim.errors import MappingError, SparsimError
from sparsim.spec.model import Spec
from sparsim.spec.sparse_optimizations import ActionOptimization
from sparsim.spec.sparsity import TensorDensity

SKIPPING = ("skipping", "skipping-spatial")


@dataclass(frozen=True)
class Split:
    """Accesses at each density point: effectual, gated and skipped."""

    actual: Points
    gated: Points
    skipped: Points


@dataclass(frozen=True)
class SparseTensorLevel:
    dense: DenseTensorLevel
    instances: float
    reads: Split
    fills: Split
    updates: Split
    metadata_read_bits: Split
    metadata_fill_bits: Split
    metadata_update_bits: Split
    ranks: tuple[RankUnits, ...]
    data_capacity: Points  # words per instance, worst case
    metadata_capacity_bits: Points
    format: str
    vector_ratio: Points = 1.0  # data vector accesses per naive count (small compressed tiles)


@dataclass(frozen=True)
class ComputeSplit:
    algorithmic: float
    actual: Points
    gated: Points
    skipped: Points  # not computed: skipped at the MACs or never sent to them
    skipped_here: Points  # of which skipped at the MACs (at the skipped energy)
    instances: Points  # expected busy MACs
    cycles: Points


@dataclass(frozen=True)
class SparseAnalysis:
    dense: DenseAnalysis
    tensors: dict[tuple[str, int], SparseTensorLevel]
    computes: ComputeSplit
    points: int  # density points: the length of the arrays above (plain numbers for one)
    fanouts: tuple[FanoutNeed, ...] = ()


def spatial_compaction(
    dense: DenseAnalysis, level: int, leaders, models
) -> tuple[Points, dict[Loop, Points]]:
    """(expected fraction of a level's spatial fan-out still used after skipping-spatial,
    per spatial loop the peak fraction of its bound used). Expected: a child is idle when its
    leader sub-tile is empty. Peak: the most non-empty sub-tiles a fan-out fiber can hold
    (Timeloop sizes the array, hence the compute cycles, by this worst case: a
    hypergeometric fiber can be full)."""
    spatial = [loop for loop in dense.nest.loops if loop.spatial and loop.level == level]
    tensors = dense.nest.problem.tensors
    expected = 1.0
    peaks = dict.fromkeys(spatial, 1.0)
    for position, loop in enumerate(spatial):
        inner = spatial[position + 1 :]
        for leader in leaders:
            if loop.dim in tensors[leader].dims:
                model = models[leader]
                expected = expected * (
                    1.0 - model.occupancy(tile_extents(inner, tensors[leader])).prob_empty
                )
                fiber = model.occupancy(tile_extents([loop, *inner], tensors[leader])).max
                peaks[loop] = peaks[loop] * (pts.minimum(loop.bound, fiber) / loop.bound)
    return expected, peaks


@dataclass(frozen=True)
class FanoutNeed:
    """Instances of the next level inward one instance of ``level`` needs along a mesh
    axis to spread its share of ``tensor``."""

    level: int
    axis: str
    tensor: str
    extent: Points


def _tensor_compaction(dense: DenseAnalysis, formats, actions, models) -> dict:
    """(level, tensor) -> {spatial loop of the level: peak fraction of its bound the tensor
    needs}. Once any level skips spatially, Timeloop compacts every tensor separately: by its
    own peak occupancy where a format lets the level see its zeros, and as a skipping-spatial
    target by its leaders' peak (``InitializeSpatialInstances``,
    ``CalculateSpatialOptimizationImpact`` in ``storage-gs-analyzer.cpp``); a tensor
    compacted by neither needs every instance."""
    targets = {(level, a.target): a for level, a in actions if a.type == "skipping-spatial"}
    result = {}
    for level in range(dense.nest.n_levels):
        spatial = [loop for loop in dense.nest.loops if loop.spatial and loop.level == level]
        for tensor in dense.nest.problem.tensors if spatial else ():
            factors = dict.fromkeys(spatial, 1.0)
            expected = 1.0
            sources = []
            if targets:
                sources.append(_with_metadata(dense, formats, [tensor], level))
            if (level, tensor) in targets:
                leaders = targets[level, tensor].condition_on
                sources.append(_with_metadata(dense, formats, leaders, level))
            for leaders in sources:
                # A target's expected use replaces its own-format one; peaks multiply.
                expected, peaks = spatial_compaction(dense, level, leaders, models)
                factors = {loop: factors[loop] * peaks[loop] for loop in spatial}
            result[level, tensor] = (factors, expected)
    return result


def _average_use(compacted: dict, n_levels: int, tensors, ones: Points) -> Points:
    """Largest over the tensors of the average fraction of the MACs in use, as Timeloop
    propagates it (``InitializeSpatialInstances``): a level's expected use reaches the MACs
    only where it shrinks the tensor's peak fan-out, and no further out than the innermost
    level that compacts the tensor at all."""
    average = []
    for tensor in tensors:
        use, stopped = ones, 0.0 * ones
        for level in reversed(range(n_levels)):
            if (level, tensor) not in compacted:
                continue
            factors, expected = compacted[level, tensor]
            shrinks = math.prod(factors.values(), start=ones) < 1.0 - 1e-12
            use = pts.where((stopped == 0) & shrinks, use * expected, use)
            stopped = pts.where(expected != 1.0, 1.0 + 0.0 * ones, stopped)
        average.append(use)
    return reduce(pts.maximum, average)


def _fanout_needs(compacted: dict) -> list[FanoutNeed]:
    """Each tensor's spatial extent per level and mesh axis after its own compaction: gating
    B while Z is skipped spatially over a K32 loop leaves B needing 32 columns."""
    needs = []
    for (level, tensor), (factors, _) in compacted.items():
        for axis in ("X", "Y"):
            on_axis = [loop for loop in factors if loop.mesh_axis == axis]
            if on_axis:
                extent = math.prod(loop.bound * factors[loop] for loop in on_axis)
                needs.append(FanoutNeed(level, axis, tensor, extent))
    return needs


def _access_group(dense: DenseAnalysis, entry: DenseTensorLevel):
    """Spatial loops whose PEs share one access of the tensor (multicast / reduction)."""
    last = dense.nest.n_levels if entry.child == COMPUTE else entry.child
    return [
        loop
        for loop in dense.nest.loops
        if loop.spatial
        and entry.level <= loop.level < last
        and loop.dim not in dense.nest.problem.relevant(entry.tensor)
    ]


def _condition_tile(
    dense: DenseAnalysis, entry: DenseTensorLevel, leader: str, block_size: int
) -> tuple[int, int] | None:
    """(rows, cols) of the leader tile whose emptiness makes an access of ``entry``
    ineffectual, or None when the leader cannot condition it. An innermost keeper (its child
    is the compute) conditions each access on the leader tile its multicast / reduction group
    touches. A keeper with a storage child reuses the target across the child's tile, so
    Timeloop (``ComputeIneffectualReadImpact``) conditions on the operation space of the first
    loop above the child that indexes the target, widened by the spatial loops above it up to
    the keeper, one iteration of each loop the two tensors share, and at least a block."""
    tensors = dense.nest.problem.tensors
    if entry.child == COMPUTE:
        return tile_extents(_access_group(dense, entry), tensors[leader])
    target_dims, leader_dims = tensors[entry.tensor].dims, tensors[leader].dims
    above_child = [loop for loop in dense.nest.loops if entry.level <= loop.level < entry.child]
    inner_first = above_child[::-1]
    found = next((i for i, loop in enumerate(inner_first) if loop.dim in target_dims), None)
    if found is None:  # no loop above the child indexes the target: the keeper's whole tile
        return tensors[leader].extents(dense.nest.tile_shape(entry.level))
    mold = dict(dense.nest.tile_shape(entry.child))
    for loop in inner_first[: found + 1]:
        mold[loop.dim] *= loop.bound
    target = inner_first[found]
    relevant = [target]
    reached_temporal = not target.spatial
    for loop in inner_first[found + 1 :]:
        if loop.spatial or (not reached_temporal and loop.dim not in target_dims):
            mold[loop.dim] *= loop.bound
            relevant.append(loop)
        if target.spatial and not loop.spatial and loop.dim in target_dims:
            reached_temporal = True
    target_tile = tensors[entry.tensor].size(mold)
    shared: dict[str, int] = {}
    for loop in relevant:
        if target.spatial and shared and loop.dim in leader_dims:
            return None  # discordant traversal of the leader: the optimization is ineffective
        if loop.dim in target_dims & leader_dims:
            shared[loop.dim] = shared.get(loop.dim, 1) * loop.bound
    scaling = math.ceil(block_size / (target_tile / math.prod(shared.values())))
    for dim, factor in sorted(shared.items()):
        mold[dim] = math.ceil(mold[dim] / (factor / scaling))
        scaling = scaling / factor
    if scaling > 1:
        mold[target.dim] *= scaling
    return tensors[leader].extents(mold)


def _layouts(spec: Spec, dense: DenseAnalysis, formats) -> dict[tuple[str, int], RankLayout]:
    """Each kept tile's rank layout, for the tensors with a format somewhere."""
    names = [level.name for level in spec.architecture.levels]
    inner_to_outer = {
        (tensor, names.index(opt.level)): opt.inner_to_outer(tensor)
        for opt in spec.sparse_optimizations
        for tensor in opt.formats
    }
    layouts = {}
    for tensor, keepers in dense.keeps.items():
        if not any((tensor, level) in formats for level in keepers):
            continue
        found = tensor_layouts(
            dense.nest,
            tensor,
            keepers,
            {level: formats.get((tensor, level), []) for level in keepers},
            {level: inner_to_outer.get((tensor, level), False) for level in keepers},
            {level: f"mapping: {tensor} at {names[level]}" for level in keepers},
        )
        layouts.update({(tensor, level): layout for level, layout in found.items()})
    return layouts


def _check_compression_chain(dense: DenseAnalysis, formats, levels) -> None:
    problem = dense.nest.problem
    for tensor, keepers in dense.keeps.items():
        ranks = {k: len(formats.get((tensor, k), [])) for k in keepers}
        compressed = {k: is_compressed(formats.get((tensor, k), [])) for k in keepers}
        error = compression_chain_error(
            tensor, keepers, compressed, ranks, levels, problem.tensors[tensor].read_write
        )
        if error is not None:
            raise error


def compression_chain_error(
    tensor: str,
    keepers: list[int],
    compressed: dict[int, bool],
    ranks: dict[int, int],
    levels,
    read_write: bool,
) -> MappingError | None:
    """Timeloop's checks on a compressed tensor moving between the levels keeping it
    (``CheckFormatModelsAndMapping``, ``CalculateDecompressionCompressionCost``): a level
    receiving a tensor its parent holds compressed must decompress it (and, for an output,
    compress what it sends back); a compressed tile may not need more ranks than its
    parent's; and no uncompressed level feeds a compressed one (on-chip compression)."""
    for parent, child in itertools.pairwise(keepers):
        where = f"mapping: {tensor} from {levels[parent].name} to {levels[child].name}"
        if compressed[parent] and not compressed[child]:
            if not levels[child].decompression:
                return MappingError(
                    f"{tensor} arrives compressed but {levels[child].name} cannot "
                    "decompress it (Timeloop's decompression_supported)",
                    where,
                )
            if read_write and not levels[child].compression:
                return MappingError(
                    f"{levels[child].name} must compress the {tensor} it sends back but "
                    "cannot (Timeloop's compression_supported)",
                    where,
                )
        if compressed[child] and not compressed[parent]:
            return MappingError(
                f"{tensor} is compressed at {levels[child].name} but not at "
                f"{levels[parent].name} above it: compression on chip is not modelled "
                "(Timeloop refuses it too)",
                where,
            )
        if compressed[parent] and compressed[child] and 0 < ranks[parent] < ranks[child]:
            return MappingError(
                f"{tensor} has more format ranks at {levels[child].name} than at "
                f"{levels[parent].name}: cutting tiles at run time is not supported",
                where,
            )
    return None


def _impact(dense, spec, formats, models, level: int, choice) -> tuple[int, Points] | None:
    """(keeper, fraction of its accesses made ineffectual) of gating or skipping
    ``choice.target`` at ``level`` on its leaders' emptiness (Timeloop's
    ``ComputeIneffectualReadImpact``); None when no level at or above keeps the target.
    Leaders conditioning element by element on measured tensors are taken with their real
    overlap (with each other, and with a compressed target's nonzeros)."""
    keeper = _keeper_at_or_above(dense, choice.target, level)
    if keeper is None or not choice.condition_on:
        return None
    entry = dense.tensors[choice.target, keeper]
    block = spec.architecture.levels[keeper].block_size
    effectual = 1.0
    shapes = [_condition_tile(dense, entry, leader, block) for leader in choice.condition_on]
    for leader, shape in zip(choice.condition_on, shapes, strict=True):
        if shape is not None:
            effectual = effectual * (1.0 - models[leader].occupancy(shape).prob_empty)
    if all(shape is not None and math.prod(shape) == 1 for shape in shapes):
        overlapping = list(choice.condition_on)
        if is_compressed(formats.get((choice.target, keeper), [])):
            overlapping.append(choice.target)
        effectual = effectual * _measured_correlation(
            dense.nest.problem, models, overlapping, pts.count(effectual)
        )
    return keeper, 1.0 - effectual


def _chosen_impacts(dense, spec, formats, models, level: int, action):
    """The (target, keeper) and ineffectual fraction an optimization brings. Of Timeloop's
    ``options``, the one saving the most read energy (target keeper's read energy per word x
    expected tile occupancy x ineffectual fraction), the later one on a tie, at each point."""
    choices = [action, *action.options]
    impacts = [_impact(dense, spec, formats, models, level, choice) for choice in choices]
    found = [(c, i) for c, i in zip(choices, impacts, strict=True) if i is not None]
    if len(found) <= 1:
        return [((c.target, i[0]), i[1]) for c, i in found]
    savings = []
    for choice, (keeper, fraction) in found:
        storage = spec.architecture.levels[keeper]
        per_word = storage.energy.of("random_read", storage.name) / storage.block_size
        occupancy = dense.tensors[choice.target, keeper].tile
        if is_compressed(formats.get((choice.target, keeper), [])):
            occupancy = occupancy * models[choice.target].density
        savings.append(per_word * occupancy * fraction + 0.0 * models[choice.target].density)
    table = np.array([np.broadcast_to(s, np.shape(savings[0])) for s in savings], dtype=float)
    # The last of the best (Timeloop compares with >=).
    chosen = len(found) - 1 - np.argmax(table[::-1], axis=0)
    return [
        ((choice.target, keeper), pts.where(chosen == index, fraction, 0.0 * fraction))
        for index, (choice, (keeper, fraction)) in enumerate(found)
    ]


def _keeper_at_or_above(dense: DenseAnalysis, tensor: str, level: int) -> int | None:
    above = [kept for kept in dense.keeps[tensor] if kept <= level]
    return above[-1] if above else None


def _position_skipping(dense, level: int, tensors, models) -> dict[str, tuple[Points, Points]]:
    """Per self-skipped tensor: (utilisation, fraction of temporal steps still needed)."""
    result = {}
    for tensor in tensors:
        if level not in dense.keeps[tensor]:
            continue
        entry = dense.tensors[tensor, level]
        width = math.prod(
            loop.bound
            for loop in dense.nest.loops
            if loop.spatial
            and loop.level == level
            and loop.dim in dense.nest.problem.relevant(tensor)
        )
        shape = dense.nest.problem.tensors[tensor].extents(dense.nest.tile_shape(level))
        utilisation = models[tensor].expect(
            shape,
            lambda k, width=width: np.where(
                k > 0, k / np.maximum(np.ceil(k / width) * width, 1), 1.0
            ),
        )
        step_fraction = models[tensor].expect(shape, lambda k, width=width: np.ceil(k / width)) / (
            entry.tile / width
        )
        result[tensor] = (utilisation, step_fraction)
    return result


def analyse_sparse(
    spec: Spec,
    dense: DenseAnalysis,
    densities: Sequence[Mapping[str, TensorDensity]] | None = None,
) -> SparseAnalysis:
    """The sparse counts at each density point (default: the spec's own densities); the
    spec's sparse optimizations apply to every point."""
    levels = spec.architecture.levels
    level_index = {level.name: i for i, level in enumerate(levels)}
    points = list(densities) if densities is not None else [spec.densities or {}]
    ones = pts.ones(len(points))
    problem = dense.nest.problem
    try:
        models: dict[str, DensityPoints] = {
            t: DensityPoints(
                [point.get(t, TensorDensity()) for point in points], problem.full_extents(t)
            )
            for t in problem.tensors
        }
    except ValueError as exc:
        raise SparsimError(str(exc), "densities") from None
    formats = {
        (tensor, level_index[opt.level]): ranks
        for opt in spec.sparse_optimizations
        for tensor, ranks in opt.formats.items()
    }
    _check_compression_chain(dense, formats, levels)
    layouts = _layouts(spec, dense, formats)
    actions: list[tuple[int, ActionOptimization]] = [
        (level_index[opt.level], action)
        for opt in spec.sparse_optimizations
        for action in opt.actions
    ]

    # Spatial compaction per level, and its cumulative effect on the instances inside. It
    # needs the leaders' zeros to be identifiable: a format where the level gets them from.
    compaction = [ones] * len(levels)
    for level, action in actions:
        if action.type == "skipping-spatial":
            leaders = _with_metadata(dense, formats, action.condition_on, level)
            compaction[level], _ = spatial_compaction(dense, level, leaders, models)
    inside_compaction = [ones]  # [i]: product over levels < i
    for factor in compaction:
        inside_compaction.append(inside_compaction[-1] * factor)
    # The array is sized for the tensor that needs the most instances (Timeloop takes the
    # largest expansion over the tensors): B gated while Z skips spatially keeps every MAC.
    compacted = _tensor_compaction(dense, formats, actions, models)
    needed = dict.fromkeys(problem.tensors, ones)
    for (_, tensor), (factors, _) in compacted.items():
        needed[tensor] = needed[tensor] * math.prod(factors.values(), start=ones)
    inside_peak = reduce(pts.maximum, needed.values())
    average_use = _average_use(compacted, len(levels), problem.tensors, ones)

    # Position skipping per level.
    position: dict[int, dict[str, tuple[Points, Points]]] = {}
    for level, action in actions:
        if action.type == "position-skipping":
            position.setdefault(level, {})
            position[level].update(_position_skipping(dense, level, [action.target], models))

    # Ineffectual fraction of each kept tensor-level's reads/updates from gating/skipping,
    # with whether it is skipped (1) or gated (0), at each point.
    ineffectual: dict[tuple[str, int], tuple[Points, Points]] = {}
    for level, action in actions:
        if action.type in ("gating", "skipping"):
            skip = (1.0 if action.type == "skipping" else 0.0) * ones
            for key, fraction in _chosen_impacts(dense, spec, formats, models, level, action):
                previous, previous_skip = ineffectual.get(key, (0.0 * ones, 0.0 * ones))
                # Timeloop keeps the more effective of two optimizations of one tile.
                better = fraction > previous
                ineffectual[key] = (
                    pts.where(better, fraction, previous),
                    pts.where(better, skip, previous_skip),
                )

    # Fraction of a skipping-spatial target's accesses its leaders make ineffectual, at the
    # level that skips (the leaders' zeros must be visible there: a format).
    spatial: dict[tuple[str, int], Points] = {}
    for level, action in actions:
        if action.type == "skipping-spatial":
            leaders = _with_metadata(dense, formats, action.condition_on, level)
            spatial[action.target, level] = 1.0 - math.prod(
                (models[t].density for t in leaders), start=ones
            )
    for key in spatial.keys() & ineffectual.keys():
        raise MappingError(
            f"{key[0]} is both skipped spatially and gated or skipped at "
            f"{levels[key[1]].name}: Timeloop models one of them per tile",
            "sparse_optimizations",
        )
    counts = _integer_counts(dense, formats, models, ineffectual, spatial, position, ones)

    tensors: dict[tuple[str, int], SparseTensorLevel] = {}
    for (tensor, level), entry in dense.tensors.items():
        if entry.streamed:
            continue
        # Units pack into metadata accesses (Timeloop widens a unit to divide the width).
        word_bits = levels[level].metadata_word_bits or (
            levels[level].word_bits * levels[level].block_size
        )
        logical = entry.instances
        instances = logical * inside_compaction[level]
        ranks_spec = formats.get((tensor, level), [])
        compressed = is_compressed(ranks_spec)
        rho = models[tensor].density if compressed else ones
        read_factor = rho
        for other, (_, steps) in position.get(level, {}).items():
            if other != tensor and tensor in position.get(level, {}):
                read_factor = read_factor * steps
        fraction, skips = ineffectual.get((tensor, level), (0.0 * ones, ones))

        def split(
            count: float, factor: Points, fraction=fraction, skips=skips, logical=logical
        ) -> Split:
            total = count * logical * factor
            lost = total * fraction
            return Split(total - lost, lost * (1.0 - skips), lost * skips)

        reads, fills, updates = (
            Split(*(x * logical for x in (c.actual, c.gated, c.skipped)))
            for c in counts[tensor, level]
        )

        tile = problem.tensors[tensor].extents(dense.nest.tile_shape(level))
        units = rank_units(layouts[tensor, level], models[tensor], tile) if ranks_spec else []
        bits_per_tile = sum(
            (
                r.metadata_units * effective_bits(r.metadata_bits, word_bits)
                + r.payload_units * effective_bits(r.payload_bits, word_bits)
                for r in units
            ),
            0.0 * ones,
        )
        capacity_bits = sum(
            (
                r.metadata_capacity * effective_bits(r.metadata_bits, word_bits)
                + r.payload_capacity * effective_bits(r.payload_bits, word_bits)
                for r in units
            ),
            0.0 * ones,
        )
        per_element = bits_per_tile / entry.tile
        occupancy = models[tensor].occupancy(tile) if compressed else None
        packed = level in position or not compressed
        tensors[tensor, level] = SparseTensorLevel(
            dense=entry,
            instances=instances,
            reads=reads,
            fills=fills,
            updates=updates,
            vector_ratio=(
                ones
                if packed
                else _vector_ratio(models[tensor], entry.tile, levels[level].block_size, ones)
            ),
            metadata_read_bits=split(entry.reads, per_element),
            metadata_fill_bits=split(entry.fills, per_element, fraction=0.0),
            metadata_update_bits=split(entry.updates, per_element),
            ranks=tuple(units),
            data_capacity=(occupancy.max if occupancy is not None else entry.tile) * ones,
            metadata_capacity_bits=capacity_bits,
            format=" ".join(r.format.lower() for r in ranks_spec) or "none",
        )

    for (tensor, level), entry in dense.tensors.items():
        if entry.streamed:
            instances = entry.instances * inside_compaction[level]
            tensors[tensor, level] = _streamed(
                entry,
                tensors[tensor, entry.parent],
                instances,
                problem.tensors[tensor].read_write,
            )

    # Each operand removes, at the innermost level where it is optimized, the computes its
    # ineffectual accesses there would have fed (Timeloop's storage-optimization combiner:
    # one operand after the other, each a whole number).
    kept = float(dense.computes) * ones
    removed: dict[str, Points] = {}
    for tensor in problem.operands:
        optimized = [
            (keeper, fraction)
            for (target, keeper), (fraction, _) in ineffectual.items()
            if target == tensor
        ] + [
            (keeper, fraction) for (target, keeper), fraction in spatial.items() if target == tensor
        ]
        if optimized:
            _, fraction = max(optimized, key=lambda item: item[0])
            kept = kept - pts.floor(kept * fraction)
            removed[tensor] = fraction
    # Position skipping sends only its leaders' nonzeros (counted in _classify_computes).
    position_leaders = {
        leader
        for _, action in actions
        if action.type == "position-skipping"
        for leader in action.condition_on or [action.target]
    }
    states = {
        tensor: state
        for tensor, state in _operand_states(dense, formats, models, removed, ones).items()
        if tensor not in position_leaders
    }
    correlation = _measured_correlation(problem, models, problem.operands, len(points))
    computes = _classify_computes(
        dense,
        actions,
        models,
        _compute_actions(kept, states, frozenset(spec.compute_optimizations), correlation),
        (inside_peak, average_use),
        position,
    )
    fanouts = tuple(_fanout_needs(compacted))
    return SparseAnalysis(dense, tensors, computes, len(points), fanouts)


# Timeloop's thresholds (``VectorWidthCoefficientTable``, buffer.hpp): per block size, per
# tile density 0.1, 0.2, ..., 1.0, the tile size in blocks under which a compressed tile's
# vector accesses are counted from its occupancy distribution rather than from its mean.
VECTOR_WIDTH_THRESHOLDS = {
    2: (251, 125, 84, 63, 51, 42, 36, 32, 28, 1),
    4: (375, 188, 125, 94, 75, 63, 54, 47, 42, 1),
    8: (438, 219, 146, 110, 88, 73, 63, 55, 49, 1),
    16: (469, 235, 157, 118, 94, 79, 67, 59, 52, 1),
    32: (485, 243, 162, 122, 97, 81, 70, 61, 52, 1),
}


def _vector_ratio(model: DensityPoints, tile: int, block: int, ones: Points) -> Points:
    """Vector accesses of a compressed tile per naive count (Timeloop's
    ``ComputeVectorAccesses``): a tile of fewer blocks than its density's threshold is
    fetched in E[ceil(nnz / block)] vectors rather than E[nnz] / block. Block sizes Timeloop
    has no threshold for, and levels that place nonzeros by position (the MICRO'22
    artifact's position skipping), keep the mean."""
    if block <= 1 or tile <= 0 or block not in VECTOR_WIDTH_THRESHOLDS:
        return ones

    def ratio(density_model) -> float:
        density = density_model.density
        if density >= 1.0:
            return 1.0
        index = math.floor(density / 0.1) - 1 if density >= 0.1 else 0
        if VECTOR_WIDTH_THRESHOLDS[block][index] <= tile // block:
            return 1.0
        occupancy = density_model.occupancy((tile,))
        vectors = occupancy.expect(lambda k: np.ceil(k / block))
        return vectors / (tile * density / block)

    each = [ratio(m) for m in model.models]
    return each[0] * ones if model.count == 1 else np.array(each)[model.index]


def _integer_counts(dense, formats, models, ineffectual, spatial, position, ones):
    """Per kept tensor-level, its reads, fills and updates per instance split into actual,
    gated and skipped, in whole accesses as Timeloop's combiner counts them
    (``ProcessDataReprImpactOnStorageAccesses``, ``PropagateImpactOfExplicitlyOptimizedRead``,
    ``ApplyLocalStorageSAFImpact``): a compressed level drops ``floor(x * (1 - density))``
    of its accesses; walking each tensor's keepers outside in, a gated or skipped level
    makes ``floor(x * p)`` of its reads (``ceil`` for outputs) and updates ineffectual, and
    every level below it, down to the next optimized one, loses ``floor(x * p)`` of its
    reads, fills and updates (they never happen); the next optimized level applies what is
    left of its own probability, ``1 - (1 - p_own) / (1 - p)``."""
    problem = dense.nest.problem
    result = {}
    for tensor, keepers in dense.keeps.items():
        read_write = problem.tensors[tensor].read_write
        above = None  # the probability propagating from the nearest optimized level above
        skipping = sorted(level for target, level in spatial if target == tensor)
        for level in sorted({*keepers, *skipping}):
            if level not in keepers:  # skips spatially a tensor it does not keep
                above = spatial[tensor, level]
                continue
            entry = dense.tensors[tensor, level]
            rho = (
                models[tensor].density if is_compressed(formats.get((tensor, level), [])) else None
            )
            steps = ones
            own_steps = position.get(level, {})
            if tensor in own_steps:
                for other, (_, fraction) in own_steps.items():
                    if other != tensor:
                        steps = steps * fraction
            values = []
            for count in (entry.reads, entry.fills, entry.updates):
                count = count * ones
                if rho is not None:
                    count = count - pts.floor(count * (1.0 - rho))
                if above is not None:
                    count = count - pts.floor(count * above)
                values.append(count)
            reads, fills, updates = values
            reads = reads * steps
            zero = 0.0 * reads
            split_reads, split_updates = Split(reads, zero, zero), Split(updates, zero, zero)
            own = ineffectual.get((tensor, level))
            if own is not None:
                fraction, skips = own
                effective = (
                    fraction
                    if above is None
                    else 1.0 - (1.0 - fraction) / pts.where(above < 1.0, 1.0 - above, 1.0)
                )
                lost = (
                    pts.ceil(reads * effective - 1e-9)
                    if read_write
                    else pts.floor(reads * effective + 1e-9)
                )
                lost_updates = pts.floor(updates * effective + 1e-9)
                split_reads = Split(reads - lost, lost * (1.0 - skips), lost * skips)
                split_updates = Split(
                    updates - lost_updates, lost_updates * (1.0 - skips), lost_updates * skips
                )
                above = fraction
            elif (tensor, level) in spatial:
                above = spatial[tensor, level]
            result[tensor, level] = (split_reads, Split(fills, zero, zero), split_updates)
    return result


def _streamed(
    entry: DenseTensorLevel, keeper: SparseTensorLevel, instances: float, read_write: bool
):
    """A streamed tensor moves the words its outer keeper actually sends (after that
    keeper's compression and skipping): one write and one read each, no metadata."""
    sent = keeper.updates if read_write else keeper.reads
    dense_sent = keeper.dense.updates if read_write else keeper.dense.reads
    ratio = sent.actual / (dense_sent * keeper.dense.instances) if dense_sent else 1.0
    zero = 0.0 * sent.actual
    words = Split(entry.reads * entry.instances * ratio + zero, zero, zero)
    nothing = Split(zero, zero, zero)
    return SparseTensorLevel(
        dense=entry,
        instances=instances,
        reads=words,
        fills=words,
        updates=nothing,
        metadata_read_bits=nothing,
        metadata_fill_bits=nothing,
        metadata_update_bits=nothing,
        ranks=(),
        data_capacity=zero,
        metadata_capacity_bits=zero,
        format="stream",
    )


def _round6(x: Points) -> Points:
    return np.round(x * 1e6) / 1e6 if isinstance(x, np.ndarray) else round(x * 1e6) / 1e6


def _operand_states(dense, formats, models, removed, ones) -> dict[str, tuple[Points, Points]]:
    """Per operand, the chance an operand value reaching a MAC (P(exists and is zero),
    P(does not exist)): a compressed operand (a format at its innermost keeper) sends only
    its nonzeros, an uncompressed one its zeros too. Among the computes another operand's
    storage optimization left, the operand is nonzero more often (its density over the
    chance that operand's condition held), as in Timeloop's compute analysis."""
    states = {}
    for tensor in dense.nest.problem.operands:
        density = _round6(models[tensor].density * ones)
        for other, fraction in removed.items():
            if other != tensor:
                left = 1.0 - _round6(fraction)
                density = density / pts.where(left > 0, left, 1.0)
        absent = 1.0 - density
        if formats.get((tensor, dense.keeps[tensor][-1])):
            states[tensor] = (0.0 * absent, absent)
        else:
            states[tensor] = (absent, 0.0 * absent)
    return states


def _measured_correlation(problem, models, tensors, count: int) -> Points:
    """Per point, how much more often ``tensors`` are all nonzero at one operation point
    than independent tensors of their densities would be: 1 unless two or more of them are
    measured tensors, whose real overlap :func:`effectual_fraction` counts."""
    values = []
    for point in range(count):
        masks, product = {}, 1.0
        for tensor in tensors:
            model = models[tensor].model_at(point)
            if model.mask is not None:
                masks[tensor] = model.mask
                product *= model.density
        joint = effectual_fraction(problem, masks) if len(masks) > 1 else product
        values.append(joint / product if product > 0 else 1.0)
    return values[0] if count == 1 else np.array(values)


def _compute_actions(
    total: Points, states, optimizations, correlation: Points = 1.0
) -> tuple[Points, Points, Points]:
    """(random, gated, skipped) computes of ``total`` by the operands' states: all present
    and nonzero is a real compute; one missing is skipped with ``skipping`` (the operand
    alignment finds the next pair), else gated with ``gating``, else a compute on a bubble;
    one zero (none missing) is gated with ``gating``; all missing never happens. Gated and
    skipped counts are whole (floored), as in Timeloop. ``correlation`` scales the chance
    that all operands are nonzero (measured tensors' nonzeros meet more or less often than
    independent ones); the difference comes from the computes with an operand missing."""
    if not states:
        return total, 0.0 * total, 0.0 * total
    nonzero = math.prod((1.0 - zero - absent for zero, absent in states.values()), start=1.0)
    present = math.prod((1.0 - absent for _, absent in states.values()), start=1.0)
    none = math.prod((absent for _, absent in states.values()), start=1.0)
    with_zero = present - nonzero  # all present, some zero
    missing = pts.maximum(1.0 - present - none - nonzero * (correlation - 1.0), 0.0)
    gated = skipped = 0.0 * total
    if "gating" in optimizations:
        gated = gated + with_zero
    if "skipping" in optimizations:
        skipped = skipped + missing
    elif "gating" in optimizations:
        gated = gated + missing
    gated, skipped, nonexistent = (pts.floor(total * x) for x in (gated, skipped, none))
    return total - gated - skipped - nonexistent, gated, skipped


def _classify_computes(dense, actions, models, split, use, position) -> ComputeSplit:
    """Computes by action: ``split`` (random, gated, skipped) of the computes left after the
    operands' storage optimizations, then position skipping keeps its leaders' nonzeros;
    the rest never reach the MACs (Timeloop's "nonexistent" computes, reported as skipped,
    free). ``use`` is the (peak, average) fraction of the MACs spatial skipping leaves in
    use: the peak sizes the array, the average (whole MACs, as Timeloop keeps it in an
    integer) paces the computes."""
    peak, average = use
    position_leaders: set[str] = set()
    for _, action in actions:
        if action.type == "position-skipping":
            position_leaders.update(action.condition_on or [action.target])
    algorithmic = float(dense.computes)
    random, gated, skipped_here = split
    actual = random * math.prod(models[t].density for t in position_leaders)
    utilisation = math.prod(u for per_level in position.values() for u, _ in per_level.values())
    busy = dense.compute_instances * peak * utilisation
    pacing = pts.floor(dense.compute_instances * average + 1e-9) * utilisation
    used = pacing != 0
    # A gated compute takes its cycle too.
    cycles = pts.where(used, pts.ceil((actual + gated) / pts.where(used, pacing, 1.0) - 1e-9), 0.0)
    return ComputeSplit(
        algorithmic=algorithmic,
        actual=actual,
        gated=gated,
        skipped=algorithmic - actual - gated,
        skipped_here=skipped_here,
        instances=busy,
        cycles=cycles,
    )


def _with_metadata(dense: DenseAnalysis, formats, leaders, level: int) -> list[str]:
    """The leaders whose zeros a level can see: a format at their nearest keeper at or above
    it. Without one Timeloop neither compacts the array nor removes computes."""
    return [
        leader
        for leader in leaders
        if formats.get((leader, _keeper_at_or_above(dense, leader, level)))
    ]
