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
here in one pass (:func:`approximate`), which matters for activations, decomposed on
every forward pass: floating-point CPU tensors go through numba kernels that rank each
block by counting, without sorting or moving the channel axis (:func:`keep_largest`;
several times faster than a sort), others through a torch sort. Series mixing block sizes
go through :func:`sparsim.tasd.decompose`.
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


def module_name(call_name: str) -> str:
    """``layer#2`` (second call of a shared layer) -> ``layer``."""
    return call_name.split("#", 1)[0]


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
    def of(cls, x: torch.Tensor, axis: int, m: int, key: torch.Tensor | None = None) -> BlockRanks:
        """Ranks by ``|x|``, or by ``key`` (nonnegative, shaped like ``x``)."""
        blocks, length = _blocks(x, axis, m)
        scores = blocks.abs() if key is None else _blocks(key, axis, m)[0]
        order = torch.sort(scores, dim=-1, descending=True, stable=True).indices
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
    return keep_largest(x, kept, m, axis)


# torch float dtype -> (integer dtype of the same width, mask clearing the sign bit)
_BITS = {
    torch.float16: (torch.int16, 0x7FFF),
    torch.bfloat16: (torch.int16, 0x7FFF),
    torch.float32: (torch.int32, 0x7FFF_FFFF),
    torch.float64: (torch.int64, 0x7FFF_FFFF_FFFF_FFFF),
}


def keep_largest(
    x: torch.Tensor, n: int, m: int, axis: int, key: torch.Tensor | None = None
) -> torch.Tensor:
    """``x`` with only the ``n`` entries of largest ``key`` (default ``|x|``; ties to the
    lower index) of every block of ``m`` along ``axis``, the others zero.

    ``key`` (same shape and dtype, nonnegative) ranks the entries by another score, e.g.
    their output impact. Floating-point CPU tensors without autograd use the numba
    kernels; others sort."""
    if key is not None and (key.shape != x.shape or key.dtype != x.dtype):
        raise SparsimError(
            f"key {tuple(key.shape)} {key.dtype} does not match x {tuple(x.shape)} {x.dtype}",
            "key",
        )
    if x.dtype not in _BITS or x.device.type != "cpu" or x.requires_grad or x.dim() == 0:
        return BlockRanks.of(x, axis, m, key).keep(n)
    from sparsim.tasder import _kernels  # numba takes ~0.1 s to import

    bits, mask = _BITS[x.dtype]
    axis = axis % x.dim()
    channels_last = (
        axis == 1 and x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
    )
    layout = torch.channels_last if channels_last else torch.contiguous_format
    x = x.contiguous(memory_format=layout)
    key = x if key is None else key.contiguous(memory_format=layout)
    out = torch.empty_like(x, memory_format=layout)
    views = [_kernel_view(t, axis, bits, channels_last) for t in (key, x, out)]
    kernel = _kernels.keep_largest_rows if views[0].ndim == 2 else _kernels.keep_largest_strided
    kernel(*views, np.array(mask, dtype=views[0].dtype), m, n)
    return out


def _kernel_view(x: torch.Tensor, axis: int, bits: torch.dtype, channels_last: bool) -> np.ndarray:
    """The integer bits of ``x``, sharing memory: ``[rows, length]`` when the blocks are
    contiguous (channels-last conv input, blocks along the last axis), else ``[outer,
    length, inner]``, with ``length`` along ``axis``."""
    if channels_last:
        return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1]).view(bits).numpy()
    outer = math.prod(x.shape[:axis])
    inner = math.prod(x.shape[axis + 1 :])
    if inner == 1:
        return x.reshape(outer, x.shape[axis]).view(bits).numpy()
    return x.view(bits).numpy().reshape(outer, x.shape[axis], inner)


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
