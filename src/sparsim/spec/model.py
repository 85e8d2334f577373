"""sparsim's complete input: workload, architecture, densities, sparse features, mapping.

Field-level problems are caught by pydantic; the cross-section checks (level, tensor and
dimension names, factor products, measured tensor shapes) are validators too, so they run
however a :class:`Spec` is built (from YAML, by the Sparseloop importer, in Python) and
:func:`sparsim.evaluate.evaluate` can trust any Spec it is given. Every problem is a typed
:class:`~sparsim.errors.SparsimError` naming its key path (``mapping.levels[2].keep``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from sparsim.errors import MappingError, SpecError, UnknownNameError
from sparsim.io import load_yaml
from sparsim.limits import MAX_BITS, check_at_most
from sparsim.spec.architecture import Architecture
from sparsim.spec.mapping import Mapping
from sparsim.spec.problem import Problem, ProblemShape
from sparsim.spec.sparse_optimizations import ComputeOptimization, LevelSparseOptimization
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.validation import Checked, error_path, validate
from sparsim.spec.workload import Workload


class Spec(Checked):
    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: Workload
    architecture: Architecture
    densities: dict[str, TensorDensity] = Field(default_factory=dict)
    sparse_optimizations: list[LevelSparseOptimization] = Field(default_factory=list)
    compute_optimizations: list[ComputeOptimization] = Field(
        default_factory=list,
        description="what the MACs do with operands that are zero (gating: idle a cycle at "
        "gated energy) or missing from a compressed operand (skipping: the operand alignment "
        "skips to the next pair; gating: idle)",
    )
    mapping: Mapping
    # The fields' identities when the cross-checks last ran: ``model_copy(update=...)``
    # copies them but not the checks, so a copy that changed a field shows it (``edited``).
    _checked_fields: tuple[int, ...] | None = PrivateAttr(default=None)

    def density(self, tensor: str) -> TensorDensity:
        return self.densities.get(tensor, TensorDensity())

    @property
    def problem(self) -> Problem:
        """The workload as a problem shape with its instance (a Gemm or Conv by its shape)."""
        return self.workload.problem()

    def _field_ids(self) -> tuple[int, ...]:
        return tuple(id(getattr(self, name)) for name in type(self).model_fields)

    def edited(self) -> bool:
        """Whether fields changed since the cross-checks ran (a ``model_copy(update=...)``
        of a validated spec): :func:`sparsim.evaluate.evaluate` checks such a spec again."""
        return self._checked_fields is not None and self._checked_fields != self._field_ids()

    def __eq__(self, other: object) -> bool:  # the record of the checks is no part of a value
        if not isinstance(other, Spec):
            return NotImplemented
        return self.__dict__ == other.__dict__

    @model_validator(mode="before")
    @classmethod
    def _plain_values(cls, data: Any) -> Any:
        """No booleans (a spec has no yes/no field: ``true`` is not the count 1) and no
        ``keep: null`` (omit ``keep`` to keep every tensor)."""
        _check_values(data)
        return data

    @model_validator(mode="after")
    def _cross_checks(self) -> Spec:
        _check_finite(self)
        _check_bits(self)
        _check_rank_counts(self)
        _check_names(self)
        _check_factors(self)
        _check_measured_shapes(self)
        self._checked_fields = self._field_ids()
        return self


def _nodes(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every value in a (raw or validated) spec with its key path, containers included; a
    problem shape is checked by its own model (its ``read-write`` is a yes/no field)."""
    yield path, node
    if isinstance(node, ProblemShape):
        return
    if isinstance(node, BaseModel):
        node = {name: getattr(node, name) for name in type(node).model_fields}
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            yield from _nodes(value, (*path, i))


# The few yes/no fields of a spec (a level's (de)compression support, a data space being
# read-write in a problem shape written out).
YES_NO_FIELDS = frozenset({"decompression", "compression", "read_write"})


def _check_values(data: Any) -> None:
    for path, node in _nodes(data):
        if isinstance(node, bool) and not (path and path[-1] in YES_NO_FIELDS):
            raise SpecError(
                f"expected a number or name, got the boolean {str(node).lower()}",
                error_path(path),
            )
        # A written-out null (a model built in code has keep=None by default: fine).
        if isinstance(node, dict) and "level" in node and "keep" in node and node["keep"] is None:
            raise SpecError(
                "keep: null is ambiguous; omit keep to keep every tensor, or list the kept "
                "tensors ([] keeps none)",
                error_path((*path, "keep")),
            )


def _check_finite(spec: Spec) -> None:
    """No infinities or NaN in any quantity, however it was written (``1e999`` included)."""
    for path, node in _nodes(spec):
        if isinstance(node, float) and not math.isfinite(node):
            raise SpecError(f"expected a finite number, got {node}", error_path(path))


def _check_bits(spec: Spec) -> None:
    """Data words and per-rank metadata and payload words within :data:`MAX_BITS`."""
    widths = [
        (getattr(level, field), f"architecture.levels[{i}].{field}")
        for i, level in enumerate(spec.architecture.levels)
        for field in ("word_bits", "metadata_word_bits")
    ]
    widths.append((spec.architecture.compute.word_bits, "architecture.compute.word_bits"))
    for i, opt in enumerate(spec.sparse_optimizations):
        for tensor, ranks in opt.formats.items():
            for j, rank in enumerate(ranks):
                key = f"sparse_optimizations[{i}].formats.{tensor}[{j}]"
                widths.append((rank.metadata_word_bits or 0, f"{key}.metadata_word_bits"))
                widths.append((rank.payload_word_bits or 0, f"{key}.payload_word_bits"))
    for bits, key in widths:
        check_at_most(bits, MAX_BITS, "a word of bits", key)


# Loops a tile can have per dimension and level: temporal, spatial X, spatial Y.
LOOPS_PER_LEVEL = 3


def _check_rank_counts(spec: Spec) -> None:
    """A format has at most as many ranks as the tile it describes can have loops: each of
    the tensor's dimensions split at most three ways at that level and each one below."""
    levels = spec.architecture.level_names
    for i, opt in enumerate(spec.sparse_optimizations):
        if opt.level not in levels:
            continue  # _check_names says so
        below = len(levels) - levels.index(opt.level)
        for tensor, ranks in opt.formats.items():
            most = 2 * LOOPS_PER_LEVEL * below  # every tensor of a GEMM has 2 dimensions
            if len(ranks) > most:
                raise SpecError(
                    f"{len(ranks)} ranks, but a tile of {tensor} at {opt.level} has at most "
                    f"{most} loops (2 dimensions, 3 per level at and below it)",
                    f"sparse_optimizations[{i}].formats.{tensor}",
                )


def _known(name: Any, known: tuple[str, ...] | list[str], what: str, key: str) -> None:
    if name not in known:
        raise UnknownNameError(f"unknown {what} {name!r} ({what}s: {', '.join(known)})", key)


def _check_names(spec: Spec) -> None:
    """Every level, tensor and dimension a section names exists."""
    levels = spec.architecture.level_names
    shape = spec.problem.shape
    tensors, dims = shape.tensor_names, shape.dimensions
    for tensor in spec.densities:
        _known(tensor, tensors, "tensor", f"densities.{tensor}")
    for i, opt in enumerate(spec.sparse_optimizations):
        key = f"sparse_optimizations[{i}]"
        _known(opt.level, levels, "level", f"{key}.level")
        for tensor in opt.formats:
            _known(tensor, tensors, "tensor", f"{key}.formats.{tensor}")
        for j, action in enumerate(opt.actions):
            _known(action.target, tensors, "tensor", f"{key}.actions[{j}].target")
            for leader in action.condition_on:
                _known(leader, tensors, "tensor", f"{key}.actions[{j}].condition_on")
    seen: set[str] = set()
    for i, level_map in enumerate(spec.mapping.levels):
        key = f"mapping.levels[{i}]"
        _known(level_map.level, levels, "level", f"{key}.level")
        if level_map.level in seen:
            raise MappingError(f"level {level_map.level!r} mapped twice", f"{key}.level")
        seen.add(level_map.level)
        for part in ("temporal", "spatial"):
            for dim in getattr(level_map, part):
                _known(dim, dims, "dimension", f"{key}.{part}")
            permutation = getattr(level_map, f"{part}_permutation")
            for dim in permutation:
                _known(dim, dims, "dimension", f"{key}.{part}_permutation")
            if len(set(permutation)) != len(permutation):
                raise SpecError(f"{permutation!r} repeats a dimension", f"{key}.{part}_permutation")
        for tensor in level_map.keep or ():
            _known(tensor, tensors, "tensor", f"{key}.keep")
        for field in ("stream", "no_link_transfer", "no_multicast", "no_temporal_reuse"):
            for tensor in getattr(level_map, field):
                _known(tensor, tensors, "tensor", f"{key}.{field}")


def _check_factors(spec: Spec) -> None:
    """The loop bounds of every dimension multiply to its size."""
    for dim, size in spec.problem.instance.items():
        product = math.prod(
            lm.temporal.get(dim, 1) * lm.spatial.get(dim, 1) for lm in spec.mapping.levels
        )
        if product != size:
            raise MappingError(
                f"factors of {dim} multiply to {product}, but {dim} = {size}", "mapping"
            )


def _check_measured_shapes(spec: Spec) -> None:
    for tensor, density in spec.densities.items():
        check_measured_shape(tensor, density, spec.problem, f"densities.{tensor}.measured")


def check_measured_shape(
    tensor: str, density: TensorDensity, workload: Workload, where: str
) -> None:
    """A measured tensor has exactly the elements of the workload's ``tensor``."""
    if density.distribution != "measured":
        return
    problem = workload.problem()
    extents = tensor_extents(problem, tensor)
    mask = density.load_mask()
    if mask.size != math.prod(extents):
        raise SpecError(
            f"the measured tensor has shape {mask.shape} ({mask.size:,} elements); "
            f"{tensor} of {problem.name} is {' x '.join(map(str, extents))}",
            where,
        )


def tensor_extents(problem: Problem, tensor: str) -> tuple[int, ...]:
    """Per rank, the extent of the whole ``tensor`` (a convolution's input rank spans
    ``(P-1)*Wstride + (R-1)*Wdilation + 1``)."""
    space = problem.shape.data_space(tensor)
    return tuple(
        sum(abs(problem.coefficient(c) if c else 1) * (problem.instance[d] - 1) for d, c in rank)
        + 1
        for rank in space.projection
    )


def check_references(spec: Spec, where: str | None = None) -> Spec:
    """Run every check on ``spec`` again, errors located at ``where: key.path``: for a Spec
    changed with ``model_copy(update=...)``, which skips pydantic's validators. From its
    values, not its parts: pydantic takes a part that is already a model as it is, so a part
    copied with a bad value (a negative area) would pass unchecked."""
    return validate(Spec, spec.model_dump(exclude_none=True), where)


def load_spec(path: str | Path) -> Spec:
    """Load and fully validate a sparsim spec YAML file."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise SpecError("expected a mapping with workload, architecture, mapping", str(path))
    return validate(Spec, data, str(path))
