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

from dataclasses import dataclass

from sparsim.arguments import mapping_argument
from sparsim.designs.catalog import Design
from sparsim.errors import SpecError, UnknownNameError
from sparsim.spec.sparse_optimizations import LevelSparseOptimization
from sparsim.spec.sparsity import TensorDensity, parse_density

TOLERANCE = 1e-9
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
    for key, value in mapping_argument(densities, "densities", "{'A': '2:4'}").items():
        tensor = str(key).strip().upper()
        if tensor not in INPUT_ROLES:
            raise UnknownNameError(
                f"unknown tensor {key!r} (A = weights, B = input activations)", "density"
            )
        if tensor in parsed:
            raise SpecError(f"density of {tensor} given twice ({key!r})", "density")
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


def sparse_optimizations(design: Design, scheme: Scheme) -> list[LevelSparseOptimization]:
    """The design file's sparse features for what the design runs: formats given
    ``when: sparse`` only for tensors that run sparse, pattern bits of the pattern run."""
    sparse = {t for t, d in scheme.densities.items() if d.density < 1.0 - TOLERANCE}
    return design.sparse_optimizations(sparse, scheme.pattern)
