"""A mapping heuristic for the built-in designs: a valid, good mapping for any GEMM.

It is not a mapspace search (that is :mod:`sparsim.designs.mapper`); it fixes what each design's dataflow fixes
and chooses the rest from a handful of candidates:

1. **Spatial factors are the hardware's.** The array's geometry is read from the design's
   architecture (:func:`array_geometry`): tensor cores spread M over the accumulator's PE
   rows (its mesh fan-out along Y to the PE registers) and K over its columns (along X,
   times the weights' compaction M/N for structured weights: 16 columns hold K32 of 2:4
   weights), and M over the subpartitions (accumulators per shared buffer); an
   output-stationary array spreads M x N over each PE register's MACs (Y x X) and over
   the subpartitions (as square a split of them as there is). On the MICRO'22 artifact's
   hardware: 16 x 16 PEs in each of 4 subpartitions.
2. **Dimensions that do not divide are padded, minimally.** A dimension of size ``s`` with
   a spatial (or register reuse) limit ``L`` is cut into the fewest chunks that fit,
   ``c = ceil(s / L)``, each as even as possible, ``f = ceil(s / c)`` (rounded up to the
   N:M block for the K of a structured design), and padded to ``c * f``. The padding is
   real work: the evaluated GEMM is the padded one (its algorithmic computes include it)
   and the spatial under-use of small dimensions (M = 1 uses 1 of 16 rows) shows in the
   utilisation.
3. **Reuse in the register files first.** Tensor cores keep a weight in each PE while up
   to RF words / 16 columns (N) of activations stream by (128 for the 2048-word
   accumulator RF: each of the 16 PE rows accumulates that many outputs); DSTC keeps the
   largest M x N output tile its RF holds, split between M and N so that the cheaper
   (sparser) operand is the one re-read.
4. **Outer tiles by memory traffic.** K stays inside the RF (no partial sums leave it, as
   the artifact's constraints demand); the shared memory tile and the DRAM loop order are
   chosen to minimise estimated DRAM and shared memory traffic, bypassing the shared
   memory for a tensor whose tiles do not fit. A cap the design's constraints put on the
   shared-memory temporal M and N factors (the artifact's tensor cores: 8) grows in
   proportion to a shared memory larger than the design's own (:func:`smem_tile_limit`)
   so that bigger buffers can hold bigger tiles; the capacity alone bounds smaller ones.
5. **Confirmed by the model.** Candidates are evaluated by the engine in the order of
   that estimate until a few fit (the estimate sizes tiles by mean density, the engine by
   worst-case occupancy); the fastest (then least energy) of those wins.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from typing import NamedTuple

from sparsim.errors import SparsimError
from sparsim.spec.mapping import LevelMapping, Mapping

CANDIDATES_EVALUATED = 8
# Mappings name levels by their role; build() puts the design's level names in.
BACKING_STORE, SHARED_BUFFER = "backing-store", "shared-buffer"
ACCUMULATOR, PE_REGISTER = "accumulator", "pe-register"
CYCLE_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Split:
    """A dimension cut into ``chunks`` pieces of ``factor``; padded size = product."""

    factor: int
    chunks: int


def split(size: int, limit: int, granule: int = 1) -> Split:
    """The fewest chunks of at most ``limit`` (a multiple of ``granule``), as even as possible."""
    limit = max(granule, limit // granule * granule)
    chunks = math.ceil(size / limit)
    factor = math.ceil(math.ceil(size / chunks) / granule) * granule
    return Split(factor, chunks)


@dataclass(frozen=True)
class ArrayGeometry:
    """The PE array as the dataflow uses it."""

    rows: int  # along the mesh's Y: M
    columns: int  # along X: K for tensor cores, N for output-stationary arrays
    subpartitions: tuple[int, int]  # (along M, along N) over the shared buffer's fan-out


def array_geometry(architecture, levels: dict[str, int], dataflow: str | None) -> ArrayGeometry:
    """The geometry of a design's array from its architecture; ``levels`` gives the index of
    the level playing each role."""
    shared, accumulator = levels[SHARED_BUFFER], levels[ACCUMULATOR]
    # Tensor cores spread from the accumulators to the PE registers, output-stationary
    # arrays from the PE registers to the MACs.
    spreading = levels[PE_REGISTER] if dataflow == "output-stationary" else accumulator
    fanout = []
    for axis in ("Y", "X"):
        count = architecture.mesh_fanout(spreading, axis)
        if count is None:
            name = architecture.levels[spreading].name
            raise SparsimError(
                f"the {dataflow} heuristic needs the PE array's mesh: give {name} and the "
                "level below it mesh_x",
                "architecture",
            )
        fanout.append(count)
    levels_list = architecture.levels
    subpartitions = levels_list[accumulator].instances // levels_list[shared].instances
    if dataflow == "output-stationary":
        side = max(d for d in divisors(subpartitions) if d * d <= subpartitions)
        return ArrayGeometry(fanout[0], fanout[1], (subpartitions // side, side))
    return ArrayGeometry(fanout[0], fanout[1], (subpartitions, 1))


def smem_tile_limit(constrained: int | None, design_words: int, smem_words: int) -> int | None:
    """A cap on the shared-memory temporal M and N factors (``constrained``, from the
    design's constraints, for its own ``design_words``), scaled up with the shared memory:
    a k-times larger one may take k-times larger factors."""
    if constrained is None:
        return None
    return max(constrained, constrained * smem_words // max(design_words, 1))


def divisors(n: int, cap: int | None = None) -> list[int]:
    """The divisors of ``n`` (at most ``cap``), ascending, in O(sqrt n) steps."""
    found = _divisors(n)
    return list(found) if cap is None else [d for d in found if d <= cap]


@cache
def _divisors(n: int) -> tuple[int, ...]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return (*small, *(n // d for d in reversed(small) if d * d != n))


@dataclass(frozen=True)
class _Inner:
    """What the levels below the shared memory fix, per shared-memory iteration."""

    dims: dict[str, int]  # padded M, N, K
    m_inner: int  # M covered below the SMEM temporal loops (incl. its spatial fan-out)
    n_inner: int
    a_reads_per_element: float  # SMEM (or DRAM) reads of each A element feeding below
    b_reads_per_element: float
    levels: list[LevelMapping]  # RF and LRF
    smem_spatial: dict[str, int]
    smem_spatial_permutation: str
    smem_permutation: str

    @cached_property
    def tile(self) -> str:
        return repr(self.levels[-1])


class Candidate(NamedTuple):
    """A mapping choice, ranked by its traffic estimate; its mapping is only built for the
    few candidates that get evaluated. (A tuple: a layer has hundreds of candidates, made
    at every build.)"""

    dims: dict[str, int]  # padded GEMM
    estimate: float  # pJ of DRAM + shared memory traffic, for ranking only
    inner: _Inner
    dram_tiles: tuple[int, int]  # DRAM temporal M, N
    dram_permutation: str
    smem_tiles: tuple[int, int]  # SMEM temporal M, N
    smem_keep: tuple[str, ...]

    @property
    def tile(self) -> str:
        """The PE-array tile (the innermost level's mapping), as a key."""
        return self.inner.tile

    @property
    def mapping(self) -> Mapping:
        inner = self.inner
        return Mapping(
            levels=[
                LevelMapping(
                    level=BACKING_STORE,
                    temporal={"M": self.dram_tiles[0], "N": self.dram_tiles[1]},
                    temporal_permutation=self.dram_permutation,
                    keep=["A", "B", "Z"],
                ),
                LevelMapping(
                    level=SHARED_BUFFER,
                    temporal={"M": self.smem_tiles[0], "N": self.smem_tiles[1]},
                    temporal_permutation=inner.smem_permutation,
                    spatial=inner.smem_spatial,
                    spatial_permutation=inner.smem_spatial_permutation,
                    split=0,
                    keep=list(self.smem_keep),
                ),
                *inner.levels,
            ]
        )


def _outer_candidates(
    inner: _Inner,
    density_a: float,
    density_b: float,
    word_pj: dict[str, float],
    smem_capacity: int,
    smem_limit: int | None,
) -> Iterator[Candidate]:
    """Shared-memory tiles, DRAM loop orders and SMEM keep/bypass choices."""
    dims = inner.dims
    m_outer = dims["M"] // inner.m_inner
    n_outer = dims["N"] // inner.n_inner
    size_a = dims["M"] * dims["K"] * density_a
    size_b = dims["N"] * dims["K"] * density_b
    for m_s, n_s in itertools.product(divisors(m_outer, smem_limit), divisors(n_outer, smem_limit)):
        m_d, n_d = m_outer // m_s, n_outer // n_s
        tile_a = m_s * inner.m_inner * dims["K"] * density_a
        tile_b = n_s * inner.n_inner * dims["K"] * density_b
        for keep in (("A", "B"), ("B",), ("A",), ()):
            if sum(t for t, name in ((tile_a, "A"), (tile_b, "B")) if name in keep) > smem_capacity:
                continue
            for permutation in ("NMK", "MNK"):  # innermost first
                n_inner_loop = permutation[0] == "N"
                # DRAM traffic: a tile held in SMEM is refetched only by DRAM loops that
                # enclose a loop indexing it; a bypassed tensor streams from DRAM.
                dram_a = size_a * (1 if n_inner_loop else n_d)
                dram_b = size_b * (m_d if n_inner_loop else 1)
                below_a = size_a * inner.a_reads_per_element
                below_b = size_b * inner.b_reads_per_element
                dram = (dram_a if "A" in keep else below_a) + (dram_b if "B" in keep else below_b)
                smem = (below_a if "A" in keep else 0) + (below_b if "B" in keep else 0)
                estimate = dram * word_pj[BACKING_STORE] + smem * word_pj[SHARED_BUFFER]
                yield Candidate(dims, estimate, inner, (m_d, n_d), permutation, (m_s, n_s), keep)


def tensor_core_inners(
    dims: dict[str, int],
    geometry: ArrayGeometry,
    spatial_k: int,
    k_granule: int,
    rf_words: int,
) -> Iterator[_Inner]:
    """RF/LRF choices of the tensor-core dataflow, largest register reuse first;
    ``spatial_k``: the K the columns hold (more than the columns for compacted weights)."""
    rows = split(dims["M"], geometry.rows)
    subpartitions = split(rows.chunks, geometry.subpartitions[0])
    cols = split(dims["K"], spatial_k, k_granule)
    m_padded = rows.factor * subpartitions.factor * subpartitions.chunks
    k_padded = cols.factor * cols.chunks
    seen = set()
    # Every PE row accumulates `limit` outputs in the RF.
    limit = max(1, rf_words // geometry.rows)
    while limit >= 1:
        reuse = split(dims["N"], limit)
        limit //= 2
        if reuse.factor in seen:
            continue
        seen.add(reuse.factor)
        padded = {"M": m_padded, "N": reuse.factor * reuse.chunks, "K": k_padded}
        levels = [
            LevelMapping(
                level=ACCUMULATOR,
                temporal={"K": cols.chunks},
                temporal_permutation="KMN",
                spatial={"M": rows.factor, "K": cols.factor},
                spatial_permutation="KMN",
                split=1,
                keep=["Z"],
            ),
            LevelMapping(
                level=PE_REGISTER,
                temporal={"N": reuse.factor},
                temporal_permutation="NMK",
                keep=["A"],
            ),
        ]
        yield _Inner(
            dims=padded,
            m_inner=rows.factor * subpartitions.factor,
            n_inner=reuse.factor,
            a_reads_per_element=padded["N"] / reuse.factor,
            b_reads_per_element=padded["M"] / (rows.factor * subpartitions.factor),
            levels=levels,
            smem_spatial={"M": subpartitions.factor},
            smem_spatial_permutation="MNK",
            smem_permutation="MNK",
        )


def dstc_inners(
    dims: dict[str, int],
    geometry: ArrayGeometry,
    density_a: float,
    density_b: float,
    rf_words: int,
    lrf_words: int,
) -> Iterator[_Inner]:
    """Output-stationary LRF tiles (M_t x N_t outer products), cheapest operand re-read first."""
    rows, cols = split(dims["M"], geometry.rows), split(dims["N"], geometry.columns)
    sub_m = split(rows.chunks, geometry.subpartitions[0])
    sub_n = split(cols.chunks, geometry.subpartitions[1])
    padded = {
        "M": rows.factor * sub_m.factor * sub_m.chunks,
        "N": cols.factor * sub_n.factor * sub_n.chunks,
        "K": dims["K"],
    }
    options = []
    for m_t, n_t in itertools.product(divisors(sub_m.chunks), divisors(sub_n.chunks)):
        m_tile, n_tile = rows.factor * m_t, cols.factor * n_t
        if m_tile * n_tile > rf_words or m_tile + n_tile > lrf_words:
            continue
        # SMEM re-reads: A once per LRF N tile, B once per LRF M tile (multicast over
        # the subpartitions that share them).
        a_reads = padded["N"] / (n_tile * sub_n.factor)
        b_reads = padded["M"] / (m_tile * sub_m.factor)
        options.append((density_a * a_reads + density_b * b_reads, m_t, n_t, a_reads, b_reads))
    for _, m_t, n_t, a_reads, b_reads in sorted(options):
        levels = [
            LevelMapping(
                level=ACCUMULATOR, temporal={"K": dims["K"]}, temporal_permutation="KMN", keep=["Z"]
            ),
            LevelMapping(
                level=PE_REGISTER,
                temporal={"M": m_t, "N": n_t},
                temporal_permutation="NMK",
                spatial={"M": rows.factor, "N": cols.factor},
                spatial_permutation="NMK",
                split=1,
                keep=["A", "B"],
                # The MICRO'22 artifact's DSTC mappings forbid MAC-to-MAC forwarding here.
                no_link_transfer=["A", "B", "Z"],
            ),
        ]
        yield _Inner(
            dims=padded,
            m_inner=rows.factor * m_t * sub_m.factor,
            n_inner=cols.factor * n_t * sub_n.factor,
            a_reads_per_element=a_reads,
            b_reads_per_element=b_reads,
            levels=levels,
            smem_spatial={"M": sub_m.factor, "N": sub_n.factor},
            smem_spatial_permutation="NMK",
            smem_permutation="NMK",
        )


def ranked_candidates(
    inners: Iterator[_Inner],
    density_a: float,
    density_b: float,
    word_pj: dict[str, float],
    smem_capacity: int,
    smem_limit: int | None,
) -> list[Candidate]:
    """All candidates, cheapest first by estimated traffic plus (padded) compute energy."""
    candidates, costs = [], []
    for inner in inners:
        compute = math.prod(inner.dims.values()) * word_pj["MAC"]  # the same for its outers
        for candidate in _outer_candidates(
            inner, density_a, density_b, word_pj, smem_capacity, smem_limit
        ):
            candidates.append(candidate)
            costs.append(candidate.estimate + compute)
    if not candidates:
        raise SparsimError("no mapping of this GEMM fits the design's buffers", "mapping")
    return [candidates[i] for i in sorted(range(len(costs)), key=costs.__getitem__)]
