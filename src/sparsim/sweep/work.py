"""What a worker does with a batch of units: map, evaluate, and return metric rows.

Workers keep the designs and resized architectures they have built
(:func:`sparsim.sweep.points.hardware` is cached; forked workers start with the
submitting process's cache), so a task carries only names, sizes and layer shapes, never
an architecture.

``mapping: fixed`` maps a unit once, at the densities that decide the mapping's shape (the
unit's N:M pattern for A, dense otherwise), and evaluates every density point on that
mapping: the points the design runs with the same sparse features in one numpy pass
(:func:`sparsim.evaluate.evaluate_densities`); a point whose compressed tiles no longer fit
is re-mapped. ``remap`` maps every distinct point (what ``sparsim.build`` gives for it).

:func:`unit_results` gives the results themselves (a study turns them into its own
tables); :func:`evaluate_unit` the sweep's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from sparsim.cost.result import KEY_COLUMNS, Result
from sparsim.designs import Design, build, scheme_for
from sparsim.designs.build import build_with_result
from sparsim.designs.catalog import INPUTS, WEIGHTS
from sparsim.designs.schemes import sparse_optimizations
from sparsim.errors import CapacityError, MappingError, SparsimError
from sparsim.evaluate import evaluate, evaluate_densities
from sparsim.spec.model import Spec, check_references
from sparsim.spec.sparse_optimizations import ActionOptimization, LevelSparseOptimization
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.workload import Conv, Gemm
from sparsim.sweep.points import DesignRef, Unit, canonical, hardware

T = TypeVar("T")
# A point's outcome: its result, or why no mapping fits it; and whether it was mapped on
# its own (always with ``remap``; with ``fixed`` when the unit's mapping did not fit it).
Outcome = tuple[Result | MappingError, bool]


def _reference(unit: Unit) -> dict[str, str]:
    pattern = f"{unit.pattern[0]}:{unit.pattern[1]}" if unit.pattern else "dense"
    return {WEIGHTS: pattern, INPUTS: "dense"}


def with_activation_skipping(spec: Spec, design: Design) -> Spec:
    """The spec with each PE skipping its MAC (and weight read) on a zero activation, at
    the design's PE register."""
    register = design.level_name("pe-register")
    skip = ActionOptimization(type="skipping", target=WEIGHTS, condition_on=[INPUTS])
    optimizations = list(spec.sparse_optimizations)
    names = [o.level for o in optimizations]
    if register in names:
        at = names.index(register)
        optimizations[at] = optimizations[at].model_copy(
            update={"actions": [*optimizations[at].actions, skip]}
        )
    else:
        optimizations.append(LevelSparseOptimization(level=register, actions=[skip]))
    return spec.model_copy(update={"sparse_optimizations": optimizations})


def mapper_objective(design: Design, objective: str) -> str | None:
    """What ``build`` maps with for a sweep objective: ``delay`` is the design's heuristic
    (fewest cycles, then least energy) where it has one, else the mapper on cycles; the
    others are the mapper's objectives."""
    if objective == "delay":
        return None if design.has_heuristic else "cycles"
    return objective


def mapped_spec(
    ref: DesignRef,
    memory: dict[str, Any],
    layer: Gemm | Conv,
    densities: dict,
    objective: str = "delay",
) -> Spec:
    """The design mapped on ``layer`` at ``densities`` for ``objective`` (what ``remap``
    evaluates)."""
    design, spec, _ = _built(ref, memory, layer, densities, objective)
    return with_activation_skipping(spec, design) if ref.skip_activations else spec


def mapped_result(
    ref: DesignRef,
    memory: dict[str, Any],
    layer: Gemm | Conv,
    densities: dict,
    objective: str = "delay",
) -> Result:
    """The result of :func:`mapped_spec`'s spec: the mapping's own, unless activation
    skipping makes the spec evaluated another than the one mapped."""
    design, spec, result = _built(ref, memory, layer, densities, objective)
    if ref.skip_activations:
        return evaluate(with_activation_skipping(spec, design))
    return result


def _built(
    ref: DesignRef, memory: dict[str, Any], layer: Gemm | Conv, densities: dict, objective: str
) -> tuple[Design, Spec, Result]:
    design = ref.resolve()
    spec, result = build_with_result(
        design,
        layer,
        densities,
        architecture=hardware(ref, canonical(memory)),
        objective=mapper_objective(design, objective),
    )
    return design, spec, result


def _metrics(result: Result, remapped: bool) -> dict[str, Any]:
    """The row's numbers; the point fills in what it is (the schema's key columns)."""
    row = result.to_row()
    for key in KEY_COLUMNS:
        del row[key]
    return {"evaluated_as": result.name, "remapped": remapped, "error": "", **row}


def _error_row(error: MappingError, remapped: bool) -> dict[str, Any]:
    return {"evaluated_as": "", "remapped": remapped, "error": str(error)}


def _located(unit: Unit, densities: dict[str, str], work: Callable[[], T]) -> T:
    """``work()`` for one point; an error that stops the sweep says which point."""
    try:
        return work()
    except SparsimError as exc:
        point = f"{WEIGHTS}={densities[WEIGHTS]} {INPUTS}={densities[INPUTS]}"
        raise exc.located(f"{unit.design.label} on {unit.layer.name} at {point}") from None


Members = tuple[tuple[int, dict[str, TensorDensity]], ...]  # (scheme index, densities)


@lru_cache(maxsize=64)
def _grouping(design: Design, schemes: tuple[tuple[tuple[str, Any], ...], ...]):
    """The schemes (as sorted items) grouped by the sparse features the design switches on
    for them, with the densities the design computes with. A sweep repeats one density
    grid over many layers: this runs once per grid and design in a worker."""
    groups: list[tuple[list, list]] = []
    for index, items in enumerate(schemes):
        scheme = scheme_for(design, dict(items))
        features = sparse_optimizations(design, scheme)
        member = (index, scheme.densities)
        for known, members in groups:
            if known == features:
                members.append(member)
                break
        else:
            groups.append((features, [member]))
    return tuple((features, tuple(members)) for features, members in groups)


def _groups(base: Spec, design: Design, unit: Unit) -> list[tuple[Spec, Members]]:
    """Per set of sparse features the design switches on for the unit's schemes: ``base``
    with those features, and the schemes it evaluates."""
    try:
        grouping = _grouping(design, tuple(tuple(sorted(d.items())) for d in unit.schemes))
    except SparsimError:
        for densities in unit.schemes:  # say which point it is
            _located(unit, densities, lambda d=densities: scheme_for(design, d))
        raise

    def spec(features, members) -> Spec:
        checked = check_references(
            base.model_copy(update={"densities": members[0][1], "sparse_optimizations": features}),
            f"design {design.name}",
        )
        return (
            with_activation_skipping(checked, design) if unit.design.skip_activations else checked
        )

    return [
        (
            _located(unit, unit.schemes[members[0][0]], lambda f=features, m=members: spec(f, m)),
            members,
        )
        for features, members in grouping
    ]


def _on_mapping(spec: Spec, densities: dict[str, TensorDensity]) -> Result | MappingError:
    """One point on a fixed mapping; a mapping that does not fit it is an answer here."""
    try:
        return evaluate(spec.model_copy(update={"densities": densities}))
    except MappingError as exc:
        return exc


def unit_results(unit: Unit) -> list[Outcome]:
    """One outcome per scheme of the unit (same order)."""
    design = unit.design.resolve()

    def remapped(densities: dict[str, str]) -> Outcome:
        def work() -> Outcome:
            try:
                return (
                    mapped_result(unit.design, unit.memory, unit.layer, densities, unit.objective),
                    True,
                )
            except MappingError as exc:
                return exc, True

        return _located(unit, densities, work)

    if unit.mapping == "remap":
        return [remapped(densities) for densities in unit.schemes]
    reference = _reference(unit)
    architecture = hardware(unit.design, canonical(unit.memory))
    try:
        base = _located(
            unit,
            reference,
            lambda: build(
                design,
                unit.layer,
                reference,
                architecture=architecture,
                objective=mapper_objective(design, unit.objective),
            ),
        )
    except MappingError:
        return [remapped(densities) for densities in unit.schemes]
    outcomes: list[Outcome | None] = [None] * len(unit.schemes)
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
                outcomes[index] = remapped(unit.schemes[index])
            else:
                outcomes[index] = (result, False)
    return [outcome for outcome in outcomes if outcome is not None]


def evaluate_unit(unit: Unit) -> list[dict[str, Any]]:
    """One metric row per scheme of the unit (same order); a point no mapping fits gets a
    row with its error and no numbers."""
    return [
        _error_row(result, remapped)
        if isinstance(result, MappingError)
        else _metrics(result, remapped)
        for result, remapped in unit_results(unit)
    ]


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
