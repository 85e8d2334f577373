"""Energy and cycles from the sparse analysis: the cost side of the model.

Energy is charged per vector access: each kind of access (actual, gated or skipped read,
fill, update, metadata read, fill or update) per instance is rounded up to whole vectors of
``block_size`` words (metadata: of the metadata storage width) and multiplied by its ERT
energy, found through Timeloop's fallback chains (a skipped read costs ``gated_read`` when
the ERT has no ``skipped_read``). An access that occurs without any energy is an error.

Cycles: the MACs need ``compute cycles``; each level needs, per instance, its read words
(data + metadata) over its read bandwidth and its write words over its write bandwidth
(and their sum over a shared bandwidth). The slowest of all sets the pace.

Counts come as numbers at each density point (:mod:`sparsim.analysis.points`); each point
gets its own Result, or the error that says why the mapping does not fit it.
"""

from __future__ import annotations

from functools import reduce

from sparsim.analysis import points as pts
from sparsim.analysis.points import Points
from sparsim.analysis.sparse import SparseAnalysis, SparseTensorLevel, Split
from sparsim.cost.result import (
    ActionCount,
    ComputeResult,
    Computes,
    LevelResult,
    Result,
    TensorLevelResult,
)
from sparsim.errors import CapacityError, MappingError, MissingEnergyError, SparsimError
from sparsim.spec.architecture import (
    COMPUTE_ACTION_FALLBACKS,
    STORAGE_ACTION_FALLBACKS,
    Architecture,
    StorageLevel,
)
from sparsim.spec.model import Spec

EPSILON = 1e-9


def _vectors(total: Points, instances: Points, width: float) -> Points:
    """Vector accesses over all instances, each instance rounding up to whole vectors."""
    active = (total > 0) & (instances > 0)
    per_instance = total / pts.where(active, instances, 1.0) / width
    return pts.where(active, pts.ceil(per_instance - EPSILON) * instances, 0.0)


def _compute_energy(compute, action: str) -> float:
    """pJ of a gated or skipped MAC (a skipped one costs a gated one's when the table gives
    no skipped energy)."""
    energy = compute.energy.skipped if action == "skipped" else None
    energy = energy if energy is not None else compute.energy.gated
    if energy is None:
        raise MissingEnergyError(
            f"no energy for a {action} compute (the energy table gives none of: "
            f"{', '.join(COMPUTE_ACTION_FALLBACKS[action])})",
            f"architecture.{compute.name}.energy",
        )
    return energy


def _metadata_width(level: StorageLevel) -> int:
    return level.metadata_word_bits or level.word_bits * level.block_size


def _action_counts(entry: SparseTensorLevel) -> dict[str, tuple[Split, bool]]:
    """Each counted action's split, and whether it is metadata (in bits)."""
    return {
        "read": (entry.reads, False),
        "fill": (entry.fills, False),
        "update": (entry.updates, False),
        "metadata_read": (entry.metadata_read_bits, True),
        "metadata_fill": (entry.metadata_fill_bits, True),
        "metadata_update": (entry.metadata_update_bits, True),
    }


def _energy(level: StorageLevel, entry: SparseTensorLevel) -> tuple[Points, Points]:
    """(data, metadata) energy: every action (actual ``random``, gated, skipped) rounded to
    whole vectors per instance on its own, as Timeloop does, times its ERT energy."""
    energies = level.energy.resolved
    n = entry.instances
    zero = 0.0 * n
    totals = {False: zero, True: zero}
    metadata_width = _metadata_width(level)
    for action, (split, metadata) in _action_counts(entry).items():
        width = metadata_width if metadata else level.block_size
        for kind, count in (
            ("random", split.actual),
            ("gated", split.gated),
            ("skipped", split.skipped),
        ):
            if not pts.nonzero(count):
                continue
            vectors = _vectors(count, n, width)
            if not metadata:
                vectors = vectors * entry.vector_ratio
            if not pts.nonzero(vectors):
                continue
            name = f"{kind}_{action}"
            energy = energies[name]
            if energy is None:
                raise MissingEnergyError(
                    f"level {level.name!r} has no energy for action {name} "
                    f"(none of the ERT actions {', '.join(STORAGE_ACTION_FALLBACKS[name])})",
                    f"architecture.{level.name}.energy",
                )
            totals[metadata] = totals[metadata] + vectors * energy
    if level.cluster_size > 1:
        # Timeloop charges each access once per cluster of instances sharing it.
        clusters = pts.minimum(n, level.instances // level.cluster_size)
        share = clusters / pts.where(n > 0, n, 1.0)
        return totals[False] * share, totals[True] * share
    return totals[False], totals[True]


def _words(level: StorageLevel, entry: SparseTensorLevel) -> tuple[Points, Points]:
    """Read and write words of one instance (metadata counted in data words), the traffic
    the level's bandwidths must carry."""
    n = pts.where(entry.instances != 0, entry.instances, 1.0)
    reads = (entry.reads.actual + entry.reads.gated) / n + (
        entry.metadata_read_bits.actual + entry.metadata_read_bits.gated
    ) / n / level.word_bits
    writes = (
        entry.fills.actual + entry.fills.gated + entry.updates.actual + entry.updates.gated
    ) / n + (entry.metadata_fill_bits.actual + entry.metadata_update_bits.actual) / n / (
        level.word_bits
    )
    return reads, writes


def bandwidth_cycles(level: StorageLevel, read_words, write_words):
    """Cycles one instance needs to read and write these words at the level's bandwidths
    (numbers or arrays of them)."""
    cycles = 0.0 * read_words
    for words, bandwidth in (
        (read_words, level.read_bandwidth),
        (write_words, level.write_bandwidth),
        (read_words + write_words, level.shared_bandwidth),
    ):
        if bandwidth:
            cycles = pts.maximum(cycles, pts.ceil(words / bandwidth - EPSILON))
    return cycles


def _capacity_errors(level: StorageLevel, entries: list[SparseTensorLevel], errors: list) -> None:
    """Marks the points whose tiles overflow the level (a point keeps its first error)."""
    if level.data_capacity is not None and entries:
        needed = sum(e.data_capacity for e in entries)
        usable = level.data_capacity / level.multiple_buffering
        for point in pts.indices(needed > usable + EPSILON):
            worst = max(entries, key=lambda e, point=point: pts.at(e.data_capacity, point))
            _mark(
                errors,
                point,
                CapacityError(
                    f"mapping over capacity at {level.name}: tiles need "
                    f"{pts.at(needed, point):.0f} words ({worst.dense.tensor} alone "
                    f"{pts.at(worst.data_capacity, point):.0f}), "
                    f"capacity {usable:.0f}",
                    "mapping",
                    level.name,
                ),
            )
    if level.metadata_capacity_bits is not None and entries:
        needed_bits = sum(e.metadata_capacity_bits for e in entries)
        for point in pts.indices(needed_bits > level.metadata_capacity_bits + EPSILON):
            _mark(
                errors,
                point,
                CapacityError(
                    f"metadata over capacity at {level.name}: tiles need "
                    f"{pts.at(needed_bits, point):.0f} bits, "
                    f"capacity {level.metadata_capacity_bits} bits",
                    "mapping",
                    level.name,
                ),
            )


def _fanout_errors(architecture: Architecture, analysis: SparseAnalysis, errors: list) -> None:
    """Marks the points where a tensor's spatial extent exceeds the mesh along an axis."""
    for need in analysis.fanouts:
        limit = architecture.mesh_fanout(need.level, need.axis)
        if limit is None:
            continue
        for point in pts.indices(need.extent > limit + EPSILON):
            level = architecture.levels[need.level].name
            _mark(
                errors,
                point,
                MappingError(
                    f"{need.tensor} needs a fan-out of {pts.at(need.extent, point):.0f} along "
                    f"mesh {need.axis} below {level}, the mesh has {limit}",
                    "mapping",
                ),
            )


def _mark(errors: list, point: int, error: SparsimError) -> None:
    if errors[point] is None:
        errors[point] = error


def _tensor_columns(
    entry: SparseTensorLevel, width: int, words: tuple, energy: tuple
) -> list[Points]:
    """The numbers (at each point) a TensorLevelResult takes after its tensor name, in
    field order: what :func:`_tensor_result` reads back per point."""
    columns = [entry.instances]
    for split in (entry.reads, entry.fills, entry.updates):
        columns += [split.actual, split.gated, split.skipped]
    for split in (entry.metadata_read_bits, entry.metadata_fill_bits, entry.metadata_update_bits):
        columns += [split.actual / width, split.gated / width, split.skipped / width]
    columns += [entry.data_capacity, entry.metadata_capacity_bits, *energy, *words]
    return columns


def _tensor_result(tensor: str, values: list[float], format: str) -> TensorLevelResult:
    return TensorLevelResult(
        tensor,
        values[0],
        ActionCount(*values[1:4]),
        ActionCount(*values[4:7]),
        ActionCount(*values[7:10]),
        ActionCount(*values[10:13]),
        ActionCount(*values[13:16]),
        ActionCount(*values[16:19]),
        *values[19:],
        format=format,
    )


def cost(spec: Spec, analysis: SparseAnalysis) -> list[Result | CapacityError | MappingError]:
    """Each density point's result, or the error saying why the mapping does not fit it (its
    tiles overflow a buffer, or it needs more instances than the hardware has)."""
    architecture = spec.architecture
    points = analysis.points
    errors: list = [None] * points
    zero = 0.0 * pts.ones(points)
    # Per level its cycles and used instances, and per tensor-level its result's columns
    # (flat, level by level) with its (tensor, format, column count).
    level_cycles, level_used, tensor_columns, layout = [], [], [], []
    tensors = analysis.dense.nest.problem.tensors
    for index, level in enumerate(architecture.levels):
        entries = [analysis.tensors[t, index] for t in tensors if (t, index) in analysis.tensors]
        _capacity_errors(level, entries, errors)
        width = _metadata_width(level)
        words = [_words(level, e) for e in entries]
        shapes = []
        for entry, entry_words in zip(entries, words, strict=True):
            columns = _tensor_columns(entry, width, entry_words, _energy(level, entry))
            tensor_columns.extend(columns)
            shapes.append((entry.dense.tensor, entry.format, len(columns)))
        level_cycles.append(
            bandwidth_cycles(
                level, sum((r for r, _ in words), zero), sum((w for _, w in words), zero)
            )
        )
        level_used.append(reduce(pts.maximum, (e.instances for e in entries), zero))
        layout.append((level, shapes))

    computes = analysis.computes
    compute = architecture.compute
    for point in pts.indices(computes.instances > compute.instances + EPSILON):
        _mark(
            errors,
            point,
            MappingError(
                f"mapping uses {pts.at(computes.instances, point):.0f} {compute.name} instances, "
                f"the architecture has {compute.instances}",
                "mapping",
            ),
        )
    for level, used in zip(architecture.levels, level_used, strict=True):
        for point in pts.indices(used > level.instances + EPSILON):
            _mark(
                errors,
                point,
                MappingError(
                    f"mapping uses {pts.at(used, point):.0f} {level.name} instances, "
                    f"the architecture has {level.instances}",
                    "mapping",
                ),
            )
    _fanout_errors(architecture, analysis, errors)
    compute_energy = computes.actual * compute.energy.random + sum(
        (
            count * _compute_energy(compute, action)
            for action, count in (("gated", computes.gated), ("skipped", computes.skipped_here))
            if pts.nonzero(count)
        ),
        zero,
    )
    total_cycles = reduce(pts.maximum, level_cycles, computes.cycles)
    per_point = pts.per_point(
        [
            total_cycles,
            computes.actual,
            computes.gated,
            computes.skipped,
            computes.instances,
            computes.cycles,
            compute_energy,
            *level_cycles,
            *tensor_columns,
        ],
        points,
    )
    count = analysis.dense.nest.problem.count
    results: list[Result | CapacityError | MappingError] = []
    for point, values in enumerate(per_point):
        if errors[point] is not None:
            results.append(errors[point])
            continue
        level_results = []
        position = 7 + len(layout)
        for index, (level, shapes) in enumerate(layout):
            by_tensor = {}
            for tensor, format, width in shapes:
                end = position + width
                by_tensor[tensor] = _tensor_result(tensor, values[position:end], format)
                position = end
            level_results.append(
                LevelResult(
                    level.name,
                    values[7 + index],
                    by_tensor,
                    instances=level.instances,
                    area_um2=level.area,
                )
            )
        # The mapping covers one of the workload's `count` identical GEMMs (a conv's groups).
        results.append(
            Result(
                name=spec.workload.name,
                cycles=values[0],
                computes=Computes(computes.algorithmic, *values[1:4]),
                compute=ComputeResult(
                    name=compute.name,
                    instances=compute.instances,
                    utilized_instances=values[4],
                    cycles=values[5],
                    energy_pJ=values[6],
                    area_um2=compute.area,
                ),
                levels=tuple(level_results),
            ).times(count)
        )
    return results
