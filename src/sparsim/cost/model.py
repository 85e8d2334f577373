"""Energy and cycles from the sparse analysis: the cost side of the model.

Energy is charged per vector access: each kind of access (actual, gated or skipped read,
fill, update, metadata read, fill or update) per instance is rounded up to whole vectors of
``block_size`` words (metadata: of the metadata storage width) and multiplied by its ERT
energy, found through Timeloop's fallback chains (a skipped read costs ``gated_read`` when
the ERT has no ``skipped_read``). An access that occurs without any energy is an error.

Cycles: the MACs need ``compute cycles``; each level needs, per instance, its read words
(data + metadata) over its read bandwidth and its write words over its write bandwidth
(and their sum over a shared bandwidth). The slowest of all sets the pace.
"""

from __future__ import annotations

import math

from sparsim.analysis.sparse import SparseAnalysis, SparseTensorLevel, Split
from sparsim.cost.result import (
    ActionCount,
    ComputeResult,
    Computes,
    LevelResult,
    Result,
    TensorLevelResult,
)
from sparsim.errors import CapacityError, MappingError, MissingEnergyError
from sparsim.spec.architecture import STORAGE_ACTION_FALLBACKS, StorageLevel
from sparsim.spec.model import Spec

EPSILON = 1e-9


def _vectors(total: float, instances: float, width: float) -> float:
    """Vector accesses over all instances, each instance rounding up to whole vectors."""
    if total <= 0 or instances <= 0:
        return 0.0
    return math.ceil(total / instances / width - EPSILON) * instances


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


def _energy(level: StorageLevel, entry: SparseTensorLevel) -> tuple[float, float]:
    """(data, metadata) energy: every action (actual ``random``, gated, skipped) rounded to
    whole vectors per instance on its own, as Timeloop does, times its ERT energy."""
    energies = level.energy.resolved
    n = entry.instances
    totals = {False: 0.0, True: 0.0}
    for action, (split, metadata) in _action_counts(entry).items():
        width = _metadata_width(level) if metadata else level.block_size
        for kind, count in (
            ("random", split.actual),
            ("gated", split.gated),
            ("skipped", split.skipped),
        ):
            vectors = _vectors(count, n, width)
            if not vectors:
                continue
            name = f"{kind}_{action}"
            energy = energies[name]
            if energy is None:
                raise MissingEnergyError(
                    f"level {level.name!r} has no energy for action {name} "
                    f"(none of the ERT actions {', '.join(STORAGE_ACTION_FALLBACKS[name])})",
                    f"architecture.{level.name}.energy",
                )
            totals[metadata] += vectors * energy
    return totals[False], totals[True]


def _words(level: StorageLevel, entry: SparseTensorLevel) -> tuple[float, float]:
    """Read and write words of one instance (metadata counted in data words), the traffic
    the level's bandwidths must carry."""
    n = entry.instances or 1.0
    reads = (entry.reads.actual + entry.reads.gated) / n + (
        entry.metadata_read_bits.actual + entry.metadata_read_bits.gated
    ) / n / level.word_bits
    writes = (
        entry.fills.actual + entry.fills.gated + entry.updates.actual + entry.updates.gated
    ) / n + (entry.metadata_fill_bits.actual + entry.metadata_update_bits.actual) / n / (
        level.word_bits
    )
    return reads, writes


def bandwidth_cycles(level: StorageLevel, read_words: float, write_words: float) -> float:
    """Cycles one instance needs to read and write these words at the level's bandwidths."""
    cycles = 0.0
    for words, bandwidth in (
        (read_words, level.read_bandwidth),
        (write_words, level.write_bandwidth),
        (read_words + write_words, level.shared_bandwidth),
    ):
        if bandwidth:
            cycles = max(cycles, math.ceil(words / bandwidth - EPSILON))
    return cycles


def _count(split: Split) -> ActionCount:
    return ActionCount(split.actual, split.gated, split.skipped)


def _metadata_count(split: Split, width: int) -> ActionCount:
    return ActionCount(split.actual / width, split.gated / width, split.skipped / width)


def _check_capacity(level: StorageLevel, entries: list[SparseTensorLevel]) -> None:
    if level.data_capacity is not None:
        needed = sum(e.data_capacity for e in entries)
        usable = level.data_capacity / level.multiple_buffering
        if needed > usable + EPSILON:
            worst = max(entries, key=lambda e: e.data_capacity)
            raise CapacityError(
                f"mapping over capacity at {level.name}: tiles need {needed:.0f} words "
                f"({worst.dense.tensor} alone {worst.data_capacity:.0f}), capacity {usable:.0f}",
                "mapping",
            )
    if level.metadata_capacity_bits is not None:
        needed_bits = sum(e.metadata_capacity_bits for e in entries)
        if needed_bits > level.metadata_capacity_bits + EPSILON:
            raise CapacityError(
                f"metadata over capacity at {level.name}: tiles need {needed_bits:.0f} bits, "
                f"capacity {level.metadata_capacity_bits} bits",
                "mapping",
            )


def cost(spec: Spec, analysis: SparseAnalysis) -> Result:
    architecture = spec.architecture
    level_results = []
    for index, level in enumerate(architecture.levels):
        entries = [
            analysis.tensors[t, index] for t in ("A", "B", "Z") if (t, index) in analysis.tensors
        ]
        _check_capacity(level, entries)
        width = _metadata_width(level)
        words = [_words(level, e) for e in entries]
        tensors = {
            e.dense.tensor: TensorLevelResult(
                tensor=e.dense.tensor,
                instances=e.instances,
                reads=_count(e.reads),
                fills=_count(e.fills),
                updates=_count(e.updates),
                metadata_reads=_metadata_count(e.metadata_read_bits, width),
                metadata_fills=_metadata_count(e.metadata_fill_bits, width),
                metadata_updates=_metadata_count(e.metadata_update_bits, width),
                data_capacity_used=e.data_capacity,
                metadata_capacity_used_bits=e.metadata_capacity_bits,
                data_energy_pJ=data_energy,
                metadata_energy_pJ=metadata_energy,
                read_words=reads,
                write_words=writes,
                format=e.format,
            )
            for e, (reads, writes), (data_energy, metadata_energy) in zip(
                entries, words, [_energy(level, e) for e in entries], strict=True
            )
        }
        cycles = bandwidth_cycles(level, sum(r for r, _ in words), sum(w for _, w in words))
        level_results.append(LevelResult(level.name, cycles, tensors))

    computes = analysis.computes
    compute = architecture.compute
    if computes.instances > compute.instances + EPSILON:
        raise MappingError(
            f"mapping uses {computes.instances:.0f} {compute.name} instances, "
            f"the architecture has {compute.instances}",
            "mapping",
        )
    for level, result in zip(architecture.levels, level_results, strict=True):
        used = max((t.instances for t in result.tensors.values()), default=0.0)
        if used > level.instances + EPSILON:
            raise MappingError(
                f"mapping uses {used:.0f} {level.name} instances, the architecture has {level.instances}",
                "mapping",
            )
    # Only effectual computes reach the MACs: gating or skipping a MAC needs a compute
    # optimization, which sparsim does not model (docs: sparse semantics §5).
    compute_energy = computes.actual * compute.energy.random
    compute_result = ComputeResult(
        name=compute.name,
        instances=compute.instances,
        utilized_instances=computes.instances,
        cycles=computes.cycles,
        energy_pJ=compute_energy,
    )
    cycles = max([computes.cycles, *(lr.cycles for lr in level_results)])
    # The mapping covers one of the workload's `count` identical GEMMs (a conv's groups).
    return Result(
        name=spec.workload.name,
        cycles=cycles,
        computes=Computes(computes.algorithmic, computes.actual, computes.gated, computes.skipped),
        compute=compute_result,
        levels=tuple(level_results),
    ).times(spec.workload.as_gemm().count)
