"""The study's figures (matplotlib's Agg canvas, no global pyplot state), each saved as PNG
and SVG. Every axis says its unit; every figure has a legend."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sparsim.processes import worker_pool
from sparsim.study.layers import FIG15, SET_TITLES
from sparsim.study.runner import COMPUTE
from sparsim.study.sparsity_types import DENSE, SET, SPARSITIES
from sparsim.study.strategies import BY_NAME, DUAL_PAIR, SINGLE_PAIR

STYLES = {
    "dense": ("black", "s", "-"),
    "struct-2:4": ("#9ecae1", "v", ":"),
    "struct-2:6": ("#6baed6", "^", ":"),
    "struct-2:8": ("#3182bd", "<", ":"),
    "struct-flexible": ("#08519c", "o", "-"),
    "struct-dual": ("#2ca02c", "D", "-"),
    "unstruct-single": ("#d62728", "o", "-"),
    "unstruct-dual": ("#ff7f0e", "D", "-"),
}
SINGLE_PANEL = ("dense", "struct-2:4", "struct-2:6", "struct-2:8", *SINGLE_PAIR)
DUAL_PANEL = ("dense", *SINGLE_PAIR, *DUAL_PAIR)
COMPARED = ("dense", *SINGLE_PAIR, *DUAL_PAIR)
PARTS = (COMPUTE, "LRF", "RF", "SMEM", "DRAM")
PART_COLORS = {
    COMPUTE: "#7f7f7f",
    "LRF": "#bcbd22",
    "RF": "#17becf",
    "SMEM": "#9467bd",
    "DRAM": "#8c564b",
}
SPARSITY_LABEL = "sparsity [% zeros]"


def _save(figure: Figure, out_dir: Path, stem: str) -> list[Path]:
    FigureCanvasAgg(figure)
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.svg"]
    figure.savefig(paths[0], dpi=110)
    figure.savefig(paths[1])
    return paths


def _style(ax, strategy: str, reference: bool = False) -> dict:
    color, marker, line = STYLES[strategy]
    label = BY_NAME[strategy].title + (" (single-sided, for reference)" if reference else "")
    return {
        "color": color,
        "marker": marker,
        "linestyle": "--" if reference else line,
        "label": label,
    }


def diagonal(totals: pd.DataFrame, layer_set: str, strategy: str, dual: bool) -> pd.DataFrame:
    """A strategy along the grid: weight sparsity = activation sparsity (``dual``) or
    weights only (activations dense); the dense TC is the same everywhere."""
    rows = totals[(totals[SET] == layer_set) & (totals["strategy"] == strategy)]
    if strategy == DENSE or not dual or BY_NAME[strategy].sides == "single":
        rows = rows[np.isclose(rows["activation_sparsity"], 0.0)]
    else:
        rows = rows[np.isclose(rows["weight_sparsity"], rows["activation_sparsity"])]
    return rows.sort_values("weight_sparsity")


def plot_sparsity_metric(
    totals: pd.DataFrame,
    out_dir: Path,
    stem: str,
    metric: str,
    ylabel: str,
    title: str,
    scale: float = 1.0,
) -> list[Path]:
    """``metric`` vs sparsity: single-sided strategies (weights sparse) on the left,
    dual-sided (weights and activations equally sparse) on the right, a row per layer set."""
    sets = list(dict.fromkeys(totals[SET]))
    figure = Figure(figsize=(12, 4.2 * len(sets)), layout="constrained")
    axes = figure.subplots(len(sets), 2, squeeze=False)
    for row, layer_set in enumerate(sets):
        for column, (dual, names) in enumerate(((False, SINGLE_PANEL), (True, DUAL_PANEL))):
            ax = axes[row, column]
            for name in names:
                reference = dual and BY_NAME[name].sides == "single"
                rows = diagonal(totals, layer_set, name, dual)
                x = 100 * rows["weight_sparsity"]
                ax.plot(x, rows[metric] * scale, **_style(ax, name, reference))
            operands = "weights and activations" if dual else "weights (activations dense)"
            ax.set_title(f"{SET_TITLES[layer_set]}: {operands} sparse")
            ax.set_xlabel(f"{SPARSITY_LABEL} of {operands.split(' (')[0]}")
            ax.set_ylabel(ylabel)
            ax.set_xticks([100 * s for s in SPARSITIES])
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
    figure.suptitle(title)
    return _save(figure, out_dir, stem)


def plot_computes(totals: pd.DataFrame, out_dir: Path) -> list[Path]:
    figure = Figure(figsize=(12, 4.5), layout="constrained")
    axes = figure.subplots(1, 2)
    for ax, dual, names in ((axes[0], False, SINGLE_PAIR), (axes[1], True, DUAL_PAIR)):
        dense = diagonal(totals, FIG15, DENSE, dual)
        ax.plot(
            100 * dense["weight_sparsity"],
            dense["algorithmic_computes"] / 1e6,
            color="black",
            linestyle="--",
            label="algorithmic MACs (all strategies)",
        )
        for name in names:
            rows = diagonal(totals, FIG15, name, dual)
            style = _style(ax, name)
            style["label"] += ": actual MACs"
            if name.startswith("unstruct"):
                style.update(markersize=10, fillstyle="none")
            ax.plot(100 * rows["weight_sparsity"], rows["actual_computes"] / 1e6, **style)
        operands = "weights and activations" if dual else "weights"
        ax.set_title(f"{SET_TITLES[FIG15]}: {operands} sparse")
        ax.set_xlabel(f"{SPARSITY_LABEL} of {operands}")
        ax.set_ylabel("MACs [millions]")
        ax.set_xticks([100 * s for s in SPARSITIES])
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    figure.suptitle("Computes: structured and unstructured skip the same MACs")
    return _save(figure, out_dir, "computes_vs_sparsity")


def plot_energy_breakdown(breakdown: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Stacked energy per level (data solid, metadata hatched) at 50% and 75% sparsity."""
    figure = Figure(figsize=(12, 5), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    rows = breakdown[breakdown[SET] == FIG15]
    for ax, sparsity in zip(axes, (0.5, 0.75), strict=True):
        labels = []
        for i, name in enumerate(COMPARED):
            ws = 0.0 if name == DENSE else sparsity
            sa = sparsity if BY_NAME[name].sides == "dual" else 0.0
            point = rows[
                (rows["strategy"] == name)
                & np.isclose(rows["weight_sparsity"], ws)
                & np.isclose(rows["activation_sparsity"], sa)
            ]
            per_level = point.groupby("level")[["data_uJ", "metadata_uJ"]].sum()
            bottom = 0.0
            for part in PARTS:
                data, metadata = per_level.loc[part] if part in per_level.index else (0.0, 0.0)
                for value, hatch, suffix in ((data, None, "data"), (metadata, "//", "metadata")):
                    label = (
                        f"{part} {suffix}"
                        if i == 0 and (part != COMPUTE or suffix == "data")
                        else None
                    )
                    ax.bar(
                        i,
                        value,
                        bottom=bottom,
                        color=PART_COLORS[part],
                        hatch=hatch,
                        edgecolor="white",
                        label=label,
                    )
                    bottom += value
            labels.append(BY_NAME[name].title.replace(" (", "\n("))
        ax.set_xticks(range(len(COMPARED)), labels, rotation=30, ha="right", fontsize="small")
        ax.set_title(f"{SET_TITLES[FIG15]} at {100 * sparsity:.3g}% sparsity")
        ax.set_ylabel("energy [uJ]")
        ax.grid(axis="y", alpha=0.3)
    figure.legend(
        *axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=5, fontsize="small"
    )
    figure.suptitle("Energy per level, data vs metadata (hatched); dense TC at 0%")
    return _save(figure, out_dir, "energy_breakdown")


def plot_cycles_breakdown(
    totals: pd.DataFrame, bandwidth: pd.DataFrame, out_dir: Path
) -> list[Path]:
    """Per level: the cycles its bandwidth needs vs the MACs' cycles; the total is the max."""
    figure = Figure(figsize=(13, 5), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    width = 0.8 / len(PARTS)
    for ax, pair in zip(axes, (SINGLE_PAIR, DUAL_PAIR), strict=True):
        ticks = []
        for i, (name, sparsity) in enumerate((n, s) for n in pair for s in SPARSITIES[1:]):
            dual = BY_NAME[name].sides == "dual"
            row = diagonal(totals, FIG15, name, dual)
            row = row[np.isclose(row["weight_sparsity"], sparsity)].iloc[0]
            for j, part in enumerate(PARTS):
                ax.bar(
                    i + (j - len(PARTS) / 2 + 0.5) * width,
                    row[f"cycles_{part}"] / 1e3,
                    width,
                    color=PART_COLORS[part],
                    label=f"{part} cycles" if i == 0 else None,
                )
            wider = bandwidth[
                (bandwidth["strategy"] == name)
                & np.isclose(bandwidth["sweep_sparsity"], sparsity)
                & (bandwidth["scale"] == 2.0)
            ]
            ax.plot(
                i,
                wider["cycles"].iloc[0] / 1e3,
                "k*",
                markersize=11,
                label="total with 2x SMEM read bandwidth" if i == 0 else None,
            )
            ax.plot(
                [i - 0.45, i + 0.45],
                [row["cycles"] / 1e3] * 2,
                "k-",
                linewidth=2,
                label="total cycles" if i == 0 else None,
            )
            ticks.append(f"{BY_NAME[name].title}\n{100 * sparsity:.3g}%")
        ax.set_xticks(range(len(ticks)), ticks, fontsize="x-small", rotation=20, ha="right")
        ax.set_ylabel("cycles [thousands]")
        ax.set_title(f"{SET_TITLES[FIG15]}: {'dual' if pair == DUAL_PAIR else 'single'}-sided")
        ax.grid(axis="y", alpha=0.3)
    figure.legend(
        *axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=7, fontsize="small"
    )
    figure.suptitle("What bounds the cycles: MACs vs each level's bandwidth")
    return _save(figure, out_dir, "cycles_breakdown")


def plot_adjusted(adjusted: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Energy vs total sparsity 1 - dw*da: dual-sided at every (dw, da), single-sided at
    the same total density."""
    sets = list(dict.fromkeys(adjusted[SET]))
    figure = Figure(figsize=(6.5 * len(sets), 5), layout="constrained")
    axes = figure.subplots(1, len(sets), squeeze=False)[0]
    for ax, layer_set in zip(axes, sets, strict=True):
        rows = adjusted[adjusted[SET] == layer_set]
        dense = (rows["energy_uJ"] / rows["energy_vs_dense"]).iloc[0]
        for name in SINGLE_PAIR:
            single = rows[rows["strategy"] == DUAL_PAIR[0]].sort_values("total_density")
            x = 100 * (1 - single["total_density"])
            ax.plot(x, single[f"{name}_energy_uJ"] / dense, **_style(ax, name))
        for name in DUAL_PAIR:
            dual = rows[rows["strategy"] == name]
            color, marker, _ = STYLES[name]
            ax.scatter(
                100 * (1 - dual["total_density"]),
                dual["energy_vs_dense"],
                color=color,
                marker=marker,
                label=f"{BY_NAME[name].title}, every (weight, activation) sparsity",
            )
        ax.axhline(1.0, color="black", linewidth=0.8, label="dense TC")
        ax.set_xlabel("total sparsity 1 - dw * da [% ineffectual MACs]")
        ax.set_ylabel("energy relative to the dense TC [x]")
        ax.set_title(SET_TITLES[layer_set])
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    figure.suptitle(
        "Adjusted for total sparsity: dual-sided vs single-sided at the same effectual MACs"
    )
    return _save(figure, out_dir, "adjusted_total_sparsity")


def plot_dual_heatmap(totals: pd.DataFrame, out_dir: Path) -> list[Path]:
    sets = list(dict.fromkeys(totals[SET]))
    figure = Figure(figsize=(11, 4.5 * len(sets)), layout="constrained")
    axes = figure.subplots(len(sets), 2, squeeze=False)
    ticks = [f"{100 * s:.3g}" for s in SPARSITIES]
    for row, layer_set in enumerate(sets):
        for ax, name in zip(axes[row], DUAL_PAIR, strict=True):
            rows = totals[(totals[SET] == layer_set) & (totals["strategy"] == name)]
            grid = rows.pivot_table(
                index="weight_sparsity", columns="activation_sparsity", values="energy_vs_dense"
            )
            image = ax.imshow(grid.to_numpy(), cmap="RdYlGn_r", vmin=0.2, vmax=2.0, origin="lower")
            for (i, j), value in np.ndenumerate(grid.to_numpy()):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize="small")
            ax.set_xticks(range(len(ticks)), ticks)
            ax.set_yticks(range(len(ticks)), ticks)
            ax.set_xlabel(f"activation {SPARSITY_LABEL}")
            ax.set_ylabel(f"weight {SPARSITY_LABEL}")
            ax.set_title(f"{BY_NAME[name].title}, {SET_TITLES[layer_set]}")
            figure.colorbar(image, ax=ax, label="energy relative to the dense TC [x]")
    figure.suptitle("Dual-sided strategies over the (weight, activation) sparsity grid")
    return _save(figure, out_dir, "dual_sided_grid")


def plot_breakeven(fine: pd.DataFrame, out_dir: Path) -> list[Path]:
    figure = Figure(figsize=(8, 5), layout="constrained")
    ax = figure.subplots()
    total = f"{FIG15} total"
    for name in DUAL_PAIR[1:] + SINGLE_PAIR[1:]:
        color, marker, _ = STYLES[name]
        for layer, rows in fine[fine["strategy"] == name].groupby("layer", sort=False):
            rows = rows.sort_values("sweep_sparsity")
            is_total = layer == total
            ax.plot(
                100 * rows["sweep_sparsity"],
                rows["energy_vs_dense"],
                color=color,
                marker=marker if is_total else None,
                linewidth=2 if is_total else 0.7,
                alpha=1.0 if is_total else 0.5,
                label=f"{BY_NAME[name].title}, {SET_TITLES[FIG15]}" if is_total else None,
            )
    ax.axhline(1.0, color="black", linewidth=1, label="dense TC")
    ax.set_xlabel(f"{SPARSITY_LABEL} (dual-sided: of both operands)")
    ax.set_ylabel("energy relative to the dense TC [x]")
    ax.set_title("Where unstructured sparsity beats dense (thin lines: single layers)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return _save(figure, out_dir, "unstructured_breakeven")


def plot_memory(memory: pd.DataFrame, out_dir: Path) -> list[Path]:
    sweeps = list(dict.fromkeys(memory["sweep"]))
    columns = 2
    figure = Figure(figsize=(12, 3.8 * -(-len(sweeps) // columns)), layout="constrained")
    axes = figure.subplots(-(-len(sweeps) // columns), columns, squeeze=False).ravel()
    for ax, sweep in zip(axes, sweeps, strict=False):
        rows = memory[memory["sweep"] == sweep]
        for name, group in rows.groupby("strategy", sort=False):
            group = group.sort_values("scale")
            ax.plot(group["scale"], 100 * (group["energy_vs_baseline"] - 1), **_style(ax, name))
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(set(rows["scale"])), [f"x{s:g}" for s in sorted(set(rows["scale"]))])
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel(f"size relative to the artifact's ({rows['unit'].iloc[0]} scaled)")
        ax.set_ylabel("energy change [%]")
        ax.set_title(rows["sweep_title"].iloc[0])
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    for ax in axes[len(sweeps) :]:
        ax.set_visible(False)
    figure.suptitle(f"Memory sizes ({SET_TITLES[FIG15]}, 50% sparsity, re-mapped at each size)")
    return _save(figure, out_dir, "memory_sweeps")


def _draw(task: tuple) -> list[Path]:
    function, *args = task
    return function(*args)


def plot_all(tables, out_dir: Path, jobs: int = 1) -> dict[str, list[Path]]:
    """Every figure of the report, by name; drawn by ``jobs`` worker processes."""
    totals = tables.totals
    tasks = {
        "energy": (
            plot_sparsity_metric,
            totals,
            out_dir,
            "energy_vs_sparsity",
            "energy_uJ",
            "energy [uJ]",
            "Energy vs sparsity",
        ),
        "cycles": (
            plot_sparsity_metric,
            totals,
            out_dir,
            "cycles_vs_sparsity",
            "cycles",
            "cycles [millions]",
            "Cycles vs sparsity",
            1e-6,
        ),
        "edp": (
            plot_sparsity_metric,
            totals,
            out_dir,
            "edp_vs_sparsity",
            "edp_vs_dense",
            "EDP relative to the dense TC [x]",
            "Energy-delay product vs sparsity",
        ),
        "computes": (plot_computes, totals, out_dir),
        "breakdown": (plot_energy_breakdown, tables.breakdown, out_dir),
        "cycles_breakdown": (plot_cycles_breakdown, totals, tables.bandwidth, out_dir),
        "adjusted": (plot_adjusted, tables.adjusted, out_dir),
        "dual_grid": (plot_dual_heatmap, totals, out_dir),
        "breakeven": (plot_breakeven, tables.fine, out_dir),
        "memory": (plot_memory, tables.memory, out_dir),
    }
    jobs = min(jobs, os.cpu_count() or 1, len(tasks))
    if jobs <= 1:
        return {name: _draw(task) for name, task in tasks.items()}
    # The memory figure is the slowest: start it first.
    order = sorted(tasks, key=lambda name: name != "memory")
    with worker_pool(jobs) as pool:
        drawn = dict(zip(order, pool.map(_draw, [tasks[name] for name in order]), strict=True))
    return {name: drawn[name] for name in tasks}
