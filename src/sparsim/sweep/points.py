"""A sweep config expanded into points, and the points grouped into units of work.

A *point* is one row of the results: a design on a memory configuration, one layer, one
density of A and of B (as the config gives them), one mapping objective. Its key is a
hash of everything that decides its numbers (files by content), so a store knows which
points it already holds and identical points are evaluated once.

A *unit* is what a worker evaluates in one go: every density point of one (design,
memory, layer, objective) that the design runs with the same N:M pattern, i.e. the points
that can share one mapping. Within a unit, points the design computes identically (same
effective densities: a dense TC ignores them all) are evaluated once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sparsim.designs import Design, get_design, resize, scheme_for
from sparsim.designs.catalog import INPUTS, WEIGHTS
from sparsim.errors import SparsimError
from sparsim.io import input_file, load_yaml
from sparsim.limits import MAX_FILE_BYTES
from sparsim.spec.architecture import Architecture
from sparsim.spec.sparsity import parse_density
from sparsim.spec.validation import validate
from sparsim.spec.workload import Conv, Gemm, parse_gemm_shape
from sparsim.sweep.config import (
    AXES,
    RESIZE_KEYS,
    CustomDesign,
    SweepConfig,
    Workload,
    is_design_file,
    memory_label,
)
from sparsim.workload import builtin_table, load_table


@dataclass(frozen=True)
class DesignRef:
    """What a worker needs to rebuild a design: small and picklable (no architecture)."""

    label: str
    builtin: str
    architecture: str | None = None  # an architecture file replacing the design's hardware
    digest: str = ""  # of that file's content
    # A design given as data (a built-in one with other sparsity support), used instead of
    # the built-in ``builtin``; its architecture is still looked up by name.
    design: Design | None = None
    # Each PE skips its MAC (and weight read) on a zero activation: the ideal dual-sided
    # structured core, which no built-in tensor core is.
    skip_activations: bool = False

    def resolve(self) -> Design:
        """The design a worker builds."""
        return self.design if self.design is not None else get_design(self.builtin)


@dataclass(frozen=True)
class Layer:
    workload: str  # the config's workload label (network, table or GEMM)
    name: str
    spec: Gemm | Conv


@dataclass(frozen=True)
class Point:
    design: DesignRef
    memory: dict[str, Any]
    layer: Layer
    density_A: str  # as given in the config
    density_B: str
    objective: str
    mapping: str
    densities: dict[str, str] = field(compare=False)  # as given, with files made absolute
    key: str = field(default="", compare=False)
    memory_text: str = field(default="", compare=False)  # canonical memory, for grouping

    def identity(self) -> dict[str, Any]:
        """The row columns that say what the point is."""
        return {
            "design": self.design.label,
            "workload": self.layer.workload,
            "layer": self.layer.name,
            "density_A": self.density_A,
            "density_B": self.density_B,
            "memory": memory_label(self.memory),
            "objective": self.objective,
            "mapping": self.mapping,
            "point_key": self.key,
        }


@dataclass(frozen=True)
class Unit:
    """One mapping's worth of work: ``schemes`` are the distinct effective densities to
    evaluate, ``points[i]`` the keys of the points scheme ``i`` answers."""

    design: DesignRef
    memory: dict[str, Any]
    layer: Gemm | Conv
    objective: str
    mapping: str
    pattern: tuple[int, int] | None
    schemes: tuple[dict[str, str], ...]
    points: tuple[tuple[str, ...], ...]

    @property
    def evaluations(self) -> int:
        return len(self.schemes) + (self.mapping == "fixed")


def _digest(path: Path, where: str) -> str:
    try:
        input_file(path, MAX_FILE_BYTES, where)
    except SparsimError as exc:
        raise type(exc)(f"cannot read file ({exc.message})", where) from None
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise SparsimError(f"cannot read file ({exc.strerror})", where) from None
    return digest.hexdigest()[:16]


@cache
def hardware(ref: DesignRef, memory_text: str) -> Architecture:
    """The architecture a point runs on: its design's (or the user's file), changed as the
    memory configuration says (``memory_text``: its canonical JSON, see :func:`change`)."""
    design = ref.resolve()
    architecture = design.architecture
    if ref.architecture is not None:
        architecture = validate(Architecture, load_yaml(ref.architecture), ref.architecture)
        if architecture.level_names != design.architecture.level_names:
            raise SparsimError(
                f"levels {architecture.level_names}; design {design.name} needs "
                f"{design.architecture.level_names}",
                ref.architecture,
            )
    for level, changes in json.loads(memory_text).items():
        if level != "name":
            architecture = change(architecture, level, changes)
    return architecture


def change(architecture: Architecture, level: str, changes: dict[str, Any]) -> Architecture:
    """One level of ``architecture`` changed: ``data_capacity``, ``metadata_capacity_bits``,
    ``metadata_word_bits`` resized with energies from the capacity model
    (:func:`sparsim.designs.resize`), or kept as they were with ``rescale_energy: false``;
    ``read_bandwidth`` in words per cycle."""
    if level not in architecture.level_names:
        raise SparsimError(
            f"unknown level {level!r} (levels: {', '.join(architecture.level_names)})", "resize"
        )
    sizes = {key: value for key, value in changes.items() if key in RESIZE_KEYS}
    if sizes:
        resized = resize(architecture, level, **sizes)
        if changes.get("rescale_energy", True) is False:
            resized = _with_level(resized, level, energy=architecture.level(level).energy)
        architecture = resized
    if "read_bandwidth" in changes:
        architecture = _with_level(
            architecture, level, read_bandwidth=float(changes["read_bandwidth"])
        )
    return architecture


def _with_level(architecture: Architecture, name: str, **update: Any) -> Architecture:
    levels = [
        level.model_copy(update=update) if level.name == name else level
        for level in architecture.levels
    ]
    return architecture.model_copy(update={"levels": levels})


def _design_ref(entry: str | CustomDesign, base: Path, where: str) -> DesignRef:
    if is_design_file(entry):
        # The user's own design: sent to the workers as data (they need not see the file).
        path = (base / str(entry).strip()).resolve()
        digest = _digest(path, where)
        try:
            design = get_design(path)
        except SparsimError as exc:
            raise exc.located(where) from None
        return DesignRef(design.name, "", digest=digest, design=design)
    if isinstance(entry, str):
        name = get_design(entry).name
        return DesignRef(name, name)
    path = (base / entry.architecture).resolve()
    builtin = get_design(entry.like).name
    label = entry.name or f"{builtin}@{Path(entry.architecture).stem}"
    return DesignRef(label, builtin, str(path), _digest(path, f"{where}.architecture"))


def _layers(entry: Workload, base: Path, where: str) -> list[Layer]:
    label = entry.label
    if entry.gemm:
        return [
            Layer(label, label, parse_gemm_shape(entry.gemm).model_copy(update={"name": label}))
        ]
    if entry.builtin:
        try:
            table = builtin_table(entry.builtin, **entry.options)
        except TypeError as exc:  # an option the table does not take
            raise SparsimError(str(exc), f"{where}.options") from None
        except SparsimError as exc:
            raise exc.located(f"{where}.options") from None
    elif entry.table:
        try:
            table = load_table(base / entry.table)
        except SparsimError as exc:
            raise exc.located(f"{where}.table") from None
    else:
        from sparsim.sweep.models import model_table

        table = model_table(base / entry.model, entry.input_shape, where)  # type: ignore[arg-type, operator]
    if entry.layers is not None:
        try:
            table = type(table)(tuple(table[name] for name in entry.layers), table.source)
        except SparsimError as exc:
            raise SparsimError(exc.message, f"{where}.layers") from None
    return [Layer(label, row.name, row.workload) for row in table]


def _density_value(value: float | str, base: Path) -> str:
    text = str(value).strip()
    return str((base / text).resolve()) if text.endswith(".npy") else text


@cache
def _file_digest(path: str) -> str:
    return _digest(Path(path), path)


def canonical(value: Any) -> str:
    """Stable JSON text of a value (sorted keys, no spaces): what keys and caches compare."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _key(*parts: str) -> str:
    """A point's key from the canonical text of each thing that decides its numbers."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def _combinations(config: SweepConfig) -> list[dict[str, Any]]:
    """Axis values per combination: zipped groups advance together, the rest are crossed."""
    groups = [list(group) for group in config.zip]
    zipped = {axis for group in groups for axis in group}
    groups += [[axis] for axis in AXES if axis not in zipped]
    per_group = [
        [
            dict(zip(group, values, strict=True))
            for values in zip(*map(config.axis, group), strict=True)
        ]
        for group in groups
    ]
    order = {axis: i for i, axis in enumerate(AXES)}
    groups_in_axis_order = sorted(
        range(len(groups)), key=lambda g: min(order[a] for a in groups[g])
    )
    return [
        {k: v for g in groups_in_axis_order for k, v in choice[g].items()}
        for choice in itertools.product(*per_group)
    ]


def expand(config: SweepConfig, base: Path, where: str = "sweep config") -> list[Point]:
    """Every distinct point of the config, in config order (duplicates kept once)."""
    designs = [
        _design_ref(entry, base, f"{where}: designs[{i}]") for i, entry in enumerate(config.designs)
    ]
    layers = {
        id(entry): _layers(entry, base, f"{where}: workloads[{i}]")
        for i, entry in enumerate(config.workloads)
    }
    design_of = {id(entry): ref for entry, ref in zip(config.designs, designs, strict=True)}
    # Canonical text of each axis value, computed once (a sweep has ~10^5 points); keyed
    # by the identity of the config's value objects, one table per axis.
    design_text = {
        id(entry): canonical([r.label, r.builtin, r.digest])
        for entry, r in zip(config.designs, designs, strict=True)
    }
    memory_text = {id(memory): canonical(memory) for memory in config.memories}
    # Every design on every memory configuration, checked (and cached) before any work.
    for i, ref in enumerate(designs):
        try:
            hardware(ref, canonical({}))
        except SparsimError as exc:
            raise exc.located(f"{where}: designs[{i}].architecture") from None
        for j, memory in enumerate(config.memories):
            try:
                hardware(ref, memory_text[id(memory)])
            except SparsimError as exc:
                raise exc.located(f"{where}: memories[{j}]") from None
    layer_text = {
        id(layer): canonical([layer.workload, layer.spec.model_dump(mode="json")])
        for entry_layers in layers.values()
        for layer in entry_layers
    }
    density_text: dict[str, dict[int, str]] = {WEIGHTS: {}, INPUTS: {}}
    resolved: dict[str, dict[int, str]] = {WEIGHTS: {}, INPUTS: {}}
    for tensor, values in ((WEIGHTS, config.densities.A), (INPUTS, config.densities.B)):
        for i, value in enumerate(values):
            path = _density_value(value, base)
            try:
                parse_density(path)
            except SparsimError as exc:
                raise SparsimError(exc.message, f"{where}: densities.{tensor}[{i}]") from None
            content = _file_digest(path) if path.endswith(".npy") else ""
            resolved[tensor][id(value)] = path
            density_text[tensor][id(value)] = canonical([str(value), content])
    points: dict[str, Point] = {}
    for combo in _combinations(config):
        design, memory = design_text[id(combo["design"])], memory_text[id(combo["memory"])]
        density_a, density_b = combo["density_A"], combo["density_B"]
        a, b = density_text[WEIGHTS][id(density_a)], density_text[INPUTS][id(density_b)]
        for layer in layers[id(combo["workload"])]:
            key = _key(
                design, memory, layer_text[id(layer)], a, b, combo["objective"], config.mapping
            )
            if key in points:
                continue
            points[key] = Point(
                design=design_of[id(combo["design"])],
                memory=combo["memory"],
                layer=layer,
                density_A=str(density_a),
                density_B=str(density_b),
                objective=combo["objective"],
                mapping=config.mapping,
                densities={
                    WEIGHTS: resolved[WEIGHTS][id(density_a)],
                    INPUTS: resolved[INPUTS][id(density_b)],
                },
                key=key,
                memory_text=memory,
            )
    return list(points.values())


@cache
def _scheme(design: Design, density_a: str, density_b: str) -> tuple[Any, str]:
    """The design's effective densities for the given ones, and a hashable name for them."""
    scheme = scheme_for(design, {WEIGHTS: density_a, INPUTS: density_b})
    return scheme, json.dumps(
        [d.model_dump(mode="json") for d in (scheme.weights, scheme.activations)]
    )


def units(points: list[Point]) -> list[Unit]:
    """The points grouped into units of work, in the order of their first point."""
    grouped: dict[tuple, dict[str, tuple[dict[str, str], list[str]]]] = {}
    first: dict[tuple, Point] = {}
    for point in points:
        densities = point.densities
        scheme, name = _scheme(point.design.resolve(), densities[WEIGHTS], densities[INPUTS])
        group = (
            point.design,
            point.memory_text,
            point.layer.workload,
            point.layer.name,
            point.objective,
            point.mapping,
            scheme.pattern,
        )
        first.setdefault(group, point)
        schemes = grouped.setdefault(group, {})
        schemes.setdefault(name, (densities, []))[1].append(point.key)
    return [
        Unit(
            design=first[group].design,
            memory=first[group].memory,
            layer=first[group].layer.spec,
            objective=first[group].objective,
            mapping=first[group].mapping,
            pattern=group[-1],
            schemes=tuple(densities for densities, _ in schemes.values()),
            points=tuple(tuple(keys) for _, keys in schemes.values()),
        )
        for group, schemes in grouped.items()
    ]
