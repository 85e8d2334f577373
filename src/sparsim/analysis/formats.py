"""Compressed formats: metadata and payload units per rank of a level's tile.

Ranks are matched to the tile's loops over the tensor's dimensions, innermost rank to
innermost loop (spatial X, then spatial Y, then temporal, level by level outward), one loop
per rank (``assign_ranks``). Ranks beyond the loops hold nothing; loops beyond the ranks
make the mapping invalid, as in Timeloop, unless the format flattens dimensions. Per rank, with F fibers (the nonempty coordinates of the rank
above) of ``shape`` coordinates each, and ``p`` the chance that a coordinate's sub-tile is
empty:

* UOP: payload F * (shape + 1) offsets, no metadata, no compression;
* B (bitmask; UB keeps the zeros too): metadata F * shape bits, payload
  F * ceil(shape * (1 - p)) pointers;
* CP: metadata and payload F * ceil(shape * (1 - p)) (one coordinate per nonzero, a whole
  number per fiber, as Timeloop rounds them);
* RLE: metadata and payload F * shape * (1 - p) (one run per nonzero, not rounded).

The innermost rank's payload is the data itself and is not counted as format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sparsim.analysis import points as pts
from sparsim.analysis.density import DensityPoints
from sparsim.analysis.nest import Loop, Nest, TensorShape, box
from sparsim.errors import MappingError
from sparsim.spec.sparse_optimizations import RankFormat

COMPRESSED = frozenset({"CP", "RLE", "B"})
ROUNDING_TOLERANCE = 1e-6


@dataclass(frozen=True)
class RankUnits:
    format: str
    # Per tile, at each density point: expected, then worst case.
    metadata_units: pts.Points
    payload_units: pts.Points
    metadata_capacity: pts.Points
    payload_capacity: pts.Points
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
    relevant = nest.problem.relevant(tensor)
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


def subtile_shape(loops: list[Loop], tensor: TensorShape) -> tuple[int, ...]:
    """Per rank, the coordinates of ``tensor`` the box ``loops`` span covers."""
    return tensor.extents(box(loops, ()))


def assign_ranks(
    inner_first: list[RankFormat], loops: list[Loop], where: str = "mapping"
) -> list[list[Loop]]:
    """The loops (innermost first) each rank describes, innermost rank first.

    Timeloop applies ranks inner to outer, one non-trivial loop per rank, and rejects a tile
    with loops left over ("more compression ranks needed than supported"). A format with
    flattening rules lets a rank take several loops; there the outermost rank takes all the
    loops left over (the rule-by-rule assignment is not modelled, see the sparse docs §2.1).
    """
    shapes: list[list[Loop]] = [[] for _ in inner_first]
    flattens = any(rank.flattened_ranks for rank in inner_first)
    if len(loops) > len(inner_first) and not flattens:
        raise MappingError(
            f"more compression ranks needed than the format has: {len(inner_first)} ranks "
            f"for the tile's {len(loops)} loops "
            f"({' '.join(f'{loop.dim}{loop.bound}' for loop in loops)}, innermost first)",
            where,
        )
    for index, loop in enumerate(loops):
        shapes[min(index, len(shapes) - 1)].append(loop)
    return shapes


def rank_units(
    ranks: list[RankFormat],
    loops: list[Loop],
    density: DensityPoints,
    tensor: TensorShape,
    where: str = "mapping",
) -> list[RankUnits]:
    """Units per rank, rank 0 (innermost) first, at each of ``density``'s points."""
    inner_first = list(reversed(ranks))
    shapes = assign_ranks(inner_first, loops, where)
    scalar_tile = not loops
    tile = subtile_shape(loops, tensor)
    points = pts.ones(density.count)
    dense_fibers, fibers_max = 1.0, points
    # Walk outermost rank first: a rank has one fiber per coordinate of the ranks above (the
    # outermost: the tile), of which only the nonempty ones are stored.
    outer_first: list[RankUnits] = []
    for position in reversed(range(len(inner_first))):
        rank = inner_first[position]
        own = shapes[position]
        shape = math.prod(loop.bound for loop in own)
        if not own and not (scalar_tile and position == 0):
            zero = 0.0 * points
            outer_first.append(RankUnits(rank.format, zero, zero, zero, zero, 0, 0))
            continue
        below = [loop for group in shapes[:position] for loop in group]
        fiber_tile = density.occupancy(subtile_shape(below + own, tensor))
        fibers = dense_fibers * (1.0 - fiber_tile.prob_empty)
        # A scalar tile is one fiber of one coordinate: present whenever the fiber is.
        nonempty = (
            points if not own else 1.0 - density.occupancy(subtile_shape(below, tensor)).prob_empty
        )
        # At most as many nonempty coordinates per fiber as the fiber holds nonzeros.
        coords, coords_max = fibers * shape, fibers_max * shape
        nonempty_max = pts.minimum(shape, fiber_tile.max) / shape
        # Whole nonempty coordinates per fiber (CP, bitmask payload), as Timeloop rounds
        # them; the tolerance keeps an exact expectation (16 x 0.5 = 8) from rounding up on
        # floating-point noise in the density (Timeloop's does: 9, see the sparse docs §2.2).
        whole = fibers * pts.ceil(shape * nonempty - ROUNDING_TOLERANCE)
        # The same counts in the fullest tile, where the density model can say how its
        # nonzeros spread (hypergeometric); elsewhere every fiber's fullest case.
        fiber_empty, conditioned = density.empty_in_fullest(
            tile, subtile_shape(below + own, tensor)
        )
        fibers_full = dense_fibers * (1.0 - fiber_empty)
        nonempty_full = (
            points
            if not own
            else 1.0 - density.empty_in_fullest(tile, subtile_shape(below, tensor))[0]
        )
        whole_full = fibers_full * pts.ceil(shape * nonempty_full - ROUNDING_TOLERANCE)
        if rank.format == "UOP":
            metadata, metadata_max = 0.0 * points, 0.0 * points
            payload, payload_max = fibers * (shape + 1), fibers_max * (shape + 1)
            payload_max = pts.where(conditioned, fibers_full * (shape + 1), payload_max)
        elif rank.format in ("B", "UB"):
            metadata, metadata_max = coords, coords_max
            payload, payload_max = whole, coords_max * nonempty_max
            metadata_max = pts.where(conditioned, fibers_full * shape, metadata_max)
            payload_max = pts.where(conditioned, whole_full, payload_max)
        elif rank.format == "CP":
            metadata = payload = whole
            metadata_max = payload_max = pts.where(
                conditioned, whole_full, coords_max * nonempty_max
            )
        else:  # RLE
            metadata = payload = coords * nonempty
            metadata_max = payload_max = pts.where(
                conditioned, fibers_full * shape * nonempty_full, coords_max * nonempty_max
            )
        if position == 0:  # the innermost rank's payload is the data itself
            payload = payload_max = 0.0 * points
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
        dense_fibers *= shape
        fibers_max = coords_max * nonempty_max if rank.format in COMPRESSED else coords_max
    return list(reversed(outer_first))


def is_compressed(ranks: list[RankFormat]) -> bool:
    """Whether only nonzeros are stored: the innermost rank drops empty coordinates."""
    return bool(ranks) and ranks[-1].format in COMPRESSED
