"""``build(design, workload, densities) -> Spec``: a design ready to evaluate, on its own
hardware or on a resized copy of it (:func:`sparsim.designs.memory.resize`)."""

from __future__ import annotations

import math

from sparsim.analysis.density import density_model
from sparsim.analysis.formats import is_compressed
from sparsim.cost.result import Result
from sparsim.designs.catalog import Design, get_design
from sparsim.designs.heuristic import (
    ACCUMULATOR,
    BACKING_STORE,
    CANDIDATES_EVALUATED,
    CYCLE_TOLERANCE,
    PE_REGISTER,
    SHARED_BUFFER,
    Candidate,
    array_geometry,
    dstc_inners,
    ranked_candidates,
    smem_tile_limit,
    tensor_core_inners,
)
from sparsim.designs.mapper import Problem, map_spec, padded_problem
from sparsim.designs.schemes import Scheme, parse_densities, scheme_for, sparse_optimizations
from sparsim.errors import CapacityError, NoValidMappingError, SpecError
from sparsim.evaluate import evaluate
from sparsim.spec.architecture import Architecture
from sparsim.spec.constraints import NO_CONSTRAINTS, MapspaceConstraints
from sparsim.spec.mapping import Mapping
from sparsim.spec.model import Spec, check_measured_shape
from sparsim.spec.problem import builtin_shape
from sparsim.spec.validation import validate
from sparsim.spec.workload import Conv, Gemm, shape_name


def _spec(
    design: Design,
    arch: Architecture,
    workload: Gemm | Conv,
    scheme: Scheme,
    optimizations: list,
    candidate: Candidate,
) -> Spec:
    """A candidate's spec, built from parts already validated: the heuristic tries many and
    validates only the one it keeps (:func:`_validated`)."""
    workload = gemm = workload.as_gemm()  # a tensor-core dataflow runs convolutions as GEMMs
    if candidate.dims != gemm.dims:
        padded = shape_name(**candidate.dims)
        workload = Gemm(
            name=f"{gemm.name} (padded to {padded})", count=gemm.count, **candidate.dims
        )
    mapping = Mapping.model_construct(
        levels=[
            level.model_copy(update={"level": design.level_name(level.level)})
            for level in candidate.mapping.levels
        ]
    )
    return Spec.model_construct(
        workload=workload,
        architecture=arch,
        densities=scheme.densities,
        sparse_optimizations=optimizations,
        # Given, not defaulted: pydantic inspects a default factory's signature on every
        # model_construct (~1 ms a candidate).
        compute_optimizations=[],
        mapping=mapping,
    )


def _validated(spec: Spec, design: Design) -> Spec:
    return validate(Spec, spec.model_dump(mode="json"), f"design {design.name}")


def _candidates(design: Design, arch: Architecture, gemm: Gemm, scheme: Scheme) -> list[Candidate]:
    smem = arch.level(design.level_name(SHARED_BUFFER))
    dram = arch.level(design.level_name(BACKING_STORE))
    word_pj = {
        BACKING_STORE: dram.energy.of("random_read", dram.name) / dram.block_size,
        SHARED_BUFFER: smem.energy.of("random_read", smem.name) / smem.block_size,
        "MAC": arch.compute.energy.random,
    }
    density_a, density_b = scheme.weights.density, scheme.activations.density
    rf_words = arch.level(design.level_name(ACCUMULATOR)).data_capacity or 0
    roles = {role: arch.level_names.index(name) for role, name in design.roles}
    geometry = array_geometry(arch, roles, design.dataflow)
    if design.dataflow == "output-stationary":
        inners = dstc_inners(
            gemm.dims,
            geometry,
            density_a,
            density_b,
            rf_words=rf_words,
            lrf_words=arch.level(design.level_name(PE_REGISTER)).data_capacity or 0,
        )
        limit = None
    else:
        n, m = scheme.pattern or (1, 1)
        # Compacted weights: the columns hold M/N times their count of K (2:4 -> K32 on 16).
        spatial_k = round(geometry.columns * m / n)
        accumulator = _constraints(design).for_level(design.level_name(ACCUMULATOR))
        spatial_k = min(spatial_k, accumulator.spatial.at_most.get("K", spatial_k))
        inners = tensor_core_inners(
            gemm.dims, geometry, spatial_k, k_granule=m if scheme.pattern else 1, rf_words=rf_words
        )
        shared = _constraints(design).for_level(smem.name).temporal.at_most
        capped = [shared[d] for d in ("M", "N") if d in shared]
        limit = smem_tile_limit(
            min(capped) if capped else None,
            design.architecture.level(smem.name).data_capacity or 0,
            smem.data_capacity or 0,
        )
    return ranked_candidates(inners, density_a, density_b, word_pj, smem.data_capacity or 0, limit)


def _constraints(design: Design) -> MapspaceConstraints:
    return design.constraints or NO_CONSTRAINTS


def build(
    design: str | Design,
    workload: Gemm | Conv,
    densities: dict | None = None,
    *,
    architecture: Architecture | None = None,
    objective: str | None = None,
) -> Spec:
    """A design (a built-in name or a design file's path) on ``workload`` with the densities
    it can exploit, mapped.

    A design whose dataflow has a mapping heuristic (:mod:`sparsim.designs.heuristic`: the
    fig15 tensor-core and output-stationary dataflows) is mapped by it, reproducing the
    artifact's mapping choices; any other design, or any design given an ``objective``
    (``edp``, ``energy``, ``cycles``), is mapped by :func:`sparsim.designs.mapper.map_spec`
    under the design's constraints, with dimensions padded to the constraints' fixed
    factors.

    ``architecture`` replaces the design's hardware by a variant with the same levels (for
    example :func:`sparsim.designs.memory.resize`'d buffers); the mapping follows its
    capacities and energies, so bigger buffers get bigger tiles.

    ``densities`` maps ``A`` (weights) and ``B`` (input activations) to a density model or
    its shorthand (``"2:4"``, ``0.82``, ``"uniform:0.3"``, a ``.npy`` path); see
    :mod:`sparsim.designs.schemes` for what each design makes of them.
    """
    return build_with_result(
        design, workload, densities, architecture=architecture, objective=objective
    )[0]


def build_with_result(
    design: str | Design,
    workload: Gemm | Conv,
    densities: dict | None = None,
    *,
    architecture: Architecture | None = None,
    objective: str | None = None,
) -> tuple[Spec, Result]:
    """:func:`build`, and the built spec's result, which mapping computed anyway (what
    :func:`sparsim.evaluate` gives for the spec): callers that evaluate what they build
    save an evaluation."""
    if not isinstance(workload, Gemm | Conv):
        raise SpecError(
            f"expected a Gemm or Conv (sparsim.Gemm(M=512, K=256, N=1024)), got "
            f"{type(workload).__name__}",
            "workload",
        )
    if architecture is not None and not isinstance(architecture, Architecture):
        raise SpecError(
            f"expected an Architecture or None, got {type(architecture).__name__}", "architecture"
        )
    design = get_design(design)
    gemm = workload.as_gemm()
    for tensor, density in parse_densities(densities).items():
        # Even where the design runs it as dense: a wrong tensor is a wrong input.
        check_measured_shape(tensor, density, gemm, density.measured or f"density {tensor}")
    if objective is not None or not design.has_heuristic:
        problem = design_problem(design, workload, densities, architecture=architecture)
        problem = padded_problem(problem, design.constraints)
        mapped = map_spec(problem, design.constraints, objective=objective or "edp")
        return mapped.spec, mapped.result
    return _heuristic(design, _hardware(design, architecture), workload, densities)


def _heuristic(
    design: Design, arch: Architecture, workload: Gemm | Conv, densities: dict | None
) -> tuple[Spec, Result]:
    gemm = workload.as_gemm()
    scheme = scheme_for(design, densities)
    optimizations = sparse_optimizations(design, scheme)
    over_shared_buffer = _shared_buffer_check(design, arch, scheme, optimizations)
    # Levels inside the shared buffer hold tiles the candidate's inner choice alone fixes:
    # once one of them overflows, every candidate with that inner choice does.
    shared_buffer = design.level_name(SHARED_BUFFER)
    outer_levels = {design.level_name(BACKING_STORE), shared_buffer}
    inners_over: set[int] = set()
    # The shared buffer's tiles are fixed by the inner choice, its own tile and what it
    # keeps, whatever the order of the DRAM loops: once they overflow it, they always do.
    shared_over: set[tuple] = set()
    best: tuple[Spec, Result] | None = None
    fitting = 0
    tiles_seen: set[str] = set()
    scans_tiles = design.dataflow == "output-stationary"
    for candidate in _candidates(design, arch, gemm, scheme):
        # Past the first few, only a new PE-array tile can change the cycles much: under
        # position skipping the array's utilisation follows the LRF tile, which the
        # traffic estimate that ranks the candidates does not see.
        tile = candidate.tile
        if fitting >= CANDIDATES_EVALUATED:
            if not scans_tiles:
                break  # only an output-stationary array looks further, for new tiles
            if tile in tiles_seen:
                continue
        shared_tiles = (id(candidate.inner), candidate.smem_tiles, candidate.smem_keep)
        if (
            id(candidate.inner) in inners_over
            or shared_tiles in shared_over
            or over_shared_buffer(candidate)
        ):
            continue  # the engine would raise CapacityError
        spec = _spec(design, arch, workload, scheme, optimizations, candidate)
        try:
            result = evaluate(spec)
        except CapacityError as error:  # over capacity once compressed sizes are known
            if error.level not in outer_levels:
                inners_over.add(id(candidate.inner))
            elif error.level == shared_buffer:
                shared_over.add(shared_tiles)
            continue
        tiles_seen.add(tile)
        if best is None or _better(result, best[1]):
            best = (spec, result)
        fitting += 1
    if best is None:
        raise NoValidMappingError(
            f"no mapping of {gemm.name} fits the buffers of {design.name}", "mapping"
        )
    return _validated(best[0], design), best[1]


def _shared_buffer_check(design: Design, arch: Architecture, scheme: Scheme, optimizations):
    """A test that a candidate's shared-buffer tiles cannot fit: the words its kept
    operands need even at their density model's fullest tile (the least the engine's
    capacity check asks of a compressed tensor; an uncompressed one needs its whole tile).
    Half the heuristic's candidates fail there, and the engine finds that only at the end
    of a full evaluation."""
    level = arch.level(design.level_name(SHARED_BUFFER))
    if level.data_capacity is None:
        return lambda candidate: False
    usable = level.data_capacity / level.multiple_buffering
    compressed = {
        tensor
        for optimization in optimizations
        if optimization.level == level.name
        for tensor, ranks in optimization.formats.items()
        if is_compressed(ranks)
    }
    models: dict[tuple, object] = {}

    def words(tensor: str, dims: dict[str, int], rows: int, cols: int) -> float:
        if tensor not in compressed:
            return rows * cols
        rows_dim, cols_dim = _gemm_axes(tensor)
        key = (tensor, dims[rows_dim], dims[cols_dim])
        if key not in models:
            models[key] = density_model(scheme.densities[tensor], (dims[rows_dim], dims[cols_dim]))
        return models[key].occupancy((rows, cols)).max

    def over(candidate: Candidate) -> bool:
        dims = candidate.dims
        tiles = {
            "A": (candidate.smem_tiles[0] * candidate.inner.m_inner, dims["K"]),
            "B": (candidate.smem_tiles[1] * candidate.inner.n_inner, dims["K"]),
        }
        needed = sum(words(t, dims, *tiles[t]) for t in candidate.smem_keep)
        return needed > usable + 1e-9

    return over


def _gemm_axes(tensor: str) -> tuple[str, ...]:
    """The dimensions of a GEMM tensor's ranks (``A`` -> ``("M", "K")``)."""
    space = builtin_shape("gemm").data_space(tensor)
    return tuple(dim for rank in space.projection for dim, _ in rank)


def design_problem(
    design: str | Design,
    workload: Gemm | Conv,
    densities: dict | None = None,
    *,
    architecture: Architecture | None = None,
) -> Problem:
    """A built-in design on ``workload`` as a problem for :func:`sparsim.designs.mapper.map_spec`
    (with ``design.constraints``): the densities it exploits and its sparse features; a
    convolution as its im2col GEMM unless the design runs convolutions natively, in which
    case a GEMM runs as its 1x1 convolution (the design's constraints name the
    convolution's dimensions)."""
    design = get_design(design)
    scheme = scheme_for(design, densities)
    if design.convolutions == "im2col":
        workload = workload.as_gemm()
    elif isinstance(workload, Gemm):
        workload = workload.as_conv()
    shape = workload.problem().shape
    return Problem(
        workload=workload,
        architecture=_hardware(design, architecture),
        densities=scheme.densities_for(shape),
        sparse_optimizations=sparse_optimizations(design, scheme, shape),
    )


def _hardware(design: Design, architecture: Architecture | None) -> Architecture:
    if architecture is None:
        return design.architecture
    expected = design.architecture.level_names
    if architecture.level_names != expected:
        raise SpecError(
            f"architecture {architecture.name!r} has levels {architecture.level_names}; "
            f"design {design.name} needs {expected}",
            "architecture",
        )
    return architecture


def _better(result: Result, best: Result) -> bool:
    """Fewer cycles first (as Timeloop's delay-then-energy), energy among near-equal ones."""
    if not math.isclose(result.cycles, best.cycles, rel_tol=CYCLE_TOLERANCE):
        return result.cycles < best.cycles
    return result.energy_pJ < best.energy_pJ
