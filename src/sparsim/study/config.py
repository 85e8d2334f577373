"""The sparsity-types study as data: its layers, sparsity grids, strategies (built-in designs
with overrides) and hardware sweeps, read from a YAML file and validated, so a user reruns
the study on their own without editing code (``sparsim study sparsity-types --config``).

The shipped default (``configs/sparsity-types.yaml``) is the study the report describes.
Every error names the file and the key to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from sparsim.designs import get_design
from sparsim.errors import SparsimError, SpecError
from sparsim.io import load_yaml
from sparsim.spec.sparsity import parse_density
from sparsim.study.runner import MAPPINGS
from sparsim.study.strategies import SIDES, STRUCTURES, Strategy

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
REQUIRED_SET = "fig15"  # the paper's own workload: checks take their verdicts on it
PARAMETERS = ("data_capacity", "metadata_capacity_bits", "metadata_word_bits", "read_bandwidth")


@dataclass(frozen=True)
class HardwareSweep:
    """One hardware parameter of one level, scaled around each design's own value."""

    name: str
    title: str
    level: str
    parameter: str  # a field of runner.HardwareChange
    unit: str
    scales: tuple[float, ...]
    sparsities: tuple[float, ...]
    rescale_energy: bool = True


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
    return Strategy(name, title, structure, sides, design, skip_activations=skip), in_grid


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


def _sweep(reader: _Reader, entry: dict, where: str, scales, sparsities) -> HardwareSweep:
    parameter = reader.get(entry, "parameter", where, str)
    if parameter not in PARAMETERS:
        raise reader.fail(
            f"{where}.parameter", f"one of {', '.join(PARAMETERS)}, got {parameter!r}"
        )
    own_scales = reader.get(entry, "scales", where, list, None)
    if own_scales is not None:
        scales = _scales(reader, own_scales, f"{where}.scales")
    own = reader.get(entry, "sparsities", where, list, None)
    return HardwareSweep(
        reader.get(entry, "name", where, str),
        reader.get(entry, "title", where, str),
        reader.get(entry, "level", where, str),
        parameter,
        reader.get(entry, "unit", where, str),
        scales,
        reader.sparsities(own, f"{where}.sparsities") if own is not None else sparsities,
        reader.get(entry, "rescale_energy", where, bool, True),
    )


def _sweeps(reader, sweeps, kind, scales, sparsities, by_name) -> tuple[HardwareSweep, ...]:
    """The memory or bandwidth sweeps, each on a level every swept strategy's design has."""
    found = []
    swept = reader.get(sweeps, "strategies", "hardware_sweeps", list)
    for i, entry in enumerate(reader.get(sweeps, kind, "hardware_sweeps", list)):
        where = f"hardware_sweeps.{kind}[{i}]"
        sweep = _sweep(reader, entry, where, scales, sparsities)
        for name in swept:
            levels = by_name[name].design.architecture.level_names if name in by_name else []
            if name in by_name and sweep.level not in levels:
                raise reader.fail(
                    f"{where}.level",
                    f"{name}'s design has no level {sweep.level!r} ({', '.join(levels)})",
                )
        found.append(sweep)
    return tuple(found)


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
    if REQUIRED_SET not in [s.name for s in sets] or sets[0].full_only:
        raise reader.fail(
            "layer_sets",
            f"needs the set {REQUIRED_SET!r} (the paper's workload), run in --quick too",
        )
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
    if 0.0 not in grid or 0.5 not in grid:
        raise reader.fail("sparsities", "must include 0 (dense) and 0.5 (the report's reference)")
    return StudyDefinition(
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
        swept=_names(
            reader,
            reader.get(sweeps, "strategies", "hardware_sweeps", list),
            "hardware_sweeps.strategies",
            by_name,
        ),
        memory=_sweeps(reader, sweeps, "memory", scales, memory_sparsities, by_name),
        bandwidth=_sweeps(reader, sweeps, "bandwidth", scales, memory_sparsities, by_name),
        source=source,
        mapping=mapping,
    )


def load_definition(path: str | Path | None = None) -> StudyDefinition:
    """The study a YAML file defines (the shipped default when ``path`` is None)."""
    if path is None:
        text = resources.files("sparsim.study").joinpath("configs", DEFAULT).read_text()
        return parse_definition(yaml.safe_load(text), DEFAULT)
    return parse_definition(load_yaml(path), str(path))
