"""The sweep config: a declarative, validated description of a design space.

Axes (each a list; the sweep is their cartesian product, except groups named in ``zip``
which advance together)::

    designs: [tc, stc, {like: dstc, architecture: big.yaml, name: dstc-big}, my-accel.yaml]
    memories: [{}, {name: smem-x2, SMEM: {data_capacity: 524288}}]   # default: [{}]
    workloads: [{builtin: resnet50}, {gemm: "M=512,K=256,N=1024"},
                {table: layers.csv, layers: [fc]}, {model: net.pt, input_shape: [1, 3, 32, 32]}]
    densities: {A: [1.0, 0.5, "2:4"], B: [1.0, 0.8]}
    objectives: [delay, edp]                                          # default: [delay]
    mapping: fixed                                                    # or remap
    zip: [[density_A, density_B]]

Relative paths are relative to the config file. Every value is checked here (names,
densities, files), so a bad config fails before anything is written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from sparsim.errors import SparsimError
from sparsim.io import load_yaml
from sparsim.limits import MAX_BITS, MAX_CAPACITY
from sparsim.spec.validation import validate

AXES = ("design", "memory", "workload", "density_A", "density_B", "objective")
# delay: a design's mapping heuristic (fewest cycles, then least energy; the mapper on
# cycles for a design without one); edp, edap, energy, cycles: the mapper under the design's
# constraints (sparsim.designs.mapper; edap maps as edp, the area being the hardware's).
OBJECTIVES = ("delay", "edp", "edap", "energy", "cycles")
RESIZE_KEYS = ("data_capacity", "metadata_capacity_bits", "metadata_word_bits")
LEVEL_KEYS = (*RESIZE_KEYS, "rescale_energy", "read_bandwidth")
DESIGN_FILE_SUFFIXES = (".yaml", ".yml")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _checked(check: Callable[[Any], object], value: Any) -> None:
    """Run a sparsim check inside a pydantic validator (which reports the key path)."""
    try:
        check(value)
    except SparsimError as exc:
        raise ValueError(exc.message) from None


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected a density, got the boolean {str(value).lower()}")
    return value


def _density(value: float | str) -> float | str:
    from sparsim.spec.sparsity import parse_density

    # A .npy file is loaded (relative to the config) when the points are expanded.
    if not (isinstance(value, str) and value.strip().endswith(".npy")):
        _checked(parse_density, value)
    return value


DensityValue = Annotated[float | str, BeforeValidator(_not_bool), AfterValidator(_density)]


class CustomDesign(_Strict):
    """A built-in design's dataflow and sparsity support on the user's hardware."""

    like: str
    architecture: str = Field(description="architecture YAML (same levels as the design's)")
    name: str | None = None


def is_design_file(value: str | CustomDesign) -> bool:
    """A ``designs`` entry naming a design file (``docs/designs.md``), not a built-in."""
    return isinstance(value, str) and value.strip().lower().endswith(DESIGN_FILE_SUFFIXES)


def _design_name(value: str | CustomDesign) -> str | CustomDesign:
    from sparsim.designs import get_design

    if not is_design_file(value):  # read, relative to the config, when points are expanded
        _checked(get_design, value.like if isinstance(value, CustomDesign) else value)
    return value


DesignEntry = Annotated[str | CustomDesign, AfterValidator(_design_name)]


class Workload(_Strict):
    """Exactly one source of layers; ``layers`` keeps only the named ones, in table order."""

    builtin: str | None = None
    options: dict[str, Any] = {}
    gemm: str | None = None
    name: str | None = None
    table: str | None = None
    model: str | None = None
    input_shape: list[Annotated[int, Field(gt=0)]] | None = None
    layers: list[str] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Workload:
        sources = [k for k in ("builtin", "gemm", "table", "model") if getattr(self, k)]
        if len(sources) != 1:
            raise ValueError("give exactly one of builtin, gemm, table or model")
        if self.model and not self.input_shape:
            raise ValueError("a model needs input_shape (the shape of one input batch)")
        if self.builtin:
            from sparsim.workload import BUILTIN_TABLES

            if self.builtin not in BUILTIN_TABLES:
                raise ValueError(
                    f"unknown built-in network {self.builtin!r} "
                    f"(networks: {', '.join(BUILTIN_TABLES)})"
                )
        if self.gemm:
            from sparsim.spec.workload import parse_gemm_shape

            _checked(parse_gemm_shape, self.gemm)
        return self

    @property
    def label(self) -> str:
        return self.name or self.builtin or self.gemm or Path(self.table or self.model).stem  # type: ignore[arg-type]


class Densities(_Strict):
    A: list[DensityValue] = Field(default_factory=lambda: [1.0], min_length=1)
    B: list[DensityValue] = Field(default_factory=lambda: [1.0], min_length=1)


class SweepConfig(_Strict):
    designs: list[DesignEntry] = Field(min_length=1)
    memories: list[dict[str, Any]] = Field(default_factory=lambda: [{}], min_length=1)
    workloads: list[Workload] = Field(min_length=1)
    densities: Densities = Densities()
    objectives: list[Literal[OBJECTIVES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["delay"], min_length=1
    )
    mapping: Literal["fixed", "remap"] = "fixed"
    zip: list[list[Literal[AXES]]] = []  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _check(self) -> SweepConfig:
        zipped = {axis for group in self.zip for axis in group}
        for axis in AXES:
            if axis not in zipped:
                _check_distinct(self.axis(axis), AXIS_KEYS[axis])
        if "design" not in zipped:  # built-in names: any case, "_" for "-"
            _check_distinct(
                [
                    v.strip().lower().replace("_", "-")
                    if isinstance(v, str) and not is_design_file(v)
                    else v
                    for v in self.designs
                ],
                "designs",
            )
        seen: set[str] = set()
        for index, group in enumerate(self.zip):
            lengths = {axis: len(self.axis(axis)) for axis in group}
            if len(group) < 2 or seen & set(group) or len(set(group)) < len(group):
                raise ValueError(f"zip[{index}]: name at least two axes, each in one group once")
            if len(set(lengths.values())) > 1:
                raise ValueError(f"zip[{index}]: zipped lists differ in length {lengths}")
            _check_distinct(
                [list(values) for values in zip(*map(self.axis, group), strict=True)],
                f"zip[{index}] of {', '.join(AXIS_KEYS[axis] for axis in group)}: entry",
            )
            seen |= set(group)
        for index, memory in enumerate(self.memories):
            _check_memory(memory, f"memories[{index}]")
        return self

    def axis(self, name: str) -> list[Any]:
        """The values of one axis, in config order."""
        return {
            "design": self.designs,
            "memory": self.memories,
            "workload": self.workloads,
            "density_A": self.densities.A,
            "density_B": self.densities.B,
            "objective": self.objectives,
        }[name]


AXIS_KEYS = {
    "design": "designs",
    "memory": "memories",
    "workload": "workloads",
    "density_A": "densities.A",
    "density_B": "densities.B",
    "objective": "objectives",
}


def _check_distinct(values: list[Any], key: str) -> None:
    """No value listed twice on one axis (it would be evaluated once, silently)."""
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        text = json.dumps(_plain(value), sort_keys=True, default=str)
        if text in seen:
            raise ValueError(f"{key}[{index}] repeats {key}[{seen[text]}]")
        seen[text] = index


def _plain(value: Any) -> Any:
    """A value as plain data to compare (1 and 1.0 are one density)."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _check_memory(memory: dict[str, Any], where: str) -> None:
    for level, sizes in memory.items():
        if level == "name":
            if not isinstance(sizes, str):
                raise ValueError(f"{where}.name: expected a string")
            continue
        if not isinstance(sizes, dict) or not sizes:
            raise ValueError(f"{where}.{level}: expected a mapping of {', '.join(LEVEL_KEYS)}")
        for key, value in sizes.items():
            if key == "rescale_energy":
                if not isinstance(value, bool):
                    raise ValueError(f"{where}.{level}.{key}: expected true or false")
            elif key == "read_bandwidth":
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not 0 < value < math.inf  # NaN fails too
                ):
                    raise ValueError(f"{where}.{level}.{key}: expected a positive number")
            elif key not in RESIZE_KEYS:
                raise ValueError(f"{where}.{level}.{key}: unknown key ({', '.join(LEVEL_KEYS)})")
            elif isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{where}.{level}.{key}: expected a positive integer")
            elif key == "metadata_word_bits" and value > MAX_BITS:
                raise ValueError(f"{where}.{level}.{key}: at most {MAX_BITS} bits, got {value}")
            elif value > MAX_CAPACITY:
                raise ValueError(f"{where}.{level}.{key}: at most 2^48, got {value}")


def memory_label(memory: dict[str, Any]) -> str:
    """A memory configuration's name: its ``name``, or its resizes spelt out ("" = native)."""
    if "name" in memory:
        return str(memory["name"])
    return ",".join(
        f"{level}.{key}={value}"
        for level, sizes in sorted(memory.items())
        for key, value in sorted(sizes.items())
    )


def load_config(source: str | Path | dict[str, Any]) -> tuple[SweepConfig, Path]:
    """The validated config and the directory its relative paths start from."""
    if isinstance(source, dict):
        return validate(SweepConfig, source, "sweep config"), Path.cwd()
    path = Path(source)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise SparsimError("expected a mapping with designs, workloads and densities", str(path))
    return validate(SweepConfig, data, str(path)), path.parent
