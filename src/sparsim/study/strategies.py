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
from sparsim.designs.catalog import INPUTS, WEIGHTS
from sparsim.errors import SparsimError
from sparsim.spec.problem import builtin_shape
from sparsim.spec.sparsity import TensorDensity, parse_density

STRUCTURES = ("dense", "structured", "unstructured")
SIDES = ("none", "single", "dual")
Structure = Literal["dense", "structured", "unstructured"]
Sides = Literal["none", "single", "dual"]

STRUCTURED_N = 2  # the study's structured patterns keep 2 of every M
LARGEST_BLOCK = 16  # N:M blocks up to 16 (15:16 = 6.25% sparsity)
TOLERANCE = 1e-6


def nm_block(density: float) -> tuple[int, int] | None:
    """``(N, M)`` with ``N / M = density`` (None when dense or when no block up to
    :data:`LARGEST_BLOCK` gives it): ``2:M`` where ``2 / density`` is a whole number (the
    study's 2:4, 2:6, 2:8), else the smallest block that gives it exactly (15:16, 7:8,
    3:4 below 50% sparsity)."""
    if density >= 1.0 - TOLERANCE or density <= 0:
        return None
    m = round(STRUCTURED_N / density)
    if STRUCTURED_N <= m <= LARGEST_BLOCK and abs(STRUCTURED_N / m - density) <= TOLERANCE:
        return STRUCTURED_N, m
    for m in range(2, LARGEST_BLOCK + 1):
        n = round(density * m)
        if 0 < n < m and abs(n / m - density) <= TOLERANCE:
            return n, m
    return None


def _role_words(tensor: str) -> str:
    """``A`` -> ``weights``: the GEMM tensor's role in words (its name when it has none)."""
    gemm = builtin_shape("gemm")
    role = gemm.data_space(tensor).role if tensor in gemm.tensor_names else None
    return {"inputs": "input activations"}.get(role, role) if role else tensor


def structured_density(density: float, tensor: str) -> TensorDensity:
    """The N:M tensor of :func:`nm_block` (dense at 1)."""
    if density >= 1.0 - TOLERANCE:
        return TensorDensity()
    block = nm_block(density)
    if block is None:
        raise SparsimError(
            f"structured sparsity needs a density N/M with M <= {LARGEST_BLOCK} "
            f"(2:4, 2:6, 7:8, 15:16, ...), got {density:.6g}",
            f"density of the {_role_words(tensor)}",
        )
    return parse_density(f"{block[0]}:{block[1]}")


def unstructured_density(density: float, tensor: str) -> TensorDensity:
    """Zeros spread uniformly at random (hypergeometric), dense at 1."""
    if not 0.0 < density <= 1.0:
        raise SparsimError(
            f"density must be in (0, 1], got {density:.6g}",
            f"density of the {_role_words(tensor)}",
        )
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
    # False: a variant of another strategy restricted to fewer patterns (shown, never best)
    contender: bool = True

    def densities(self, weights: float, activations: float) -> dict[str, TensorDensity]:
        """The tensors as this strategy's pruning leaves them (the design decides what it
        exploits)."""
        form = structured_density if self.structure == "structured" else unstructured_density
        return {WEIGHTS: form(weights, WEIGHTS), INPUTS: form(activations, INPUTS)}

    def exploits(self) -> str:
        """What its hardware exploits, in words, from the design and the overrides."""
        design = self.design
        patterns = design.weight_patterns
        if patterns is None:
            weights = "no sparsity"
        elif patterns == "any":
            weights = "zero weights of any pattern"
        else:
            weights = "weights pruned to " + ", ".join(f"{n}:{m}" for n, m in patterns)
        if self.skip_activations:
            return f"{weights}, and each PE skips its MAC on a zero activation"
        if design.exploits_activations and patterns is not None:
            return f"{weights}, and zero activations"
        return weights


# The pairs the study compares: (structured, unstructured) of the same sidedness.
SINGLE_PAIR = ("struct-flexible", "unstruct-single")
DUAL_PAIR = ("struct-dual", "unstruct-dual")
