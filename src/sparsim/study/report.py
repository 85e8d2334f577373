"""The sparsity-types study's outputs: tidy tables (CSV and Parquet) and a report on the
shared template (:mod:`sparsim.report`): conclusions with verdicts on one screen, what was
modelled (generated from the specs), the assumptions, then one section per question with
its interactive figure (static PNG/SVG beside it). Every number comes from the tables."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pandas as pd

import sparsim
from sparsim.report.hardware import architectures, design_table
from sparsim.report.model import Chart, Citation, Conclusion, Report, Rerun, Section, Table
from sparsim.report.render import write_report
from sparsim.report.work import work_decomposition
from sparsim.study.checks import (
    FINE_TOTAL,
    PAPER_BREAKEVEN,
    SECTION_BREAKEVEN,
    SECTION_COMPUTES,
    SECTION_CYCLES,
    SECTION_ENERGY,
    SECTION_MEMORY,
    SECTION_SIDES,
    SECTION_WINS,
    breakeven_sparsity,
    checks_frame,
    low_sparsity_rows,
    run_checks,
    select,
    sparsity_text,
)
from sparsim.study.layers import BASELINE_LAYER, FIG15, layer_sets
from sparsim.study.runner import COMPUTE, build_spec, point_for
from sparsim.study.sparsity_types import DENSE, LEVELS, SET, StudyTables
from sparsim.study.strategies import DUAL_PAIR, SINGLE_PAIR, structured_density

TABLES = ("layers", "totals", "breakdown", "adjusted", "fine", "low", "memory", "bandwidth")
FAILURE_COLUMNS = (SET, "layer", "strategy", "weight_sparsity", "activation_sparsity", "error")
PUBLISHED = Citation(
    "Yannan Nellie Wu, Po-An Tsai, Angshuman Parashar, Vivienne Sze, Joel S. Emer",
    "Sparseloop: An Analytical Approach to Sparse Tensor Accelerator Modeling",
    "MICRO 2022",
    "https://arxiv.org/abs/2205.05826",
)
# Fixed-pattern cores are the flexible core restricted to one pattern (same hardware):
# never better, tied where their pattern fits, so they do not compete for "best".
CONTENDERS = (DENSE, *SINGLE_PAIR, *DUAL_PAIR)
SINGLE_PANEL = "weights sparse, activations dense"
DUAL_PANEL = "weights and activations equally sparse"
# CACTI 7 depth slopes of the artifact's buffers (sparsim.designs.memory): the band of the
# capacity model's exponent.
EXPONENT_BAND = (0.41, 0.73)
MEMORY_LEVELS = {"smem-data": "SMEM", "rf-data": "RF"}


def axis_text(value: float) -> str:
    """A sparsity as a chart category ("50% zeros"): never read as a number by the chart."""
    return f"{sparsity_text(value)} zeros"


def _label(tables: StudyTables, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(design=frame["strategy"].map(tables.title))


def _diagonal(tables: StudyTables, layer_set: str) -> pd.DataFrame:
    """Grid totals on the diagonal each strategy is judged on: single-sided ones at
    (s, 0), dual-sided at (s, s), each panelled by what is sparse."""
    totals = tables.totals[tables.totals[SET] == layer_set]
    parts = []
    for s in tables.sparsities:
        for panel, sa in ((SINGLE_PANEL, 0.0), (DUAL_PANEL, s)):
            at = totals[
                np.isclose(totals["weight_sparsity"], s)
                & np.isclose(totals["activation_sparsity"], sa)
            ]
            if panel == DUAL_PANEL:
                at = at[at["strategy"].isin(CONTENDERS)]
            parts.append(at.assign(panel=panel, sparsity=axis_text(s)))
    return _label(tables, pd.concat(parts, ignore_index=True))


def _main_set(tables: StudyTables) -> str:
    """The widest layer set the run has (the config's last; ResNet-50 by default)."""
    return list(dict.fromkeys(tables.totals[SET]))[-1]


def _winners(tables: StudyTables, layer_set: str) -> pd.DataFrame:
    """Per sparse grid point: the strategy with the least energy, fewest cycles, lowest EDP."""
    totals = tables.totals
    totals = totals[(totals[SET] == layer_set) & totals["strategy"].isin(CONTENDERS)]
    rows = []
    for ws in tables.sparsities:
        for sa in tables.sparsities:
            if ws == 0 and sa == 0:
                continue
            at = totals[
                np.isclose(totals["weight_sparsity"], ws)
                & np.isclose(totals["activation_sparsity"], sa)
            ]
            row = {"weights": sparsity_text(ws), "activations": sparsity_text(sa)}
            for metric, label, ratio, unit in (
                ("energy_uJ", "least energy", "energy_vs_dense", "x dense"),
                ("cycles", "fewest cycles", "speedup_vs_dense", "x faster"),
                ("edp_J_cycles", "lowest EDP", "edp_vs_dense", "x dense"),
            ):
                best = at.loc[at[metric].idxmin()]
                row[label] = f"{tables.title(best['strategy'])} ({best[ratio]:.2f}{unit})"
            rows.append(row)
    return pd.DataFrame(rows)


def energy_at_equal_accesses(tables: StudyTables) -> dict[str, float]:
    """Each design's energy tables priced on the dense TC's own accesses (fig15 layers,
    dense): per level the TC's data energy times the ratio of energy per word, plus its
    MACs times the ratio of energy per MAC. Measured from the specs, so a change of table
    shows here."""
    rows = select(tables.breakdown, FIG15, DENSE, 0.0, 0.0)
    by_level = rows.groupby("level")["data_uJ"].sum()
    by_name = tables.definition.by_name
    reference = by_name[DENSE].design.architecture
    out = {}
    for strategy in (SINGLE_PAIR[0], DUAL_PAIR[1]):
        architecture = by_name[strategy].design.architecture
        priced = by_level.get(COMPUTE, 0.0) * (
            architecture.compute.energy.random / reference.compute.energy.random
        )
        for level in reference.levels:
            ours = architecture.level(level.name)
            per_word = (ours.energy.of("random_read", ours.name) / ours.block_size) / (
                level.energy.of("random_read", level.name) / level.block_size
            )
            priced += by_level.get(level.name, 0.0) * per_word
        out[strategy] = float(priced / by_level.sum())
    return out


def rising_cycles(tables: StudyTables) -> int:
    """Layer points whose cycles rise when one operand gets sparser (the other fixed), for
    the strategies that skip: undisclosed, they would read as noise in the figures."""
    layers = tables.layers[tables.layers["strategy"] != DENSE]
    count = 0
    for _, rows in layers.groupby([SET, "layer", "strategy"]):
        grid = rows.pivot_table(
            index="weight_sparsity", columns="activation_sparsity", values="cycles"
        )
        values = grid.sort_index().sort_index(axis=1).to_numpy()
        count += int((np.diff(values, axis=0) > 1e-9 * values[1:]).sum())
        count += int((np.diff(values, axis=1) > 1e-9 * values[:, 1:]).sum())
    return count


def _modelled(tables: StudyTables) -> tuple[Table, ...]:
    """Generated from the specs each strategy evaluates on the paper's dense-baseline layer
    (else the first fig15 layer) at 50% sparsity (dual-sided: both operands)."""
    layers = layer_sets(tables.definition.layer_sets, True)[FIG15]
    gemm = next((x.gemm for x in layers if x.name == BASELINE_LAYER), layers[0].gemm)
    shape = (gemm.M, gemm.K, gemm.N)
    specs = {}
    for strategy in tables.definition.strategies:
        activations = 0.5 if strategy.sides == "dual" else 1.0
        weights = 1.0 if strategy.structure == "dense" else 0.5
        patterns = strategy.design.weight_patterns
        if isinstance(patterns, tuple) and all(n / m != 0.5 for n, m in patterns):
            weights = max(n / m for n, m in patterns)  # a fixed-pattern core at its own
        point = point_for(strategy, shape, weights, activations)
        specs[strategy.title] = (build_spec(point), strategy.design.dataflow)
    out = [
        Table(name, frame, "Energies in pJ per access of one block (words per access).")
        for name, frame in architectures(specs).items()
    ]
    designs = design_table(specs)
    designs["what the hardware exploits"] = [
        s.design.description for s in tables.definition.strategies
    ]
    out.append(
        Table(
            f"Designs (as built on {gemm.name} at 50% sparsity, fixed-pattern cores at theirs)",
            designs,
            "Single-sided cores treat activations as dense; a fixed-pattern core runs a "
            "sparser tensor with its own denser pattern and a denser tensor dense.",
        )
    )
    return tuple(out)


def _assumptions(tables: StudyTables) -> tuple[str, ...]:
    ratios = energy_at_equal_accesses(tables)
    dense_runs = {
        name: float(select(tables.totals, FIG15, name, 0.0, 0.0)["energy_vs_dense"].iloc[0])
        for name in (SINGLE_PAIR[0], DUAL_PAIR[1])
    }
    return (
        "Cycles are the slowest of the MACs and each level's bandwidth bound (no overlap "
        "penalty, no stalls); energy is the engine's action counts times the fig15 energy "
        "tables of the MICRO'22 artifact, int8.",
        "The dual-sided structured core is idealised: a skipped MAC costs no cycle (no load "
        "imbalance between PEs) and activations are assumed pruned to N:M like the weights.",
        "Unstructured zeros are spread uniformly at random (hypergeometric).",
        "Shapes are padded to whole N:M blocks and array tiles (K=147 to 2:6/2:8 blocks, "
        "N=49 to DSTC's 16-wide tiles); padding MACs are shown apart from skipped ones.",
        "Every point is mapped by sparsim's mapping heuristic for its design and shape (no "
        "search across designs); memory sweeps re-map at every size.",
        "The dense and structured cores use different energy tables: priced on the dense "
        f"TC's own accesses (fig15 layers), the structured core's tables cost "
        f"{ratios[SINGLE_PAIR[0]]:.2f}x the TC's and the unstructured core's (DSTC) "
        f"{ratios[DUAL_PAIR[1]]:.2f}x (measured from the specs); run on dense tensors with "
        f"their own mappings and dataflows they cost {dense_runs[SINGLE_PAIR[0]]:.2f}x and "
        f"{dense_runs[DUAL_PAIR[1]]:.2f}x the dense TC.",
        f"Per-layer cycles rise as one operand gets sparser at {rising_cycles(tables)} "
        "grid points (the mapper picks another tiling, or a level's bound moves); set "
        "totals are sums over layers run one after another.",
        "Memory sweeps: energy per access either fixed (reuse only) or following the "
        "capacity model (sparsim.designs.memory: square root of depth, linear in width); "
        f"a band for exponents {EXPONENT_BAND[0]}-{EXPONENT_BAND[1]} (CACTI 7 slopes) "
        "shows how much the verdict depends on it.",
    )


def _computes(tables: StudyTables, layer_set: str) -> pd.DataFrame:
    """Per contender on the sparse diagonal: effectual MACs of the unpadded layer, the
    MACs performed beyond them (padding, and zeros the design cannot skip) and skipped."""
    layers = tables.layers[tables.layers[SET] == layer_set]
    rows = []
    for s in tables.sparsities[1:]:
        for strategy in CONTENDERS[1:]:
            sa = s if strategy in DUAL_PAIR else 0.0
            at = select(layers, layer_set, strategy, s, sa)
            effectual = float((at["dense_macs"] * at["occurrences"]).sum() * (1 - s) * (1 - sa))
            performed = float((at["computes_actual"] * at["occurrences"]).sum())
            algorithmic = float((at["computes_algorithmic"] * at["occurrences"]).sum())
            dense = float((at["dense_macs"] * at["occurrences"]).sum())
            point = {"design": tables.title(strategy), "sparsity": axis_text(s)}
            rows += [
                {**point, "part": "effectual", "MACs": effectual},
                {**point, "part": "performed, ineffectual", "MACs": performed - effectual},
                {**point, "part": "skipped", "MACs": dense - performed},
                {**point, "part": "padding (above the layer's MACs)", "MACs": algorithmic - dense},
            ]
    frame = pd.DataFrame(rows)
    return frame.assign(MACs=frame["MACs"].clip(lower=0.0))


def _work(tables: StudyTables, layer_set: str) -> pd.DataFrame:
    """The effectual-work decomposition per contender at 50% sparsity."""
    totals = _diagonal(tables, layer_set)
    own_panel = totals["strategy"].isin(DUAL_PAIR) == (totals["panel"] == DUAL_PANEL)
    rows = totals[
        (totals["sparsity"] == axis_text(0.5)) & totals["strategy"].isin(CONTENDERS) & own_panel
    ].copy()
    rows["effectual"] = rows["dense_macs"] * rows["total_density"]
    work = work_decomposition(
        rows,
        {"algorithmic": "dense_macs", "performed": "computes_actual"},
    )
    return pd.DataFrame(
        {
            "design": work["design"],
            "what is sparse": work["panel"],
            "performed MACs/cycle": work["performed_per_cycle"].round(1),
            "performed MACs/nJ": work["performed_per_nJ"].round(1),
            "effectual / performed": work["effectual_per_performed"].round(3),
            "effectual / algorithmic": work["effectual_per_algorithmic"].round(3),
            "dense-equivalent MACs/cycle": work["algorithmic_per_cycle"].round(1),
            "dense-equivalent MACs/nJ": work["algorithmic_per_nJ"].round(1),
        }
    )


def _breakdown(tables: StudyTables) -> pd.DataFrame:
    """fig15 energy per level, data and metadata apart, for the contenders at 50%."""
    parts = []
    for strategy in CONTENDERS:
        sa = 0.5 if strategy in DUAL_PAIR else 0.0
        ws = 0.0 if strategy == DENSE else 0.5
        rows = select(tables.breakdown, FIG15, strategy, ws, sa)
        grouped = rows.groupby("level", sort=False)[["data_uJ", "metadata_uJ"]].sum()
        design = tables.title(strategy)
        parts += [
            {"design": design, "part": f"{level} data", "uJ": row["data_uJ"]}
            for level, row in grouped.iterrows()
        ]
        parts.append(
            {"design": design, "part": "metadata (all levels)", "uJ": grouped["metadata_uJ"].sum()}
        )
    return pd.DataFrame(parts)


def _low_table(low: pd.DataFrame) -> pd.DataFrame:
    """The low-sparsity comparison as a reader wants it: pattern, ratios to dense and
    dual / single."""
    pattern = []
    for structure, s in zip(low["structure"], low["sparsity"], strict=True):
        found = structured_density(1 - s, "A") if structure == "structured" else None
        pattern.append(f"{found.n}:{found.m}" if found else "uniform")
    return pd.DataFrame(
        {
            "structure": low["structure"],
            "sparsity": low["sparsity"].map(sparsity_text),
            "pattern": pattern,
            "single / dense energy": low["single_energy_vs_dense"].round(3),
            "dual / dense energy": low["dual_energy_vs_dense"].round(3),
            "dual / single energy": low["dual_vs_single_energy"].round(3),
            "dual / single cycles": low["dual_vs_single_cycles"].round(3),
        }
    )


def _cycle_parts(tables: StudyTables) -> pd.DataFrame:
    """fig15 cycles each part needs (MACs, each level's bandwidth) at 75%, and with the SMEM
    read bandwidth doubled for the structured core."""
    rows = []
    for strategy in CONTENDERS:
        top = max(tables.sparsities)
        sa = top if strategy in DUAL_PAIR else 0.0
        ws = 0.0 if strategy == DENSE else top
        row = select(tables.totals, FIG15, strategy, ws, sa).iloc[0]
        for part in (COMPUTE, *LEVELS):
            rows.append(
                {"design": tables.title(strategy), "part": part, "cycles": row[f"{part}.cycles"]}
            )
    return pd.DataFrame(rows)


def _layer_drilldown(tables: StudyTables, layer_set: str) -> pd.DataFrame:
    """Layers x strategies at 66.7% (dual-sided: both operands): speed-up over the dense TC
    and the part that bounds the cycles."""
    layers = tables.layers[tables.layers[SET] == layer_set]
    s = min(tables.sparsities, key=lambda x: abs(x - 2 / 3))
    cells = {}
    for strategy in CONTENDERS[1:]:
        sa = s if strategy in DUAL_PAIR else 0.0
        at = select(layers, layer_set, strategy, s, sa).set_index("layer")
        cells[tables.title(strategy)] = [
            f"{speedup:.2f}x {bound}"
            for speedup, bound in zip(at["speedup_vs_dense"], at["bounding_level"], strict=True)
        ]
        index = at.index
    frame = pd.DataFrame(cells, index=index).reset_index()
    return frame.rename(columns={"layer": "layer (M-K-N)"})


def _memory_frame(tables: StudyTables) -> pd.DataFrame:
    """Memory sweeps with absolute sizes, the two energy models side by side."""
    memory = tables.memory
    frame = memory.assign(
        design=memory["strategy"].map(tables.title),
        size=[
            f"{value:,.0f} {unit} (x{scale:g})"
            for value, unit, scale in zip(
                memory["value"], memory["unit"], memory["scale"], strict=True
            )
        ],
    )
    return frame


def exponent_band(tables: StudyTables) -> pd.DataFrame:
    """Energy at x1/4 and x4 the artifact's data capacity under the capacity model with
    its exponent at each end of :data:`EXPONENT_BAND`, derived from the fixed-energy sweep
    (same capacities, same mappings): the swept level's energy scales by ``scale ** x``."""
    memory = tables.memory
    rows = []
    for sweep, level in MEMORY_LEVELS.items():
        fixed = memory[memory["sweep"] == f"{sweep}-fixed-energy"]
        model = memory[memory["sweep"] == sweep].set_index(["strategy", "scale"])
        for _, row in fixed[fixed["scale"] != 1.0].iterrows():
            level_energy = row[f"{level}.data_uJ"] + row[f"{level}.metadata_uJ"]
            band = [
                (row.energy_uJ - level_energy + level_energy * row.scale**x)
                / row.baseline_energy_uJ
                for x in EXPONENT_BAND
            ]
            rows.append(
                {
                    "memory": f"{level} data x{row.scale:g}",
                    "design": tables.title(row.strategy),
                    "fixed energy per access": round(row.energy_vs_baseline, 3),
                    "capacity model (exponent 0.5)": round(
                        model.loc[(row.strategy, row.scale), "energy_vs_baseline"], 3
                    ),
                    f"exponent {EXPONENT_BAND[0]}-{EXPONENT_BAND[1]}": f"{min(band):.3f}-{max(band):.3f}",
                }
            )
    return pd.DataFrame(rows)


def _breakevens(tables: StudyTables) -> pd.DataFrame:
    fine = tables.fine
    layers = [FINE_TOTAL, *(layer for layer in dict.fromkeys(fine["layer"]) if layer != FINE_TOTAL)]
    return pd.DataFrame(
        [
            {
                "layer": layer,
                **{
                    f"{tables.title(s)} (paper ~{paper:.0%})": sparsity_text(
                        breakeven_sparsity(fine, s, layer)
                    )
                    for s, paper in PAPER_BREAKEVEN.items()
                },
            }
            for layer in layers
        ]
    )


def report(
    tables: StudyTables,
    checks: dict[str, Conclusion],
    files: tuple[str, ...],
    date: str,
    command: str,
) -> Report:
    main = _main_set(tables)
    diagonal = _diagonal(tables, main)
    dense = diagonal[diagonal["strategy"] == DENSE].iloc[0]
    hover = ("energy_uJ", "cycles", "edp_J_cycles", "bounding_level")
    winners = _winners(tables, main)
    fine = _label(tables, tables.fine[tables.fine["layer"] == FINE_TOTAL]).assign(
        sparsity=lambda f: f["sweep_sparsity"].map(axis_text)
    )
    low = low_sparsity_rows(tables)
    low_chart = _label(tables, tables.low[tables.low["strategy"] != DENSE]).assign(
        sparsity=lambda f: f["sweep_sparsity"].map(axis_text),
        structure=lambda f: f["strategy"].map(lambda s: tables.definition.by_name[s].structure),
    )
    memory = _memory_frame(tables)
    found = list(checks.values())

    def paragraphs(section: str) -> tuple[str, ...]:
        return tuple(
            f"{c.claim}: the paper says {c.paper}; sparsim: {c.sparsim}. Verdict: "
            f"{c.verdict} - {c.why}"
            for c in found
            if c.section == section
        )

    adjusted = tables.adjusted[
        (tables.adjusted[SET] == main)
        & (tables.adjusted["weight_sparsity"] > 0)
        & (tables.adjusted["activation_sparsity"] > 0)
    ]
    adjusted_chart = pd.concat(
        [
            adjusted.assign(
                design=adjusted["strategy"].map(tables.title),
                ratio=np.where(
                    adjusted["strategy"] == DUAL_PAIR[0],
                    adjusted[f"energy_vs_{SINGLE_PAIR[0]}"],
                    adjusted[f"energy_vs_{SINGLE_PAIR[1]}"],
                ),
                point=[
                    f"{sparsity_text(w)} x {sparsity_text(a)}"
                    for w, a in zip(
                        adjusted["weight_sparsity"], adjusted["activation_sparsity"], strict=True
                    )
                ],
            )
        ]
    )
    sections = (
        Section(
            SECTION_WINS,
            (
                f"{tables.set_title(main)}; dense TC: {dense['energy_uJ']:,.1f} uJ, "
                f"{dense['cycles']:,.0f} cycles. Best of the dense TC, the flexible structured "
                "core, the dual structured core and the two unstructured cores at each sparse "
                "(weights, activations) point. The fixed-pattern cores (2:4, 2:6, 2:8 only) "
                "are the flexible core restricted to one pattern: tied where their pattern "
                "fits, never better.",
                *paragraphs(SECTION_WINS),
            ),
            (Table("Best design per point", winners),),
            (
                Chart(
                    "energy",
                    "Energy relative to the dense TC",
                    diagonal,
                    x="sparsity",
                    y="energy_vs_dense",
                    y_label="energy / dense TC",
                    color="design",
                    facet="panel",
                    hover=hover,
                    reference=1.0,
                ),
                Chart(
                    "edp",
                    "EDP relative to the dense TC",
                    diagonal,
                    x="sparsity",
                    y="edp_vs_dense",
                    y_label="EDP / dense TC",
                    color="design",
                    facet="panel",
                    hover=hover,
                    reference=1.0,
                    log_y=True,
                ),
            ),
        ),
        Section(
            SECTION_ENERGY,
            paragraphs(SECTION_ENERGY),
            (),
            (
                Chart(
                    "breakdown",
                    "Energy per level at 50% sparsity, fig15 layers (metadata of every level in one segment)",
                    _breakdown(tables),
                    x="design",
                    y="uJ",
                    y_label="energy [uJ]",
                    color="part",
                    kind="stacked",
                    caption="Single-sided designs at 50% weight sparsity, dual-sided at 50% of both; "
                    "breakdown.csv has each level's metadata apart.",
                ),
            ),
        ),
        Section(
            SECTION_BREAKEVEN,
            paragraphs(SECTION_BREAKEVEN),
            (Table("Break-even sparsity with the dense TC (energy)", _breakevens(tables)),),
            (
                Chart(
                    "breakeven",
                    "Unstructured energy relative to the dense TC, fig15 layers",
                    fine,
                    x="sparsity",
                    y="energy_vs_dense",
                    y_label="energy / dense TC",
                    color="design",
                    hover=("energy_uJ", "cycles"),
                    reference=1.0,
                    caption="Break-even where a bar crosses the line at 1.0 (table above).",
                ),
            ),
        ),
        Section(
            SECTION_COMPUTES,
            paragraphs(SECTION_COMPUTES),
            (),
            (
                Chart(
                    "computes",
                    f"MACs: effectual, performed but ineffectual, skipped, padding ({tables.set_title(main)})",
                    _computes(tables, main),
                    x="design",
                    y="MACs",
                    y_label="MACs",
                    color="part",
                    facet="sparsity",
                    kind="stacked",
                    caption="Single-sided designs at (s, 0), dual-sided at (s, s). Padding "
                    "MACs are above the layer's own MACs; skipped ones are not performed.",
                ),
            ),
        ),
        Section(
            SECTION_CYCLES,
            paragraphs(SECTION_CYCLES),
            (
                Table(
                    f"Per layer at {sparsity_text(min(tables.sparsities, key=lambda x: abs(x - 2 / 3)))} sparsity: speed-up over the dense TC and the bounding part ({tables.set_title(main)})",
                    _layer_drilldown(tables, main),
                    "MAC: compute bound; a level's name: that level's bandwidth bounds the cycles.",
                ),
            ),
            (
                Chart(
                    "cycles",
                    "Speed-up over the dense TC",
                    diagonal,
                    x="sparsity",
                    y="speedup_vs_dense",
                    y_label="dense TC cycles / cycles",
                    color="design",
                    facet="panel",
                    hover=hover,
                    reference=1.0,
                ),
                Chart(
                    "cycle_parts",
                    f"Cycles each part needs at {sparsity_text(max(tables.sparsities))} sparsity, fig15 layers (the largest sets the total)",
                    _cycle_parts(tables),
                    x="design",
                    y="cycles",
                    y_label="cycles",
                    color="part",
                ),
            ),
        ),
        Section(
            SECTION_SIDES,
            paragraphs(SECTION_SIDES),
            (Table("Low sparsity, fig15 layers", _low_table(low)),),
            (
                Chart(
                    "low_sparsity",
                    "Single- vs dual-sided at low sparsity, fig15 layers",
                    low_chart,
                    x="sparsity",
                    y="energy_vs_dense",
                    y_label="energy / dense TC",
                    color="design",
                    facet="structure",
                    hover=("energy_uJ", "cycles"),
                    reference=1.0,
                ),
                Chart(
                    "adjusted",
                    f"Dual-sided energy / single-sided at the same total sparsity ({tables.set_title(main)})",
                    adjusted_chart,
                    x="point",
                    y="ratio",
                    y_label="dual / single energy",
                    color="design",
                    hover=("total_density", "energy_uJ"),
                    reference=1.0,
                    caption="Each dual-sided point (weights x activations sparsity) against "
                    "the single-sided core whose weights alone have the same total density.",
                ),
            ),
        ),
        Section(
            SECTION_MEMORY,
            paragraphs(SECTION_MEMORY),
            (
                Table(
                    "Sensitivity to the capacity model's exponent (energy / artifact's size)",
                    exponent_band(tables),
                    "The band re-prices the fixed-energy sweep's mappings with the exponent at "
                    "each end; where the exponent-0.5 column falls outside it, the mapper chose "
                    "another mapping under the capacity model's energies.",
                ),
            ),
            (
                Chart(
                    "memory",
                    "Energy vs memory size relative to the artifact's size, fig15 layers at 50%",
                    memory,
                    x="size",
                    y="energy_vs_baseline",
                    y_label="energy / artifact's size",
                    color="design",
                    facet="sweep_title",
                    hover=("energy_uJ", "cycles"),
                    reference=1.0,
                ),
            ),
        ),
        Section(
            "Effectual and ineffectual work",
            (
                "Dense-equivalent throughput = performed rate x effectual / performed x "
                "1 / (effectual / algorithmic): a design wins by doing each MAC faster or "
                "cheaper, or by performing fewer ineffectual ones (at 50% sparsity, "
                f"{tables.set_title(main)}).",
            ),
            (Table("Work decomposition", _work(tables, main)),),
            (),
        ),
    )
    if len(tables.failures):
        sections += (
            Section(
                "Points without a mapping",
                ("No mapping fitted these points; set totals that need them are left empty.",),
                (Table("Failures", tables.failures[list(FAILURE_COLUMNS)]),),
            ),
        )
    mode = "the four fig15 layers" if tables.quick else "the four fig15 layers and all of ResNet-50"
    return Report(
        "Structured vs unstructured, single- vs dual-sided sparsity",
        "sparsim's engine reruns the Sparseloop paper's sparsity-types study on the fig15 "
        "int8 hardware of the MICRO'22 artifact: a dense tensor core, single-sided "
        "structured (N:M weights), dual-sided structured, single-sided unstructured and "
        f"dual-sided unstructured (DSTC) cores, on {mode}, at 0-75% sparsity of weights "
        "and activations, plus low-sparsity, memory-size and bandwidth sweeps. Sparsity = "
        "fraction of zeros; energy in uJ; cycles of the 1024-MAC array.",
        PUBLISHED,
        tuple(found),
        _modelled(tables),
        _assumptions(tables),
        sections,
        Rerun(command, sparsim.__version__, date),
        files,
    )


def write_tables(tables: StudyTables, checks: dict[str, Conclusion], out_dir: Path) -> list[Path]:
    frames = {name: getattr(tables, name) for name in TABLES}
    frames["failures"] = (
        tables.failures if len(tables.failures) else pd.DataFrame(columns=list(FAILURE_COLUMNS))
    )
    frames["checks"] = checks_frame(checks)
    paths = []
    for name, frame in frames.items():
        frame.to_csv(out_dir / f"{name}.csv", index=False)
        frame.to_parquet(out_dir / f"{name}.parquet", index=False)
        paths += [out_dir / f"{name}.csv", out_dir / f"{name}.parquet"]
    return paths


def write_study(
    tables: StudyTables, out_dir: Path, command: str = "sparsim study sparsity-types --out DIR"
) -> tuple[list[Path], dict[str, Conclusion]]:
    """Every output of the study into ``out_dir``: tables, figures, report.md/.html."""
    checks = run_checks(tables)
    paths = write_tables(tables, checks, out_dir)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    files = tuple(p.name for p in paths if p.suffix == ".csv")
    paths += write_report(report(tables, checks, files, date, command), out_dir)
    return paths, checks
