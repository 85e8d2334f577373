"""The sparsity-types study as data: its layers, sparsity grids, strategies (built-in designs
with overrides) and hardware sweeps, read from a YAML file and validated, so a user reruns
the study on their own without editing code (``sparsim study sparsity-types --config``).

The shipped default (``configs/sparsity-types.yaml``) is the study the report describes.
Every error names the file and the key to fix, and a point the study cannot evaluate (a
structured density no N:M block gives) is refused here, before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from sparsim.designs import Design, get_design
from sparsim.designs.catalog import ROLES
from sparsim.errors import SparsimError, SpecError
from sparsim.io import load_yaml
from sparsim.spec.sparsity import parse_density
from sparsim.study.runner import MAPPINGS
from sparsim.study.strategies import (
    LARGEST_BLOCK,
    SIDES,
    STRUCTURES,
    TOLERANCE,
    Strategy,
    nm_block,
)

DEFAULT = "sparsity-types.yaml"
# Strategies the report's checks compare by name (their hardware may change).
REQUIRED_STRATEGIES = (
    "dense",
    "struct-flexible",
    "struct-dual",
    "unstruct-single",
    "unstruct-dual",
    "struct-nm",
    "struct-nm-dual",
)
PARAMETERS = ("data_capacity", "metadata_capacity_bits", "metadata_word_bits", "read_bandwidth")


@dataclass(frozen=True)
class HardwareSweep:
    """Hardware parameters of one level, scaled together around each design's own values.
    The level is named by its role in the design (``shared-buffer``: SMEM in the built-in
    designs) or by its name; :meth:`level_of` says which level it is in a design."""

    name: str
    title: str  # "" : the report words it from the level, parameters and energy model
    role: str | None
    level: str | None
    parameters: tuple[str, ...]  # fields of runner.HardwareChange
    unit: str
    scales: tuple[float, ...]
    sparsities: tuple[float, ...]
    rescale_energy: bool = True

    @property
    def parameter(self) -> str:
        return "+".join(self.parameters)

    def level_of(self, design: Design) -> str:
        """The name of the swept level in ``design``."""
        return design.level_name(self.role) if self.role else str(self.level)


@dataclass(frozen=True)
class LayerSetSpec:
    name: str
    title: str
    gemms: tuple[tuple[int, int, int], ...] = ()
    builtin: str | None = None
    full_only: bool = False


@dataclass(frozen=True)
class StudyDefinition:
    layer_sets: tuple[LayerSetSpec, ...]
    sparsities: tuple[float, ...]
    strategies: tuple[Strategy, ...]  # every strategy, grid ones first
    grid: tuple[str, ...]  # the strategies on the weight x activation grid
    adjusted: tuple[str, ...]
    fine_strategies: tuple[str, ...]
    fine_sparsities: tuple[float, ...]
    low: dict[str, tuple[tuple[str, str], tuple[float, ...]]]
    swept: tuple[str, ...]
    memory: tuple[HardwareSweep, ...]
    bandwidth: tuple[HardwareSweep, ...]
    source: str = DEFAULT
    # remap: every point mapped at its own densities; fixed: one mapping per design, layer,
    # hardware change and N:M pattern, its density points evaluated on it (faster; a point
    # whose mapper choice depends on its densities gets other numbers)
    mapping: str = "remap"

    @property
    def by_name(self) -> dict[str, Strategy]:
        return {s.name: s for s in self.strategies}


class _Reader:
    """Typed access to one file's keys, each error naming ``file: key``."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, message: str) -> SparsimError:
        return SpecError(message, f"{self.source}: {key}")

    def get(self, mapping: dict, key: str, where: str, kind: type | tuple, default=...):
        if not isinstance(mapping, dict):
            raise self.fail(where, "must be a mapping")
        if key not in mapping:
            if default is ...:
                raise self.fail(f"{where}.{key}" if where else key, "is missing")
            return default
        value = mapping[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.fail(f"{where}.{key}" if where else key, f"has the wrong type ({value!r})")
        return value

    def note(self, key: str, message: str) -> SparsimError:
        """An error about a value the study cannot evaluate."""
        return SpecError(message, f"{self.source}: {key}")

    def sparsity(self, value, where: str) -> float:
        try:
            number = float(Fraction(value)) if isinstance(value, str) else float(value)
        except (ValueError, ZeroDivisionError, TypeError):
            raise self.fail(where, f"not a number or fraction: {value!r}") from None
        if isinstance(value, bool) or not 0.0 <= number < 1.0:
            raise self.fail(where, f"a sparsity must be in [0, 1), got {value!r}")
        return number

    def sparsities(self, values, where: str) -> tuple[float, ...]:
        if not isinstance(values, list) or not values:
            raise self.fail(where, "must be a non-empty list of sparsities")
        found = tuple(self.sparsity(v, f"{where}[{i}]") for i, v in enumerate(values))
        if len(set(found)) != len(found):
            raise self.fail(where, "lists a sparsity twice")
        return found


def _strategy(reader: _Reader, entry: dict, where: str) -> tuple[Strategy, bool]:
    name = reader.get(entry, "name", where, str)
    structure = reader.get(entry, "structure", where, str)
    sides = reader.get(entry, "sides", where, str)
    if structure not in STRUCTURES:
        raise reader.fail(
            f"{where}.structure", f"one of {', '.join(STRUCTURES)}, got {structure!r}"
        )
    if sides not in SIDES:
        raise reader.fail(f"{where}.sides", f"one of {', '.join(SIDES)}, got {sides!r}")
    try:
        design = get_design(reader.get(entry, "design", where, str))
    except SparsimError as exc:
        raise reader.fail(f"{where}.design", exc.message) from None
    weights = reader.get(entry, "weights", where, list, None)
    if weights is not None:
        patterns = []
        for i, text in enumerate(weights):
            try:
                parsed = parse_density(str(text))
            except SparsimError:
                parsed = None
            if parsed is None or parsed.n is None:
                raise reader.fail(f"{where}.weights[{i}]", f"not an N:M pattern: {text!r}")
            patterns.append((parsed.n, parsed.m))
        design = design.with_patterns(tuple(patterns))
    activations = reader.get(entry, "activations", where, str, None)
    if activations is not None:
        if activations not in ("dense", "exploited"):
            raise reader.fail(f"{where}.activations", f"dense or exploited, got {activations!r}")
        design = replace(design, exploits_activations=activations == "exploited")
    hardware = reader.get(entry, "hardware", where, dict, {})
    for key in hardware:
        if key not in ("name", "title", "description"):
            raise reader.fail(f"{where}.hardware.{key}", "unknown key (name, title, description)")
    design = replace(design, **{k: str(v) for k, v in hardware.items()})
    skip = reader.get(entry, "skip_activations", where, bool, False)
    title = reader.get(entry, "title", where, str)
    in_grid = reader.get(entry, "in_grid", where, bool, True)
    contender = reader.get(entry, "contender", where, bool, True)
    strategy = Strategy(
        name, title, structure, sides, design, skip_activations=skip, contender=contender
    )
    return strategy, in_grid


def _names(reader: _Reader, values, where: str, known: dict) -> tuple[str, ...]:
    if not isinstance(values, list) or not values:
        raise reader.fail(where, "must be a non-empty list of strategy names")
    for i, name in enumerate(values):
        if name not in known:
            raise reader.fail(f"{where}[{i}]", f"unknown strategy {name!r}")
    return tuple(values)


MAX_SCALE = 1024  # a hardware sweep scales a parameter by 1/1024 to 1024 times
MAX_FINE_POINTS = 1000  # sparsities of the fine grid


def _scales(reader: _Reader, values: list, where: str) -> tuple[float, ...]:
    """Scales of a hardware parameter: distinct finite numbers in [1/MAX_SCALE, MAX_SCALE],
    1 (the design's own value) among them."""
    if not values or not all(
        isinstance(s, int | float)
        and not isinstance(s, bool)
        and 1 / MAX_SCALE <= s <= MAX_SCALE  # NaN fails too
        for s in values
    ):
        raise reader.fail(where, f"must be a list of numbers from 1/{MAX_SCALE} to {MAX_SCALE}")
    if 1 not in values:
        raise reader.fail(where, "must include 1 (the design's own value)")
    if len(set(values)) != len(values):
        raise reader.fail(where, "lists a scale twice")
    return tuple(float(s) for s in values)


def _sweep(
    reader: _Reader, entry: dict, where: str, scales, sparsities, swept: list[Strategy]
) -> HardwareSweep:
    given = reader.get(entry, "parameter", where, (str, list))
    parameters = tuple(given) if isinstance(given, list) else (given,)
    for parameter in parameters:
        if parameter not in PARAMETERS:
            raise reader.fail(
                f"{where}.parameter", f"one of {', '.join(PARAMETERS)}, got {parameter!r}"
            )
    if not parameters or len(set(parameters)) != len(parameters):
        raise reader.fail(f"{where}.parameter", "names each parameter once")
    role = reader.get(entry, "role", where, str, None)
    level = reader.get(entry, "level", where, str, None)
    if (role is None) == (level is None):
        raise reader.fail(where, "needs exactly one of role (e.g. shared-buffer) or level")
    if role is not None and role not in ROLES:
        raise reader.fail(f"{where}.role", f"one of {', '.join(ROLES)}, got {role!r}")
    for strategy in swept:
        design = strategy.design
        names = design.architecture.level_names
        if role is not None and role not in dict(design.roles):
            raise reader.fail(f"{where}.role", f"design {design.name} has no {role} level")
        if level is not None and level not in names:
            raise reader.fail(
                f"{where}.level",
                f"design {design.name} has no level {level!r} (levels: {', '.join(names)})",
            )
    own_scales = reader.get(entry, "scales", where, list, None)
    if own_scales is not None:
        scales = _scales(reader, own_scales, f"{where}.scales")
    own = reader.get(entry, "sparsities", where, list, None)
    return HardwareSweep(
        reader.get(entry, "name", where, str),
        reader.get(entry, "title", where, str, ""),
        role,
        level,
        parameters,
        reader.get(entry, "unit", where, str),
        scales,
        reader.sparsities(own, f"{where}.sparsities") if own is not None else sparsities,
        reader.get(entry, "rescale_energy", where, bool, True),
    )


def parse_definition(data, source: str) -> StudyDefinition:
    reader = _Reader(source)
    if not isinstance(data, dict):
        raise reader.fail("(top level)", "must be a mapping")
    known = {
        "layer_sets",
        "sparsities",
        "strategies",
        "adjusted",
        "fine",
        "low",
        "hardware_sweeps",
        "mapping",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise reader.fail(unknown[0], f"unknown key (expected {', '.join(sorted(known))})")
    sets = []
    for i, entry in enumerate(reader.get(data, "layer_sets", "", list)):
        where = f"layer_sets[{i}]"
        gemms = reader.get(entry, "gemms", where, list, [])
        for j, gemm in enumerate(gemms):
            if (
                not isinstance(gemm, list)
                or len(gemm) != 3
                or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in gemm)
            ):
                raise reader.fail(
                    f"{where}.gemms[{j}]", f"must be [M, K, N] positive, got {gemm!r}"
                )
        builtin = reader.get(entry, "builtin", where, str, None)
        if bool(gemms) == (builtin is not None):
            raise reader.fail(where, "needs exactly one of gemms or builtin")
        sets.append(
            LayerSetSpec(
                reader.get(entry, "name", where, str),
                reader.get(entry, "title", where, str),
                tuple(tuple(g) for g in gemms),
                builtin,
                reader.get(entry, "full_only", where, bool, False),
            )
        )
    if sets[0].full_only:
        raise reader.fail(
            "layer_sets[0].full_only",
            "the first layer set runs every sweep, in --quick too: it cannot be full-only",
        )
    if len({s.name for s in sets}) != len(sets):
        raise reader.fail("layer_sets", "names a layer set twice")
    strategies, on_grid = [], []
    for i, entry in enumerate(reader.get(data, "strategies", "", list)):
        strategy, in_grid = _strategy(reader, entry, f"strategies[{i}]")
        if strategy.name in [s.name for s in strategies]:
            raise reader.fail(f"strategies[{i}].name", f"{strategy.name!r} defined twice")
        strategies.append(strategy)
        if in_grid:
            on_grid.append(strategy.name)
    by_name = {s.name: s for s in strategies}
    missing = [n for n in REQUIRED_STRATEGIES if n not in by_name]
    if missing:
        raise reader.fail(
            "strategies", f"needs a strategy named {missing[0]!r} (the checks use it)"
        )
    fine = reader.get(data, "fine", "", dict)
    grid_of = reader.get(fine, "sparsities", "fine", dict)
    start, stop, step = (
        reader.sparsity(
            reader.get(grid_of, k, "fine.sparsities", (int, float)), f"fine.sparsities.{k}"
        )
        for k in ("start", "stop", "step")
    )
    if step <= 0 or stop < start:
        raise reader.fail("fine.sparsities", "needs start <= stop and step > 0")
    if (stop - start) / step > MAX_FINE_POINTS:
        raise reader.fail(
            "fine.sparsities.step", f"gives more than {MAX_FINE_POINTS} sparsities: a larger step"
        )
    fine_sparsities = tuple(float(s) for s in np.round(np.arange(start, stop + step / 2, step), 6))
    low = {}
    low_data = reader.get(data, "low", "", dict)
    for structure in ("structured", "unstructured"):
        entry = reader.get(low_data, structure, "low", dict)
        names = _names(
            reader,
            reader.get(entry, "strategies", f"low.{structure}", list),
            f"low.{structure}.strategies",
            by_name,
        )
        if len(names) != 2:
            raise reader.fail(
                f"low.{structure}.strategies", "must name a single- and a dual-sided strategy"
            )
        low[structure] = (
            names,
            reader.sparsities(
                reader.get(entry, "sparsities", f"low.{structure}", list),
                f"low.{structure}.sparsities",
            ),
        )
    swept_names = _names(
        reader,
        reader.get(
            reader.get(data, "hardware_sweeps", "", dict), "strategies", "hardware_sweeps", list
        ),
        "hardware_sweeps.strategies",
        by_name,
    )
    swept = [by_name[name] for name in swept_names]
    sweeps = reader.get(data, "hardware_sweeps", "", dict)
    scales = _scales(
        reader,
        reader.get(sweeps, "memory_scales", "hardware_sweeps", list),
        "hardware_sweeps.memory_scales",
    )
    memory_sparsities = reader.sparsities(
        reader.get(sweeps, "memory_sparsities", "hardware_sweeps", list),
        "hardware_sweeps.memory_sparsities",
    )
    mapping = reader.get(data, "mapping", "", str, "remap")
    if mapping not in MAPPINGS:
        raise reader.fail("mapping", f"one of {', '.join(MAPPINGS)}, got {mapping!r}")
    grid = reader.sparsities(reader.get(data, "sparsities", "", list), "sparsities")
    if 0.0 not in grid or len(grid) < 2:
        raise reader.fail("sparsities", "must include 0 (dense) and at least one sparsity")
    definition = StudyDefinition(
        layer_sets=tuple(sets),
        sparsities=tuple(sorted(grid)),
        strategies=tuple(strategies),
        grid=tuple(on_grid),
        adjusted=_names(reader, reader.get(data, "adjusted", "", list), "adjusted", by_name),
        fine_strategies=_names(
            reader, reader.get(fine, "strategies", "fine", list), "fine.strategies", by_name
        ),
        fine_sparsities=fine_sparsities,
        low=low,
        swept=swept_names,
        memory=tuple(
            _sweep(reader, e, f"hardware_sweeps.memory[{i}]", scales, memory_sparsities, swept)
            for i, e in enumerate(reader.get(sweeps, "memory", "hardware_sweeps", list))
        ),
        bandwidth=tuple(
            _sweep(reader, e, f"hardware_sweeps.bandwidth[{i}]", scales, memory_sparsities, swept)
            for i, e in enumerate(reader.get(sweeps, "bandwidth", "hardware_sweeps", list))
        ),
        source=source,
        mapping=mapping,
    )
    _check_structured_points(reader, data, definition)
    return definition


def _nm_failure(density: float) -> bool:
    """Whether a structured strategy cannot run ``density`` (dense always runs)."""
    return density < 1 - TOLERANCE and nm_block(density) is None


def _check_structured_points(reader: _Reader, data: dict, d: StudyDefinition) -> None:
    """Every density a structured strategy is asked to run is N:M with M up to
    :data:`LARGEST_BLOCK`: refused here, naming the key and the value, with what would work,
    rather than failing mid-run."""
    hint = (
        f"structured strategies run N:M blocks with M <= {LARGEST_BLOCK}: use sparsities "
        "whose densities (1 - s) are N/M with M <= 16, e.g. 0, 0.25, 0.5, 0.75, 0.875"
    )
    grid = list(data.get("sparsities", []))
    structured = [s for s in d.strategies if s.structure == "structured"]

    def check(strategy, sparsity: float, key: str, what: str = "") -> None:
        if _nm_failure(1 - sparsity):
            raise reader.note(
                key,
                f"{what or f'sparsity {sparsity:.6g}'} (density {1 - sparsity:.6g}) for "
                f"{strategy.name}: no N:M block gives it; {hint}",
            )

    raw = {float(Fraction(v) if isinstance(v, str) else v): i for i, v in enumerate(grid)}
    for strategy in structured:
        if strategy.name in d.grid:
            for s in d.sparsities:
                check(strategy, s, f"sparsities[{raw.get(s, 0)}]")
    adjusted = [s for s in structured if s.name in d.adjusted]
    for strategy in adjusted:
        for ws in d.sparsities:
            for sa in d.sparsities:
                total = 1 - (1 - ws) * (1 - sa)
                if _nm_failure(1 - total):
                    raise reader.note(
                        f"sparsities[{raw.get(ws, 0)}], sparsities[{raw.get(sa, 0)}]",
                        f"weights {ws:.6g} x activations {sa:.6g} give a total density "
                        f"{(1 - ws) * (1 - sa):.6g}, which {strategy.name} (in adjusted) runs "
                        f"on its weights: no N:M block gives it; {hint} and whose products "
                        f"are too, or take {strategy.name} out of adjusted",
                    )
    for strategy in structured:
        if strategy.name in d.fine_strategies:
            for s in d.fine_sparsities:
                check(strategy, s, "fine.sparsities", f"fine sparsity {s:.6g}")
        for kind, (names, sparsities) in d.low.items():
            if strategy.name in names:
                for i, s in enumerate(sparsities):
                    check(strategy, s, f"low.{kind}.sparsities[{i}]")
        if strategy.name in d.swept:
            for sweep in (*d.memory, *d.bandwidth):
                for s in sweep.sparsities:
                    check(strategy, s, f"hardware sweep {sweep.name}: sparsities")


def load_definition(path: str | Path | None = None) -> StudyDefinition:
    """The study a YAML file defines (the shipped default when ``path`` is None)."""
    if path is None:
        text = resources.files("sparsim.study").joinpath("configs", DEFAULT).read_text()
        return parse_definition(yaml.safe_load(text), DEFAULT)
    return parse_definition(load_yaml(path), str(path))
