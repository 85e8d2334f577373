"""sparsim's validated input types, importable from here (and from ``sparsim``):
``Spec``, ``Gemm``, ``Conv``, ``Architecture``, ``Mapping``, ``TensorDensity``... Each is
imported on first use."""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> the submodule that defines it.
INPUT_TYPES = {
    "Spec": "model",
    "Gemm": "workload",
    "Conv": "workload",
    "Architecture": "architecture",
    "StorageLevel": "architecture",
    "ComputeLevel": "architecture",
    "Mapping": "mapping",
    "LevelMapping": "mapping",
    "TensorDensity": "sparsity",
    "LevelSparseOptimization": "sparse_optimizations",
    "ActionOptimization": "sparse_optimizations",
    "RankFormat": "sparse_optimizations",
    "MapspaceConstraints": "constraints",
}
__all__ = sorted(INPUT_TYPES)


def __getattr__(name: str) -> Any:
    if name not in INPUT_TYPES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{INPUT_TYPES[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(INPUT_TYPES))
