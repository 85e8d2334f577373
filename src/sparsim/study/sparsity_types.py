"""The structured vs unstructured, single- vs dual-sided sparsity study: the sweeps its
config defines (:mod:`sparsim.study.config`; the shipped default in
``configs/sparsity-types.yaml``), run as one batch of distinct points, and the tidy tables
they give. ``quick`` leaves out the layer sets marked full-only (ResNet-50).

* grid: the grid strategies at every weight x activation sparsity pair, every layer set;
* adjusted: single-sided strategies at the total density ``dw * da`` of each grid point,
  to compare dual-sided at (dw, da) with single-sided at the same effectual work;
* fine: the unstructured strategies on a fine grid (the first layer set): break-even with
  dense;
* low: single vs dual sided at low sparsity (N:M 15:16, 7:8, 3:4; unstructured 5-30%);
* memory: hardware sweeps (capacities and widths, energy per access from the memory model
  or fixed), re-mapped at every size (the first layer set);
* bandwidth: a level's read bandwidth scaled, the counterfactual that shows what bounds
  the cycles of the structured cores.

Levels are named as each design's results name them (the design's roles say which plays
which part); nothing here knows a level's name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sparsim.study.config import HardwareSweep, StudyDefinition, load_definition
from sparsim.study.layers import Layer, layer_sets
from sparsim.study.runner import (
    DEFAULT_JOBS,
    HardwareChange,
    Outcome,
    Point,
    evaluate_points,
    point_for,
)
from sparsim.study.strategies import Strategy

DENSE = "dense"
SET = "layer_set"
TOTAL = "total"  # the fine sweep's row for the whole first layer set
CYCLES = ".cycles"  # results-schema columns "<part>.cycles": the compute's, each level's
# Metrics (results-schema columns, Result.to_row) that add up over the layers of a set,
# weighted by occurrences: totals, computes, each level's energy split and cycles.
ADDITIVE_TOTALS = ("energy_uJ", "cycles")
ADDITIVE_PREFIXES = ("computes_",)
ADDITIVE_SUFFIXES = (".data_uJ", ".metadata_uJ", ".cycles")


def additive(column: str) -> bool:
    return (
        column in ADDITIVE_TOTALS
        or column.startswith(ADDITIVE_PREFIXES)
        or column.endswith(ADDITIVE_SUFFIXES)
    )


DESCRIPTIVE = (
    SET,
    "strategy_title",
    "structure",
    "sides",
    "weight_sparsity",
    "activation_sparsity",
    "total_density",
    "sweep_title",
    "level",
    "role",
    "parameter",
    "rescale_energy",
    "unit",
    "value",
    "area_um2",  # the design's (and memory size's) area: the same for every layer
)


@dataclass(frozen=True)
class StudyConfig:
    definition: StudyDefinition | None = None  # None: the shipped default config
    quick: bool = False
    jobs: int = DEFAULT_JOBS
    progress: bool = True


@dataclass(frozen=True)
class StudyTables:
    """The study's results, one tidy table per view (see ``docs/study.md``)."""

    layers: pd.DataFrame  # grid: layer shape x strategy x (weight, activation) sparsity
    totals: pd.DataFrame  # grid summed over each layer set
    breakdown: pd.DataFrame  # grid totals per level and tensor, data vs metadata
    adjusted: pd.DataFrame  # dual-sided totals next to single-sided at the same dw * da
    fine: pd.DataFrame  # unstructured vs dense on the fine sweep, per layer and total
    low: pd.DataFrame  # single vs dual sided at low sparsity (first-set totals)
    memory: pd.DataFrame  # first-set totals per memory size
    bandwidth: pd.DataFrame  # first-set totals with a level's read bandwidth scaled
    failures: pd.DataFrame  # points no mapping fitted
    quick: bool
    definition: StudyDefinition

    @property
    def sparsities(self) -> tuple[float, ...]:
        return self.definition.sparsities

    def title(self, strategy: str) -> str:
        return self.definition.by_name[strategy].title

    def set_title(self, layer_set: str) -> str:
        return next(s.title for s in self.definition.layer_sets if s.name == layer_set)

    @property
    def primary(self) -> str:
        """The first layer set: every sweep runs on it."""
        return self.definition.layer_sets[0].name

    @property
    def sets(self) -> list[str]:
        """The layer sets this run has (--quick leaves out the full-only ones)."""
        return list(dict.fromkeys(self.totals[SET]))

    def strategy(self, name: str) -> Strategy:
        return self.definition.by_name[name]


@dataclass(frozen=True)
class _Entry:
    """One row to be: its identifying columns and the point that gives its numbers."""

    columns: dict
    point: Point


def _entry(
    layer: Layer,
    strategy: Strategy,
    weight_sparsity: float,
    activation_sparsity: float,
    hardware: HardwareChange | None = None,
    **extra,
) -> _Entry:
    shape = (layer.gemm.M, layer.gemm.K, layer.gemm.N)
    point = point_for(strategy, shape, 1 - weight_sparsity, 1 - activation_sparsity, hardware)
    columns = {
        SET: layer.layer_set,
        "layer": layer.name,
        "occurrences": layer.occurrences,
        "M": layer.gemm.M,
        "K": layer.gemm.K,
        "N": layer.gemm.N,
        "dense_macs": layer.gemm.macs,
        "strategy": strategy.name,
        "strategy_title": strategy.title,
        "structure": strategy.structure,
        "sides": strategy.sides,
        "design": point.design.name,
        "weight_sparsity": weight_sparsity,
        "activation_sparsity": activation_sparsity,
        "total_density": round((1 - weight_sparsity) * (1 - activation_sparsity), 9),
        "weights_run_as": _pattern(point.weights),
        "weights_run_density": point.weights.density,
        "activations_run_as": _pattern(point.activations),
        "activations_run_density": point.activations.density,
        **extra,
    }
    return _Entry(columns, point)


def _pattern(density) -> str:
    """``2:4`` for an N:M tensor, else its density model (``dense``, ``hypergeometric``)."""
    return f"{density.n}:{density.m}" if density.n is not None else density.distribution


def _activation_sparsity(strategy: Strategy, sparsity: float) -> float:
    """On the diagonal of the grid: dual-sided strategies see both operands equally sparse,
    single-sided ones dense activations (which they could not exploit anyway)."""
    return sparsity if strategy.sides == "dual" else 0.0


def _grid_entries(d: StudyDefinition, sets: dict[str, tuple[Layer, ...]]) -> list[_Entry]:
    return [
        _entry(layer, d.by_name[name], ws, sa)
        for layers in sets.values()
        for layer in layers
        for name in d.grid
        for ws in d.sparsities
        for sa in d.sparsities
    ]


def _adjusted_entries(d: StudyDefinition, sets: dict[str, tuple[Layer, ...]]) -> list[_Entry]:
    """Single-sided strategies at each total density dw * da of the grid."""
    totals = sorted({(1 - ws) * (1 - sa) for ws in d.sparsities for sa in d.sparsities})
    return [
        _entry(layer, d.by_name[name], 1 - total, 0.0)
        for layers in sets.values()
        for layer in layers
        for name in d.adjusted
        for total in totals
    ]


def _fine_entries(d: StudyDefinition, layers: tuple[Layer, ...]) -> list[_Entry]:
    entries = [_entry(layer, d.by_name[DENSE], 0.0, 0.0, sweep_sparsity=0.0) for layer in layers]
    for layer in layers:
        for name in d.fine_strategies:
            strategy = d.by_name[name]
            for s in d.fine_sparsities:
                sa = _activation_sparsity(strategy, s)
                entries.append(_entry(layer, strategy, s, sa, sweep_sparsity=s))
    return entries


def _low_entries(d: StudyDefinition, layers: tuple[Layer, ...]) -> list[_Entry]:
    """Single- and dual-sided strategies at low sparsity of each operand (dense run too)."""
    entries = [_entry(layer, d.by_name[DENSE], 0.0, 0.0, sweep_sparsity=0.0) for layer in layers]
    for names, sparsities in d.low.values():
        for name in names:
            strategy = d.by_name[name]
            for s in sparsities:
                sa = _activation_sparsity(strategy, s)
                entries += [_entry(layer, strategy, s, sa, sweep_sparsity=s) for layer in layers]
    return entries


def _sweep_entries(
    d: StudyDefinition, sweeps: tuple[HardwareSweep, ...], layers: tuple[Layer, ...]
) -> list[_Entry]:
    entries = []
    for sweep in sweeps:
        for name in d.swept:
            strategy = d.by_name[name]
            level = sweep.level_of(strategy.design)
            own = strategy.design.architecture.level(level)
            for scale in sweep.scales:
                values = {}
                for parameter in sweep.parameters:
                    value = getattr(own, parameter) * scale
                    values[parameter] = (
                        value if parameter == "read_bandwidth" else max(1, round(value))
                    )
                value = values[sweep.parameters[0]]
                change = HardwareChange(level, **values, rescale_energy=sweep.rescale_energy)
                for s in sweep.sparsities:
                    sa = _activation_sparsity(strategy, s)
                    for layer in layers:
                        entries.append(
                            _entry(
                                layer,
                                strategy,
                                s,
                                sa,
                                change if scale != 1.0 else None,
                                sweep=sweep.name,
                                sweep_title=sweep.title,
                                level=level,
                                role=sweep.role or "",
                                parameter=sweep.parameter,
                                rescale_energy=sweep.rescale_energy,
                                unit=sweep.unit,
                                value=value,
                                scale=scale,
                                sweep_sparsity=s,
                            )
                        )
    return entries


def _frame(entries: list[_Entry], outcomes: dict[Point, Outcome]) -> pd.DataFrame:
    rows = []
    for entry in entries:
        outcome = outcomes[entry.point]
        rows.append({**entry.columns, **outcome.metrics, "error": outcome.error or ""})
    return pd.DataFrame(rows)


def _breakdown(entries: list[_Entry], outcomes: dict[Point, Outcome]) -> pd.DataFrame:
    """Per set, strategy and sparsity pair: energy and accesses per level and tensor."""
    keys = [SET, "strategy", "weight_sparsity", "activation_sparsity"]
    rows = [
        {**{k: entry.columns[k] for k in keys}, "occurrences": entry.columns["occurrences"], **row}
        for entry in entries
        for row in outcomes[entry.point].levels
    ]
    frame = pd.DataFrame(rows)
    group = [*keys, "level", "tensor"]
    values = [c for c in frame.columns if c not in (*group, "occurrences")]
    weighted = frame[values].mul(frame["occurrences"], axis=0)
    weighted[group] = frame[group]
    return weighted.groupby(group, sort=False, as_index=False)[values].sum()


def cycle_parts(frame: pd.DataFrame) -> list[str]:
    """The parts whose cycles a table holds (``<part>.cycles``): the compute and every
    level, by the names the results give them."""
    return [c.removesuffix(CYCLES) for c in frame.columns if c.endswith(CYCLES)]


def aggregate(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group, the occurrence-weighted sums of additive metrics (layers run one after
    the other), EDP of the sums, which part bounds most cycles; NaN totals (and
    ``complete`` False) where a layer had no mapping."""
    summed = [c for c in frame.columns if additive(c)]
    weighted = frame[summed].mul(frame["occurrences"], axis=0)
    weighted[keys] = frame[keys]
    weighted["failed"] = frame["error"].ne("")
    weighted["layers"] = frame["occurrences"]
    weighted["dense_macs"] = frame["dense_macs"] * frame["occurrences"]
    parts = cycle_parts(frame)
    for part in parts:
        bound = frame["bounding_level"].eq(part) if "bounding_level" in frame else False
        weighted[f"bound_{part}"] = frame["cycles"].where(bound, 0.0) * frame["occurrences"]
    grouped = weighted.groupby(keys, sort=False, as_index=False)
    totals = grouped.sum(numeric_only=True)
    failed = grouped["failed"].sum()["failed"].to_numpy() > 0
    totals["complete"] = ~failed
    metrics = [c for c in totals.columns if additive(c)]
    totals.loc[failed, metrics] = np.nan
    totals["edp_J_cycles"] = totals["energy_uJ"] * 1e-6 * totals["cycles"]
    bound = [f"bound_{part}" for part in parts]
    shares = totals[bound].div(totals["cycles"], axis=0).fillna(0.0)
    totals["bounding_level"] = np.where(
        failed, "", np.array(parts)[shares.to_numpy().argmax(axis=1)]
    )
    totals["bound_share"] = shares.max(axis=1).where(~failed)
    return totals.drop(columns=["failed", *bound])


def _totals(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Aggregate, keeping the descriptive columns that are constant within each group."""
    constant = [c for c in DESCRIPTIVE if c in frame.columns and c not in keys]
    first = frame.groupby(keys, sort=False, as_index=False)[constant].first()
    totals = aggregate(frame, keys).merge(first, on=keys)
    if "area_um2" in totals:
        totals["edap_J_cycles_mm2"] = totals["edp_J_cycles"] * totals["area_um2"] * 1e-6
    return totals


def _relative_to_dense(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    dense = frame[frame["strategy"] == DENSE].drop_duplicates(by)
    metrics = ["energy_uJ", "cycles", "edp_J_cycles", "edap_J_cycles_mm2"]
    metrics = [m for m in metrics if m in frame]
    reference = dense.set_index(by)[metrics]
    reference.columns = [f"dense_{m}" for m in metrics]
    frame = frame.join(reference, on=by)
    frame["energy_vs_dense"] = frame["energy_uJ"] / frame["dense_energy_uJ"]
    frame["speedup_vs_dense"] = frame["dense_cycles"] / frame["cycles"]
    frame["edp_vs_dense"] = frame["edp_J_cycles"] / frame["dense_edp_J_cycles"]
    if "edap_J_cycles_mm2" in frame:
        frame["edap_vs_dense"] = frame["edap_J_cycles_mm2"] / frame["dense_edap_J_cycles_mm2"]
    return frame


def _paired(d: StudyDefinition, totals: pd.DataFrame, single: pd.DataFrame) -> pd.DataFrame:
    """Each dual-sided total next to the single-sided strategies at the same total density
    (the fraction of MACs that are effectual, ``dw * da``)."""
    dual = totals[totals["sides"] == "dual"]
    columns = [
        SET,
        "strategy",
        "strategy_title",
        "weight_sparsity",
        "activation_sparsity",
        "total_density",
        "energy_uJ",
        "cycles",
        "energy_vs_dense",
        "speedup_vs_dense",
    ]
    paired = dual[columns]
    for name in d.adjusted:
        counterpart = single[single["strategy"] == name].set_index([SET, "total_density"])
        counterpart = counterpart[["energy_uJ", "cycles"]].add_prefix(f"{name}_")
        paired = paired.join(counterpart, on=[SET, "total_density"])
        paired[f"energy_vs_{name}"] = paired["energy_uJ"] / paired[f"{name}_energy_uJ"]
        paired[f"speedup_vs_{name}"] = paired[f"{name}_cycles"] / paired["cycles"]
    return paired.reset_index(drop=True)


def _relative_to_baseline(totals: pd.DataFrame) -> pd.DataFrame:
    """Energy and cycles relative to the design's own hardware (scale 1)."""
    keys = ["sweep", "strategy", "sweep_sparsity"]
    base = totals[totals["scale"] == 1.0].set_index(keys)[["energy_uJ", "cycles"]]
    base.columns = ["baseline_energy_uJ", "baseline_cycles"]
    totals = totals.join(base, on=keys)
    totals["energy_vs_baseline"] = totals["energy_uJ"] / totals["baseline_energy_uJ"]
    totals["cycles_vs_baseline"] = totals["cycles"] / totals["baseline_cycles"]
    return totals


def run_study(config: StudyConfig = StudyConfig()) -> StudyTables:
    d = config.definition or load_definition()
    sets = layer_sets(d.layer_sets, config.quick)
    first = sets[d.layer_sets[0].name]
    grid = _grid_entries(d, sets)
    adjusted = _adjusted_entries(d, sets)
    fine = _fine_entries(d, first)
    low = _low_entries(d, first)
    memory = _sweep_entries(d, d.memory, first)
    bandwidth = _sweep_entries(d, d.bandwidth, first)
    every = (*grid, *adjusted, *fine, *low, *memory, *bandwidth)
    outcomes = evaluate_points(
        (e.point for e in every), config.jobs, config.progress, mapping=d.mapping
    )

    grid_keys = [SET, "strategy", "weight_sparsity", "activation_sparsity"]
    sweep_keys = ["sweep", "strategy", "sweep_sparsity", "scale"]
    totals = _relative_to_dense(_totals(_frame(grid, outcomes), grid_keys), [SET])
    fine_layers = _frame(fine, outcomes)
    fine_total = _totals(fine_layers, ["strategy", "sweep_sparsity"]).assign(layer=TOTAL)
    failures = [{**e.columns, "error": outcomes[e.point].error} for e in every]
    return StudyTables(
        layers=_relative_to_dense(_frame(grid, outcomes), [SET, "layer"]),
        totals=totals,
        breakdown=_breakdown(grid, outcomes),
        adjusted=_paired(d, totals, _totals(_frame(adjusted, outcomes), grid_keys)),
        fine=_relative_to_dense(pd.concat([fine_layers, fine_total], ignore_index=True), ["layer"]),
        low=_relative_to_dense(
            _totals(_frame(low, outcomes), ["strategy", "sweep_sparsity"]).assign(layer=TOTAL),
            ["layer"],
        ),
        memory=_relative_to_baseline(_totals(_frame(memory, outcomes), sweep_keys)),
        bandwidth=_relative_to_baseline(_totals(_frame(bandwidth, outcomes), sweep_keys)),
        failures=pd.DataFrame([row for row in failures if row["error"]]),
        quick=config.quick,
        definition=d,
    )
