"""A sparse-aware mapper for any architecture: the best mapping of a GEMM for an objective.

The mapspace is every per-level temporal and spatial factorisation of M, N and K (within
each level's fan-out), the loop order at each level and keep/bypass per tensor, narrowed
by Timeloop v0.3 mapspace constraints (:mod:`sparsim.spec.constraints`). The search runs in
four stages, each cheaper per candidate than the next:

1. **Enumerate** the factorisations of each dimension over the level slots as numpy arrays
   (slot options = divisors within the constraints' bounds) and join them.
2. **Prune exactly** what cannot be valid: spatial factors over a level's fan-out (after
   ``skipping-spatial`` compaction, computed with the engine's own formula), tiles over a
   level's capacity (worst-case occupancy: the dense tile for uncompressed tensors, the
   density model's maximum for compressed ones), utilisation under the constraint's minimum.
3. **Pre-score** the survivors in one vectorised pass: dense traffic (fills, reads, updates,
   with refetches following the loop order), scaled by density where a tensor is stored
   compressed, energy per word from the architecture, compute and bandwidth cycles. Loop
   orders that cannot change it are collapsed: loops of bound 1 are dropped and, as each
   GEMM tensor ignores exactly one dimension, only the innermost loop of each level
   changes refetches, so a level has at most three orders worth trying.
4. **Score** the best-ranked candidates with the full sparse model
   (:func:`sparsim.evaluate.evaluate`: formats, metadata, skipping, position-skipping
   utilisation, exact capacity checks including metadata), skipping any whose lower bound
   (compute-bound cycles at the candidate's spatial use x compute energy) cannot beat the
   k-th best found so far.

Results are cached by (shape, architecture, densities, sparse optimisations, constraints,
settings); the search is deterministic.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from pydantic import BaseModel, ConfigDict
from tqdm import tqdm

from sparsim.analysis.dense import analyse_dense
from sparsim.analysis.density import density_model
from sparsim.analysis.formats import is_compressed
from sparsim.analysis.nest import Loop, Nest, build_nest, view
from sparsim.analysis.sparse import analyse_sparse, compression_chain_error, spatial_compaction
from sparsim.arguments import (
    bool_argument,
    integer_argument,
    number_argument,
    path_argument,
    text_argument,
)
from sparsim.cost.result import Result
from sparsim.designs.heuristic import divisors
from sparsim.errors import (
    MappingError,
    NoValidMappingError,
    SpecError,
    UnknownNameError,
)
from sparsim.evaluate import evaluate
from sparsim.io import load_yaml
from sparsim.spec.architecture import Architecture
from sparsim.spec.constraints import (
    NO_CONSTRAINTS,
    MapspaceConstraints,
    Permutation,
    has_constraints,
    parse_constraints,
)
from sparsim.spec.mapping import LevelMapping, Mapping
from sparsim.spec.model import Spec, check_references
from sparsim.spec.sparse_optimizations import ComputeOptimization, LevelSparseOptimization
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.validation import validate
from sparsim.spec.workload import Conv, Gemm, Workload, shape_name

_GEMM = view(Gemm(M=1, N=1, K=1).problem())
DIMS = tuple(_GEMM.dims)
TENSORS = tuple(_GEMM.tensors)
RELEVANT_DIMS = {t: shape.dims for t, shape in _GEMM.tensors.items()}
OBJECTIVES = {"edp": (1.0, 1.0), "energy": (1.0, 0.0), "cycles": (0.0, 1.0)}
IRRELEVANT_DIM = {t: next(d for d in DIMS if d not in RELEVANT_DIMS[t]) for t in TENSORS}
DEFAULT_EVALUATIONS = 24
RETRIES = 8  # while none is valid, score up to this many times the evaluation budget
MAX_JOINED = 150_000  # factorisation combinations scored at most (sampled beyond)
MAX_PER_DIM = 20_000  # factorisations of one dimension kept (sampled beyond)
MAX_ENUMERATED = 200_000  # factorisations of one dimension listed in full (sampled beyond)
MAX_PAIRS = 1_000_000  # partial mappings x next dimension's factorisations per join step
PROGRESS_AFTER_S = 3.0
EPSILON = 1e-9
CACHE_SIZE = 2048


class Problem(BaseModel):
    """What to map: a spec without its mapping."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: Workload
    architecture: Architecture
    densities: dict[str, TensorDensity] = {}
    sparse_optimizations: list[LevelSparseOptimization] = []
    compute_optimizations: list[ComputeOptimization] = []

    @classmethod
    def of(cls, spec: Spec | Problem) -> Problem:
        if isinstance(spec, Problem):
            return spec
        return cls(
            workload=spec.workload,
            architecture=spec.architecture,
            densities=spec.densities,
            sparse_optimizations=spec.sparse_optimizations,
            compute_optimizations=spec.compute_optimizations,
        )

    def with_mapping(self, mapping: Mapping, workload: Workload | None = None) -> Spec:
        return Spec(
            workload=workload or self.workload,
            architecture=self.architecture,
            densities=self.densities,
            sparse_optimizations=self.sparse_optimizations,
            compute_optimizations=self.compute_optimizations,
            mapping=mapping,
        )


@dataclass(frozen=True)
class Alternative:
    spec: Spec
    result: Result
    score: float


@dataclass(frozen=True)
class MapResult:
    """The best mapping found, its result, the runners-up and what the search did."""

    spec: Spec
    result: Result
    score: float
    objective: str
    alternatives: tuple[Alternative, ...]
    considered: int  # mappings in the (collapsed) mapspace
    evaluated: int  # scored by the full sparse model
    pruned: dict[str, int]  # reason -> mappings
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    best_rank: int = 0  # the winner's position in the pre-score order (0 = ranked first)

    @property
    def mapping(self) -> Mapping:
        return self.spec.mapping

    def stats(self) -> dict:
        return {
            "objective": self.objective,
            "considered": self.considered,
            "evaluated": self.evaluated,
            "pruned": dict(self.pruned),
            "seconds": round(self.seconds, 4),
            "best_rank": self.best_rank,
        }


# --------------------------------------------------------------------------------------
# Inputs


def parse_objective(text: str) -> tuple[float, float]:
    """``edp``, ``energy``, ``cycles`` or weights ``energy=1,cycles=2`` (score =
    energy^a x cycles^b)."""
    key = text.strip().lower()
    if key in OBJECTIVES:
        return OBJECTIVES[key]
    weights = {"energy": 0.0, "cycles": 0.0}
    for part in key.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in weights or not value:
            raise UnknownNameError(
                f"unknown objective {text!r} (edp, energy, cycles, or e.g. energy=1,cycles=2)",
                "objective",
            )
        try:
            weights[name] = float(value)
        except ValueError:
            raise SpecError(f"objective weight {value!r} is not a number", "objective") from None
        if not math.isfinite(weights[name]) or part.count("=") > 1 or key.count(name) > 1:
            raise SpecError(f"objective {text!r}: each weight once, a finite number", "objective")
    if weights["energy"] < 0 or weights["cycles"] < 0 or not any(weights.values()):
        raise SpecError(f"objective {text!r} needs non-negative, not all zero weights", "objective")
    return weights["energy"], weights["cycles"]


def _score(energy: float | np.ndarray, cycles: float | np.ndarray, weights) -> np.ndarray:
    a, b = weights
    return np.power(np.maximum(energy, EPSILON), a) * np.power(np.maximum(cycles, 1.0), b)


def load_problem(path: str | Path) -> tuple[Problem, MapspaceConstraints | None]:
    """A sparsim spec YAML (its ``mapping``, if any, ignored; Timeloop constraint sections
    allowed) or a Sparseloop/Timeloop v0.3 case directory (its ``map.yaml`` ignored), and
    the mapspace constraints it carries, if any."""
    path = Path(path)
    if path.is_dir():
        from sparsim.spec.sparseloop import load_sparseloop_problem

        workload, architecture, densities, optimizations, compute, constraint_data = (
            load_sparseloop_problem(path)
        )
        problem = Problem(
            workload=workload,
            architecture=architecture,
            densities=densities,
            sparse_optimizations=optimizations,
            compute_optimizations=compute,
        )
        constraints = (
            parse_constraints(constraint_data, str(path)) if constraint_data is not None else None
        )
        return _checked(problem, str(path)), constraints
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise SpecError("expected a mapping with workload, architecture", str(path))
    constraints = parse_constraints(data, str(path)) if has_constraints(data) else None
    fields = {
        k: v
        for k, v in data.items()
        if k not in ("mapping", "architecture_constraints", "mapspace_constraints")
    }
    return _checked(validate(Problem, fields, str(path)), str(path)), constraints


def _checked(problem: Problem, where: str) -> Problem:
    """The spec's cross-section checks, on a trivial mapping (everything at the top)."""
    gemm = problem.workload.as_gemm()
    outer = problem.architecture.levels[0].name
    trivial = Mapping(levels=[LevelMapping(level=outer, temporal=gemm.dims)])
    check_references(problem.with_mapping(trivial), where)
    return problem


# --------------------------------------------------------------------------------------
# The mapspace


@dataclass(frozen=True)
class _Level:
    name: str
    fanout: int  # instances of the next level inward (or MACs) per instance
    capacity: float | None  # usable data words per instance
    word_energy: tuple[float, float, float]  # pJ per word: read, write, update
    bandwidth: tuple[float | None, float | None, float | None]  # read, write, shared
    compressed: frozenset[str]  # tensors stored compressed here
    compaction_leaders: tuple[str, ...]  # skipping-spatial leaders below this level
    format_ranks: dict[str, int]  # tensor -> ranks of its format here (none flattened)


@dataclass
class _Space:
    problem: Problem
    constraints: MapspaceConstraints
    dims: dict[str, int]
    levels: list[_Level]
    models: dict
    notes: list[str] = field(default_factory=list)
    rejected_by: dict[str, int] = field(default_factory=dict)  # level -> candidates over capacity


def _levels(problem: Problem) -> list[_Level]:
    arch = problem.architecture
    counts = [level.instances for level in arch.levels] + [arch.compute.instances]
    by_level: dict[str, list[LevelSparseOptimization]] = {}
    for opt in problem.sparse_optimizations:
        by_level.setdefault(opt.level, []).append(opt)
    levels = []
    for index, level in enumerate(arch.levels):
        opts = by_level.get(level.name, [])
        compressed = frozenset(
            t for opt in opts for t, ranks in opt.formats.items() if is_compressed(ranks)
        )
        leaders = tuple(
            sorted(
                {
                    leader
                    for opt in opts
                    for action in opt.actions
                    if action.type == "skipping-spatial"
                    for leader in action.condition_on
                }
            )
        )
        block = level.block_size
        # Pre-scoring only: an action without energy is raised by the full evaluation.
        energy = level.energy.resolved
        levels.append(
            _Level(
                name=level.name,
                fanout=counts[index + 1] // counts[index],
                capacity=(
                    level.data_capacity / level.multiple_buffering
                    if level.data_capacity is not None
                    else None
                ),
                word_energy=(
                    (energy["random_read"] or 0.0) / block,
                    (energy["random_fill"] or 0.0) / block,
                    (energy["random_update"] or 0.0) / block,
                ),
                bandwidth=(level.read_bandwidth, level.write_bandwidth, level.shared_bandwidth),
                compressed=compressed,
                compaction_leaders=leaders,
                format_ranks={
                    t: len(ranks)
                    for opt in opts
                    for t, ranks in opt.formats.items()
                    if not any(rank.flattened_ranks for rank in ranks)
                },
            )
        )
    return levels


def _slot_options(space: _Space, dim: str) -> tuple[list[tuple[int, str]], list[list[int]]]:
    """Slots (level, "temporal"/"spatial") of a dimension, innermost first, and the values
    each may take under the constraints."""
    size = space.dims[dim]
    slots, options = [], []
    for index in reversed(range(len(space.levels))):
        level = space.levels[index]
        rules = space.constraints.for_level(level.name)
        for kind in ("spatial", "temporal"):
            factors = getattr(rules, kind)
            least, most, exact = factors.bounds(dim, size)
            if exact is not None and exact > size:
                space.notes.append(
                    f"{level.name} {kind} {dim}={exact} exceeds {dim}={size}: ignored (as Timeloop)"
                )
                exact = None
            if kind == "spatial":
                most = min(most, math.floor(level.fanout * _stretch(space, level) + EPSILON))
            values = [exact] if exact is not None else divisors(size)
            values = [v for v in values if least <= v <= most and size % v == 0]
            slots.append((index, kind))
            options.append(values)
    return slots, options


def _describe_slots(space: _Space, dim: str) -> str:
    rules = []
    for level in space.levels:
        c = space.constraints.for_level(level.name)
        for kind in ("temporal", "spatial"):
            f = getattr(c, kind)
            parts = [f"{dim}={f.exact[dim]}"] if dim in f.exact else []
            parts += [f"{dim}<={f.at_most[dim]}"] if dim in f.at_most else []
            parts += [f"{dim}>={f.at_least[dim]}"] if dim in f.at_least else []
            if parts:
                rules.append(f"{level.name} {kind} {' '.join(parts)}")
    return "; ".join(rules) or "the levels' fan-outs"


def _factorisations(
    size: int, options: list[list[int]], notes: list[str] | None = None
) -> np.ndarray:
    """Every way to write ``size`` as a product with one value per slot from its options;
    beyond MAX_ENUMERATED ways (a highly composite size over many slots has trillions), a
    uniform sample of them, so that the time stays bounded for every size."""
    divisor_list = np.array(divisors(size), dtype=np.int64)
    ways = _completions(divisor_list, options)
    if ways[0][-1] > MAX_ENUMERATED:
        rows = _sampled_factorisations(divisor_list, options, ways, MAX_ENUMERATED)
        if notes is not None:
            notes.append(
                f"{size} has {ways[0][-1]:,.0f} factorisations over the loop slots, sampled "
                f"to {len(rows):,}"
            )
        return rows
    rows = np.ones((1, 0), dtype=np.int64)
    remaining = np.array([size], dtype=np.int64)
    for position, values in enumerate(options):
        last = position == len(options) - 1
        parts_rows, parts_rem = [], []
        for value in values:
            ok = remaining % value == 0
            if last:
                ok &= remaining == value
            if ok.any():
                picked = rows[ok]
                parts_rows.append(np.hstack([picked, np.full((len(picked), 1), value)]))
                parts_rem.append(remaining[ok] // value)
        if not parts_rows:
            return np.ones((0, len(options)), dtype=np.int64)
        rows, remaining = np.vstack(parts_rows), np.concatenate(parts_rem)
    return rows


def _completions(divisor_list: np.ndarray, options: list[list[int]]) -> list[np.ndarray]:
    """``ways[p][i]``: how many ways the slots from ``p`` on multiply to ``divisor_list[i]``."""
    ways = [np.zeros(len(divisor_list)) for _ in range(len(options) + 1)]
    ways[-1][0] = 1.0  # nothing left to split: divisor 1
    for position in reversed(range(len(options))):
        for value in options[position]:
            ok = divisor_list % value == 0
            below = np.searchsorted(divisor_list, divisor_list[ok] // value)
            ways[position][ok] += ways[position + 1][below]
    return ways


def _sampled_factorisations(
    divisor_list: np.ndarray, options: list[list[int]], ways: list[np.ndarray], count: int
) -> np.ndarray:
    """``count`` factorisations drawn uniformly (deterministically), duplicates dropped: each
    slot's value drawn in proportion to the completions it leaves."""
    rng = np.random.default_rng(0)
    remaining = np.full(count, len(divisor_list) - 1)  # indices into divisor_list
    rows = np.ones((count, len(options)), dtype=np.int64)
    for position, values in enumerate(options):
        values = np.array(values, dtype=np.int64)
        for index in np.unique(remaining):
            here = np.flatnonzero(remaining == index)
            ok = divisor_list[index] % values == 0
            below = np.searchsorted(divisor_list, divisor_list[index] // values[ok])
            weights = ways[position + 1][below]
            picks = rng.choice(len(weights), size=len(here), p=weights / weights.sum())
            rows[here, position] = values[ok][picks]
            remaining[here] = below[picks]
    return np.unique(rows, axis=0)


JOIN_ORDER = ("M", "K", "N")  # A's dimensions first: its tiles prune before N multiplies
CHUNK_ROWS = 1_000_000


def _forced_keeps(space: _Space) -> list[frozenset[str]]:
    """Tensors every mapping keeps at each level (all at the backing store)."""
    return [
        frozenset(TENSORS)
        if index == 0
        else frozenset(space.constraints.for_level(lvl.name).keep or ())
        for index, lvl in enumerate(space.levels)
    ]


def _partial_ok(space, temporal, spatial, joined, limits, forced) -> tuple[np.ndarray, np.ndarray]:
    """(fits the fan-outs, fits the capacities) of partial candidates whose other dimensions
    are still 1: spatial products over the joined dimensions, and the tiles of tensors
    every mapping keeps whose dimensions are all joined."""
    fan = (spatial.prod(axis=2) <= limits + EPSILON).all(axis=1)
    fits = np.ones(len(temporal), dtype=bool)
    inner = np.ones((len(temporal), 3), dtype=np.int64)
    for index in reversed(range(len(space.levels))):
        inner = inner * temporal[:, index] * spatial[:, index]
        level = space.levels[index]
        if level.capacity is None:
            continue
        needed = np.zeros(len(temporal))
        for tensor in forced[index]:
            if RELEVANT_DIMS[tensor] <= joined:
                rows, cols = _tile(inner, tensor)
                if tensor in level.compressed:
                    needed += _worst_occupancy(space, tensor, rows, cols)
                else:
                    needed += rows * cols
        over = fan & fits & (needed > level.capacity + EPSILON)
        space.rejected_by[level.name] = space.rejected_by.get(level.name, 0) + int(over.sum())
        fits &= ~over
    return fan, fits


def _joined(space: _Space, pruned: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Temporal and spatial factor arrays (candidates x levels x dims); the dimensions are joined one at a time, each partial join pruned
    by fan-out and by the capacity of the tensors it already determines."""
    n = len(space.levels)
    per_dim = {}
    for dim in DIMS:
        slots, options = _slot_options(space, dim)
        rows = _factorisations(space.dims[dim], options, space.notes)
        if not len(rows):
            raise NoValidMappingError(
                f"{dim}={space.dims[dim]} cannot be factorised under {_describe_slots(space, dim)}",
                space.constraints.source,
            )
        expanded = np.ones((len(rows), 2, n), dtype=np.int64)  # [:, 0] temporal, [:, 1] spatial
        for column, (level, kind) in enumerate(slots):
            expanded[:, 1 if kind == "spatial" else 0, level] = rows[:, column]
        per_dim[dim] = expanded
    forced = _forced_keeps(space)
    for dim in DIMS:  # a tile's extent along one dimension alone must fit
        extent = np.cumprod(per_dim[dim].prod(axis=1)[:, ::-1], axis=1)[:, ::-1]
        ok = np.ones(len(extent), dtype=bool)
        for index, level in enumerate(space.levels):
            if level.capacity is not None and any(dim in RELEVANT_DIMS[t] for t in forced[index]):
                ok &= extent[:, index] <= level.capacity + EPSILON
        pruned["capacity"] += int((~ok).sum()) * math.prod(
            len(per_dim[d]) for d in DIMS if d != dim
        )
        per_dim[dim] = per_dim[dim][ok]
    for dim in DIMS:
        before = len(per_dim[dim])
        per_dim[dim] = _sampled(
            space,
            per_dim[dim],
            MAX_PER_DIM,
            f"factorisations of {dim}",
            lambda rows=per_dim[dim]: rows[:, 1].prod(axis=1),
        )
        pruned["sampled out"] += (before - len(per_dim[dim])) * math.prod(
            len(per_dim[d]) for d in DIMS if d != dim
        )
    sizes = {dim: len(per_dim[dim]) for dim in DIMS}
    spread = {dim: per_dim[dim][:, 1].prod(axis=1) for dim in DIMS}  # spatial product

    def parallel(combos: np.ndarray, dims) -> Callable[[], np.ndarray]:
        return lambda: np.prod([spread[d][combos[:, j]] for j, d in enumerate(dims)], axis=0)

    limits = np.array(
        [math.floor(level.fanout * _stretch(space, level) + EPSILON) for level in space.levels]
    )
    combos = np.arange(sizes[JOIN_ORDER[0]])[:, None]
    for step in range(1, len(JOIN_ORDER)):
        dim = JOIN_ORDER[step]
        joined = frozenset(JOIN_ORDER[: step + 1])
        later = math.prod(sizes[d] for d in JOIN_ORDER[step + 1 :])
        before = len(combos)
        cap = max(1, MAX_PAIRS // sizes[dim])
        combos = _sampled(
            space, combos, cap, "partial mappings", parallel(combos, JOIN_ORDER[:step])
        )
        pruned["sampled out"] += (before - len(combos)) * sizes[dim] * later
        per_chunk = max(1, CHUNK_ROWS // sizes[dim])
        kept = []
        for begin in range(0, len(combos), per_chunk):
            chunk = combos[begin : begin + per_chunk]
            pairs = np.hstack(
                [
                    np.repeat(chunk, sizes[dim], axis=0),
                    np.tile(np.arange(sizes[dim]), len(chunk))[:, None],
                ]
            )
            temporal, spatial = _assemble(per_dim, pairs, JOIN_ORDER[: step + 1], n)
            fan, fits = _partial_ok(space, temporal, spatial, joined, limits, forced)
            pruned["spatial fan-out"] += int((~fan).sum()) * later
            pruned["capacity"] += int((fan & ~fits).sum()) * later
            kept.append(pairs[fan & fits])
        combos = np.vstack(kept) if kept else np.zeros((0, step + 1), dtype=np.int64)
    before = len(combos)
    combos = _sampled(
        space,
        combos,
        MAX_JOINED,
        "factorisations left after pruning",
        parallel(combos, JOIN_ORDER),
    )
    pruned["sampled out"] += before - len(combos)
    return _assemble(per_dim, combos, JOIN_ORDER, n)


def _sampled(
    space: _Space, rows: np.ndarray, cap: int, what: str, parallel: Callable[[], np.ndarray]
) -> np.ndarray:
    """At most ``cap`` of ``rows`` (noted when cut): half the most parallel ones
    (``parallel()``: spatial product per row, computed only for a cut; under-used arrays
    rarely win), half a deterministic uniform sample of the rest."""
    if len(rows) <= cap:
        return rows
    rng = np.random.default_rng(0)
    order = np.argsort(-parallel(), kind="stable")
    best, rest = order[: cap // 2], order[cap // 2 :]
    picks = np.concatenate([best, rng.choice(rest, cap - len(best), replace=False)])
    space.notes.append(f"{len(rows)} {what}, sampled to {cap} (half the most parallel)")
    return rows[np.sort(picks)]


def _assemble(per_dim, combos, dims, n) -> tuple[np.ndarray, np.ndarray]:
    temporal = np.ones((len(combos), n, 3), dtype=np.int64)
    spatial = np.ones((len(combos), n, 3), dtype=np.int64)
    for column, dim in enumerate(dims):
        chosen = per_dim[dim][combos[:, column]]
        temporal[:, :, DIMS.index(dim)] = chosen[:, 0]
        spatial[:, :, DIMS.index(dim)] = chosen[:, 1]
    return temporal, spatial


def _spatial_order(space: _Space, level: int) -> str:
    """Innermost first: the constraint's order, then the rest K, M, N."""
    rule = space.constraints.for_level(space.levels[level].name).spatial_permutation
    given = (rule.inner + rule.outer) if rule else ""
    return given + "".join(d for d in "KMN" if d not in given)


def _stretch(space: _Space, level: _Level) -> float:
    """How far skipping-spatial may stretch a fan-out: 1 / the sparsest leader's density."""
    return 1.0 / min((space.models[t].density for t in level.compaction_leaders), default=1.0)


def _mesh_layouts(space: _Space, level: int) -> list[tuple[str, int | None]]:
    """The spatial (order innermost first, split) layouts worth trying at a level: the
    constraint's when it fixes them; on a 2-D mesh otherwise, every way to put each
    dimension along X or Y (the order within an axis changes no cost)."""
    rules = space.constraints.for_level(space.levels[level].name)
    order = _spatial_order(space, level)
    if rules.split is not None or space.problem.architecture.mesh_fanout(level, "X") is None:
        return [(order, rules.split)]
    if rules.spatial_permutation is not None:
        return [(order, split) for split in range(len(order) + 1)]
    layouts = []
    for bits in itertools.product((True, False), repeat=len(order)):
        along_x = "".join(d for d, on in zip(order, bits, strict=True) if on)
        layouts.append((along_x + "".join(d for d in order if d not in along_x), len(along_x)))
    return layouts


def _choose_layouts(space: _Space, spatial: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fits, layout index per candidate and level): the first layout whose X and Y extents
    fit the mesh (stretched by skipping-spatial; the full model checks each tensor's
    compacted extent exactly)."""
    count, n = len(spatial), len(space.levels)
    fits = np.ones(count, dtype=bool)
    chosen = np.zeros((count, n), dtype=np.int64)
    architecture = space.problem.architecture
    for index, level in enumerate(space.levels):
        limits = [architecture.mesh_fanout(index, axis) for axis in "XY"]
        if None in limits:
            continue
        stretch = _stretch(space, level)
        found = np.zeros(count, dtype=bool)
        for option, (order, split) in enumerate(_mesh_layouts(space, index)):
            split = len(order) if split is None else split
            ok = ~found
            for dims, limit in ((order[:split], limits[0]), (order[split:], limits[1])):
                extent = np.prod(
                    [spatial[:, index, DIMS.index(d)] for d in dims] or [np.ones(count)], axis=0
                )
                ok &= extent <= limit * stretch + EPSILON
            chosen[ok, index] = option
            found |= ok
        fits &= found
    return fits, chosen


def _compaction(space: _Space, spatial: np.ndarray) -> np.ndarray:
    """Per candidate and level, the fraction of the spatial fan-out still used after
    skipping-spatial (1 where the level has none), with the engine's formula."""
    n = len(space.levels)
    result = np.ones((len(spatial), n))
    for index, level in enumerate(space.levels):
        if not level.compaction_leaders:
            continue
        order = _spatial_order(space, index)
        unique, inverse = np.unique(spatial[:, index, :], axis=0, return_inverse=True)
        values = np.empty(len(unique))
        for row, factors in enumerate(unique):
            loops = tuple(
                Loop(dim, int(factors[DIMS.index(dim)]), 0, spatial=True)
                for dim in reversed(order)
                if factors[DIMS.index(dim)] > 1
            )
            nest = SimpleNamespace(nest=Nest(loops, 1, _GEMM))
            values[row], _ = spatial_compaction(nest, 0, level.compaction_leaders, space.models)
        result[:, index] = values[inverse.ravel()]
    return result


def _tile(inner: np.ndarray, tensor: str) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of a tensor's tile from inner products (candidates x dims)."""
    rows, cols = (dim for rank in _GEMM.tensors[tensor].ranks for dim, _ in rank)
    return inner[:, DIMS.index(rows)], inner[:, DIMS.index(cols)]


def _worst_occupancy(space: _Space, tensor: str, rows: np.ndarray, cols: np.ndarray):
    """Worst-case nonzeros of each tile (the density model's maximum)."""
    pairs, inverse = np.unique(np.stack([rows, cols], axis=1), axis=0, return_inverse=True)
    model = space.models[tensor]
    worst = np.array([model.occupancy((int(r), int(c))).max for r, c in pairs], dtype=float)
    return worst[inverse.ravel()]


def _keep_options(space: _Space) -> list[tuple[frozenset[str], ...]]:
    """Keep/bypass combinations: the outermost level keeps everything (the backing store);
    elsewhere the constraints' keep and bypass lists, the other tensors free."""
    per_level = []
    for index, level in enumerate(space.levels):
        if index == 0:
            per_level.append([frozenset(TENSORS)])
            continue
        rules = space.constraints.for_level(level.name)
        fixed_in = set(rules.keep or ())
        fixed_out = set(rules.bypass or ())
        free = [t for t in TENSORS if t not in fixed_in | fixed_out]
        choices = []
        for bits in itertools.product((True, False), repeat=len(free)):
            choices.append(
                frozenset(fixed_in | {t for t, on in zip(free, bits, strict=True) if on})
            )
        per_level.append(choices)
    return [combo for combo in map(tuple, itertools.product(*per_level)) if _moves_ok(space, combo)]


def _moves_ok(space: _Space, keep: tuple[frozenset[str], ...]) -> bool:
    """Compressed tensors move only between levels that can take them as they are
    (:func:`sparsim.analysis.sparse.compression_chain_error`)."""
    levels = space.problem.architecture.levels
    problem = view(space.problem.workload.problem())
    for tensor in TENSORS:
        keepers = [index for index, kept in enumerate(keep) if tensor in kept]
        compressed = {k: tensor in space.levels[k].compressed for k in keepers}
        ranks = {k: space.levels[k].format_ranks.get(tensor, 0) for k in keepers}
        error = compression_chain_error(
            tensor, keepers, compressed, ranks, levels, problem.tensors[tensor].read_write
        )
        if error is not None:
            return False
    return True


# --------------------------------------------------------------------------------------
# Pre-score: the dense nest analysis over all candidates at once


def _innermost_choices(space: _Space, temporal: np.ndarray, level: int) -> np.ndarray:
    """Allowed innermost non-unit dimension per candidate (candidates x 3 booleans); a level
    with no non-unit loop allows only the first dimension (all orders are the same)."""
    rule = space.constraints.for_level(space.levels[level].name).temporal_permutation
    rule = rule or Permutation()
    nonunit = temporal[:, level, :] > 1
    allowed = np.zeros_like(nonunit)
    decided = np.zeros(len(temporal), dtype=bool)
    for dim in rule.inner:  # the first non-unit prefix dimension is innermost
        d = DIMS.index(dim)
        hit = nonunit[:, d] & ~decided
        allowed[hit, d] = True
        decided |= hit
    middle = [DIMS.index(d) for d in DIMS if d not in rule.inner + rule.outer]
    some_middle = nonunit[:, middle].any(axis=1) & ~decided if middle else np.zeros_like(decided)
    for d in middle:
        allowed[some_middle & nonunit[:, d], d] = True
    decided |= some_middle
    for dim in rule.outer:
        d = DIMS.index(dim)
        hit = nonunit[:, d] & ~decided
        allowed[hit, d] = True
        decided |= hit
    allowed[~decided, 0] = True
    return allowed


def _permutation(space: _Space, level: int, innermost: int, nonunit: np.ndarray) -> str:
    """The full temporal order (innermost first) with the chosen innermost non-unit loop."""
    rule = space.constraints.for_level(space.levels[level].name).temporal_permutation
    rule = rule or Permutation()
    middle = [d for d in DIMS if d not in rule.inner + rule.outer]
    chosen = DIMS[innermost]
    if chosen in middle and nonunit[innermost]:
        middle = [chosen] + [d for d in middle if d != chosen]
    return rule.inner + "".join(middle) + rule.outer


EXHAUSTIVE_ORDERS = 27  # loop-order classes tried exhaustively up to this many


def _order_classes(possible: list[np.ndarray], prescore) -> list[tuple[int, ...]]:
    """Innermost-loop choices to pre-score: all combinations when few, else one sweep per
    level from the first choice (the others held), then the best of each level's
    choices together."""
    combos = list(itertools.product(*possible))
    if len(combos) <= EXHAUSTIVE_ORDERS:
        return combos
    base = [int(options[0]) for options in possible]
    tried = [tuple(base)]
    best = list(base)
    for position, options in enumerate(possible):
        scores = []
        for option in options:
            combo = (*base[:position], int(option), *base[position + 1 :])
            if combo not in tried:
                tried.append(combo)
            scores.append(float(np.log(prescore((*combo, 0))).mean()))
        best[position] = int(options[int(np.argmin(scores))])
    if tuple(best) not in tried:
        tried.append(tuple(best))
    return tried


class _PreScore:
    """The dense nest analysis over all candidates at once, for one keep combination.

    Everything but the refetches is independent of the loop orders and is computed once;
    a refetch depends only on the innermost loop of the levels above, so it is cached per
    (tensor, level, innermost choices above)."""

    def __init__(self, space, temporal, spatial, compaction, keep, computes, weights):
        n = len(space.levels)
        count = len(temporal)
        self.space, self.temporal, self.keep, self.weights = space, temporal, keep, weights
        self.computes = computes
        both = temporal * spatial
        inner = np.ones((count, n + 1, 3))  # [:, l]: product over levels >= l
        for index in reversed(range(n)):
            inner[:, index] = inner[:, index + 1] * both[:, index]
        self.outer_temporal = np.ones((count, n + 1))
        outer_spatial = np.ones((count, n + 1, 3))
        for index in range(n):
            self.outer_temporal[:, index + 1] = self.outer_temporal[:, index] * temporal[
                :, index
            ].prod(axis=1)
            outer_spatial[:, index + 1] = outer_spatial[:, index] * spatial[:, index]
        self.instances = outer_spatial.prod(axis=2)  # [:, l]: used instances of level l
        self.nonunit = temporal > 1
        self.some = self.nonunit.any(axis=2)
        self.single = self.nonunit.sum(axis=2) == 1
        self.busy_cycles = computes["busy"] / (self.instances[:, n] * compaction.prod(axis=1))
        self.entries = []  # per tensor, innermost kept level first
        for tensor in TENSORS:
            relevant = [DIMS.index(d) for d in RELEVANT_DIMS[tensor]]
            kept = [index for index in range(n) if tensor in keep[index]]
            rows = []
            for position in reversed(range(len(kept))):
                level = kept[position]
                child = kept[position + 1] if position + 1 < len(kept) else n
                scatter = np.ones(count)
                for between in range(level, child):
                    scatter = scatter * spatial[:, between, relevant].prod(axis=1)
                partition = None
                if tensor == "Z":
                    partition = np.prod(
                        [space.dims[DIMS[d]] / outer_spatial[:, level, d] for d in relevant], axis=0
                    )
                info = space.levels[level]
                rho = space.models[tensor].density if tensor in info.compressed else 1.0
                base_fills = (
                    inner[:, level, relevant].prod(axis=1) * self.outer_temporal[:, level]
                    if position > 0
                    else None
                )
                rows.append((level, scatter, partition, rho, base_fills))
            self.entries.append((tensor, rows))
        self.strips: dict[tuple, np.ndarray] = {}

    def _strip(self, tensor: str, level: int, combo: tuple[int, ...]) -> np.ndarray:
        """Product of the innermost outer loops that do not index ``tensor`` (they keep
        its tile resident), under the innermost-loop choices ``combo`` of the levels above."""
        key = (tensor, level, combo[:level])
        if key not in self.strips:
            irrelevant = DIMS.index(IRRELEVANT_DIM[tensor])
            count = len(self.temporal)
            strip = np.ones(count)
            active = np.ones(count, dtype=bool)
            for above in reversed(range(level)):
                if combo[above] == irrelevant:
                    hit = active & self.some[:, above]
                    strip = np.where(hit, strip * self.temporal[:, above, irrelevant], strip)
                    active &= ~self.some[:, above] | self.single[:, above]
                else:
                    active &= ~self.some[:, above]
                if not active.any():
                    break
            self.strips[key] = strip
        return self.strips[key]

    def __call__(self, combo: tuple[int, ...]) -> np.ndarray:
        """The objective estimate per candidate with innermost loops ``combo`` per level."""
        space = self.space
        n = len(space.levels)
        count = len(self.temporal)
        energy = np.full(count, self.computes["energy"])
        read_words = np.zeros((count, n))
        write_words = np.zeros((count, n))
        for tensor, rows in self.entries:
            child_fills = self.outer_temporal[:, n]
            for level, scatter, partition, rho, base_fills in rows:
                fills = (
                    0.0 if base_fills is None else base_fills / self._strip(tensor, level, combo)
                )
                delivered = child_fills * scatter
                if partition is not None:
                    updates, reads = delivered, np.maximum(delivered - partition, 0.0)
                else:
                    updates, reads = 0.0, delivered
                read_e, write_e, update_e = space.levels[level].word_energy
                energy += (
                    (reads * read_e + fills * write_e + updates * update_e)
                    * rho
                    * self.instances[:, level]
                )
                read_words[:, level] += reads * rho
                write_words[:, level] += (fills + updates) * rho
                child_fills = fills
        cycles = self.busy_cycles
        for index, level in enumerate(space.levels):
            read_bw, write_bw, shared_bw = level.bandwidth
            for words, bandwidth in (
                (read_words[:, index], read_bw),
                (write_words[:, index], write_bw),
                (read_words[:, index] + write_words[:, index], shared_bw),
            ):
                if bandwidth:
                    cycles = np.maximum(cycles, words / bandwidth)
        return _score(energy, cycles, self.weights)


def _computes(problem: Problem) -> dict[str, float]:
    """Mapping-independent compute counts and energy, classified by the engine itself (on
    the trivial mapping: every loop at the outermost level)."""
    gemm = problem.workload.as_gemm()
    outer = problem.architecture.levels[0].name
    # The trivial tile spans both dimensions of each tensor at the outermost level: formats
    # get an outer rank more where they need it (counts depend on which formats exist, not
    # on their ranks).
    padded = [
        opt.model_copy(
            update={
                "formats": {
                    t: [ranks[0]] * (2 - len(ranks)) + ranks for t, ranks in opt.formats.items()
                }
            }
        )
        for opt in problem.sparse_optimizations
    ]
    # A tensor is kept where it is stored as at the backing store (compressed or not), so
    # that it never needs decompressing on the way (the counts do not depend on it).
    stored = {
        (opt.level, t) for opt in padded for t, ranks in opt.formats.items() if is_compressed(ranks)
    }
    names = problem.architecture.level_names
    keeps = [
        LevelMapping(
            level=name,
            temporal=gemm.dims if index == 0 else {},
            keep=[t for t in TENSORS if ((name, t) in stored) == ((outer, t) in stored)],
        )
        for index, name in enumerate(names)
    ]
    trivial = problem.model_copy(update={"sparse_optimizations": padded}).with_mapping(
        Mapping(levels=keeps)
    )
    computes = analyse_sparse(trivial, analyse_dense(trivial, build_nest(trivial))).computes
    energy = problem.architecture.compute.energy
    return {
        "busy": computes.actual + computes.gated,
        "energy": computes.actual * energy.random + computes.gated * (energy.gated or 0.0),
    }


# --------------------------------------------------------------------------------------
# The search


def _mapping(space: _Space, temporal, spatial, keep, choice, layout) -> Mapping:
    levels = []
    for index, level in enumerate(space.levels):
        t = {d: int(temporal[index, i]) for i, d in enumerate(DIMS) if temporal[index, i] > 1}
        s = {d: int(spatial[index, i]) for i, d in enumerate(DIMS) if spatial[index, i] > 1}
        fields = {
            "level": level.name,
            "temporal": t,
            "temporal_permutation": _permutation(
                space, index, int(choice[index]), temporal[index] > 1
            ),
            "keep": [x for x in TENSORS if x in keep[index]],
        }
        if s:
            order, split = _mesh_layouts(space, index)[int(layout[index])]
            fields["spatial"] = s
            fields["spatial_permutation"] = order
            if split is not None:
                fields["split"] = split
        levels.append(LevelMapping.model_construct(**fields))
    return Mapping.model_construct(levels=levels)


def _capacity_ok(space: _Space, temporal, spatial, keep) -> tuple[np.ndarray, str | None]:
    """Candidates whose tiles fit every level (worst-case occupancy), and the level that
    rejects the most of them."""
    n = len(space.levels)
    both = temporal * spatial
    inner = np.ones((len(temporal), 3), dtype=np.int64)
    ok = np.ones(len(temporal), dtype=bool)
    worst_level, worst_count = None, 0
    for index in reversed(range(n)):
        inner = inner * both[:, index]
        level = space.levels[index]
        if level.capacity is None:
            continue
        needed = np.zeros(len(temporal))
        for tensor in keep[index]:
            rows, cols = _tile(inner, tensor)
            if tensor in level.compressed:
                needed += _worst_occupancy(space, tensor, rows, cols)
            else:
                needed += rows * cols
        fits = needed <= level.capacity + EPSILON
        if (~fits & ok).sum() > worst_count:
            worst_level, worst_count = level.name, int((~fits & ok).sum())
        ok &= fits
    return ok, worst_level


def _ranks_ok(space: _Space, temporal, spatial, keep) -> np.ndarray:
    """Candidates whose every compressed tile has a format rank per non-trivial loop
    (Timeloop rejects a tile that needs more ranks than its format has; formats with
    flattening rules let a rank take several loops and are left to the full model)."""
    ok = np.ones(len(temporal), dtype=bool)
    loops = np.zeros((len(temporal), 3), dtype=np.int64)  # non-trivial loops inside, per dim
    for index in reversed(range(len(space.levels))):
        loops = loops + (temporal[:, index] > 1) + (spatial[:, index] > 1)
        for tensor, ranks in space.levels[index].format_ranks.items():
            if tensor in keep[index]:
                relevant = [DIMS.index(d) for d in RELEVANT_DIMS[tensor]]
                ok &= loops[:, relevant].sum(axis=1) <= ranks
    return ok


_CACHE: OrderedDict[str, tuple] = OrderedDict()


def _cache_key(problem: Problem, constraints: MapspaceConstraints, settings: tuple) -> str:
    gemm = problem.workload.as_gemm()
    return "|".join(
        [
            repr((gemm.M, gemm.N, gemm.K, gemm.count, settings)),
            problem.architecture.model_dump_json(),
            repr(sorted((k, v.model_dump_json()) for k, v in problem.densities.items())),
            repr([opt.model_dump_json() for opt in problem.sparse_optimizations]),
            repr(problem.compute_optimizations),
            constraints.model_dump_json(exclude={"source"}),
        ]
    )


def map_spec(
    spec: Spec | Problem,
    constraints: MapspaceConstraints | None = None,
    *,
    objective: str = "edp",
    top_k: int = 3,
    max_evaluations: int = DEFAULT_EVALUATIONS,
    time_budget: float | None = None,
    progress: bool | None = None,
) -> MapResult:
    """The best mapping of ``spec``'s workload on its architecture (any mapping in ``spec``
    is ignored) under ``constraints``, for ``objective`` (``edp``, ``energy``, ``cycles`` or
    weights such as ``energy=1,cycles=2``), with the ``top_k`` runners-up.

    At most ``max_evaluations`` candidates (best pre-scored first) are scored with the full
    model, and none once ``time_budget`` seconds have passed (at least one that fits is
    always scored). ``progress``: a tqdm bar (default: on searches longer than 3 s).
    """
    started = time.perf_counter()
    if isinstance(spec, str | os.PathLike):  # a spec file or case directory, as `sparsim map`
        spec, own = load_problem(path_argument(spec, "spec"))
        constraints = constraints if constraints is not None else own
    _check_map_arguments(spec, constraints, objective, top_k, max_evaluations, time_budget)
    bool_argument(progress, "progress", optional=True)
    problem = _checked(Problem.of(spec), "spec")  # a copy edited in code is checked too
    constraints = constraints or NO_CONSTRAINTS
    constraints.check_levels(problem.architecture.level_names)
    weights = parse_objective(objective)
    key = _cache_key(problem, constraints, (weights, top_k, max_evaluations, time_budget))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _renamed(_CACHE[key], problem, started)
    outcome = _search(problem, constraints, weights, top_k, max_evaluations, time_budget, progress)
    outcome = replace(outcome, objective=objective)
    _CACHE[key] = outcome
    if len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return replace(outcome, seconds=time.perf_counter() - started)


def _check_map_arguments(spec, constraints, objective, top_k, max_evaluations, time_budget):
    if not isinstance(spec, Spec | Problem):
        raise SpecError(
            "expected a sparsim.Spec or Problem, or a spec file or case directory name, got "
            f"{type(spec).__name__}",
            "spec",
        )
    if constraints is not None and not isinstance(constraints, MapspaceConstraints):
        raise SpecError(
            f"expected MapspaceConstraints or None, got {type(constraints).__name__}",
            "constraints",
        )
    text_argument(objective, "objective")
    integer_argument(top_k, "top_k", minimum=1)
    integer_argument(max_evaluations, "max_evaluations", minimum=1)
    number_argument(time_budget, "time_budget", positive=True, optional=True)


def _renamed(cached: MapResult, problem: Problem, started: float) -> MapResult:
    """A cached search for another workload of the same shape: its own name on the specs."""

    def own(spec: Spec, result: Result) -> tuple[Spec, Result]:
        return spec.model_copy(update={"workload": problem.workload}), replace(
            result, name=problem.workload.name
        )

    spec, result = own(cached.spec, cached.result)
    alternatives = tuple(
        Alternative(*own(alt.spec, alt.result), alt.score) for alt in cached.alternatives
    )
    return replace(
        cached,
        spec=spec,
        result=result,
        alternatives=alternatives,
        seconds=time.perf_counter() - started,
    )


def _search(problem, constraints, weights, top_k, max_evaluations, time_budget, progress):
    started = time.perf_counter()
    gemm = problem.workload.as_gemm()
    models = {
        t: density_model(problem.densities.get(t, TensorDensity()), _shape(gemm, t))
        for t in TENSORS
    }
    space = _Space(problem, constraints, gemm.dims, _levels(problem), models)
    pruned = {"sampled out": 0, "spatial fan-out": 0, "capacity": 0}
    temporal, spatial = _joined(space, pruned)
    keeps = _keep_options(space)
    pruned = {reason: count * len(keeps) for reason, count in pruned.items()}
    if not len(temporal):
        if any(space.rejected_by.values()):
            level = max(space.rejected_by, key=space.rejected_by.get)
            raise NoValidMappingError(
                f"no mapping of {gemm.name} fits the capacity of level {level} "
                f"under {constraints.source}",
                "map",
            )
        raise NoValidMappingError(
            f"no mapping of {gemm.name} fits the fan-outs of {problem.architecture.name} "
            f"under {constraints.source}",
            "map",
        )

    # Exact validity: fan-out after compaction, minimum utilisation.
    n = len(space.levels)
    varying = list(range(n - 1))  # the innermost level's loop order changes no refetch
    allowed = [_innermost_choices(space, temporal, level) for level in range(n)]
    orders = np.prod([allowed[level].sum(axis=1) for level in varying], axis=0).astype(np.int64)
    orders = orders * np.ones(len(temporal), dtype=np.int64)
    compaction = _compaction(space, spatial)
    used = spatial.prod(axis=2) * compaction
    fanouts = np.array([level.fanout for level in space.levels])
    ok = (used <= fanouts + EPSILON).all(axis=1)
    pruned["spatial fan-out"] += int(orders[~ok].sum()) * len(keeps)
    on_mesh, layout = _choose_layouts(space, spatial)
    pruned["mesh fan-out (X or Y)"] = int(orders[ok & ~on_mesh].sum()) * len(keeps)
    ok &= on_mesh
    if constraints.min_utilization:
        macs = problem.architecture.compute.instances
        util = spatial.prod(axis=(1, 2)) * compaction.prod(axis=1) / macs
        low = ok & (util < constraints.min_utilization - EPSILON)
        pruned["utilisation"] = int(orders[low].sum()) * len(keeps)
        ok &= ~low
    if not ok.any():
        worst = int(np.argmax((used > fanouts + EPSILON).sum(axis=0)))
        where = f"the fan-out of level {space.levels[worst].name} ({space.levels[worst].fanout})"
        if (used <= fanouts + EPSILON).all(axis=1).any():
            where = "the mesh (X x Y) of every level"
        raise NoValidMappingError(
            f"no mapping of {gemm.name} fits {where} under {constraints.source}", "map"
        )
    considered = sum(pruned.values())
    temporal, spatial, compaction, orders = temporal[ok], spatial[ok], compaction[ok], orders[ok]
    layout = layout[ok]
    allowed = [choices[ok] for choices in allowed]

    computes = _computes(problem)
    pool = []  # (estimate, keep index, candidate index, choice row)
    prescored = 0
    capacity_pruned, capacity_level, rank_pruned = 0, None, 0
    for keep_index, keep in enumerate(keeps):
        fits, level_name = _capacity_ok(space, temporal, spatial, keep)
        capacity_pruned += int(orders[~fits].sum())
        capacity_level = capacity_level or level_name
        ranked = _ranks_ok(space, temporal, spatial, keep)
        rank_pruned += int(orders[fits & ~ranked].sum())
        fits &= ranked
        if not fits.any():
            continue
        t, s, c = temporal[fits], spatial[fits], compaction[fits]
        index = np.flatnonzero(fits)
        best = np.full(len(t), np.inf)
        best_choice = np.zeros((len(t), n), dtype=np.int64)
        prescore = _PreScore(space, t, s, c, keep, computes, weights)
        possible = [np.flatnonzero(allowed[level][index].any(axis=0)) for level in varying]
        for combo in _order_classes(possible, prescore):
            valid = np.ones(len(t), dtype=bool)
            for level, dim in zip(varying, combo, strict=True):
                valid &= allowed[level][index, dim]
            if not valid.any():
                continue
            prescored += int(valid.sum())
            estimate = prescore((*combo, 0))
            better = valid & (estimate < best)
            best = np.where(better, estimate, best)
            best_choice[better] = (*combo, 0)
        for row in np.argsort(best, kind="stable")[: max_evaluations * 4]:
            if np.isfinite(best[row]):
                pool.append((float(best[row]), keep_index, int(index[row]), best_choice[row]))
    pruned["capacity"] += capacity_pruned
    pruned["tile needs more format ranks"] = rank_pruned
    considered += capacity_pruned + rank_pruned + prescored
    if not pool:
        reason = f"fits the capacity of level {capacity_level}"
        if capacity_level is None:
            reason = "leaves each compressed tile at most one loop per rank of its format"
        raise NoValidMappingError(
            f"no mapping of {gemm.name} {reason} under {constraints.source}", "map"
        )
    pool.sort(key=lambda item: (item[0], item[1], item[2]))
    pruned["pre-score rank"] = prescored - len(pool)

    # Full sparse model on the best-ranked, with a lower bound to skip hopeless ones.
    macs_used = spatial.prod(axis=(1, 2))
    compute_energy = computes["energy"]
    found: list[tuple[float, int, Spec, Result]] = []
    evaluated = rejected = bounded = 0
    bar = tqdm(
        total=min(len(pool), max_evaluations),
        desc="mapping",
        disable=progress is False,
        delay=PROGRESS_AFTER_S if progress is None else 0.0,
    )
    for order, (_, keep_index, row, choice) in enumerate(pool):
        if evaluated >= max_evaluations and (found or evaluated >= max_evaluations * RETRIES):
            break
        if time_budget is not None and found and time.perf_counter() - started > time_budget:
            break
        cycles_bound = math.ceil(computes["busy"] / macs_used[row] - EPSILON)
        bound = float(_score(compute_energy, cycles_bound, weights))
        if len(found) >= top_k and bound >= found[top_k - 1][0]:
            bounded += 1
            continue
        mapping = _mapping(
            space, temporal[row], spatial[row], keeps[keep_index], choice, layout[row]
        )
        candidate = Spec.model_construct(
            workload=problem.workload,
            architecture=problem.architecture,
            densities=problem.densities,
            sparse_optimizations=problem.sparse_optimizations,
            compute_optimizations=problem.compute_optimizations,
            mapping=mapping,
        )
        evaluated += 1
        bar.update(1)
        try:
            result = evaluate(candidate)
        except MappingError:  # over capacity with metadata, compacted fan-out over the mesh
            rejected += 1
            continue
        score = float(_score(result.energy_pJ, result.cycles, weights))
        found.append((score, order, candidate, result))
        found.sort(key=lambda item: (item[0], item[1]))
        del found[top_k + 1 :]
    bar.close()
    pruned["lower bound"] = bounded
    pruned["rejected by the full model"] = rejected
    pruned["not scored (rank, budget)"] = len(pool) - evaluated - bounded
    if not found:
        raise NoValidMappingError(
            f"no mapping of {gemm.name} passes the full model's checks (capacity with "
            f"metadata, fan-out per mesh axis) among the {evaluated} best-ranked under "
            f"{constraints.source}",
            "map",
        )
    best_score, best_rank, best_spec, best_result = found[0]
    spec = check_references(validate(Spec, best_spec.model_dump(mode="json"), "map"), "mapped spec")
    return MapResult(
        spec=spec,
        result=best_result,
        score=best_score,
        objective="",
        alternatives=tuple(Alternative(s, r, sc) for sc, _, s, r in found[1 : top_k + 1]),
        considered=considered,
        evaluated=evaluated,
        pruned={k: v for k, v in pruned.items() if v},
        notes=tuple(dict.fromkeys(space.notes)),
        seconds=time.perf_counter() - started,
        best_rank=best_rank,
    )


def _shape(gemm: Gemm, tensor: str) -> tuple[int, ...]:
    return view(gemm.problem()).full_extents(tensor)


def padded_problem(problem: Problem, constraints: MapspaceConstraints | None) -> Problem:
    """The problem with each dimension padded up to a multiple of the constraints' exact
    factors (those not larger than the dimension), so that a fixed-size array can map it;
    the padding is real work, as in :func:`sparsim.designs.build`."""
    constraints = constraints or NO_CONSTRAINTS
    workload = problem.workload
    gemm = workload.as_gemm()
    padded = {}
    for dim, size in gemm.dims.items():
        grain = 1
        for rules in constraints.levels.values():
            for kind in (rules.temporal, rules.spatial):
                exact = kind.exact.get(dim)
                if exact and exact <= size:
                    grain *= exact
        padded[dim] = math.ceil(size / grain) * grain
    if padded == gemm.dims:
        return problem
    name = f"{gemm.name} (padded to {shape_name(**padded)})"
    new: Gemm | Conv = Gemm(name=name, count=gemm.count, **padded)
    return problem.model_copy(update={"workload": new})
