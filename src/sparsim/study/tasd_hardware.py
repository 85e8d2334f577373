"""``sparsim study tasd-hardware``: the TASD paper's hardware evaluation (its Figs. 14, 15,
18 and 19) on sparsim's engine.

Dense and sparse ResNet-50 and BERT-base (:mod:`sparsim.study.tasd_workloads`) run on the
dense tensor core (TC), the dual-side sparse tensor core (DSTC) and the four TASD tensor
cores (:mod:`sparsim.designs.ttc`) with the TASDER configurations of each. The ablation
(Fig. 18) adds VEGETA-M8 without TASDER (every layer dense) and VEGETA-M8 with TASDER as
the paper configures it: TASD on the weights only (VEGETA has no decomposition units, so
dense models stay dense), one native pattern per layer. Section 5.3's network-wise run
puts every layer of sparse ResNet-50 at 4:8+1:8 on TTC-VEGETA-M8. The energy breakdown
(Fig. 19) runs Table 4's representative ResNet-50 layers, sparse, at 4:8+1:8 on
TTC-VEGETA-M8 against the TC, level by level. A model's energy and cycles are the sums over
its layers (they run one after another), its EDP their product; its EDAP that times the
design's area (the area tables' storage and MACs: :func:`design_area_um2`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from tqdm import tqdm

from sparsim.cost.result import Result
from sparsim.designs.build import build_with_result
from sparsim.designs.catalog import INPUTS, WEIGHTS, get_design
from sparsim.designs.ttc import SeriesResult, evaluate_series, structured_gemm, ttc_hardware
from sparsim.errors import SparsimError
from sparsim.processes import pool_of
from sparsim.spec.workload import Conv, Gemm
from sparsim.study.tasd_workloads import (
    MODEL_TITLES,
    MODELS,
    VARIANTS,
    activation_series,
    activations,
    kept_weight_density,
    layer_table,
    weight_series,
)
from sparsim.tasd import Series, expected_dropped_nonzeros, parse_series

TTCS = ("TTC-STC-M4", "TTC-STC-M8", "TTC-VEGETA-M4", "TTC-VEGETA-M8")
TC, DSTC = "TC", "DSTC"
VEGETA_PLAIN = "VEGETA-M8 without TASDER"
VEGETA_ONE_TERM = "VEGETA-M8 with TASDER"
VEGETA_TTC = "TTC-VEGETA-M8"  # the main run: TASDER with two-term series
MAIN_DESIGNS = (TC, DSTC, *TTCS)
ABLATION = (DSTC, VEGETA_PLAIN, VEGETA_ONE_TERM, VEGETA_TTC)
BREAKDOWN_SERIES = "4:8+1:8"
BREAKDOWN_HARDWARE = "TTC-VEGETA-M8"
NETWORK_WISE = f"{BREAKDOWN_HARDWARE}, {BREAKDOWN_SERIES} on every layer"
NETWORK_WISE_RUNS = (("resnet50", "sparse"),)  # the TASD paper's section 5.3
BREAKDOWN_MODEL = "resnet50"  # Fig. 19: a representative layer of sparse ResNet-50
DESIGN_KEYS = {TC: "tc", DSTC: "dstc"}
# Table 4's representative layers as the paper writes them: (model, label, M, N, K), its
# M the rows of the activations for ResNet-50 and of the weights for BERT (matched here
# by K and by {M, N} as a pair).
REPRESENTATIVE = (
    ("resnet50", "L1", 784, 128, 1152),
    ("resnet50", "L2", 3136, 64, 576),
    ("resnet50", "L3", 196, 256, 2304),
    ("bert-base", "L1", 768, 128, 768),
    ("bert-base", "L2", 3072, 128, 768),
    ("bert-base", "L3", 768, 128, 3072),
)


@dataclass(frozen=True)
class Run:
    """One design on one model variant: what each layer runs."""

    design: str  # the row label
    hardware: str | None  # the TTC's hardware, or None for TC / DSTC
    series: dict[str, Series]  # layer -> series (others dense)
    operand: str  # weights or activations (the structured operand of the series)


@dataclass(frozen=True)
class TasdHardwareTables:
    layers: pd.DataFrame  # one row per (model, variant, design, layer)
    totals: pd.DataFrame  # one row per (model, variant, design)
    breakdown: pd.DataFrame  # Fig. 19: per (representative layer, design, level): energy
    configs: pd.DataFrame  # the TASDER choices: (model, variant, design, layer, series)
    activations: pd.DataFrame  # the measured densities used
    representative: pd.DataFrame  # Table 4's layers and the layer of each model they are


def representative_layers() -> pd.DataFrame:
    """Table 4's layers, each with the first layer of sparsim's table of that shape and
    how many layers share it (none: the shape is not in the model)."""
    rows = []
    for model, label, rows_m, columns_n, reduced_k in REPRESENTATIVE:
        gemms = {row.name: _gemm(row.workload) for row in layer_table(model)}
        matches = [
            name
            for name, gemm in gemms.items()
            if reduced_k == gemm.K and {gemm.M, gemm.N} == {rows_m, columns_n}
        ]
        rows.append(
            {
                "model": model,
                "label": label,
                "paper_shape": f"M{rows_m}-N{columns_n}-K{reduced_k}",
                "layer": matches[0] if matches else "",
                "layers_of_this_shape": len(matches),
            }
        )
    return pd.DataFrame(rows)


def _gemm(workload: Gemm | Conv) -> Gemm:
    return structured_gemm(workload, None, "weights")


@lru_cache(maxsize=4096)
def _evaluate(design: str, gemm: Gemm, weights: float, inputs: float) -> Result:
    """TC or DSTC on a GEMM at uniform densities; cached (shapes repeat)."""
    densities = {WEIGHTS: weights, INPUTS: inputs} if design == "dstc" else None
    return build_with_result(design, gemm, densities)[1]


def runs(model: str, variant: str) -> list[Run]:
    """The designs of Figs. 14/15, the ablation of Fig. 18 and section 5.3's network-wise
    series on one model variant."""
    choose = activation_series if variant == "dense" else weight_series
    operand = "activations" if variant == "dense" else "weights"
    out = [Run(TC, None, {}, "weights"), Run(DSTC, None, {}, "weights")]
    out += [Run(h, h, choose(model, h), operand) for h in TTCS]
    # VEGETA has no decomposition units: TASDER on the weights only, so a dense model
    # (dense weights) runs dense, a sparse one under one-term TASD-W.
    one_term = weight_series(model, BREAKDOWN_HARDWARE, 1) if variant == "sparse" else {}
    out += [
        Run(VEGETA_PLAIN, BREAKDOWN_HARDWARE, {}, "weights"),
        Run(VEGETA_ONE_TERM, BREAKDOWN_HARDWARE, one_term, "weights"),
    ]
    if (model, variant) in NETWORK_WISE_RUNS:
        every = {row.name: parse_series(BREAKDOWN_SERIES) for row in layer_table(model)}
        out.append(Run(NETWORK_WISE, BREAKDOWN_HARDWARE, every, "weights"))
    return out


def _densities(model: str, variant: str, layer: str, run: Run) -> tuple[float, float]:
    """(weights, inputs) nonzero shares as the run's design sees them: a TASD series keeps
    what its terms hold of the structured operand."""
    inputs = activations(model)[layer].density
    series = run.series.get(layer)
    weights = 1.0
    if variant == "sparse":
        weights = kept_weight_density(model, layer, series if run.operand == "weights" else None)
    if series is not None and run.operand == "activations":
        inputs *= 1.0 - expected_dropped_nonzeros(inputs, series)
    return weights, inputs


def _layer_rows(model: str, variant: str, run: Run) -> Iterator[dict]:
    for row in layer_table(model):
        series = run.series.get(row.name)
        weights, inputs = _densities(model, variant, row.name, run)
        if run.hardware is None:
            # DSTC skips the zeros of both operands; the TC none (one evaluation per shape).
            seen = (weights, inputs) if run.design == DSTC else (1.0, 1.0)
            result = _evaluate(DESIGN_KEYS[run.design], _gemm(row.workload), *seen)
            energy, cycles, performed = result.energy_uJ, result.cycles, result.computes.actual
        else:
            # A layer left dense runs as the plain GEMM, whichever operand the run targets.
            operand = run.operand if series is not None else "weights"
            on_ttc: SeriesResult = evaluate_series(
                run.hardware, row.workload, series or "dense", operand=operand
            )
            energy, cycles, performed = on_ttc.energy_uJ, on_ttc.cycles, on_ttc.computes.actual
        yield {
            "model": model,
            "variant": variant,
            "design": run.design,
            "layer": row.name,
            "operand": run.operand if series is not None else "none",
            "series": str(series) if series is not None else "dense",
            "algorithmic": row.macs,
            "effectual": row.macs * weights * inputs,
            "performed": performed,
            "energy_uJ": energy,
            "cycles": cycles,
        }


def design_area_um2(design: str) -> float:
    """A row's design's area from its area table: the TC's or DSTC's, else its TTC
    hardware's (VEGETA-M8's for the ablation and network-wise rows); the TASD units are in
    no table (the TASD paper, section 5.6: up to 2% of the PEs' area)."""
    if design in DESIGN_KEYS:
        area = get_design(DESIGN_KEYS[design]).architecture.area_um2
    else:
        hardware = design if design in TTCS else BREAKDOWN_HARDWARE
        area = ttc_hardware(hardware).design.architecture.area_um2
    if area is None:
        raise SparsimError("its design file gives no area for some level", design)
    return area


def _totals(layers: pd.DataFrame) -> pd.DataFrame:
    keys = ["model", "variant", "design"]
    sums = ["algorithmic", "effectual", "performed", "energy_uJ", "cycles"]
    totals = layers.groupby(keys, sort=False)[sums].sum().reset_index()
    totals["edp_J_cycles"] = totals["energy_uJ"] * 1e-6 * totals["cycles"]
    totals["area_um2"] = totals["design"].map(design_area_um2)
    totals["edap_J_cycles_mm2"] = totals["edp_J_cycles"] * totals["area_um2"] * 1e-6
    tc = totals[totals["design"] == TC].set_index(["model", "variant"])
    for metric, name in (
        ("edp_J_cycles", "edp"),
        ("energy_uJ", "energy"),
        ("cycles", "cycles"),
        ("edap_J_cycles_mm2", "edap"),
    ):
        base = totals.set_index(["model", "variant"]).index.map(tc[metric])
        totals[f"{name}_vs_tc"] = totals[metric].to_numpy() / base.to_numpy(dtype=float)
    totals["layers_tasd"] = (
        layers.assign(tasd=layers["series"] != "dense")
        .groupby(keys, sort=False)["tasd"]
        .sum()
        .to_numpy()
    )
    return totals


def _level_energy(result: Result) -> dict[str, float]:
    """Energy per level, outermost first, then the compute (by the names the result gives
    them)."""
    energies = {level.name: level.energy_pJ * 1e-6 for level in result.levels}
    energies[result.compute.name] = result.compute.energy_pJ * 1e-6
    return energies


def series_level_energy(on_ttc: SeriesResult) -> dict[str, float]:
    """A series' energy per level: its passes' energies, less what the fused schedule does
    not spend again at each level above the accumulators."""
    energies: dict[str, float] = {}
    for term in on_ttc.terms:
        for level, value in _level_energy(term.result).items():
            energies[level] = energies.get(level, 0.0) + value
    for level, saved in on_ttc.shared_saved_by_level:
        energies[level] -= saved * 1e-6
    return energies


def _breakdown(model: str) -> list[dict]:
    """Fig. 19: per-level energy of the TC and of TTC-VEGETA-M8 running the weights at
    4:8+1:8 on each of Table 4's representative layers of the sparse model."""
    series = parse_series(BREAKDOWN_SERIES)
    label = f"{BREAKDOWN_HARDWARE} ({BREAKDOWN_SERIES})"
    by_name = {row.name: row for row in layer_table(model)}
    rows = []
    for chosen in representative_layers().itertuples():
        if model != BREAKDOWN_MODEL or chosen.model != model or not chosen.layer:
            continue
        workload = by_name[chosen.layer].workload
        tc = _level_energy(_evaluate("tc", _gemm(workload), 1.0, 1.0))
        ttc = series_level_energy(evaluate_series(BREAKDOWN_HARDWARE, workload, series))
        for design, energies in ((TC, tc), (label, ttc)):
            rows += [
                {
                    "model": model,
                    "label": chosen.label,
                    "layer": chosen.layer,
                    "design": design,
                    "level": level,
                    "energy_uJ": value,
                }
                for level, value in energies.items()
            ]
    return rows


def _model_tables(model: str, progress: bool, position: int) -> tuple[list, list, list]:
    """Layer, configuration and breakdown rows of one model (both variants)."""
    plans = [(v, r) for v in VARIANTS for r in runs(model, v)]
    rows: list[dict] = []
    config_rows: list[dict] = []
    bar = tqdm(
        plans,
        desc=MODEL_TITLES[model],
        unit="run",
        disable=not progress,
        position=position,
        leave=False,
    )
    for variant, run in bar:
        rows += _layer_rows(model, variant, run)
        config_rows += [
            {
                "model": model,
                "variant": variant,
                "design": run.design,
                "layer": layer,
                "operand": run.operand,
                "series": str(series),
            }
            for layer, series in run.series.items()
        ]
    return rows, config_rows, _breakdown(model)


def run_tasd_hardware(progress: bool = True, jobs: int = 2) -> TasdHardwareTables:
    """Every table of the study; the models run in ``jobs`` worker processes (1: here)."""
    if jobs < 1:
        raise SparsimError(f"must be >= 1, got {jobs}", "jobs")
    arguments = [(model, progress, index) for index, model in enumerate(MODELS)]
    workers = min(jobs, len(MODELS), os.cpu_count() or 1)
    if workers == 1:
        parts = [_model_tables(*a) for a in arguments]
    else:
        with pool_of(workers) as pool:
            parts = list(pool.map(_model_tables, *zip(*arguments, strict=True)))
    rows = [row for part in parts for row in part[0]]
    config_rows = [row for part in parts for row in part[1]]
    layers = pd.DataFrame(rows)
    breakdown = pd.DataFrame([row for part in parts for row in part[2]])
    measured = pd.DataFrame(
        [
            {
                "model": model,
                "layer": layer,
                "density": a.density,
                "rule_sparsity": a.rule_sparsity,
                "source": a.source,
            }
            for model in MODELS
            for layer, a in activations(model).items()
        ]
    )
    return TasdHardwareTables(
        layers=layers,
        totals=_totals(layers),
        breakdown=breakdown,
        configs=pd.DataFrame(
            config_rows, columns=["model", "variant", "design", "layer", "operand", "series"]
        ),
        activations=measured,
        representative=representative_layers(),
    )
