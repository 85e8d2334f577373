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
from sparsim.errors import UnknownNameError
from sparsim.spec.problem import ProblemShape, builtin_shape
from sparsim.spec.sparse_optimizations import LevelSparseOptimization
from sparsim.spec.sparsity import TensorDensity, parse_density

TOLERANCE = 1e-9
OPERAND_ROLES = ("weights", "inputs")
ROLE_WORDS = {"weights": "weights", "inputs": "input activations"}

DENSE = TensorDensity()


@dataclass(frozen=True)
class Scheme:
    """The densities a design computes with, and the N:M pattern it runs weights as."""

    weights: TensorDensity
    activations: TensorDensity
    pattern: tuple[int, int] | None  # for N:M designs: the pattern weights run as

    @property
    def by_role(self) -> dict[str, TensorDensity]:
        return {"weights": self.weights, "inputs": self.activations}

    @property
    def densities(self) -> dict[str, TensorDensity]:
        """By tensor name of the GEMM the tensor-core dataflows run."""
        return self.densities_for(builtin_shape("gemm"))

    def densities_for(self, shape: ProblemShape) -> dict[str, TensorDensity]:
        """By tensor name of a problem of ``shape`` (a convolution's Weights and Inputs)."""
        return {operand_name(role, shape): d for role, d in self.by_role.items()}


def operand_name(role: str, shape: ProblemShape | None = None) -> str:
    """The tensor of ``shape`` (default: the GEMM) playing an operand role."""
    name = (shape or builtin_shape("gemm")).tensor_with_role(role)
    assert name is not None, role
    return name


def parse_densities(densities: dict | None) -> dict[str, TensorDensity]:
    """User densities as density models, keyed by the GEMM's tensor names: the keys are
    roles (``weights``, ``inputs``) or the GEMM's own names (``A`` the weights, ``B`` the
    input activations), e.g. ``{"A": "2:4", "inputs": 0.82}``."""
    gemm = builtin_shape("gemm")
    by_key = {role: role for role in OPERAND_ROLES}
    by_key |= {operand_name(role).lower(): role for role in OPERAND_ROLES}
    parsed: dict[str, TensorDensity] = {}
    for key, value in mapping_argument(densities, "densities", "{'A': '2:4'}").items():
        role = by_key.get(str(key).strip().lower())
        if role is None:
            names = ", ".join(f"{operand_name(r)} = {ROLE_WORDS[r]}" for r in OPERAND_ROLES)
            raise UnknownNameError(
                f"unknown tensor {key!r} ({names}; or weights, inputs)", "density"
            )
        tensor = gemm.tensor_with_role(role)
        if tensor in parsed:
            raise UnknownNameError(f"{ROLE_WORDS[role]} ({tensor}) given twice", "density")
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
    weights = given.get(operand_name("weights"), DENSE)
    activations = given.get(operand_name("inputs"), DENSE) if design.exploits_activations else DENSE
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


def sparse_optimizations(
    design: Design, scheme: Scheme, shape: ProblemShape | None = None
) -> list[LevelSparseOptimization]:
    """The design file's sparse features for what the design runs on a problem of ``shape``
    (default: the GEMM): formats given ``when: sparse`` only for tensors that run sparse,
    pattern bits of the pattern run."""
    sparse = {role for role, d in scheme.by_role.items() if d.density < 1.0 - TOLERANCE}
    return design.sparse_optimizations(sparse, scheme.pattern, shape)
