"""Evaluate study points: each distinct (design, GEMM shape, effective densities, hardware
change) once, in worker processes, with the results flattened into plain rows."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from tqdm import tqdm

from sparsim.cost.result import KEY_COLUMNS, Result
from sparsim.designs import Design, build, get_design, scheme_for
from sparsim.designs.memory import resize
from sparsim.errors import CapacityError, NoValidMappingError
from sparsim.evaluate import evaluate
from sparsim.processes import worker_pool
from sparsim.spec.architecture import Architecture
from sparsim.spec.model import Spec
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.workload import Gemm, shape_name
from sparsim.study.strategies import Strategy, with_activation_skipping

DEFAULT_JOBS = 2
CHUNK = 8  # points per task sent to a worker: small enough to balance the tail
COMPUTE = "MAC"


@dataclass(frozen=True)
class HardwareChange:
    """One storage level resized (energies rescaled by :mod:`sparsim.designs.memory`) or
    given another read bandwidth; ``None`` keeps the design's value."""

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
    levels: tuple[dict, ...] = ()
    error: str | None = None


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
        design, skip = (
            get_design("stc-flexible").with_patterns(design.weight_patterns),
            False,
        )
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


def _architecture(point: Point) -> Architecture | None:
    change = point.hardware
    if change is None:
        return None
    architecture = point.design.architecture
    sizes = {
        "data_capacity": change.data_capacity,
        "metadata_capacity_bits": change.metadata_capacity_bits,
        "metadata_word_bits": change.metadata_word_bits,
    }
    if any(value is not None for value in sizes.values()):
        resized = resize(architecture, change.level, **sizes)
        if not change.rescale_energy:
            resized = _with_level(
                resized, change.level, energy=architecture.level(change.level).energy
            )
        architecture = resized
    if change.read_bandwidth is not None:
        architecture = _with_level(architecture, change.level, read_bandwidth=change.read_bandwidth)
    return architecture


def _with_level(architecture: Architecture, name: str, **update) -> Architecture:
    levels = [
        level.model_copy(update=update) if level.name == name else level
        for level in architecture.levels
    ]
    return architecture.model_copy(update={"levels": levels})


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
            "level": COMPUTE,
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


def build_spec(point: Point) -> Spec:
    """The mapped spec a point evaluates (what the report's hardware tables describe)."""
    m, k, n = point.shape
    gemm = Gemm(name=shape_name(m, k, n), M=m, K=k, N=n)
    densities = {"A": point.weights, "B": point.activations}
    spec = build(point.design, gemm, densities, architecture=_architecture(point))
    return with_activation_skipping(spec) if point.skip_activations else spec


def evaluate_point(point: Point) -> Outcome:
    """Build (map) the design on the shape and evaluate it; a point no mapping fits is an
    outcome with an error, not a failure of the study."""
    try:
        spec = build_spec(point)
        result = evaluate(spec)
    except (CapacityError, NoValidMappingError) as exc:  # never a bad input (issue 9)
        return Outcome(error=str(exc))
    return Outcome(_metrics(result, spec.workload.name), _level_rows(result))


def evaluate_points(
    points: Iterable[Point], jobs: int = DEFAULT_JOBS, progress: bool = True
) -> dict[Point, Outcome]:
    """Every distinct point once; ``jobs`` worker processes (1: in this process)."""
    unique = list(dict.fromkeys(points))
    jobs = max(1, min(jobs, os.cpu_count() or 1, len(unique)))
    with tqdm(
        total=len(unique), desc="evaluating", unit="point", disable=not progress, leave=False
    ) as bar:
        if jobs == 1:
            outcomes = []
            for point in unique:
                outcomes.append(evaluate_point(point))
                bar.update()
        else:
            chunk = max(1, min(CHUNK, math.ceil(len(unique) / (jobs * 4))))
            with worker_pool(jobs) as pool:
                outcomes = []
                for outcome in pool.map(evaluate_point, unique, chunksize=chunk):
                    outcomes.append(outcome)
                    bar.update()
    return dict(zip(unique, outcomes, strict=True))
