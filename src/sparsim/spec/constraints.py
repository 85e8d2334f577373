"""Mapspace constraints in Timeloop's v0.3 form: what a mapper may choose, per storage level.

A constraints file holds ``architecture_constraints`` and/or ``mapspace_constraints``, each a
list of entries (or ``{targets: [...]}``). An entry names a ``target`` level and a ``type``:

* ``temporal`` / ``spatial``: ``factors`` such as ``"K=1 M<=8 N>=2 P16"`` (``=`` or nothing:
  exact; ``0``: the whole problem dimension; an exact factor larger than the dimension is
  ignored, as Timeloop does, and reported), ``permutation`` (innermost loop first, one
  letter per dimension, spaces ignored; letters after ``_`` are the outermost loops),
  ``split`` (spatial: how many of the permutation's dimensions run along mesh X),
  ``default_max_factor`` (the bound of every dimension without its own ``<=``); spatial
  entries may list tensors under ``no_link_transfer`` and ``no_multicast_no_reduction``,
  temporal ones under ``no_temporal_reuse``: the mapping carries them to the model;
* ``bypass`` (also ``datatype``, ``dataspace``, ``bypassing``): ``keep`` and ``bypass`` lists;
* ``utilization`` / ``parallelism``: ``min``, the least fraction of the MACs a mapping uses.

Dimension and tensor names are the problem shape's own (``M N K`` and ``A B Z`` for the
GEMM, ``C M R S N P Q`` and ``Weights Inputs Outputs`` for a convolution layer): they are
read as written and checked against the problem when the constraints are applied
(:meth:`MapspaceConstraints.check`), an unknown one being an error naming the file and key.
Dimensions and tensors not named stay free. A factor, permutation, split, keep/bypass or
reuse switch of the same level given twice is an error, as in Timeloop.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from sparsim.errors import SpecError, UnknownNameError
from sparsim.io import load_yaml

_FACTOR = re.compile(r"([A-Za-z]+)\s*(<=|>=|=)?\s*(\d+)")
BYPASS_TYPES = ("bypass", "datatype", "dataspace", "bypassing")
LOOP_TYPES = ("temporal", "spatial")
UTILIZATION_TYPES = ("utilization", "parallelism")
# Timeloop's reuse switches: constraint key -> LevelConstraints (and LevelMapping) field.
REUSE_SWITCHES = {
    "spatial": {
        "no_link_transfer": "no_link_transfer",
        "no_multicast_no_reduction": "no_multicast",
    },
    "temporal": {"no_temporal_reuse": "no_temporal_reuse"},
}
# ``stream`` only matters to mapping files: accepted, not acted on.
NEUTRAL_KEYS = frozenset({"stream"})
KNOWN_KEYS = frozenset(
    {"target", "name", "type", "factors", "permutation", "split", "keep", "bypass", "min"}
    | {"default_max_factor"}
    | {key for switches in REUSE_SWITCHES.values() for key in switches}
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

    @property
    def dimensions(self) -> set[str]:
        return set(self.exact) | set(self.at_most) | set(self.at_least)


class Permutation(BaseModel):
    """Loop order: ``inner`` dimensions innermost first, ``outer`` the outermost ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inner: str = ""
    outer: str = ""

    def complete(self, middle: list[str] | tuple[str, ...] | str) -> str:
        """The full order (innermost first): ``inner``, then ``middle``'s other
        dimensions in its order, then ``outer``."""
        fixed = self.inner + self.outer
        return self.inner + "".join(d for d in middle if d not in fixed) + self.outer


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
    no_link_transfer: tuple[str, ...] = ()
    no_multicast: tuple[str, ...] = ()
    no_temporal_reuse: tuple[str, ...] = ()
    keys: dict[str, str] = {}  # field -> where it was given (file: key path), for errors


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

    def check(self, level_names: list[str], dimensions, tensors) -> None:
        """Every level, dimension and tensor the constraints name exists in the
        architecture and the problem shape (``dimensions``, ``tensors``): an unknown one is
        an :class:`UnknownNameError` naming the entry and key where it was given."""
        self.check_levels(level_names)
        dims, names = list(dimensions), list(tensors)
        for level in self.levels.values():
            default = f"{self.source}: target {level.level}"
            for kind in LOOP_TYPES:
                for dim in sorted(getattr(level, kind).dimensions):
                    where = level.keys.get(f"{kind}.factors.{dim}", default)
                    _known(dim, dims, "dimension", where)
                rule = getattr(level, f"{kind}_permutation")
                for dim in (rule.inner + rule.outer) if rule else "":
                    where = level.keys.get(f"{kind}.permutation", default)
                    _known(dim, dims, "dimension", where)
            for field in (
                "keep",
                "bypass",
                "no_link_transfer",
                "no_multicast",
                "no_temporal_reuse",
            ):
                for tensor in getattr(level, field) or ():
                    _known(tensor, names, "tensor", level.keys.get(field, default))


def _known(name: str, known: list[str], what: str, where: str) -> None:
    if name not in known:
        raise UnknownNameError(f"unknown {what} {name!r} ({what}s: {', '.join(known)})", where)


NO_CONSTRAINTS = MapspaceConstraints()


def _parse_factors(text: Any, where: str) -> dict[str, dict[str, int]]:
    body = str(text).split("#", 1)[0]
    parsed: dict[str, dict[str, int]] = {"=": {}, "<=": {}, ">=": {}}
    leftover = _FACTOR.sub(" ", body).strip()
    if leftover:
        raise SpecError(f"cannot read {leftover!r} in factors {body.strip()!r}", where)
    for match in _FACTOR.finditer(body):
        dim, relation, value = match[1], match[2] or "=", int(match[3])
        if relation != "=" and value <= 0:
            raise SpecError(f"{dim}{relation}{value}: a bound must be positive", where)
        if dim in parsed[relation]:
            raise SpecError(f"{dim}{relation} given twice", where)
        parsed[relation][dim] = value
    return parsed


def _parse_permutation(text: Any, where: str) -> Permutation:
    """Timeloop's form: one letter per dimension, whitespace ignored, ``_`` before the
    outermost loops."""
    body = "".join(str(text).split("#", 1)[0].split())
    inner, _, outer = body.partition("_")
    if "_" in outer:
        raise SpecError(f"permutation {body!r} has more than one '_'", where)
    if len(set(inner + outer)) != len(inner + outer):
        raise SpecError(f"permutation {body!r} repeats a dimension", where)
    return Permutation(inner=inner, outer=outer)


def _tensor_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise SpecError("expected a list of tensor names", where)
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
    """Timeloop v0.3 constraints (already read from YAML) as :class:`MapspaceConstraints`.
    Entries for the same level merge (an architecture's and a mapspace's constraints), as
    long as no factor of a dimension, permutation, split, keep/bypass or reuse switch is
    given twice."""
    return _merged(_entries(data, where), where)


def _merged(entries: list[tuple[dict, str]], source: str) -> MapspaceConstraints:
    levels: dict[str, dict[str, Any]] = {}
    min_utilization = None
    for entry, path in entries:
        unknown = sorted(set(entry) - KNOWN_KEYS)
        if unknown:
            raise SpecError(f"constraint key {unknown[0]!r} is not supported", path)
        target = entry.get("target", entry.get("name"))
        kind = entry.get("type")
        if not isinstance(target, str):
            raise SpecError("missing target level", f"{path}.target")
        fields = levels.setdefault(target, {"level": target, "keys": {}})
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
            fields["keys"]["keep"] = f"{path}.keep"
            fields["keys"]["bypass"] = f"{path}.bypass"
        elif kind in LOOP_TYPES:
            _loop_entry(fields, kind, entry, path)
        else:
            raise UnknownNameError(
                f"unknown constraint type {kind!r} (temporal, spatial, bypass, utilization)",
                f"{path}.type",
            )
    built = {}
    for name, fields in levels.items():
        for kind in LOOP_TYPES:
            if kind in fields:
                fields[kind] = Factors(**fields[kind])
        built[name] = LevelConstraints(**fields)
    return MapspaceConstraints(levels=built, min_utilization=min_utilization, source=source)


def _loop_entry(fields: dict[str, Any], kind: str, entry: dict, path: str) -> None:
    """Merge one temporal or spatial entry into its level's fields."""
    factors = _parse_factors(entry.get("factors", ""), f"{path}.factors")
    merged = fields.setdefault(
        kind, {"exact": {}, "at_most": {}, "at_least": {}, "default_at_most": None}
    )
    for relation, field in (("=", "exact"), ("<=", "at_most"), (">=", "at_least")):
        for dim, value in factors[relation].items():
            if dim in merged[field]:
                raise SpecError(
                    f"{kind} factor {dim}{relation} of level {fields['level']!r} given twice",
                    f"{path}.factors",
                )
            merged[field][dim] = value
            fields["keys"][f"{kind}.factors.{dim}"] = f"{path}.factors"
    if entry.get("default_max_factor") is not None:
        if merged["default_at_most"] is not None:
            raise SpecError("default_max_factor given twice", f"{path}.default_max_factor")
        try:
            merged["default_at_most"] = int(entry["default_max_factor"])
        except (TypeError, ValueError):
            raise SpecError(
                f"expected a whole number, got {entry['default_max_factor']!r}",
                f"{path}.default_max_factor",
            ) from None
        if merged["default_at_most"] <= 0:
            raise SpecError("must be positive", f"{path}.default_max_factor")
    if "permutation" in entry:
        if f"{kind}_permutation" in fields:
            raise SpecError(
                f"{kind} permutation of level {fields['level']!r} given twice",
                f"{path}.permutation",
            )
        fields[f"{kind}_permutation"] = _parse_permutation(
            entry["permutation"], f"{path}.permutation"
        )
        fields["keys"][f"{kind}.permutation"] = f"{path}.permutation"
    if "split" in entry:
        if kind != "spatial":
            raise SpecError("split applies to spatial constraints only", f"{path}.split")
        if "split" in fields:
            raise SpecError(f"split of level {fields['level']!r} given twice", f"{path}.split")
        split = entry["split"]
        if isinstance(split, bool) or not isinstance(split, int) or split < 0:
            raise SpecError(f"expected a whole number, got {split!r}", f"{path}.split")
        fields["split"] = split
    for other, switches in REUSE_SWITCHES.items():
        for key, field in switches.items():
            if key not in entry:
                continue
            if other != kind:
                raise SpecError(f"{key} applies to {other} constraints only", f"{path}.{key}")
            if field in fields:
                raise SpecError(f"{key} of level {fields['level']!r} given twice", path)
            fields[field] = _tensor_list(entry[key], f"{path}.{key}")
            fields["keys"][field] = f"{path}.{key}"


def load_constraints(*paths: str | Path) -> MapspaceConstraints:
    """Timeloop v0.3 constraints YAML files (e.g. an architecture's and a mapspace's),
    merged as one."""
    if not paths:
        raise SpecError("no constraints file given", "constraints")
    entries = [entry for path in paths for entry in _entries(load_yaml(path), str(path))]
    return _merged(entries, " + ".join(str(path) for path in paths))


def has_constraints(data: Any) -> bool:
    """Whether a YAML document carries mapspace constraints."""
    return isinstance(data, dict) and bool(
        {"architecture_constraints", "mapspace_constraints"} & set(data)
    )
