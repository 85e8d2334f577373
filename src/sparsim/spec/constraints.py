"""Mapspace constraints in Timeloop's v0.3 form: what a mapper may choose, per storage level.

A constraints file holds ``architecture_constraints`` and/or ``mapspace_constraints``, each a
list of entries (or ``{targets: [...]}``). An entry names a ``target`` level and a ``type``:

* ``temporal`` / ``spatial``: ``factors`` such as ``"K=1 M<=8 N>=2 P16"`` (``=`` or nothing:
  exact; ``0``: the whole problem dimension; an exact factor larger than the dimension is
  ignored, as Timeloop does, and reported), ``permutation`` (innermost loop first; letters
  after ``_`` are the outermost loops), ``split`` (spatial: how many of the permutation's
  dimensions run along mesh X), ``default_max_factor``;
* ``bypass`` (also ``datatype``, ``dataspace``, ``bypassing``): ``keep`` and ``bypass`` lists;
* ``utilization`` / ``parallelism``: ``min``, the least fraction of the MACs a mapping uses.

Dimensions and tensors not named stay free. A factor, permutation, split or keep/bypass of
the same level given twice is an error, as in Timeloop.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from sparsim.errors import SpecError, UnknownNameError
from sparsim.io import load_yaml

DIMS = ("M", "N", "K")
TENSORS = ("A", "B", "Z")
_FACTOR = re.compile(r"([A-Za-z]+)\s*(<=|>=|=)?\s*(\d+)")
BYPASS_TYPES = ("bypass", "datatype", "dataspace", "bypassing")
LOOP_TYPES = ("temporal", "spatial")
UTILIZATION_TYPES = ("utilization", "parallelism")
# Keys sparsim accepts without acting on them: sparsim's model has no inter-PE link
# transfers, so forbidding them changes nothing; ``stream`` only matters to mapping files.
NEUTRAL_KEYS = frozenset({"no_link_transfer", "stream"})
KNOWN_KEYS = frozenset(
    {"target", "name", "type", "factors", "permutation", "split", "keep", "bypass", "min"}
    | {"default_max_factor"}
    | NEUTRAL_KEYS
)


class Factors(BaseModel):
    """Bounds on one level's temporal or spatial factors, per dimension."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    exact: dict[str, int] = {}  # 0 = the whole problem dimension
    at_most: dict[str, int] = {}
    at_least: dict[str, int] = {}
    default_at_most: int | None = None

    def bounds(self, dim: str, size: int) -> tuple[int, int, int | None]:
        """(least, most, exact or None) for a dimension of ``size``."""
        exact = self.exact.get(dim)
        if exact == 0:
            exact = size
        most = self.at_most.get(dim, self.default_at_most or size)
        return self.at_least.get(dim, 1), most, exact


class Permutation(BaseModel):
    """Loop order: ``inner`` dimensions innermost first, ``outer`` the outermost ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inner: str = ""
    outer: str = ""


class LevelConstraints(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    level: str
    temporal: Factors = Factors()
    spatial: Factors = Factors()
    temporal_permutation: Permutation | None = None
    spatial_permutation: Permutation | None = None
    split: int | None = None
    keep: tuple[str, ...] | None = None
    bypass: tuple[str, ...] | None = None


class MapspaceConstraints(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    levels: dict[str, LevelConstraints] = {}
    min_utilization: float | None = None
    source: str = "constraints"

    def for_level(self, name: str) -> LevelConstraints:
        return self.levels.get(name) or LevelConstraints(level=name)

    def check_levels(self, level_names: list[str]) -> None:
        """Every constrained level exists in the architecture."""
        for name in self.levels:
            if name not in level_names:
                raise UnknownNameError(
                    f"unknown level {name!r} (levels: {', '.join(level_names)})",
                    f"{self.source}: target {name}",
                )


NO_CONSTRAINTS = MapspaceConstraints()


def _parse_factors(text: Any, where: str) -> dict[str, dict[str, int]]:
    body = str(text).split("#", 1)[0]
    parsed: dict[str, dict[str, int]] = {"=": {}, "<=": {}, ">=": {}}
    leftover = _FACTOR.sub(" ", body).strip()
    if leftover:
        raise SpecError(f"cannot read {leftover!r} in factors {body.strip()!r}", where)
    for match in _FACTOR.finditer(body):
        dim, relation, value = match[1], match[2] or "=", int(match[3])
        if dim not in DIMS:
            raise UnknownNameError(f"unknown dimension {dim!r} (M, N, K)", where)
        if relation != "=" and value <= 0:
            raise SpecError(f"{dim}{relation}{value}: a bound must be positive", where)
        if dim in parsed[relation]:
            raise SpecError(f"{dim}{relation} given twice", where)
        parsed[relation][dim] = value
    return parsed


def _parse_permutation(text: Any, where: str) -> Permutation:
    body = "".join(str(text).split("#", 1)[0].split())
    inner, _, outer = body.partition("_")
    for dim in inner + outer:
        if dim not in DIMS:
            raise UnknownNameError(f"unknown dimension {dim!r} in permutation (M, N, K)", where)
    if len(set(inner + outer)) != len(inner + outer):
        raise SpecError(f"permutation {body!r} repeats a dimension", where)
    return Permutation(inner=inner, outer=outer)


def _tensor_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise SpecError("expected a list of tensors", where)
    for tensor in value:
        if tensor not in TENSORS:
            raise UnknownNameError(f"unknown tensor {tensor!r} (A, B, Z)", where)
    return tuple(value)


def _entries(data: Any, where: str) -> list[tuple[dict, str]]:
    """The constraint entries of a file, each with its key path."""
    if not isinstance(data, dict):
        raise SpecError("expected architecture_constraints and/or mapspace_constraints", where)
    sections = [k for k in ("architecture_constraints", "mapspace_constraints") if k in data]
    if not sections and "targets" in data:
        sections = [""]
    if not sections:
        raise SpecError("no architecture_constraints, mapspace_constraints or targets", where)
    entries = []
    for section in sections:
        node = data[section] if section else data
        key = section
        if isinstance(node, dict):
            node, key = node.get("targets"), f"{section}.targets" if section else "targets"
        if not isinstance(node, list):
            raise SpecError("expected a list of constraint entries", f"{where}: {key}")
        for i, entry in enumerate(node):
            path = f"{where}: {key}[{i}]"
            if not isinstance(entry, dict):
                raise SpecError("expected a constraint entry (target, type, ...)", path)
            if "constraints" in entry:  # Timeloop's nested form: a target with a list
                for j, inner in enumerate(entry["constraints"] or []):
                    entries.append(({**inner, "target": entry.get("target")}, f"{path}[{j}]"))
            else:
                entries.append((entry, path))
    return entries


def parse_constraints(data: Any, where: str) -> MapspaceConstraints:
    """Timeloop v0.3 constraints (already read from YAML) as :class:`MapspaceConstraints`."""
    levels: dict[str, dict[str, Any]] = {}
    min_utilization = None
    for entry, path in _entries(data, where):
        unknown = sorted(set(entry) - KNOWN_KEYS)
        if unknown:
            raise SpecError(f"constraint key {unknown[0]!r} is not supported", path)
        target = entry.get("target", entry.get("name"))
        kind = entry.get("type")
        if not isinstance(target, str):
            raise SpecError("missing target level", f"{path}.target")
        fields = levels.setdefault(target, {"level": target})
        if kind in UTILIZATION_TYPES:
            if min_utilization is not None:
                raise SpecError("utilization given twice", path)
            min_utilization = float(entry.get("min", 0.0))
            if not 0.0 <= min_utilization <= 1.0:
                raise SpecError(f"min utilization {min_utilization} not in [0, 1]", f"{path}.min")
        elif kind in BYPASS_TYPES:
            if "keep" in fields or "bypass" in fields:
                raise SpecError(f"keep/bypass of level {target!r} given twice", path)
            keep = _tensor_list(entry.get("keep", []), f"{path}.keep")
            bypass = _tensor_list(entry.get("bypass", []), f"{path}.bypass")
            if set(keep) & set(bypass):
                raise SpecError(f"{sorted(set(keep) & set(bypass))} both kept and bypassed", path)
            fields["keep"], fields["bypass"] = keep, bypass
        elif kind in LOOP_TYPES:
            if kind in fields:
                raise SpecError(f"{kind} constraints of level {target!r} given twice", path)
            factors = _parse_factors(entry.get("factors", ""), f"{path}.factors")
            default_max = entry.get("default_max_factor")
            fields[kind] = Factors(
                exact=factors["="],
                at_most=factors["<="],
                at_least=factors[">="],
                default_at_most=int(default_max) if default_max is not None else None,
            )
            if "permutation" in entry:
                fields[f"{kind}_permutation"] = _parse_permutation(
                    entry["permutation"], f"{path}.permutation"
                )
            if "split" in entry:
                if kind != "spatial":
                    raise SpecError("split applies to spatial constraints only", f"{path}.split")
                fields["split"] = int(entry["split"])
        else:
            raise UnknownNameError(
                f"unknown constraint type {kind!r} (temporal, spatial, bypass, utilization)",
                f"{path}.type",
            )
    return MapspaceConstraints(
        levels={name: LevelConstraints(**fields) for name, fields in levels.items()},
        min_utilization=min_utilization,
        source=where,
    )


def load_constraints(path: str | Path) -> MapspaceConstraints:
    """A Timeloop v0.3 constraints YAML file."""
    return parse_constraints(load_yaml(path), str(path))


def has_constraints(data: Any) -> bool:
    """Whether a YAML document carries mapspace constraints."""
    return isinstance(data, dict) and bool(
        {"architecture_constraints", "mapspace_constraints"} & set(data)
    )
