"""What a worker does with a batch of units: map, evaluate, and return metric rows.

Workers keep the designs and resized architectures they have built
(:func:`sparsim.sweep.points.hardware` is cached; forked workers start with the
submitting process's cache), so a task carries only names, sizes and layer shapes, never
an architecture.

``mapping: fixed`` maps a unit once, at the densities that decide the mapping's shape (the
unit's N:M pattern for A, dense otherwise), and evaluates every density point on that
mapping: the points the design runs with the same sparse features in one numpy pass
(:func:`sparsim.evaluate.evaluate_densities`); a point whose compressed tiles no longer fit
is re-mapped. ``remap`` maps
every distinct point (what ``sparsim.build`` gives for it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sparsim.cost.result import KEY_COLUMNS, Result
from sparsim.designs import Design, build, get_design, scheme_for
from sparsim.designs.schemes import sparse_optimizations
from sparsim.errors import CapacityError, MappingError, SparsimError
from sparsim.evaluate import evaluate, evaluate_densities
from sparsim.spec.model import Spec, check_references
from sparsim.spec.sparsity import TensorDensity
from sparsim.sweep.points import Unit, canonical, hardware

T = TypeVar("T")


def _reference(unit: Unit) -> dict[str, str]:
    pattern = f"{unit.pattern[0]}:{unit.pattern[1]}" if unit.pattern else "dense"
    return {"A": pattern, "B": "dense"}


def _metrics(result: Result, remapped: bool) -> dict[str, Any]:
    """The row's numbers; the point fills in what it is (the schema's key columns)."""
    row = result.to_row()
    for key in KEY_COLUMNS:
        del row[key]
    return {"evaluated_as": result.name, "remapped": remapped, "error": "", **row}


def _error_row(error: MappingError) -> dict[str, Any]:
    return {"evaluated_as": "", "remapped": True, "error": str(error)}


def _located(unit: Unit, densities: dict[str, str], work: Callable[[], T]) -> T:
    """``work()`` for one point; an error that stops the sweep says which point."""
    try:
        return work()
    except SparsimError as exc:
        point = f"A={densities['A']} B={densities['B']}"
        raise exc.located(f"{unit.design.label} on {unit.layer.name} at {point}") from None


Group = tuple[Spec, list[tuple[int, dict[str, TensorDensity]]]]


def _groups(base: Spec, design: Design, unit: Unit) -> list[Group]:
    """The unit's schemes grouped by the sparse features the design switches on for them:
    per group, ``base`` with those features, and its members (scheme index, densities the
    design computes with)."""
    groups: list[tuple[list, list[tuple[int, dict[str, TensorDensity]]]]] = []
    for index, densities in enumerate(unit.schemes):
        scheme = _located(unit, densities, lambda d=densities: scheme_for(design, d))
        features = sparse_optimizations(design, scheme)
        member = (index, scheme.densities)
        for known, members in groups:
            if known == features:
                members.append(member)
                break
        else:
            groups.append((features, [member]))
    return [
        (
            _located(
                unit,
                unit.schemes[members[0][0]],
                lambda f=features, m=members: check_references(
                    base.model_copy(update={"densities": m[0][1], "sparse_optimizations": f}),
                    f"design {design.name}",
                ),
            ),
            members,
        )
        for features, members in groups
    ]


def _on_mapping(spec: Spec, densities: dict[str, TensorDensity]) -> Result | MappingError:
    """One point on a fixed mapping; a mapping that does not fit it is an answer here."""
    try:
        return evaluate(spec.model_copy(update={"densities": densities}))
    except MappingError as exc:
        return exc


def evaluate_unit(unit: Unit) -> list[dict[str, Any]]:
    """One metric row per scheme of the unit (same order); a point no mapping fits gets a
    row with its error and no numbers."""
    design = get_design(unit.design.builtin)
    architecture = hardware(unit.design, canonical(unit.memory))

    def remapped(densities: dict[str, str]) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            try:
                spec = build(design, unit.layer, densities, architecture=architecture)
                return _metrics(evaluate(spec), remapped=True)
            except MappingError as exc:
                return _error_row(exc)

        return _located(unit, densities, work)

    if unit.mapping == "remap":
        return [remapped(densities) for densities in unit.schemes]
    try:
        base = build(design, unit.layer, _reference(unit), architecture=architecture)
    except MappingError:
        return [remapped(densities) for densities in unit.schemes]
    rows: list[dict[str, Any]] = [{}] * len(unit.schemes)
    for spec, members in _groups(base, design, unit):
        try:
            results = evaluate_densities(spec, [densities for _, densities in members])
        except SparsimError:
            # One by one, so that a point that fails says which it is.
            results = [
                _located(unit, unit.schemes[i], lambda s=spec, d=d: _on_mapping(s, d))
                for i, d in members
            ]
        for (index, _), result in zip(members, results, strict=True):
            if isinstance(result, CapacityError):
                rows[index] = remapped(unit.schemes[index])
            elif isinstance(result, MappingError):
                rows[index] = _error_row(result)
            else:
                rows[index] = _metrics(result, remapped=False)
    return rows


def evaluate_task(units: list[Unit]) -> list[list[dict[str, Any]]]:
    """A batch of units (one task for a worker process or a Dask worker)."""
    return [evaluate_unit(unit) for unit in units]


def rows_for(unit: Unit, metrics: list[dict[str, Any]], points: dict[str, Any]) -> list[dict]:
    """The store rows of a unit: each point's identity with its scheme's metrics."""
    return [
        {**points[key].identity(), **row}
        for keys, row in zip(unit.points, metrics, strict=True)
        for key in keys
    ]
