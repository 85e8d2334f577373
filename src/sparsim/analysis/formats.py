"""Compressed formats: how a level's tile of a tensor is laid out as ranks, and the metadata
and payload units each rank holds.

**Layout** (Timeloop's metadata subnests). A level's tile is spanned by the loops of that
level and of the levels below it, down to the next level that keeps the tensor (its
*child*). Of these, the loops over the tensor's dimensions, innermost first, bound-1 loops
included (``Nest.complete``), are matched to the format's ranks:

* *pre-tiling*: a compressed tile whose child holds tiles of more than one element is stored
  as the child's tiles, so the child's ranks are the innermost ranks here (their formats
  must agree when the child is compressed, and the level needs at least as many ranks);
* otherwise each dimension's innermost loop here also spans that dimension's loops below
  the child (an uncompressed tile's single rank flattens everything);
* ``outer-to-inner`` (the default) gives each rank from the outermost down the next
  non-trivial loop from the outermost; ``inner-to-outer`` goes the other way; a rank with
  flattening rules also takes the adjacent loops over its rule's dimensions; spare ranks
  are empty, and loops left over make the mapping invalid, as in Timeloop.

A rank's *fiber shape* is the number of tensor coordinates its loops span; each of its
coordinates covers a *sub-tile* (the tile of the rank below).

**Units**. For a tile holding ``k`` nonzeros, with F fibers of a rank (its dense count
times the chance the sub-tile above is nonempty) of ``shape`` coordinates, and ``p`` the
chance one coordinate's sub-tile is empty (given ``k``):

* UOP: payload F * (shape + 1) offsets, no metadata;
* B: metadata F * shape bits, payload F * ceil(shape * (1 - p));
* UB: metadata and payload (dense fibers) * shape;
* CP: metadata and payload F * ceil(shape * (1 - p));
* RLE: metadata and payload F * shape * (1 - p).

A rank of one coordinate below the top stores nothing; the innermost rank that stores
anything has no payload (its payload is the data). The expected units weigh each ``k`` by
its probability (Timeloop conditions on a nonempty tile where the level above has metadata
and counts fewer instances instead: the same total); the capacity holds the fullest tile.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from sparsim.analysis import points as pts
from sparsim.analysis.density import DensityModel, DensityPoints
from sparsim.analysis.memo import Memo
from sparsim.analysis.nest import Nest, TensorShape
from sparsim.errors import MappingError
from sparsim.spec.sparse_optimizations import RankFormat

COMPRESSED = frozenset({"CP", "RLE", "B"})
ROUNDING_TOLERANCE = 1e-6


@dataclass(frozen=True)
class RankUnits:
    format: str
    # Per tile, at each density point: expected, then in the fullest tile.
    metadata_units: pts.Points
    payload_units: pts.Points
    metadata_capacity: pts.Points
    payload_capacity: pts.Points
    metadata_bits: int  # per unit, as stored (see effective_bits)
    payload_bits: int


@dataclass(frozen=True)
class RankLayout:
    """A level's tile of one tensor as a fiber tree, innermost rank first."""

    formats: tuple[RankFormat, ...]  # empty: an uncompressed tile without metadata
    loops: tuple[tuple[tuple[str, int], ...], ...]  # per rank: (dimension, bound)
    fiber_shapes: tuple[int, ...]
    # One more than the ranks: [r] is the sub-tile (extents) one coordinate of rank r covers.
    subtiles: tuple[tuple[int, ...], ...]
    inner_to_outer: bool

    @property
    def rank_count(self) -> int:
        return len(self.fiber_shapes)


def effective_bits(bits: int, width: int) -> int:
    """Bits a unit really occupies in metadata accesses ``width`` bits wide: widened to the
    next size that divides the width (3 bits in 64 take 4), as Timeloop widens them to avoid
    fragmentation; units wider than an access take whole accesses."""
    if bits <= 0:
        return 0
    if bits >= width:
        return width * math.ceil(bits / width)
    return next((w for w in range(bits, 2 * bits) if width % w == 0), 2 * bits)


def is_compressed(ranks: list[RankFormat]) -> bool:
    """Whether only nonzeros are stored: some rank drops empty coordinates."""
    return any(rank.format in COMPRESSED for rank in ranks)


# -- layout ----------------------------------------------------------------------------------


def tensor_layouts(
    nest: Nest,
    tensor: str,
    keepers: list[int],
    formats: dict[int, list[RankFormat]],
    inner_to_outer: dict[int, bool],
    where: dict[int, str],
) -> dict[int, RankLayout]:
    """The layout of ``tensor``'s tile at each level in ``keepers`` (outermost first);
    ``formats`` lists each level's ranks outermost first (none: uncompressed)."""
    shape = nest.problem.tensors[tensor]
    molds = None
    layouts: dict[int, RankLayout] = {}
    for position in reversed(range(len(keepers))):
        level = keepers[position]
        child = keepers[position + 1] if position + 1 < len(keepers) else None
        ranks = list(reversed(formats.get(level, [])))
        child_layout = layouts.get(child) if child is not None else None
        # What the layout depends on: the complete loops from this level inward, the loops
        # inside the child (its tile), the ranks, the child's layout. Candidate mappings
        # that share inner levels share these.
        key = (
            shape,
            level,
            child,
            nest.complete[level:],
            nest.loops_inside(nest.n_levels if child is None else child),
            tuple(_rank_key(rank) for rank in ranks),
            None if child_layout is None else _layout_key(child_layout),
            inner_to_outer.get(level, False),
        )
        layout = _LAYOUTS.get(key)
        if layout is None:  # a layout that fails is never remembered: it raises each time
            molds = molds or _molds(nest, shape)
            layout = _LAYOUTS.put(
                key,
                _layout(
                    nest,
                    shape,
                    molds,
                    level,
                    child,
                    ranks,
                    child_layout,
                    inner_to_outer.get(level, False),
                    where[level],
                ),
            )
        layouts[level] = layout
    return layouts


_LAYOUTS: Memo[tuple, RankLayout] = Memo(1 << 15)


def _rank_key(rank: RankFormat) -> tuple:
    flattened = rank.flattened_ranks
    return (
        rank.format,
        rank.metadata_word_bits,
        rank.payload_word_bits,
        None if flattened is None else tuple(map(tuple, flattened)),
    )


def _layout_key(layout: RankLayout) -> tuple:
    return (
        tuple(_rank_key(rank) for rank in layout.formats),
        layout.loops,
        layout.fiber_shapes,
        layout.subtiles,
        layout.inner_to_outer,
    )


def _molds(nest: Nest, shape: TensorShape) -> dict[tuple[int, int], tuple[int, ...]]:
    """Per loop of the complete nest: the tensor's extents over the box that loop and all
    loops inside it span (Timeloop's max-tile molds)."""
    extent: dict[str, int] = defaultdict(lambda: 1)
    molds = {}
    for level in reversed(range(nest.n_levels)):
        for index, loop in enumerate(nest.complete[level]):
            extent[loop.dim] *= loop.bound
            molds[level, index] = shape.extents(extent)
    return molds


def _layout(
    nest: Nest,
    shape: TensorShape,
    molds,
    level: int,
    child: int | None,
    ranks: list[RankFormat],  # innermost first
    child_layout: RankLayout | None,
    inner_to_outer: bool,
    where: str,
) -> RankLayout:
    stop = nest.n_levels if child is None else child
    pretiling = (
        is_compressed(ranks)
        and child_layout is not None
        and math.prod(shape.extents(nest.tile_shape(stop))) > 1
    )
    rank_count = len(ranks) or 1
    if pretiling:
        _check_pretiling(ranks, child_layout, where)

    # The loops spanning this tile down to the child, innermost first, with their molds.
    loops: list[list] = []
    sets: list[tuple[int, ...]] = []
    for owner in reversed(range(level, stop)):
        for index, loop in enumerate(nest.complete[owner]):
            if loop.dim in shape.dims:
                loops.append([loop.dim, loop.bound])
                sets.append(molds[owner, index])
    if not pretiling:
        # Each dimension's innermost loop here also spans the loops below the child.
        below: dict[str, int] = defaultdict(lambda: 1)
        for owner in range(stop, nest.n_levels):
            for loop in nest.complete[owner]:
                below[loop.dim] *= loop.bound
        for item in loops:
            item[1] *= below[item[0]]
            below[item[0]] = 1

    first = child_layout.rank_count if pretiling else 0
    rules = [rank.flattened_ranks or [] for rank in ranks] if ranks else [[]]
    apply = _inner_to_outer if inner_to_outer else _outer_to_inner
    own, leftover = apply(first, [tuple(x) for x in loops], sets, rules, bool(ranks), rank_count)
    if leftover:
        raise MappingError(
            f"more compression ranks needed than the format has: its {rank_count} rank(s) "
            f"cannot hold the tile's loops ({', '.join(f'{d}{b}' for d, b in loops if b > 1)})",
            where,
        )
    scalar = tuple(1 for _ in shape.ranks)
    if pretiling:
        rank_loops = list(child_layout.loops) + [nested for nested, _ in own]
        subtiles = list(child_layout.subtiles) + [tile for _, tile in own]
    else:
        rank_loops = [nested for nested, _ in own]
        subtiles = [scalar] + [tile for _, tile in own]
    fiber_shapes = tuple(
        math.prod(shape.extents({d: b for d, b in _merged(nested).items()}))
        for nested in rank_loops
    )
    return RankLayout(
        tuple(ranks),
        tuple(tuple(nested) for nested in rank_loops),
        fiber_shapes,
        tuple(subtiles),
        inner_to_outer,
    )


def _merged(loops) -> dict[str, int]:
    extent: dict[str, int] = defaultdict(lambda: 1)
    for dim, bound in loops:
        extent[dim] *= bound
    return extent


def _check_pretiling(ranks: list[RankFormat], child: RankLayout, where: str) -> None:
    if child.rank_count > len(ranks):
        raise MappingError(
            f"the compressed tile is stored as its child level's tiles, which need "
            f"{child.rank_count} rank(s); the format has {len(ranks)}",
            where,
        )
    if is_compressed(list(child.formats)):
        for own, inner in zip(ranks, child.formats, strict=False):
            if own.format != inner.format:
                raise MappingError(
                    "the compressed tile is stored as its child level's tiles, but the "
                    f"formats of their inner ranks differ ({own.format} here, {inner.format} "
                    "below)",
                    where,
                )


def _rule_for(rules, dim: str):
    return next((rule for rule in rules if dim in rule), None)


def _outer_to_inner(first, loops, sets, rules, has_metadata, rank_count):
    """Ranks ``first`` .. ``rank_count - 1`` from the outermost, each from the outermost
    loop left; returns ([(loops, sub-tile)] innermost rank first, loops left over)."""
    placed: list = []
    i, rank = len(loops) - 1, rank_count
    while rank > first and i >= 0:
        while i >= 0 and loops[i][1] <= 1:
            i -= 1
        if i < 0:
            break
        rank -= 1
        rule = None
        if has_metadata and rules[rank]:
            rule = _rule_for(rules[rank], loops[i][0])
            if rule is None:
                # Timeloop leaves this rank empty and files it outermost, trying the same
                # loop on the next rank in.
                placed.append(((), sets[0]))
                continue
        taken, tile = [loops[i]], sets[i]
        i -= 1
        if not has_metadata or rule is not None:
            while i >= 0 and (not has_metadata or loops[i][0] in rule or loops[i][1] <= 1):
                if loops[i][1] > 1:
                    taken.append(loops[i])
                i -= 1
        placed.insert(0, (tuple(taken), tile))
    while rank > first:
        rank -= 1
        placed.insert(0, ((), sets[0]))
    return placed, any(bound > 1 for _, bound in loops[: i + 1])


def _inner_to_outer(first, loops, sets, rules, has_metadata, rank_count):
    """Ranks ``first`` upward, each from the innermost loop left (its sub-tile: the mold at
    that loop, as Timeloop records it)."""
    placed: list = []
    i, rank = 0, first - 1
    scalar = tuple(1 for _ in sets[0])
    while rank < rank_count - 1 and i < len(loops):
        while i < len(loops) and loops[i][1] <= 1:
            i += 1
        if i >= len(loops):
            break
        rank += 1
        rule = None
        if has_metadata and rules[rank]:
            rule = _rule_for(rules[rank], loops[i][0])
            if rule is None:
                placed.append(((), scalar))
                continue
        taken, tile = [loops[i]], sets[i]
        i += 1
        if not has_metadata or rule is not None:
            while i < len(loops) and (not has_metadata or loops[i][0] in rule or loops[i][1] <= 1):
                if loops[i][1] > 1:
                    taken.append(loops[i])
                i += 1
        placed.append((tuple(taken), tile))
    while rank < rank_count - 1:
        rank += 1
        placed.append(((), sets[0]))
    return placed, any(bound > 1 for _, bound in loops[i:])


# -- units -----------------------------------------------------------------------------------


def rank_units(
    layout: RankLayout, density: DensityPoints, tile: tuple[int, ...]
) -> list[RankUnits]:
    """Units per rank of a tile of extents ``tile`` laid out as ``layout``, innermost rank
    first, at each of ``density``'s points."""
    per_model = [_model_units(layout, model, tile) for model in density.models]
    units = []
    for r, rank in enumerate(layout.formats):
        columns = [
            [each[part][r] for each in per_model] for part in range(4)
        ]  # expected md, pl; fullest md, pl
        if density.count == 1:
            values = [column[0] for column in columns]
        else:
            values = [np.array(column)[density.index] for column in columns]
        md_bits = rank.metadata_word_bits
        if md_bits is None:
            md_bits = (
                0
                if rank.format == "UOP"
                else max(1, math.ceil(math.log2(max(layout.fiber_shapes[r], 2))))
            )
        units.append(RankUnits(rank.format, *values, md_bits, rank.payload_word_bits or 0))
    return units


# Units of tiles already asked for: a mapping search and a sweep ask for the same tile of
# the same tensor and format many times (candidate mappings share their inner tiles; the
# points of a sweep share their densities).
_UNITS: Memo[tuple, tuple] = Memo(1 << 15)


def _model_units(layout: RankLayout, model: DensityModel, tile):
    """Per rank, (expected metadata, expected payload, fullest metadata, fullest payload)
    units; remembered for the density models that are fixed by their spec and shape (not
    a measured tensor's, whose mask the key would have to hold)."""
    if model.mask is not None:
        return _computed_units(layout, model, tile)
    key = (
        tuple(rank.format for rank in layout.formats),
        layout.fiber_shapes,
        layout.subtiles,
        layout.inner_to_outer,
        model.spec,
        model.shape,
        tuple(tile),
    )
    units = _UNITS.get(key)
    if units is None:
        units = _UNITS.put(key, _computed_units(layout, model, tile))
    return units


def _computed_units(layout: RankLayout, model: DensityModel, tile) -> tuple:
    occupancy = model.occupancy(tile)
    values, probabilities = occupancy.values, occupancy.probabilities
    metadata, payload = _units_given(layout, model, tile, values)
    fullest = np.array([float(occupancy.max)])
    metadata_max, payload_max = _units_given(layout, model, tile, fullest)
    return (
        tuple((metadata @ probabilities).tolist()),
        tuple((payload @ probabilities).tolist()),
        tuple(metadata_max[:, 0].tolist()),
        tuple(payload_max[:, 0].tolist()),
    )


def _units_given(layout: RankLayout, model: DensityModel, tile, nonzeros: np.ndarray):
    """(metadata, payload) units per rank (rows) for a tile holding each of ``nonzeros``."""
    ranks = layout.rank_count
    metadata = np.zeros((ranks, nonzeros.size))
    payload = np.zeros((ranks, nonzeros.size))
    top = 0 if layout.inner_to_outer else ranks - 1
    dense_fibers = 1
    tile_empty = model.empty_given(tile, tile, nonzeros)
    for r in reversed(range(ranks)):
        shape = layout.fiber_shapes[r]
        sub_empty = model.empty_given(tile, layout.subtiles[r], nonzeros)
        if shape > 1 or r == top:
            fibers = dense_fibers * (1.0 - tile_empty)
            # Timeloop counts a nonempty fiber's coordinates with every coordinate's
            # emptiness; a measured tensor's are counted in its nonempty fibers (an empty
            # fiber's coordinates are all empty), so its units are the real ones.
            per_fiber = sub_empty
            if model.mask is not None:
                present = pts.maximum(1.0 - tile_empty, 1e-300)
                per_fiber = np.clip((sub_empty - tile_empty) / present, 0.0, 1.0)
            # Whole nonempty coordinates per fiber; the tolerance keeps an exact expectation
            # (16 x 0.5 = 8) from rounding up on floating-point noise in the density.
            whole = np.ceil(shape * (1.0 - per_fiber) - ROUNDING_TOLERANCE)
            fmt = layout.formats[r].format
            if fmt == "UOP":
                payload[r] = fibers * (shape + 1)
            elif fmt == "B":
                metadata[r], payload[r] = fibers * shape, fibers * whole
            elif fmt == "UB":
                metadata[r] = payload[r] = dense_fibers * shape
            elif fmt == "CP":
                metadata[r] = payload[r] = fibers * whole
            else:  # RLE
                metadata[r] = payload[r] = fibers * shape * (1.0 - per_fiber)
        dense_fibers *= shape
        tile_empty = sub_empty
    # The innermost rank that stores anything has no payload of its own: it is the data.
    unset = np.ones(nonzeros.size, dtype=bool)
    for r in range(ranks):
        stores = (metadata[r] != 0) | (payload[r] != 0)
        payload[r] = np.where(unset & stores, 0.0, payload[r])
        unset &= ~stores
    return metadata, payload
