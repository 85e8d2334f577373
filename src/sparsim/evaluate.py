"""The model's front door: spec -> dense nest analysis -> sparse post-processing -> cost."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from sparsim.analysis.dense import analyse_dense
from sparsim.analysis.nest import build_nest
from sparsim.analysis.sparse import analyse_sparse
from sparsim.cost.model import cost
from sparsim.cost.result import Result
from sparsim.errors import CapacityError, MappingError, SparsimError
from sparsim.spec.model import Spec, load_spec
from sparsim.spec.sparseloop import load_sparseloop_case
from sparsim.spec.sparsity import TensorDensity, parse_density


def evaluate(spec: Spec) -> Result:
    """Energy, cycles and computes of one workload on one architecture and mapping."""
    (result,) = evaluate_densities(spec, [spec.densities or {}])
    if isinstance(result, SparsimError):
        raise result
    return result


def evaluate_densities(
    spec: Spec, densities: Sequence[Mapping[str, TensorDensity | str]]
) -> list[Result | CapacityError | MappingError]:
    """``spec`` (its mapping and sparse optimizations) evaluated at each density point in
    one pass: the nest and dense analysis are shared, the density-dependent counts are
    numpy arrays over the points. Per point, the result :func:`evaluate` gives for the spec
    with those densities, or the error it would raise when the mapping does not fit the
    point (tiles over capacity, too many instances); any other error is raised."""
    points = [
        {tensor: _density(d, f"densities[{i}].{tensor}") for tensor, d in point.items()}
        for i, point in enumerate(densities)
    ]
    if not points:
        return []
    dense = analyse_dense(spec, build_nest(spec))
    results = cost(spec, analyse_sparse(spec, dense, points))
    design = spec.architecture.name
    return [
        result
        if isinstance(result, SparsimError)
        else replace(
            result,
            design=design,
            densities={tensor: density_label(d) for tensor, d in point.items()},
        )
        for point, result in zip(points, results, strict=True)
    ]


def _density(density: TensorDensity | str, key: str) -> TensorDensity:
    return density if isinstance(density, TensorDensity) else parse_density(density, key)


def density_label(density: TensorDensity) -> str:
    """The shorthand :func:`sparsim.spec.sparsity.parse_density` reads back to ``density``."""
    if density.distribution == "dense":
        return "dense"
    if density.distribution == "measured":
        return str(density.measured)
    if density.n is not None:
        return f"{density.n}:{density.m}"
    if density.distribution == "hypergeometric":
        return repr(density.density)
    return f"{density.distribution}:{density.density!r}"


def load(path: str | Path) -> Spec:
    """A sparsim spec YAML file, or a Sparseloop case directory."""
    path = Path(path)
    return load_sparseloop_case(path) if path.is_dir() else load_spec(path)
