"""What a design makes of the tensors it is given, and the sparse features it switches on.

The rules follow the artifact's design-to-scheme table (see ``docs/designs.md``):

* weights (A): a design that exploits no weight sparsity treats them as dense. A design
  with N:M support runs N:M weights with the sparsest supported pattern that is at least
  as dense as the tensor (STC runs 2:6 and 2:8 weights as 2:4; STC-flexible runs 1:8 as
  2:8); weights denser than every supported pattern, or unstructured, are run dense.
  A design with ``any`` support keeps the tensor's own density model.
* activations (B): kept as given (hypergeometric for a plain density) only by designs that
  exploit activation sparsity; the others treat them as dense.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sparsim.designs.catalog import Design
from sparsim.errors import UnknownNameError
from sparsim.spec.sparse_optimizations import (
    ActionOptimization,
    LevelSparseOptimization,
    RankFormat,
)
from sparsim.spec.sparsity import TensorDensity, parse_density

TOLERANCE = 1e-9
# RLE run-length bits per pattern block size, as in the artifact (2:6 runs in 2 bits).
RLE_BITS = {4: 2, 6: 2, 8: 3}
INPUT_ROLES = {"A": "weights", "B": "input activations"}

DENSE = TensorDensity()


@dataclass(frozen=True)
class Scheme:
    """The densities a design computes with, and the N:M pattern it runs weights as."""

    weights: TensorDensity
    activations: TensorDensity
    pattern: tuple[int, int] | None  # for N:M designs: the pattern weights run as

    @property
    def densities(self) -> dict[str, TensorDensity]:
        return {"A": self.weights, "B": self.activations}


def parse_densities(densities: dict | None) -> dict[str, TensorDensity]:
    """User densities (``{"A": "2:4", "B": 0.82}``) as density models, keys A and B only."""
    parsed: dict[str, TensorDensity] = {}
    for key, value in (densities or {}).items():
        tensor = str(key).strip().upper()
        if tensor not in INPUT_ROLES:
            raise UnknownNameError(
                f"unknown tensor {key!r} (A = weights, B = input activations)", "density"
            )
        if isinstance(value, TensorDensity):
            parsed[tensor] = value
        else:
            parsed[tensor] = parse_density(value, f"density {tensor}")
    return parsed


def _pattern_for(design: Design, weights: TensorDensity) -> tuple[int, int] | None:
    if weights.distribution != "fixed-structured" or weights.density >= 1.0 - TOLERANCE:
        return None
    fitting = [
        (n, m)
        for n, m in design.weight_patterns  # type: ignore[union-attr]
        if n / m >= weights.density - TOLERANCE
    ]
    return min(fitting, key=lambda p: p[0] / p[1]) if fitting else None


def scheme_for(design: Design, densities: dict | None) -> Scheme:
    given = parse_densities(densities)
    weights = given.get("A", DENSE)
    activations = given.get("B", DENSE) if design.exploits_activations else DENSE
    pattern = None
    if design.weight_patterns is None:
        weights = DENSE
    elif design.weight_patterns != "any":
        pattern = _pattern_for(design, weights)
        weights = (
            DENSE
            if pattern is None
            else TensorDensity(
                distribution="fixed-structured",
                density=pattern[0] / pattern[1],
                n=pattern[0],
                m=pattern[1],
            )
        )
    return Scheme(weights, activations, pattern)


def metadata_bits(design: Design, pattern: tuple[int, int]) -> int:
    """Bits per weight coordinate: CP offsets address a block of M, RLE as in the artifact."""
    block = pattern[1]
    if design.weight_format == "RLE" and block in RLE_BITS:
        return RLE_BITS[block]
    return max(1, math.ceil(math.log2(block)))


def _uop(count: int) -> list[RankFormat]:
    return [RankFormat(format="UOP", payload_word_bits=0) for _ in range(count)]


def _bitmask_ranks(outer_uop: int) -> list[RankFormat]:
    """UOP offsets above two bitmask ranks (the innermost carries the 1-bit mask)."""
    return [
        *_uop(outer_uop),
        RankFormat(format="B", metadata_word_bits=0, payload_word_bits=0),
        RankFormat(format="B", metadata_word_bits=1, payload_word_bits=0),
    ]


def _tensor_core_optimizations(design: Design, scheme: Scheme) -> list[LevelSparseOptimization]:
    if not design.exploits_weights:
        return []
    dram, smem = design.level_name("backing-store"), design.level_name("shared-buffer")
    rf, lrf = design.level_name("accumulator"), design.level_name("pe-register")
    formats: dict[str, dict[str, list[RankFormat]]] = {dram: {}, smem: {}, lrf: {}}
    if scheme.pattern is not None:
        bits = metadata_bits(design, scheme.pattern)
        coordinate = RankFormat(format=design.weight_format, metadata_word_bits=bits)  # type: ignore[arg-type]
        formats[dram]["A"] = [*_uop(6), coordinate]
        formats[smem]["A"] = [*_uop(4), coordinate]
        formats[lrf]["A"] = [coordinate]
    if design.exploits_activations:
        formats[dram]["B"] = _bitmask_ranks(6)
        formats[smem]["B"] = _bitmask_ranks(4)
    skip = [
        ActionOptimization(type="skipping-spatial", target=target, condition_on=["A"])
        for target in ("B", "Z")
    ]
    return [
        LevelSparseOptimization(level=dram, formats=formats[dram]),
        LevelSparseOptimization(level=smem, formats=formats[smem]),
        LevelSparseOptimization(level=rf, actions=skip),
        LevelSparseOptimization(level=lrf, formats=formats[lrf]),
    ]


def _dstc_ranks(tensor: str, outer_uop: int | None) -> list[RankFormat]:
    row = "M" if tensor == "A" else "N"
    ranks = [
        RankFormat(format="B", metadata_word_bits=0, payload_word_bits=0, flattened_ranks=[row]),
        RankFormat(format="B", metadata_word_bits=1, flattened_ranks=[row]),
    ]
    if outer_uop is None:
        return ranks
    return [
        *_uop(outer_uop),
        RankFormat(format="B", metadata_word_bits=1, payload_word_bits=0, flattened_ranks=["K"]),
        *ranks,
    ]


def _dstc_optimizations(design: Design, scheme: Scheme) -> list[LevelSparseOptimization]:
    sparse = [t for t, d in scheme.densities.items() if d.density < 1.0 - TOLERANCE]
    dram, smem = design.level_name("backing-store"), design.level_name("shared-buffer")
    return [
        LevelSparseOptimization(level=dram, formats={t: _dstc_ranks(t, 5) for t in sparse}),
        LevelSparseOptimization(level=smem, formats={t: _dstc_ranks(t, 3) for t in sparse}),
        LevelSparseOptimization(
            level=design.level_name("accumulator"),
            actions=[ActionOptimization(type="skipping", target="Z", condition_on=["A", "B"])],
        ),
        LevelSparseOptimization(
            level=design.level_name("pe-register"),
            formats={t: _dstc_ranks(t, None) for t in sparse},
            actions=[
                ActionOptimization(type="position-skipping", target=t, condition_on=[])
                for t in ("A", "B")
            ],
        ),
    ]


def sparse_optimizations(design: Design, scheme: Scheme) -> list[LevelSparseOptimization]:
    if design.dataflow == "output-stationary":
        return _dstc_optimizations(design, scheme)
    return _tensor_core_optimizations(design, scheme)
