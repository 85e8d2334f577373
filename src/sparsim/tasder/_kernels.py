"""The numba kernel behind TASD-A: keep the N largest entries of every block, in place of
a full sort.

When the blocks are strided (an NCHW conv input seen as ``[batch, C, H*W]``),
:func:`keep_largest_strided` takes one block of ``M`` channels for up to ``CHUNK`` pixels
per work item and ranks the block's entries by counting, in loops over the pixels that
LLVM vectorises. When they are contiguous (a Linear input ``[rows, K]``, a channels-last
conv input ``[pixels, C]``), :func:`keep_largest_rows` ranks each block in registers. The
entries of rank below N are written, the others are zero. Keys are the integer bits of the magnitudes: for IEEE
floats ``|x|`` orders exactly like its bits with the sign cleared, so the order (larger
first, ties to the lower index) is the one :func:`sparsim.tasd.decompose` uses.
"""

from __future__ import annotations

import numba
import numpy as np

CHUNK = 2048


@numba.njit(parallel=True, cache=True, nogil=True)
def keep_largest_strided(keys, values, out, magnitude_mask, m, n):  # pragma: no cover - compiled
    """``out[o, c, p] = values[o, c, p]`` where the entry ranks below ``n`` in its block of
    ``m`` channels by ``keys & magnitude_mask`` (larger first, ties to the lower channel),
    else 0. A last block shorter than ``m`` behaves as if padded with zeros."""
    outer, length, inner = values.shape
    blocks = (length + m - 1) // m
    chunks = (inner + CHUNK - 1) // CHUNK
    for item in numba.prange(outer * blocks * chunks):
        o = item // (blocks * chunks)
        rest = item % (blocks * chunks)
        lo = (rest // chunks) * m
        p0 = (rest % chunks) * CHUNK
        width = min(CHUNK, inner - p0)
        size = min(m, length - lo)
        if n >= size:
            for i in range(size):
                for p in range(width):
                    out[o, lo + i, p0 + p] = values[o, lo + i, p0 + p]
            continue
        key = np.empty((size, width), keys.dtype)
        for i in range(size):
            for p in range(width):
                key[i, p] = keys[o, lo + i, p0 + p] & magnitude_mask
        rank = np.zeros((size, width), np.int32)
        for i in range(size):
            mine = key[i]
            ranks = rank[i]
            for j in range(size):
                other = key[j]
                if j < i:
                    for p in range(width):
                        ranks[p] += other[p] >= mine[p]
                elif j > i:
                    for p in range(width):
                        ranks[p] += other[p] > mine[p]
        zero = values.dtype.type(0)
        for i in range(size):
            for p in range(width):
                kept = rank[i, p] < n
                out[o, lo + i, p0 + p] = values[o, lo + i, p0 + p] if kept else zero


ROWS_PER_ITEM = 64


@numba.njit(parallel=True, cache=True, nogil=True)
def keep_largest_rows(keys, values, out, magnitude_mask, m, n):  # pragma: no cover - compiled
    """As :func:`keep_largest_strided` on ``[rows, length]`` arrays (blocks contiguous)."""
    rows, length = values.shape
    blocks = (length + m - 1) // m
    zero = values.dtype.type(0)
    for item in numba.prange((rows + ROWS_PER_ITEM - 1) // ROWS_PER_ITEM):
        key = np.empty(m, keys.dtype)
        for r in range(item * ROWS_PER_ITEM, min(rows, (item + 1) * ROWS_PER_ITEM)):
            for b in range(blocks):
                lo = b * m
                size = min(m, length - lo)
                if n >= size:
                    for i in range(size):
                        out[r, lo + i] = values[r, lo + i]
                    continue
                for i in range(size):
                    key[i] = keys[r, lo + i] & magnitude_mask
                for i in range(size):
                    rank = 0
                    for j in range(size):
                        rank += (key[j] > key[i]) or (key[j] == key[i] and j < i)
                    out[r, lo + i] = values[r, lo + i] if rank < n else zero
