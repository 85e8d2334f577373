"""Greedy TASD decomposition: x = term_1 + term_2 + ... + residual.

Term ``k`` of a series ``N1:M1+N2:M2+...`` keeps, in every block of ``Mk`` consecutive
elements along the chosen axis, the ``Nk`` entries of largest magnitude of the current
residual (what the earlier terms left). Every term keeps exactly ``Nk`` positions per
block, chosen deterministically:

1. larger magnitude first (NaN ranks above inf);
2. on equal magnitude, a position no earlier term kept comes before one that was kept
   (only then can a term be forced to reuse a position, e.g. 4:8 followed by 3:4: the
   reused position holds zero in the term);
3. then the lower index.

Values move bit for bit: every element of x lands unchanged in exactly one of the terms
or the residual, and the other outputs hold +0 there. Hence ``sum(terms) + residual``
reproduces x exactly (a -0.0 comes back as +0.0, the only bit that can change).

Blocks run along ``axis``; a tuple of axes is flattened in the order given (last fastest),
e.g. ``axis=(1, 2, 3)`` for a conv weight ``[O, C, R, S]`` gives blocks along its C*R*S
reduction in ``weight.reshape(O, -1)`` order. If the length is not a multiple of every M,
``pad=False`` (the default) refuses and ``pad=True`` appends zeros up to a multiple of the
series period (the lcm of the Ms), decomposes, and crops them off again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from sparsim.errors import SparsimError, SpecError
from sparsim.tasd._arrays import bit_view, like
from sparsim.tasd.series import DEFAULT_MAX_TERMS, Pattern, Series, as_series

AxisLike = int | tuple[int, ...] | list[int]


def normalize_axes(axis: AxisLike, ndim: int) -> tuple[int, ...]:
    """Non-negative axes in the order given; a clear error for a wrong or repeated axis."""
    if ndim == 0:
        raise SpecError("a 0-dimensional tensor has no axis to decompose along", "x")
    if isinstance(axis, int | np.integer):
        axes: tuple = (axis,)
    elif isinstance(axis, tuple | list):
        axes = tuple(axis)
    else:
        raise SparsimError(f"axis must be an integer or a tuple of integers, got {axis!r}")
    if not axes:
        raise SparsimError("at least one axis is needed")
    normalized = []
    for a in axes:
        if not isinstance(a, int | np.integer) or isinstance(a, bool):
            raise SparsimError(f"axis must be an integer, got {a!r}")
        if not -ndim <= a < ndim:
            raise SpecError(
                f"axis {a} is out of range for a {ndim}-dimensional tensor "
                f"(valid: {-ndim}..{ndim - 1})",
                "axis",
            )
        normalized.append(int(a) % ndim)
    if len(set(normalized)) != len(normalized):
        raise SparsimError(f"axis {axes} repeats an axis")
    return tuple(normalized)


@dataclass(frozen=True)
class BlockLayout:
    """How a tensor is seen as rows of blocks: the block axes moved last and flattened."""

    shape: tuple[int, ...]
    axes: tuple[int, ...]

    @property
    def other_shape(self) -> tuple[int, ...]:
        return tuple(s for i, s in enumerate(self.shape) if i not in self.axes)

    @property
    def length(self) -> int:
        return math.prod(self.shape[a] for a in self.axes)

    @property
    def n_rows(self) -> int:
        return math.prod(self.other_shape)

    @property
    def _moved_axes(self) -> tuple[int, ...]:
        ndim = len(self.shape)
        return tuple(range(ndim - len(self.axes), ndim))

    def to_rows(self, a: np.ndarray) -> np.ndarray:
        """``a`` (of ``shape``) as ``(n_rows, length)``; a view when the axes are already last."""
        moved = np.moveaxis(a, self.axes, self._moved_axes)
        return moved.reshape(self.n_rows, self.length)

    def from_rows(self, rows: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_rows`, C-contiguous."""
        moved_shape = self.other_shape + tuple(self.shape[a] for a in self.axes)
        moved = rows.reshape(moved_shape)
        return np.ascontiguousarray(np.moveaxis(moved, self._moved_axes, self.axes))

    def _block_indices(self, indices: np.ndarray) -> np.ndarray:
        """``(*other axes, blocks, N)`` in-block indices as ``(n_rows, blocks, N)`` intp."""
        return indices.reshape(self.n_rows, *indices.shape[-2:]).astype(np.intp)

    def gather(self, a: np.ndarray, indices: np.ndarray, m: int) -> np.ndarray:
        """The entries of ``a`` (of ``shape``) at in-block ``indices`` (zero when padded)."""
        rows = self.to_rows(a)
        n_blocks = indices.shape[-2]
        padded = np.zeros((self.n_rows, n_blocks * m), rows.dtype)
        padded[:, : self.length] = rows
        blocks = padded.reshape(self.n_rows, n_blocks, m)
        return np.take_along_axis(blocks, self._block_indices(indices), axis=-1).reshape(
            indices.shape
        )

    def scatter(self, indices: np.ndarray, values: np.ndarray, m: int) -> np.ndarray:
        """A tensor of ``shape`` holding ``values`` at in-block ``indices``, zero elsewhere
        (padded positions are cropped)."""
        n_blocks = indices.shape[-2]
        blocks = np.zeros((self.n_rows, n_blocks, m), values.dtype)
        block_indices = self._block_indices(indices)
        np.put_along_axis(blocks, block_indices, values.reshape(block_indices.shape), axis=-1)
        return self.from_rows(blocks.reshape(self.n_rows, -1)[:, : self.length])


def check_length(layout: BlockLayout, series: Series, pad: bool) -> int:
    """The padded length along the blocks: ``length`` itself unless padding is needed."""
    period = series.block_lcm
    length = layout.length
    if length % period == 0:
        return length
    if not pad:
        where = "axis " + ",".join(map(str, layout.axes))
        pattern = next(p for p in series.kernel_patterns if length % p.m)
        raise SparsimError(
            f"length {length} is not a multiple of M={pattern.m} (pattern {pattern}); "
            f"pass pad=True (CLI: --pad) to pad with zeros up to a multiple of {period}, "
            "or choose another axis",
            where,
        )
    return -(-length // period) * period


def index_dtype(series: Series) -> type[np.integer]:
    largest = max((p.m for p in series.kernel_patterns), default=1)
    return np.uint8 if largest <= 256 else np.int32


@dataclass(frozen=True)
class CompressedTerm:
    """One term as N:M hardware stores it: per block, N values and their N positions.

    ``values`` and ``indices`` have shape ``(*other axes, blocks, N)``: the block axes are
    moved last and flattened (see :class:`BlockLayout`); ``indices`` hold positions
    ``0..M-1`` within each block, ascending. With padding, the last block may point at
    padded positions, whose value is zero.
    """

    pattern: Pattern
    values: Any
    indices: Any
    layout: BlockLayout

    def to_dense(self) -> Any:
        """Scatter back to the shape of x (the term itself)."""
        dense = self.layout.scatter(_numpy(self.indices), _numpy(self.values), self.pattern.m)
        return _restore(self.values, dense)


def _numpy(a: Any) -> np.ndarray:
    if isinstance(a, np.ndarray):
        return a
    import torch

    if a.dtype == torch.bfloat16:
        return a.view(torch.int16).numpy()
    return a.numpy()


def _restore(like_this: Any, array: np.ndarray) -> Any:
    """``array`` in the framework and dtype family of ``like_this`` (bfloat16 aware)."""
    if isinstance(like_this, np.ndarray):
        return array
    import torch

    tensor = torch.from_numpy(array)
    return tensor.view(torch.bfloat16) if like_this.dtype == torch.bfloat16 else tensor


@dataclass(frozen=True)
class Decomposition:
    """The result of :func:`decompose`: ``x == sum(terms) + residual`` exactly."""

    series: Series
    layout: BlockLayout
    terms: list[Any]
    residual: Any
    block_indices: tuple[np.ndarray, ...]

    @property
    def axis(self) -> tuple[int, ...]:
        return self.layout.axes

    @property
    def approximation(self) -> Any:
        """The sum of the terms (the structured approximation of x)."""
        total = _restore(self.residual, np.zeros_like(_numpy(self.residual)))
        for term in self.terms:
            total += term
        return total

    @cached_property
    def compressed(self) -> list[CompressedTerm]:
        """Each term in compressed form (values + in-block indices)."""
        return [
            CompressedTerm(
                pattern,
                _restore(term, self.layout.gather(_numpy(term), indices, pattern.m)),
                like(term, indices),
                self.layout,
            )
            for pattern, term, indices in zip(
                self.series.kernel_patterns, self.terms, self.block_indices, strict=True
            )
        ]

    @cached_property
    def masks(self) -> list[Any]:
        """Positions each term keeps (exactly N per block of M, before cropping any padding)."""
        return [
            like(term, self.layout.scatter(indices, np.ones(indices.shape, bool), pattern.m))
            for pattern, term, indices in zip(
                self.series.kernel_patterns, self.terms, self.block_indices, strict=True
            )
        ]


def decompose(
    x: Any,
    series: Series | Pattern | str,
    axis: AxisLike = -1,
    *,
    pad: bool = False,
    max_terms: int = DEFAULT_MAX_TERMS,
) -> Decomposition:
    """Decompose ``x`` (numpy array or CPU torch tensor) into the terms of ``series``.

    ``series`` is a :class:`Series`, a :class:`Pattern` or text such as ``"2:4+2:8"``,
    ``"dense"`` or ``"none"`` (N = elements kept per block of M). Terms and residual have
    the type, dtype and shape of ``x``; see the module docstring for the exact rule.
    """
    series = as_series(series, max_terms)
    view = bit_view(x)
    layout = BlockLayout(tuple(view.bits.shape), normalize_axes(axis, view.bits.ndim))
    padded_length = check_length(layout, series, pad)
    patterns = series.kernel_patterns

    rows = layout.to_rows(view.bits)
    if padded_length != layout.length:
        src = np.zeros((layout.n_rows, padded_length), rows.dtype)
        src[:, : layout.length] = rows
    else:
        src = np.ascontiguousarray(rows)
    total = src.size

    ns = np.array([p.n for p in patterns], np.int64)
    ms = np.array([p.m for p in patterns], np.int64)
    slots = [total // p.m * p.n for p in patterns]
    offsets = np.cumsum([0, *slots], dtype=np.int64)[:-1]
    terms = np.empty((len(patterns), total), src.dtype)
    residual = np.empty(total, src.dtype)
    indices = np.empty(sum(slots), index_dtype(series))
    # numba takes ~0.1 s to import: only commands that decompose pay for it.
    from sparsim.tasd import _kernels

    _kernels.decompose_flat(
        src.reshape(-1),
        ns,
        ms,
        offsets,
        view.magnitude_mask,
        view.twos_complement_half,
        series.block_lcm,
        terms,
        residual,
        indices,
    )

    def back(flat: np.ndarray) -> Any:
        padded_rows = flat.reshape(layout.n_rows, padded_length)
        return view.wrap(layout.from_rows(padded_rows[:, : layout.length]))

    block_indices = []
    for pattern, offset, size in zip(patterns, offsets, slots, strict=True):
        per_row = indices[offset : offset + size].reshape(
            layout.n_rows, padded_length // pattern.m, pattern.n
        )
        n_blocks = -(-layout.length // pattern.m)
        block_indices.append(
            per_row[:, :n_blocks].reshape(*layout.other_shape, n_blocks, pattern.n)
        )
    return Decomposition(
        series=series,
        layout=layout,
        terms=[back(term) for term in terms],
        residual=back(residual),
        block_indices=tuple(block_indices),
    )
