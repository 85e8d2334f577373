"""A sparse-aware mapper for any architecture and any problem shape: the best mapping for an
objective.

The mapspace is every per-level temporal and spatial factorisation of the problem's
dimensions (within each level's fan-out), the loop order at each level and keep/bypass per
tensor, narrowed by Timeloop v0.3 mapspace constraints (:mod:`sparsim.spec.constraints`) in
the shape's own dimension and tensor names. The search runs in four stages, each cheaper
per candidate than the next:

1. **Enumerate** the factorisations of each dimension over the level slots as numpy arrays
   (slot options = divisors within the constraints' bounds) and join them dimension by
   dimension, the dimensions of the smallest tensors first.
2. **Prune exactly** what cannot be valid: spatial factors over a level's fan-out or mesh
   axis (after ``skipping-spatial`` compaction, computed with the engine's own formula),
   tiles over a level's capacity (tile extents from the tensors' projections, so a
   convolution's input tile is ``(P-1)*stride + (R-1)*dilation + 1`` wide; worst-case
   occupancy: the dense tile for uncompressed tensors, the density model's maximum for
   compressed ones; on partial joins, the tiles the joined dimensions already force),
   keep/bypass choices Timeloop refuses (a compressed tensor moving to a level that cannot
   decompress it, compression on chip), utilisation under the constraint's minimum.
3. **Pre-score** the survivors in one vectorised pass per loop-order choice: dense traffic
   (fills following the loop order as the engine counts them: a tile whose loops above are
   irrelevant to it up to a relevant one stays put, a tile that slides fetches only its new
   part; reads = child fills x distinct children; updates of read-write tensors), scaled by
   density where a tensor is stored compressed, energy per word from the architecture,
   compute and bandwidth cycles. Loop orders are chosen per candidate and level among a few
   that matter (:func:`_order_classes`: per tensor its irrelevant dimensions innermost, and
   each sliding dimension innermost before them) by exhaustive search when the combinations
   are few, else by coordinate descent over the levels.
4. **Score** the best-ranked candidates with the full sparse model
   (:func:`sparsim.evaluate.evaluate`: formats, metadata, skipping, position-skipping
   utilisation, exact capacity checks including metadata), skipping any whose lower bound
   (compute-bound cycles at the candidate's spatial use x compute energy) cannot beat the
   k-th best found so far.

Results are cached by (problem, architecture, densities, sparse optimisations, constraints,
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

from sparsim.analysis.dense import analyse_dense, distinct_positions
from sparsim.analysis.density import density_model
from sparsim.analysis.formats import is_compressed
from sparsim.analysis.nest import Loop, Nest, ProblemView, build_nest, view
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
from sparsim.spec.problem import Problem as ProblemInstance
from sparsim.spec.sparse_optimizations import ComputeOptimization, LevelSparseOptimization
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.validation import validate
from sparsim.spec.workload import Gemm, Workload, shape_name

# edap (energy x delay x area) ranks one architecture's mappings as edp does: the area is
# the hardware's, the same for every mapping; it is there to compare designs by.
OBJECTIVES = {"edp": (1.0, 1.0), "edap": (1.0, 1.0), "energy": (1.0, 0.0), "cycles": (0.0, 1.0)}
DEFAULT_EVALUATIONS = 24
RETRIES = 8  # while none is valid, score up to this many times the evaluation budget
MAX_JOINED = 150_000  # factorisation combinations scored at most (sampled beyond)
MAX_PER_DIM = 20_000  # factorisations of one dimension kept (sampled beyond)
MAX_ENUMERATED = 200_000  # factorisations of one dimension listed in full (sampled beyond)
MAX_PAIRS = 1_000_000  # partial mappings x next dimension's factorisations per join step
CHUNK_ROWS = 1_000_000
EXHAUSTIVE_ORDERS = 27  # loop-order combinations tried exhaustively up to this many
ORDER_SEARCH_ROWS = 5_000  # candidates whose loop orders are searched level by level
DESCENT_SWEEPS = 2
FILLS_REMEMBERED = 256  # pre-scored fills kept for orders asked again
MAX_KEEP_COMBINATIONS = 64  # keep/bypass combinations all pre-scored up to this many
SEARCHED_KEEPS = 4  # beyond, the best combinations a descent finds
KEEP_SAMPLE = 2_000  # candidates that score keep/bypass combinations in that descent
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
    """``edp``, ``edap``, ``energy``, ``cycles`` or weights ``energy=1,cycles=2`` (score =
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
                f"unknown objective {text!r} (edp, edap, energy, cycles, or e.g. energy=1,cycles=2)",
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
    if "title" in data:
        return _design_file_problem(path, data)
    constraints = parse_constraints(data, str(path)) if has_constraints(data) else None
    fields = {
        k: v
        for k, v in data.items()
        if k not in ("mapping", "architecture_constraints", "mapspace_constraints")
    }
    return _checked(validate(Problem, fields, str(path)), str(path)), constraints


def _design_file_problem(path: Path, data: dict) -> tuple[Problem, MapspaceConstraints | None]:
    """A design file (docs/designs.md) on the layer its ``workload`` names, dense, with its
    own constraints."""
    from sparsim.designs.build import design_problem
    from sparsim.designs.catalog import design_from_data

    design = design_from_data(path.stem, data, str(path))
    if design.workload is None:
        raise SpecError(
            "a design file maps the layer its workload names: add one "
            "(workload: {kind: conv, C: 64, out_channels: 64, P: 56, Q: 56, R: 3, S: 3}), "
            "or give the layer to sparsim.build()",
            f"{path}: workload",
        )
    return _checked(design_problem(design, design.workload), str(path)), design.constraints


def _checked(problem: Problem, where: str) -> Problem:
    """The spec's cross-section checks, on a trivial mapping (everything at the top)."""
    check_references(problem.with_mapping(_trivial_mapping(problem)), where)
    return problem


def _trivial_mapping(problem: Problem, keep: tuple[frozenset[str], ...] | None = None) -> Mapping:
    """Every loop at the outermost level (and, given ``keep``, those keep choices)."""
    dims = problem.workload.problem().instance
    levels = problem.architecture.levels
    return Mapping(
        levels=[
            LevelMapping(
                level=level.name,
                temporal=dict(dims) if index == 0 else {},
                keep=None if keep is None else sorted(keep[index]),
            )
            for index, level in enumerate(levels)
        ]
    )


# --------------------------------------------------------------------------------------
# The problem and the levels as arrays


@dataclass(frozen=True)
class _Tensor:
    name: str
    relevant: np.ndarray  # bool per dimension
    ranks: tuple[tuple[tuple[int, int], ...], ...]  # per rank: (dimension index, coefficient)
    read_write: bool
    sliding: bool  # a rank of several terms: its tile can slide over a window
    shape: tuple[int, ...]  # full extents per rank

    def extents(self, box: np.ndarray) -> list[np.ndarray]:
        """Per rank, the coordinates a box (candidates x dimensions) covers."""
        return [
            sum(c * (box[:, d].astype(np.int64) - 1) for d, c in rank) + 1
            if rank
            else np.ones(len(box), dtype=np.int64)
            for rank in self.ranks
        ]

    def size(self, box: np.ndarray) -> np.ndarray:
        return np.prod(self.extents(box), axis=0)


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
    decompression: bool
    compression: bool


@dataclass
class _Space:
    problem: Problem
    view: ProblemView
    constraints: MapspaceConstraints
    dims: tuple[str, ...]
    sizes: dict[str, int]
    tensors: tuple[_Tensor, ...]
    levels: list[_Level]
    models: dict
    formats: dict[tuple[str, int], int]  # (tensor, level) -> format ranks, compressed only
    notes: list[str] = field(default_factory=list)
    rejected_by: dict[str, int] = field(default_factory=dict)  # level -> candidates over capacity
    cache: dict = field(default_factory=dict)

    def tensor(self, name: str) -> _Tensor:
        return next(t for t in self.tensors if t.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tensors)


def _tensors(problem_view: ProblemView) -> tuple[_Tensor, ...]:
    dims = list(problem_view.dims)
    result = []
    for name, shape in problem_view.tensors.items():
        ranks = tuple(tuple((dims.index(d), c) for d, c in rank) for rank in shape.ranks)
        result.append(
            _Tensor(
                name=name,
                relevant=np.array([d in shape.dims for d in dims]),
                ranks=ranks,
                read_write=shape.read_write,
                sliding=any(len({d for d, _ in rank}) > 1 for rank in ranks),
                shape=problem_view.full_extents(name),
            )
        )
    return tuple(result)


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
                decompression=level.decompression,
                compression=level.compression,
            )
        )
    return levels


def _space(problem: Problem, constraints: MapspaceConstraints) -> _Space:
    problem_view = view(problem.workload.problem())
    tensors = _tensors(problem_view)
    models = {
        t.name: density_model(problem.densities.get(t.name, TensorDensity()), t.shape)
        for t in tensors
    }
    names = problem.architecture.level_names
    formats = {
        (tensor, names.index(opt.level)): len(ranks)
        for opt in problem.sparse_optimizations
        for tensor, ranks in opt.formats.items()
        if is_compressed(ranks)
    }
    return _Space(
        problem=problem,
        view=problem_view,
        constraints=constraints,
        dims=tuple(problem_view.dims),
        sizes=dict(problem_view.dims),
        tensors=tensors,
        levels=_levels(problem),
        models=models,
        formats=formats,
    )


# --------------------------------------------------------------------------------------
# The mapspace


def _slot_options(space: _Space, dim: str) -> tuple[list[tuple[int, str]], list[list[int]]]:
    """Slots (level, "temporal"/"spatial") of a dimension, innermost first, and the values
    each may take under the constraints."""
    size = space.sizes[dim]
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
            if exact is not None and dim not in factors.at_most:
                most = max(most, exact)  # an exact factor is not bound by default_max_factor
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


def _forced_keeps(space: _Space) -> list[frozenset[str]]:
    """Tensors every mapping keeps at each level (all at the backing store)."""
    return [
        frozenset(space.names)
        if index == 0
        else frozenset(space.constraints.for_level(lvl.name).keep or ())
        for index, lvl in enumerate(space.levels)
    ]


def _join_order(space: _Space, forced: list[frozenset[str]], fixed: set[str]) -> tuple[str, ...]:
    """Dimensions in the order they are joined: those with one factorisation (``fixed``)
    first, as they multiply nothing; then those of the tensor with the fewest dimensions (its
    tiles, complete early, prune the partial joins), then the next."""
    kept = {t for keep in forced[1:] for t in keep} or set(space.names)
    tensors = sorted(
        (t for t in space.tensors if t.name in kept), key=lambda t: int(t.relevant.sum())
    ) + [t for t in space.tensors if t.name not in kept]
    order = [d for d in space.dims if d in fixed]
    for tensor in tensors:
        order += [d for i, d in enumerate(space.dims) if tensor.relevant[i] and d not in order]
    return tuple(order + [d for d in space.dims if d not in order])


def _lower_bound_words(space: _Space, tensor: _Tensor, level: _Level, box, complete) -> np.ndarray:
    """Words a tile of ``box`` needs at least: its dense size, or for a compressed tensor
    the density model's fullest tile when ``complete`` (all its dimensions known), else 0."""
    if tensor.name not in level.compressed:
        return tensor.size(box)
    if not complete:
        return np.zeros(len(box))
    return _worst_occupancy(space, tensor, tensor.extents(box))


def _words_needed(space: _Space, box_at: Callable[[int], np.ndarray], keep, joined):
    """Per level with a capacity, the words the tensors it keeps need at least, from
    ``box_at(level)`` (candidates x dimensions: the level's tile box): tiles of tensors with
    a joined dimension (other dimensions still 1), exact for those whose dimensions are all
    joined."""
    joined_mask = np.array([d in joined for d in space.dims])
    for index, level in enumerate(space.levels):
        if level.capacity is None:
            continue
        box = None
        needed = 0.0
        for name in keep[index]:
            tensor = space.tensor(name)
            if (tensor.relevant & joined_mask).any() or not tensor.relevant.any():
                box = box_at(index) if box is None else box
                complete = not (tensor.relevant & ~joined_mask).any()
                needed = needed + _lower_bound_words(space, tensor, level, box, complete)
        if box is not None:
            yield level, needed


def _partial_ok(space, per_dim, combos, dims, limits, forced) -> tuple[np.ndarray, np.ndarray]:
    """(fits the fan-outs, fits the capacities) of partial candidates (``combos``: a
    factorisation index per dimension of ``dims``), the other dimensions still 1: spatial
    products (per mesh axis where the layout is fixed), and the tiles of tensors every
    mapping keeps (exact once their dimensions are all joined, a lower bound before)."""
    count = len(combos)
    columns = {d: per_dim[d] for d in dims}
    fan = np.ones(count, dtype=bool)
    for index, limit in enumerate(limits):
        product = np.ones(count, dtype=np.int64)
        for j, d in enumerate(dims):
            product = product * columns[d].spatial[combos[:, j], index]
        fan &= product <= limit + EPSILON
    for index, axes in _fixed_axes(space).items():
        for axis_dims, limit in axes:
            product = np.ones(count, dtype=np.int64)
            for j, d in enumerate(dims):
                if space.dims.index(d) in axis_dims:
                    product = product * columns[d].spatial[combos[:, j], index]
            fan &= product <= limit + EPSILON
    box = np.ones((count, len(space.dims)), dtype=np.int64)

    def box_at(level: int) -> np.ndarray:
        for j, d in enumerate(dims):
            box[:, space.dims.index(d)] = columns[d].extent[combos[:, j], level]
        return box

    fits = np.ones(count, dtype=bool)
    for level, needed in _words_needed(space, box_at, forced, frozenset(dims)):
        over = fan & fits & (needed > level.capacity + EPSILON)
        space.rejected_by[level.name] = space.rejected_by.get(level.name, 0) + int(over.sum())
        fits &= ~over
    return fan, fits


@dataclass(frozen=True)
class _Factorisations:
    """One dimension's factorisations (rows): temporal and spatial factor per level, and
    the extent of the level's tile box along the dimension (its factors and those inside)."""

    temporal: np.ndarray  # rows x levels
    spatial: np.ndarray

    @property
    def extent(self) -> np.ndarray:
        return np.cumprod((self.temporal * self.spatial)[:, ::-1], axis=1)[:, ::-1]

    def __len__(self) -> int:
        return len(self.temporal)

    def take(self, rows) -> _Factorisations:
        return _Factorisations(self.temporal[rows], self.spatial[rows])


def _fixed_axes(space: _Space) -> dict[int, list[tuple[list[int], float]]]:
    """Levels whose spatial layout the constraints fix on a 2-D mesh: per level, the
    dimensions along X and along Y with each axis's (stretched) limit."""
    result = {}
    architecture = space.problem.architecture
    for index, level in enumerate(space.levels):
        layouts = _mesh_layouts(space, index)
        limits = [architecture.mesh_fanout(index, axis) for axis in "XY"]
        if len(layouts) != 1 or None in limits:
            continue
        order, split = layouts[0]
        split = len(order) if split is None else split
        stretch = _stretch(space, level)
        result[index] = [
            ([space.dims.index(d) for d in order[:split]], limits[0] * stretch),
            ([space.dims.index(d) for d in order[split:]], limits[1] * stretch),
        ]
    return result


def _joined(space: _Space, pruned: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Temporal and spatial factor arrays (candidates x levels x dims); the dimensions are
    joined one at a time, each partial join pruned by fan-out and by the capacity of the
    tiles it already determines."""
    n = len(space.levels)
    per_dim: dict[str, _Factorisations] = {}
    for dim in space.dims:
        slots, options = _slot_options(space, dim)
        rows = _factorisations(space.sizes[dim], options, space.notes)
        if not len(rows):
            raise NoValidMappingError(
                f"{dim}={space.sizes[dim]} cannot be factorised under "
                f"{_describe_slots(space, dim)}",
                space.constraints.source,
            )
        temporal = np.ones((len(rows), n), dtype=np.int64)
        spatial = np.ones((len(rows), n), dtype=np.int64)
        for column, (level, kind) in enumerate(slots):
            (spatial if kind == "spatial" else temporal)[:, level] = rows[:, column]
        per_dim[dim] = _Factorisations(temporal, spatial)
    forced = _forced_keeps(space)
    limits = np.array(
        [math.floor(level.fanout * _stretch(space, level) + EPSILON) for level in space.levels]
    )
    for dim in space.dims:  # each dimension alone must fit
        alone = np.arange(len(per_dim[dim]))[:, None]
        fan, fits = _partial_ok(space, per_dim, alone, (dim,), limits, forced)
        others = math.prod(len(per_dim[d]) for d in space.dims if d != dim)
        pruned["spatial fan-out"] += int((~fan).sum()) * others
        pruned["capacity"] += int((fan & ~fits).sum()) * others
        per_dim[dim] = per_dim[dim].take(fan & fits)
    for dim in space.dims:
        before = len(per_dim[dim])
        kept = _sampled(
            space,
            np.arange(before),
            MAX_PER_DIM,
            f"factorisations of {dim}",
            lambda rows=per_dim[dim]: rows.spatial.prod(axis=1),
        )
        per_dim[dim] = per_dim[dim].take(kept)
        pruned["sampled out"] += (before - len(kept)) * math.prod(
            len(per_dim[d]) for d in space.dims if d != dim
        )
    sizes = {dim: len(per_dim[dim]) for dim in space.dims}
    if not all(sizes.values()):
        empty = np.ones((0, n, len(space.dims)), dtype=np.int64)
        return empty, empty.copy()
    order = _join_order(space, forced, {d for d, size in sizes.items() if size == 1})
    spread = {dim: per_dim[dim].spatial.prod(axis=1) for dim in space.dims}

    def parallel(combos: np.ndarray, dims) -> Callable[[], np.ndarray]:
        return lambda: np.prod([spread[d][combos[:, j]] for j, d in enumerate(dims)], axis=0)

    combos = np.arange(sizes[order[0]])[:, None]
    for step in range(1, len(order)):
        dim = order[step]
        later = math.prod(sizes[d] for d in order[step + 1 :])
        before = len(combos)
        cap = max(1, MAX_PAIRS // sizes[dim])
        combos = _sampled(space, combos, cap, "partial mappings", parallel(combos, order[:step]))
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
            fan, fits = _partial_ok(space, per_dim, pairs, order[: step + 1], limits, forced)
            pruned["spatial fan-out"] += int((~fan).sum()) * later
            pruned["capacity"] += int((fan & ~fits).sum()) * later
            kept.append(pairs[fan & fits])
        combos = np.vstack(kept) if kept else np.zeros((0, step + 1), dtype=np.int64)
    before = len(combos)
    combos = _sampled(
        space, combos, MAX_JOINED, "factorisations left after pruning", parallel(combos, order)
    )
    pruned["sampled out"] += before - len(combos)
    return _assemble(space, per_dim, combos, order)


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


def _assemble(space: _Space, per_dim, combos, dims) -> tuple[np.ndarray, np.ndarray]:
    n, count = len(space.levels), len(combos)
    dtype = np.int32 if max(space.sizes.values()) < 2**31 else np.int64
    temporal = np.ones((count, n, len(space.dims)), dtype=dtype)
    spatial = np.ones((count, n, len(space.dims)), dtype=dtype)
    for column, dim in enumerate(dims):
        rows = combos[:, column]
        temporal[:, :, space.dims.index(dim)] = per_dim[dim].temporal[rows]
        spatial[:, :, space.dims.index(dim)] = per_dim[dim].spatial[rows]
    return temporal, spatial


@dataclass
class _Candidates:
    """Full candidates: temporal and spatial factors (candidates x levels x dimensions), the
    tile box of each level (``inner[:, l]``: factors of level ``l`` and inside; ``inner[:,
    n]`` = 1), the spatial fan-out used after compaction and the mesh layout per level."""

    temporal: np.ndarray
    spatial: np.ndarray
    compaction: np.ndarray
    layout: np.ndarray

    def __post_init__(self) -> None:
        self.boxes: dict[int, np.ndarray] = {}

    def inner(self, level: int) -> np.ndarray:
        """The tile box of ``level`` (candidates x dimensions): the factors of it and of
        the levels inside (ones below the innermost level)."""
        if level not in self.boxes:
            if level == self.temporal.shape[1]:
                box = np.ones(self.temporal.shape[::2], dtype=self.temporal.dtype)
            else:
                box = self.inner(level + 1) * self.temporal[:, level] * self.spatial[:, level]
            self.boxes[level] = box
        return self.boxes[level]

    def __len__(self) -> int:
        return len(self.temporal)

    def take(self, rows: np.ndarray) -> _Candidates:
        return _Candidates(
            self.temporal[rows], self.spatial[rows], self.compaction[rows], self.layout[rows]
        )


def _canonical_spatial(space: _Space) -> list[str]:
    """Dimensions innermost first for spatial loops no constraint orders: the reduction
    dimensions (not indexing any read-write tensor) first, then the others, each in the
    shape's order."""
    written = np.zeros(len(space.dims), dtype=bool)
    for tensor in space.tensors:
        if tensor.read_write:
            written |= tensor.relevant
    return [d for i, d in enumerate(space.dims) if not written[i]] + [
        d for i, d in enumerate(space.dims) if written[i]
    ]


def _spatial_order(space: _Space, level: int) -> str:
    """Innermost first: the constraint's order, then the rest canonically."""
    rule = space.constraints.for_level(space.levels[level].name).spatial_permutation
    return (rule or Permutation()).complete(_canonical_spatial(space))


def _stretch(space: _Space, level: _Level) -> float:
    """How far skipping-spatial may stretch a fan-out: 1 / the sparsest leader's density."""
    return 1.0 / min((space.models[t].density for t in level.compaction_leaders), default=1.0)


def _spreadable(space: _Space, level: int) -> list[str]:
    """Dimensions a level's fan-out may split (a spatial factor above 1 allowed)."""
    rules = space.constraints.for_level(space.levels[level].name).spatial
    result = []
    for dim in space.dims:
        _, most, exact = rules.bounds(dim, space.sizes[dim])
        if exact is not None and exact <= space.sizes[dim]:
            most = exact
        if most > 1 and space.sizes[dim] > 1 and space.levels[level].fanout > 1:
            result.append(dim)
    return result


def _mesh_layouts(space: _Space, level: int) -> list[tuple[str, int | None]]:
    """The spatial (order innermost first, split) layouts worth trying at a level: the
    constraint's when it fixes them; on a 2-D mesh otherwise, every way to put each
    dimension the level may split along X or Y (the order within an axis changes no cost)."""
    key = ("layouts", level)
    cache = space.cache
    if key in cache:
        return cache[key]
    rules = space.constraints.for_level(space.levels[level].name)
    order = _spatial_order(space, level)
    if rules.split is not None or space.problem.architecture.mesh_fanout(level, "X") is None:
        layouts = [(order, rules.split)]
    elif rules.spatial_permutation is not None:
        layouts = [(order, split) for split in range(len(order) + 1)]
    else:
        free = [d for d in order if d in _spreadable(space, level)]
        layouts = []
        for bits in itertools.product((True, False), repeat=len(free)):
            along_x = "".join(d for d, on in zip(free, bits, strict=True) if on)
            layouts.append((along_x + "".join(d for d in order if d not in along_x), len(along_x)))
    cache[key] = layouts
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
                columns = [space.dims.index(d) for d in dims]
                extent = spatial[:, index, columns].prod(axis=1, dtype=float)
                ok &= extent <= limit * stretch + EPSILON
            chosen[ok, index] = option
            found |= ok
            if found.all():
                break
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
                Loop(dim, int(factors[space.dims.index(dim)]), 0, spatial=True)
                for dim in reversed(order)
                if factors[space.dims.index(dim)] > 1
            )
            nest = SimpleNamespace(nest=Nest(loops, 1, space.view))
            values[row], _ = spatial_compaction(nest, 0, level.compaction_leaders, space.models)
        result[:, index] = values[inverse.ravel()]
    return result


def _worst_occupancy(space: _Space, tensor: _Tensor, extents: list[np.ndarray]) -> np.ndarray:
    """Worst-case nonzeros of each tile (the density model's maximum)."""
    stacked = np.stack([np.asarray(e, dtype=np.int64) for e in extents], axis=1)
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    model = space.models[tensor.name]
    worst = np.array([model.occupancy(tuple(int(x) for x in row)).max for row in unique])
    return worst[inverse.ravel()].astype(float)


def _level_keeps(space: _Space) -> list[list[frozenset[str]]]:
    """Per level, the keep choices: the outermost level keeps everything (the backing
    store); elsewhere the constraints' keep and bypass lists, the other tensors free."""
    per_level = []
    for index, level in enumerate(space.levels):
        if index == 0:
            per_level.append([frozenset(space.names)])
            continue
        rules = space.constraints.for_level(level.name)
        fixed_in = set(rules.keep or ())
        fixed_out = set(rules.bypass or ()) | {
            t.name for t in space.tensors if not _can_store(space, index, t)
        }
        free = [t for t in space.names if t not in fixed_in | fixed_out]
        choices = []
        for bits in itertools.product((True, False), repeat=len(free)):
            choices.append(
                frozenset(fixed_in | {t for t, on in zip(free, bits, strict=True) if on})
            )
        per_level.append(choices)
    return per_level


def _can_store(space: _Space, level: int, tensor: _Tensor) -> bool:
    """Whether the level's energy table prices what keeping ``tensor`` costs (reads and
    fills, and updates of a read-write tensor): the model refuses a level that holds data
    without them, so the mapper keeps nothing there unless the constraints say so."""
    energy = space.problem.architecture.levels[level].energy.resolved
    needed = ["random_read", "random_fill"] + (["random_update"] if tensor.read_write else [])
    return all(energy[action] is not None for action in needed)


def _keep_options(space: _Space) -> list[tuple[frozenset[str], ...]] | None:
    """Every keep/bypass combination the engine accepts for compressed tensors (see
    :func:`_chain_ok`), or None when there are more than ``MAX_KEEP_COMBINATIONS`` (they
    are then searched, :func:`_searched_keeps`)."""
    per_level = _level_keeps(space)
    if math.prod(len(choices) for choices in per_level) > MAX_KEEP_COMBINATIONS:
        return None
    combos = [tuple(combo) for combo in itertools.product(*per_level)]
    return [combo for combo in combos if _chain_ok(space, combo)]


def _searched_keeps(space: _Space, candidates: _Candidates, estimate) -> list[tuple]:
    """Keep/bypass combinations worth pre-scoring when there are too many to try: coordinate
    descent over the levels from the fewest kept (each level's choices tried with the
    others held, scored by ``estimate(keep)``, the best pre-score of a sample of the
    candidates), keeping the ``SEARCHED_KEEPS`` best combinations met."""
    per_level = _level_keeps(space)
    current = tuple(min(choices, key=len) for choices in per_level)
    if not _chain_ok(space, current):
        current = next(
            (combo for combo in itertools.product(*per_level) if _chain_ok(space, combo)), None
        )
    if current is None:
        return []
    scores: dict[tuple, float] = {current: estimate(current)}
    for _ in range(DESCENT_SWEEPS):
        for level in range(1, len(per_level)):
            for choice in per_level[level]:
                combo = (*current[:level], choice, *current[level + 1 :])
                if combo not in scores and _chain_ok(space, combo):
                    scores[combo] = estimate(combo)
            current = min(
                (
                    combo
                    for combo in scores
                    if combo[:level] + combo[level + 1 :] == current[:level] + current[level + 1 :]
                ),
                key=lambda combo: scores[combo],
            )
    ranked = sorted((score, index, combo) for index, (combo, score) in enumerate(scores.items()))
    chosen = [combo for score, _, combo in ranked if np.isfinite(score)][:SEARCHED_KEEPS]
    space.notes.append(
        f"{math.prod(len(c) for c in per_level)} keep/bypass combinations: {len(scores)} "
        f"tried by coordinate descent on {len(candidates)} sampled candidates, the best "
        f"{len(chosen)} pre-scored"
    )
    return chosen


def _chain_ok(space: _Space, keep: tuple[frozenset[str], ...]) -> bool:
    """Whether every compressed tensor moves between its keepers as the engine allows
    (:func:`sparsim.analysis.sparse.compression_chain_error`, Timeloop's rules)."""
    levels = space.problem.architecture.levels
    for tensor in space.tensors:
        keepers = [i for i in range(len(space.levels)) if tensor.name in keep[i]]
        compressed = {k: (tensor.name, k) in space.formats for k in keepers}
        ranks = {k: space.formats.get((tensor.name, k), 0) for k in keepers}
        if compression_chain_error(
            tensor.name, keepers, compressed, ranks, levels, tensor.read_write
        ):
            return False
    return True


def _capacity_ok(space: _Space, candidates: _Candidates, keep) -> tuple[np.ndarray, str | None]:
    """Candidates whose tiles fit every level (worst-case occupancy), and the level that
    rejects the most of them."""
    ok = np.ones(len(candidates), dtype=bool)
    worst_level, worst_count = None, 0
    for level, needed in _words_needed(space, candidates.inner, keep, frozenset(space.dims)):
        fits = needed <= level.capacity + EPSILON
        if (~fits & ok).sum() > worst_count:
            worst_level, worst_count = level.name, int((~fits & ok).sum())
        ok &= fits
    return ok, worst_level


def _ranks_ok(space: _Space, candidates: _Candidates, keep) -> np.ndarray:
    """Candidates whose every compressed tile has a format rank per non-trivial loop
    (Timeloop rejects a tile that needs more ranks than its format has; formats with
    flattening rules let a rank take several loops and are left to the full model)."""
    ok = np.ones(len(candidates), dtype=bool)
    loops = None  # non-trivial loops per dimension at a level and inside
    for index in reversed(range(len(space.levels))):
        formats = space.levels[index].format_ranks
        if loops is None and not formats:
            continue
        if loops is None:
            nontrivial = (candidates.temporal[:, index:] > 1) + (candidates.spatial[:, index:] > 1)
            loops = nontrivial.sum(axis=1)
        else:
            loops = loops + (candidates.temporal[:, index] > 1) + (candidates.spatial[:, index] > 1)
        for name, ranks in formats.items():
            if name in keep[index]:
                ok &= loops[:, space.tensor(name).relevant].sum(axis=1) <= ranks
    return ok


# --------------------------------------------------------------------------------------
# Pre-score: the dense nest analysis over all candidates at once


def _order_classes(space: _Space, level: int) -> list[str]:
    """The temporal loop orders (innermost first) worth pre-scoring at a level.

    A tensor's fills below a level depend on the leading loops above it that do not index
    it (its tile stays put while they run) and, when the innermost loop indexes it, on how
    far that loop slides its tile. So per tensor: its irrelevant dimensions innermost
    ("stationary"; those irrelevant to more tensors first); and per dimension that slides a
    window (a term of a rank with several terms), that dimension innermost before each
    stationary order in which it is irrelevant. Completed by the constraint's permutation.
    The innermost level's order changes no refetch: one order."""
    rule = space.constraints.for_level(space.levels[level].name).temporal_permutation
    rule = rule or Permutation()
    if level == len(space.levels) - 1:
        return [rule.complete(space.dims)]
    ignored_by = {
        d: sum(not t.relevant[i] for t in space.tensors) for i, d in enumerate(space.dims)
    }
    stationary = []
    for tensor in space.tensors:
        irrelevant = [d for i, d in enumerate(space.dims) if not tensor.relevant[i]]
        irrelevant.sort(key=lambda d: -ignored_by[d])
        relevant = [d for i, d in enumerate(space.dims) if tensor.relevant[i]]
        stationary.append((tensor, irrelevant + relevant))
    sliding = [
        space.dims[d]
        for tensor in space.tensors
        for rank in tensor.ranks
        if len(rank) > 1
        for d, _ in rank
    ]
    orders = [order for _, order in stationary]
    for dim in dict.fromkeys(sliding):
        for tensor, order in stationary:
            if not tensor.relevant[space.dims.index(dim)]:
                orders.append([dim] + [d for d in order if d != dim])
    return list(dict.fromkeys(rule.complete(order) for order in orders))


class _PreScore:
    """The dense nest analysis over all candidates at once, for one keep combination, as a
    function of the loop-order class chosen per candidate and level.

    A tile's fills follow the engine's counting (:func:`sparsim.analysis.dense.visits`):
    the whole tile once per iteration of the loops above it, except (a) while the leading
    loops above (innermost first, across levels, bound-1 loops skipped) do not index the
    tensor, the tile stays put (their product divides the fills), and (b) a tile that can
    slide (a rank of several terms) fetches only what is new when a move repeats the
    innermost loop's step (:meth:`_walked_fills`)."""

    def __init__(self, space, candidates: _Candidates, keep, computes, weights, classes):
        n, count = len(space.levels), len(candidates)
        temporal, spatial = candidates.temporal, candidates.spatial
        self.space, self.temporal, self.spatial = space, temporal, spatial
        self.candidates, self.inner = candidates, candidates.inner
        self.keep, self.computes, self.weights, self.classes = keep, computes, weights, classes
        self.outer_temporal = np.ones((count, n + 1))
        self.outer_temporal[:, 1:] = np.cumprod(temporal.prod(axis=2, dtype=float), axis=1)
        self.instances = np.ones((count, n + 1))  # [:, l]: used instances of level l
        self.instances[:, 1:] = np.cumprod(spatial.prod(axis=2, dtype=float), axis=1)
        self.busy_cycles = computes["busy"] / (
            self.instances[:, n] * candidates.compaction.prod(axis=1)
        )
        self.nonunit = temporal > 1
        self.varies = self.nonunit.any(axis=(0, 2))  # levels where some loop order matters
        self.tables: dict = {}
        self.fills: dict[tuple, np.ndarray] = {}
        self.entries = []  # per tensor: its keepers innermost first
        sizes = np.array([space.sizes[d] for d in space.dims], dtype=float)
        for tensor in space.tensors:
            kept = [index for index in range(n) if tensor.name in keep[index]]
            rows = []
            for position in reversed(range(len(kept))):
                level = kept[position]
                child = kept[position + 1] if position + 1 < len(kept) else n
                scatter = np.ones(count)
                for between in range(level, child):
                    scatter = scatter * self._distinct(tensor, between)
                partition = None
                if tensor.read_write:
                    share = sizes / spatial[:, :level].prod(axis=1, dtype=float)
                    partition = tensor.size(np.maximum(share, 1.0))
                info = space.levels[level]
                rho = space.models[tensor.name].density if tensor.name in info.compressed else 1.0
                tile = tensor.size(self.inner(level)) if position > 0 else None
                rule = space.constraints.for_level(info.name)
                rows.append(
                    (level, scatter, partition, rho, tile, tensor.name in rule.no_temporal_reuse)
                )
            self.entries.append((tensor, rows))

    def _distinct(self, tensor: _Tensor, level: int) -> np.ndarray:
        """Distinct tiles of ``tensor`` among a level's spatial children (one read feeds
        the children sharing one: multicast), as the engine counts them."""
        spatial = self.spatial[:, level]
        rule = self.space.constraints.for_level(self.space.levels[level].name)
        if tensor.name in rule.no_multicast:
            return spatial.prod(axis=1, dtype=float)
        relevant = spatial[:, tensor.relevant].prod(axis=1, dtype=float)
        if not tensor.sliding:
            return relevant
        # Where no rank moves with two loops, every child's tile sits elsewhere.
        shared = np.zeros(len(spatial), dtype=bool)
        for rank in tensor.ranks:
            if len(rank) > 1:
                shared |= (spatial[:, [d for d, _ in rank]] > 1).sum(axis=1) > 1
        if not shared.any():
            return relevant
        columns = np.flatnonzero(tensor.relevant)
        rows = np.flatnonzero(shared)
        keys = np.hstack([spatial[rows][:, columns], self.inner(level + 1)[rows][:, columns]])
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        shape = self.space.view.tensors[tensor.name]
        values = np.empty(len(unique))
        memo = self.space.cache.setdefault("distinct", {})
        for row, key in enumerate(unique):
            remembered = memo.get((tensor.name, key.tobytes()))
            if remembered is not None:
                values[row] = remembered
                continue
            loops = [
                Loop(
                    self.space.dims[d], int(key[i]), level, True, stride=int(key[len(columns) + i])
                )
                for i, d in enumerate(columns)
                if key[i] > 1
            ]
            values[row] = memo[tensor.name, key.tobytes()] = distinct_positions(shape, loops)
        relevant[rows] = values[inverse.ravel()]
        return relevant

    def _table(self, level: int) -> dict:
        """Per order class of a level, stacked over classes (classes x tensors x
        candidates): the product of the leading loops that do not index each tensor, and
        whether they are all the level's non-unit loops."""
        if level not in self.tables:
            nonunit = self.nonunit[:, level]
            bounds = self.temporal[:, level]
            count = len(bounds)
            runs, covers = [], []
            for order in self.classes[level]:
                columns = [self.space.dims.index(d) for d in order]
                run_t, cover_t = [], []
                for tensor in self.space.tensors:
                    run = np.ones(count)
                    active = np.ones(count, dtype=bool)
                    for d in columns:
                        if tensor.relevant[d]:
                            active &= ~nonunit[:, d]
                        else:
                            run = np.where(active, run * bounds[:, d], run)
                    run_t.append(run)
                    cover_t.append(active)
                runs.append(run_t)
                covers.append(cover_t)
            self.tables[level] = {"run": np.array(runs), "cover": np.array(covers)}
        return self.tables[level]

    def _fills(self, tensor_index: int, tensor: _Tensor, level: int, tile, choice) -> np.ndarray:
        """Fills of one instance's tile of ``tensor`` at ``level`` over the run. Only the
        orders above the level matter: fills are remembered by them, as a search varying
        one level's order asks again for the tiles above it."""
        key = (tensor_index, level, choice[:, :level].tobytes())
        if key not in self.fills:
            if len(self.fills) >= FILLS_REMEMBERED:
                self.fills.clear()
            if tensor.sliding:
                self.fills[key] = self._walked_fills(tensor, level, tile, choice)
            else:
                self.fills[key] = self._run_fills(tensor_index, level, tile, choice)
        return self.fills[key]

    def _run_fills(self, tensor_index: int, level: int, tile, choice) -> np.ndarray:
        """Fills of a tile that cannot slide: the whole tile at every iteration of the
        loops above but the leading ones that do not index it (it stays put meanwhile)."""
        count = len(choice)
        rows = np.arange(count)
        run = np.ones(count)
        active = np.ones(count, dtype=bool)
        for above in reversed(range(level)):
            if not self.varies[above]:
                continue  # no loop above 1: nothing moves the tile here
            table = self._table(above)
            pick = choice[:, above]
            run = np.where(active, run * table["run"][pick, tensor_index, rows], run)
            active &= table["cover"][pick, tensor_index, rows]
        return tile * self.outer_temporal[:, level] / run

    def _walked_fills(self, tensor: _Tensor, level: int, tile, choice) -> np.ndarray:
        """Fills of a tile that may slide, walking the loops above it innermost first as
        the engine's extrapolation does: the first visit fetches the tile; each move of the
        innermost loop (step ``s1``) the tile minus its overlap with the tile ``s1`` back;
        each move of an outer loop ``j`` (from iteration 1 of every inner loop to 0) goes
        ``sj - s1 - ... - s(j-1)``: an overlap fetch when that equals ``s1``, else the whole
        tile."""
        count = len(choice)
        rows = np.arange(count)
        ranks = len(tensor.ranks)
        coefficients = np.zeros((len(self.space.dims), ranks))
        for r, rank in enumerate(tensor.ranks):
            for d, c in rank:
                coefficients[d, r] += c
        extents = np.stack(tensor.extents(self.inner(level)), axis=1).astype(float)
        total = self.outer_temporal[:, level]
        fills = tile.astype(float)
        walked = np.zeros((count, ranks))
        first_step = np.zeros((count, ranks))
        first_fetch = tile.astype(float)
        started = np.zeros(count, dtype=bool)
        inside = np.ones(count)
        for above in reversed(range(level)):
            if not self.varies[above]:
                continue
            picks = choice[:, above]
            uniform = bool((picks == picks[0]).all())
            orders = self._orders(above)[picks[:1] if uniform else picks]  # innermost first
            box = self.inner(above + 1)
            for position in range(orders.shape[1]):
                if uniform:  # one order for all: plain columns, no gathers
                    dim = int(orders[0, position])
                    bound = self.temporal[:, above, dim].astype(float)
                    stride = box[:, dim] * self.spatial[:, above, dim]
                else:
                    dim = orders[:, position]
                    bound = self.temporal[rows, above, dim].astype(float)
                    stride = box[rows, dim] * self.spatial[rows, above, dim]
                live = bound > 1
                if not live.any():
                    continue
                step = (
                    np.multiply.outer(stride, coefficients[dim])
                    if uniform
                    else (coefficients[dim] * stride[:, None])
                )
                inside_now = inside * bound
                first = live & ~started
                if first.any():
                    first_step = np.where(first[:, None], step, first_step)
                    overlap = np.prod(np.maximum(extents - np.abs(first_step), 0.0), axis=1)
                    first_fetch = np.where(first, tile - overlap, first_fetch)
                slides = np.all(step - walked == first_step, axis=1)
                fetch = np.where(first | slides, first_fetch, tile)
                fills = fills + np.where(live, (bound - 1) * total / inside_now * fetch, 0.0)
                walked = np.where(live[:, None], walked + step, walked)
                inside = np.where(live, inside_now, inside)
                started |= live
        return fills

    def _orders(self, level: int) -> np.ndarray:
        """The level's order classes as dimension indices (classes x dims)."""
        key = ("orders", level)
        if key not in self.tables:
            self.tables[key] = np.array(
                [[self.space.dims.index(d) for d in order] for order in self.classes[level]]
            )
        return self.tables[key]

    def __call__(self, choice: np.ndarray) -> np.ndarray:
        """The objective estimate per candidate with loop-order class ``choice[:, level]``."""
        space = self.space
        n = len(space.levels)
        count = len(choice)
        energy = np.full(count, self.computes["energy"])
        read_words = np.zeros((count, n))
        write_words = np.zeros((count, n))
        for tensor_index, (tensor, rows) in enumerate(self.entries):
            child_fills = self.outer_temporal[:, n]
            for level, scatter, partition, rho, tile, no_reuse in rows:
                if tile is None:
                    fills = 0.0
                elif no_reuse:
                    fills = tile * self.outer_temporal[:, level]
                else:
                    fills = self._fills(tensor_index, tensor, level, tile, choice)
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


def _best_orders(prescore: _PreScore, varying: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(estimate, order class per level) for each candidate: every combination of the
    levels' classes when they are few; else, on the candidates that rank best with the
    first class everywhere, the best class used at every level, then coordinate descent
    per candidate over the levels (each level's classes tried with the others held at
    their best so far)."""
    classes = prescore.classes
    count, n = len(prescore.temporal), len(classes)
    choice = np.zeros((count, n), dtype=np.int64)
    sizes = [len(classes[level]) for level in varying]
    if math.prod(sizes) <= EXHAUSTIVE_ORDERS:
        best = np.full(count, np.inf)
        for combo in itertools.product(*(range(k) for k in sizes)):
            trial = np.zeros((count, n), dtype=np.int64)
            trial[:, varying] = combo
            estimate = prescore(trial)
            better = estimate < best
            best = np.where(better, estimate, best)
            choice[better] = trial[better]
        return best, choice
    best = prescore(choice)  # the first class everywhere: a first ranking of all
    rows = np.argsort(best, kind="stable")[:ORDER_SEARCH_ROWS]
    first = _Subset(prescore, rows)
    sub_best, sub_choice = best[rows], choice[rows]
    for option in range(1, max(sizes)):  # the same class at every level
        trial = np.zeros((len(rows), n), dtype=np.int64)
        for level in varying:
            trial[:, level] = min(option, len(classes[level]) - 1)
        estimate = first(trial)
        better = estimate < sub_best
        sub_best = np.where(better, estimate, sub_best)
        sub_choice[better] = trial[better]
    best[rows], choice[rows] = sub_best, sub_choice
    rows = np.argsort(best, kind="stable")[:ORDER_SEARCH_ROWS]
    sub = _Subset(prescore, rows)
    sub_choice, sub_best = choice[rows], best[rows]
    for _ in range(DESCENT_SWEEPS):
        for level in varying:
            for option in range(len(classes[level])):
                trial = sub_choice.copy()
                trial[:, level] = option
                estimate = sub(trial)
                better = estimate < sub_best
                sub_best = np.where(better, estimate, sub_best)
                sub_choice[better, level] = option
    best[rows], choice[rows] = sub_best, sub_choice
    return best, choice


class _Subset(_PreScore):
    """A pre-score restricted to some candidates (its own order tables, built on demand)."""

    def __init__(self, prescore: _PreScore, rows: np.ndarray):
        self.__dict__.update(prescore.__dict__)
        self.candidates = prescore.candidates.take(rows)
        self.temporal, self.spatial = self.candidates.temporal, self.candidates.spatial
        self.inner = self.candidates.inner
        self.outer_temporal, self.instances = (
            prescore.outer_temporal[rows],
            prescore.instances[rows],
        )
        self.busy_cycles, self.nonunit = prescore.busy_cycles[rows], prescore.nonunit[rows]
        self.tables, self.fills = {}, {}
        self.entries = [
            (
                tensor,
                [
                    (
                        level,
                        scatter[rows],
                        None if part is None else part[rows],
                        rho,
                        None if tile is None else tile[rows],
                        no_reuse,
                    )
                    for level, scatter, part, rho, tile, no_reuse in entries
                ],
            )
            for tensor, entries in prescore.entries
        ]


def _computes(problem: Problem, keep: tuple[frozenset[str], ...]) -> dict[str, float]:
    """Mapping-independent compute counts and energy, classified by the engine itself on
    the trivial mapping (every loop at the outermost level) with the candidates' keep
    choices."""
    outer_dims = view(problem.workload.problem())
    # The trivial tile spans every dimension of each tensor at the outermost level: formats
    # get outer ranks more where they need them (counts depend on which formats exist, not
    # on their ranks).
    padded = []
    for opt in problem.sparse_optimizations:
        formats = {}
        for tensor, ranks in opt.formats.items():
            needed = sum(1 for d in outer_dims.relevant(tensor) if outer_dims.dims[d] > 1)
            formats[tensor] = [ranks[0]] * max(0, needed - len(ranks)) + ranks
        padded.append(opt.model_copy(update={"formats": formats}))
    trivial = problem.model_copy(update={"sparse_optimizations": padded}).with_mapping(
        _trivial_mapping(problem, keep)
    )
    computes = analyse_sparse(trivial, analyse_dense(trivial, build_nest(trivial))).computes
    energy = problem.architecture.compute.energy
    return {
        "busy": computes.actual + computes.gated,
        "energy": computes.actual * energy.random + computes.gated * (energy.gated or 0.0),
    }


# --------------------------------------------------------------------------------------
# The search


def _mapping(space: _Space, temporal, spatial, keep, choice, layout, classes) -> Mapping:
    levels = []
    dims = space.dims
    for index, level in enumerate(space.levels):
        rules = space.constraints.for_level(level.name)
        t = {d: int(temporal[index, i]) for i, d in enumerate(dims) if temporal[index, i] > 1}
        s = {d: int(spatial[index, i]) for i, d in enumerate(dims) if spatial[index, i] > 1}
        fields = {
            "level": level.name,
            "temporal": t,
            "temporal_permutation": classes[index][int(choice[index])],
            "keep": [x for x in space.names if x in keep[index]],
        }
        if s:
            order, split = _mesh_layouts(space, index)[int(layout[index])]
            fields["spatial"] = s
            fields["spatial_permutation"] = order
            if split is not None:
                fields["split"] = split
        for switch in ("no_link_transfer", "no_multicast", "no_temporal_reuse"):
            if getattr(rules, switch):
                fields[switch] = list(getattr(rules, switch))
        levels.append(LevelMapping.model_construct(**fields))
    return Mapping.model_construct(levels=levels)


_CACHE: OrderedDict[str, tuple] = OrderedDict()


def _cache_key(problem: Problem, constraints: MapspaceConstraints, settings: tuple) -> str:
    instance = problem.workload.problem()
    return "|".join(
        [
            repr(
                (
                    sorted(instance.instance.items()),
                    sorted(instance.coefficients.items()),
                    instance.count,
                    settings,
                )
            ),
            instance.shape.model_dump_json(),
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
    """The best mapping of ``spec``'s workload (any problem shape) on its architecture (any
    mapping in ``spec`` is ignored) under ``constraints`` (in the shape's dimension and
    tensor names), for ``objective`` (``edp``, ``energy``, ``cycles`` or weights such as
    ``energy=1,cycles=2``), with the ``top_k`` runners-up.

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
    shape = problem.workload.problem().shape
    constraints.check(problem.architecture.level_names, shape.dimensions, shape.tensor_names)
    weights = parse_objective(objective)
    key = _cache_key(problem, constraints, (weights, top_k, max_evaluations, time_budget))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        # Objectives with the same weights (edp and edap) share a search, not a label.
        return replace(_renamed(_CACHE[key], problem, started), objective=objective)
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
    """A cached search for another workload of the same problem: its own name on the specs."""

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
    space = _space(problem, constraints)
    name = problem.workload.name
    pruned = {"sampled out": 0, "spatial fan-out": 0, "capacity": 0}
    keeps = _keep_options(space)
    if keeps is not None and not keeps:
        raise NoValidMappingError(
            f"no keep/bypass choice under {constraints.source} moves every compressed tensor "
            "as the model allows (decompression where it arrives compressed into an "
            "uncompressed level, no compression on chip)",
            "map",
        )
    temporal, spatial = _joined(space, pruned)
    combinations = len(keeps) if keeps is not None else 1
    pruned = {reason: count * combinations for reason, count in pruned.items()}
    if not len(temporal):
        if any(space.rejected_by.values()):
            level = max(space.rejected_by, key=space.rejected_by.get)
            raise NoValidMappingError(
                f"no mapping of {name} fits the capacity of level {level} "
                f"under {constraints.source}",
                "map",
            )
        raise NoValidMappingError(
            f"no mapping of {name} fits the fan-outs of {problem.architecture.name} "
            f"under {constraints.source}",
            "map",
        )

    # Exact validity: fan-out after compaction, mesh axes, minimum utilisation.
    n = len(space.levels)
    classes = [_order_classes(space, level) for level in range(n)]
    compaction = _compaction(space, spatial)
    used = spatial.prod(axis=2, dtype=float) * compaction
    fanouts = np.array([level.fanout for level in space.levels])
    ok = (used <= fanouts + EPSILON).all(axis=1)
    pruned["spatial fan-out"] += int((~ok).sum()) * combinations
    on_mesh, layout = _choose_layouts(space, spatial)
    pruned["mesh fan-out (X or Y)"] = int((ok & ~on_mesh).sum()) * combinations
    ok &= on_mesh
    if constraints.min_utilization:
        macs = problem.architecture.compute.instances
        util = spatial.prod(axis=(1, 2), dtype=float) * compaction.prod(axis=1) / macs
        low = ok & (util < constraints.min_utilization - EPSILON)
        pruned["utilisation"] = int(low.sum()) * combinations
        ok &= ~low
    if not ok.any():
        worst = int(np.argmax((used > fanouts + EPSILON).sum(axis=0)))
        where = f"the fan-out of level {space.levels[worst].name} ({space.levels[worst].fanout})"
        if (used <= fanouts + EPSILON).all(axis=1).any():
            where = "the mesh (X x Y) of every level"
        raise NoValidMappingError(
            f"no mapping of {name} fits {where} under {constraints.source}", "map"
        )
    considered = sum(pruned.values())
    valid = np.flatnonzero(ok)
    candidates = _Candidates(temporal[valid], spatial[valid], compaction[valid], layout[valid])
    del temporal, spatial

    pool = []  # (estimate, keep index, candidate index, order choice per level)
    computes_of: dict[tuple, dict[str, float]] = {}

    def computes(keep: tuple) -> dict[str, float]:
        if keep not in computes_of:
            computes_of[keep] = _computes(problem, keep)
        return computes_of[keep]

    if keeps is None:
        rng = np.random.default_rng(0)
        sample = candidates.take(
            np.sort(rng.choice(len(candidates), min(len(candidates), KEEP_SAMPLE), replace=False))
        )

        def estimate(keep: tuple) -> float:
            fits = _capacity_ok(space, sample, keep)[0] & _ranks_ok(space, sample, keep)
            if not fits.any():
                return math.inf
            rows = sample.take(np.flatnonzero(fits))
            prescore = _PreScore(space, rows, keep, computes(keep), weights, classes)
            return float(prescore(np.zeros((len(rows), n), dtype=np.int64)).min())

        keeps = _searched_keeps(space, sample, estimate)
        if not keeps:
            raise NoValidMappingError(
                f"no keep/bypass choice under {constraints.source} moves every compressed "
                "tensor as the model allows",
                "map",
            )
    prescored = 0
    capacity_pruned, capacity_level, rank_pruned = 0, None, 0
    varying = [level for level in range(n - 1) if len(classes[level]) > 1]
    for keep_index, keep in enumerate(keeps):
        fits, level_name = _capacity_ok(space, candidates, keep)
        capacity_pruned += int((~fits).sum())
        capacity_level = capacity_level or level_name
        ranked = _ranks_ok(space, candidates, keep)
        rank_pruned += int((fits & ~ranked).sum())
        fits &= ranked
        if not fits.any():
            continue
        index = np.flatnonzero(fits)
        chosen = candidates if len(index) == len(candidates) else candidates.take(index)
        prescore = _PreScore(space, chosen, keep, computes(keep), weights, classes)
        best, best_choice = _best_orders(prescore, varying)
        prescored += len(index)
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
            f"no mapping of {name} {reason} under {constraints.source}", "map"
        )
    pool.sort(key=lambda item: (item[0], item[1], item[2]))
    pruned["pre-score rank"] = prescored - len(pool)

    # Full sparse model on the best-ranked, with a lower bound to skip hopeless ones.
    macs_used = candidates.spatial.prod(axis=(1, 2), dtype=float)
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
        computes = computes_of[keeps[keep_index]]
        cycles_bound = math.ceil(computes["busy"] / macs_used[row] - EPSILON)
        bound = float(_score(computes["energy"], cycles_bound, weights))
        if len(found) >= top_k and bound >= found[top_k - 1][0]:
            bounded += 1
            continue
        mapping = _mapping(
            space,
            candidates.temporal[row],
            candidates.spatial[row],
            keeps[keep_index],
            choice,
            candidates.layout[row],
            classes,
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
            f"no mapping of {name} passes the full model's checks (capacity with "
            f"metadata, fan-out per mesh axis) among the {evaluated} best-ranked under "
            f"{constraints.source}",
            "map",
        )
    best_score, best_rank, best_spec, best_result = found[0]
    mapping = validate(Mapping, best_spec.mapping.model_dump(mode="json"), "map")
    spec = check_references(best_spec.model_copy(update={"mapping": mapping}), "mapped spec")
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


def padded_problem(problem: Problem, constraints: MapspaceConstraints | None) -> Problem:
    """The problem with each dimension padded up to a multiple of the constraints' exact
    factors (those not larger than the dimension), so that a fixed-size array can map it;
    the padding is real work, as in :func:`sparsim.designs.build`. A GEMM stays a GEMM;
    any other workload becomes its problem with the padded sizes."""
    constraints = constraints or NO_CONSTRAINTS
    workload = problem.workload
    instance = workload.problem()
    padded = {}
    for dim, size in instance.instance.items():
        grain = 1
        for rules in constraints.levels.values():
            for kind in (rules.temporal, rules.spatial):
                exact = kind.exact.get(dim)
                if exact and exact <= size:
                    grain *= exact
        padded[dim] = math.ceil(size / grain) * grain
    if padded == instance.instance:
        return problem
    if isinstance(workload, Gemm):
        name = f"{workload.name} (padded to {shape_name(**padded)})"
        new: Workload = Gemm(name=name, count=workload.count, **padded)
    else:
        sizes = " ".join(f"{d}{v}" for d, v in padded.items())
        new = ProblemInstance(
            name=f"{instance.name} (padded to {sizes})",
            shape=instance.shape,
            instance=padded,
            coefficients=instance.coefficients,
            count=instance.count,
        )
    return problem.model_copy(update={"workload": new})
