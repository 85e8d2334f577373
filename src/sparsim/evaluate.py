"""The model's front door: spec -> dense nest analysis -> sparse post-processing -> cost."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace

from sparsim.analysis.dense import analyse_dense
from sparsim.analysis.nest import build_nest
from sparsim.analysis.sparse import analyse_sparse
from sparsim.arguments import mapping_argument, path_argument
from sparsim.cost.model import cost
from sparsim.cost.result import Result
from sparsim.errors import (
    CapacityError,
    MappingError,
    ResourceLimitError,
    SparsimError,
    SpecError,
    UnknownNameError,
)
from sparsim.limits import MAX_CYCLES
from sparsim.spec.model import Spec, check_references, load_spec
from sparsim.spec.sparseloop import load_sparseloop_case
from sparsim.spec.sparsity import TensorDensity, parse_density


def as_spec(value: Spec | str | os.PathLike[str], name: str = "spec") -> Spec:
    """A Spec to evaluate: a checked Spec as it is, one edited with ``model_copy(update=...)``
    checked again (the copy skipped the cross-checks), a file or case directory loaded."""
    if isinstance(value, Spec):
        return check_references(value, name) if value.edited() else value
    if isinstance(value, str | os.PathLike):
        return load(value)
    raise SpecError(
        f"expected a sparsim.Spec, or a spec file or case directory name, got "
        f"{type(value).__name__}",
        name,
    )


def evaluate(spec: Spec | str | os.PathLike[str]) -> Result:
    """Energy, cycles and computes of one workload on one architecture and mapping (a
    :class:`~sparsim.spec.model.Spec`, or the name of a spec file or case directory)."""
    spec = as_spec(spec)
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
    spec = as_spec(spec)
    if not isinstance(densities, Sequence) or isinstance(densities, str | bytes):
        raise SpecError(
            f"expected a list of density points such as [{{'A': '2:4'}}], got "
            f"{type(densities).__name__}",
            "densities",
        )
    for i, point in enumerate(densities):
        for tensor in mapping_argument(point, f"densities[{i}]", "{'A': '2:4', 'B': 0.8}"):
            if tensor not in (tensors := spec.problem.shape.tensor_names):
                raise UnknownNameError(
                    f"unknown tensor {tensor!r} (tensors: {', '.join(tensors)})",
                    f"densities[{i}]",
                )
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
        if not isinstance(result, SparsimError) and result.cycles > MAX_CYCLES:
            raise ResourceLimitError(  # e.g. a bandwidth of 1e-300 words per cycle
                f"{result.cycles:.3g} cycles, beyond sparsim's limit of 2^53 (counts stay "
                "exact below it): a bandwidth in the spec is too small",
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


def load(path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> Spec:
    """A sparsim spec YAML file, a Timeloop/Sparseloop case directory, or the YAML files of
    a Timeloop case (as ``timeloop-model`` takes them)."""
    if isinstance(path, list | tuple):
        return load_sparseloop_case([path_argument(p, f"path[{i}]") for i, p in enumerate(path)])
    path = path_argument(path, "path")
    try:
        is_case = path.is_dir()
    except OSError as exc:  # e.g. a name over the file system's 255 characters
        raise SpecError(f"cannot read ({exc.strerror})", str(path)) from None
    return load_sparseloop_case(path) if is_case else load_spec(path)
