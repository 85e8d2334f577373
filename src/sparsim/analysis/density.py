"""Occupancy of a tile under each density model: the distribution every saving comes from.

A tile is described by its shape in the tensor's own coordinates (an extent per rank);
only the ``measured`` model needs the shape, the others only its size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from sparsim.errors import ResourceLimitError
from sparsim.spec.sparsity import TensorDensity, in_timeloop_order


@dataclass(frozen=True)
class Occupancy:
    """Distribution of the number of nonzeros in one tile.

    Mean, emptiness and maximum are closed-form; the full distribution (needed only for
    position skipping, on small tiles) is built on first use.
    """

    mean: float
    prob_empty: float
    max: int
    distribution: Callable[[], tuple[np.ndarray, np.ndarray]]

    @cached_property
    def _pmf(self) -> tuple[np.ndarray, np.ndarray]:
        return self.distribution()

    @property
    def values(self) -> np.ndarray:
        return self._pmf[0]

    @property
    def probabilities(self) -> np.ndarray:
        return self._pmf[1]

    def expect(self, function) -> float:
        values, probabilities = self._pmf
        return float(function(values) @ probabilities)


def _point(count: float) -> Occupancy:
    return Occupancy(
        count,
        0.0 if count > 0 else 1.0,
        math.ceil(count),
        lambda: (np.array([count], dtype=float), np.array([1.0])),
    )


def _floor_or_ceil(count: float) -> Occupancy:
    """Timeloop's fixed-structured tile: floor(count) or ceil(count) nonzeros, with the
    probabilities that make the mean ``count``."""
    low, high = math.floor(count), math.ceil(count)
    if low == high:
        return _point(count)
    up = count - low
    return Occupancy(
        count,
        1.0 - up if low == 0 else 0.0,
        high,
        lambda: (np.array([low, high], dtype=float), np.array([1.0 - up, up])),
    )


# log n! for whole n: a table up to _TABLE, Stirling's series above (scipy.special would add
# ~0.2 s to every command's start-up, and math.lgamma elementwise is slow on long arrays).
_TABLE = 1 << 16


_CHUNK = 1024


@lru_cache(maxsize=1)
def _log_factorials() -> np.ndarray:
    """log n! for n < _TABLE: math.lgamma every _CHUNK, sums of logs in between (a running
    sum over the whole table would drift by 3e-7 at a million)."""
    logs = np.log(np.maximum(np.arange(_TABLE, dtype=float), 1.0)).reshape(-1, _CHUNK)
    anchors = np.array([math.lgamma(start + 1) for start in range(0, _TABLE, _CHUNK)])
    return (anchors[:, None] + np.cumsum(logs, axis=1) - logs[:, :1]).ravel()


def _log_factorial(n: np.ndarray) -> np.ndarray:
    n = np.asarray(n, dtype=float)
    if n.size and n.max() < _TABLE:
        return _log_factorials()[n.astype(np.int64)]
    small = n < _TABLE
    table = _log_factorials()[np.where(small, n, 0).astype(np.int64)]
    big = np.maximum(n, _TABLE)  # Stirling's series: exact to ~1e-13 this far out
    stirling = (
        big * np.log(big)
        - big
        + 0.5 * np.log(2 * np.pi * big)
        + 1 / (12 * big)
        - 1 / (360 * big**3)
    )
    return np.where(small, table, stirling)


def _log_choose(n: float, k: np.ndarray | float) -> np.ndarray:
    """log C(n, k), elementwise over ``k`` (whole numbers)."""
    k = np.asarray(k, dtype=float)
    return math.lgamma(n + 1) - _log_factorial(k) - _log_factorial(n - k)


EXACT_EMPTY_SIZE = 64
# Occupancies further than _WIDTH standard deviations plus _SKEW values from the mean are
# left out of a distribution. Twelve deviations bound a near-normal law's tail below 1e-30;
# a law with a mean near 0 (2 nonzeros of 581 in a tile of 2: mean 0.007, deviation 0.08)
# is skewed like a Poisson law, whose tail beyond 40 values past a mean under 1 is below
# 1e-48 (12 deviations alone left out occupancy 2, probability 5.9e-6).
_WIDTH = 12.0
_SKEW = 40


@lru_cache(maxsize=4096)
def _hypergeometric(total: int, nonzeros: int, size: int) -> Occupancy:
    zeros = total - nonzeros
    if size > zeros:
        empty = 0.0
    elif size <= EXACT_EMPTY_SIZE:
        # C(zeros, size) / C(total, size) as a product of ratios: exact for the small tiles
        # whose emptiness decides skipping (2 of 4 zeros -> exactly 0.5).
        empty = math.prod((zeros - i) / (total - i) for i in range(size))
    else:
        empty = float(np.exp(_log_choose(zeros, size) - _log_choose(total, size)))

    def distribution() -> tuple[np.ndarray, np.ndarray]:
        # Log-space pmf: scipy.stats' frozen distributions cost ~5 ms per call here.
        mean = size * nonzeros / total
        deviation = math.sqrt(mean * (zeros / total) * (total - size) / max(total - 1, 1))
        spread = _WIDTH * deviation + _SKEW
        values = np.arange(
            max(0, size - zeros, math.floor(mean - spread)),
            min(size, nonzeros, math.ceil(mean + spread)) + 1,
            dtype=float,
        )
        log_pmf = (
            _log_choose(nonzeros, values)
            + _log_choose(zeros, size - values)
            - _log_choose(total, size)
        )
        probabilities = np.exp(log_pmf - log_pmf.max())
        return values, probabilities / probabilities.sum()

    return Occupancy(size * nonzeros / total, empty, min(size, nonzeros), distribution)


def _empty_in_draw(size: int, sub: int, nonzeros: np.ndarray) -> np.ndarray:
    """P(none of ``nonzeros`` placed at random in ``size`` places falls in a given ``sub`` of
    them) = C(size - sub, k) / C(size, k), elementwise over k."""
    k = np.asarray(nonzeros, dtype=float)
    rest = size - sub
    if sub >= size:
        return np.where(k > 0, 0.0, 1.0)
    top = int(min(k.max(initial=0), rest + 1))
    if top <= 4096:
        # prod_{i<k} (rest - i) / (size - i): exact for the small cases (2 of 4 -> 0.5).
        i = np.arange(top, dtype=float)
        running = np.concatenate(([1.0], np.cumprod((rest - i) / (size - i))))
        index = np.minimum(k, top).astype(int)
        return np.where(k > rest, 0.0, running[index])
    feasible = np.minimum(k, rest)
    logs = _log_choose(rest, feasible) - _log_choose(size, feasible)
    return np.where(k > rest, 0.0, np.exp(logs))


@lru_cache(maxsize=4096)
def _binomial(size: int, density: float) -> Occupancy:
    def distribution() -> tuple[np.ndarray, np.ndarray]:
        spread = _WIDTH * math.sqrt(size * density * (1.0 - density)) + _SKEW
        values = np.arange(
            max(0, math.floor(size * density - spread)),
            min(size, math.ceil(size * density + spread)) + 1,
            dtype=float,
        )
        if density in (0.0, 1.0):
            return values, (values == size * density).astype(float)
        log_pmf = (
            _log_choose(size, values)
            + values * math.log(density)
            + (size - values) * math.log1p(-density)
        )
        return values, np.exp(log_pmf)

    return Occupancy(
        size * density, (1.0 - density) ** size, size if density > 0 else 0, distribution
    )


def _empirical(counts: np.ndarray) -> Occupancy:
    values, frequency = np.unique(counts, return_counts=True)
    probabilities = frequency / frequency.sum()
    return Occupancy(
        float(values @ probabilities),
        float(probabilities[values == 0].sum()),
        int(values.max()),
        lambda: (values.astype(float), probabilities),
    )


@dataclass(frozen=True)
class DensityModel:
    """Tile occupancy for one tensor of ``shape`` (an extent per rank)."""

    spec: TensorDensity
    shape: tuple[int, ...]
    mask: np.ndarray | None = None  # measured tensors only

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @cached_property
    def nonzeros(self) -> int:
        """Total nonzeros; Sparseloop's hypergeometric model rounds density * size up."""
        if self.mask is not None:
            return int(self.mask.sum())
        return math.ceil(self.spec.density * self.size - 1e-9)

    @property
    def density(self) -> float:
        """Expected fraction of nonzeros in any tile."""
        if self.spec.distribution in ("hypergeometric", "measured"):
            return self.nonzeros / self.size
        return self.spec.density

    def occupancy(self, tile_shape: tuple[int, ...]) -> Occupancy:
        size = math.prod(tile_shape)
        distribution = self.spec.distribution
        if distribution == "dense" or self.spec.density >= 1.0:
            return _point(size)
        if distribution == "fixed-structured":
            if self.spec.n is None:  # a density alone (Timeloop's fixed-structured model)
                return _floor_or_ceil(size * self.spec.density)
            if size >= self.spec.m:
                return _point(size * self.spec.density)
            # An N:M tensor: a tile within a block holds a random N of its M places.
            return _hypergeometric(self.spec.m, self.spec.n, size)
        if distribution == "hypergeometric":
            return _hypergeometric(self.size, self.nonzeros, size)
        if distribution == "uniform":
            return _binomial(size, self.spec.density)
        return self._measured_occupancy(tile_shape)

    def empty_given(
        self, tile_shape: tuple[int, ...], sub_shape: tuple[int, ...], nonzeros: np.ndarray
    ) -> np.ndarray:
        """P(a sub-tile of ``sub_shape`` is empty) in a tile of ``tile_shape`` holding each of
        ``nonzeros``: Timeloop's metadata models ask the density model this way. Random
        placements (hypergeometric, uniform) draw the sub-tile from the tile's nonzeros;
        Timeloop's fixed-structured model spreads them evenly (a sub-tile holds its share,
        floor or ceil); an N:M tensor and a measured one keep their own emptiness."""
        size, sub = math.prod(tile_shape), math.prod(sub_shape)
        distribution = self.spec.distribution
        if distribution == "dense" or self.spec.density >= 1.0:
            return np.where(nonzeros > 0, 0.0, 1.0)
        if distribution == "fixed-structured" and self.spec.n is None:
            share = sub * nonzeros / size
            return np.where(share < 1.0, 1.0 - share, 0.0)
        if distribution == "measured":
            return self._measured_empty_given(tile_shape, sub_shape, nonzeros)
        if distribution == "fixed-structured" and size >= self.spec.m:
            empty = self.occupancy(sub_shape).prob_empty if sub < size else 0.0
            return np.where(nonzeros > 0, empty, 1.0)
        return _empty_in_draw(size, sub, nonzeros)

    def _measured_empty_given(self, tile_shape, sub_shape, nonzeros: np.ndarray) -> np.ndarray:
        """A measured tensor's own answer: among its real tiles holding k nonzeros, the
        fraction of their sub-tiles that are empty (tiles and sub-tiles that do not divide
        it: drawn at random)."""
        table = self._empty_by_occupancy(tuple(tile_shape), tuple(sub_shape))
        drawn = _empty_in_draw(math.prod(tile_shape), math.prod(sub_shape), nonzeros)
        if table is None:
            return drawn
        known, fraction = table
        index = np.clip(np.searchsorted(known, nonzeros), 0, known.size - 1)
        return np.where(known[index] == nonzeros, fraction[index], drawn)

    @cached_property
    def _empty_tables(self) -> dict:
        return {}

    def _empty_by_occupancy(self, tile_shape, sub_shape):
        key = (tile_shape, sub_shape)
        if key not in self._empty_tables:
            self._empty_tables[key] = self._empty_table(tile_shape, sub_shape)
        return self._empty_tables[key]

    def _empty_table(self, tile_shape, sub_shape):
        """(occupancies k, mean fraction of empty sub-tiles in the real tiles holding k)."""
        assert self.mask is not None
        shapes = (self.shape, tile_shape, sub_shape)
        if len({len(s) for s in shapes}) != 1 or any(
            whole % tile or tile % sub
            for whole, tile, sub in zip(self.shape, tile_shape, sub_shape, strict=True)
        ):
            return None
        # Axes: (tiles, sub-tiles per tile, elements per sub-tile), per rank.
        blocked = [
            n
            for whole, tile, sub in zip(*shapes, strict=True)
            for n in (whole // tile, tile // sub, sub)
        ]
        rank = len(self.shape)
        per_sub = self.mask.reshape(blocked).sum(axis=tuple(range(2, 3 * rank, 3)))
        tiles_first = per_sub.transpose([*range(0, 2 * rank, 2), *range(1, 2 * rank, 2)])
        per_tile = tiles_first.reshape(
            -1, math.prod(t // u for t, u in zip(tile_shape, sub_shape, strict=True))
        )
        counts = per_tile.sum(axis=1)
        empty = (per_tile == 0).mean(axis=1)
        known, inverse = np.unique(counts, return_inverse=True)
        fraction = np.bincount(inverse, weights=empty) / np.bincount(inverse)
        return known.astype(float), fraction

    def _measured_occupancy(self, tile_shape: tuple[int, ...]) -> Occupancy:
        assert self.mask is not None
        if len(tile_shape) != len(self.shape) or any(
            whole % part for whole, part in zip(self.shape, tile_shape, strict=True)
        ):
            # Tiles that do not divide the tensor: fall back to drawing without replacement.
            return _hypergeometric(self.size, self.nonzeros, math.prod(tile_shape))
        blocked = [
            n
            for whole, part in zip(self.shape, tile_shape, strict=True)
            for n in (whole // part, part)
        ]
        counts = self.mask.reshape(blocked).sum(axis=tuple(range(1, len(blocked), 2))).ravel()
        return _empirical(counts)


@dataclass(frozen=True)
class Occupancies:
    """What the analysis needs of one tile shape's occupancy, at each of several density
    points (arrays)."""

    prob_empty: np.ndarray
    max: np.ndarray


class DensityPoints:
    """One tensor's density at each point (see :mod:`sparsim.analysis.points`: a single
    point gives plain numbers). Occupancies are computed once per distinct density and tile
    shape, then spread to the points."""

    def __init__(self, specs: list[TensorDensity], shape: tuple[int, ...]):
        self.count = len(specs)
        self._occupancies: dict[tuple[int, ...], Occupancies] = {}
        if self.count == 1:
            self.models = [density_model(specs[0], shape)]
            return
        distinct: dict[TensorDensity, int] = {}
        self.index = np.array([distinct.setdefault(s, len(distinct)) for s in specs], dtype=int)
        self.models = [density_model(spec, shape) for spec in distinct]

    @cached_property
    def density(self) -> float | np.ndarray:
        if self.count == 1:
            return self.models[0].density
        return np.array([m.density for m in self.models])[self.index]

    def model_at(self, point: int) -> DensityModel:
        return self.models[0] if self.count == 1 else self.models[self.index[point]]

    def occupancy(self, tile_shape: tuple[int, ...]) -> Occupancy | Occupancies:
        if self.count == 1:
            return self.models[0].occupancy(tile_shape)
        if tile_shape not in self._occupancies:
            each = [m.occupancy(tile_shape) for m in self.models]
            self._occupancies[tile_shape] = Occupancies(
                np.array([o.prob_empty for o in each])[self.index],
                np.array([o.max for o in each], dtype=float)[self.index],
            )
        return self._occupancies[tile_shape]

    def expect(self, tile_shape: tuple[int, ...], function) -> float | np.ndarray:
        """E[function(occupancy)] of a tile of ``tile_shape`` at each point."""
        each = [m.occupancy(tile_shape).expect(function) for m in self.models]
        return each[0] if self.count == 1 else np.array(each)[self.index]


def density_model(spec: TensorDensity, shape: tuple[int, ...]) -> DensityModel:
    if spec.distribution != "measured":
        return DensityModel(spec, shape)
    mask = spec.load_mask()
    if mask.size != math.prod(shape):
        raise ValueError(f"measured tensor has {mask.size} elements, the workload needs {shape}")
    if in_timeloop_order(spec.measured or ""):  # the first rank fastest
        return DensityModel(spec, shape, mask.reshape(shape[::-1]).transpose())
    return DensityModel(spec, shape, mask.reshape(shape))


# Operation points a brute-force count of effectual computes may walk (a few seconds).
MAX_EFFECTUAL_POINTS = 1 << 28
_EFFECTUAL_CHUNK = 1 << 22


def effectual_fraction(problem, masks: dict[str, np.ndarray]) -> float:
    """The fraction of the problem's operation points where every tensor of ``masks``
    (nonzero masks, one axis per rank of its projection) is nonzero: the computes two
    measured operands really share, their correlation included. A contraction over the
    dimensions when each rank is one dimension (a GEMM, a 1x1 convolution), else a count
    over the operation points."""
    dims = problem.dims
    total = math.prod(dims.values())
    letters = {dim: chr(ord("a") + i) for i, dim in enumerate(dims)}
    subscripts, operands = [], []
    for tensor, mask in masks.items():
        ranks = [[d for d, _ in rank if dims[d] > 1] for rank in problem.tensors[tensor].ranks]
        if any(len(rank) > 1 for rank in ranks):
            return _counted_fraction(problem, masks)
        # A rank over size-1 dimensions is one coordinate: take it and drop the axis.
        operands.append(mask.reshape([mask.shape[i] for i, r in enumerate(ranks) if r]))
        subscripts.append("".join(letters[rank[0]] for rank in ranks if rank))
    used = set("".join(subscripts))
    rest = math.prod(size for dim, size in dims.items() if letters[dim] not in used)
    count = np.einsum(",".join(subscripts) + "->", *(m.astype(np.float64) for m in operands))
    return float(count) * rest / total


def _counted_fraction(problem, masks: dict[str, np.ndarray]) -> float:
    dims = problem.dims
    total = math.prod(dims.values())
    if total > MAX_EFFECTUAL_POINTS:
        raise ResourceLimitError(
            f"counting the computes two measured tensors share walks {total:,} operation "
            f"points, beyond sparsim's limit of {MAX_EFFECTUAL_POINTS:,}",
            "densities",
        )
    sizes = list(dims.values())
    found = 0
    for start in range(0, total, _EFFECTUAL_CHUNK):
        flat = np.arange(start, min(total, start + _EFFECTUAL_CHUNK))
        coordinates = dict(zip(dims, np.unravel_index(flat, sizes), strict=True))
        keep = np.ones(flat.size, dtype=bool)
        for tensor, mask in masks.items():
            index = tuple(
                sum(c * coordinates[d] for d, c in rank) for rank in problem.tensors[tensor].ranks
            )
            keep &= mask[index]
        found += int(keep.sum())
    return found / total
