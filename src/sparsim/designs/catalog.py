"""Designs as data: one YAML file per design says what the hardware is, which mappings it
allows, which sparsity it exploits and with which sparse features.

The built-in designs (``src/sparsim/designs/builtin/*.yaml``: the fig15 int8 designs of the
Sparseloop MICRO'22 artifact and the TASD paper's tensor cores) are such files, and so is
a user's own design, given by path wherever a design name is accepted. The keys are
documented in ``docs/designs.md``; every problem is a typed error naming the file and key.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sparsim.errors import SpecError, UnknownNameError
from sparsim.io import load_yaml, parse_shipped_yaml
from sparsim.spec.architecture import Architecture
from sparsim.spec.constraints import MapspaceConstraints, parse_constraints
from sparsim.spec.problem import ROLES as ROLES_OF_TENSORS
from sparsim.spec.problem import Problem, ProblemShape, Role, builtin_shape
from sparsim.spec.sparse_optimizations import (
    ActionOptimization,
    LevelSparseOptimization,
    RankFormat,
    RankFormatName,
    RankOrder,
)
from sparsim.spec.validation import validate
from sparsim.spec.workload import Conv, Gemm, Workload

# Dataflows with a mapping heuristic (sparsim.designs.heuristic) that reproduces the
# artifact's mapping choices; a design with another dataflow is mapped by the mapper.
HEURISTIC_DATAFLOWS = ("tensor-core", "output-stationary")
ROLES = ("backing-store", "shared-buffer", "accumulator", "pe-register")


def tensor_of(role: str, shape: ProblemShape | None = None) -> str:
    """The tensor playing ``role`` (``weights``, ``inputs``, ``outputs``) in ``shape``
    (default: the GEMM the tensor-core dataflows run): the one place code asks."""
    shape = shape or builtin_shape("gemm")
    name = shape.tensor_with_role(role)
    if name is None:
        raise UnknownNameError(
            f"no tensor of {shape.name} plays {role!r} (roles: {', '.join(ROLES_OF_TENSORS)})",
            "role",
        )
    return name


WEIGHTS = tensor_of("weights")
INPUTS = tensor_of("inputs")
PATTERN_BITS = "pattern"  # metadata_word_bits of a rank: the bits of the N:M pattern run
_NM = re.compile(r"^(\d+):(\d+)$")


class RankTemplate(BaseModel):
    """A format rank; ``metadata_word_bits: pattern`` takes the bits the design's weight
    patterns give the N:M pattern being run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: RankFormatName
    metadata_word_bits: Annotated[int, Field(ge=0)] | Literal["pattern"] | None = None
    payload_word_bits: Annotated[int, Field(ge=0)] | None = None
    flattened_ranks: list[str] | None = None

    def resolve(self, pattern_bits: int | None) -> RankFormat:
        bits = pattern_bits if self.metadata_word_bits == PATTERN_BITS else self.metadata_word_bits
        return RankFormat(
            format=self.format,
            metadata_word_bits=bits,
            payload_word_bits=self.payload_word_bits,
            flattened_ranks=self.flattened_ranks,
        )


class FormatTemplate(BaseModel):
    """A tensor's format at a level: its ranks (outermost first, by name from the file's
    ``ranks`` table) and whether it applies always or only when the tensor runs sparse."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    when: Literal["always", "sparse"] = "always"
    ranks: list[str] = Field(min_length=1)
    rank_order: RankOrder | None = Field(
        None, description="how the tile's loops become these ranks (default: the design's)"
    )


class OptimizationTemplate(BaseModel):
    """A level's sparse features, with tensors named by their role (``weights``,
    ``inputs``, ``outputs``): the problem the design runs says which tensor plays it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: str
    formats: dict[Role, FormatTemplate] = {}
    actions: list[ActionOptimization] = []

    @field_validator("actions")
    @classmethod
    def _actions_name_roles(cls, actions: list[ActionOptimization]) -> list[ActionOptimization]:
        for action in actions:
            for name in (action.target, *action.condition_on):
                if name not in ROLES_OF_TENSORS:
                    raise ValueError(
                        f"unknown tensor role {name!r} (roles: {', '.join(ROLES_OF_TENSORS)})"
                    )
        return actions

    def resolve(self, shape: ProblemShape) -> tuple[dict[str, str], list[ActionOptimization]]:
        """(role -> the shape's tensor name, the actions on those tensors)."""
        names = {role: shape.tensor_with_role(role) for role in ROLES_OF_TENSORS}
        actions = [
            action.model_copy(
                update={
                    "target": names[action.target],
                    "condition_on": [names[t] for t in action.condition_on],
                }
            )
            for action in self.actions
            if names[action.target] and all(names[t] for t in action.condition_on)
        ]
        return names, actions

    @field_validator("formats", mode="before")
    @classmethod
    def _list_means_always(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"ranks": v} if isinstance(v, list) else v for k, v in value.items()}
        return value


class WeightSupport(BaseModel):
    """N:M patterns (each with its metadata bits per nonzero) or ``any`` pattern."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patterns: dict[str, int] | Literal["any"]
    format: str

    @field_validator("patterns")
    @classmethod
    def _patterns_are_n_m(cls, value: Any) -> Any:
        for text, bits in value.items() if isinstance(value, dict) else ():
            match = _NM.match(text)
            if not match or not 0 < int(match[1]) < int(match[2]):
                raise ValueError(f"{text!r} is not an N:M pattern with 0 < N < M")
            if bits < 1:
                raise ValueError(f"metadata bits of {text} must be at least 1")
        return value


class DesignFile(BaseModel):
    """The keys of a design file (docs/designs.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    description: str
    artifact: str | None = Field(None, description="the fig15 design this one reproduces")
    architecture: str | Architecture = Field(description="a built-in name or the architecture")
    constraints: str | dict | None = Field(
        None, description="a built-in name or Timeloop v0.3 constraints"
    )
    dataflow: str | None = Field(None, description="tensor-core, output-stationary or a label")
    roles: dict[Literal[ROLES], str] | None = None  # type: ignore[valid-type]
    weights: Literal["dense"] | WeightSupport = "dense"
    activations: Literal["dense", "any"] = "dense"
    convolutions: Literal["im2col", "native"] = Field(
        "im2col",
        description="how the design runs a convolution: as its im2col GEMM (M output "
        "channels, K = C*R*S, N = batch*P*Q; the tensor-core dataflows, whose constraints "
        "and formats name the GEMM) or as the convolution itself (sliding-window reuse "
        "counted; constraints name C, M, R, S, N, P, Q)",
    )
    ranks: dict[str, RankTemplate] = {}
    rank_order: RankOrder = Field(
        "outer-to-inner",
        description="how a tile's loops become its format's ranks, for every format of the "
        "design (Timeloop's rank-application-order)",
    )
    sparse_optimizations: list[OptimizationTemplate] = []
    workload: Workload | None = Field(
        None,
        description="the layer `sparsim map FILE` maps (build() and compare are given theirs)",
    )

    @model_validator(mode="after")
    def _references_resolve(self) -> DesignFile:
        if self.dataflow in HEURISTIC_DATAFLOWS and set(self.roles or ()) != set(ROLES):
            raise ValueError(
                f"dataflow {self.dataflow} maps by roles: give roles for {', '.join(ROLES)}"
            )
        if self.dataflow in HEURISTIC_DATAFLOWS and self.convolutions != "im2col":
            raise ValueError(
                f"dataflow {self.dataflow} runs convolutions as GEMMs: convolutions: im2col"
            )
        patterns = isinstance(self.weights, WeightSupport) and self.weights.patterns != "any"
        for name, rank in self.ranks.items():
            if rank.metadata_word_bits == PATTERN_BITS and not patterns:
                raise ValueError(
                    f"rank {name!r} takes its bits from the N:M pattern, but the design "
                    "runs no N:M weights"
                )
        for entry in self.sparse_optimizations:
            for tensor, template in entry.formats.items():
                for name in template.ranks:
                    if name not in self.ranks:
                        raise ValueError(
                            f"{entry.level} format of {tensor}: unknown rank {name!r} "
                            f"(ranks: {', '.join(self.ranks) or 'none given'})"
                        )
        return self


@dataclass(frozen=True)
class Design:
    """A design, loaded from its file. Compared and hashed by what it is, not by the
    objects it carries."""

    name: str
    title: str
    description: str
    artifact: str | None
    architecture_name: str
    dataflow: str | None
    # None: dense only; "any": unstructured; else the supported N:M patterns (n, m).
    weight_patterns: tuple[tuple[int, int], ...] | Literal["any"] | None
    weight_format: str | None
    exploits_activations: bool
    roles: tuple[tuple[str, str], ...]  # (role, level name): backing-store, shared-buffer, ...
    metadata_bits: tuple[tuple[tuple[int, int], int], ...] = ()  # ((n, m), bits)
    source: str = ""
    architecture: Architecture = field(default=None, compare=False, repr=False)  # type: ignore[assignment]
    constraints: MapspaceConstraints | None = field(default=None, compare=False, repr=False)
    optimizations: tuple[OptimizationTemplate, ...] = field(default=(), compare=False, repr=False)
    ranks: dict[str, RankTemplate] = field(default_factory=dict, compare=False, repr=False)
    rank_order: RankOrder = "outer-to-inner"
    convolutions: Literal["im2col", "native"] = "im2col"
    workload: Gemm | Conv | Problem | None = field(default=None, compare=False, repr=False)

    def level_name(self, role: str) -> str:
        """The name of the level playing ``role`` in this design."""
        roles = dict(self.roles)
        if role not in roles:
            raise UnknownNameError(
                f"design {self.name} has no {role} level (roles: {', '.join(roles) or 'none'})",
                self.source or "design",
            )
        return roles[role]

    @property
    def exploits_weights(self) -> bool:
        return self.weight_patterns is not None

    @property
    def has_heuristic(self) -> bool:
        return self.dataflow in HEURISTIC_DATAFLOWS

    def weight_support(self) -> str:
        if self.weight_patterns is None:
            return "dense"
        if self.weight_patterns == "any":
            return "any"
        return "/".join(f"{n}:{m}" for n, m in self.weight_patterns)

    def pattern_bits(self, pattern: tuple[int, int]) -> int:
        bits = dict(self.metadata_bits)
        if pattern not in bits:
            raise UnknownNameError(
                f"design {self.name} has no metadata bits for {pattern[0]}:{pattern[1]}",
                self.source or "design",
            )
        return bits[pattern]

    def with_patterns(self, patterns: tuple[tuple[int, int], ...]) -> Design:
        """The design running other N:M patterns (a study's variant). CP offsets address a
        block of M in ceil(log2 M) bits; other formats need the bits in the design file."""
        known = dict(self.metadata_bits)
        for n, m in patterns:
            if (n, m) not in known:
                if self.weight_format != "CP":
                    raise UnknownNameError(
                        f"design {self.name} ({self.weight_format}) has no metadata bits for "
                        f"{n}:{m}; add it to weights.patterns in its file",
                        self.source or "design",
                    )
                known[n, m] = max(1, math.ceil(math.log2(m)))
        ordered, bits = _densest_first({p: known[p] for p in patterns})
        return replace(self, weight_patterns=ordered, metadata_bits=bits)

    def sparse_optimizations(
        self,
        sparse: set[str],
        pattern: tuple[int, int] | None,
        shape: ProblemShape | None = None,
    ) -> list[LevelSparseOptimization]:
        """The design's sparse features on a problem of ``shape`` (default: the GEMM the
        tensor-core dataflows run) when the tensors of the roles ``sparse`` run sparse and
        weights run as ``pattern`` (a format given ``when: sparse`` is left out for a dense
        tensor); features of a role the shape lacks are left out."""
        shape = shape or builtin_shape("gemm")
        bits = self.pattern_bits(pattern) if pattern else None
        result = []
        for entry in self.optimizations:
            names, actions = entry.resolve(shape)
            used = {
                names[role]: template
                for role, template in entry.formats.items()
                if names[role] and (template.when == "always" or role in sparse)
            }
            result.append(
                LevelSparseOptimization(
                    level=entry.level,
                    formats={
                        tensor: [self.ranks[name].resolve(bits) for name in template.ranks]
                        for tensor, template in used.items()
                    },
                    rank_order={
                        tensor: template.rank_order or self.rank_order
                        for tensor, template in used.items()
                    },
                    actions=actions,
                )
            )
        return result


def _resource_text(*parts: str) -> str:
    return resources.files("sparsim.designs").joinpath(*parts).read_text()


@cache
def builtin_architecture(name: str) -> Architecture:
    """``architectures/NAME.yaml``: hardware shared by several built-in designs."""
    where = f"sparsim/designs/architectures/{name}.yaml"
    return validate(
        Architecture, parse_shipped_yaml(_resource_text("architectures", f"{name}.yaml")), where
    )


@cache
def builtin_constraints(name: str) -> MapspaceConstraints:
    """``constraints/NAME.yaml``: a built-in dataflow's mapspace constraints."""
    where = f"sparsim/designs/constraints/{name}.yaml"
    return parse_constraints(
        parse_shipped_yaml(_resource_text("constraints", f"{name}.yaml")), where
    )


def _builtin(folder: str, name: str, where: str) -> str:
    """``name`` if ``folder`` ships it, else an error naming the key that asked for it."""
    names = _names(folder)
    if name not in names:
        raise UnknownNameError(
            f"unknown built-in {folder[:-1]} {name!r} ({', '.join(names)}; or give it inline)",
            where,
        )
    return name


def _names(folder: str) -> list[str]:
    files = resources.files("sparsim.designs").joinpath(folder).iterdir()
    return sorted(p.name[: -len(".yaml")] for p in files if p.name.endswith(".yaml"))


def _weight_patterns(weights: Literal["dense"] | WeightSupport):
    if weights == "dense":
        return None, None, ()
    assert isinstance(weights, WeightSupport)
    if weights.patterns == "any":
        return "any", weights.format, ()
    bits = {}
    for text, count in weights.patterns.items():
        n, m = (int(x) for x in text.split(":"))
        bits[n, m] = count
    ordered, pattern_bits = _densest_first(bits)
    return ordered, weights.format, pattern_bits


def _densest_first(bits: dict[tuple[int, int], int]):
    """(patterns, ((pattern, bits), ...)), densest first: the order tables and reports
    list a design's patterns in."""
    ordered = tuple(sorted(bits, key=lambda p: p[0] / p[1], reverse=True))
    return ordered, tuple((p, bits[p]) for p in ordered)


def design_from_data(name: str, data: Any, where: str) -> Design:
    """A design from a design file's content; cross-checks against its architecture and
    constraints (levels named in roles, formats, actions and constraints must exist)."""
    spec = validate(DesignFile, data, where)
    if isinstance(spec.architecture, str):
        architecture_name = _builtin("architectures", spec.architecture, f"{where}: architecture")
        architecture = builtin_architecture(architecture_name)
    else:
        architecture_name, architecture = spec.architecture.name, spec.architecture
    constraints = None
    if isinstance(spec.constraints, str):
        constraints = builtin_constraints(
            _builtin("constraints", spec.constraints, f"{where}: constraints")
        )
    elif spec.constraints is not None:
        constraints = parse_constraints(spec.constraints, f"{where}: constraints")
    levels = architecture.level_names
    if constraints is not None:
        constraints.check_levels(levels)
    named = [(f"roles.{role}", level) for role, level in (spec.roles or {}).items()]
    named += [
        (f"sparse_optimizations[{i}].level", entry.level)
        for i, entry in enumerate(spec.sparse_optimizations)
    ]
    for key, level in named:
        if level not in levels:
            raise UnknownNameError(
                f"unknown level {level!r} (levels: {', '.join(levels)})", f"{where}: {key}"
            )
    patterns, weight_format, bits = _weight_patterns(spec.weights)
    return Design(
        name=name,
        title=spec.title,
        description=spec.description,
        artifact=spec.artifact,
        architecture_name=architecture_name,
        dataflow=spec.dataflow,
        weight_patterns=patterns,
        weight_format=weight_format,
        exploits_activations=spec.activations == "any",
        roles=tuple(
            (role, (spec.roles or {})[role]) for role in ROLES if role in (spec.roles or {})
        ),
        metadata_bits=bits,
        source=where,
        architecture=architecture,
        constraints=constraints,
        optimizations=tuple(spec.sparse_optimizations),
        ranks=dict(spec.ranks),
        rank_order=spec.rank_order,
        convolutions=spec.convolutions,
        workload=spec.workload,
    )


def _listing_order(design: Design) -> tuple:
    """Dense designs first, then structured (N:M), then unstructured, by name."""
    kind = 0 if design.weight_patterns is None else 2 if design.weight_patterns == "any" else 1
    return kind, design.name


@cache
def _catalog() -> dict[str, Design]:
    found = [
        design_from_data(
            name,
            parse_shipped_yaml(_resource_text("builtin", f"{name}.yaml")),
            f"sparsim/designs/builtin/{name}.yaml",
        )
        for name in _names("builtin")
    ]
    return {design.name: design for design in sorted(found, key=_listing_order)}


def design_names() -> list[str]:
    return list(_catalog())


def designs() -> list[Design]:
    return list(_catalog().values())


@cache
def load_design(path: str | Path) -> Design:
    """A user's design file (docs/designs.md); the design is named after the file."""
    path = Path(path)
    return design_from_data(path.stem, load_yaml(path), str(path))


def get_design(name: str | Path | Design) -> Design:
    """A built-in design by name, case-insensitively (``_`` and ``-`` are the same), or a
    design file by path (``.yaml`` / ``.yml``)."""
    if isinstance(name, Design):
        return name
    text = str(name).strip()
    if isinstance(name, Path) or text.lower().endswith((".yaml", ".yml")):
        if not Path(text).is_file():
            raise SpecError("design file not found", text)
        return load_design(Path(text).resolve())
    key = text.lower().replace("_", "-")
    catalog = _catalog()
    if key not in catalog:
        raise UnknownNameError(
            f"unknown design {name!r} (designs: {', '.join(catalog)}, or a design file)", "design"
        )
    return catalog[key]
