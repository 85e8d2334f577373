"""The model's front door: spec -> dense nest analysis -> sparse post-processing -> cost."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from sparsim.analysis.dense import analyse_dense
from sparsim.analysis.nest import build_nest
from sparsim.analysis.sparse import analyse_sparse
from sparsim.cost.model import cost
from sparsim.cost.result import Result
from sparsim.errors import (
    CapacityError,
    MappingError,
    ResourceLimitError,
    SparsimError,
    SpecError,
)
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
    with those densities, or the error it would raise when the mapping does not fit that
    point (tiles over capacity, too many instances). Any other error is raised, including
    a mapping no density fits (a format with too few ranks for the tile)."""
    points = [
        {tensor: _density(d, f"densities[{i}].{tensor}") for tensor, d in point.items()}
        for i, point in enumerate(densities)
    ]
    if not points:
        return []
    dense = analyse_dense(spec, build_nest(spec))
    results = cost(spec, analyse_sparse(spec, dense, points))
    design = spec.architecture.name
    for result in results:
        if not isinstance(result, SparsimError) and not (
            math.isfinite(result.energy_pJ) and math.isfinite(result.cycles)
        ):
            # Every input is finite, so only a product beyond float64 (e.g. 1e300 pJ per
            # access times millions of accesses) gets here.
            raise ResourceLimitError(
                "energy or cycles overflow double precision: an energy, bandwidth or size "
                "in the spec is beyond sparsim's range",
                spec.workload.name,
            )
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


def load(path: str | Path | Sequence[str | Path]) -> Spec:
    """A sparsim spec YAML file, a Timeloop/Sparseloop case directory, or the YAML files of
    a Timeloop case (as ``timeloop-model`` takes them)."""
    if isinstance(path, list | tuple):
        return load_sparseloop_case(path)
    path = Path(path)
    try:
        is_case = path.is_dir()
    except OSError as exc:  # e.g. a name over the file system's 255 characters
        raise SpecError(f"cannot read ({exc.strerror})", str(path)) from None
    return load_sparseloop_case(path) if is_case else load_spec(path)
