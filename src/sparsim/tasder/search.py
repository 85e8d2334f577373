"""TASDER: find per-layer TASD configurations that keep a model's quality.

* TASD-W network-wise: one series for every layer, tried exhaustively over the hardware's
  series; the one removing most MACs at ``quality >= target * original`` wins.
* TASD-W layer-wise greedy: measure the nonzeros each (layer, series) drops, sort the
  candidates by the dropped fraction (ascending; ties: more MACs saved first), then apply
  them in that order, keeping each one while the quality stays at the target. A candidate
  that breaks the target is undone; after ``patience`` such failures the search stops
  (``patience=None`` tries every candidate).
* TASD-A: per layer, the seed paper's sparsity-degree rule (Listing 1): the most
  aggressive series the hardware runs whose sparsity ``1 - density`` is at most the
  measured input sparsity plus ``alpha``. For GELU/Swish models the measured sparsity is
  ``1 - pseudo-density``. An alpha sweep traces quality against MAC reduction.

MACs are counted per layer call on the model's workloads (:mod:`sparsim.workload`): a
layer whose weights or inputs follow a series executes ``series.density`` of its dense
MACs on a TASD tensor core. Candidate measurement uses one histogram of nonzeros per block
and layer, so the search itself is fast; the quality evaluations dominate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import nn
from tqdm import tqdm

from sparsim.errors import SparsimError
from sparsim.tasd import Series, get_hardware
from sparsim.tasder.apply import ActivationTasd, WeightTasd
from sparsim.tasder.config import LayerConfig, SearchResult, TasderConfig
from sparsim.tasder.structured import (
    block_axis,
    check_activation_layer,
    dropped_nonzeros_by_kept,
    is_activation_layer,
    kept_per_block,
    nonzeros_per_block,
    structured_macs,
)
from sparsim.workload.extract import extract_workloads
from sparsim.workload.probe import find_layers
from sparsim.workload.table import LayerTable

DEFAULT_TARGET = 0.99
Score = Callable[[nn.Module], float]


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


def module_name(call_name: str) -> str:
    """``layer#2`` (second call of a shared layer) -> ``layer``."""
    return call_name.split("#", 1)[0]


def count_macs(table: LayerTable, config: TasderConfig) -> int:
    """MACs of the model's layers on a TASD tensor core under ``config``."""
    total = 0
    for layer in table:
        entry = config.layers.get(module_name(layer.name))
        total += layer.macs if entry is None else structured_macs(layer.workload, entry.series)
    return total


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
    layer: str
    series: Series
    dropped: int
    nonzeros: int
    macs_saved: int

    @property
    def dropped_fraction(self) -> float:
        return self.dropped / self.nonzeros if self.nonzeros else 0.0


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
            candidates.append(Candidate(name, series, int(dropped), nonzeros, gain))
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

    @property
    def result(self) -> SearchResult:
        assert self.config.result is not None
        return self.config.result


def _check_target(target: float) -> None:
    if not 0 < target <= 1:
        raise SparsimError(f"must be in (0, 1], got {target}", "target")


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
    progress: bool = False,
) -> Outcome:
    """TASD-W, one series for all ``layers`` (default: every Conv2d/Linear)."""
    _check_target(target)
    started = time.perf_counter()
    candidates = weight_candidates(model, table, hardware_series(hardware), layers)
    weights = WeightTasd().prepare(model, sorted({c.layer for c in candidates}))
    trace = Trace()
    best: tuple[TasderConfig, float] | None = None
    try:
        for series in tqdm(hardware_series(hardware), desc="network-wise", disable=not progress):
            # Every layer the series saves MACs on; the others stay dense.
            names = [c.layer for c in candidates if c.series == series]
            weights.restore()
            for name in names:
                weights.set(name, series)
            quality = score(model)
            config = TasderConfig(
                hardware=hardware, layers={n: LayerConfig(weights=str(series)) for n in names}
            )
            macs = count_macs(table, config)
            passed = quality >= target * original
            trace.add(
                series=str(series),
                layers=len(names),
                quality=quality,
                macs=macs,
                mac_reduction=1 - macs / table.macs,
                accepted=passed,
            )
            if passed and (best is None or macs < count_macs(table, best[0])):
                best = (config, quality)
    finally:
        weights.restore()
    evaluations = len(trace.rows)
    config, quality = best if best is not None else (TasderConfig(hardware=hardware), original)
    result = _result(
        "TASD-W network-wise", metric, target, original, quality, table, config, evaluations
    )
    return Outcome(
        config.model_copy(update={"result": result}), trace, time.perf_counter() - started
    )


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
    progress: bool = False,
) -> Outcome:
    """TASD-W, greedy per layer in ascending order of dropped nonzeros."""
    _check_target(target)
    if patience is not None and patience < 1:
        raise SparsimError(f"must be a positive integer or None, got {patience}", "patience")
    started = time.perf_counter()
    candidates = weight_candidates(model, table, hardware_series(hardware), layers)
    order = sorted(candidates, key=lambda c: (c.dropped_fraction, -c.macs_saved, c.layer))
    weights = WeightTasd().prepare(model, sorted({c.layer for c in candidates}))
    chosen: dict[str, Series] = {}
    trace = Trace()
    quality, failures, evaluations = original, 0, 0
    try:
        for candidate in tqdm(order, desc="layer-wise", disable=not progress):
            current = chosen.get(candidate.layer)
            if current is not None and current.density <= candidate.series.density:
                continue  # the layer already runs something at least as aggressive
            if candidate.dropped == 0:
                # The approximation is the original weights (and so is the layer now: any
                # less aggressive series drops at most as much): nothing to apply.
                new_quality = quality
            else:
                weights.set(candidate.layer, candidate.series)
                new_quality = score(model)
                evaluations += 1
            accepted = new_quality >= target * original
            trace.add(
                layer=candidate.layer,
                series=str(candidate.series),
                dropped_fraction=candidate.dropped_fraction,
                quality=new_quality,
                accepted=accepted,
            )
            if accepted:
                chosen[candidate.layer], quality = candidate.series, new_quality
                continue
            weights.set(candidate.layer, current)
            failures += 1
            if patience is not None and failures >= patience:
                break
    finally:
        weights.restore()
    config = TasderConfig(
        hardware=hardware, layers={n: LayerConfig(weights=str(s)) for n, s in chosen.items()}
    )
    result = _result(
        "TASD-W layer-wise", metric, target, original, quality, table, config, evaluations
    )
    return Outcome(
        config.model_copy(update={"result": result}), trace, time.perf_counter() - started
    )


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
    """Listing 1 of the seed paper: the most aggressive option whose sparsity is at most
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
    progress: bool = False,
) -> Outcome:
    """TASD-A with an alpha sweep; the chosen configuration removes the most MACs among those
    at the target (the dense model if none is)."""
    _check_target(target)
    if not alphas:
        raise SparsimError("give at least one alpha", "alphas")
    started = time.perf_counter()
    for name, module in find_layers(model, layers).items():
        check_activation_layer(name, module)
    sparsity = activation_sparsity(table, layers, pseudo)
    trace = Trace()
    best: tuple[TasderConfig, float, float] | None = None
    for alpha in tqdm(sorted(alphas), desc="alpha sweep", disable=not progress):
        config = activation_config(sparsity, table, hardware, alpha)
        hooks = ActivationTasd(config.activation_series).prepare(model)
        try:
            quality = score(model)
        finally:
            hooks.remove()
        macs = count_macs(table, config)
        passed = quality >= target * original
        trace.add(
            alpha=alpha,
            quality=quality,
            macs=macs,
            mac_reduction=1 - macs / table.macs,
            layers=len(config.layers),
            accepted=passed,
        )
        if passed and (best is None or macs < count_macs(table, best[0])):
            best = (config, quality, alpha)
    config, quality, alpha = (
        best if best is not None else (TasderConfig(hardware=hardware), original, None)
    )
    result = _result(
        "TASD-A", metric, target, original, quality, table, config, len(trace.rows), alpha
    )
    return Outcome(
        config.model_copy(update={"result": result}), trace, time.perf_counter() - started
    )
