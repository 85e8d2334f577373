"""The study's points: each distinct (design, GEMM shape, effective densities, hardware
change) once, evaluated by the sweep engine (:mod:`sparsim.sweep`: units that share a
mapping, local worker processes), with each result flattened into the study's rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from tqdm import tqdm

from sparsim.cost.result import KEY_COLUMNS, Result
from sparsim.designs import Design, scheme_for
from sparsim.errors import MappingError, SparsimError
from sparsim.spec.model import Spec
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.workload import Gemm, shape_name
from sparsim.study.strategies import INPUTS, WEIGHTS, Strategy
from sparsim.sweep import pack_tasks
from sparsim.sweep.backends import available_cores, run_tasks
from sparsim.sweep.points import DesignRef, Unit
from sparsim.sweep.work import mapped_spec, unit_results

DEFAULT_JOBS = 2
OBJECTIVE = "delay"  # the built-in designs' mapper: fewest cycles, then least energy
MAPPINGS = ("remap", "fixed")


@dataclass(frozen=True)
class HardwareChange:
    """One storage level (by name) resized (energies rescaled by
    :mod:`sparsim.designs.memory`) or given another read bandwidth; ``None`` keeps the
    design's value."""

    level: str
    data_capacity: int | None = None
    metadata_capacity_bits: int | None = None
    metadata_word_bits: int | None = None
    read_bandwidth: float | None = None
    rescale_energy: bool = True  # False: keep the design's energy per access (reuse only)


@dataclass(frozen=True)
class Point:
    """What one evaluation depends on: the cache key of the study.

    Points compare by what the built spec depends on, not by the design's name: STC-2:4
    running 2:4 weights is STC-flexible running 2:4 (same hardware, format and features),
    DSTC with dense activations is the weights-only DSTC, so each is evaluated once.
    """

    design: Design = field(compare=False)
    runs_as: tuple  # (architecture, dataflow, features, weight format) of the built spec
    skip_activations: bool
    shape: tuple[int, int, int]  # M, K, N
    weights: TensorDensity
    activations: TensorDensity
    hardware: HardwareChange | None = None


@dataclass(frozen=True)
class Outcome:
    metrics: dict = field(default_factory=dict)
    levels: tuple[dict, ...] = ()  # per level and tensor, the compute first
    error: str | None = None
    parts: tuple[str, ...] = ()  # the compute's name, then the levels', outermost first


def point_for(
    strategy: Strategy,
    shape: tuple[int, int, int],
    weights: float,
    activations: float,
    hardware: HardwareChange | None = None,
) -> Point:
    """The point a strategy evaluates, keyed by what its design makes of the densities, so
    that points the hardware cannot tell apart are evaluated once."""
    design, skip = strategy.design, strategy.skip_activations
    scheme = scheme_for(design, strategy.densities(weights, activations))
    if skip and scheme.activations.distribution == "dense":
        # Nothing to skip: the dual-sided core is its single-sided base design.
        design, skip = replace(design, exploits_activations=False), False
        scheme = scheme_for(design, strategy.densities(weights, activations))
    runs_as = (
        design.architecture_name,
        design.dataflow,
        design.exploits_weights,
        # the tensor cores' formats depend on these; DSTC's only on the densities
        design.exploits_activations if design.dataflow == "tensor-core" else None,
        design.weight_format if scheme.pattern else None,
    )
    return Point(design, runs_as, skip, shape, scheme.weights, scheme.activations, hardware)


def _metrics(result: Result, evaluated: str) -> dict:
    """The results-schema row (:meth:`Result.to_row`) without its identity columns (the
    study names its points itself), and whether the evaluated shape was padded."""
    row = result.to_row()
    for key in KEY_COLUMNS:
        row.pop(key)
    return {"evaluated_workload": evaluated, "padded": "padded" in evaluated, **row}


def _level_rows(result: Result) -> tuple[dict, ...]:
    rows = [
        {
            "level": result.compute.name,
            "tensor": "-",
            "data_uJ": result.compute.energy_pJ * 1e-6,
            "metadata_uJ": 0.0,
            "actual_reads": result.computes.actual,
            "actual_fills": 0.0,
            "actual_updates": 0.0,
            "metadata_reads": 0.0,
            "level_cycles": result.compute.cycles,
        }
    ]
    for level in result.levels:
        for tensor in level.tensors.values():
            rows.append(
                {
                    "level": level.name,
                    "tensor": tensor.tensor,
                    "data_uJ": tensor.data_energy_pJ * 1e-6,
                    "metadata_uJ": tensor.metadata_energy_pJ * 1e-6,
                    "actual_reads": tensor.reads.actual,
                    "actual_fills": tensor.fills.actual,
                    "actual_updates": tensor.updates.actual,
                    "metadata_reads": tensor.metadata_reads.actual,
                    "level_cycles": level.cycles,
                }
            )
    return tuple(rows)


def _design_ref(point: Point) -> DesignRef:
    design = point.design
    return DesignRef(
        design.name, design.name, design=design, skip_activations=point.skip_activations
    )


def _memory(change: HardwareChange | None) -> dict[str, Any]:
    """A hardware change as a sweep memory configuration (:func:`sparsim.sweep.points.change`)."""
    if change is None:
        return {}
    values = {
        "data_capacity": change.data_capacity,
        "metadata_capacity_bits": change.metadata_capacity_bits,
        "metadata_word_bits": change.metadata_word_bits,
        "read_bandwidth": change.read_bandwidth,
    }
    level = {key: value for key, value in values.items() if value is not None}
    if not change.rescale_energy:
        level["rescale_energy"] = False
    return {change.level: level}


def _gemm(shape: tuple[int, int, int]) -> Gemm:
    m, k, n = shape
    return Gemm(name=shape_name(m, k, n), M=m, K=k, N=n)


def density_text(density: TensorDensity) -> str:
    """A density model as the text that parses back to it (``dense``, ``2:4``, ``0.25``)."""
    if density.distribution == "dense":
        return "dense"
    if density.n is not None:
        return f"{density.n}:{density.m}"
    prefix = "" if density.distribution == "hypergeometric" else f"{density.distribution}:"
    return f"{prefix}{density.density!r}"


def _densities(point: Point) -> dict[str, str]:
    return {WEIGHTS: density_text(point.weights), INPUTS: density_text(point.activations)}


def build_spec(point: Point) -> Spec:
    """The mapped spec a point evaluates with ``mapping: remap`` (what the report's hardware
    tables describe)."""
    return mapped_spec(
        _design_ref(point), _memory(point.hardware), _gemm(point.shape), _densities(point)
    )


def study_units(points: list[Point], mapping: str) -> list[Unit]:
    """The points as sweep units, ``points[i]`` keyed ``str(i)``: one unit per design,
    hardware change and shape (and, with a fixed mapping, N:M pattern of the weights)."""
    grouped: dict[tuple, list[int]] = {}
    for index, point in enumerate(points):
        pattern = None
        if mapping == "fixed":
            pattern = scheme_for(point.design, _densities(point)).pattern
        key = (point.design, point.skip_activations, point.hardware, point.shape, pattern)
        grouped.setdefault(key, []).append(index)
    units = []
    for (_, _, change, shape, pattern), members in grouped.items():
        first = points[members[0]]
        units.append(
            Unit(
                design=_design_ref(first),
                memory=_memory(change),
                layer=_gemm(shape),
                objective=OBJECTIVE,
                mapping=mapping,
                pattern=pattern,
                schemes=tuple(_densities(points[i]) for i in members),
                points=tuple((str(i),) for i in members),
            )
        )
    return units


def _outcome(result: Result | MappingError) -> Outcome:
    """A point no mapping fits is an outcome with an error, not a failure of the study."""
    if isinstance(result, MappingError):
        return Outcome(error=str(result))
    parts = (result.compute.name, *(level.name for level in result.levels))
    return Outcome(_metrics(result, result.name), _level_rows(result), parts=parts)


def evaluate_task(units: list[Unit]) -> list[list[Outcome]]:
    """The study's work on a batch of units (run by a sweep backend)."""
    return [[_outcome(result) for result, _ in unit_results(unit)] for unit in units]


def evaluate_points(
    points: Iterable[Point],
    jobs: int = DEFAULT_JOBS,
    progress: bool = True,
    mapping: str = "remap",
) -> dict[Point, Outcome]:
    """Every distinct point once, on ``jobs`` worker processes (1: in this process).
    ``remap`` maps every point (the mapper's choice at its densities); ``fixed`` maps once
    per unit and evaluates its density points on that mapping in one numpy pass."""
    if mapping not in MAPPINGS:
        raise SparsimError(f"one of {', '.join(MAPPINGS)}, got {mapping!r}", "mapping")
    unique = list(dict.fromkeys(points))
    units = study_units(unique, mapping)
    jobs = max(1, min(jobs, available_cores(), len(unique)))
    tasks = pack_tasks(units, jobs)
    outcomes: dict[Point, Outcome] = {}
    with tqdm(
        total=len(unique), desc="evaluating", unit="point", disable=not progress, leave=False
    ) as bar:
        for index, finished in run_tasks(tasks, evaluate_task, workers=jobs):
            for unit, unit_outcomes in zip(tasks[index], finished, strict=True):
                for (key,), outcome in zip(unit.points, unit_outcomes, strict=True):
                    outcomes[unique[int(key)]] = outcome
                bar.update(len(unit.points))
    return {point: outcomes[point] for point in unique}
