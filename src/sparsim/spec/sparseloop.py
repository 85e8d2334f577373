"""Import Sparseloop/Timeloop v0.3 inputs (aggregated_input.yaml, ERT.yaml, map.yaml).

Timeloop's architecture tree is flattened into sparsim's chain of levels: a level's
instance count is the product of the ``[0..n]`` ranges of the subtrees around it (and of its
own name). ERT action energies are matched by the level's leaf name. Only GEMM-shaped
problems (``A[M,K]``, ``B[N,K]``, ``Z[M,N]`` under any names) are accepted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sparsim.errors import MissingEnergyError, SpecError
from sparsim.io import load_yaml
from sparsim.spec.architecture import (
    COMPUTE_ACTION_FALLBACKS,
    Architecture,
    ComputeLevel,
    StorageEnergy,
    StorageLevel,
    first_given,
)
from sparsim.spec.mapping import Mapping
from sparsim.spec.model import Spec
from sparsim.spec.sparse_optimizations import (
    ActionOptimization,
    LevelSparseOptimization,
    RankFormat,
)
from sparsim.spec.sparseloop_shapes import (
    ERT_SCHEMA,
    INPUTS_SCHEMA,
    MAPPING_SCHEMA,
    check_datatype_entries,
    check_shape,
)
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.validation import validate
from sparsim.spec.workload import Gemm, shape_name

_RANGE = re.compile(r"^(?P<name>[^\[]+)(?:\[(?P<lo>\d+)\.\.(?P<hi>\d+)\])?$")
_RANGE_SUFFIX = re.compile(r"\[\d+\.\.\d+\]")
_FACTOR = re.compile(r"([A-Za-z]+)\s*=?\s*(\d+)")

CASE_FILES = ("aggregated_input.yaml", "ERT.yaml", "map.yaml")


class _Source:
    """Looks up keys in one YAML document and reports missing ones with their path."""

    def __init__(self, path: Path, data: Any):
        self.path = path
        self.data = data

    def error(self, key: str, message: str) -> SpecError:
        return SpecError(message, f"{self.path}: {key}")

    def get(self, node: Any, key: str, path: str, default: Any = ...) -> Any:
        if isinstance(node, dict) and key in node:
            return node[key]
        if default is not ...:
            return default
        raise self.error(f"{path}.{key}" if path else key, "missing required key")


def _split_range(name: str) -> tuple[str, int]:
    match = _RANGE.match(name.strip())
    if not match:
        return name, 1
    count = int(match["hi"]) - int(match["lo"]) + 1 if match["hi"] else 1
    return match["name"], count


def _walk_tree(src: _Source, node: dict, path: str, multiplier: int, out: list) -> None:
    _, count = _split_range(str(node.get("name", "")))
    multiplier *= count
    for i, local in enumerate(node.get("local") or []):
        local_path = f"{path}.local[{i}]"
        name, own = _split_range(str(src.get(local, "name", local_path)))
        out.append((name, multiplier * own, local, local_path))
    subtree = node.get("subtree") or []
    if len(subtree) > 1:
        raise src.error(f"{path}.subtree", "only a single chain of subtrees is supported")
    for i, child in enumerate(subtree):
        _walk_tree(src, child, f"{path}.subtree[{i}]", multiplier, out)


def _ert_tables(ert_src: _Source) -> dict[str, dict[str, float]]:
    tables = ert_src.get(ert_src.get(ert_src.data, "ERT", ""), "tables", "ERT")
    energies: dict[str, dict[str, float]] = {}
    for i, table in enumerate(tables):
        full_name = str(ert_src.get(table, "name", f"ERT.tables[{i}]"))
        leaf = _RANGE_SUFFIX.sub("", full_name).split(".")[-1]
        actions = {}
        for j, action in enumerate(ert_src.get(table, "actions", f"ERT.tables[{i}]")):
            key = f"ERT.tables[{i}].actions[{j}]"
            actions[ert_src.get(action, "name", key)] = float(ert_src.get(action, "energy", key))
        energies[leaf] = actions
    return energies


def _storage_level(
    src: _Source, name: str, instances: int, attrs: dict, path: str, energy: dict[str, float]
) -> StorageLevel:
    word_bits = int(attrs.get("datawidth", attrs.get("word-bits", 8)))
    width = attrs.get("data_storage_width", attrs.get("width"))
    block_size = int(attrs.get("block_size", attrs.get("block-size", 0)) or 0)
    if not block_size:
        block_size = max(1, int(width) // word_bits) if width else 1
    depth = attrs.get("data_storage_depth", attrs.get("depth"))
    metadata_width = int(attrs.get("metadata_storage_width", 0) or 0)
    metadata_depth = attrs.get("metadata_storage_depth")
    mesh_x = attrs.get("meshX")
    return validate(
        StorageLevel,
        {
            "name": name,
            "instances": instances,
            "mesh_x": int(mesh_x) if mesh_x else None,
            "data_capacity": int(depth) * block_size if depth is not None else None,
            "word_bits": word_bits,
            "block_size": block_size,
            "metadata_capacity_bits": (
                int(metadata_depth) * metadata_width if metadata_depth is not None else None
            ),
            "metadata_word_bits": metadata_width,
            "read_bandwidth": attrs.get("read_bandwidth"),
            "write_bandwidth": attrs.get("write_bandwidth"),
            "shared_bandwidth": attrs.get("shared_bandwidth"),
            "multiple_buffering": attrs.get("multiple-buffering", 1.0),
            # The ERT's action names sparsim knows; the rest (leak, ...) Timeloop ignores too.
            "energy": {k: v for k, v in energy.items() if k in StorageEnergy.model_fields},
        },
        f"{src.path}: {path}",
    )


def _architecture(src: _Source, ert: dict[str, dict[str, float]]) -> Architecture:
    arch = src.get(src.data, "architecture", "")
    locals_: list = []
    for i, top in enumerate(src.get(arch, "subtree", "architecture")):
        _walk_tree(src, top, f"architecture.subtree[{i}]", 1, locals_)
    storage, compute = [], None
    for name, instances, local, path in locals_:
        attrs = local.get("attributes") or {}
        klass = str(local.get("class", "")).lower()
        energy = ert.get(name)
        if energy is None:
            raise MissingEnergyError(
                f"no ERT table for level {name!r} (tables: {', '.join(sorted(ert)) or 'none'})",
                "ERT.yaml",
            )
        if klass == "compute" or "mac" in klass or klass.endswith("alu"):
            chains = {k: first_given(energy, c) for k, c in COMPUTE_ACTION_FALLBACKS.items()}
            if chains["random"] is None:
                raise MissingEnergyError(
                    f"no energy for compute {name!r}: none of the ERT actions "
                    f"{', '.join(COMPUTE_ACTION_FALLBACKS['random'])}",
                    "ERT.yaml",
                )
            compute = validate(
                ComputeLevel,
                {
                    "name": name,
                    "instances": instances,
                    "mesh_x": attrs.get("meshX"),
                    "word_bits": int(attrs.get("datawidth", 8)),
                    "energy": chains,
                },
                f"{src.path}: {path}",
            )
        else:
            storage.append(_storage_level(src, name, instances, attrs, path, energy))
    if compute is None:
        raise src.error("architecture", "no compute level (class: compute)")
    return validate(
        Architecture, {"levels": storage, "compute": compute}, f"{src.path}: architecture"
    )


def _gemm_and_densities(src: _Source) -> tuple[Gemm, dict[str, TensorDensity]]:
    problem = src.get(src.data, "problem", "")
    shape = src.get(problem, "shape", "problem")
    instance = src.get(problem, "instance", "problem")
    spaces = src.get(shape, "data-spaces", "problem.shape")
    projections = {}
    for i, space in enumerate(spaces):
        dims = tuple(
            term[0][0] for term in src.get(space, "projection", f"problem.shape.data-spaces[{i}]")
        )
        projections[src.get(space, "name", f"problem.shape.data-spaces[{i}]")] = dims
    expected = {"A": ("M", "K"), "B": ("N", "K"), "Z": ("M", "N")}
    if projections != expected:
        raise src.error(
            "problem.shape.data-spaces",
            f"only the GEMM A[M,K] B[N,K] Z[M,N] is supported, got {projections}",
        )
    dims = {d: int(src.get(instance, d, "problem.instance")) for d in ("M", "N", "K")}
    densities = {}
    for tensor, entry in (instance.get("densities") or {}).items():
        key = f"problem.instance.densities.{tensor}"
        distribution = entry.get("distribution", "fixed-structured")
        density = float(src.get(entry, "density", key))
        if density == 1.0:
            distribution = "dense"
        densities[tensor] = validate(
            TensorDensity, {"distribution": distribution, "density": density}, f"{src.path}: {key}"
        )
    return validate(
        Gemm, {"name": shape_name(**dims), **dims}, f"{src.path}: problem.instance"
    ), densities


def _sparse_optimizations(src: _Source) -> list[LevelSparseOptimization]:
    result = []
    sparse = src.data.get("sparse_optimizations") or {}
    for i, target in enumerate(sparse.get("targets") or []):
        key = f"sparse_optimizations.targets[{i}]"
        formats = {}
        representation = target.get("representation-format") or {}
        for j, space in enumerate(representation.get("data-spaces") or []):
            space_key = f"{key}.representation-format.data-spaces[{j}]"
            ranks = []
            for k, rank in enumerate(src.get(space, "ranks", space_key)):
                flattened = rank.get("flattened_rankIDs")
                ranks.append(
                    validate(
                        RankFormat,
                        {
                            "format": str(
                                src.get(rank, "format", f"{space_key}.ranks[{k}]")
                            ).upper(),
                            "metadata_word_bits": rank.get("metadata-word-bits"),
                            "payload_word_bits": rank.get("payload-word-bits"),
                            "flattened_ranks": flattened[0] if flattened else None,
                        },
                        f"{src.path}: {space_key}.ranks[{k}]",
                    )
                )
            formats[src.get(space, "name", space_key)] = ranks
        actions = [
            validate(
                ActionOptimization,
                {
                    "type": opt.get("type"),
                    "target": opt.get("target"),
                    "condition_on": opt.get("condition-on") or [],
                },
                f"{src.path}: {key}.action-optimization[{j}]",
            )
            for j, opt in enumerate(target.get("action-optimization") or [])
        ]
        result.append(
            validate(
                LevelSparseOptimization,
                {"level": src.get(target, "name", key), "formats": formats, "actions": actions},
                f"{src.path}: {key}",
            )
        )
    return result


def _parse_factors(src: _Source, text: Any, key: str) -> dict[str, int]:
    factors = {}
    for part in str(text).split():
        match = _FACTOR.fullmatch(part)
        if not match:
            raise src.error(key, f"bad factor {part!r} (expected e.g. M16)")
        factors[match.group(1)] = int(match.group(2))
    return factors


def _mapping(src: _Source) -> Mapping:
    entries = src.get(src.data, "mapping", "")
    per_level: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for i, entry in enumerate(entries):
        key = f"mapping[{i}]"
        level = src.get(entry, "target", key)
        if level not in per_level:
            per_level[level] = {"level": level}
            order.append(level)
        fields = per_level[level]
        kind = src.get(entry, "type", key)
        if kind in ("datatype", "bypass"):
            fields["keep"] = list(entry.get("keep") or [])
            fields["stream"] = list(entry.get("stream") or [])
        elif kind in ("temporal", "spatial"):
            fields[kind] = _parse_factors(src, src.get(entry, "factors", key), f"{key}.factors")
            fields[f"{kind}_permutation"] = str(entry.get("permutation", ""))
            if kind == "spatial" and "split" in entry:
                fields["split"] = int(entry["split"])
        else:
            raise src.error(f"{key}.type", f"unknown mapping type {kind!r}")
    return validate(Mapping, {"levels": [per_level[name] for name in order]}, str(src.path))


# The top-level keys of a Sparseloop input the model reads (component libraries are not).
MODEL_INPUT_KEYS = ("architecture", "problem", "sparse_optimizations", "mapping")


def _merged_inputs(case_dir: Path) -> _Source:
    """Timeloop's split layout (architecture.yaml, prob.yaml, sparse-opt.yaml, a mapping
    file, ...): the top-level keys of every YAML file in the directory, merged."""
    merged: dict[str, Any] = {}
    for path in sorted(case_dir.glob("*.yaml")):
        if path.name in ("ERT.yaml", "ART.yaml"):
            continue
        data = load_yaml(path)
        if isinstance(data, dict):
            merged.update(data)
    if "architecture" not in merged:
        raise SpecError(
            "no aggregated_input.yaml and no YAML file with an 'architecture' key", str(case_dir)
        )
    return _Source(case_dir / "*.yaml", merged)


CONSTRAINT_KEYS = ("architecture_constraints", "mapspace_constraints")


def _case_inputs(case_dir: Path, extra_keys: tuple[str, ...] = ()) -> tuple[_Source, _Source]:
    """The model inputs and the energy table of a case directory."""
    if not case_dir.is_dir():
        raise SpecError("not a directory", str(case_dir))
    aggregated = case_dir / "aggregated_input.yaml"
    if aggregated.exists():
        keys = (*MODEL_INPUT_KEYS, *extra_keys)
        inputs = _Source(aggregated, load_yaml(aggregated, only_keys=keys))
    else:
        inputs = _merged_inputs(case_dir)
    ert = _Source(case_dir / "ERT.yaml", load_yaml(case_dir / "ERT.yaml"))
    for source in (inputs, ert):
        if not isinstance(source.data, dict):
            raise SpecError("expected a YAML mapping", str(source.path))
    check_shape(inputs.data, INPUTS_SCHEMA, inputs.path)
    check_shape(ert.data, ERT_SCHEMA, ert.path)
    return inputs, ert


def load_sparseloop_problem(case_dir: str | Path):
    """What a mapper needs from a case directory, without any mapping: (workload,
    architecture, densities, sparse optimisations, the constraint sections or None)."""
    inputs, ert = _case_inputs(Path(case_dir), CONSTRAINT_KEYS)
    gemm, densities = _gemm_and_densities(inputs)
    architecture = _architecture(inputs, _ert_tables(ert))
    constraints = {k: inputs.data[k] for k in CONSTRAINT_KEYS if k in inputs.data} or None
    return gemm, architecture, densities, _sparse_optimizations(inputs), constraints


def load_sparseloop_case(case_dir: str | Path) -> Spec:
    """A Sparseloop case directory (aggregated_input.yaml, ERT.yaml, map.yaml, or the same
    content split over several YAML files) as a Spec."""
    case_dir = Path(case_dir)
    inputs, ert = _case_inputs(case_dir)
    map_path = case_dir / "map.yaml"
    mapping_src = _Source(map_path, load_yaml(map_path)) if map_path.exists() else inputs
    if not isinstance(mapping_src.data, dict):
        raise SpecError("expected a YAML mapping", str(mapping_src.path))
    check_shape(mapping_src.data, MAPPING_SCHEMA, mapping_src.path)
    check_datatype_entries(mapping_src.data.get("mapping"), mapping_src.path)
    gemm, densities = _gemm_and_densities(inputs)
    architecture = _architecture(inputs, _ert_tables(ert))
    return validate(
        Spec,
        {
            "workload": gemm,
            "architecture": architecture,
            "densities": densities,
            "sparse_optimizations": _sparse_optimizations(inputs),
            "mapping": _mapping(mapping_src),
        },
        str(case_dir),
    )
