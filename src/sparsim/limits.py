"""sparsim's documented size limits: beyond them a request is a ResourceLimitError, at once.

They keep every answer exact (integer counts below 2**53 stay exact in float64) and every
run short: no input may make sparsim compute for more than a few seconds per layer or
allocate more memory than a workstation has. See "Bad input and size limits" in the README.
"""

from __future__ import annotations

import math

from sparsim.errors import ResourceLimitError

MAX_DIMENSION = 2**31  # any GEMM/conv dimension, batch, group count or image size
MAX_MACS = 2**53  # dense multiply-accumulates of one workload (exact in float64)
MAX_CYCLES = 2**53  # cycles of one evaluation (exact in float64; a bandwidth far too small)
MAX_TENSOR_ELEMENTS = 2**28  # an in-memory tensor (1 GiB of float32)
MAX_STUDY_ELEMENTS = 2**24  # a matrix of `tasd study` (--size squared; ~1 GiB at its peak)
MAX_WORKERS = 256  # worker processes of one run (--workers, --jobs)
MAX_SERIES_TERMS = 16  # terms of a TASD series (series enumerations grow combinatorially)
MAX_CAPACITY = 2**48  # words or bits of one storage level (sweep memories)
MAX_BITS = 64  # a data word, and a rank format's metadata or payload word, in bits
MAX_REPETITIONS = 10_000  # random repetitions (seeds) of a study point
MAX_TEXT_BYTES = 64 * 2**20  # a text input read into memory (YAML, CSV, JSON)
MAX_FILE_BYTES = 4 * 2**30  # a binary input (tensor, checkpoint, model)
MAX_YAML_NODES = 1_000_000  # values of a YAML document, its aliases expanded
MAX_YAML_DEPTH = 100  # nesting of a YAML document


def check_at_most(value: int | float, limit: int, what: str, where: str) -> None:
    """``value <= limit`` or a ResourceLimitError naming ``where`` and the documented limit."""
    if value > limit:
        raise ResourceLimitError(
            f"{what}: {value:,} is beyond sparsim's limit of {limit:,} (see 'Bad input and "
            "size limits' in the README)",
            where,
        )


def check_elements(shape: tuple[int, ...], where: str) -> None:
    """An in-memory tensor of ``shape`` fits the limit on elements."""
    check_at_most(math.prod(shape), MAX_TENSOR_ELEMENTS, "tensor elements", where)
