"""The sparsity-types study's outputs: tidy tables (CSV and Parquet) and a report on the
shared template (:mod:`sparsim.report`): conclusions with verdicts on one screen, what was
modelled (generated from the specs), the assumptions, then one section per question with
its interactive figure (static PNG/SVG beside it). Every number comes from the tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import sparsim
from sparsim.report.model import Chart, Citation, Conclusion, Mark, Report, Rerun, Section, Table
from sparsim.report.publish import claim_paragraphs, modelled_tables, publish, work_table
from sparsim.study.checks import (
    FINE_TOTAL,
    PAPER_BREAKEVEN,
    PAPER_CYCLE_CROSSOVER,
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
    pair_points,
    run_checks,
    select,
    sparsity_text,
    total,
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
    return modelled_tables(
        specs,
        f"Designs (as built on {gemm.name} at 50% sparsity, fixed-pattern cores at theirs)",
        "Single-sided cores treat activations as dense; a fixed-pattern core runs a "
        "sparser tensor with its own denser pattern and a denser tensor dense.",
        {
            "what the hardware exploits": [
                s.design.description for s in tables.definition.strategies
            ]
        },
    )


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
        "Shapes are padded to whole N:M blocks and array tiles (K to a multiple of M: 147 "
        "for every pattern, the power-of-two channel counts for 2:6; N=49 to DSTC's "
        "16-wide tiles); MACs performed on padding are shown apart from skipped ones.",
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


COMPUTE_PARTS = (
    "effectual",
    "performed, ineffectual",
    "skipped",
    "performed on padding",
)


def computes_parts(
    dense: float, algorithmic: float, performed: float, effectual: float
) -> dict[str, float]:
    """MACs split for the computes figure, in the layer's own MACs (``dense``): effectual,
    performed but ineffectual and skipped sum to the layer's MACs; MACs performed on the
    padding (a padded shape's ``algorithmic`` MACs beyond ``dense``) come on top, work the
    unpadded layer would not do. The engine spreads the performed MACs evenly over the
    padded shape, so the padding's share of them is its share of the algorithmic MACs."""
    on_padding = performed * (algorithmic - dense) / algorithmic
    on_layer = performed - on_padding
    return {
        "effectual": effectual,
        "performed, ineffectual": max(on_layer - effectual, 0.0),
        "skipped": dense - on_layer,
        "performed on padding": on_padding,
    }


def _computes(tables: StudyTables, layer_set: str) -> pd.DataFrame:
    """Per contender on the sparse diagonal: :func:`computes_parts` of the set's MACs
    (layers weighted by occurrences), as fractions of the layer set's own MACs."""
    layers = tables.layers[tables.layers[SET] == layer_set]
    rows = []
    for s in tables.sparsities[1:]:
        for strategy in CONTENDERS[1:]:
            sa = s if strategy in DUAL_PAIR else 0.0
            at = select(layers, layer_set, strategy, s, sa)
            weight = at["occurrences"]
            dense = float((at["dense_macs"] * weight).sum())
            parts = computes_parts(
                dense,
                float((at["computes_algorithmic"] * weight).sum()),
                float((at["computes_actual"] * weight).sum()),
                dense * (1 - s) * (1 - sa),
            )
            rows += [
                {
                    "design": tables.title(strategy),
                    "sparsity": axis_text(s),
                    "part": part,
                    "share": value / dense,
                    "MACs": value,
                }
                for part, value in parts.items()
            ]
    return pd.DataFrame(rows)


def padding_table(computes: pd.DataFrame) -> pd.DataFrame:
    """Per design and sparsity: MACs performed on padding as a share of the MACs it
    performs on the layers themselves (the extra work padding costs)."""
    shares = computes.pivot_table(
        index=["design", "sparsity"], columns="part", values="MACs", sort=False
    )
    on_layers = shares["effectual"] + shares["performed, ineffectual"]
    extra = (shares["performed on padding"] / on_layers).rename("extra")
    table = extra.reset_index().pivot_table(
        index="design", columns="sparsity", values="extra", sort=False
    )
    return table.map(lambda x: f"+{100 * x:.1f}%").reset_index()


def _work(tables: StudyTables, layer_set: str) -> pd.DataFrame:
    """The effectual-work decomposition per contender at 50% sparsity."""
    totals = _diagonal(tables, layer_set)
    own_panel = totals["strategy"].isin(DUAL_PAIR) == (totals["panel"] == DUAL_PANEL)
    rows = totals[
        (totals["sparsity"] == axis_text(0.5)) & totals["strategy"].isin(CONTENDERS) & own_panel
    ].copy()
    rows["effectual"] = rows["dense_macs"] * rows["total_density"]
    return work_table(
        rows,
        {"design": rows["design"], "what is sparse": rows["panel"]},
        {"algorithmic": "dense_macs", "performed": "computes_actual"},
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
            {
                "design": design,
                "part": "MACs" if level == COMPUTE else f"{level} data",
                "uJ": row["data_uJ"],
            }
            for level, row in grouped.iterrows()
        ]
        parts.append(
            {"design": design, "part": "metadata (all levels)", "uJ": grouped["metadata_uJ"].sum()}
        )
    return pd.DataFrame(parts)


def metadata_table(breakdown: pd.DataFrame) -> pd.DataFrame:
    """Per design: data and metadata energy, and metadata's share (the thin segment of the
    energy-per-level figure, in numbers)."""
    total = breakdown.groupby("design", sort=False)["uJ"].sum()
    metadata = breakdown[breakdown["part"] == "metadata (all levels)"].set_index("design")["uJ"]
    return pd.DataFrame(
        {
            "design": total.index,
            "energy (uJ)": total.round(1).to_numpy(),
            "metadata (uJ)": metadata.reindex(total.index).round(2).to_numpy(),
            "metadata share": (metadata.reindex(total.index) / total)
            .map(lambda x: f"{100 * x:.1f}%")
            .to_numpy(),
        }
    )


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


def layer_drilldown(tables: StudyTables, layer_set: str) -> pd.DataFrame:
    """Layers x strategies at each sparse grid point (single-sided strategies at (s, 0),
    dual-sided at (s, s)): speed-up over the dense TC and the part that bounds the cycles,
    one row per cell of the drill-down heat map."""
    layers = tables.layers[tables.layers[SET] == layer_set]
    parts = []
    for s in tables.sparsities[1:]:
        for strategy in CONTENDERS:
            ws = 0.0 if strategy == DENSE else s
            sa = s if strategy in DUAL_PAIR else 0.0
            at = select(layers, layer_set, strategy, ws, sa)
            parts.append(
                pd.DataFrame(
                    {
                        "sparsity": axis_text(s),
                        "layer": [
                            f"{name} x{count}" if count > 1 else name
                            for name, count in zip(at["layer"], at["occurrences"], strict=True)
                        ],
                        "design": tables.title(strategy),
                        "speed-up": at["speedup_vs_dense"].to_numpy(),
                        "bound by": at["bounding_level"].to_numpy(),
                        "cycles": at["cycles"].to_numpy(),
                    }
                )
            )
    frame = pd.concat(parts, ignore_index=True)
    return frame.assign(
        cell=[f"{v:.2f}x {b}" for v, b in zip(frame["speed-up"], frame["bound by"], strict=True)]
    )


FIXED_ENERGY = "-fixed-energy"  # the suffix of a sweep's fixed-energy counterpart


def _memory_frame(tables: StudyTables) -> pd.DataFrame:
    """Memory sweeps with absolute sizes: the x axis is the scale of each design's own
    size; each panel's title names the sizes at x1 (hover: every bar's size). Each sweep
    under the capacity model stands next to its fixed-energy counterpart."""
    memory = tables.memory.assign(design=tables.memory["strategy"].map(tables.title))
    titles = {}
    for sweep, rows in memory.groupby("sweep_title", sort=False):
        own = rows[rows["scale"] == 1.0]
        sizes: dict[str, list[str]] = {}
        for value, unit, strategy in zip(own["value"], own["unit"], own["strategy"], strict=True):
            structure = tables.definition.by_name[strategy].structure
            kinds = sizes.setdefault(f"{value:,.0f} {unit}", [])
            if structure not in kinds:
                kinds.append(structure)
        if len(sizes) == 1:
            titles[sweep] = f"{sweep} (x1 = {next(iter(sizes))})"
        else:
            named = ", ".join(f"{size} {' and '.join(kinds)}" for size, kinds in sizes.items())
            titles[sweep] = f"{sweep} (x1 = {named})"
    order = {
        sweep: index
        for index, sweep in enumerate(
            dict.fromkeys(name.removesuffix(FIXED_ENERGY) for name in memory["sweep"])
        )
    }
    memory = memory.assign(
        _order=memory["sweep"].map(lambda name: order[name.removesuffix(FIXED_ENERGY)]),
        _fixed=memory["sweep"].str.endswith(FIXED_ENERGY),
    )
    memory = memory.sort_values(["_order", "_fixed"], kind="stable").drop(
        columns=["_order", "_fixed"]
    )
    return memory.assign(
        panel=memory["sweep_title"].map(titles),
        scale_text=memory["scale"].map(lambda x: f"x{x:g}"),
        size=[
            f"{value:,.0f} {unit}"
            for value, unit in zip(memory["value"], memory["unit"], strict=True)
        ],
    )


def exponent_band(tables: StudyTables) -> pd.DataFrame:
    """Energy at x1/4 and x4 the artifact's data capacity under the capacity model with
    its exponent at each end of :data:`EXPONENT_BAND`, derived from the fixed-energy sweep
    (same capacities, same mappings): the swept level's energy scales by ``scale ** x``."""
    memory = tables.memory
    rows = []
    for sweep, level in MEMORY_LEVELS.items():
        fixed = memory[memory["sweep"] == f"{sweep}{FIXED_ENERGY}"]
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


def crossings(x: np.ndarray, y: np.ndarray, level: float = 1.0) -> list[float]:
    """Where the piecewise-linear curve through (x, y) (x ascending) crosses ``level``:
    each point on it, and each interpolated crossing between two points on either side."""
    found = []
    for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
        if yi == level:
            found.append(float(xi))
        elif i + 1 < len(x) and (yi - level) * (y[i + 1] - level) < 0:
            found.append(float(xi + (x[i + 1] - xi) * (yi - level) / (yi - y[i + 1])))
    return found


def structured_vs_unstructured(tables: StudyTables) -> pd.DataFrame:
    """Unstructured / structured energy and cycles at each sparsity of the grid's diagonal
    (single-sided pair at (s, 0), dual-sided at (s, s)), per layer set."""
    rows = []
    for metric, label in (("cycles", "cycles"), ("energy_uJ", "energy")):
        for layer_set in dict.fromkeys(tables.totals[SET]):
            for pair, sides in ((SINGLE_PAIR, "single-sided"), (DUAL_PAIR, "dual-sided")):
                for s in tables.sparsities:
                    ws, sa = pair_points(pair, s)
                    structured = total(tables, layer_set, pair[0], ws, sa)[metric]
                    unstructured = total(tables, layer_set, pair[1], ws, sa)[metric]
                    rows.append(
                        {
                            "panel": f"{label}, {tables.set_title(layer_set)}",
                            "sides": sides,
                            "sparsity": s,
                            "ratio": unstructured / structured,
                        }
                    )
    return pd.DataFrame(rows)


def crossing_marks(frame: pd.DataFrame) -> tuple[Mark, ...]:
    """A mark at each sparsity where unstructured and structured swap places, and the
    paper's ~66% on the cycle panels."""
    marks = []
    for (panel, sides), rows in frame.groupby(["panel", "sides"], sort=False):
        rows = rows.sort_values("sparsity")
        for x in crossings(rows["sparsity"].to_numpy(), rows["ratio"].to_numpy()):
            marks.append(Mark(x, f"{sides.split('-')[0]} {sparsity_text(x)}", sides, panel))
    for panel in dict.fromkeys(frame["panel"]):
        if panel.startswith("cycles"):
            marks.append(
                Mark(
                    PAPER_CYCLE_CROSSOVER,
                    f"paper ~{sparsity_text(PAPER_CYCLE_CROSSOVER)}",
                    None,
                    panel,
                )
            )
    return tuple(marks)


def breakeven_marks(tables: StudyTables) -> tuple[Mark, ...]:
    """sparsim's break-even of each unstructured strategy with the dense TC (fig15 total)
    and the paper's."""
    marks = []
    for strategy, paper in PAPER_BREAKEVEN.items():
        found = breakeven_sparsity(tables.fine, strategy, FINE_TOTAL)
        side = tables.definition.by_name[strategy].sides
        if not np.isnan(found):
            marks.append(Mark(found, f"{side} {sparsity_text(found)}", tables.title(strategy)))
        marks.append(Mark(paper, f"paper ~{paper:.0%} ({side})"))
    return tuple(marks)


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
    fine = _label(tables, tables.fine[tables.fine["layer"] == FINE_TOTAL])
    fine = fine[fine["strategy"] != DENSE]
    crossing = structured_vs_unstructured(tables)
    drilldown = layer_drilldown(tables, main)
    computes = _computes(tables, main)
    breakdown = _breakdown(tables)
    low = low_sparsity_rows(tables)
    low_chart = _label(tables, tables.low[tables.low["strategy"] != DENSE]).assign(
        sparsity=lambda f: f["sweep_sparsity"].map(axis_text),
        structure=lambda f: f["strategy"].map(lambda s: tables.definition.by_name[s].structure),
    )
    memory = _memory_frame(tables)
    found = list(checks.values())

    def paragraphs(section: str) -> tuple[str, ...]:
        return claim_paragraphs(found, section)

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
            (
                Table(
                    "Metadata energy at 50% sparsity, fig15 layers",
                    metadata_table(breakdown),
                    "Every level's metadata reads and writes (formats, offsets, bitmasks).",
                ),
            ),
            (
                Chart(
                    "breakdown",
                    "Energy per level at 50% sparsity, fig15 layers (metadata of every level in one segment)",
                    breakdown,
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
                    x="sweep_sparsity",
                    y="energy_vs_dense",
                    y_label="energy / dense TC",
                    color="design",
                    kind="line",
                    x_label="sparsity (weights; dual-sided: weights and activations)",
                    x_percent=True,
                    hover=("energy_uJ", "cycles"),
                    reference=1.0,
                    marks=breakeven_marks(tables),
                    caption="Dotted lines: where each curve crosses the dense TC (sparsim, "
                    "in the curve's colour) and the paper's break-even points (grey).",
                ),
            ),
        ),
        Section(
            SECTION_COMPUTES,
            paragraphs(SECTION_COMPUTES),
            (
                Table(
                    f"MACs performed on padding, beyond those performed on the layers "
                    f"({tables.set_title(main)})",
                    padding_table(computes),
                    "Padding K to a multiple of the N:M block (147 for every pattern, the "
                    "power-of-two channel counts for 2:6) or N to array tiles (49 to DSTC's "
                    "16-wide tiles) costs these extra MACs, their cycles and energy; skipped "
                    "MACs cost nothing.",
                ),
            ),
            (
                Chart(
                    "computes",
                    f"The layers' MACs (effectual, performed but ineffectual, skipped) and "
                    f"the MACs performed on padding ({tables.set_title(main)})",
                    computes,
                    x="design",
                    y="share",
                    y_label="share of the layers' MACs",
                    color="part",
                    facet="sparsity",
                    kind="stacked",
                    hover=("MACs",),
                    reference=1.0,
                    caption="Single-sided designs at (s, 0), dual-sided at (s, s). Below the "
                    "line: the layers' own MACs, effectual, performed but ineffectual, or "
                    "skipped (no cycle, no MAC energy). Above it: MACs a design performs on "
                    "the padding of a shape to whole N:M blocks or array tiles, work the "
                    "unpadded layer would not do.",
                ),
            ),
        ),
        Section(
            SECTION_CYCLES,
            paragraphs(SECTION_CYCLES),
            (),
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
                    "crossing",
                    "Unstructured / structured, cycles and energy: where they swap places",
                    crossing,
                    x="sparsity",
                    y="ratio",
                    y_label="unstructured / structured",
                    color="sides",
                    facet="panel",
                    kind="line",
                    x_label="sparsity (single-sided: weights; dual-sided: both operands)",
                    x_percent=True,
                    reference=1.0,
                    marks=crossing_marks(crossing),
                    caption="Below 1: the unstructured core takes fewer cycles (less energy) "
                    "than the structured one. Dotted lines: crossings interpolated between "
                    "grid points (sparsim, coloured) and the paper's ~66% (grey). Single-sided: "
                    "the flexible structured core vs the single-sided unstructured core; "
                    "dual-sided: the dual structured core vs DSTC.",
                ),
                Chart(
                    "drilldown",
                    f"Per layer: speed-up over the dense TC and the part that bounds the "
                    f"cycles ({tables.set_title(main)})",
                    drilldown,
                    x="design",
                    y="layer",
                    y_label="speed-up",
                    facet="sparsity",
                    kind="heatmap",
                    value="speed-up",
                    text="cell",
                    hover=("cycles",),
                    reference=1.0,
                    caption="Each cell: dense TC cycles / the design's cycles on that layer "
                    "(blue: faster, red: slower; log colour scale centred on 1) and what "
                    "bounds its cycles: MAC (compute bound) or the level whose bandwidth "
                    "does. Single-sided designs at (s, 0), dual-sided at (s, s); the dense "
                    "TC column is the baseline (1.00x) with its own bound; xN: the shape "
                    "occurs N times in the model.",
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
                    x="scale_text",
                    y="energy_vs_baseline",
                    y_label="energy / at the artifact's size",
                    color="design",
                    facet="panel",
                    hover=("size", "energy_uJ", "cycles"),
                    reference=1.0,
                    caption="Each design's own size scaled x1/4 to x4 (x1: the artifact's, "
                    "named in each panel's title; hover for each bar's size), re-mapped at "
                    "each size. 'energy per access fixed': only the reuse changes; the others "
                    "follow the capacity model's energy per access.",
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


def write_study(
    tables: StudyTables,
    out_dir: Path,
    command: str = "sparsim study sparsity-types --out DIR",
    jobs: int = 1,
) -> tuple[list[Path], dict[str, Conclusion]]:
    """Every output of the study into ``out_dir``: tables, figures, report.md/.html."""
    checks = run_checks(tables)
    frames = {name: getattr(tables, name) for name in TABLES}
    frames["failures"] = (
        tables.failures if len(tables.failures) else pd.DataFrame(columns=list(FAILURE_COLUMNS))
    )
    frames["checks"] = checks_frame(checks)
    paths, _ = publish(
        frames, lambda files, date: report(tables, checks, files, date, command), out_dir, jobs
    )
    return paths, checks
