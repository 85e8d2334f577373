"""The sparsity-types study's outputs: tidy tables (CSV and Parquet), the config the run
used, and a report on the shared template (:mod:`sparsim.report`): the bottom line and the
claims with their computed verdicts on the first screen, what was modelled (generated from
the specs), the assumptions, then one section per question with its interactive figure
(static PNG/SVG beside it). Every number and sentence comes from the run's tables and
config, so a changed config reports itself truthfully."""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from sparsim.designs.catalog import WEIGHTS
from sparsim.report.model import Chart, Citation, Conclusion, Mark, Report, Section, Table
from sparsim.report.publish import (
    claims_frame,
    modelled_tables,
    publish,
    rerun,
    section_claims,
    work_table,
)
from sparsim.report.tables import by_process, process_text
from sparsim.study.checks import (
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
    listing,
    low_sparsity_rows,
    pair_points,
    reference_sparsity,
    run_checks,
    select,
    sentence,
    sparse_points,
    sparsity_text,
    total,
)
from sparsim.study.config import DEFAULT
from sparsim.study.layers import BASELINE_LAYER, layer_sets
from sparsim.study.runner import build_spec, point_for
from sparsim.study.sources import MICRO22_ARTIFACT
from sparsim.study.sparsity_types import DENSE, SET, TOTAL, StudyTables
from sparsim.study.strategies import DUAL_PAIR, SINGLE_PAIR, structured_density

TABLES = ("layers", "totals", "breakdown", "adjusted", "fine", "low", "memory", "bandwidth")
FAILURE_COLUMNS = (SET, "layer", "strategy", "weight_sparsity", "activation_sparsity", "error")
CONFIG_FILE = "config.yaml"  # the config the run used, written beside its report
STUDY = Citation(
    "Yicheng Huang, Nathan Mustafa",
    "Modeling Structured vs Unstructured and Dual vs Single Sided Sparsity in DNNs",
    "case study run on Sparseloop (MIT), its report (cited by section) and poster",
    role="claims",
)
ARTIFACT = replace(
    MICRO22_ARTIFACT,
    role="the study's hardware, energy tables and four ResNet-50 layers",
)
SINGLE_PANEL = "weights sparse, activations dense"
DUAL_PANEL = "weights and activations equally sparse"
# CACTI 7 depth slopes of the MICRO'22 artifact's buffers (the capacity model's anchors):
# the band of the capacity model's exponent.
EXPONENT_BAND = (0.41, 0.73)
ROLE_WORDS = {
    "backing-store": "backing store",
    "shared-buffer": "shared buffer",
    "accumulator": "accumulator",
    "pe-register": "PE register",
}
PARAMETER_WORDS = {
    "data_capacity": "data capacity",
    "metadata_capacity_bits": "metadata capacity",
    "metadata_word_bits": "metadata word width",
    "read_bandwidth": "read bandwidth",
}
LABELS = (
    ("design", "design"),
    ("sparsity", "sparsity"),
    ("panel", "what is sparse"),
    ("MACs", "MACs"),
    ("share", "share of the layers' MACs"),
    ("part", "part"),
    ("uJ", "energy (uJ)"),
    ("ratio", "ratio"),
    ("point", "weights x activations sparsity"),
    ("scale_text", "size vs the design's own"),
    ("size", "size"),
    ("energy_vs_baseline", "energy / at the design's own size"),
    ("sweep_sparsity", "sparsity"),
    ("speed-up", "speed-up over dense"),
    ("layer", "layer"),
    ("cell", "speed-up, bound by"),
)


def axis_text(value: float) -> str:
    """A sparsity as a chart category ("50% zeros"): never read as a number by the chart."""
    return f"{sparsity_text(value)} zeros"


def contenders(tables: StudyTables) -> list[str]:
    """The grid strategies compared for best (variants restricted to fewer patterns than
    another are shown, never compared)."""
    return [name for name in tables.definition.grid if tables.strategy(name).contender]


def _sides_of(tables: StudyTables, strategy: str, s: float) -> tuple[float, float]:
    """Where a strategy is judged at sparsity ``s``: dense at (0, 0), single-sided at
    (s, 0), dual-sided at (s, s)."""
    sides = tables.strategy(strategy).sides
    return (0.0 if sides == "none" else s, s if sides == "dual" else 0.0)


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
                at = at[at["strategy"].isin(contenders(tables))]
            parts.append(at.assign(panel=panel, sparsity=axis_text(s)))
    return _label(tables, pd.concat(parts, ignore_index=True))


def _main_set(tables: StudyTables) -> str:
    """The widest layer set the run has (the config's last; ResNet-50 by default)."""
    return tables.sets[-1]


METRICS = (
    ("energy_uJ", "least energy", "energy_vs_dense", "x the dense energy"),
    ("cycles", "fewest cycles", "speedup_vs_dense", "x faster than dense"),
    ("edp_J_cycles", "lowest EDP", "edp_vs_dense", "x the dense EDP"),
)


EDAP = ("edap_J_cycles_mm2", "lowest EDP x area", "edap_vs_dense", "x the dense EDP x area")
SECTION_AREA = "8. Area and EDP x area"


def _best(tables: StudyTables, layer_set: str, metrics: tuple = METRICS) -> pd.DataFrame:
    """Per sparse grid point and metric: the contender with the lowest value."""
    totals = tables.totals
    totals = totals[(totals[SET] == layer_set) & totals["strategy"].isin(contenders(tables))]
    rows = []
    for ws in tables.sparsities:
        for sa in tables.sparsities:
            if ws == 0 and sa == 0:
                continue
            at = totals[
                np.isclose(totals["weight_sparsity"], ws)
                & np.isclose(totals["activation_sparsity"], sa)
            ]
            for metric, label, ratio, unit in metrics:
                best = at.loc[at[metric].idxmin()]
                rows.append(
                    {
                        "weights": ws,
                        "activations": sa,
                        "metric": label,
                        "strategy": best["strategy"],
                        "text": f"{tables.title(best['strategy'])} ({best[ratio]:.2f}{unit})",
                    }
                )
    return pd.DataFrame(rows)


def _winners(tables: StudyTables, layer_set: str, metrics: tuple = METRICS) -> pd.DataFrame:
    """The best contender per sparse (weights, activations) point, one column per metric."""
    best = _best(tables, layer_set, metrics)
    table = best.pivot_table(
        index=["weights", "activations"], columns="metric", values="text", aggfunc="first"
    )
    table = table[[label for _, label, _, _ in metrics]].reset_index()
    return table.assign(
        weights=table["weights"].map(sparsity_text),
        activations=table["activations"].map(sparsity_text),
    ).rename(columns={"weights": "weights sparse", "activations": "activations sparse"})


def area_table(tables: StudyTables) -> pd.DataFrame:
    """Each strategy's design: its tables' process and its area, against the dense one."""
    dense = tables.strategy(DENSE).design.architecture.area_um2
    rows = []
    for strategy in tables.definition.strategies:
        architecture = strategy.design.architecture
        area = architecture.area_um2
        rows.append(
            {
                "strategy": strategy.title,
                "design": strategy.design.name,
                "tables' process": architecture.technology or "not stated",
                "area (mm^2)": round(area * 1e-6, 4) if area is not None else None,
                "vs dense": round(area / dense, 3) if area is not None and dense else None,
            }
        )
    return pd.DataFrame(rows)


def _without_area(tables: StudyTables) -> list[str]:
    """The contenders whose design gives no area (some level has none)."""
    return [
        name
        for name in contenders(tables)
        if tables.strategy(name).design.architecture.area_um2 is None
    ]


def area_findings(tables: StudyTables) -> str:
    """What area changes, from the run: the lowest EDP x area per sparse point of the
    widest layer set against the lowest EDP, and the two areas behind the contenders."""
    main = _main_set(tables)
    unknown = _without_area(tables)
    if unknown:
        return (
            f"No area for {listing(tables.title(name) for name in unknown)}: a level of "
            "their design's hardware gives none, so EDP x area is not compared."
        )
    both = _best(tables, main, (METRICS[2], EDAP))
    edp = both[both["metric"] == METRICS[2][1]].set_index(["weights", "activations"])
    edap = both[both["metric"] == EDAP[1]].set_index(["weights", "activations"])
    changed = (edp["strategy"] != edap["strategy"].reindex(edp.index)).sum()
    counts = edap["strategy"].value_counts()
    winners = listing(f"{tables.title(name)} at {n}" for name, n in counts.items())
    areas = {
        name: tables.strategy(name).design.architecture.area_um2 for name in contenders(tables)
    }
    processes = by_process(
        (tables.title(name), tables.strategy(name).design.architecture.technology)
        for name in contenders(tables)
    )
    largest = max(areas, key=areas.get)
    smallest = min(areas, key=areas.get)
    return (
        f"On {tables.set_title(main)}, over its {len(edp)} sparse (weights, activations) "
        f"points, the lowest EDP x area goes to {winners}; counting area changes the winner "
        f"at {changed} of {len(edp)} points against the lowest EDP. The contenders' areas "
        f"(their designs' area tables) range from {areas[smallest] * 1e-6:.3f} mm^2 "
        f"({tables.title(smallest)}) to {areas[largest] * 1e-6:.3f} mm^2 "
        f"({tables.title(largest)}), {areas[largest] / areas[smallest]:.2f}x; the tables hold "
        "storage and MACs only (no distribution or reduction networks)"
        + (
            f", and come from different processes ({process_text(processes, listing)})."
            if len(processes) > 1
            else "."
        )
    )


def bottom_line(tables: StudyTables, checks: dict[str, Conclusion]) -> str:
    """One sentence per metric: which contenders win how many sparse points of the widest
    layer set, then the claims' verdicts in one clause."""
    main = _main_set(tables)
    best = _best(tables, main)
    points = best[["weights", "activations"]].drop_duplicates().shape[0]
    parts = []
    for _, label, _, _ in METRICS[:2]:
        counts = best[best["metric"] == label]["strategy"].value_counts()
        parts.append(
            f"{label}: "
            + listing(f"{tables.title(name)} at {n} of {points}" for name, n in counts.items())
        )
    disagree = sum(c.verdict == "disagree" for c in checks.values())
    agree = sum(c.verdict == "agree" for c in checks.values())
    return (
        f"On {tables.set_title(main)}, over the {points} sparse (weights, activations) "
        f"points: " + "; ".join(parts) + f". Of the study's {len(checks)} claims, sparsim "
        f"agrees with {agree} and disagrees with {disagree}."
    )


def _role_of(design, level: str) -> str | None:
    return next((role for role, name in design.roles if name == level), None)


def energy_at_equal_accesses(tables: StudyTables) -> dict[str, float]:
    """Each design's energy tables priced on the dense core's own accesses (first layer
    set, dense): per level the dense core's data energy times the ratio of energy per
    word at the level playing the same role, plus its MACs times the ratio of energy per
    MAC. Measured from the specs, so a change of table shows here."""
    rows = select(tables.breakdown, tables.primary, DENSE, 0.0, 0.0)
    by_level = rows.groupby("level")["data_uJ"].sum()
    reference = tables.strategy(DENSE).design
    out = {}
    for strategy in (SINGLE_PAIR[0], DUAL_PAIR[1]):
        design = tables.strategy(strategy).design
        architecture = design.architecture
        compute = reference.architecture.compute
        priced = by_level.get(compute.name, 0.0) * (
            architecture.compute.energy.random / compute.energy.random
        )
        for level in reference.architecture.levels:
            role = _role_of(reference, level.name)
            if role is None or role not in dict(design.roles):
                continue
            ours = architecture.level(design.level_name(role))
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
    for along, fixed in (
        ("weight_sparsity", "activation_sparsity"),
        ("activation_sparsity", "weight_sparsity"),
    ):
        keys = [SET, "layer", "strategy", fixed]
        ordered = layers.sort_values([*keys, along])
        before = ordered.groupby(keys, sort=False)["cycles"].shift()
        count += int((ordered["cycles"] - before > 1e-9 * ordered["cycles"]).sum())
    return count


def _modelled(tables: StudyTables) -> tuple[Table, ...]:
    """Generated from the specs each strategy evaluates on the MICRO'22 artifact's
    baseline layer (else the first layer of the first set) at the reference sparsity
    (dual-sided: both operands); a fixed-pattern core at its own densest pattern."""
    layers = layer_sets(tables.definition.layer_sets, True)[tables.primary]
    gemm = next((x.gemm for x in layers if x.name == BASELINE_LAYER), layers[0].gemm)
    shape = (gemm.M, gemm.K, gemm.N)
    s = reference_sparsity(tables)
    specs = {}
    fixed = []
    for strategy in tables.definition.strategies:
        activations = 1 - s if strategy.sides == "dual" else 1.0
        weights = 1.0 if strategy.structure == "dense" else 1 - s
        patterns = strategy.design.weight_patterns
        if isinstance(patterns, tuple) and all(abs(n / m - weights) > 1e-9 for n, m in patterns):
            weights = max(n / m for n, m in patterns)  # a fixed-pattern core at its own
            fixed.append(strategy.title)
        point = point_for(strategy, shape, weights, activations)
        specs[strategy.title] = (build_spec(point), strategy.design.dataflow)
    title = f"Designs (as built on {gemm.name} at {sparsity_text(s)} sparsity"
    title += f"; {listing(fixed)} at their own pattern)" if fixed else ")"
    return modelled_tables(
        specs,
        title,
        "Single-sided cores treat activations as dense; a fixed-pattern core runs a "
        "sparser tensor with its own denser pattern and a denser tensor dense.",
        {"what the hardware exploits": [s.exploits() for s in tables.definition.strategies]},
    )


def _padding_words(tables: StudyTables) -> str:
    """Which designs pad which layer shapes, from the layers table."""
    layers = tables.layers[tables.layers["padded"]]
    if layers.empty:
        return "No design pads any layer shape of this run."
    counts = layers.groupby("strategy_title", sort=False)["layer"].nunique()
    return (
        "Shapes are padded to whole N:M blocks and array tiles where a design needs it ("
        + "; ".join(f"{design}: {n} layer shape(s)" for design, n in counts.items())
        + "); MACs performed on padding are shown apart from skipped ones."
    )


def _assumptions(tables: StudyTables) -> tuple[str, ...]:
    ratios = energy_at_equal_accesses(tables)
    dense_runs = {
        name: float(
            select(tables.totals, tables.primary, name, 0.0, 0.0)["energy_vs_dense"].iloc[0]
        )
        for name in (SINGLE_PAIR[0], DUAL_PAIR[1])
    }
    dense = tables.title(DENSE)
    structured, unstructured = tables.title(SINGLE_PAIR[0]), tables.title(DUAL_PAIR[1])
    return (
        "Cycles are the slowest of the MACs and each level's bandwidth bound (no overlap "
        "penalty, no stalls); energy is the engine's action counts times each design's "
        "energy tables, int8.",
        f"{sentence(tables.title(DUAL_PAIR[0]))} is idealised: a skipped MAC costs no cycle (no load "
        "imbalance between PEs) and activations are assumed pruned to N:M like the weights.",
        "Unstructured zeros are spread uniformly at random (hypergeometric).",
        _padding_words(tables),
        "Every point is mapped by sparsim's mapping heuristic for its design and shape (no "
        "search across designs); memory sweeps re-map at every size.",
        f"The designs use different energy tables: priced on the {dense}'s own accesses "
        f"({tables.set_title(tables.primary)}), {structured}'s tables cost "
        f"{ratios[SINGLE_PAIR[0]]:.2f}x the {dense}'s and {unstructured}'s "
        f"{ratios[DUAL_PAIR[1]]:.2f}x (from the specs); run on dense tensors with their own "
        f"mappings and dataflows they cost {dense_runs[SINGLE_PAIR[0]]:.2f}x and "
        f"{dense_runs[DUAL_PAIR[1]]:.2f}x the {dense}.",
        f"Per-layer cycles rise as one operand gets sparser at {rising_cycles(tables)} "
        "grid points (the mapper picks another tiling, or a level's bound moves); set "
        "totals are sums over layers run one after another.",
        "Memory sweeps: energy per access either fixed (reuse only) or following the "
        "capacity model (square root of depth, linear in width); a band for exponents "
        f"{EXPONENT_BAND[0]}-{EXPONENT_BAND[1]} (CACTI 7 slopes) shows how much a verdict "
        "depends on it.",
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
    """Per skipping contender on the sparse diagonal: :func:`computes_parts` of the set's
    MACs (layers weighted by occurrences), as fractions of the layer set's own MACs."""
    layers = tables.layers[tables.layers[SET] == layer_set]
    rows = []
    for s in sparse_points(tables):
        for strategy in contenders(tables):
            if tables.strategy(strategy).sides == "none":
                continue
            ws, sa = _sides_of(tables, strategy, s)
            at = select(layers, layer_set, strategy, ws, sa)
            weight = at["occurrences"]
            dense = float((at["dense_macs"] * weight).sum())
            parts = computes_parts(
                dense,
                float((at["computes_algorithmic"] * weight).sum()),
                float((at["computes_actual"] * weight).sum()),
                dense * (1 - ws) * (1 - sa),
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
    """The effectual-work decomposition per contender at the reference sparsity."""
    s = reference_sparsity(tables)
    rows = pd.concat(
        [
            select(tables.totals, layer_set, name, *_sides_of(tables, name, s))
            for name in contenders(tables)
        ]
    )
    rows = rows.assign(effectual=rows["dense_macs"] * rows["total_density"])
    what = [
        DUAL_PANEL if sa > 0 else (SINGLE_PANEL if ws > 0 else "dense")
        for ws, sa in zip(rows["weight_sparsity"], rows["activation_sparsity"], strict=True)
    ]
    return work_table(
        rows,
        {"design": rows["strategy"].map(tables.title), "what is sparse": what},
        {"algorithmic": "dense_macs", "performed": "computes_actual"},
    )


def _breakdown(tables: StudyTables) -> pd.DataFrame:
    """First-set energy per level, data and metadata apart, contenders at the reference
    sparsity (the dense core dense)."""
    s = reference_sparsity(tables)
    parts = []
    for strategy in contenders(tables):
        rows = select(tables.breakdown, tables.primary, strategy, *_sides_of(tables, strategy, s))
        grouped = rows.groupby("level", sort=False)[["data_uJ", "metadata_uJ"]].sum()
        compute = tables.strategy(strategy).design.architecture.compute.name
        design = tables.title(strategy)
        parts += [
            {
                "design": design,
                "part": f"{level} (compute)" if level == compute else f"{level} data",
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
    total_uJ = breakdown.groupby("design", sort=False)["uJ"].sum()
    metadata = breakdown[breakdown["part"] == "metadata (all levels)"].set_index("design")["uJ"]
    return pd.DataFrame(
        {
            "design": total_uJ.index,
            "energy (uJ)": total_uJ.round(1).to_numpy(),
            "metadata (uJ)": metadata.reindex(total_uJ.index).round(2).to_numpy(),
            "metadata share": (metadata.reindex(total_uJ.index) / total_uJ)
            .map(lambda x: f"{100 * x:.1f}%")
            .to_numpy(),
        }
    )


def _low_table(low: pd.DataFrame) -> pd.DataFrame:
    """The low-sparsity comparison as a reader wants it: pattern, ratios to dense and
    dual / single."""
    pattern = []
    for structure, s in zip(low["structure"], low["sparsity"], strict=True):
        found = structured_density(1 - s, WEIGHTS) if structure == "structured" else None
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
    """First-set cycles each part needs (the MACs, each level's bandwidth) at the grid's
    highest sparsity, per contender."""
    top = max(tables.sparsities)
    rows = []
    for strategy in contenders(tables):
        row = select(tables.totals, tables.primary, strategy, *_sides_of(tables, strategy, top))
        row = row.iloc[0]
        design = tables.strategy(strategy).design
        parts = (design.architecture.compute.name, *design.architecture.level_names)
        for part in parts:
            rows.append(
                {"design": tables.title(strategy), "part": part, "cycles": row[f"{part}.cycles"]}
            )
    return pd.DataFrame(rows)


def layer_drilldown(tables: StudyTables, layer_set: str) -> pd.DataFrame:
    """Layers x strategies at each sparse grid point (single-sided strategies at (s, 0),
    dual-sided at (s, s)): speed-up over the dense core and the part that bounds the
    cycles, one row per cell of the drill-down heat map."""
    layers = tables.layers[tables.layers[SET] == layer_set]
    parts = []
    for s in sparse_points(tables):
        for strategy in contenders(tables):
            at = select(layers, layer_set, strategy, *_sides_of(tables, strategy, s))
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


def sweep_title(rows: pd.DataFrame) -> str:
    """What a memory sweep changes, in words: its level (the role and the names the
    designs give it), its parameters and its energy model (the config's title if given)."""
    first = rows.iloc[0]
    if first["sweep_title"]:
        return str(first["sweep_title"])
    levels = listing(dict.fromkeys(rows["level"]))
    role = ROLE_WORDS.get(first["role"], "")
    where = f"{role} ({levels})" if role else levels
    parameters = " and ".join(PARAMETER_WORDS[p] for p in str(first["parameter"]).split("+"))
    fixed = "" if first["rescale_energy"] else ", energy per access fixed"
    return f"{where} {parameters}{fixed}"


def _sweep_key(rows: pd.DataFrame) -> tuple:
    first = rows.iloc[0]
    return (first["role"] or first["level"], first["parameter"])


def _memory_frame(tables: StudyTables) -> pd.DataFrame:
    """Memory sweeps with absolute sizes: the x axis is the scale of each design's own
    size; each panel's title names the sizes at x1 (hover: every bar's size). A sweep
    under the capacity model stands next to its fixed-energy counterpart."""
    memory = tables.memory.assign(design=tables.memory["strategy"].map(tables.title))
    titles, order = {}, {}
    for sweep, rows in memory.groupby("sweep", sort=False):
        own = rows[rows["scale"] == 1.0]
        sizes: dict[str, list[str]] = {}
        for value, unit, strategy in zip(own["value"], own["unit"], own["strategy"], strict=True):
            structure = tables.strategy(strategy).structure
            kinds = sizes.setdefault(f"{value:,.0f} {unit}", [])
            if structure not in kinds:
                kinds.append(structure)
        named = (
            next(iter(sizes))
            if len(sizes) == 1
            else ", ".join(f"{size} {' and '.join(kinds)}" for size, kinds in sizes.items())
        )
        titles[sweep] = f"{sweep_title(rows)} (x1 = {named})"
        order[sweep] = (_sweep_key(rows), not bool(rows.iloc[0]["rescale_energy"]))
    keys = list(dict.fromkeys(key for key, _ in order.values()))
    memory = memory.assign(
        _order=memory["sweep"].map(lambda name: keys.index(order[name][0])),
        _fixed=memory["sweep"].map(lambda name: order[name][1]),
    )
    memory = memory.sort_values(["_order", "_fixed"], kind="stable").drop(
        columns=["_order", "_fixed"]
    )
    return memory.assign(
        panel=memory["sweep"].map(titles),
        scale_text=memory["scale"].map(lambda x: f"x{x:g}"),
        size=[
            f"{value:,.0f} {unit}"
            for value, unit in zip(memory["value"], memory["unit"], strict=True)
        ],
    )


def exponent_band(tables: StudyTables) -> pd.DataFrame:
    """Energy at each non-unit size of every data-capacity sweep under the capacity model
    with its exponent at each end of :data:`EXPONENT_BAND`, derived from the fixed-energy
    sweep of the same level (same capacities, same mappings): the swept level's energy
    scales by ``scale ** x``."""
    memory = tables.memory
    data = memory[memory["parameter"] == "data_capacity"] if len(memory) else memory
    rows = []
    for _, fixed in data[~data["rescale_energy"].astype(bool)].groupby("sweep", sort=False):
        key = _sweep_key(fixed)
        twins = [
            sweep
            for sweep, part in data[data["rescale_energy"].astype(bool)].groupby("sweep")
            if _sweep_key(part) == key
        ]
        if not twins:
            continue
        model = data[data["sweep"] == twins[0]].set_index(["strategy", "scale"])
        for _, row in fixed[fixed["scale"] != 1.0].iterrows():
            level = row["level"]
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
    layers = [TOTAL, *(layer for layer in dict.fromkeys(fine["layer"]) if layer != TOTAL)]
    names = [s for s in PAPER_BREAKEVEN if s in set(fine["strategy"])]
    return pd.DataFrame(
        [
            {
                "layer": f"all of {tables.set_title(tables.primary)}" if layer == TOTAL else layer,
                **{
                    f"{tables.title(s)} (the study: ~{PAPER_BREAKEVEN[s]:.0%})": (
                        sparsity_text(found)
                        if not np.isnan(found := breakeven_sparsity(fine, s, layer))
                        else "never"
                    )
                    for s in names
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
        for layer_set in tables.sets:
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
    study's ~66% on the cycle panels."""
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
                    f"the study ~{sparsity_text(PAPER_CYCLE_CROSSOVER)}",
                    None,
                    panel,
                )
            )
    return tuple(marks)


def breakeven_marks(tables: StudyTables) -> tuple[Mark, ...]:
    """sparsim's break-even of each unstructured strategy with the dense core (first set
    total) and the study's."""
    marks = []
    for strategy, paper in PAPER_BREAKEVEN.items():
        if strategy not in set(tables.fine["strategy"]):
            continue
        found = breakeven_sparsity(tables.fine, strategy, TOTAL)
        side = tables.strategy(strategy).sides
        if not np.isnan(found):
            marks.append(Mark(found, f"{side} {sparsity_text(found)}", tables.title(strategy)))
        marks.append(Mark(paper, f"the study ~{paper:.0%} ({side})"))
    return tuple(marks)


def _hardware_words(tables: StudyTables) -> str:
    designs = [s.design for s in tables.definition.strategies]
    macs = sorted({d.architecture.compute.instances for d in designs})
    array = (
        f"{macs[0]:,}-MAC arrays"
        if len(macs) == 1
        else "MAC arrays of " + listing(f"{m:,}" for m in macs)
    )
    if all(d.artifact for d in designs):
        return f"the int8 designs of the MICRO'22 artifact ({array})"
    return f"the config's designs ({array})"


def _lead(tables: StudyTables) -> str:
    grid = sparsities_text(tables.sparsities)
    return (
        f"sparsim's engine reruns Huang and Mustafa's structured vs unstructured, single- vs "
        f"dual-sided sparsity study on {_hardware_words(tables)}: "
        f"{listing(tables.title(n) for n in contenders(tables))} on "
        f"{listing(tables.set_title(s) for s in tables.sets)}, at {grid} sparsity of weights "
        "and activations, plus low-sparsity, memory-size and bandwidth sweeps. Sparsity = "
        "fraction of zeros; energy in uJ."
    )


def sparsities_text(values) -> str:
    return listing(sparsity_text(s) for s in values)


def report(
    tables: StudyTables,
    checks: dict[str, Conclusion],
    files: tuple[str, ...],
    date: str,
    command: str,
) -> Report:
    main = _main_set(tables)
    primary = tables.set_title(tables.primary)
    diagonal = _diagonal(tables, main)
    dense = diagonal[diagonal["strategy"] == DENSE].iloc[0]
    dense_title = tables.title(DENSE)
    hover = ("energy_uJ", "cycles", "edp_J_cycles", "bounding_level")
    winners = _winners(tables, main)
    fine = _label(tables, tables.fine[tables.fine["layer"] == TOTAL])
    fine = fine[fine["strategy"] != DENSE]
    crossing = structured_vs_unstructured(tables)
    drilldown = layer_drilldown(tables, main)
    computes = _computes(tables, main)
    breakdown = _breakdown(tables)
    reference = reference_sparsity(tables)
    top = max(tables.sparsities)
    low = low_sparsity_rows(tables)
    low_chart = _label(tables, tables.low[tables.low["strategy"] != DENSE]).assign(
        sparsity=lambda f: f["sweep_sparsity"].map(axis_text),
        structure=lambda f: f["strategy"].map(lambda s: tables.strategy(s).structure),
    )
    memory = _memory_frame(tables)
    found = list(checks.values())
    restricted = [tables.title(n) for n in tables.definition.grid if n not in contenders(tables)]
    compute_names = listing(
        dict.fromkeys(s.design.architecture.compute.name for s in tables.definition.strategies)
    )
    labels = LABELS

    adjusted = tables.adjusted[
        (tables.adjusted[SET] == main)
        & (tables.adjusted["weight_sparsity"] > 0)
        & (tables.adjusted["activation_sparsity"] > 0)
    ]
    adjusted_chart = adjusted.assign(
        design=adjusted["strategy"].map(tables.title),
        ratio=np.where(
            adjusted["strategy"] == DUAL_PAIR[0],
            adjusted.get(f"energy_vs_{SINGLE_PAIR[0]}", np.nan),
            adjusted.get(f"energy_vs_{SINGLE_PAIR[1]}", np.nan),
        ),
        point=[
            f"{sparsity_text(w)} x {sparsity_text(a)}"
            for w, a in zip(
                adjusted["weight_sparsity"], adjusted["activation_sparsity"], strict=True
            )
        ],
    ).dropna(subset=["ratio"])
    memory_sparsities = sparsities_text(sorted(set(tables.memory["sweep_sparsity"])))
    scales = sorted(set(tables.memory["scale"]))
    charts_memory = (
        (
            Chart(
                "memory",
                f"Energy vs memory size relative to each design's own, {primary} at "
                f"{memory_sparsities}",
                memory,
                x="scale_text",
                y="energy_vs_baseline",
                y_label="energy / at the design's own size",
                color="design",
                facet="panel",
                hover=("size", "energy_uJ", "cycles"),
                reference=1.0,
                ratio=True,
                labels=labels,
                caption=f"Each design's own size scaled x{scales[0]:g} to x{scales[-1]:g} "
                "(x1: the design's own, named in each panel's title; hover for each bar's "
                "size), re-mapped at each size. 'energy per access fixed': only the reuse "
                "changes; the others follow the capacity model's energy per access.",
            ),
        )
        if len(tables.memory)
        else ()
    )
    sections = (
        Section(
            SECTION_WINS,
            (
                f"{sentence(tables.set_title(main))}; {dense_title}: {dense['energy_uJ']:,.1f} uJ, "
                f"{dense['cycles']:,.0f} cycles. The best of "
                f"{listing(tables.title(n) for n in contenders(tables))} at each sparse "
                "(weights, activations) point."
                + (
                    f" Not compared: {listing(restricted)}, variants restricted to fewer "
                    "patterns (tied where their pattern fits, never better)."
                    if restricted
                    else ""
                ),
            ),
            (Table("Best design per point", winners),),
            (
                Chart(
                    "energy",
                    f"Energy relative to the {dense_title}",
                    diagonal,
                    x="sparsity",
                    y="energy_vs_dense",
                    y_label=f"energy / {dense_title}",
                    color="design",
                    facet="panel",
                    hover=hover,
                    reference=1.0,
                    ratio=True,
                    labels=labels,
                    caption="Bars grow from 1 (the dense energy): below the line, less energy.",
                ),
                Chart(
                    "edp",
                    f"EDP relative to the {dense_title}",
                    diagonal,
                    x="sparsity",
                    y="edp_vs_dense",
                    y_label=f"EDP / {dense_title}",
                    color="design",
                    facet="panel",
                    hover=hover,
                    reference=1.0,
                    ratio=True,
                    labels=labels,
                    caption="Bars grow from 1 (the dense EDP): below the line, a better "
                    "energy-delay product.",
                ),
            ),
        ),
        Section(
            SECTION_ENERGY,
            (),
            (
                Table(
                    f"Metadata energy at {sparsity_text(reference)} sparsity, {primary}",
                    metadata_table(breakdown),
                    "Every level's metadata reads and writes (formats, offsets, bitmasks).",
                ),
            ),
            (
                Chart(
                    "breakdown",
                    f"Energy per level at {sparsity_text(reference)} sparsity, {primary} "
                    "(metadata of every level in one segment)",
                    breakdown,
                    x="design",
                    y="uJ",
                    y_label="energy (uJ)",
                    color="part",
                    kind="stacked",
                    labels=labels,
                    caption=f"Single-sided designs at {sparsity_text(reference)} weight "
                    f"sparsity, dual-sided at {sparsity_text(reference)} of both; "
                    "breakdown.csv has each level's metadata apart.",
                ),
            ),
        ),
        Section(
            SECTION_BREAKEVEN,
            (),
            (Table(f"Break-even sparsity with the {dense_title} (energy)", _breakevens(tables)),),
            (
                Chart(
                    "breakeven",
                    f"Unstructured energy relative to the {dense_title}, {primary}",
                    fine,
                    x="sweep_sparsity",
                    y="energy_vs_dense",
                    y_label=f"energy / {dense_title}",
                    color="design",
                    kind="line",
                    x_label="sparsity (weights; dual-sided: weights and activations)",
                    x_percent=True,
                    hover=("energy_uJ", "cycles"),
                    reference=1.0,
                    marks=breakeven_marks(tables),
                    labels=labels,
                    caption=f"Dotted lines: where each curve crosses the {dense_title} "
                    "(sparsim, in the curve's colour) and the study's break-even points "
                    "(grey).",
                ),
            ),
        ),
        Section(
            SECTION_COMPUTES,
            (),
            (
                Table(
                    f"MACs performed on padding, beyond those performed on the layers "
                    f"({tables.set_title(main)})",
                    padding_table(computes),
                    _padding_words(tables) + " Skipped MACs cost nothing.",
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
                    labels=labels,
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
            (),
            (),
            (
                Chart(
                    "cycles",
                    f"Speed-up over the {dense_title}",
                    diagonal,
                    x="sparsity",
                    y="speedup_vs_dense",
                    y_label=f"{dense_title} cycles / cycles",
                    color="design",
                    facet="panel",
                    hover=hover,
                    reference=1.0,
                    ratio=True,
                    labels=labels,
                    caption="Bars grow from 1 (as fast as dense): above the line, faster.",
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
                    labels=labels,
                    caption="Below 1: the unstructured core takes fewer cycles (less energy) "
                    "than the structured one. Dotted lines: crossings interpolated between "
                    "grid points (sparsim, coloured) and the study's ~66% (grey). "
                    f"Single-sided: {tables.title(SINGLE_PAIR[0])} vs "
                    f"{tables.title(SINGLE_PAIR[1])}; dual-sided: "
                    f"{tables.title(DUAL_PAIR[0])} vs {tables.title(DUAL_PAIR[1])}.",
                ),
                Chart(
                    "drilldown",
                    f"Per layer: speed-up over the {dense_title} and the part that bounds "
                    f"the cycles ({tables.set_title(main)})",
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
                    labels=labels,
                    caption=f"Each cell: {dense_title} cycles / the design's cycles on that "
                    "layer (blue: faster, red: slower; log colour scale centred on 1) and "
                    f"what bounds its cycles: {compute_names} (compute bound) or the level "
                    "whose bandwidth does. Single-sided designs at (s, 0), dual-sided at "
                    f"(s, s); the {dense_title} column is the baseline (1.00x) with its own "
                    "bound; xN: the shape occurs N times in the model.",
                ),
                Chart(
                    "cycle_parts",
                    f"Cycles each part needs at {sparsity_text(top)} sparsity, {primary} "
                    "(the largest sets the total)",
                    _cycle_parts(tables),
                    x="design",
                    y="cycles",
                    y_label="cycles",
                    color="part",
                    labels=labels,
                ),
            ),
        ),
        Section(
            SECTION_SIDES,
            (),
            (Table(f"Low sparsity, {primary}", _low_table(low)),),
            (
                Chart(
                    "low_sparsity",
                    f"Single- vs dual-sided at low sparsity, {primary}",
                    low_chart,
                    x="sparsity",
                    y="energy_vs_dense",
                    y_label=f"energy / {dense_title}",
                    color="design",
                    facet="structure",
                    hover=("energy_uJ", "cycles"),
                    reference=1.0,
                    ratio=True,
                    labels=labels,
                ),
                *(
                    (
                        Chart(
                            "adjusted",
                            "Dual-sided energy / single-sided at the same total sparsity "
                            f"({tables.set_title(main)})",
                            adjusted_chart,
                            x="point",
                            y="ratio",
                            y_label="dual / single energy",
                            color="design",
                            hover=("total_density", "energy_uJ"),
                            reference=1.0,
                            ratio=True,
                            labels=labels,
                            caption="Each dual-sided point (weights x activations sparsity) "
                            "against the single-sided core whose weights alone have the same "
                            "total density.",
                        ),
                    )
                    if len(adjusted_chart)
                    else ()
                ),
            ),
        ),
        Section(
            SECTION_MEMORY,
            (),
            (
                Table(
                    "Sensitivity to the capacity model's exponent (energy / at the design's "
                    "own size)",
                    exponent_band(tables),
                    "The band re-prices the fixed-energy sweep's mappings with the exponent at "
                    "each end; where the exponent-0.5 column falls outside it, the mapper chose "
                    "another mapping under the capacity model's energies.",
                ),
            )
            if len(exponent_band(tables))
            else (),
            charts_memory,
        ),
        Section(
            SECTION_AREA,
            (area_findings(tables),),
            (
                Table("Area per design", area_table(tables)),
                *(
                    ()
                    if _without_area(tables)
                    else (
                        Table(
                            f"Lowest EDP x area per sparse point ({tables.set_title(main)})",
                            _winners(tables, main, (EDAP,)),
                        ),
                    )
                ),
            ),
        ),
        Section(
            "Effectual and ineffectual work",
            (
                "Dense-equivalent throughput = performed rate x effectual / performed x "
                "1 / (effectual / algorithmic): a design wins by doing each MAC faster or "
                "cheaper, or by performing fewer ineffectual ones (at "
                f"{sparsity_text(reference)} sparsity, {tables.set_title(main)}).",
            ),
            (Table("Work decomposition", _work(tables, main)),),
            (),
        ),
    )
    sections = tuple(
        replace(section, tables=(*section_claims(found, section.title), *section.tables))
        for section in sections
    )
    if len(tables.failures):
        sections += (
            Section(
                "Points without a mapping",
                ("No mapping fitted these points; set totals that need them are left empty.",),
                (Table("Failures", tables.failures[list(FAILURE_COLUMNS)]),),
            ),
        )
    return Report(
        "Structured vs unstructured, single- vs dual-sided sparsity",
        _lead(tables),
        (STUDY, ARTIFACT),
        tuple(found),
        _modelled(tables),
        _assumptions(tables),
        sections,
        rerun(command, date),
        files,
        bottom_line(tables, checks),
    )


def config_text(tables: StudyTables) -> str:
    """The config the run used, as its file says it (the shipped default when none was
    given)."""
    source = tables.definition.source
    if source == DEFAULT:
        return resources.files("sparsim.study").joinpath("configs", DEFAULT).read_text()
    return Path(source).read_text(encoding="utf-8")


def rerun_command(quick: bool) -> str:
    """The command that reruns this study from its output folder (relative paths only)."""
    return f"sparsim study sparsity-types --config {CONFIG_FILE} --out rerun" + (
        " --quick" if quick else ""
    )


def write_study(
    tables: StudyTables, out_dir: Path, jobs: int = 1
) -> tuple[list[Path], dict[str, Conclusion]]:
    """Every output of the study into ``out_dir``: the config it ran, tables, figures,
    report.md/.html."""
    checks = run_checks(tables)
    frames = {name: getattr(tables, name) for name in TABLES}
    frames["failures"] = (
        tables.failures if len(tables.failures) else pd.DataFrame(columns=list(FAILURE_COLUMNS))
    )
    frames["checks"] = claims_frame(checks.values())
    command = rerun_command(tables.quick)
    paths, _ = publish(
        frames,
        lambda files, date: report(tables, checks, files, date, command),
        out_dir,
        jobs,
        {CONFIG_FILE: config_text(tables)},
    )
    return paths, checks
