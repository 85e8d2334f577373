"""TASD on the tensors of a network: which axis the N:M blocks run along, and a fast path.

Blocks run along the layer's input channels, the GEMM's reduction ``K``: the last axis of
a Linear's weight ``[out, in]`` and input ``[..., in]``; axis 1 of a Conv2d's weight
``[O, C, R, S]`` and input ``[B, C, H, W]`` (the im2col row of an output pixel, laid out
``R, S, C`` with channels fastest as in NHWC, then holds whole blocks). Lengths that are
not a multiple of M are padded with zeros.

Blocks never straddle filter positions: a conv's reduction ``C*R*S`` is ``R*S`` runs of
``C`` channels, each padded to a multiple of M on its own, so a layer with few channels
(an RGB stem, a depthwise conv with one channel per group) gains nothing from N:M, and
:func:`structured_macs` counts that padding. TASD-A is not defined for grouped convs: their
GEMMs reduce over the filter positions of one channel, not across channels.

Every series a TASD tensor core runs uses one block size M (its native patterns share
it). For such a series the sum of the greedy terms keeps, in each block, the
``N1 + N2 + ...`` entries of largest magnitude, ties to the lower index: that is computed
here in torch in one pass (:func:`approximate`), which matters for activations, decomposed
on every forward pass. Series mixing block sizes go through :func:`sparsim.tasd.decompose`.
The dropped nonzeros of every such series follow from one histogram of nonzeros per block
(:func:`dropped_nonzeros_by_kept`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from sparsim.errors import SparsimError
from sparsim.spec.workload import Conv, Gemm
from sparsim.tasd import Series, decompose


def block_axis(module: nn.Module) -> int:
    """The input-channel axis of the layer's weight and of its input."""
    return 1 if isinstance(module, nn.Conv2d) else -1


def check_activation_layer(name: str, module: nn.Module) -> None:
    if isinstance(module, nn.Conv2d) and module.groups > 1:
        raise SparsimError(
            f"{name!r} is a grouped conv (groups={module.groups}): its GEMMs reduce over the "
            "filter positions of one channel, so N:M blocks on its input channels do not "
            "apply; leave it out of TASD-A",
            "layers",
        )


def is_activation_layer(module: nn.Module) -> bool:
    return not (isinstance(module, nn.Conv2d) and module.groups > 1)


def structured_macs(workload: Conv | Gemm, series: Series) -> int:
    """MACs of a layer on a TASD tensor core: per output and filter position, every term
    N:M runs N of each (padded) block of M of the reduction's channels."""
    if series.is_dense:
        return workload.macs
    if isinstance(workload, Conv):
        gemm = workload.as_gemm()
        rows = gemm.M * gemm.N * gemm.count * workload.R * workload.S
        length = workload.C // workload.groups
    else:
        rows = workload.M * workload.N * workload.count
        length = workload.K
    return sum(rows * math.ceil(length / p.m) * p.n for p in series.patterns)


def single_block_size(series: Series) -> int | None:
    sizes = {p.m for p in series.kernel_patterns}
    return sizes.pop() if len(sizes) == 1 else None


def _blocks(x: torch.Tensor, axis: int, m: int) -> tuple[torch.Tensor, int]:
    """``x`` with ``axis`` moved last and split into blocks ``[..., blocks, m]`` (zero
    padded, contiguous); also the original length along ``axis``."""
    moved = x.movedim(axis, -1)
    length = moved.shape[-1]
    pad = -length % m
    moved = nn.functional.pad(moved, (0, pad)) if pad else moved.contiguous()
    return moved.reshape(*moved.shape[:-1], -1, m), length


@dataclass(frozen=True)
class BlockRanks:
    """Each entry's place in its block's order (larger magnitude first, ties to the lower
    index): keeping the ``n`` first of every block is then one comparison, which lets the
    greedy search try every series of a layer for the price of one sort."""

    blocks: torch.Tensor
    ranks: torch.Tensor
    axis: int
    length: int

    @classmethod
    def of(cls, x: torch.Tensor, axis: int, m: int) -> BlockRanks:
        blocks, length = _blocks(x, axis, m)
        order = torch.sort(blocks.abs(), dim=-1, descending=True, stable=True).indices
        positions = torch.arange(m, dtype=torch.uint8).expand_as(order)
        ranks = torch.empty(order.shape, dtype=torch.uint8).scatter_(-1, order, positions)
        return cls(blocks, ranks, axis, length)

    def keep(self, n: int) -> torch.Tensor:
        """The tensor with only the ``n`` first entries of every block (same shape as x; a
        strided view, copied once by whoever stores it)."""
        kept = self.blocks * (self.ranks < n)
        flat = kept.reshape(*kept.shape[:-2], -1)[..., : self.length]
        return flat.movedim(-1, self.axis)


def kept_per_block(series: Series) -> int:
    """``N1 + N2 + ...`` of a single-block-size series, at most M."""
    return min(sum(p.n for p in series.patterns), series.patterns[0].m)


def approximate(x: torch.Tensor, series: Series, axis: int) -> torch.Tensor:
    """The sum of the TASD terms of ``x`` (same shape and dtype)."""
    if series.is_dense:
        return x
    if not series.patterns:
        return torch.zeros_like(x)
    m = single_block_size(series)
    if m is None:
        return decompose(x.detach().cpu(), series, axis, pad=True).approximation.to(x.dtype)
    kept = kept_per_block(series)
    if kept == m:
        return x
    return BlockRanks.of(x, axis, m).keep(kept)


def nonzeros_per_block(x: torch.Tensor, axis: int, m: int) -> np.ndarray:
    """Histogram: how many blocks of M hold 0, 1, ..., M nonzeros."""
    blocks, _ = _blocks((x.detach() != 0).to(torch.uint8), axis, m)
    counts = blocks.sum(-1, dtype=torch.uint8).flatten().numpy()
    return np.bincount(counts, minlength=m + 1)


def dropped_nonzeros_by_kept(histogram: np.ndarray) -> np.ndarray:
    """``dropped[n]``: nonzeros lost when each block keeps its ``n`` largest entries
    (``n = 0..M``), from the histogram of nonzeros per block."""
    m = len(histogram) - 1
    counts = np.arange(m + 1)
    return np.array([(np.maximum(counts - n, 0) * histogram).sum() for n in range(m + 1)])
