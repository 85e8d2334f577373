"""The sparsity strategies of the study: which hardware runs which tensors, and how.

A strategy is a design plus a density rule. The rule turns the sparsity the study sweeps
(a fraction of zeros in the weights A and in the input activations B) into the tensors
that strategy's pruning produces: ``2:M`` blocks for structured strategies (50% -> 2:4,
66.7% -> 2:6, 75% -> 2:8), uniformly spread (hypergeometric) zeros for unstructured ones.
The design then exploits what its hardware can (:func:`sparsim.designs.scheme_for`): a
single-sided design treats B as dense, a fixed-pattern design runs a sparser N:M tensor
with its own (denser) pattern and a denser one dense.

The strategies themselves (designs and their overrides) are data: the study's config
(``configs/sparsity-types.yaml``, :mod:`sparsim.study.config`). The dual-sided structured
core adds, to the flexible N:M core, each PE skipping the MAC (and its weight-register
read) when its activation is zero (:func:`sparsim.sweep.work.with_activation_skipping`):
skipped MACs take no cycle, the ideal dual-sided structured core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sparsim.designs import Design
from sparsim.errors import SparsimError
from sparsim.spec.sparsity import TensorDensity, parse_density

STRUCTURES = ("dense", "structured", "unstructured")
SIDES = ("none", "single", "dual")
Structure = Literal["dense", "structured", "unstructured"]
Sides = Literal["none", "single", "dual"]

STRUCTURED_N = 2  # the study's structured patterns keep 2 of every M
LARGEST_BLOCK = 16  # N:M blocks up to 16 (15:16 = 6.25% sparsity)
TOLERANCE = 1e-6


def structured_density(density: float, tensor: str) -> TensorDensity:
    """``N:M`` with ``N / M = density`` (dense at 1): ``2:M`` where ``2 / density`` is a
    whole number (the study's 2:4, 2:6, 2:8), else the smallest block up to
    :data:`LARGEST_BLOCK` that gives it exactly (15:16, 7:8, 3:4 below 50% sparsity)."""
    if density >= 1.0 - TOLERANCE:
        return TensorDensity()
    m = round(STRUCTURED_N / density) if density > 0 else 0
    if m >= STRUCTURED_N and abs(STRUCTURED_N / m - density) <= TOLERANCE:
        return parse_density(f"{STRUCTURED_N}:{m}")
    for m in range(2, LARGEST_BLOCK + 1):
        n = round(density * m)
        if 0 < n < m and abs(n / m - density) <= TOLERANCE:
            return parse_density(f"{n}:{m}")
    raise SparsimError(
        f"structured sparsity needs a density N/M with M <= {LARGEST_BLOCK} "
        f"(2:4, 2:6, 7:8, 15:16, ...), got {density:.6g}",
        f"density {tensor}",
    )


def unstructured_density(density: float, tensor: str) -> TensorDensity:
    """Zeros spread uniformly at random (hypergeometric), dense at 1."""
    if not 0.0 < density <= 1.0:
        raise SparsimError(f"density must be in (0, 1], got {density:.6g}", f"density {tensor}")
    if density >= 1.0 - TOLERANCE:
        return TensorDensity()
    return TensorDensity(distribution="hypergeometric", density=density)


@dataclass(frozen=True)
class Strategy:
    name: str
    title: str
    structure: Structure
    sides: Sides
    design: Design
    # dual-sided structured: add the activation skipping the catalog's tensor cores lack
    skip_activations: bool = False

    def densities(self, weights: float, activations: float) -> dict[str, TensorDensity]:
        """The tensors as this strategy's pruning leaves them (the design decides what it
        exploits)."""
        form = structured_density if self.structure == "structured" else unstructured_density
        return {"A": form(weights, "A"), "B": form(activations, "B")}


# The pairs the study compares: (structured, unstructured) of the same sidedness.
SINGLE_PAIR = ("struct-flexible", "unstruct-single")
DUAL_PAIR = ("struct-dual", "unstruct-dual")
