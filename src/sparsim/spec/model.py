"""sparsim's complete input: workload, architecture, densities, sparse features, mapping.

Field-level problems are caught by pydantic; :func:`check_references` then checks what
spans sections (level and tensor names, factor products, fan-outs) and names the key.
"""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from sparsim.errors import SparsimError
from sparsim.io import load_yaml
from sparsim.spec.architecture import Architecture
from sparsim.spec.mapping import Mapping
from sparsim.spec.sparse_optimizations import LevelSparseOptimization
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.validation import validate
from sparsim.spec.workload import Workload

TENSORS = ("A", "B", "Z")
DIMS = ("M", "N", "K")


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: Workload
    architecture: Architecture
    densities: dict[str, TensorDensity] = {}
    sparse_optimizations: list[LevelSparseOptimization] = []
    mapping: Mapping

    def density(self, tensor: str) -> TensorDensity:
        return self.densities.get(tensor, TensorDensity())


def _check_tensor(name: str, where: str) -> None:
    if name not in TENSORS:
        raise SparsimError(f"unknown tensor {name!r} (tensors: A, B, Z)", where)


def _check_level(name: str, levels: list[str], where: str) -> None:
    if name not in levels:
        raise SparsimError(f"unknown level {name!r} (levels: {', '.join(levels)})", where)


def check_references(spec: Spec, where: str | None = None) -> Spec:
    """Cross-section checks; errors are SparsimError located at ``where: key.path``."""

    def at(key: str) -> str:
        return f"{where}: {key}" if where else key

    levels = spec.architecture.level_names
    for tensor in spec.densities:
        _check_tensor(tensor, at(f"densities.{tensor}"))
    for i, opt in enumerate(spec.sparse_optimizations):
        _check_level(opt.level, levels, at(f"sparse_optimizations[{i}].level"))
        for tensor in opt.formats:
            _check_tensor(tensor, at(f"sparse_optimizations[{i}].formats.{tensor}"))
        for j, action in enumerate(opt.actions):
            key = f"sparse_optimizations[{i}].actions[{j}]"
            _check_tensor(action.target, at(f"{key}.target"))
            for leader in action.condition_on:
                _check_tensor(leader, at(f"{key}.condition_on"))
    seen: set[str] = set()
    for i, level_map in enumerate(spec.mapping.levels):
        key = f"mapping.levels[{i}]"
        _check_level(level_map.level, levels, at(f"{key}.level"))
        if level_map.level in seen:
            raise SparsimError(f"level {level_map.level!r} mapped twice", at(f"{key}.level"))
        seen.add(level_map.level)
        for part in ("temporal", "spatial"):
            for dim in getattr(level_map, part):
                if dim not in DIMS:
                    raise SparsimError(f"unknown dimension {dim!r} (M, N, K)", at(f"{key}.{part}"))
        for tensor in level_map.keep or ():
            _check_tensor(tensor, at(f"{key}.keep"))
    dims = spec.workload.as_gemm().dims
    for dim, size in dims.items():
        product = math.prod(
            lm.temporal.get(dim, 1) * lm.spatial.get(dim, 1) for lm in spec.mapping.levels
        )
        if product != size:
            raise SparsimError(
                f"factors of {dim} multiply to {product}, but {dim} = {size}", at("mapping")
            )
    return spec


def load_spec(path: str | Path) -> Spec:
    """Load and fully validate a sparsim spec YAML file."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise SparsimError("expected a mapping with workload, architecture, mapping", str(path))
    return check_references(validate(Spec, data, str(path)), str(path))
