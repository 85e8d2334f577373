"""The model's front door: spec -> dense nest analysis -> sparse post-processing -> cost."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sparsim.analysis.dense import analyse_dense
from sparsim.analysis.nest import build_nest
from sparsim.analysis.sparse import analyse_sparse
from sparsim.cost.model import cost
from sparsim.cost.result import Result
from sparsim.spec.model import Spec, load_spec
from sparsim.spec.sparseloop import load_sparseloop_case
from sparsim.spec.sparsity import TensorDensity


def evaluate(spec: Spec) -> Result:
    """Energy, cycles and computes of one workload on one architecture and mapping."""
    nest = build_nest(spec)
    result = cost(spec, analyse_sparse(spec, analyse_dense(spec, nest)))
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
    return load_sparseloop_case(path) if path.is_dir() else load_spec(path)
