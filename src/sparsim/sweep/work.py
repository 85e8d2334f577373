"""What a worker does with a batch of units: map, evaluate, and return metric rows.

Workers keep the designs and resized architectures they have built
(:func:`sparsim.sweep.points.hardware` is cached; forked workers start with the
submitting process's cache), so a task carries only names, sizes and layer shapes, never
an architecture.

``mapping: fixed`` maps a unit once, at the densities that decide the mapping's shape (the
unit's N:M pattern for A, dense otherwise), and evaluates every density point on that
mapping; a point whose compressed tiles no longer fit it is re-mapped. ``remap`` maps
every distinct point (what ``sparsim.build`` gives for it).
"""

from __future__ import annotations

from typing import Any

from sparsim.cost.result import KEY_COLUMNS, Result
from sparsim.designs import Design, build, get_design, scheme_for
from sparsim.designs.schemes import sparse_optimizations
from sparsim.errors import CapacityError, MappingError, SparsimError
from sparsim.evaluate import evaluate
from sparsim.spec.model import Spec, check_references
from sparsim.sweep.points import Unit, canonical, hardware


def _with_densities(base: Spec, design: Design, densities: dict[str, str]) -> Spec:
    """``base``'s workload, hardware and mapping with other densities (and the sparse
    features the design switches on for them)."""
    scheme = scheme_for(design, densities)
    spec = base.model_copy(
        update={
            "densities": scheme.densities,
            "sparse_optimizations": sparse_optimizations(design, scheme),
        }
    )
    return check_references(spec, f"design {design.name}")


def _reference(unit: Unit) -> dict[str, str]:
    pattern = f"{unit.pattern[0]}:{unit.pattern[1]}" if unit.pattern else "dense"
    return {"A": pattern, "B": "dense"}


def _metrics(result: Result, remapped: bool) -> dict[str, Any]:
    """The row's numbers; the point fills in what it is (the schema's key columns)."""
    row = result.to_row()
    for key in KEY_COLUMNS:
        del row[key]
    return {"evaluated_as": result.name, "remapped": remapped, "error": "", **row}


def evaluate_unit(unit: Unit) -> list[dict[str, Any]]:
    """One metric row per scheme of the unit (same order); a point no mapping fits gets a
    row with its error and no numbers."""
    design = get_design(unit.design.builtin)
    architecture = hardware(unit.design, canonical(unit.memory))

    def mapped(densities: dict[str, str]) -> Spec:
        return build(design, unit.layer, densities, architecture=architecture)

    rows = []
    base: Spec | MappingError | None = None
    for densities in unit.schemes:
        try:
            if unit.mapping == "remap":
                rows.append(_metrics(evaluate(mapped(densities)), remapped=True))
                continue
            if base is None:
                try:
                    base = mapped(_reference(unit))
                except MappingError as exc:
                    base = exc
            if isinstance(base, MappingError):
                rows.append(_metrics(evaluate(mapped(densities)), remapped=True))
                continue
            try:
                rows.append(_metrics(evaluate(_with_densities(base, design, densities)), False))
            except CapacityError:
                rows.append(_metrics(evaluate(mapped(densities)), remapped=True))
        except MappingError as exc:
            rows.append({"evaluated_as": "", "remapped": True, "error": str(exc)})
        except SparsimError as exc:  # stops the sweep: say which point
            point = f"A={densities['A']} B={densities['B']}"
            raise exc.located(f"{unit.design.label} on {unit.layer.name} at {point}") from None
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
