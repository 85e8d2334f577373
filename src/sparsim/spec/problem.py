"""Problems as data: Timeloop v0.3 problem shapes and their instances.

A :class:`ProblemShape` names its dimensions, its coefficients (with defaults, e.g.
``Wstride``) and its data spaces (tensors). Each data space has ranks; a rank is a sum of
terms ``coefficient x dimension`` (the coefficient 1 when none is named), so a convolution's
input rank ``R*Wdilation + P*Wstride`` is data, not code. One data space may be
read-write (the outputs, accumulated). A data space may carry a ``role`` (``weights``,
``inputs`` or ``outputs``) by which designs and studies find it, never by its name.

A :class:`Problem` is a shape with an instance: a size per dimension and a value per
coefficient. The built-in shapes live in ``spec/shapes/*.yaml`` in Timeloop's own format
(``gemm``, ``cnn-layer``, ``grouped-cnn-layer``, ``depthwise-cnn-layer``,
``batched-matmul``, ``matrix-vector``, ``dot-product``, ``spmspm``); a user's shape is
written the same way, inline or in a file.
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from sparsim.errors import SpecError, UnknownNameError
from sparsim.limits import MAX_MACS
from sparsim.spec.validation import Checked, Dimension, resource_limit, validate

Role = Literal["weights", "inputs", "outputs"]
ROLES: tuple[Role, ...] = ("weights", "inputs", "outputs")


class DataSpace(Checked):
    """One tensor of a problem: its ranks as sums of ``(dimension, coefficient)`` terms."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    projection: tuple[tuple[tuple[str, str | None], ...], ...] = Field(
        description="per rank (outermost first) its terms (dimension, coefficient or None)"
    )
    read_write: bool = False
    role: Role | None = None

    @property
    def dimensions(self) -> frozenset[str]:
        """The dimensions this tensor is indexed by (any rank, any term)."""
        return frozenset(dim for rank in self.projection for dim, _ in rank)


class ProblemShape(Checked):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "problem"
    dimensions: tuple[str, ...] = Field(min_length=1)
    coefficients: tuple[tuple[str, int], ...] = Field(
        (), description="(name, default value) of each named coefficient"
    )
    data_spaces: tuple[DataSpace, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ProblemShape:
        _unique(self.dimensions, "dimension", "dimensions")
        coefficient_names = [name for name, _ in self.coefficients]
        _unique(coefficient_names, "coefficient", "coefficients")
        clash = set(coefficient_names) & set(self.dimensions)
        if clash:
            raise SpecError(
                f"{sorted(clash)[0]!r} is both a dimension and a coefficient", "coefficients"
            )
        _unique([d.name for d in self.data_spaces], "data space", "data_spaces")
        for i, space in enumerate(self.data_spaces):
            for r, rank in enumerate(space.projection):
                if not rank:
                    raise SpecError("a rank needs at least one term", _rank_key(i, r))
                for dim, coefficient in rank:
                    if dim not in self.dimensions:
                        raise UnknownNameError(
                            f"unknown dimension {dim!r} (dimensions: {', '.join(self.dimensions)})",
                            _rank_key(i, r),
                        )
                    if coefficient is not None and coefficient not in coefficient_names:
                        raise UnknownNameError(
                            f"unknown coefficient {coefficient!r} (coefficients: "
                            f"{', '.join(coefficient_names) or 'none'})",
                            _rank_key(i, r),
                        )
        roles = [d.role for d in self.data_spaces if d.role is not None]
        _unique(roles, "role", "data_spaces")
        return self

    @property
    def tensor_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.data_spaces)

    def data_space(self, name: str) -> DataSpace:
        for space in self.data_spaces:
            if space.name == name:
                return space
        raise UnknownNameError(
            f"unknown tensor {name!r} (tensors: {', '.join(self.tensor_names)})", name
        )

    def tensor_with_role(self, role: str) -> str | None:
        """The name of the data space playing ``role``, if the shape says."""
        for space in self.data_spaces:
            if space.role == role:
                return space.name
        return None


def _unique(names, what: str, key: str) -> None:
    seen: set = set()
    for name in names:
        if name in seen:
            raise SpecError(f"{what} {name!r} appears twice", key)
        seen.add(name)


def _rank_key(space: int, rank: int) -> str:
    return f"data_spaces[{space}].projection[{rank}]"


class Problem(Checked):
    """A problem shape with its instance: what one layer computes, in the shape's terms.

    ``count`` repeats the whole problem (identical, back to back), as a grouped
    convolution lowered to GEMMs repeats one GEMM per group."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["problem"] = "problem"
    name: str = "problem"
    shape: ProblemShape
    instance: dict[str, Dimension]
    coefficients: dict[str, int] = Field(default_factory=dict)
    count: Dimension = 1

    @model_validator(mode="before")
    @classmethod
    def _named_shape(cls, data: Any) -> Any:
        """``shape: cnn-layer`` names a built-in shape; coefficient values may sit in the
        instance, as Timeloop writes them (``Wstride: 4``)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("shape"), str):
            data["shape"] = builtin_shape(data["shape"], "shape")
        elif isinstance(data.get("shape"), dict) and "data-spaces" in data["shape"]:
            data["shape"] = parse_timeloop_shape(data["shape"], "shape")
        shape = data.get("shape")
        instance = data.get("instance")
        if isinstance(shape, ProblemShape) and isinstance(instance, dict):
            names = {name for name, _ in shape.coefficients}
            given = {k: v for k, v in instance.items() if k in names}
            if given:
                data["instance"] = {k: v for k, v in instance.items() if k not in names}
                data["coefficients"] = {**given, **dict(data.get("coefficients") or {})}
        return data

    @model_validator(mode="after")
    def _complete(self) -> Problem:
        dims = self.shape.dimensions
        for dim in dims:
            if dim not in self.instance:
                raise SpecError(f"missing size of dimension {dim!r}", f"instance.{dim}")
        for dim in self.instance:
            if dim not in dims:
                raise UnknownNameError(
                    f"unknown dimension {dim!r} (dimensions: {', '.join(dims)})",
                    f"instance.{dim}",
                )
        names = [name for name, _ in self.shape.coefficients]
        for name, value in self.coefficients.items():
            if name not in names:
                raise UnknownNameError(
                    f"unknown coefficient {name!r} (coefficients: {', '.join(names) or 'none'})",
                    f"coefficients.{name}",
                )
            if isinstance(value, bool) or value < 1:
                raise SpecError(
                    f"expected a positive integer, got {value!r}", f"coefficients.{name}"
                )
        if self.macs > MAX_MACS:
            raise resource_limit(
                f"the product of the dimensions times count = {self.macs:,} operations is beyond "
                f"sparsim's limit of {MAX_MACS:,} (see 'Bad input and size limits' in the README)"
            )
        return self

    @property
    def macs(self) -> int:
        """Dense operations (multiply-accumulates) of all repetitions."""
        return math.prod(self.instance.values()) * self.count

    @property
    def dims(self) -> dict[str, int]:
        return dict(self.instance)

    def coefficient(self, name: str) -> int:
        return self.coefficients.get(name, dict(self.shape.coefficients)[name])

    def problem(self) -> Problem:
        return self


# -- Timeloop's shape format ---------------------------------------------------------------


def parse_timeloop_shape(data: Any, where: str) -> ProblemShape:
    """A Timeloop v0.3 ``shape:`` mapping (dimensions, coefficients, data-spaces with
    projections, read-write) as a ProblemShape; sparsim's own optional ``role`` per data
    space. Errors name ``where`` and the key."""
    if not isinstance(data, dict):
        raise SpecError("expected a mapping with dimensions and data-spaces", where)
    unknown = set(data) - {"name", "dimensions", "coefficients", "data-spaces", "flatten"}
    if unknown:
        raise SpecError("unknown key", f"{where}.{sorted(unknown)[0]}")
    if "flatten" in data:
        raise SpecError(
            "flattened dimensions (Timeloop's 'flatten') are not supported", f"{where}.flatten"
        )
    dims = data.get("dimensions")
    if not isinstance(dims, list) or not all(isinstance(d, str) for d in dims):
        raise SpecError("expected a list of dimension names", f"{where}.dimensions")
    coefficients = []
    for i, entry in enumerate(data.get("coefficients") or []):
        key = f"{where}.coefficients[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise SpecError("expected a mapping with name and default", key)
        default = entry.get("default", 1)
        if isinstance(default, bool) or not isinstance(default, int):
            raise SpecError(f"expected an integer default, got {default!r}", f"{key}.default")
        coefficients.append((entry["name"], default))
    spaces = data.get("data-spaces")
    if not isinstance(spaces, list):
        raise SpecError("expected a list of data spaces", f"{where}.data-spaces")
    parsed = []
    for i, space in enumerate(spaces):
        key = f"{where}.data-spaces[{i}]"
        if not isinstance(space, dict):
            raise SpecError("expected a mapping with name and projection", key)
        unknown = set(space) - {"name", "projection", "read-write", "role"}
        if unknown:
            raise SpecError("unknown key", f"{key}.{sorted(unknown)[0]}")
        parsed.append(
            {
                "name": space.get("name"),
                "projection": _projection(space.get("projection"), f"{key}.projection"),
                "read_write": space.get("read-write", False),
                "role": space.get("role"),
            }
        )
    return validate(
        ProblemShape,
        {
            "name": str(data.get("name", "problem")),
            "dimensions": tuple(dims),
            "coefficients": tuple(coefficients),
            "data_spaces": tuple(parsed),
        },
        where,
    )


def _projection(ranks: Any, key: str) -> tuple:
    """Timeloop's two spellings: ``[C, M]`` (one dimension per rank) or a list of ranks,
    each a list of terms ``[dim]`` or ``[dim, coefficient]``."""
    if not isinstance(ranks, list):
        raise SpecError("expected a list of ranks", key)
    if all(isinstance(rank, str) for rank in ranks):
        return tuple(((rank, None),) for rank in ranks)
    result = []
    for r, rank in enumerate(ranks):
        if not isinstance(rank, list):
            raise SpecError(
                "expected a list of terms [dimension] or [dimension, coefficient]", f"{key}[{r}]"
            )
        terms = []
        for t, term in enumerate(rank):
            if (
                not isinstance(term, list)
                or not 1 <= len(term) <= 2
                or not all(isinstance(x, str) for x in term)
            ):
                raise SpecError(
                    "expected a term [dimension] or [dimension, coefficient]", f"{key}[{r}][{t}]"
                )
            terms.append((term[0], term[1] if len(term) == 2 else None))
        result.append(tuple(terms))
    return tuple(result)


BUILTIN_SHAPES = (
    "gemm",
    "cnn-layer",
    "grouped-cnn-layer",
    "depthwise-cnn-layer",
    "batched-matmul",
    "matrix-vector",
    "dot-product",
    "spmspm",
)


@cache
def builtin_shape(name: str, where: str = "shape") -> ProblemShape:
    """One of the shapes sparsim ships (``BUILTIN_SHAPES``), read from its data file."""
    if name not in BUILTIN_SHAPES:
        raise UnknownNameError(
            f"unknown problem shape {name!r} (built-in shapes: {', '.join(BUILTIN_SHAPES)}; "
            "or write the shape out as Timeloop does)",
            where,
        )
    from sparsim.io import parse_shipped_yaml

    text = resources.files("sparsim.spec").joinpath("shapes", f"{name}.yaml").read_text()
    return parse_timeloop_shape(parse_shipped_yaml(text)["shape"], f"shapes/{name}.yaml: shape")
