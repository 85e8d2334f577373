"""The sparsity strategies of the study: which hardware runs which tensors, and how.

A strategy is a design plus a density rule. The rule turns the sparsity the study sweeps
(a fraction of zeros in the weights A and in the input activations B) into the tensors
that strategy's pruning produces: ``2:M`` blocks for structured strategies (50% -> 2:4,
66.7% -> 2:6, 75% -> 2:8), uniformly spread (hypergeometric) zeros for unstructured ones.
The design then exploits what its hardware can (:func:`sparsim.designs.scheme_for`): a
single-sided design treats B as dense, a fixed-pattern design runs a sparser N:M tensor
with its own (denser) pattern and a denser one dense.

Three strategies need hardware the catalog does not have; they are variants of catalog
designs, defined here:

* ``struct-2:6``, ``struct-2:8``: STC-flexible restricted to one pattern (3-bit CP offsets),
  the 2:6 and 2:8 counterparts of the 2:4-only STC.
* ``struct-dual``: STC-flexible that also skips zero activations. Weights are N:M (CP) and
  spatially skipped as in STC; activations are N:M, kept compressed (bitmask, which for
  2:M blocks costs the same bits as CP offsets) in DRAM and SMEM, and each PE skips the
  MAC (and its weight-register read) when its activation is zero: ``skipping`` of A at the
  LRF conditioned on B. Skipped MACs take no cycle, so this is the ideal dual-sided
  structured core (no load imbalance between PEs). With dense activations it is STC-flexible.
* ``unstruct-single``: DSTC that exploits only weight sparsity (bitmask weights, position
  skipping and output skipping on A; activations dense, uncompressed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from sparsim.designs import Design, get_design
from sparsim.errors import SparsimError
from sparsim.spec.model import Spec
from sparsim.spec.sparse_optimizations import ActionOptimization, LevelSparseOptimization
from sparsim.spec.sparsity import TensorDensity, parse_density

Structure = Literal["dense", "structured", "unstructured"]
Sides = Literal["none", "single", "dual"]

STRUCTURED_N = 2  # the study's structured patterns keep 2 of every M
TOLERANCE = 1e-6


def structured_density(density: float, tensor: str) -> TensorDensity:
    """``2:M`` with ``2 / M = density`` (dense at 1)."""
    if density >= 1.0 - TOLERANCE:
        return TensorDensity()
    m = round(STRUCTURED_N / density)
    if m < STRUCTURED_N or abs(STRUCTURED_N / m - density) > TOLERANCE:
        raise SparsimError(
            f"structured sparsity needs a density 2/M (2:4, 2:6, 2:8, ...), got {density:.6g}",
            f"density {tensor}",
        )
    return parse_density(f"{STRUCTURED_N}:{m}")


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


def _one_pattern(n: int, m: int) -> Design:
    return replace(
        get_design("stc-flexible"),
        name=f"stc-{n}of{m}",
        title=f"STC-{n}:{m}",
        description=f"sparse tensor core that skips {n}:{m} pruned weights only (3-bit CP)",
        weight_patterns=((n, m),),
    )


DUAL_STRUCTURED = replace(
    get_design("stc-flexible"),
    name="stc-flexible-dual-skip",
    title="STC-flexible dual-skip",
    description=(
        "flexible N:M sparse tensor core that also skips zero activations "
        "(N:M weights and activations, both exploited)"
    ),
    exploits_activations=True,
)
WEIGHTS_ONLY_DSTC = replace(
    get_design("dstc"),
    name="dstc-weights-only",
    title="DSTC weights-only",
    description="dual-side sparse tensor core that exploits only weight sparsity (bitmask)",
    exploits_activations=False,
)

STRATEGIES: tuple[Strategy, ...] = (
    Strategy("dense", "dense TC", "dense", "none", get_design("tc")),
    Strategy("struct-2:4", "single 2:4 (STC)", "structured", "single", get_design("stc")),
    Strategy("struct-2:6", "single 2:6", "structured", "single", _one_pattern(2, 6)),
    Strategy("struct-2:8", "single 2:8", "structured", "single", _one_pattern(2, 8)),
    Strategy(
        "struct-flexible",
        "single STC-flexible",
        "structured",
        "single",
        get_design("stc-flexible"),
    ),
    Strategy(
        "struct-dual",
        "dual structured",
        "structured",
        "dual",
        DUAL_STRUCTURED,
        skip_activations=True,
    ),
    Strategy("unstruct-single", "single unstructured", "unstructured", "single", WEIGHTS_ONLY_DSTC),
    Strategy(
        "unstruct-dual", "dual unstructured (DSTC)", "unstructured", "dual", get_design("dstc")
    ),
)
BY_NAME = {strategy.name: strategy for strategy in STRATEGIES}
# The pairs the study compares: (structured, unstructured) of the same sidedness.
SINGLE_PAIR = ("struct-flexible", "unstruct-single")
DUAL_PAIR = ("struct-dual", "unstruct-dual")


def with_activation_skipping(spec: Spec) -> Spec:
    """The spec with each PE skipping its MAC (and weight read) on a zero activation."""
    skip = ActionOptimization(type="skipping", target="A", condition_on=["B"])
    optimizations = list(spec.sparse_optimizations)
    names = [o.level for o in optimizations]
    if "LRF" in names:
        lrf = optimizations[names.index("LRF")]
        optimizations[names.index("LRF")] = lrf.model_copy(update={"actions": [*lrf.actions, skip]})
    else:
        optimizations.append(LevelSparseOptimization(level="LRF", actions=[skip]))
    return spec.model_copy(update={"sparse_optimizations": optimizations})
