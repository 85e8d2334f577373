"""The model's front door: spec -> dense nest analysis -> sparse post-processing -> cost."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from sparsim.analysis.dense import analyse_dense
from sparsim.analysis.nest import build_nest
from sparsim.analysis.sparse import analyse_sparse
from sparsim.cost.model import cost
from sparsim.cost.result import Result
from sparsim.errors import ResourceLimitError, SpecError
from sparsim.spec.model import Spec, load_spec
from sparsim.spec.sparseloop import load_sparseloop_case
from sparsim.spec.sparsity import TensorDensity


def evaluate(spec: Spec) -> Result:
    """Energy, cycles and computes of one workload on one architecture and mapping."""
    nest = build_nest(spec)
    result = cost(spec, analyse_sparse(spec, analyse_dense(spec, nest)))
    if not (math.isfinite(result.energy_pJ) and math.isfinite(result.cycles)):
        # Every input is finite, so only a product beyond float64 (e.g. 1e300 pJ per
        # access times millions of accesses) gets here.
        raise ResourceLimitError(
            "energy or cycles overflow double precision: an energy, bandwidth or size in "
            "the spec is beyond sparsim's range",
            spec.workload.name,
        )
    densities = {tensor: density_label(d) for tensor, d in (spec.densities or {}).items()}
    return replace(result, design=spec.architecture.name, densities=densities)


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
    try:
        is_case = path.is_dir()
    except OSError as exc:  # e.g. a name over the file system's 255 characters
        raise SpecError(f"cannot read ({exc.strerror})", str(path)) from None
    return load_sparseloop_case(path) if is_case else load_spec(path)
