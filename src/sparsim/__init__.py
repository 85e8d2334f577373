"""sparsim: which kind of sparsity pays off on which accelerator.

Subpackages follow the data flow: ``spec`` (validated inputs) -> ``workload`` ->
``analysis`` (dense nest analysis, then sparse post-processing) -> ``cost`` (energy,
cycles) -> ``report``; ``designs``, ``sweep``, ``tasd`` and ``tasder`` sit beside them.

The one entry point::

    import sparsim
    spec = sparsim.load("case_dir/")            # or sparsim.build("stc", gemm, densities)
    result = sparsim.evaluate(spec)             # a sparsim.Result
    frame = sparsim.results_frame([result])     # the results schema as a DataFrame
    mapped = sparsim.map("case_dir/")           # the best mapping (edp) and its result
    sparsim.sweep("sweep.yaml", out="runs/a")   # a design-space sweep into a Parquet store

The input types (``Spec``, ``Gemm``, ``Conv``, ``Architecture``, ``Mapping``,
``TensorDensity``, ``Problem``...) are here too, and in ``sparsim.spec``. Every function
checks its arguments: a wrong type or value is a typed error naming the argument.

Everything but the errors is imported on first use, so ``import sparsim`` (and
``sparsim --help``) stay cheap.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from sparsim.errors import (
    CapacityError,
    MappingError,
    MissingEnergyError,
    NoValidMappingError,
    OutputError,
    ResourceLimitError,
    SparsimError,
    SpecError,
    StoreError,
    UnknownNameError,
    WorkerLostError,
)

if TYPE_CHECKING:
    from sparsim.cost.result import Result, results_frame
    from sparsim.designs import build
    from sparsim.designs.mapper import Problem
    from sparsim.designs.mapper import map_spec as map
    from sparsim.evaluate import evaluate, evaluate_densities, load
    from sparsim.spec.architecture import Architecture, ComputeLevel, StorageLevel
    from sparsim.spec.constraints import MapspaceConstraints
    from sparsim.spec.mapping import LevelMapping, Mapping
    from sparsim.spec.model import Spec
    from sparsim.spec.sparse_optimizations import (
        ActionOptimization,
        LevelSparseOptimization,
        RankFormat,
    )
    from sparsim.spec.sparsity import TensorDensity
    from sparsim.spec.workload import Conv, Gemm
    from sparsim.sweep import sweep

__version__ = "0.1.0"

# Public name -> the module that defines it (``module:attribute`` when the names differ),
# imported on first access.
_LAZY = {
    "load": "sparsim.evaluate",
    "evaluate": "sparsim.evaluate",
    "evaluate_densities": "sparsim.evaluate",
    "build": "sparsim.designs",
    "map": "sparsim.designs.mapper:map_spec",
    "sweep": "sparsim.sweep",
    "Result": "sparsim.cost.result",
    "results_frame": "sparsim.cost.result",
    "Problem": "sparsim.designs.mapper",
    # the input types (sparsim.spec)
    "Spec": "sparsim.spec.model",
    "Gemm": "sparsim.spec.workload",
    "Conv": "sparsim.spec.workload",
    "Architecture": "sparsim.spec.architecture",
    "StorageLevel": "sparsim.spec.architecture",
    "ComputeLevel": "sparsim.spec.architecture",
    "Mapping": "sparsim.spec.mapping",
    "LevelMapping": "sparsim.spec.mapping",
    "TensorDensity": "sparsim.spec.sparsity",
    "LevelSparseOptimization": "sparsim.spec.sparse_optimizations",
    "ActionOptimization": "sparsim.spec.sparse_optimizations",
    "RankFormat": "sparsim.spec.sparse_optimizations",
    "MapspaceConstraints": "sparsim.spec.constraints",
}

__all__ = [
    "ActionOptimization",
    "Architecture",
    "CapacityError",
    "ComputeLevel",
    "Conv",
    "Gemm",
    "LevelMapping",
    "LevelSparseOptimization",
    "Mapping",
    "MappingError",
    "MapspaceConstraints",
    "MissingEnergyError",
    "NoValidMappingError",
    "OutputError",
    "Problem",
    "RankFormat",
    "ResourceLimitError",
    "Result",
    "SparsimError",
    "Spec",
    "SpecError",
    "StorageLevel",
    "StoreError",
    "TensorDensity",
    "UnknownNameError",
    "WorkerLostError",
    "__version__",
    "build",
    "evaluate",
    "evaluate_densities",
    "load",
    "map",
    "results_frame",
    "sweep",
]


class _Package(types.ModuleType):
    """Keeps ``sparsim.evaluate`` and ``sparsim.sweep`` the functions: importing the
    submodules of the same names must not replace them by the modules (the import system
    sets a submodule as an attribute of its package)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            isinstance(value, types.ModuleType)
            and _LAZY.get(name, ":").split(":")[0] == value.__name__
        ):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, _, attribute = _LAZY[name].partition(":")
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value  # later accesses skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
