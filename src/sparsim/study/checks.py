"""The claims of Huang and Mustafa's case study "Modeling Structured vs Unstructured and Dual
vs Single Sided Sparsity in DNNs" (its report and its poster), each set against sparsim's
number measured on the same kind of thing, with a verdict computed from the numbers by one
rule of :mod:`sparsim.report.verdicts` (a number within a tolerance, or a statement that
holds case by case). Every text is generated from the run's tables, so a changed config
(another grid, another design, fewer layers) gives true sentences; a claim the run has no
number for is "not testable", one sparsim cannot model "not modelled".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sparsim.report.model import Conclusion
from sparsim.report.verdicts import Close, Holds, NotModelled
from sparsim.study.layers import BASELINE_LAYER
from sparsim.study.sparsity_types import DENSE, SET, TOTAL, StudyTables
from sparsim.study.strategies import DUAL_PAIR, SINGLE_PAIR, nm_block

# The study's numbers (quoted with their place in the study or poster).
REFERENCE_DENSE_UJ = 276.58  # §IV.A: the dense baseline, "per inference"
REFERENCE_TOLERANCE = 0.001  # relative: 0.1%
ABOUT_TWICE = 2.0  # §IV.A "nearly 2x"; poster "~2x ... up to ~70% sparsity"
TWICE_TOLERANCE = 0.5  # 1.5x-2.5x
TWICE_UP_TO = 0.70  # the poster's "up to ~70%"
MATCH_FROM = 0.50  # §IV.A: dual unstructured matches single structured "exceeding 50%"
MATCH_TOLERANCE = 0.10  # "can match": at most 10% more energy
PAPER_BREAKEVEN = {"unstruct-single": 0.75, "unstruct-dual": 0.40}  # §IV.A, poster
BREAKEVEN_TOLERANCE = 0.10  # sparsity points
PAPER_CYCLE_CROSSOVER = 0.66  # §IV.A "above approximately 66%"; poster ">=66%"
DUAL_FROM = 0.05  # §IV.B: dual overtakes single from 5% (structured), at once (unstructured)
PROPORTIONAL_TOLERANCE = 0.10  # relative: "directly proportional"
LRF_WIDTH_CHANGE = -0.0025  # §IV.C: "1/400 = 0.25%" less energy
LRF_TOLERANCE = 0.005
NOTHING = 0.005  # "no impact": under 0.5%
SAME_COMPUTES_TOLERANCE = 1e-3  # relative
LISTED = 3  # exceptions named in a claim's text

SECTION_WINS = "1. Which strategy wins where"
SECTION_ENERGY = "2. Structured or unstructured: energy"
SECTION_BREAKEVEN = "3. When does unstructured sparsity beat dense?"
SECTION_COMPUTES = "4. Computes: skipping and padding"
SECTION_CYCLES = "5. Cycles and what bounds them"
SECTION_SIDES = "6. Single- or dual-sided"
SECTION_MEMORY = "7. Memory sizes"

STRUCTURES = {"structured": (SINGLE_PAIR[0], DUAL_PAIR[0]), "unstructured": DUAL_PAIR[1:]}
SIDES = (("single-sided", SINGLE_PAIR), ("dual-sided", DUAL_PAIR))


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def sparsity_text(value: float) -> str:
    """A sparsity as the report writes it (66.7%)."""
    return f"{100 * value:.3g}%"


def signed(value: float) -> str:
    return f"{100 * value:+.1f}%"


def sentence(text: str) -> str:
    """``text`` with its first letter capitalised (a design's title may open a sentence)."""
    return text[:1].upper() + text[1:]


def listing(values, last: str = "and") -> str:
    items = list(values)
    if len(items) <= 2:
        return f" {last} ".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def select(frame: pd.DataFrame, layer_set: str, strategy: str, ws: float, sa: float):
    """The rows of one layer set, strategy and (weight, activation) sparsity pair."""
    return frame[
        (frame[SET] == layer_set)
        & (frame["strategy"] == strategy)
        & np.isclose(frame["weight_sparsity"], ws)
        & np.isclose(frame["activation_sparsity"], sa)
    ]


def total(tables: StudyTables, layer_set: str, strategy: str, ws: float, sa: float) -> pd.Series:
    return select(tables.totals, layer_set, strategy, ws, sa).iloc[0]


def pair_points(pair: tuple[str, str], sparsity: float) -> tuple[float, float]:
    """Where a pair is judged: a single-sided pair at (s, 0), a dual-sided one at (s, s)."""
    return (sparsity, sparsity) if pair == DUAL_PAIR else (sparsity, 0.0)


def sparse_points(tables: StudyTables) -> list[float]:
    return [s for s in tables.sparsities if s > 0]


def reference_sparsity(tables: StudyTables) -> float:
    """The sparse grid point the report details (50%, else the one nearest it)."""
    return min(sparse_points(tables), key=lambda s: (abs(s - 0.5), s))


def set_words(tables: StudyTables, sets: list[str] | None = None) -> str:
    return listing(tables.set_title(s) for s in (sets or tables.sets))


def sparsities_words(values) -> str:
    return listing(sparsity_text(s) for s in values)


@dataclass(frozen=True)
class Matched:
    """A structured core and its unstructured counterpart of the same sidedness, on one
    layer set at one sparsity of the grid's diagonal."""

    layer_set: str
    sides: str
    sparsity: float
    structured: pd.Series
    unstructured: pd.Series

    def ratio(self, metric: str) -> float:
        return float(self.unstructured[metric] / self.structured[metric])


def matched(tables: StudyTables) -> Iterator[Matched]:
    for layer_set in tables.sets:
        for sides, pair in SIDES:
            for s in sparse_points(tables):
                ws, sa = pair_points(pair, s)
                yield Matched(
                    layer_set,
                    sides,
                    s,
                    total(tables, layer_set, pair[0], ws, sa),
                    total(tables, layer_set, pair[1], ws, sa),
                )


def _where(tables: StudyTables, point: Matched) -> str:
    return (
        f"{point.sides} at {sparsity_text(point.sparsity)} on {tables.set_title(point.layer_set)}"
    )


# ---------------------------------------------------------------- section 1: baseline


def dense_baseline(tables: StudyTables) -> Conclusion:
    layers = tables.layers
    rows = layers[(layers["layer"] == BASELINE_LAYER) & (layers["strategy"] == DENSE)]
    dense = tables.title(DENSE)
    published = f"{REFERENCE_DENSE_UJ} uJ per ResNet50 inference on the dense baseline"
    if rows.empty:
        return Conclusion(
            "dense-baseline",
            "Energy of the dense baseline",
            "§IV.A",
            published,
            f"no layer {BASELINE_LAYER} in this run",
            Close(
                REFERENCE_DENSE_UJ,
                float("nan"),
                REFERENCE_DENSE_UJ * REFERENCE_TOLERANCE,
                unit=" uJ",
            ),
            f"The study's number is the MICRO'22 artifact's energy of the layer "
            f"{BASELINE_LAYER}; this run's layer sets leave it out.",
            SECTION_WINS,
        )
    ours = float(rows.iloc[0]["energy_uJ"])
    networks = {spec.name for spec in tables.definition.layer_sets if spec.builtin}
    whole = [
        f"{float(total(tables, s, DENSE, 0.0, 0.0)['energy_uJ']):,.0f} uJ on {tables.set_title(s)}"
        for s in tables.sets
        if s in networks
    ]
    evidence = Close(
        REFERENCE_DENSE_UJ, ours, REFERENCE_DENSE_UJ * REFERENCE_TOLERANCE, 0.0, 1.0, " uJ", "0 uJ"
    )
    if evidence.verdict == "agree":
        why = (
            f"The study's per-inference figure is the energy of one layer, {BASELINE_LAYER} "
            f"of the MICRO'22 artifact: sparsim's {dense} gives it on that layer alone"
            + (f", while a whole network costs {listing(whole)}." if whole else ".")
        )
    else:
        why = (
            f"sparsim's {dense} differs by {signed(ours / REFERENCE_DENSE_UJ - 1)} on the "
            f"MICRO'22 artifact's layer {BASELINE_LAYER}, where the study's number comes from."
        )
    return Conclusion(
        "dense-baseline",
        "Energy of the dense baseline",
        "§IV.A",
        published,
        f"{ours:.2f} uJ on the one layer {BASELINE_LAYER}",
        evidence,
        why,
        SECTION_WINS,
    )


# ---------------------------------------------------------------- section 2: energy


def energy_share(tables: StudyTables, strategy: str, role: str, ws: float, sa: float) -> float:
    """Share of a strategy's energy (first layer set) spent at the level playing ``role``."""
    level = tables.strategy(strategy).design.level_name(role)
    rows = select(tables.breakdown, tables.primary, strategy, ws, sa)
    energy = rows["data_uJ"] + rows["metadata_uJ"]
    return float(energy[rows["level"] == level].sum() / energy.sum())


def structured_cheaper(tables: StudyTables) -> Conclusion:
    points = list(matched(tables))
    cheaper = [p for p in points if p.ratio("energy_uJ") > 1]
    exceptions = [p for p in points if p.ratio("energy_uJ") <= 1]
    text = (
        f"structured cheaper at {len(cheaper)} of {len(points)} points "
        f"({sparsities_words(sparse_points(tables))}, single- and dual-sided, "
        f"{set_words(tables)})"
    )
    if exceptions:
        text += "; not at " + "; ".join(
            f"{_where(tables, p)} ({p.ratio('energy_uJ'):.2f}x)" for p in exceptions[:LISTED]
        )
    s = reference_sparsity(tables)
    accumulator = tables.strategy(SINGLE_PAIR[1]).design.level_name("accumulator")
    unstructured = energy_share(tables, SINGLE_PAIR[1], "accumulator", s, 0.0)
    structured = energy_share(tables, SINGLE_PAIR[0], "accumulator", s, 0.0)
    why = (
        f"At {sparsity_text(s)} weight sparsity ({tables.set_title(tables.primary)}), the "
        f"{tables.title(SINGLE_PAIR[1])} core spends {pct(unstructured)} of its energy in its "
        f"accumulator ({accumulator}), {tables.title(SINGLE_PAIR[0])} {pct(structured)}"
    )
    why += (
        ": the unstructured core's dataflow, more than its metadata, sets the gap."
        if unstructured > 2 * structured
        else "."
    )
    return Conclusion(
        "structured-cheaper",
        "Structured sparsity costs less energy than unstructured, same sidedness",
        "§IV.A, Fig. 1; poster",
        "structured less energy at almost all tested configurations (poster: most cases)",
        text,
        Holds(len(cheaper), len(points), "points (layer set, sidedness, sparsity)"),
        why,
        SECTION_ENERGY,
    )


def structured_twice(tables: StudyTables) -> Conclusion:
    points = [p for p in matched(tables) if p.sparsity < TWICE_UP_TO]
    ratios = np.array([p.ratio("energy_uJ") for p in points])
    evidence_args = (ABOUT_TWICE, TWICE_TOLERANCE, 1.0, 1.0, "x", "1x (equal energy)")
    published = "nearly 2x less energy at the same sidedness (§IV.A); ~2x up to ~70% (poster)"
    if not len(ratios):
        return Conclusion(
            "structured-twice",
            "Structured's energy saving over unstructured is about 2x",
            "§IV.A; poster",
            published,
            f"no sparse grid point below {sparsity_text(TWICE_UP_TO)} in this run",
            Close(ABOUT_TWICE, float("nan"), *evidence_args[1:]),
            "The claim is about sparsities up to ~70%; this run's grid has none.",
            SECTION_ENERGY,
        )
    geometric = float(np.exp(np.log(ratios).mean()))
    return Conclusion(
        "structured-twice",
        "Structured's energy saving over unstructured is about 2x",
        "§IV.A; poster",
        published,
        f"{geometric:.2f}x geometric mean (arithmetic {ratios.mean():.2f}x, "
        f"{ratios.min():.2f}x-{ratios.max():.2f}x) of unstructured / structured energy at "
        f"{sparsities_words(sorted({p.sparsity for p in points}))}, single- and "
        f"dual-sided, {set_words(tables)}",
        Close(ABOUT_TWICE, geometric, *evidence_args[1:]),
        "The study states no average; the verdict takes the geometric mean of the ratios "
        "(the mean of ratios), the arithmetic one is shown beside it.",
        SECTION_ENERGY,
    )


def dual_unstructured_matches(tables: StudyTables) -> Conclusion:
    """Above 50% sparsity, dual-sided unstructured against single-sided structured on the
    same tensors (both operands sparse; the single-sided core uses the weights' zeros)."""
    cases, held, parts = 0, 0, []
    for layer_set in tables.sets:
        ratios = []
        for s in sparse_points(tables):
            if s <= MATCH_FROM + 1e-9:
                continue
            dual = total(tables, layer_set, DUAL_PAIR[1], s, s)["energy_uJ"]
            single = total(tables, layer_set, SINGLE_PAIR[0], s, 0.0)["energy_uJ"]
            cases += 1
            held += dual / single <= 1 + MATCH_TOLERANCE
            ratios.append(f"{dual / single:.2f}x at {sparsity_text(s)}")
        if ratios:
            parts.append(f"{tables.set_title(layer_set)} {', '.join(ratios)}")
    return Conclusion(
        "dual-unstructured-matches",
        "Dual-sided unstructured matches single-sided structured above 50% sparsity",
        "§IV.A",
        "dual-sided unstructured as good as single-sided structured in energy beyond 50%",
        f"{tables.title(DUAL_PAIR[1])} / {tables.title(SINGLE_PAIR[0])} energy: " + "; ".join(parts)
        if parts
        else f"no grid point above {sparsity_text(MATCH_FROM)}",
        Holds(held, cases, f"points above {sparsity_text(MATCH_FROM)}"),
        f"A point holds when the dual-sided unstructured core costs at most "
        f"{MATCH_TOLERANCE:.0%} more energy than the single-sided structured one.",
        SECTION_ENERGY,
    )


def converge(tables: StudyTables) -> Conclusion:
    sparse = sparse_points(tables)
    cases, held, parts = 0, 0, []
    if len(sparse) >= 2:
        low, high = sparse[0], sparse[-1]
        for layer_set in tables.sets:
            for sides, pair in SIDES:
                gaps = []
                for s in (low, high):
                    ws, sa = pair_points(pair, s)
                    u = total(tables, layer_set, pair[1], ws, sa)["energy_uJ"]
                    st = total(tables, layer_set, pair[0], ws, sa)["energy_uJ"]
                    gaps.append(u / st - 1)
                cases += 1
                held += abs(gaps[1]) < abs(gaps[0])
                parts.append(
                    f"{sides} on {tables.set_title(layer_set)}: {signed(gaps[0])} at "
                    f"{sparsity_text(low)} -> {signed(gaps[1])} at {sparsity_text(high)}"
                )
    return Conclusion(
        "converge",
        "The energy gap between structured and unstructured narrows at extreme sparsity",
        "§IV.A; poster",
        "the gap narrows as sparsity rises and eventually closes",
        "unstructured's extra energy over structured: " + "; ".join(parts)
        if parts
        else "the grid has one sparse point: no trend to read",
        Holds(held, cases, "(layer set, sidedness) pairs, lowest to highest sparse point"),
        "A case holds when the gap is smaller at the grid's highest sparsity than at its "
        "lowest sparse point.",
        SECTION_ENERGY,
    )


# ---------------------------------------------------------------- section 3: break-even


def breakeven_sparsity(fine: pd.DataFrame, strategy: str, layer: str) -> float:
    """The sparsity at which ``strategy`` first costs no more energy than the dense core
    (linear interpolation between the fine sweep's points; NaN if it never does)."""
    rows = fine[(fine["strategy"] == strategy) & (fine["layer"] == layer)]
    rows = rows.sort_values("sweep_sparsity")
    x, y = rows["sweep_sparsity"].to_numpy(), rows["energy_vs_dense"].to_numpy() - 1.0
    below = np.flatnonzero(y <= 0)
    if below.size == 0:
        return float("nan")
    i = below[0]
    if i == 0:
        return float(x[0])
    return float(x[i - 1] + (x[i] - x[i - 1]) * y[i - 1] / (y[i - 1] - y[i]))


def _breakeven(tables: StudyTables, strategy: str) -> Conclusion:
    paper = PAPER_BREAKEVEN[strategy]
    sides = "single" if strategy == SINGLE_PAIR[1] else "dual"
    key = f"breakeven-{sides}"
    claim = f"{sides.capitalize()}-sided unstructured sparsity saves energy only from ~{paper:.0%}"
    operands = "weights" if sides == "single" else "weights and activations"
    published = f"~{paper:.0%} sparsity of the {operands} before any saving over the dense baseline"
    fine = tables.fine
    args = (BREAKEVEN_TOLERANCE, 1.0, 100.0, " points of sparsity", "100% (never)")
    if strategy not in set(fine["strategy"]):
        return Conclusion(
            key,
            claim,
            "§IV.A; poster",
            published,
            "not in this run's fine sweep",
            Close(paper, float("nan"), *args),
            f"The config's fine sweep leaves out {tables.title(strategy)}.",
            SECTION_BREAKEVEN,
        )
    found = breakeven_sparsity(fine, strategy, TOTAL)
    top = float(fine["sweep_sparsity"].max())
    sweep = sorted(set(fine["sweep_sparsity"]))
    step = sweep[1] - sweep[0] if len(sweep) > 1 else 0.0
    text = (
        f"{pct(found)} on {tables.set_title(tables.primary)} (interpolated between "
        f"sweep points {100 * step:.3g} points of sparsity apart)"
        if not np.isnan(found)
        else f"never up to {sparsity_text(top)}"
    )
    dense_run = float(
        fine[(fine["strategy"] == strategy) & (fine["layer"] == TOTAL)]
        .sort_values("sweep_sparsity")["energy_vs_dense"]
        .iloc[0]
    )
    return Conclusion(
        key,
        claim,
        "§IV.A; poster",
        published,
        text,
        Close(paper, float("inf") if np.isnan(found) else found, *args),
        f"{sentence(tables.title(strategy))} at {sparsity_text(sweep[0])} sparsity costs "
        f"{dense_run:.2f}x the {tables.title(DENSE)}: the overhead its skipping must repay.",
        SECTION_BREAKEVEN,
    )


def breakeven_single(tables: StudyTables) -> Conclusion:
    return _breakeven(tables, SINGLE_PAIR[1])


def breakeven_dual(tables: StudyTables) -> Conclusion:
    return _breakeven(tables, DUAL_PAIR[1])


# ---------------------------------------------------------------- section 4: computes


def computes_comparison(tables: StudyTables) -> pd.DataFrame:
    """Per layer point of the grid's diagonal, structured and unstructured at the same
    sparsity: the MACs each skips of the layer's own (its performed MACs on the layer,
    the padding's share aside: the engine spreads them evenly over the padded shape), the
    extra MACs each performs on padding, and how far each is from the effectual MACs."""
    layers = tables.layers
    rows = []
    for sides, pair in SIDES:
        for s in sparse_points(tables):
            ws, sa = pair_points(pair, s)
            at = layers[
                layers["strategy"].isin(pair)
                & np.isclose(layers["weight_sparsity"], ws)
                & np.isclose(layers["activation_sparsity"], sa)
            ].set_index([SET, "layer", "strategy"])
            on_layer = at["computes_actual"] * at["dense_macs"] / at["computes_algorithmic"]
            skipped = (at["dense_macs"] - on_layer).unstack("strategy")
            padding = (at["computes_actual"] - on_layer).unstack("strategy")
            effectual = (on_layer / (at["dense_macs"] * (1 - ws) * (1 - sa)) - 1).abs()
            frame = pd.DataFrame(
                {
                    "sides": sides,
                    "sparsity": s,
                    "skipped_ratio": skipped[pair[1]] / skipped[pair[0]],
                    "structured_skips": skipped[pair[0]]
                    / at["dense_macs"].unstack("strategy")[pair[0]],
                    "unstructured_skips": skipped[pair[1]]
                    / at["dense_macs"].unstack("strategy")[pair[1]],
                    "padding_share": (padding / on_layer.unstack("strategy")).max(axis=1),
                    "padded_by": [
                        ", ".join(tables.title(n) for n in pair if row[n] > 0)
                        for _, row in padding.iterrows()
                    ],
                    "effectual_error": effectual.unstack("strategy").max(axis=1),
                }
            )
            rows.append(frame.reset_index())
    return pd.concat(rows, ignore_index=True)


def same_computes(tables: StudyTables) -> Conclusion:
    found = computes_comparison(tables)
    equal = (found["skipped_ratio"] - 1).abs() <= SAME_COMPUTES_TOLERANCE
    differ = found[~equal]
    text = (
        f"the same MACs skipped (within {SAME_COMPUTES_TOLERANCE:.1%}) at {int(equal.sum())} "
        f"of {len(found)} layer points"
    )
    if len(differ):
        gap = (differ["unstructured_skips"] - differ["structured_skips"]).abs()
        worst = differ.loc[gap.idxmax()]
        text += (
            f"; at worst ({worst['layer']}, {worst['sides']} at "
            f"{sparsity_text(worst['sparsity'])}) structured skips {pct(worst['structured_skips'])}"
            f" of the MACs, unstructured {pct(worst['unstructured_skips'])}"
        )
    exact = found.loc[equal, "effectual_error"].max() if equal.any() else float("nan")
    parts = []
    if equal.any():
        parts.append(
            f"Where they agree, both perform the effectual MACs of the layer (within {exact:.1e})"
            if exact <= SAME_COMPUTES_TOLERANCE
            else f"Where they agree, they perform up to {pct(exact)} more than the effectual MACs"
        )
    if len(differ):
        off = differ["effectual_error"].max()
        parts.append(
            f"where they differ, one performs up to {pct(off)} more than the effectual MACs "
            "(its patterns cannot skip that sparsity)"
        )
    padded = found[found["padding_share"] > 0]
    if len(padded):
        designs = padded.assign(design=padded["padded_by"].str.split(", ")).explode("design")
        by = designs.groupby("design", sort=False)["layer"].nunique()
        parts.append(
            f"apart from skipping, padding shapes to whole N:M blocks or array tiles adds up to "
            f"{pct(padded['padding_share'].max())} MACs ("
            + "; ".join(f"{designs}: {n} layer shape(s)" for designs, n in by.items())
            + ")"
        )
    return Conclusion(
        "same-computes",
        "Structured and unstructured skip the same computes",
        "§IV.A; poster",
        "the same number of MACs skipped at every sparsity",
        text,
        Holds(int(equal.sum()), len(found), "layer points (layer, sidedness, sparsity)"),
        "; ".join(parts) + ".",
        SECTION_COMPUTES,
    )


# ---------------------------------------------------------------- section 5: cycles


def cycles_crossover(tables: StudyTables) -> Conclusion:
    points = list(matched(tables))
    held, exceptions = 0, []
    for p in points:
        expected = p.sparsity >= PAPER_CYCLE_CROSSOVER - 1e-9  # unstructured faster
        faster = p.ratio("cycles") < 1
        if faster == expected:
            held += 1
        else:
            exceptions.append(p)
    text = f"as the study says at {held} of {len(points)} points"
    if exceptions:
        text += "; not at " + "; ".join(
            f"{_where(tables, p)} (unstructured / structured cycles {p.ratio('cycles'):.2f})"
            for p in exceptions[:LISTED]
        )
        if len(exceptions) > LISTED:
            text += f" and {len(exceptions) - LISTED} more"
    return Conclusion(
        "cycles-crossover",
        "Structured takes fewer cycles below ~66% sparsity, unstructured above",
        "§IV.A, Fig. 2; poster",
        "unstructured faster in cycles from ~66% sparsity (poster: >= 66%), structured below",
        text,
        Holds(held, len(points), "points (layer set, sidedness, sparsity)"),
        f"A point counts when the faster core is the one the study names for its "
        f"sparsity (unstructured from {sparsity_text(PAPER_CYCLE_CROSSOVER)}).",
        SECTION_CYCLES,
    )


def read_bandwidth_sweeps(tables: StudyTables) -> list[str]:
    bandwidth = tables.bandwidth
    if bandwidth.empty:
        return []
    return list(dict.fromkeys(bandwidth[bandwidth["parameter"] == "read_bandwidth"]["sweep"]))


def cycles_cause(tables: StudyTables) -> Conclusion:
    """Where the structured core is slower than the unstructured one, is it bound by a
    level's bandwidth that, scaled up, removes the deficit?"""
    structured, unstructured = SINGLE_PAIR
    cases, held, parts = 0, 0, []
    for sweep in read_bandwidth_sweeps(tables):
        rows = tables.bandwidth[tables.bandwidth["sweep"] == sweep]
        top = rows["scale"].max()
        for s in sorted(set(rows["sweep_sparsity"])):
            at = rows[np.isclose(rows["sweep_sparsity"], s)]
            own = at[(at["strategy"] == structured) & (at["scale"] == 1.0)]
            other = at[(at["strategy"] == unstructured) & (at["scale"] == 1.0)]
            wider = at[(at["strategy"] == structured) & (at["scale"] == top)]
            if own.empty or other.empty or wider.empty:
                continue
            own, other, wider = own.iloc[0], other.iloc[0], wider.iloc[0]
            if own["cycles"] <= other["cycles"]:
                continue
            cases += 1
            bound = own["bounding_level"] == own["level"]
            fixed = wider["cycles"] < other["cycles"]
            held += bool(bound and fixed)
            parts.append(
                f"at {sparsity_text(s)}: {own['cycles']:,.0f} cycles against "
                f"{other['cycles']:,.0f}, bound by {own['bounding_level']} on "
                f"{pct(own['bound_share'])}; x{top:g} {own['level']} read bandwidth: "
                f"{wider['cycles']:,.0f}"
            )
    return Conclusion(
        "cycles-cause",
        "Structured's extra cycles come from the configuration",
        "§IV.A",
        "a misconfiguration or a simulator limitation is the likely cause",
        "; ".join(parts)
        if parts
        else "structured is never slower than unstructured at the swept sparsities"
        if read_bandwidth_sweeps(tables)
        else "the config sweeps no read bandwidth",
        Holds(held, cases, "sparsities where structured is slower"),
        f"A case holds when {tables.title(structured)} is bound by the swept level's "
        f"bandwidth and more of it makes it faster than {tables.title(unstructured)}: a "
        "limit of the configured hardware, not of structured sparsity.",
        SECTION_CYCLES,
    )


# ---------------------------------------------------------------- section 6: sidedness


def _side_pairs() -> tuple[tuple[str, str, str], ...]:
    """(structure, single-sided, dual-sided) strategies."""
    return (
        ("structured", SINGLE_PAIR[0], DUAL_PAIR[0]),
        ("unstructured", SINGLE_PAIR[1], DUAL_PAIR[1]),
    )


def dual_beats_single(tables: StudyTables) -> Conclusion:
    cases, held, exceptions = 0, 0, []
    for layer_set in tables.sets:
        for structure, single, dual in _side_pairs():
            for s in sparse_points(tables):
                ratio = (
                    total(tables, layer_set, dual, s, s)["energy_uJ"]
                    / total(tables, layer_set, single, s, s)["energy_uJ"]
                )
                cases += 1
                if ratio < 1:
                    held += 1
                else:
                    exceptions.append(
                        f"{structure} at {sparsity_text(s)} on {tables.set_title(layer_set)} "
                        f"({ratio:.2f}x)"
                    )
    text = f"dual-sided cheaper at {held} of {cases} points (both operands at the sparsity)"
    if exceptions:
        text += "; not " + "; ".join(exceptions[:LISTED])
    return Conclusion(
        "dual-beats-single",
        "Dual-sided sparsity costs less energy than single-sided",
        "§IV.B; poster",
        "dual-sided less energy at almost all sparsity levels, most at high sparsity",
        text,
        Holds(held, cases, "points (layer set, structure, sparsity)"),
        "Both run the same tensors (weights and activations equally sparse); the "
        "single-sided core cannot use the activations' zeros.",
        SECTION_SIDES,
    )


def low_sparsity_rows(tables: StudyTables) -> pd.DataFrame:
    """Per structure and sparsity: dual-sided energy / single-sided energy (first set)."""
    low = tables.low
    rows = []
    for structure, ((single, dual), _) in tables.definition.low.items():
        a = low[low["strategy"] == single].set_index("sweep_sparsity")
        b = low[low["strategy"] == dual].set_index("sweep_sparsity")
        for s in a.index:
            rows.append(
                {
                    "structure": structure,
                    "sparsity": s,
                    "single_energy_vs_dense": a.loc[s, "energy_vs_dense"],
                    "dual_energy_vs_dense": b.loc[s, "energy_vs_dense"],
                    "dual_vs_single_energy": b.loc[s, "energy_uJ"] / a.loc[s, "energy_uJ"],
                    "dual_vs_single_cycles": b.loc[s, "cycles"] / a.loc[s, "cycles"],
                }
            )
    return pd.DataFrame(rows)


def _low_text(rows: pd.DataFrame) -> str:
    return "; ".join(
        f"{structure} "
        + ", ".join(
            f"{r.dual_vs_single_energy:.2f}x at {sparsity_text(r.sparsity)}"
            for r in part.itertuples()
        )
        for structure, part in rows.groupby("structure", sort=False)
    )


def _low_blocks(tables: StudyTables, rows: pd.DataFrame) -> str:
    """Which N:M blocks the structured low-sparsity points run, on which core."""
    (single, _), _ = tables.definition.low["structured"]
    sparsities = rows[rows["structure"] == "structured"]["sparsity"]
    blocks = [nm_block(1 - s) for s in sparsities]
    return (
        f"Structured points run as {listing(f'{n}:{m}' for n, m in filter(None, blocks))} "
        f"blocks on {tables.title(single)}, whose hardware runs "
        f"{tables.strategy(single).exploits().removeprefix('weights pruned to ')}."
    )


def dual_at_low_sparsity(tables: StudyTables) -> Conclusion:
    rows = low_sparsity_rows(tables)
    expected = (rows["structure"] != "structured") | (rows["sparsity"] >= DUAL_FROM - 1e-9)
    held = int(((rows["dual_vs_single_energy"] < 1) == expected).sum())
    return Conclusion(
        "dual-low-sparsity",
        "Dual-sided overtakes single-sided already at low sparsity",
        "§IV.B",
        f"dual-sided less energy from {DUAL_FROM:.0%} sparsity (structured) and from the "
        "start (unstructured); single-sided structured cheaper below",
        f"dual / single energy, {tables.set_title(tables.primary)}: {_low_text(rows)}",
        Holds(held, len(rows), "low-sparsity points"),
        _low_blocks(tables, rows),
        SECTION_SIDES,
    )


def poster_dual_overhead(tables: StudyTables) -> Conclusion:
    rows = low_sparsity_rows(tables)
    costs_more = int((rows["dual_vs_single_energy"] >= 1).sum())
    return Conclusion(
        "poster-dual-overhead",
        "Dual-sided overhead dominates at low sparsity, especially unstructured",
        "poster",
        "single-sided ahead at low sparsity, unstructured most",
        f"dual costs more at {costs_more} of {len(rows)} low-sparsity points ({_low_text(rows)})",
        Holds(costs_more, len(rows), "low-sparsity points"),
        "The study's body (§IV.B) says the opposite: dual-sided ahead from 5% (structured) "
        "and from the start (unstructured).",
        SECTION_SIDES,
    )


def dual_cycles_proportional(tables: StudyTables) -> Conclusion:
    """At each weight sparsity, the share of the single-sided core's cycles the dual-sided
    core saves, per unit of activation sparsity: constant when proportional."""
    sparse = sparse_points(tables)
    cases, held, parts = 0, 0, []
    for layer_set in tables.sets:
        for structure, single, dual in _side_pairs():
            slopes = []
            for ws in tables.sparsities:
                per_unit = [
                    (
                        1
                        - total(tables, layer_set, dual, ws, sa)["cycles"]
                        / total(tables, layer_set, single, ws, sa)["cycles"]
                    )
                    / sa
                    for sa in sparse
                ]
                if len(per_unit) < 2:
                    continue
                mean = float(np.mean(per_unit))
                cases += 1
                held += bool(
                    mean > 0 and all(abs(v / mean - 1) <= PROPORTIONAL_TOLERANCE for v in per_unit)
                )
                slopes += per_unit
            if slopes:
                parts.append(
                    f"{structure} on {tables.set_title(layer_set)} "
                    f"{min(slopes):.2f}-{max(slopes):.2f}"
                )
    return Conclusion(
        "dual-cycles-proportional",
        "Dual-sided saves cycles in proportion to the activations' sparsity",
        "§IV.B",
        "dual-sided skips additional cycles directly proportional to input sparsity",
        "share of the single-sided cycles saved per unit of activation sparsity: "
        + "; ".join(parts)
        if parts
        else "the grid has one sparse point: no proportion to read",
        Holds(held, cases, "(layer set, structure, weight sparsity) rows of the grid"),
        f"A row holds when the saved share divided by the activation sparsity stays within "
        f"{PROPORTIONAL_TOLERANCE:.0%} of its mean over the grid's activation sparsities "
        "(1 would be every zero activation's cycle saved).",
        SECTION_SIDES,
    )


def adjusted_ratios(tables: StudyTables, layer_set: str) -> dict[str, tuple[float, float]]:
    """Per structure: the median dual / single energy at the same per-operand sparsity
    (raw) and at the same total density dw*da (adjusted), both operands sparse."""
    adjusted = tables.adjusted
    out = {}
    for structure, single, dual in _side_pairs():
        if f"energy_vs_{single}" not in adjusted:
            continue
        rows = adjusted[
            (adjusted[SET] == layer_set)
            & (adjusted["strategy"] == dual)
            & (adjusted["weight_sparsity"] > 0)
            & (adjusted["activation_sparsity"] > 0)
        ]
        raw = [
            row.energy_uJ
            / select(tables.totals, layer_set, single, row.weight_sparsity, 0.0)["energy_uJ"].iloc[
                0
            ]
            for row in rows.itertuples()
        ]
        out[structure] = (
            float(np.median(raw)),
            float(np.median(rows[f"energy_vs_{single}"])),
        )
    return out


def dual_after_adjusting(tables: StudyTables) -> Conclusion:
    found = {
        (layer_set, structure): values
        for layer_set in tables.sets
        for structure, values in adjusted_ratios(tables, layer_set).items()
    }
    holds = [adj < 1 and raw < adj for raw, adj in found.values()]
    return Conclusion(
        "dual-adjusted",
        "At the same total sparsity, dual-sided still leads, by less",
        "§IV.B, Fig. 3; poster",
        "dual-sided still ahead after adjusting for combined sparsity, by a smaller margin",
        "median dual / single energy, same per-operand sparsity -> same total sparsity: "
        + "; ".join(
            f"{structure} on {tables.set_title(s)} {raw:.2f}x -> {adj:.2f}x"
            for (s, structure), (raw, adj) in found.items()
        ),
        Holds(sum(holds), len(holds), "(layer set, structure) pairs"),
        "At the same total density dw x da both perform the same effectual MACs; a case "
        "holds when dual-sided still costs less, by less than before adjusting.",
        SECTION_SIDES,
    )


def structured_after_adjusting(tables: StudyTables) -> Conclusion:
    adjusted = tables.adjusted
    columns = [f"{name}_energy_uJ" for name in SINGLE_PAIR]
    cases, held, parts = 0, 0, []
    if all(c in adjusted for c in columns):
        sparse = adjusted[adjusted["total_density"] < 1 - 1e-9]
        for layer_set, rows in sparse.groupby(SET, sort=False):
            unique = rows.drop_duplicates("total_density").sort_values("total_density")
            ratios = unique[columns[1]] / unique[columns[0]]
            cases += len(ratios)
            held += int((ratios > 1).sum())
            parts.append(f"{tables.set_title(layer_set)} {ratios.min():.2f}x-{ratios.max():.2f}x")
    return Conclusion(
        "structured-adjusted",
        "At the same total sparsity, structured still costs less than unstructured",
        "§IV.B, Fig. 3",
        "structured still outperforms unstructured after adjusting",
        "unstructured / structured energy, single-sided at each total density of the grid: "
        + "; ".join(parts)
        if parts
        else "the adjusted sweep runs no single-sided structured and unstructured pair",
        Holds(held, cases, "total densities (layer set, density)"),
        "Single-sided cores run weights as sparse as both operands together.",
        SECTION_SIDES,
    )


# ---------------------------------------------------------------- section 7: memory


@dataclass(frozen=True)
class SweepRows:
    """The memory-sweep rows of one kind: a level role, the parameters scaled together."""

    frame: pd.DataFrame

    def levels(self) -> str:
        return listing(dict.fromkeys(self.frame["level"]))

    def changes(self, metric: str, above: bool) -> pd.Series:
        rows = self.frame[(self.frame["scale"] > 1) if above else (self.frame["scale"] < 1)]
        return rows[f"{metric}_vs_baseline"] - 1


def memory_rows(tables: StudyTables, role: str, parameter: str, rescale=None) -> SweepRows:
    memory = tables.memory
    if memory.empty:
        return SweepRows(memory)
    rows = memory[(memory["role"] == role) & (memory["parameter"] == parameter)]
    if rescale is not None:
        rows = rows[rows["rescale_energy"] == rescale]
    return SweepRows(rows)


def _range_text(values: pd.Series) -> str:
    low, high = float(values.min()), float(values.max())
    return signed(low) if abs(high - low) < 0.0005 else f"{signed(low)} to {signed(high)}"


def _by_model(rows: SweepRows, metric: str, above: bool) -> str:
    parts = []
    for rescale, label in ((False, "energy per access fixed"), (True, "capacity model")):
        part = SweepRows(rows.frame[rows.frame["rescale_energy"] == rescale])
        changes = part.changes(metric, above)
        if len(changes):
            parts.append(f"{_range_text(changes)} ({label})")
    return ", ".join(parts)


def _nothing(key, claim, source, published, tables, rows: SweepRows, above, metrics, what):
    cases = held = 0
    for metric in metrics:
        changes = rows.changes(metric, above)
        cases += len(changes)
        held += int((changes.abs() < NOTHING).sum())
    scales = sorted(
        set(rows.frame["scale"][(rows.frame["scale"] > 1) if above else (rows.frame["scale"] < 1)])
    )
    if cases:
        sizes = listing(f"x{s:g}" for s in scales)
        text = (
            f"{sizes} {what} ({rows.levels()}): "
            + "; ".join(f"{m} {_by_model(rows, m, above)}" for m in metrics)
            + f"; under {NOTHING:.1%} in {held} of {cases}"
        )
    else:
        text = f"the config sweeps no {what} {'above' if above else 'below'} the design's own"
    return Conclusion(
        key,
        claim,
        source,
        published,
        text,
        Holds(held, cases, f"(design, energy model, size{', metric' if len(metrics) > 1 else ''})"),
        f"A case holds when the change is under {NOTHING:.1%}; every size is re-mapped.",
        SECTION_MEMORY,
    )


def _backing_store(tables: StudyTables) -> str:
    designs = [tables.strategy(name).design for name in tables.definition.swept]
    levels = [d.architecture.level(d.level_name("backing-store")) for d in designs]
    names = listing(dict.fromkeys(level.name for level in levels))
    if all(level.data_capacity is None for level in levels):
        return (
            f"the backing store ({names}) has no capacity limit in these designs and "
            "nothing below it (the study's disk), so its size changes nothing here"
        )
    return f"the config sweeps no capacity of the backing store ({names})"


def _on_chip(tables: StudyTables) -> str:
    parts = []
    for role in ("shared-buffer", "accumulator"):
        rows = memory_rows(tables, role, "data_capacity")
        if rows.frame.empty:
            continue
        top = rows.frame["scale"].max()
        at = SweepRows(rows.frame[rows.frame["scale"].isin([1.0, top])])
        by = []
        for structure in ("structured", "unstructured"):
            part = SweepRows(at.frame[at.frame["structure"] == structure])
            by.append(f"{structure} {_by_model(part, 'energy', True)}")
        parts.append(f"x{top:g} {rows.levels()} data: " + "; ".join(by))
    return ("on-chip instead, " + ". ".join(parts)) if parts else "no on-chip sweep either"


def dram_equal(tables: StudyTables) -> Conclusion:
    return Conclusion(
        "dram-equal",
        "More DRAM capacity lowers energy equally for structured and unstructured",
        "§IV.C, Fig. 4; poster",
        "more DRAM data and metadata capacity lowers energy by the same fixed amount for "
        "both (50% sparse)",
        _on_chip(tables),
        NotModelled(_backing_store(tables)),
        "The on-chip levels are not what the study varied; they are shown for what more "
        "memory does in this model.",
        SECTION_MEMORY,
    )


def dram_fades(tables: StudyTables) -> Conclusion:
    return Conclusion(
        "dram-fades",
        "The saving from more DRAM fades as it grows",
        "§IV.C, Fig. 4",
        "the energy improvement fades asymptotically as DRAM is expanded",
        "not measured (see the previous claim)",
        NotModelled(_backing_store(tables)),
        "Nothing in the model spills below the backing store.",
        SECTION_MEMORY,
    )


@dataclass(frozen=True)
class NoChange:
    """A claim that changing one shared-buffer parameter, up or down, changes nothing."""

    key: str
    claim: str
    source: str
    published: str
    parameter: str
    above: bool  # sizes above the design's own, else below
    metrics: tuple[str, ...]
    what: str

    def check(self, tables: StudyTables) -> Conclusion:
        return _nothing(
            self.key,
            self.claim,
            self.source,
            self.published,
            tables,
            memory_rows(tables, "shared-buffer", self.parameter),
            self.above,
            self.metrics,
            self.what,
        )


NO_CHANGE = (
    NoChange(
        "smem-larger",
        "A larger shared buffer does not change energy",
        "§IV.C",
        "no energy change from increasing the SMEM buffer",
        "data_capacity",
        True,
        ("energy",),
        "shared-buffer data capacity",
    ),
    NoChange(
        "smem-smaller",
        "A smaller shared buffer does not change energy",
        "§IV.C",
        "no change from decreasing the SRAM SMEM buffer",
        "data_capacity",
        False,
        ("energy",),
        "shared-buffer data capacity",
    ),
    NoChange(
        "metadata-larger",
        "More metadata storage alone changes neither energy nor cycles",
        "§IV.C; poster",
        "no energy or cycle change from more metadata RAM alone (the study's: DRAM's)",
        "metadata_capacity_bits",
        True,
        ("energy", "cycles"),
        "shared-buffer metadata capacity",
    ),
    NoChange(
        "metadata-smaller",
        "Less metadata storage changes nothing",
        "§IV.C",
        "no change from less metadata storage, down to a single bit (the study's: DRAM's)",
        "metadata_capacity_bits",
        False,
        ("energy",),
        "shared-buffer metadata capacity",
    ),
)


def data_only_equals_both(tables: StudyTables) -> Conclusion:
    data = memory_rows(tables, "shared-buffer", "data_capacity").frame
    both = memory_rows(tables, "shared-buffer", "data_capacity+metadata_capacity_bits").frame
    keys = ["strategy", "scale", "rescale_energy", "sweep_sparsity"]
    joined = data.merge(both, on=keys, suffixes=("", "_both"))
    joined = joined[joined["scale"] != 1.0]
    change = joined["energy_uJ"] / joined["energy_uJ_both"] - 1
    held = int((change.abs() < NOTHING).sum())
    text = (
        f"data alone / data and metadata together, "
        f"{listing(f'x{s:g}' for s in sorted(set(joined['scale'])))} the shared buffer "
        f"({SweepRows(joined).levels()}): {_range_text(change)}"
        if len(joined)
        else "the config has no shared-buffer sweep of data and metadata together"
    )
    return Conclusion(
        "data-only-equals-both",
        "Scaling data capacity alone equals scaling data and metadata capacity",
        "§IV.C",
        "changing only the data RAM size gives identical results to changing both",
        text,
        Holds(held, len(joined), "(design, energy model, size)"),
        f"A case holds when the two differ by under {NOTHING:.1%}.",
        SECTION_MEMORY,
    )


def lrf_width(tables: StudyTables) -> Conclusion:
    rows = memory_rows(tables, "pe-register", "metadata_word_bits").frame
    rows = rows[(rows["structure"] == "unstructured") & (rows["scale"] > 1)]
    published = "at most 1 uJ, about 0.25% (1/400) less energy for unstructured, fading"
    args = (LRF_TOLERANCE, 0.0, 100.0, " percentage points", "no change")
    if rows.empty:
        return Conclusion(
            "lrf-width",
            "A wider PE-register metadata store saves almost nothing",
            "§IV.C, Fig. 5; poster",
            published,
            "the config sweeps no unstructured PE-register metadata width",
            Close(LRF_WIDTH_CHANGE, float("nan"), *args),
            "Add a pe-register metadata_word_bits sweep with an unstructured strategy.",
            SECTION_MEMORY,
        )
    change = rows["energy_vs_baseline"] - 1
    largest = float(change.loc[change.abs().idxmax()])
    saved = float((rows["baseline_energy_uJ"] - rows["energy_uJ"]).max())
    return Conclusion(
        "lrf-width",
        "A wider PE-register metadata store saves almost nothing",
        "§IV.C, Fig. 5; poster",
        published,
        f"largest change {signed(largest)} "
        + (f"({saved:.2f} uJ saved at most)" if saved > 0.005 else "(no saving)")
        + f" at {listing(f'x{s:g}' for s in sorted(set(rows['scale'])))} the "
        f"{SweepRows(rows).levels()} metadata width, unstructured cores",
        Close(LRF_WIDTH_CHANGE, largest, *args),
        "Energy per access grows with the width while accesses shrink with it.",
        SECTION_MEMORY,
    )


CHECKS: dict[str, Callable[[StudyTables], Conclusion]] = {
    "dense-baseline": dense_baseline,
    "structured-cheaper": structured_cheaper,
    "structured-twice": structured_twice,
    "dual-unstructured-matches": dual_unstructured_matches,
    "converge": converge,
    "breakeven-single": breakeven_single,
    "breakeven-dual": breakeven_dual,
    "same-computes": same_computes,
    "cycles-crossover": cycles_crossover,
    "cycles-cause": cycles_cause,
    "dual-beats-single": dual_beats_single,
    "dual-low-sparsity": dual_at_low_sparsity,
    "poster-dual-overhead": poster_dual_overhead,
    "dual-cycles-proportional": dual_cycles_proportional,
    "dual-adjusted": dual_after_adjusting,
    "structured-adjusted": structured_after_adjusting,
    "dram-equal": dram_equal,
    "dram-fades": dram_fades,
    **{claim.key: claim.check for claim in NO_CHANGE},
    "data-only-equals-both": data_only_equals_both,
    "lrf-width": lrf_width,
}


def run_checks(tables: StudyTables) -> dict[str, Conclusion]:
    return {key: check(tables) for key, check in CHECKS.items()}
