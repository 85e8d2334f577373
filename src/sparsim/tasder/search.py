"""TASDER: find per-layer TASD configurations that keep a model's quality.

* TASD-W network-wise: one series for every layer, tried exhaustively over the hardware's
  series; of those at ``quality >= target * original``, the one with the lowest objective
  (MACs, energy or EDP) wins.
* Layer-wise greedy (TASD-W and TASD-A): every (layer, series) candidate gets a
  quality-loss proxy, the share of the layer's operand it drops (nonzero weights for
  TASD-W; for TASD-A the summed magnitude or output impact of the calibration inputs,
  measured once per layer for every series), and a saving. Candidates are tried one at a
  time, each kept while the quality stays at the target; a candidate that breaks the
  target is undone, and after ``patience`` such failures the search stops
  (``patience=None`` tries every candidate). The MAC objective takes them in one order,
  MACs saved per dropped share. The energy and EDP objectives rank by the accelerator
  model's marginal saving (:class:`~sparsim.tasder.costing.LayerCosts`, on the TTC with
  the fused schedule) per marginal dropped share, from the configuration accepted so far,
  re-ranked after every accepted step (energy-aware ordering); they also walk the MAC order,
  then go on from its end by marginal savings, and return, of every configuration a walk
  accepted, the one that costs least.
* TASD-A with the TASD paper's sparsity-degree rule (Listing 1): per layer, the most
  aggressive series the hardware runs whose sparsity ``1 - density`` is at most the
  measured input sparsity plus ``alpha``. For GELU/Swish models the measured sparsity is
  ``1 - pseudo-density``. An alpha sweep traces quality against MAC reduction.

Every search accepts a configuration as its score function says: a score that is a
number meets the target when ``score >= target * original`` (the point rule); a score that
is a :class:`~sparsim.tasder.quality.Gate` (``evaluator.gate(model, target)``, what
:class:`~sparsim.tasder.Tasder` passes) by its own rule, by default the lower end of the
paired margin's interval at or above zero, and its margin is kept in the trace and the
result.

MACs are counted per layer call on the model's workloads (:mod:`sparsim.workload`): a
layer whose weights or inputs follow a series executes ``series.density`` of its dense
MACs on a TASD tensor core. Candidate measurement uses one histogram (TASD-W) or one
ranked sum (TASD-A) per block size and layer, so the search itself is fast; the quality
evaluations dominate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from sparsim.errors import SparsimError
from sparsim.tasd import Series, get_hardware
from sparsim.tasder.apply import ActivationTasd, WeightTasd, check_keep, output_impact_scale
from sparsim.tasder.config import LayerConfig, SearchResult, SplitReport, TasderConfig
from sparsim.tasder.costing import OBJECTIVES, LayerCosts
from sparsim.tasder.quality import Gate
from sparsim.tasder.structured import (
    _blocks,
    block_axis,
    check_activation_layer,
    dropped_nonzeros_by_kept,
    is_activation_layer,
    kept_per_block,
    module_name,
    nonzeros_per_block,
    single_block_size,
    structured_macs,
)
from sparsim.workload.extract import extract_workloads
from sparsim.workload.probe import find_layers, inference, run_model
from sparsim.workload.table import LayerTable

DEFAULT_TARGET = 0.99
Score = Callable[[nn.Module], "float | Gate"]


@dataclass(frozen=True)
class Verdict:
    """One configuration against the target: its quality, the decision, and the gate it
    came from (None for a score that is a number)."""

    quality: float
    passes: bool
    gate: Gate | None = None

    def columns(self) -> dict[str, float | None]:
        """The margin's figures for a trace row (None without a gate: a score that is a
        number, or a configuration taken unevaluated because it changes nothing)."""
        if self.gate is None:
            return dict.fromkeys(("margin", "margin_low", "margin_high"))
        margin = self.gate.margin
        return {"margin": margin.value, "margin_low": margin.low, "margin_high": margin.high}


def split_report(gate: Gate) -> SplitReport:
    """A gate as the result records it."""
    return SplitReport(
        split=gate.split or "selection",
        n=gate.estimate.n,
        original_quality=gate.original,
        quality=gate.estimate.value,
        target=gate.target,
        margin=gate.margin.value,
        margin_low=gate.margin.low,
        margin_high=gate.margin.high,
        confidence=gate.confidence,
    )


def hardware_series(hardware: str) -> list[Series]:
    """The series worth searching on a design: for every N:M it realises below M:M, the
    cheapest realising series; most aggressive (lowest density) first."""
    table = get_hardware(hardware).pattern_table()
    options = [series for series in table.values() if series is not None and series.density < 1]
    return sorted(options, key=lambda s: (s.density, s.n_terms))


def calibrate(
    model: nn.Module,
    batches: Iterable[Any],
    *,
    layers: list[str] | None = None,
    mass: float = 0.99,
    progress: bool = False,
) -> LayerTable:
    """Workloads and input statistics (density, pseudo-density) of the model's layers."""
    batches = list(batches) if batches is not None else []
    if not batches:
        raise SparsimError("no calibration batches; TASD-A needs calibration data", "calibration")
    return extract_workloads(
        model, batches[0], batches, layers=layers, mass=mass, progress=progress
    )


def count_macs(table: LayerTable, config: TasderConfig) -> int:
    """MACs of the model's layers on a TASD tensor core under ``config``."""
    return _macs(table, {name: entry.series for name, entry in config.layers.items()})


def macs_saved(table: LayerTable) -> dict[str, Callable[[Series], int]]:
    """Per module: the MACs a series saves over all its calls (negative when padding to
    whole blocks costs more than the series skips)."""
    calls: dict[str, list[Any]] = {}
    for row in table:
        calls.setdefault(module_name(row.name), []).append(row.workload)
    return {
        name: (lambda series, w=workloads: sum(x.macs - structured_macs(x, series) for x in w))
        for name, workloads in calls.items()
    }


@dataclass(frozen=True)
class Candidate:
    """One layer under one series: what it drops of ``total`` (nonzero weights for TASD-W,
    the calibration inputs' summed score for TASD-A: the quality-loss proxy) and the MACs
    it saves."""

    layer: str
    series: Series
    dropped: float
    total: float
    macs_saved: int

    @property
    def dropped_fraction(self) -> float:
        return self.dropped / self.total if self.total else 0.0

    @property
    def saving(self) -> float:
        return float(self.macs_saved)


def rank_candidates(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Best saving per unit of quality lost first (the lost share estimated by the
    dropped fraction); candidates that drop nothing come first, by saving."""

    return sorted(candidates, key=lambda c: _rank_key(c, c.saving, c.dropped_fraction))


def select_layers(
    model: nn.Module, patterns: Sequence[str] | None, *, activations: bool = False
) -> list[str] | None:
    """Layer names from exact names, shell-style patterns over the qualified names
    (``*.attention.*``) or layer types (``Conv2d``, ``Linear``); None stays None (the
    method's default). For TASD-A, patterns and types skip grouped convs (a name given
    exactly is checked, and refused, later)."""
    if patterns is None:
        return None
    layers = find_layers(model)
    chosen: list[str] = []
    for pattern in patterns:
        if pattern in layers:
            matched = [pattern]
        elif pattern in ("Conv2d", "Linear") or any(ch in pattern for ch in "*?["):
            matched = [
                name
                for name, module in layers.items()
                if (type(module).__name__ == pattern or fnmatchcase(name, pattern))
                and (not activations or is_activation_layer(module))
            ]
            if not matched:
                raise SparsimError(
                    f"pattern {pattern!r} matches no Conv2d/Linear layer"
                    + (" TASD-A applies to" if activations else ""),
                    "layers",
                )
        else:
            find_layers(model, [pattern])  # the unknown-name error
            matched = []
        chosen += [name for name in matched if name not in chosen]
    return chosen


def weight_candidates(
    model: nn.Module, table: LayerTable, options: Sequence[Series], layers: list[str] | None = None
) -> list[Candidate]:
    """Every (layer, series) with the nonzeros it drops and the MACs it saves."""
    modules = find_layers(model, layers)
    saved = macs_saved(table)
    sizes = {p.m for s in options for p in s.patterns}
    candidates = []
    for name, module in modules.items():
        if name not in saved:
            continue  # never called in the forward pass
        dropped_by_size = {
            m: dropped_nonzeros_by_kept(nonzeros_per_block(module.weight, block_axis(module), m))
            for m in sizes
        }
        nonzeros = int(next(iter(dropped_by_size.values()))[0])  # keeping 0 drops them all
        for series in options:
            gain = saved[name](series)
            if gain <= 0:
                continue  # too few channels per block: N:M cannot save anything here
            dropped = dropped_by_size[series.patterns[0].m][kept_per_block(series)]
            candidates.append(Candidate(name, series, int(dropped), nonzeros, int(gain)))
    return candidates


@dataclass
class Trace:
    """Every configuration the search evaluated, in order."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, **row: Any) -> None:
        self.rows.append(row)


@dataclass(frozen=True)
class Outcome:
    config: TasderConfig
    trace: Trace
    seconds: float
    evaluation_seconds: float = 0.0

    @property
    def result(self) -> SearchResult:
        assert self.config.result is not None
        return self.config.result


class _TimedScore:
    """A score function as verdicts, adding up the time spent in it (the quality
    evaluations)."""

    def __init__(self, score: Score, original: float, target: float):
        self.score = score
        self.original = original
        self.target = target
        self.seconds = 0.0
        self.rule = "point"

    def __call__(self, model: nn.Module) -> Verdict:
        started = time.perf_counter()
        try:
            value = self.score(model)
        finally:
            self.seconds += time.perf_counter() - started
        if isinstance(value, Gate):
            self.rule = value.rule
            return Verdict(value.estimate.value, value.passes, value)
        quality = float(value)
        return Verdict(quality, quality >= self.target * self.original)

    @property
    def dense(self) -> Verdict:
        """The original model: at the target by definition."""
        return Verdict(self.original, True)


def _outcome(
    config: TasderConfig,
    result: SearchResult,
    trace: Trace,
    started: float,
    score: _TimedScore,
    verdict: Verdict,
) -> Outcome:
    """The configuration with its result (the decision rule and, for a gate, the margin on
    the selection split), timed with and without the quality evaluations."""
    seconds = time.perf_counter() - started
    update = {"seconds": seconds, "evaluation_seconds": score.seconds, "rule": score.rule}
    if verdict.gate is not None:
        update["selection"] = split_report(verdict.gate)
    result = result.model_copy(update=update)
    return Outcome(config.model_copy(update={"result": result}), trace, seconds, score.seconds)


def _check_target(target: float) -> None:
    if not 0 < target <= 1:
        raise SparsimError(f"must be in (0, 1], got {target}", "target")


def _check_objective(objective: str, costs: LayerCosts | None) -> None:
    if objective not in OBJECTIVES:
        raise SparsimError(
            f"unknown objective {objective!r}; expected one of {', '.join(OBJECTIVES)}",
            "objective",
        )
    if objective != "macs" and costs is None:
        raise SparsimError(
            f"the {objective} objective needs the accelerator model (costs)", "objective"
        )


def _macs(table: LayerTable, series: Mapping[str, Series]) -> int:
    total = 0
    for layer in table:
        chosen = series.get(module_name(layer.name))
        total += layer.macs if chosen is None else structured_macs(layer.workload, chosen)
    return total


def _cost_columns(costs: LayerCosts | None, series: Mapping[str, Series]) -> dict[str, float]:
    """The accelerator model's figures of a configuration, for the trace (none without a
    cost model)."""
    if costs is None:
        return {}
    energy, cycles = costs.totals(series)
    return {"energy_uJ": energy, "cycles": cycles, "edp_reduction": costs.edp_reduction(series)}


def _objective_value(
    objective: str, table: LayerTable, costs: LayerCosts | None, series: Mapping[str, Series]
) -> float:
    """What the objective minimises: MACs, energy or EDP."""
    if objective == "macs" or costs is None:
        return float(_macs(table, series))
    energy, cycles = costs.totals(series)
    return energy if objective == "energy" else energy * cycles


def _result(
    method: str,
    metric: str,
    target: float,
    original: float,
    quality: float,
    table: LayerTable,
    config: TasderConfig,
    evaluations: int,
    alpha: float | None = None,
    objective: str = "macs",
) -> SearchResult:
    return SearchResult(
        method=method,
        metric=metric,
        target=target,
        original_quality=original,
        quality=quality,
        dense_macs=table.macs,
        macs=count_macs(table, config),
        evaluations=evaluations,
        alpha=alpha,
        objective=objective,
    )


def search_weights_network(
    model: nn.Module,
    table: LayerTable,
    score: Score,
    original: float,
    *,
    hardware: str,
    target: float = DEFAULT_TARGET,
    layers: list[str] | None = None,
    metric: str = "quality",
    objective: str = "macs",
    costs: LayerCosts | None = None,
    keep: str = "magnitude",
    input_norms: Mapping[str, torch.Tensor] | None = None,
    progress: bool = False,
) -> Outcome:
    """TASD-W, one series for all ``layers`` (default: every Conv2d/Linear); of the series
    at the target, the one with the lowest ``objective`` (MACs, energy or EDP) wins.
    ``keep="output"`` keeps the weights of largest output impact (``input_norms``: see
    :func:`~sparsim.tasder.apply.input_channel_norms`)."""
    _check_target(target)
    _check_objective(objective, costs)
    started, score = time.perf_counter(), _TimedScore(score, original, target)
    candidates = weight_candidates(model, table, hardware_series(hardware), layers)
    weights = WeightTasd(keep=keep, input_norms=input_norms).prepare(
        model, sorted({c.layer for c in candidates})
    )
    trace = Trace()
    best: tuple[TasderConfig, Verdict, float] | None = None
    try:
        for series in tqdm(hardware_series(hardware), desc="network-wise", disable=not progress):
            # Every layer the series saves MACs on; the others stay dense.
            names = [c.layer for c in candidates if c.series == series]
            weights.restore()
            for name in names:
                weights.set(name, series)
            verdict = score(model)
            chosen = dict.fromkeys(names, series)
            config = TasderConfig(
                hardware=hardware,
                layers={n: LayerConfig(weights=str(series)) for n in names},
                keep=keep,
            )
            macs = _macs(table, chosen)
            value = _objective_value(objective, table, costs, chosen)
            trace.add(
                series=str(series),
                layers=len(names),
                quality=verdict.quality,
                **verdict.columns(),
                macs=macs,
                mac_reduction=1 - macs / table.macs,
                **_cost_columns(costs, chosen),
                accepted=verdict.passes,
            )
            if verdict.passes and (best is None or value < best[2]):
                best = (config, verdict, value)
    finally:
        weights.restore()
    evaluations = len(trace.rows)
    config, verdict = (
        best[:2] if best is not None else (TasderConfig(hardware=hardware, keep=keep), score.dense)
    )
    result = _result(
        "TASD-W network-wise", metric, target, original, verdict.quality, table, config,
        evaluations, objective=objective,
    )  # fmt: skip
    return _outcome(config, result, trace, started, score, verdict)


@dataclass
class _Greedy:
    """Apply candidates one at a time, each kept while the quality stays at the target; a
    layer only ever moves to a more aggressive series. After ``patience`` rejections the
    search stops (None: never). Qualities are remembered per configuration, so a second
    order over the same candidates re-evaluates nothing it has seen."""

    apply: Callable[[str, Series | None], None]
    score: Callable[[], Verdict]
    dense: Verdict
    patience: int | None
    # TASD-W: a candidate dropping no nonzero leaves the weights as they are, so it needs
    # no evaluation; TASD-A's drops are measured on calibration data, not the evaluation's.
    free_when_nothing_dropped: bool
    table: LayerTable
    costs: LayerCosts | None
    seen: dict[frozenset[tuple[str, str]], Verdict] = field(default_factory=dict)
    evaluations: int = 0

    def run(self, order: Sequence[Candidate], progress: bool, desc: str) -> _GreedyState:
        """Candidates in the fixed ``order``."""
        state = _GreedyState(self.dense)
        for candidate in tqdm(order, desc=desc, disable=not progress):
            current = state.chosen.get(candidate.layer)
            if current is not None and current.density <= candidate.series.density:
                continue  # the layer already runs something at least as aggressive
            if not self._try(state, candidate, candidate.saving, candidate.dropped_fraction):
                break
        return self._finish(state)

    def run_marginal(
        self,
        candidates: Sequence[Candidate],
        value: Callable[[Mapping[str, Series]], float],
        progress: bool,
        desc: str,
        start: _GreedyState | None = None,
    ) -> _GreedyState:
        """Re-ranked after every accepted step: each candidate by its marginal saving (how
        much ``value`` falls from the configuration accepted so far) per marginal loss (the
        share it drops beyond what the layer's current series drops). Under EDP, a layer's
        saving depends on the others (energy times cycles), and a series that costs more
        than the dense layer is not needed as a stepping stone: quality depends only on the
        configuration, not on the path to it. ``start``: go on from where another walk
        ended (its configuration, with a fresh patience)."""
        state = _GreedyState(self.dense)
        if start is not None:
            state = _GreedyState(start.verdict, dict(start.chosen))
            for name, series in state.chosen.items():
                self.apply(name, series)
        dropped = {(c.layer, str(c.series)): c.dropped_fraction for c in candidates}
        remaining = list(candidates)
        bar = tqdm(total=len(remaining), desc=desc, disable=not progress)
        try:
            while remaining:
                base = value(state.chosen)
                ranked: list[tuple[Candidate, float, float]] = []
                for candidate in remaining:
                    current = state.chosen.get(candidate.layer)
                    if current is not None and current.density <= candidate.series.density:
                        continue
                    gain = base - value({**state.chosen, candidate.layer: candidate.series})
                    if gain <= 0:
                        continue
                    before = 0.0 if current is None else dropped[(candidate.layer, str(current))]
                    ranked.append((candidate, gain, max(candidate.dropped_fraction - before, 0.0)))
                if not ranked:
                    break
                candidate, gain, loss = min(ranked, key=lambda item: _rank_key(*item))
                remaining.remove(candidate)
                bar.update()
                if not self._try(state, candidate, gain, loss):
                    break
        finally:
            bar.close()
        return self._finish(state)

    def _try(self, state: _GreedyState, candidate: Candidate, saving: float, loss: float) -> bool:
        """Evaluate one candidate on top of the accepted ones; False when patience runs out."""
        current = state.chosen.get(candidate.layer)
        trying = {**state.chosen, candidate.layer: candidate.series}
        key = frozenset((name, str(series)) for name, series in trying.items())
        self.apply(candidate.layer, candidate.series)
        if candidate.dropped == 0 and self.free_when_nothing_dropped:
            verdict = state.verdict
        elif key in self.seen:
            verdict = self.seen[key]
        else:
            verdict = self.seen[key] = self.score()
            self.evaluations += 1
        accepted = verdict.passes
        macs = _macs(self.table, trying)
        state.trace.add(
            layer=candidate.layer,
            series=str(candidate.series),
            dropped_fraction=loss,
            saving=saving,
            quality=verdict.quality,
            **verdict.columns(),
            macs=macs,
            mac_reduction=1 - macs / self.table.macs,
            **_cost_columns(self.costs, trying),
            accepted=accepted,
        )
        if accepted:
            state.chosen, state.verdict = trying, verdict
            state.passed.append((trying, verdict))
            return True
        self.apply(candidate.layer, current)
        state.failures += 1
        return self.patience is None or state.failures < self.patience

    def _finish(self, state: _GreedyState) -> _GreedyState:
        """The result of one order; the model goes back to dense for the next."""
        for name in state.chosen:
            self.apply(name, None)
        return state


@dataclass
class _GreedyState:
    """One order's walk: the configuration accepted so far and every one that passed."""

    verdict: Verdict
    chosen: dict[str, Series] = field(default_factory=dict)
    trace: Trace = field(default_factory=Trace)
    failures: int = 0
    passed: list[tuple[dict[str, Series], Verdict]] = field(default_factory=list)


def _rank_key(candidate: Candidate, saving: float, loss: float) -> tuple[bool, float, str, str]:
    """Best saving per unit of quality lost first; losing nothing first, by saving."""
    return (loss > 0, -(saving / loss) if loss > 0 else -saving, candidate.layer,
            str(candidate.series))  # fmt: skip


def _greedy_search(
    greedy: _Greedy,
    candidates: list[Candidate],
    objective: str,
    progress: bool,
    desc: str,
) -> tuple[dict[str, Series], float, Trace, int]:
    """The MAC objective: candidates by MACs saved per dropped share, one fixed order; the
    last configuration accepted has the fewest MACs.

    Energy and EDP: three walks, evaluations shared through the cache: the accelerator
    model's marginal savings from the dense model, re-ranked after every accepted step;
    the MAC order (the dropped share is only a proxy of the quality lost, and no single
    order wins on every model); and the marginal walk again from where the MAC order
    stopped. Every configuration a walk accepted met the target, so the one with the
    lowest objective among them (or the dense model) is the result: the energy or EDP
    objective never ends above the MAC objective's configuration on its own measure. (A
    step of the MAC order can raise energy or EDP: a two-term series on a layer whose
    dense operand dominates; so its last configuration is not always its best.)"""
    mac_order = rank_candidates(candidates)
    if objective == "macs":
        state = greedy.run(mac_order, progress, desc)
        return state.chosen, state.verdict, state.trace, greedy.evaluations
    costs = greedy.costs
    assert costs is not None

    def value(series: Mapping[str, Series]) -> float:
        return _objective_value(objective, greedy.table, costs, series)

    walks = {
        objective: greedy.run_marginal(candidates, value, progress, f"{desc} ({objective} order)"),
        "macs": greedy.run(mac_order, progress, f"{desc} (MAC order)"),
    }
    walks[f"macs, then {objective}"] = greedy.run_marginal(
        candidates, value, progress, f"{desc} (MAC, then {objective} order)", walks["macs"]
    )
    trace = Trace()
    passed: list[tuple[dict[str, Series], Verdict]] = [({}, greedy.dense)]
    for order, state in walks.items():
        trace.rows += [{**row, "order": order} for row in state.trace.rows]
        passed += state.passed
    chosen, verdict = min(passed, key=lambda item: (value(item[0]), -item[1].quality))
    return chosen, verdict, trace, greedy.evaluations


def _check_patience(patience: int | None) -> None:
    if patience is not None and patience < 1:
        raise SparsimError(f"must be a positive integer or None, got {patience}", "patience")


def search_weights_layerwise(
    model: nn.Module,
    table: LayerTable,
    score: Score,
    original: float,
    *,
    hardware: str,
    target: float = DEFAULT_TARGET,
    layers: list[str] | None = None,
    patience: int | None = 1,
    metric: str = "quality",
    objective: str = "macs",
    costs: LayerCosts | None = None,
    keep: str = "magnitude",
    input_norms: Mapping[str, torch.Tensor] | None = None,
    progress: bool = False,
) -> Outcome:
    """TASD-W, greedy per layer: candidates by saving (``objective``) per dropped share of
    the layer's nonzero weights; ``keep`` as for :func:`search_weights_network`."""
    _check_target(target)
    _check_patience(patience)
    _check_objective(objective, costs)
    started, score = time.perf_counter(), _TimedScore(score, original, target)
    candidates = weight_candidates(model, table, hardware_series(hardware), layers)
    weights = WeightTasd(keep=keep, input_norms=input_norms).prepare(
        model, sorted({c.layer for c in candidates})
    )
    greedy = _Greedy(weights.set, lambda: score(model), score.dense, patience, True, table, costs)
    try:
        found = _greedy_search(greedy, candidates, objective, progress, "layer-wise")
    finally:
        weights.restore()
    return _layerwise_outcome(
        "weights", found, started, score, hardware=hardware, metric=metric, target=target,
        original=original, table=table, objective=objective, keep=keep,
    )  # fmt: skip


def _layerwise_outcome(
    operand: str,
    found: tuple[dict[str, Series], Verdict, Trace, int],
    started: float,
    score: _TimedScore,
    *,
    hardware: str,
    metric: str,
    target: float,
    original: float,
    table: LayerTable,
    objective: str,
    keep: str = "magnitude",
) -> Outcome:
    chosen, verdict, trace, evaluations = found
    config = TasderConfig(
        hardware=hardware,
        layers={n: LayerConfig(**{operand: str(s)}) for n, s in chosen.items()},
        keep=keep,
    )
    method = "TASD-W layer-wise" if operand == "weights" else "TASD-A layer-wise"
    result = _result(
        method, metric, target, original, verdict.quality, table, config, evaluations,
        objective=objective,
    )  # fmt: skip
    return _outcome(config, result, trace, started, score, verdict)


def activation_layers(model: nn.Module) -> list[str]:
    """Every layer TASD-A can apply to (all Conv2d and Linear but grouped convs)."""
    return [name for name, module in find_layers(model).items() if is_activation_layer(module)]


def activation_sparsity(table: LayerTable, layers: Iterable[str], pseudo: bool) -> dict[str, float]:
    """Measured input sparsity per layer: ``1 - density`` or, for activations without exact
    zeros (GELU, Swish), ``1 - pseudo-density``. A shared layer takes its densest call."""
    wanted = set(layers)
    sparsity: dict[str, float] = {}
    for row in table:
        name = module_name(row.name)
        if name not in wanted:
            continue
        density = row.input_pseudo_density if pseudo else row.input_density
        if density is None:
            raise SparsimError(f"layer {name!r} has no calibration statistics", "calibration")
        sparsity[name] = min(sparsity.get(name, 1.0), 1.0 - density)
    missing = sorted(wanted - set(sparsity))
    if missing:
        raise SparsimError(f"layer {missing[0]!r} is not in the calibration table", "layers")
    return sparsity


def choose_series(sparsity: float, options: Sequence[Series], alpha: float) -> Series | None:
    """Listing 1 of the TASD paper: the most aggressive option whose sparsity is at most
    ``sparsity + alpha`` (None: keep the layer dense)."""
    fitting = [s for s in options if 1.0 - s.density <= sparsity + alpha + 1e-12]
    return min(fitting, key=lambda s: (s.density, s.n_terms)) if fitting else None


def activation_config(
    sparsity: dict[str, float], table: LayerTable, hardware: str, alpha: float
) -> TasderConfig:
    """The rule applied to every layer; a layer keeps dense inputs when no series fits or
    when the chosen one saves no MACs on it (too few channels per block)."""
    options = hardware_series(hardware)
    saved = macs_saved(table)
    layers = {}
    for name, measured in sparsity.items():
        series = choose_series(measured, options, alpha)
        if series is None:
            continue
        if saved[name](series) <= 0:
            continue
        layers[name] = LayerConfig(activations=str(series))
    return TasderConfig(hardware=hardware, layers=layers)


def search_activations(
    model: nn.Module,
    table: LayerTable,
    score: Score,
    original: float,
    *,
    hardware: str,
    layers: list[str],
    alphas: Sequence[float],
    pseudo: bool,
    target: float = DEFAULT_TARGET,
    metric: str = "quality",
    objective: str = "macs",
    costs: LayerCosts | None = None,
    keep: str = "magnitude",
    progress: bool = False,
) -> Outcome:
    """TASD-A with an alpha sweep; the chosen configuration has the lowest ``objective``
    (MACs, energy or EDP) among those at the target (the dense model if none is)."""
    _check_target(target)
    _check_objective(objective, costs)
    check_keep(keep)
    if not alphas:
        raise SparsimError("give at least one alpha", "alphas")
    started, score = time.perf_counter(), _TimedScore(score, original, target)
    for name, module in find_layers(model, layers).items():
        check_activation_layer(name, module)
    sparsity = activation_sparsity(table, layers, pseudo)
    trace = Trace()
    best: tuple[TasderConfig, Verdict, float, float] | None = None
    for alpha in tqdm(sorted(alphas), desc="alpha sweep", disable=not progress):
        config = activation_config(sparsity, table, hardware, alpha)
        chosen = {name: entry.series for name, entry in config.layers.items()}
        hooks = ActivationTasd(config.activation_series, keep=keep).prepare(model)
        try:
            verdict = score(model)
        finally:
            hooks.remove()
        macs = count_macs(table, config)
        value = _objective_value(objective, table, costs, chosen)
        trace.add(
            alpha=alpha,
            quality=verdict.quality,
            **verdict.columns(),
            macs=macs,
            mac_reduction=1 - macs / table.macs,
            **_cost_columns(costs, chosen),
            layers=len(config.layers),
            accepted=verdict.passes,
        )
        if verdict.passes and (best is None or value < best[3]):
            best = (config, verdict, alpha, value)
    config, verdict, alpha = (
        best[:3] if best is not None else (TasderConfig(hardware=hardware), score.dense, None)
    )
    config = config.model_copy(update={"keep": keep})
    result = _result(
        "TASD-A", metric, target, original, verdict.quality, table, config, len(trace.rows),
        alpha, objective,
    )  # fmt: skip
    return _outcome(config, result, trace, started, score, verdict)


@dataclass(frozen=True)
class RankMass:
    """One layer's calibration inputs: per block size M, the summed score of the r-th
    largest entry of every block (r = 0 .. M-1). Keeping N per block drops
    ``mass[N:].sum()`` of ``mass.sum()``: one pass over the calibration data prices every
    series, and the greedy search reuses it for all candidates."""

    mass: dict[int, np.ndarray]

    def dropped(self, series: Series) -> tuple[float, float]:
        """Score dropped by ``series`` and the total (a single-block-size series)."""
        ranked = self.mass[series.patterns[0].m]
        return float(ranked[kept_per_block(series) :].sum()), float(ranked.sum())


def activation_statistics(
    model: nn.Module,
    batches: Iterable[Any],
    layers: list[str],
    sizes: Iterable[int],
    *,
    keep: str = "magnitude",
    progress: bool = False,
) -> dict[str, RankMass]:
    """:class:`RankMass` of each layer's inputs over ``batches``, ranked by magnitude or
    by output impact (``keep``)."""
    check_keep(keep)
    modules = find_layers(model, layers)
    sizes = sorted(set(sizes))
    sums = {name: {m: np.zeros(m) for m in sizes} for name in modules}

    def observe(name: str, module: nn.Module) -> Callable[..., None]:
        axis = block_axis(module)
        scale = output_impact_scale(module) if keep == "output" else None

        def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
            score = args[0].detach().float().abs()
            if scale is not None:
                shape = [1] * score.dim()
                shape[axis] = -1
                score = score * scale.view(shape)
            for m in sizes:
                blocks = _blocks(score, axis, m)[0].reshape(-1, m)
                ranked = torch.sort(blocks, dim=-1, descending=True).values
                sums[name][m] += ranked.sum(0, dtype=torch.float64).numpy()

        return hook

    handles = [
        module.register_forward_pre_hook(observe(n, module)) for n, module in modules.items()
    ]
    seen = 0
    try:
        with inference(model):
            for batch in tqdm(batches, desc="activation statistics", disable=not progress):
                run_model(model, batch)
                seen += 1
    finally:
        for handle in handles:
            handle.remove()
    if not seen:
        raise SparsimError("no calibration batches; TASD-A needs calibration data", "calibration")
    return {name: RankMass(by_size) for name, by_size in sums.items()}


def activation_candidates(
    table: LayerTable, options: Sequence[Series], statistics: Mapping[str, RankMass]
) -> list[Candidate]:
    """Every (layer, series) that saves MACs, with the calibration inputs' score it drops."""
    saved = macs_saved(table)
    candidates = []
    for name, ranks in statistics.items():
        if name not in saved:
            raise SparsimError(f"layer {name!r} is not in the calibration table", "layers")
        for series in options:
            gain = saved[name](series)
            if gain <= 0 or single_block_size(series) is None:
                continue
            dropped, total = ranks.dropped(series)
            candidates.append(Candidate(name, series, dropped, total, int(gain)))
    return candidates


def search_activations_layerwise(
    model: nn.Module,
    table: LayerTable,
    score: Score,
    original: float,
    *,
    hardware: str,
    layers: list[str],
    calibration: Iterable[Any],
    target: float = DEFAULT_TARGET,
    patience: int | None = 1,
    metric: str = "quality",
    objective: str = "macs",
    costs: LayerCosts | None = None,
    keep: str = "magnitude",
    progress: bool = False,
) -> Outcome:
    """TASD-A, greedy per layer: the share of each layer's input score (magnitude or
    output impact, ``keep``) every series drops is measured once on ``calibration``; the
    candidates are ranked by saving (``objective``) per dropped share and applied in that
    order while the quality holds, as for TASD-W."""
    _check_target(target)
    _check_patience(patience)
    _check_objective(objective, costs)
    check_keep(keep)
    started, score = time.perf_counter(), _TimedScore(score, original, target)
    for name, module in find_layers(model, layers).items():
        check_activation_layer(name, module)
    options = hardware_series(hardware)
    statistics = activation_statistics(
        model, calibration, layers, {s.patterns[0].m for s in options}, keep=keep,
        progress=progress,
    )  # fmt: skip
    candidates = activation_candidates(table, options, statistics)
    hooks = ActivationTasd(keep=keep).prepare(model, layers)
    greedy = _Greedy(hooks.set, lambda: score(model), score.dense, patience, False, table, costs)
    try:
        found = _greedy_search(greedy, candidates, objective, progress, "layer-wise TASD-A")
    finally:
        hooks.remove()
    return _layerwise_outcome(
        "activations", found, started, score, hardware=hardware, metric=metric, target=target,
        original=original, table=table, objective=objective, keep=keep,
    )  # fmt: skip
