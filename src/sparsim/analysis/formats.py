"""Compressed formats: metadata and payload units per rank of a level's tile.

Ranks are matched to the tile's loops over the tensor's dimensions, innermost rank to
innermost loop (spatial X, then spatial Y, then temporal, level by level outward). Rank
ranks beyond the loops hold nothing; if there are fewer ranks than loops, the outermost
rank flattens the rest. Per rank, with F fibers (the nonempty coordinates of the rank
above) of ``shape`` coordinates each, and ``p`` the chance that a coordinate's sub-tile is
empty:

* UOP: payload F * (shape + 1) offsets, no metadata, no compression;
* B (bitmask; UB keeps the zeros too): metadata F * shape bits, payload F * shape * (1 - p) pointers;
* CP / RLE: metadata and payload F * shape * (1 - p) (one coordinate or run per nonzero).

The innermost rank's payload is the data itself and is not counted as format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sparsim.analysis.density import DensityModel
from sparsim.analysis.nest import RELEVANT_DIMS, Loop, Nest
from sparsim.spec.sparse_optimizations import RankFormat

COMPRESSED = frozenset({"CP", "RLE", "B"})
TENSOR_AXES = {"A": ("M", "K"), "B": ("N", "K"), "Z": ("M", "N")}


@dataclass(frozen=True)
class RankUnits:
    format: str
    metadata_units: float  # expected, per tile
    payload_units: float
    metadata_capacity: float  # worst case, per tile
    payload_capacity: float
    metadata_bits: int  # per unit, as stored (see effective_bits)
    payload_bits: int


def effective_bits(bits: int, word_bits: int) -> int:
    """Bits a metadata unit really occupies: units are packed whole into data words, so a
    3-bit coordinate in 8-bit words takes 4 (two per word), as in Sparseloop's numbers."""
    if bits <= 0:
        return 0
    if bits >= word_bits:
        return word_bits * math.ceil(bits / word_bits)
    return word_bits // (word_bits // bits)


def tile_loops(nest: Nest, level: int, tensor: str) -> list[Loop]:
    """The loops spanning a level's tile over the tensor's dimensions, innermost first."""
    relevant = RELEVANT_DIMS[tensor]
    inside = [loop for loop in nest.loops_inside(level) if loop.dim in relevant]
    ordered: list[Loop] = []
    for owner in sorted({loop.level for loop in inside}, reverse=True):
        own = [loop for loop in inside if loop.level == owner]
        spatial_x = [loop for loop in own if loop.spatial and loop.mesh_axis == "X"]
        spatial_y = [loop for loop in own if loop.spatial and loop.mesh_axis != "X"]
        temporal = [loop for loop in own if not loop.spatial]
        for group in (spatial_x, spatial_y, temporal):
            ordered.extend(reversed(group))
    return ordered


def subtile_shape(loops: list[Loop], tensor: str) -> tuple[int, int]:
    """(rows, cols) of the tensor touched by ``loops``."""
    rows_dim, cols_dim = TENSOR_AXES[tensor]
    rows = math.prod(loop.bound for loop in loops if loop.dim == rows_dim)
    cols = math.prod(loop.bound for loop in loops if loop.dim == cols_dim)
    return rows, cols


def rank_units(
    ranks: list[RankFormat], loops: list[Loop], density: DensityModel, tensor: str
) -> list[RankUnits]:
    """Units per rank, rank 0 (innermost) first."""
    inner_first = list(reversed(ranks))
    shapes: list[list[Loop]] = [[] for _ in inner_first]
    for index, loop in enumerate(loops):
        shapes[min(index, len(shapes) - 1)].append(loop)
    scalar_tile = not loops
    fibers = fibers_max = 1.0
    # Walk outermost rank first: fibers of a rank are the nonempty coordinates above it.
    outer_first: list[RankUnits] = []
    for position in reversed(range(len(inner_first))):
        rank = inner_first[position]
        own = shapes[position]
        shape = math.prod(loop.bound for loop in own)
        if not own and not (scalar_tile and position == 0):
            outer_first.append(RankUnits(rank.format, 0, 0, 0, 0, 0, 0))
            continue
        below = [loop for group in shapes[:position] for loop in group]
        nonempty = 1.0 - density.occupancy(subtile_shape(below, tensor)).prob_empty
        # At most as many nonempty coordinates per fiber as the fiber holds nonzeros.
        fiber_max = density.occupancy(subtile_shape(below + own, tensor)).max
        coords, coords_max = fibers * shape, fibers_max * shape
        nonempty_max = min(shape, fiber_max) / shape
        is_innermost = position == 0
        if rank.format == "UOP":
            metadata, metadata_max = 0.0, 0.0
            payload, payload_max = fibers * (shape + 1), fibers_max * (shape + 1)
        elif rank.format in ("B", "UB"):
            metadata, metadata_max = coords, coords_max
            payload, payload_max = coords * nonempty, coords_max * nonempty_max
        else:  # CP, RLE
            metadata = payload = coords * nonempty
            metadata_max = payload_max = coords_max * nonempty_max
        if is_innermost:
            payload = payload_max = 0.0
        md_bits = rank.metadata_word_bits
        if md_bits is None:
            md_bits = 0 if rank.format == "UOP" else max(1, math.ceil(math.log2(max(shape, 2))))
        outer_first.append(
            RankUnits(
                rank.format,
                metadata,
                payload,
                metadata_max,
                payload_max,
                md_bits,
                rank.payload_word_bits or 0,
            )
        )
        if rank.format in COMPRESSED:
            fibers, fibers_max = coords * nonempty, coords_max * nonempty_max
        else:
            fibers, fibers_max = coords, coords_max
    return list(reversed(outer_first))


def is_compressed(ranks: list[RankFormat]) -> bool:
    """Whether only nonzeros are stored: the innermost rank drops empty coordinates."""
    return bool(ranks) and ranks[-1].format in COMPRESSED
