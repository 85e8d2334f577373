"""Import Timeloop/Sparseloop v0.3 inputs as people write them.

A case is a directory (or a list of files): ``aggregated_input.yaml`` with ``ERT.yaml`` and
``map.yaml`` as the Sparseloop artifact writes it, the exercises' ``arch/``, ``prob/``,
``map/``, ``sparse-opt/`` subfolders, or any set of YAML files. Every YAML file up to two
folders down is read for the top-level sections Timeloop reads (``architecture``,
``problem``, ``mapping``, ``sparse_optimizations``, ``ERT``, and the mapper's constraint
sections); a section found in two files is an error naming both.

Each rule is Timeloop's own (its source at the commit of ``../shared/tools/timeloop``), with
its numeric check in ``docs/sparseloop-semantics-*.md``:

* architecture: the ``subtree``/``local`` tree flattened into a chain of levels; a level's
  instances are the product of the ``[0..n]`` ranges around it, or its ``instances``
  attribute; ``meshX`` defaults to all instances in a row; component classes are matched as
  Timeloop matches them (``DRAM``, ``SRAM``, ``regfile``, ``smartbuffer``, ``storage``:
  storage; ``mac``, ``compute``: the arithmetic), others are ignored; word bits from
  ``word-bits``, ``word_width`` or ``datawidth`` (16 when none); capacities from
  ``entries``, ``depth``/``memory_depth``/``data_storage_depth`` (x block size) or
  ``sizeKB``; the deprecated ``bandwidth`` is split half to reads, half to writes;
* area (ART, optional): a component's ``area`` (um^2 per instance) from the ART table of its
  leaf name (the last of two tables for one name wins); without one, a storage level's
  ``cluster-area`` / ``cluster-size`` and the compute's ``area`` attribute, else 0 um^2: what
  Timeloop's built-in area models give (they return 0 in the public build);
* energy (ERT): a component's action listed with several argument sets costs the most
  expensive; a read, fill, update or MAC with no ERT name on Timeloop's fallback chain
  (an ERT whose registers give only ``access``) keeps Timeloop's own estimate of the
  component (its built-in SRAM, DRAM and multiplier models), a gated, skipped or metadata
  access 0 pJ; both stated in the imported spec, not assumed later;
* problem: any shape (inline, or a name of sparsim's built-in shapes), coefficients in the
  instance, densities as a mapping or a number (fixed-structured), ``commonDensity``;
* mapping: factors ``M16`` / ``M=16`` / ``M 16``, ``0`` meaning the whole dimension;
  permutations with or without spaces; a level bypasses only the tensors it lists under
  ``bypass``;
* formats: a rank's metadata and payload word bits default to the level's
  ``metadata_datawidth`` (0 when absent), a bitmask's metadata to 1 bit;
  ``flattened-rankIDs``; the ``options:`` form of an action optimization keeps the option
  that saves the most (:mod:`sparsim.analysis.sparse`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sparsim.errors import MissingEnergyError, SpecError, UnknownNameError
from sparsim.io import load_yaml
from sparsim.spec.architecture import (
    COMPUTE_ACTION_FALLBACKS,
    STORAGE_ACTION_FALLBACKS,
    Architecture,
    ComputeLevel,
    StorageLevel,
    first_given,
)
from sparsim.spec.mapping import Mapping
from sparsim.spec.model import Spec
from sparsim.spec.problem import Problem, ProblemShape, builtin_shape, parse_timeloop_shape
from sparsim.spec.sparse_optimizations import (
    ActionOptimization,
    LevelSparseOptimization,
    RankFormat,
)
from sparsim.spec.sparseloop_shapes import (
    ART_SCHEMA,
    ERT_SCHEMA,
    INPUTS_SCHEMA,
    MAPPING_SCHEMA,
    check_shape,
)
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.validation import validate
from sparsim.spec.workload import Gemm, shape_name

_RANGE = re.compile(r"^(?P<name>[^\[]+)(?:\[(?P<lo>\d+)\.\.(?P<hi>\d+)\])?$")
_RANGE_SUFFIX = re.compile(r"\[\d+\.\.\d+\]")
_FACTOR = re.compile(r"([A-Za-z]+)\s*=*\s*(\d+)(?:,(\d+))?")

MODEL_KEYS = ("architecture", "problem", "sparse_optimizations", "mapping")
CONSTRAINT_KEYS = ("architecture_constraints", "mapspace_constraints")
TABLE_KEYS = ("ERT", "ART")
SECTION_KEYS = (*MODEL_KEYS, *TABLE_KEYS, *CONSTRAINT_KEYS)
DEFAULT_WORD_BITS = 16  # Timeloop's BufferLevel::Specs::kDefaultWordBits
STORAGE_CLASSES = ("DRAM", "SRAM", "regfile", "smartbuffer", "storage")
COMPUTE_CLASSES = ("mac", "compute")
MAX_DEPTH = 2  # folders below the case directory searched for YAML files


class _Source:
    """One YAML document and its path: looks up keys and reports missing ones with their
    key path."""

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


# -- gathering the sections ----------------------------------------------------------------


def _yaml_files(case: Path, depth: int = 0) -> list[Path]:
    files = sorted(p for p in case.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if depth < MAX_DEPTH:
        for folder in sorted(p for p in case.iterdir() if p.is_dir()):
            if not folder.name.startswith("."):
                files += _yaml_files(folder, depth + 1)
    return files


def gather_sections(case: str | Path | Iterable[str | Path]) -> dict[str, _Source]:
    """Each Timeloop section of a case (a directory, or the files given) with the file it
    comes from; a section in two files is a SpecError naming both."""
    if isinstance(case, str | Path):
        folder = Path(case)
        if not folder.is_dir():
            raise SpecError("not a directory", str(folder))
        files = _yaml_files(folder)
    else:
        files = [Path(p) for p in case]
        case = _common_folder(files)
    sections: dict[str, _Source] = {}
    for path in files:
        data = load_yaml(path, only_keys=SECTION_KEYS)
        if not isinstance(data, dict):
            continue  # a YAML file without sections (a list, a scalar): not Timeloop's
        for key in SECTION_KEYS:
            if key not in data:
                continue
            if key in sections:
                raise SpecError(
                    f"section {key!r} is in both {sections[key].path} and {path}: give one "
                    "(move the other out of the case, or list the files to use)",
                    str(case) if isinstance(case, str | Path) else str(path),
                )
            sections[key] = _Source(path, {key: data[key]})
    for key in ("architecture", "problem"):
        if key not in sections:
            raise SpecError(f"no YAML file holds the section {key!r}", str(case))
    if "ERT" not in sections:
        raise MissingEnergyError(
            "no energy table: no YAML file holds an 'ERT' section (Accelergy's ERT.yaml)",
            str(case),
        )
    for key, source in sections.items():
        schema = {"ERT": ERT_SCHEMA, "ART": ART_SCHEMA, "mapping": MAPPING_SCHEMA}.get(
            key, INPUTS_SCHEMA
        )
        if key in schema:
            check_shape(source.data, {key: schema[key]}, source.path)
    return sections


def _common_folder(files: list[Path]) -> Path:
    """Where a list of a case's files lives (how errors about the whole case name it)."""
    if not files:
        raise SpecError("no files given", "case")
    parents = [p.parent.resolve() for p in files]
    common = parents[0]
    while not all(common in (p, *p.parents) for p in parents):
        common = common.parent
    return common


# -- architecture and energy ---------------------------------------------------------------


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


def _leaf(full_name: str) -> str:
    """The component a table entry is for: its hierarchical name's last part, ranges cut
    (``system.SM.Subpartition[0..3].RF`` -> ``RF``), as Timeloop matches levels."""
    return _RANGE_SUFFIX.sub("", full_name).split(".")[-1]


def _art_areas(art_src: _Source | None) -> dict[str, float]:
    """Per component (leaf name) its area in um^2 per instance (Timeloop's
    ``ParseAccelergyART``: a later table for the same component replaces an earlier one)."""
    if art_src is None:
        return {}
    tables = art_src.get(art_src.get(art_src.data, "ART", ""), "tables", "ART")
    return {
        _leaf(str(table["name"])): float(table["area"])
        for table in tables  # names and areas checked by ART_SCHEMA
    }


def _ert_tables(ert_src: _Source) -> dict[str, dict[str, float]]:
    """Per component (leaf name) the energy of each action; an action listed with several
    argument sets costs the most expensive (Timeloop's ``ParseAccelergyERT``)."""
    tables = ert_src.get(ert_src.get(ert_src.data, "ERT", ""), "tables", "ERT")
    energies: dict[str, dict[str, float]] = {}
    for i, table in enumerate(tables):
        full_name = str(ert_src.get(table, "name", f"ERT.tables[{i}]"))
        leaf = _leaf(full_name)
        actions: dict[str, float] = {}
        for j, action in enumerate(ert_src.get(table, "actions", f"ERT.tables[{i}]")):
            key = f"ERT.tables[{i}].actions[{j}]"
            name = ert_src.get(action, "name", key)
            energy = float(ert_src.get(action, "energy", key))
            actions[name] = max(energy, actions.get(name, energy))
        energies[leaf] = actions
    return energies


def storage_energy(actions: dict[str, float], estimate: float) -> dict[str, float]:
    """A storage component's energies as Timeloop derives them from its ERT actions
    (``UpdateOpEnergyViaERT``): each counted action through its fallback chain; a read,
    fill or update the ERT names under none of its names keeps Timeloop's built-in
    estimate (:func:`builtin_storage_energy`), a gated, skipped or metadata access 0 pJ."""
    energy = {}
    for action, chain in STORAGE_ACTION_FALLBACKS.items():
        given = first_given(actions, chain)
        if given is None:
            given = estimate if action.startswith("random_") and "metadata" not in action else 0.0
        energy[action] = given
    return energy


# Timeloop's built-in SRAM energy model (its ``pat`` library): a line through Eyeriss'
# data points, 1.0 at 0.5 KB and 6.0 at 100 KB, for a 16-bit access, scaled by width.
_SRAM_POINTS = ((0.5, 1.0), (100.0, 6.0))
_DRAM_PJ_PER_16_BITS = 200.0


def builtin_storage_energy(
    klass: str, attrs: dict, word_bits: int, block_size: int, cluster: int, capacity: int | None
) -> float:
    """Timeloop's own vector access energy of a storage component, before any ERT: the
    ``vector-access-energy`` attribute, else its DRAM or SRAM estimate."""
    if attrs.get("vector-access-energy") is not None:
        return float(attrs["vector-access-energy"])
    if "DRAM" in klass or attrs.get("technology") == "DRAM":
        return _DRAM_PJ_PER_16_BITS * word_bits * block_size / 16
    if not capacity:
        return 0.0
    width = word_bits * block_size * cluster
    height = -(-capacity // block_size)
    (x0, y0), (x1, y1) = _SRAM_POINTS
    kilobytes = width * height / (8 * 1024)
    return ((y1 - y0) / (x1 - x0) * (kilobytes - x0) + y0) * width / 16 / cluster


def _attribute(attrs: dict, names: tuple[str, ...], default: Any = None) -> Any:
    """The first of ``names`` the attributes give (Timeloop's lookup order)."""
    return next((attrs[n] for n in names if attrs.get(n) is not None), default)


def _storage_level(
    src: _Source,
    name: str,
    klass: str,
    instances: int,
    attrs: dict,
    path: str,
    energy: dict[str, float],
    area: float | None,
) -> StorageLevel:
    where = f"{src.path}: {path}.attributes"
    word_bits = int(_attribute(attrs, ("word-bits", "word_width", "datawidth"), DEFAULT_WORD_BITS))
    cluster = int(attrs.get("cluster-size", 1) or 1)
    block = _attribute(attrs, ("block-size", "block_size", "n_words"))
    width = _attribute(attrs, ("width", "memory_width", "data_storage_width"))
    if block is not None:
        block_size = int(block)
    elif width is not None:
        block_size = max(1, int(width) // cluster // word_bits)
    else:
        block_size = 1
    if attrs.get("entries") is not None:
        capacity = int(attrs["entries"])
    elif (depth := _attribute(attrs, ("depth", "memory_depth", "data_storage_depth"))) is not None:
        capacity = int(depth) * block_size
    elif attrs.get("sizeKB") is not None:
        capacity = int(attrs["sizeKB"]) * 1024 * 8 // word_bits
    else:
        capacity = None
    metadata_width = int(attrs.get("metadata_storage_width", 0) or 0)
    metadata_depth = attrs.get("metadata_storage_depth")
    read_bw, write_bw = attrs.get("read_bandwidth"), attrs.get("write_bandwidth")
    if attrs.get("bandwidth") is not None:  # deprecated: half each way, as Timeloop reads it
        read_bw = read_bw if read_bw is not None else float(attrs["bandwidth"]) / 2
        write_bw = write_bw if write_bw is not None else float(attrs["bandwidth"]) / 2
    instances = int(attrs.get("instances", instances))
    mesh_x = attrs.get("meshX")
    if mesh_x is None and attrs.get("meshY") is not None:
        mesh_x = instances // int(attrs["meshY"])
    if area is None:
        cluster_area = float(attrs.get("cluster-area", 0) or 0)
        area = cluster_area / cluster if cluster_area > 0 else 0.0
    return validate(
        StorageLevel,
        {
            "name": name,
            "instances": instances,
            "mesh_x": int(mesh_x) if mesh_x else instances,
            "data_capacity": capacity,
            "word_bits": word_bits,
            "block_size": block_size,
            "metadata_capacity_bits": (
                int(metadata_depth) * metadata_width if metadata_depth is not None else None
            ),
            "metadata_word_bits": metadata_width,
            "read_bandwidth": read_bw,
            "write_bandwidth": write_bw,
            "shared_bandwidth": attrs.get("shared_bandwidth"),
            "multiple_buffering": attrs.get("multiple-buffering", 1.0),
            "cluster_size": cluster,
            "decompression": _yes(attrs.get("decompression_supported", False), where),
            "compression": _yes(attrs.get("compression_supported", False), where),
            "energy": storage_energy(
                energy,
                builtin_storage_energy(klass, attrs, word_bits, block_size, cluster, capacity),
            ),
            "area": area,
        },
        where,
    )


def _yes(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"expected true or false, got {value!r}", where)
    return value


def _compute_level(
    src: _Source,
    name: str,
    instances: int,
    attrs: dict,
    path: str,
    energy: dict[str, float],
    area: float | None,
) -> ComputeLevel:
    """The MACs; a compute action the ERT names under none of its names keeps Timeloop's
    own energy (the ``energy`` attribute, else its built-in multiplier estimate,
    (word bits / 16)^2 pJ); gated and skipped MACs without one cost 0 pJ."""
    word_bits = int(_attribute(attrs, ("word-bits", "datawidth"), DEFAULT_WORD_BITS))
    chains = {k: first_given(energy, c) for k, c in COMPUTE_ACTION_FALLBACKS.items()}
    if chains["random"] is None:
        given = attrs.get("energy")
        chains["random"] = float(given) if given is not None else (word_bits / 16) ** 2
    instances = int(attrs.get("instances", instances))
    mesh_x = attrs.get("meshX")
    return validate(
        ComputeLevel,
        {
            "name": name,
            "instances": instances,
            "mesh_x": int(mesh_x) if mesh_x else instances,
            "word_bits": word_bits,
            "energy": {k: v if v is not None else 0.0 for k, v in chains.items()},
            "area": area if area is not None else float(attrs.get("area", 0) or 0),
        },
        f"{src.path}: {path}",
    )


def _metadata_bits(attrs: dict) -> int:
    """The level's default word bits for format ranks (``metadata_datawidth``)."""
    return int(_attribute(attrs, ("metadata_datawidth", "metadata_word_bits"), 0) or 0)


def _architecture(
    src: _Source, ert: dict[str, dict[str, float]], art: dict[str, float]
) -> tuple[Architecture, dict]:
    """The architecture, and per storage level its attributes (formats read defaults)."""
    arch = src.get(src.data, "architecture", "")
    locals_: list = []
    for i, top in enumerate(src.get(arch, "subtree", "architecture")):
        _walk_tree(src, top, f"architecture.subtree[{i}]", 1, locals_)
    storage, compute, attributes = [], None, {}
    for name, instances, local, path in locals_:
        attrs = local.get("attributes") or {}
        klass = str(local.get("class", ""))
        is_storage = any(c in klass for c in STORAGE_CLASSES)
        is_compute = not is_storage and any(c in klass.lower() for c in COMPUTE_CLASSES)
        if not (is_storage or is_compute):
            continue  # a network or an unknown class: Timeloop neglects it too
        energy = ert.get(name)
        if energy is None:
            raise MissingEnergyError(
                f"no ERT table for level {name!r} (tables: {', '.join(sorted(ert)) or 'none'})",
                "ERT",
            )
        if is_compute:
            if compute is not None:
                raise src.error(path, f"a second compute level {name!r} ({compute.name} first)")
            compute = _compute_level(src, name, instances, attrs, path, energy, art.get(name))
        else:
            storage.append(
                _storage_level(src, name, klass, instances, attrs, path, energy, art.get(name))
            )
            attributes[name] = attrs
    if compute is None:
        raise src.error("architecture", "no compute level (class: intmac, mac or compute)")
    if not storage:
        raise src.error("architecture", "no storage level (class: DRAM, SRAM, regfile, ...)")
    architecture = validate(
        Architecture, {"levels": storage, "compute": compute}, f"{src.path}: architecture"
    )
    return architecture, attributes


def _tables_architecture(sections: dict[str, _Source]) -> tuple[Architecture, dict]:
    return _architecture(
        sections["architecture"], _ert_tables(sections["ERT"]), _art_areas(sections.get("ART"))
    )


# -- problem ---------------------------------------------------------------------------------


def _problem(src: _Source) -> tuple[Gemm | Problem, dict[str, TensorDensity]]:
    problem = src.get(src.data, "problem", "")
    shape_data = problem.get("shape") if isinstance(problem, dict) else None
    if isinstance(shape_data, str):
        shape = builtin_shape(shape_data, f"{src.path}: problem.shape")
    elif shape_data is None:
        raise src.error("problem.shape", "missing required key")
    else:
        shape = parse_timeloop_shape(shape_data, f"{src.path}: problem.shape")
    instance = problem.get("instance", problem)
    if not isinstance(instance, dict):
        raise src.error("problem.instance", "expected a mapping of dimension sizes")
    key = "problem.instance"
    sizes = {}
    for dim in shape.dimensions:
        sizes[dim] = _integer(src, src.get(instance, dim, key), f"{key}.{dim}")
    coefficients = {
        name: _integer(src, instance[name], f"{key}.{name}")
        for name, _ in shape.coefficients
        if name in instance
    }
    densities = _densities(src, instance, shape)
    if _is_gemm(shape):
        workload = validate(
            Gemm,
            {"name": shape_name(sizes["M"], sizes["K"], sizes["N"]), **sizes},
            f"{src.path}: {key}",
        )
        return workload, densities
    name = f"{shape.name} " + "-".join(f"{d}{sizes[d]}" for d in shape.dimensions)
    workload = validate(
        Problem,
        {"name": name, "shape": shape, "instance": sizes, "coefficients": coefficients},
        f"{src.path}: {key}",
    )
    return workload, densities


def _integer(src: _Source, value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise src.error(key, f"expected an integer, got {value!r}")
    return value


def _is_gemm(shape: ProblemShape) -> bool:
    """Sparseloop's gemm-ABZ under any shape name: sparsim's own GEMM, by its name."""
    gemm = builtin_shape("gemm")
    return (
        sorted(shape.dimensions) == sorted(gemm.dimensions)
        and not shape.coefficients
        and [(d.name, d.projection, d.read_write) for d in shape.data_spaces]
        == [(d.name, d.projection, d.read_write) for d in gemm.data_spaces]
    )


def _densities(src: _Source, instance: dict, shape: ProblemShape) -> dict[str, TensorDensity]:
    """Per tensor its density model: a mapping (``distribution``, ``density``) or a number
    (fixed-structured, Timeloop's default), or one ``commonDensity`` for all."""
    given = {}
    if instance.get("commonDensity") is not None:
        given = {
            t: (instance["commonDensity"], "problem.instance.commonDensity")
            for t in shape.tensor_names
        }
    for tensor, entry in (instance.get("densities") or {}).items():
        key = f"problem.instance.densities.{tensor}"
        if tensor not in shape.tensor_names:
            raise UnknownNameError(
                f"unknown tensor {tensor!r} (tensors: {', '.join(shape.tensor_names)})",
                f"{src.path}: {key}",
            )
        given[tensor] = (entry, key)
    densities = {}
    for tensor, (entry, key) in given.items():
        if isinstance(entry, dict) and entry.get("distribution") == "real-data":
            densities[tensor] = _real_data(src, entry, key)
            continue
        if isinstance(entry, dict):
            distribution = entry.get("distribution", "fixed-structured")
            density = entry.get("density")
            if density is None:
                raise src.error(f"{key}.density", "missing required key")
        else:
            distribution, density = "fixed-structured", entry
        if distribution == "fixed":
            distribution = "fixed-structured"
        if distribution not in ("fixed-structured", "hypergeometric", "uniform"):
            raise UnknownNameError(
                f"unsupported density distribution {distribution!r} (fixed-structured, "
                "hypergeometric, uniform, real-data)",
                f"{src.path}: {key}.distribution",
            )
        density = float(density)
        if density == 1.0:
            distribution = "dense"
        densities[tensor] = validate(
            TensorDensity, {"distribution": distribution, "density": density}, f"{src.path}: {key}"
        )
    return densities


def _real_data(src: _Source, entry: dict, key: str) -> TensorDensity:
    """The MICRO'22 artifact's ``real-data`` model: a file of one 0/1 character per element
    in Timeloop's point order (the first rank of the projection varies fastest), read as a
    measured density (its path relative to the file that names it)."""
    given = src.get(entry, "data_file_path", key)
    path = Path(str(given))
    if not path.is_absolute():
        path = Path(src.path).parent / path
    where = f"{src.path}: {key}.data_file_path"
    mask = TensorDensity(distribution="measured", density=0.0, measured=str(path))
    try:
        density = float(mask.load_mask().mean())
    except SpecError as exc:
        raise SpecError(exc.message, where) from None
    return TensorDensity(distribution="measured", density=density, measured=str(path))


# -- sparse optimizations ------------------------------------------------------------------


def _sparse_optimizations(
    src: _Source | None, attributes: dict, compute: str
) -> tuple[list[LevelSparseOptimization], list[str]]:
    """The storage levels' optimizations and the compute level's (``compute-optimization``
    types, gating or skipping)."""
    if src is None:
        return [], []
    result, compute_types = [], []
    sparse = src.data.get("sparse_optimizations") or {}
    for i, target in enumerate(sparse.get("targets") or []):
        key = f"sparse_optimizations.targets[{i}]"
        level = src.get(target, "name", key)
        if level == compute:
            compute_types.extend(_compute_optimizations(src, target, key))
            continue
        default_bits = _metadata_bits(attributes.get(level, {}))
        formats, rank_order = {}, {}
        representation = target.get("representation-format") or {}
        for j, space in enumerate(representation.get("data-spaces") or []):
            space_key = f"{key}.representation-format.data-spaces[{j}]"
            ranks = [
                _rank(src, rank, f"{space_key}.ranks[{k}]", default_bits)
                for k, rank in enumerate(src.get(space, "ranks", space_key))
            ]
            name = src.get(space, "name", space_key)
            formats[name] = ranks
            order = space.get("rank-application-order")
            if order is not None:
                rank_order[name] = str(order).strip()
        actions = []
        for j, opt in enumerate(target.get("action-optimization") or []):
            opt_key = f"{key}.action-optimization[{j}]"
            options = opt.get("options")
            choices = options if options is not None else [opt]
            actions.append(
                validate(
                    ActionOptimization,
                    {
                        "type": opt.get("type"),
                        "target": choices[0].get("target") if choices else None,
                        "condition_on": (choices[0].get("condition-on") or []) if choices else [],
                        "options": [
                            {"target": c.get("target"), "condition_on": c.get("condition-on") or []}
                            for c in choices[1:]
                        ],
                    },
                    f"{src.path}: {opt_key}",
                )
            )
        if "compute-optimization" in target:
            raise src.error(
                f"{key}.compute-optimization",
                f"{level!r} is a storage level; compute optimizations go to the compute "
                f"level {compute!r}",
            )
        result.append(
            validate(
                LevelSparseOptimization,
                {
                    "level": level,
                    "formats": formats,
                    "rank_order": rank_order,
                    "actions": actions,
                },
                f"{src.path}: {key}",
            )
        )
    return result, compute_types


# Timeloop's names for the compute optimizations, old and new.
_COMPUTE_TYPES = {
    "gating": "gating",
    "gate-on-zero-operand": "gating",
    "skipping": "skipping",
    "skip_on_not_aligned_operands": "skipping",
}


def _compute_optimizations(src: _Source, target: dict, key: str) -> list[str]:
    extra = sorted(set(target) - {"name", "compute-optimization"})
    if extra:
        raise src.error(
            f"{key}.{extra[0]}", "the compute level takes only compute-optimization entries"
        )
    types = []
    for j, entry in enumerate(src.get(target, "compute-optimization", key) or []):
        entry_key = f"{key}.compute-optimization[{j}].type"
        name = str(src.get(entry, "type", f"{key}.compute-optimization[{j}]"))
        if name not in _COMPUTE_TYPES:
            raise src.error(
                entry_key, f"unknown compute optimization {name!r} (gating or skipping)"
            )
        types.append(_COMPUTE_TYPES[name])
    return types


def _rank(src: _Source, rank: dict, key: str, default_bits: int) -> RankFormat:
    """One format rank; unstated word bits are the level's ``metadata_datawidth`` (a
    bitmask's metadata: 1 bit), as Timeloop's ``AdjustFormatWordBits`` gives them."""
    name = str(src.get(rank, "format", key)).upper()
    metadata = rank.get("metadata-word-bits")
    if metadata is None:
        metadata = 1 if name == "B" else default_bits
    payload = rank.get("payload-word-bits")
    flattened = rank.get("flattened-rankIDs", rank.get("flattened_rankIDs"))
    return validate(
        RankFormat,
        {
            "format": name,
            "metadata_word_bits": metadata,
            "payload_word_bits": payload if payload is not None else default_bits,
            "flattened_ranks": flattened or None,
        },
        f"{src.path}: {key}",
    )


# -- mapping ---------------------------------------------------------------------------------


def _parse_factors(src: _Source, text: Any, key: str, sizes: dict[str, int]) -> dict[str, int]:
    """``"M16 K=0 N 4"`` -> factors; 0 is the whole problem dimension (Timeloop's reading)."""
    factors = {}
    text = str(text).split("#")[0]
    position = 0
    for match in _FACTOR.finditer(text):
        if text[position : match.start()].strip(" ,\t"):
            raise src.error(key, f"bad factor {text[position : match.start()].strip()!r}")
        position = match.end()
        dim, value, residual = match.group(1), int(match.group(2)), match.group(3)
        if residual is not None and int(residual) != value:
            raise src.error(
                key, f"imperfect factor {match.group(0)!r} (a residual) is not supported"
            )
        if dim not in sizes:
            raise UnknownNameError(
                f"unknown dimension {dim!r} (dimensions: {', '.join(sizes)})",
                f"{src.path}: {key}",
            )
        factors[dim] = value if value else sizes[dim]
    if text[position:].strip(" ,\t"):
        raise src.error(key, f"bad factor {text[position:].strip()!r} (expected e.g. M16)")
    return factors


def _mapping(src: _Source, workload: Gemm | Problem) -> Mapping:
    problem = workload.problem()
    sizes, tensors = problem.instance, problem.shape.tensor_names
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
            bypass = list(entry.get("bypass") or [])
            both = set(bypass) & set(entry.get("keep") or [])
            if both:
                raise src.error(key, f"{', '.join(sorted(both))} both kept and bypassed")
            unknown = [t for t in [*bypass, *(entry.get("keep") or [])] if t not in tensors]
            if unknown:
                raise UnknownNameError(
                    f"unknown tensor {unknown[0]!r} (tensors: {', '.join(tensors)})",
                    f"{src.path}: {key}",
                )
            # Timeloop keeps every tensor a level does not bypass ('X' defaults to keep).
            fields["keep"] = [t for t in tensors if t not in bypass]
            fields["stream"] = list(entry.get("stream") or [])
        elif kind in ("temporal", "spatial"):
            fields[kind] = _parse_factors(
                src, src.get(entry, "factors", key, ""), f"{key}.factors", sizes
            )
            fields[f"{kind}_permutation"] = "".join(str(entry.get("permutation", "")).split())
            if kind == "spatial" and "split" in entry:
                fields["split"] = int(entry["split"])
            for timeloop_key, field in REUSE_SWITCHES[kind]:
                if timeloop_key in entry:
                    fields[field] = _names(src, entry[timeloop_key], f"{key}.{timeloop_key}")
        else:
            raise src.error(f"{key}.type", f"unknown mapping type {kind!r}")
    return validate(Mapping, {"levels": [per_level[name] for name in order]}, str(src.path))


# Per mapping entry type, the switches that turn off a kind of reuse for listed tensors.
REUSE_SWITCHES = {
    "temporal": (("no_temporal_reuse", "no_temporal_reuse"),),
    "spatial": (
        ("no_link_transfer", "no_link_transfer"),
        ("no_multicast_no_reduction", "no_multicast"),
    ),
}


def _names(src: _Source, value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise src.error(key, f"expected a list of tensor names, got {value!r}")
    return list(value)


# -- entry points ----------------------------------------------------------------------------


def load_sparseloop_problem(case_dir: str | Path):
    """What a mapper needs from a case, without any mapping: (workload, architecture,
    densities, sparse optimisations, the constraint sections or None)."""
    sections = gather_sections(case_dir)
    workload, densities = _problem(sections["problem"])
    architecture, attributes = _tables_architecture(sections)
    constraints = {k: sections[k].data[k] for k in CONSTRAINT_KEYS if k in sections} or None
    optimizations, compute = _sparse_optimizations(
        sections.get("sparse_optimizations"), attributes, architecture.compute.name
    )
    return workload, architecture, densities, optimizations, compute, constraints


def load_sparseloop_case(case: str | Path | Iterable[str | Path]) -> Spec:
    """A Timeloop/Sparseloop case (a directory in any of the layouts above, or its files)
    as a Spec."""
    sections = gather_sections(case)
    where = case if isinstance(case, str | Path) else _common_folder([Path(p) for p in case])
    if "mapping" not in sections:
        raise SpecError("no YAML file holds the section 'mapping'", str(where))
    workload, densities = _problem(sections["problem"])
    architecture, attributes = _tables_architecture(sections)
    optimizations, compute = _sparse_optimizations(
        sections.get("sparse_optimizations"), attributes, architecture.compute.name
    )
    return validate(
        Spec,
        {
            "workload": workload,
            "architecture": architecture,
            "densities": densities,
            "sparse_optimizations": optimizations,
            "compute_optimizations": compute,
            "mapping": _mapping(sections["mapping"], workload),
        },
        str(where),
    )
