"""The built-in designs: what each one is and which sparsity its hardware can exploit.

The catalog and the architectures ship as YAML inside the package (``catalog.yaml``,
``architectures/*.yaml``); their numbers come from the fig15 int8 designs of the
Sparseloop MICRO'22 artifact, so no Timeloop files are needed at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import yaml

from sparsim.errors import SparsimError, UnknownNameError
from sparsim.spec.architecture import Architecture
from sparsim.spec.constraints import MapspaceConstraints, parse_constraints
from sparsim.spec.validation import validate

Dataflow = Literal["tensor-core", "output-stationary"]
_NM = re.compile(r"^(\d+):(\d+)$")


@dataclass(frozen=True)
class Design:
    name: str
    title: str
    description: str
    artifact: str  # the fig15 design this one reproduces
    architecture_name: str
    dataflow: Dataflow
    # None: dense only; "any": unstructured; else the supported N:M patterns (n, m).
    weight_patterns: tuple[tuple[int, int], ...] | Literal["any"] | None
    weight_format: str | None
    exploits_activations: bool
    constraints_name: str  # constraints/NAME.yaml: the mapper's mapspace for this design
    roles: tuple[tuple[str, str], ...]  # (role, level name): backing-store, shared-buffer, ...

    @property
    def architecture(self) -> Architecture:
        return _architecture(self.architecture_name)

    def level_name(self, role: str) -> str:
        """The name of the level playing ``role`` in this design."""
        roles = dict(self.roles)
        if role not in roles:
            raise UnknownNameError(
                f"design {self.name} has no {role} level (roles: {', '.join(roles)})", "design"
            )
        return roles[role]

    @property
    def constraints(self) -> MapspaceConstraints:
        return _constraints(self.constraints_name)

    @property
    def exploits_weights(self) -> bool:
        return self.weight_patterns is not None

    def weight_support(self) -> str:
        if self.weight_patterns is None:
            return "dense"
        if self.weight_patterns == "any":
            return "any"
        return "/".join(f"{n}:{m}" for n, m in self.weight_patterns)


def _resource_text(*parts: str) -> str:
    return resources.files("sparsim.designs").joinpath(*parts).read_text()


@cache
def _architecture(name: str) -> Architecture:
    where = f"sparsim/designs/architectures/{name}.yaml"
    return validate(
        Architecture, yaml.safe_load(_resource_text("architectures", f"{name}.yaml")), where
    )


@cache
def _constraints(name: str) -> MapspaceConstraints:
    where = f"sparsim/designs/constraints/{name}.yaml"
    return parse_constraints(yaml.safe_load(_resource_text("constraints", f"{name}.yaml")), where)


ROLES = ("backing-store", "shared-buffer", "accumulator", "pe-register")


def _roles(value: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or set(value) != set(ROLES):
        raise SparsimError(f"roles must name a level for each of {', '.join(ROLES)}", where)
    return tuple((role, str(value[role])) for role in ROLES)


def _weight_patterns(value: object, where: str) -> tuple[tuple[int, int], ...] | str | None:
    if value == "dense":
        return None
    if value == "any":
        return "any"
    patterns = []
    for text in value:  # type: ignore[union-attr]
        match = _NM.match(str(text))
        if not match:
            raise SparsimError(f"bad N:M pattern {text!r}", where)
        patterns.append((int(match[1]), int(match[2])))
    return tuple(sorted(patterns, key=lambda p: p[0] / p[1], reverse=True))


@cache
def _catalog() -> dict[str, Design]:
    data = yaml.safe_load(_resource_text("catalog.yaml"))
    designs = {}
    for name, entry in data.items():
        where = f"sparsim/designs/catalog.yaml: {name}"
        designs[name] = Design(
            name=name,
            title=entry["title"],
            description=entry["description"],
            artifact=entry["artifact"],
            architecture_name=entry["architecture"],
            dataflow=entry["dataflow"],
            weight_patterns=_weight_patterns(entry["weights"], where),  # type: ignore[arg-type]
            weight_format=entry.get("weight_format"),
            exploits_activations=entry["activations"] == "any",
            constraints_name=entry["constraints"],
            roles=_roles(entry.get("roles"), where),
        )
    return designs


def design_names() -> list[str]:
    return list(_catalog())


def designs() -> list[Design]:
    return list(_catalog().values())


def get_design(name: str | Design) -> Design:
    """A design by name, case-insensitively (``_`` and ``-`` are the same)."""
    if isinstance(name, Design):
        return name
    key = str(name).strip().lower().replace("_", "-")
    catalog = _catalog()
    if key not in catalog:
        raise UnknownNameError(f"unknown design {name!r} (designs: {', '.join(catalog)})", "design")
    return catalog[key]
