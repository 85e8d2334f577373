"""Pruning baselines next to TASD: N:M, unstructured magnitude, block and channel pruning.

Every function returns the keep-mask and the pruned tensor, in the type of the input
(numpy array or CPU torch tensor). Scores are magnitudes (the L1 norm of a block or a
channel); ties keep the lower index, so results are deterministic. ``sparsity`` is the
fraction of units (elements, blocks, channels) removed: ``round(sparsity * units)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sparsim.errors import SparsimError
from sparsim.tasd._arrays import as_float64, check_array, is_torch, like
from sparsim.tasd.decompose import AxisLike, decompose, normalize_axes
from sparsim.tasd.series import Pattern, Series


@dataclass(frozen=True)
class PruneResult:
    mask: Any
    pruned: Any

    @property
    def sparsity(self) -> float:
        """Fraction of zeros in the pruned tensor."""
        values = as_float64(self.pruned)
        return 1 - int(np.count_nonzero(values)) / values.size if values.size else 0.0


def nm_prune(
    x: Any, pattern: Pattern | str, axis: AxisLike = -1, *, pad: bool = False
) -> PruneResult:
    """Keep the N largest-magnitude entries of every block of M along ``axis``.

    The mask has exactly N True per block (padding aside), even where the block has fewer
    than N nonzeros.
    """
    if isinstance(pattern, str):
        pattern = Pattern.parse(pattern)
    result = decompose(x, Series((pattern,)), axis, pad=pad)
    return PruneResult(result.masks[0], result.terms[0])


def _check_sparsity(sparsity: float) -> None:
    if not 0 <= sparsity <= 1:
        raise SparsimError(f"must be between 0 and 1, got {sparsity}", "sparsity")


def _keep_largest(scores: np.ndarray, keep: int) -> np.ndarray:
    """Mask of the ``keep`` largest scores of a flat array; ties keep the lower index."""
    mask = np.zeros(scores.size, bool)
    if keep <= 0:
        return mask
    if keep >= scores.size:
        mask[:] = True
        return mask
    threshold = np.partition(scores, scores.size - keep)[scores.size - keep]
    mask[scores > threshold] = True
    ties = np.flatnonzero(scores == threshold)
    mask[ties[: keep - np.count_nonzero(mask)]] = True
    return mask


def _apply(x: Any, keep: np.ndarray) -> PruneResult:
    """Zero ``x`` outside ``keep`` (a numpy bool mask of x's shape)."""
    keep = np.ascontiguousarray(keep)
    if is_torch(x):
        import torch

        mask = like(x, keep)
        return PruneResult(mask, torch.where(mask, x.detach(), torch.zeros((), dtype=x.dtype)))
    return PruneResult(keep, np.where(keep, x, np.zeros((), x.dtype)))


def _units_kept(count: int, sparsity: float) -> int:
    return count - round(sparsity * count)


def magnitude_prune(x: Any, sparsity: float) -> PruneResult:
    """Unstructured pruning of one tensor: remove the smallest magnitudes."""
    return global_magnitude_prune([x], sparsity)[0]


def global_magnitude_prune(tensors: Sequence[Any], sparsity: float) -> list[PruneResult]:
    """Unstructured pruning with one threshold across all ``tensors`` (e.g. every layer of
    a model), so layers with small weights lose more."""
    _check_sparsity(sparsity)
    for i, x in enumerate(tensors):
        check_array(x, f"tensors[{i}]")
    scores = [np.abs(as_float64(x)).reshape(-1) for x in tensors]
    flat = np.concatenate(scores) if scores else np.zeros(0)
    keep = _keep_largest(flat, _units_kept(flat.size, sparsity))
    results, start = [], 0
    for x, score in zip(tensors, scores, strict=True):
        part = keep[start : start + score.size].reshape(tuple(x.shape))
        results.append(_apply(x, part))
        start += score.size
    return results


def block_prune(x: Any, block: Sequence[int], sparsity: float) -> PruneResult:
    """Remove whole blocks (e.g. ``(1, 4)`` or ``(4, 4)``) of smallest L1 norm.

    ``block`` applies to the last ``len(block)`` axes (leading axes get 1); each block
    dimension must divide its axis.
    """
    _check_sparsity(sparsity)
    check_array(x)
    shape = tuple(x.shape)
    block = tuple(int(b) for b in block)
    if not block or len(block) > len(shape):
        raise SparsimError(
            f"needs between 1 and {len(shape)} dimensions for a tensor of shape {shape}, "
            f"got {block}",
            "block",
        )
    full_block = (1,) * (len(shape) - len(block)) + block
    for axis, (size, b) in enumerate(zip(shape, full_block, strict=True)):
        if b < 1 or size % b:
            raise SparsimError(
                f"block size {b} does not divide the length {size} of axis {axis}", "block"
            )
    grid = tuple(size // b for size, b in zip(shape, full_block, strict=True))
    interleaved = tuple(d for pair in zip(grid, full_block, strict=True) for d in pair)
    magnitudes = np.abs(as_float64(x)).reshape(interleaved)
    scores = magnitudes.sum(axis=tuple(range(1, 2 * len(shape), 2))).reshape(-1)
    keep_blocks = _keep_largest(scores, _units_kept(scores.size, sparsity)).reshape(grid)
    keep = keep_blocks.reshape(tuple(d for g in grid for d in (g, 1)))
    keep = np.broadcast_to(keep, interleaved).reshape(shape)
    return _apply(x, keep)


def channel_prune(x: Any, sparsity: float, axis: int = 0) -> PruneResult:
    """Remove whole slices along ``axis`` of smallest L1 norm: ``axis=0`` prunes filters
    (output channels) of a weight ``[O, C, ...]``, ``axis=1`` its input channels."""
    check_array(x)
    (axis,) = normalize_axes(axis, len(x.shape))
    block = tuple(1 if a == axis else size for a, size in enumerate(x.shape))
    if math.prod(x.shape) == 0:
        return _apply(x, np.ones(tuple(x.shape), bool))
    return block_prune(x, block, sparsity)
