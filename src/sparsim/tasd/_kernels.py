"""The numba kernel of the greedy N:M decomposition.

It works on the raw bits of the input (unsigned-integer views), so one kernel serves every
dtype and moves values bit for bit. Magnitudes come from the bits: for IEEE floats
(float16, bfloat16, float32, float64) ``|x|`` orders exactly like the bits with the sign
bit cleared (NaN ranks above inf); for int8 the two's-complement magnitude is computed
(``|-128| = 128``).

Every term of the series is applied to a chunk of the flattened input while it is in
cache: the input is read once and every output written once.
"""

from __future__ import annotations

import numba
import numpy as np

# Key of a position already kept by an earlier term (its residual is zero): below every
# magnitude, so a term reuses such a position only when its block has no other left.
TAKEN = -1
# Key of a position picked by the term being built: never picked twice.
PICKED = -2

TARGET_CHUNK = 4096
# Below this many elements one thread is faster than waking the others (and much faster
# when other processes keep the cores busy).
PARALLEL_MIN_ELEMENTS = 1 << 18


def chunk_length(period: int) -> int:
    """Elements per parallel work item: a whole number of series periods, about 4096."""
    return period * max(1, TARGET_CHUNK // period)


@numba.njit(inline="always")
def _magnitude(bits, magnitude_mask, twos_complement_half):
    value = np.int64(bits & magnitude_mask)
    if twos_complement_half and value >= twos_complement_half:
        value = 2 * twos_complement_half - value
    return value


@numba.njit(cache=True, nogil=True)
def _decompose_chunk(
    lo, hi, src, ns, ms, index_offsets, magnitude_mask, twos_complement_half, terms, residual,
    indices,
):  # fmt: skip
    """All terms of the series on ``src[lo:hi]`` (a whole number of series periods)."""
    key = np.empty(hi - lo, np.int64)
    for pos in range(lo, hi):
        bits = src[pos]
        residual[pos] = bits
        key[pos - lo] = _magnitude(bits, magnitude_mask, twos_complement_half)
    picks = np.empty(max(ns.max(), 1) if ns.size else 1, np.int64)
    for t in range(ns.shape[0]):
        n = ns[t]
        m = ms[t]
        term = terms[t]
        term[lo:hi] = 0
        slot = index_offsets[t] + (lo // m) * n
        for base in range(0, hi - lo, m):
            # n passes of argmax (compiled to conditional moves; ties keep the first, i.e.
            # lowest, index); the picks are kept in ascending order for the indices.
            for p in range(n):
                best = base
                best_key = key[base]
                for j in range(base + 1, base + m):
                    if key[j] > best_key:
                        best_key = key[j]
                        best = j
                key[best] = PICKED
                q = p
                while q > 0 and picks[q - 1] > best:
                    picks[q] = picks[q - 1]
                    q -= 1
                picks[q] = best
            for p in range(n):
                j = picks[p]
                term[lo + j] = residual[lo + j]
                residual[lo + j] = 0
                key[j] = TAKEN
                indices[slot + p] = j - base
            slot += n


@numba.njit(parallel=True, cache=True, nogil=True)
def _decompose_parallel(
    src, ns, ms, index_offsets, magnitude_mask, twos_complement_half, chunk, terms, residual,
    indices,
):  # fmt: skip
    total = src.shape[0]
    for c in numba.prange((total + chunk - 1) // chunk):
        _decompose_chunk(
            c * chunk, min((c + 1) * chunk, total), src, ns, ms, index_offsets,
            magnitude_mask, twos_complement_half, terms, residual, indices,
        )  # fmt: skip


def decompose_flat(
    src: np.ndarray,
    ns: np.ndarray,
    ms: np.ndarray,
    index_offsets: np.ndarray,
    magnitude_mask: np.unsignedinteger,
    twos_complement_half: int,
    period: int,
    terms: np.ndarray,
    residual: np.ndarray,
    indices: np.ndarray,
) -> None:
    """Greedy decomposition of ``src`` (flat, a whole number of series ``period``s long).

    Term ``t`` keeps, in every block of ``ms[t]`` elements, the ``ns[t]`` positions with
    the largest residual magnitude; ties go to positions no earlier term kept, then to the
    lower index. ``terms[t]`` and ``residual`` receive the bits, ``indices`` the kept
    positions within each block in ascending order (block ``b`` of term ``t`` at
    ``index_offsets[t] + b * ns[t]``).
    """
    args = (src, ns, ms, index_offsets, magnitude_mask, twos_complement_half)
    if src.size >= PARALLEL_MIN_ELEMENTS:
        _decompose_parallel(*args, chunk_length(period), terms, residual, indices)
    else:
        _decompose_chunk(0, src.size, *args, terms, residual, indices)
