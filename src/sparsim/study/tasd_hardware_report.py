"""The ``tasd-hardware`` study's claims, report and files.

Every claim of the TASD paper's hardware evaluation that the study can test is set against
sparsim's number on the same kind of thing, with a verdict computed by one rule of
:mod:`sparsim.report.verdicts`: a published change against the TC agrees within ten
percentage points (partly when further off in the same direction), a statement over
workloads or levels agrees when it holds in every case. Averages are taken the way the
paper takes them (its 74% and 35% are geometric means of its Fig. 14 bars, its
introduction's 70% near their arithmetic mean), both kinds shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import yaml

from sparsim.designs import build
from sparsim.designs.catalog import INPUTS, WEIGHTS, get_design
from sparsim.designs.ttc import evaluate_pass, ttc_design_name
from sparsim.report.model import Chart, Citation, Conclusion, Report, Section, Table
from sparsim.report.publish import (
    claims_frame,
    modelled_tables,
    publish,
    rerun,
    section_claims,
    work_table,
)
from sparsim.report.tables import by_process, process_text
from sparsim.report.verdicts import (
    AGREE_WITHIN,
    Close,
    Holds,
    NotModelled,
    arithmetic_mean_change,
    change,
    change_text,
    geometric_mean_change,
)
from sparsim.report.work import work_decomposition
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.workload import Gemm
from sparsim.study.sources import MICRO22_ARTIFACT
from sparsim.study.tasd_hardware import (
    ABLATION,
    BREAKDOWN_HARDWARE,
    BREAKDOWN_SERIES,
    DESIGN_KEYS,
    DSTC,
    MAIN_DESIGNS,
    NETWORK_WISE,
    TC,
    TTCS,
    VEGETA_ONE_TERM,
    VEGETA_PLAIN,
    VEGETA_TTC,
    TasdHardwareTables,
)
from sparsim.study.tasd_workloads import (
    ALPHA,
    KEPT_MAGNITUDE,
    MODEL_TITLES,
    MODELS,
    VARIANTS,
    WEIGHT_SPARSITY,
    activation_data,
    hardware_options,
    layer_table,
)
from sparsim.tasd import Pattern

COMMAND = "sparsim study tasd-hardware --out rerun"
SETTINGS_FILE = "settings.yaml"
PAPER = Citation(
    authors="Geonhwa Jeong, Po-An Tsai, Abhimanyu R. Bambhaniya, Stephen W. Keckler, "
    "Tushar Krishna",
    title="Abstracting Sparse DNN Acceleration via Structured Sparse Tensor Decomposition",
    venue="arXiv:2403.07953, 2024 (the TASD paper)",
    url="https://arxiv.org/abs/2403.07953",
    role="claims",
)
ARTIFACT = replace(
    MICRO22_ARTIFACT,
    role="the TC and DSTC baselines and energy tables (configured as the TASD paper says)",
)
WORKLOADS = tuple((model, variant) for model in MODELS for variant in VARIANTS)


@dataclass(frozen=True)
class Bar:
    """A Fig. 14 bar: ``design``'s EDP change against the TC (``-0.58``: 58% lower)."""

    design: str
    model: str
    variant: str
    paper: float


# Fig. 14, as section 5.2 quotes its bars.
FIG14 = (
    Bar("TTC-VEGETA-M8", "resnet50", "dense", -0.58),
    Bar("TTC-VEGETA-M8", "bert-base", "dense", -0.61),
    Bar("TTC-VEGETA-M8", "resnet50", "sparse", -0.83),
    Bar("TTC-VEGETA-M8", "bert-base", "sparse", -0.82),
    Bar("TTC-STC-M4", "resnet50", "dense", -0.04),
    Bar("TTC-STC-M4", "bert-base", "dense", -0.32),
    Bar("TTC-STC-M4", "resnet50", "sparse", -0.49),
    Bar("TTC-STC-M4", "bert-base", "sparse", -0.53),
    Bar(DSTC, "resnet50", "dense", 0.12),
    Bar(DSTC, "bert-base", "dense", 1.67),
    Bar(DSTC, "bert-base", "sparse", -0.55),
    Bar(DSTC, "resnet50", "sparse", -0.87),
)
UP_TO = -0.83  # abstract, section 7
ON_AVERAGE = -0.74  # abstract, section 7
ON_AVERAGE_INTRO = -0.70  # section 1
DSTC_AVERAGE = -0.35  # section 5.2
SLOWER_THAN_DSTC = 1.22  # Fig. 15 / section 5.2: TTC-VEGETA-M8 on sparse ResNet-50
RATIO_TOLERANCE = 0.10
NETWORK_WISE_CHANGES = {"cycles": -0.24, "energy": -0.53, "edp": -0.75}  # section 5.3
LAYER_WISE_CHANGES = {"energy": -0.47, "cycles": -0.61}  # section 5.3 (EDP: Fig. 14's 83%)
FIG19_SAVING = -0.55  # section 5.5
AREA_SHARE = 0.02  # section 5.6
UNSTRUCTURED_AREA = {"SIGMA": 0.377, "SCNN": 0.34, "Griffin": 0.32}  # section 2.3, Table 1
PE_REGISTER = "pe-register"  # the role of the level that, with the MACs, makes a PE

SECTION_EDP = "1. EDP of every design (Fig. 14)"
SECTION_FIG15 = "2. Latency and energy (Fig. 15)"
SECTION_53 = "3. TASD on sparse ResNet-50 (section 5.3)"
SECTION_ABLATION = "4. Ablation: what TASDER and the decomposition units add (Fig. 18)"
SECTION_BREAKDOWN = (
    f"5. Where the energy goes: TC vs {BREAKDOWN_HARDWARE} at {BREAKDOWN_SERIES} (Fig. 19)"
)
SECTION_TABLE4 = "6. The representative layers (Table 4)"
SECTION_AREA = "9. Area: the designs' silicon and EDP x area (sections 2.3, 5.2, 5.6)"


def percent_less(ratio: float) -> str:
    """``0.48`` -> ``52%``; a share under 1% keeps a decimal (a near tie reads as one)."""
    saved = 100 * (1 - ratio)
    return f"{saved:.1f}%" if abs(saved) < 1 else f"{saved:.0f}%"


def variant_title(model: str, variant: str) -> str:
    return f"{variant} {MODEL_TITLES[model]}"


def _row(totals: pd.DataFrame, design: str, model: str, variant: str) -> pd.Series:
    rows = totals[
        (totals["design"] == design) & (totals["model"] == model) & (totals["variant"] == variant)
    ]
    return rows.iloc[0]


def _changes_text(row: pd.Series) -> str:
    return (
        f"{change_text(row['edp_vs_tc'] - 1)} (energy {change_text(row['energy_vs_tc'] - 1)}, "
        f"cycles {change_text(row['cycles_vs_tc'] - 1)})"
    )


def _energy_per_mac_vs_tc(totals: pd.DataFrame, row: pd.Series) -> float:
    tc = _row(totals, TC, row["model"], row["variant"])
    return (row["energy_uJ"] / row["performed"]) / (tc["energy_uJ"] / tc["performed"])


def _typical_series(tables: TasdHardwareTables, design: str, model: str, variant: str):
    configs = tables.configs
    chosen = configs[
        (configs["design"] == design)
        & (configs["model"] == model)
        & (configs["variant"] == variant)
    ]["series"]
    return chosen.mode().iloc[0] if len(chosen) else None


def _targets(tables: TasdHardwareTables, model: str) -> tuple[float, pd.DataFrame]:
    """The share of ``model``'s MACs in TASD-A target layers, and their measurements."""
    measured = tables.activations[tables.activations["model"] == model]
    targets = measured[measured["rule_sparsity"].notna()]
    macs = {row.name: row.macs for row in layer_table(model)}
    share = sum(macs[name] for name in targets["layer"]) / sum(macs.values())
    return share, targets


def _why(tables: TasdHardwareTables, design: str, model: str, variant: str) -> str:
    """What sets sparsim's number, from the run's tables."""
    totals = tables.totals
    row = _row(totals, design, model, variant)
    performed = f"performs {row['performed'] / row['algorithmic']:.0%} of the dense MACs"
    if design == DSTC:
        skipped = (
            "zero activations only"
            if variant == "dense"
            else f"{WEIGHT_SPARSITY:.0%}-sparse weights and zero activations"
        )
        return (
            f"Skips {skipped}: {performed} at {_energy_per_mac_vs_tc(totals, row):.2g}x the "
            "TC's energy per performed MAC (outer products and bitmasks)."
        )
    series = _typical_series(tables, design, model, variant)
    if series is None:
        base = f"No layer runs a TASD series on {design}: {performed}."
    else:
        base = f"Mostly {series} on {int(row['layers_tasd'])} layers: {performed}."
    if variant == "dense":
        share, targets = _targets(tables, model)
        pseudo = 1 - targets["rule_sparsity"]
        if model == "bert-base":
            return base + (
                f" TASD-A targets the FFN2 layers ({share:.0%} of the MACs); their GELU inputs "
                f"hold 99% of their magnitude in {pseudo.min():.0%}-{pseudo.max():.0%} of "
                "the entries."
            )
        return base + (
            f" TASD-A targets {share:.0%} of the MACs; ReLU input density median "
            f"{targets['density'].median():.2f}."
        )
    return base + (
        " The stand-in weights have evenly spread zeros (not SparseZoo's); the TTCs stream "
        "the activations in full."
    )


def _fig14(tables: TasdHardwareTables, bar: Bar) -> Conclusion:
    row = _row(tables.totals, bar.design, bar.model, bar.variant)
    title = variant_title(bar.model, bar.variant)
    return Conclusion(
        f"fig14-{bar.design}-{bar.variant}-{bar.model}".lower(),
        f"EDP of {bar.design} on {title}",
        "Fig. 14, §5.2",
        f"{change_text(bar.paper)} than the TC",
        _changes_text(row),
        change(bar.paper, float(row["edp_vs_tc"] - 1)),
        _why(tables, bar.design, bar.model, bar.variant),
        SECTION_EDP,
    )


def _ratios(tables: TasdHardwareTables, design: str, metric: str = "edp_vs_tc") -> list[float]:
    return [float(_row(tables.totals, design, m, v)[metric]) for m, v in WORKLOADS]


def _paper_ratios(design: str) -> list[float]:
    return [1 + bar.paper for bar in FIG14 if bar.design == design]


def _per_workload(tables: TasdHardwareTables, design: str) -> str:
    return "; ".join(
        f"{variant_title(m, v)} {change_text(r - 1)}"
        for (m, v), r in zip(WORKLOADS, _ratios(tables, design), strict=True)
    )


def up_to(tables: TasdHardwareTables) -> Conclusion:
    best = min(_ratios(tables, VEGETA_TTC)) - 1
    return Conclusion(
        "up-to",
        f"{VEGETA_TTC} improves EDP by up to 83%",
        "abstract; §1; §7",
        f"up to {change_text(UP_TO)} EDP than the TC",
        f"up to {change_text(best)}",
        change(UP_TO, best),
        f"Best of the four workloads. Per workload: {_per_workload(tables, VEGETA_TTC)}.",
        SECTION_EDP,
    )


def _means(ratios: list[float]) -> tuple[float, float]:
    return geometric_mean_change(ratios), arithmetic_mean_change(ratios)


def _average(
    key: str, claim: str, source: str, design: str, paper: float, kind: str
) -> Callable[[TasdHardwareTables], Conclusion]:
    """A published average of ``design``'s EDP change over the four workloads, taken as
    ``kind`` (geometric or arithmetic) mean, both kinds shown for sparsim and the paper's
    own Fig. 14 bars."""

    def check(tables: TasdHardwareTables) -> Conclusion:
        ours = dict(zip(("geometric", "arithmetic"), _means(_ratios(tables, design)), strict=True))
        bars = dict(zip(("geometric", "arithmetic"), _means(_paper_ratios(design)), strict=True))
        other = "arithmetic" if kind == "geometric" else "geometric"
        return Conclusion(
            key,
            claim,
            source,
            f"{change_text(paper)} EDP on average; the {kind} mean of its four Fig. 14 bars is "
            f"{change_text(bars[kind])} ({other}: {change_text(bars[other])})",
            f"{change_text(ours[kind])} ({kind} mean; {other} {change_text(ours[other])})",
            change(paper, ours[kind]),
            f"Taken as the {kind} mean of the four workloads' EDP ratios. Per workload: "
            f"{_per_workload(tables, design)}.",
            SECTION_EDP,
        )

    return check


def ttcs_all_better(tables: TasdHardwareTables) -> Conclusion:
    cases = [(h, m, v) for h in TTCS for m, v in WORKLOADS]
    worse = [(h, m, v) for h, m, v in cases if _row(tables.totals, h, m, v)["edp_vs_tc"] >= 1]
    return Conclusion(
        "ttcs-all-better",
        "Every TTC improves EDP over the TC on every workload",
        "§5.2",
        "all four TTCs lower EDP than the TC on all four workloads",
        f"lower at {len(cases) - len(worse)} of {len(cases)}"
        + (
            "; not " + ", ".join(f"{h} on {variant_title(m, v)}" for h, m, v in worse)
            if worse
            else ""
        ),
        Holds(len(cases) - len(worse), len(cases), "(TTC, workload) pairs"),
        "A TTC runs the layers TASDER leaves dense as the TC does, on the structured core's "
        "energy tables; the decomposed layers add their savings.",
        SECTION_EDP,
    )


def flexibility(tables: TasdHardwareTables) -> Conclusion:
    cases, held, against = 0, 0, []
    for family in ("TTC-STC", "TTC-VEGETA"):
        for m, v in WORKLOADS:
            m4 = _row(tables.totals, f"{family}-M4", m, v)["edp_J_cycles"]
            m8 = _row(tables.totals, f"{family}-M8", m, v)["edp_J_cycles"]
            cases += 1
            if m8 <= m4:
                held += 1
            else:
                against.append(f"{family} on {variant_title(m, v)} ({100 * (m8 / m4 - 1):+.1f}%)")
    return Conclusion(
        "flexibility",
        "More flexibility (N:8 over N:4) increases the benefit",
        "§5.2",
        "the M8 designs improve EDP more than the M4 designs",
        f"M8 EDP at most M4's at {held} of {cases}"
        + ("; not " + ", ".join(against) if against else ""),
        Holds(held, cases, "(family, workload) pairs"),
        "A family's M4 and M8 designs share their hardware; only the series TASDER can "
        "choose differ.",
        SECTION_EDP,
    )


def most_energy_efficient(tables: TasdHardwareTables) -> Conclusion:
    totals = tables.totals[tables.totals["design"].isin(MAIN_DESIGNS)]
    held, against, winners = 0, [], set()
    for m, v in WORKLOADS:
        rows = totals[(totals["model"] == m) & (totals["variant"] == v)]
        best = rows.loc[rows["energy_uJ"].idxmin()]
        ours = _row(totals, VEGETA_TTC, m, v)["energy_uJ"]
        winners.add(best["design"])
        if best["design"] == VEGETA_TTC:
            held += 1
        else:
            against.append(
                f"{best['design']} on {variant_title(m, v)} "
                f"({percent_less(best['energy_uJ'] / ours)} less energy than {VEGETA_TTC})"
            )
    return Conclusion(
        "most-energy-efficient",
        f"{VEGETA_TTC} is always the most energy-efficient design",
        "Fig. 15, §5.2",
        "the lowest energy of the six designs on all four workloads",
        f"lowest on {held} of {len(WORKLOADS)}" + ("; " + "; ".join(against) if against else ""),
        Holds(held, len(WORKLOADS), "workloads"),
        (
            "DSTC skips the zeros of both operands; the TTCs run the weights' structured "
            "terms and stream the activations in full."
            if DSTC in winners
            else "Energy per workload: see the energy chart."
        ),
        SECTION_FIG15,
    )


def slower_than_dstc(tables: TasdHardwareTables) -> Conclusion:
    ours = _row(tables.totals, VEGETA_TTC, "resnet50", "sparse")["cycles"]
    dstc = _row(tables.totals, DSTC, "resnet50", "sparse")["cycles"]
    return Conclusion(
        "slower-than-dstc",
        f"{VEGETA_TTC} is slower than DSTC on sparse ResNet-50 by 22%",
        "Fig. 15, §5.2",
        f"{SLOWER_THAN_DSTC:.2f}x DSTC's cycles (22% slower), sparse ResNet-50",
        f"{ours / dstc:.2f}x DSTC's cycles",
        Close(SLOWER_THAN_DSTC, float(ours / dstc), RATIO_TOLERANCE, 1.0, 1.0, "x", "1x"),
        f"DSTC performs {_row(tables.totals, DSTC, 'resnet50', 'sparse')['performed']:.3g} "
        f"MACs there, {VEGETA_TTC} {_row(tables.totals, VEGETA_TTC, 'resnet50', 'sparse')['performed']:.3g}.",
        SECTION_FIG15,
    )


def only_slower_there(tables: TasdHardwareTables) -> Conclusion:
    others = [(m, v) for m, v in WORKLOADS if (m, v) != ("resnet50", "sparse")]
    performed = "; ".join(
        f"{variant_title(m, v)} {_row(tables.totals, VEGETA_TTC, m, v)['performed']:.3g} vs "
        f"{_row(tables.totals, DSTC, m, v)['performed']:.3g}"
        for m, v in others
    )
    slower = []
    for m, v in others:
        ratio = (
            _row(tables.totals, VEGETA_TTC, m, v)["cycles"]
            / _row(tables.totals, DSTC, m, v)["cycles"]
        )
        if ratio > 1:
            slower.append(f"{variant_title(m, v)} ({ratio:.2f}x)")
    return Conclusion(
        "only-slower-there",
        f"{VEGETA_TTC} is slower than DSTC on no other workload",
        "Fig. 15, §5.2",
        "slower than DSTC only on sparse ResNet-50",
        f"as fast or faster on {len(others) - len(slower)} of {len(others)} other workloads"
        + ("; slower on " + ", ".join(slower) if slower else ""),
        Holds(len(others) - len(slower), len(others), "other workloads"),
        f"MACs performed, {VEGETA_TTC} vs DSTC: {performed}.",
        SECTION_FIG15,
    )


def _sparse_resnet(tables: TasdHardwareTables, design: str) -> pd.Series:
    return _row(tables.totals, design, "resnet50", "sparse")


def network_wise(metric: str) -> Callable[[TasdHardwareTables], Conclusion]:
    column = {"cycles": "cycles_vs_tc", "energy": "energy_vs_tc", "edp": "edp_vs_tc"}[metric]
    words = {"cycles": "cycles", "energy": "energy", "edp": "EDP"}[metric]

    def check(tables: TasdHardwareTables) -> Conclusion:
        row = _sparse_resnet(tables, NETWORK_WISE)
        paper = NETWORK_WISE_CHANGES[metric]
        return Conclusion(
            f"network-wise-{metric}",
            f"Network-wise {BREAKDOWN_SERIES} on sparse ResNet-50: {words}",
            "§5.3",
            f"{change_text(paper)} {words} than the dense baseline, with power gating of "
            "sparse activations",
            f"{change_text(row[column] - 1)} {words} ({BREAKDOWN_SERIES} on all "
            f"{len(layer_table('resnet50'))} layers)",
            change(paper, float(row[column] - 1)),
            f"{BREAKDOWN_HARDWARE} performs {row['performed'] / row['algorithmic']:.0%} of the "
            "dense MACs; sparsim's TTCs neither skip nor gate zero activations.",
            SECTION_53,
        )

    return check


def layer_wise(metric: str) -> Callable[[TasdHardwareTables], Conclusion]:
    column = {"cycles": "cycles_vs_tc", "energy": "energy_vs_tc"}[metric]

    def check(tables: TasdHardwareTables) -> Conclusion:
        row = _sparse_resnet(tables, VEGETA_TTC)
        paper = LAYER_WISE_CHANGES[metric]
        return Conclusion(
            f"layer-wise-{metric}",
            f"Layer-wise TASD-W on sparse ResNet-50: {metric}",
            "§5.3",
            f"{change_text(paper)} {metric} than the dense baseline (EDP: Fig. 14's 83%)",
            f"{change_text(row[column] - 1)} {metric}",
            change(paper, float(row[column] - 1)),
            _why(tables, VEGETA_TTC, "resnet50", "sparse"),
            SECTION_53,
        )

    return check


def vegeta_without_tasder(tables: TasdHardwareTables) -> Conclusion:
    ratios = _ratios(tables, VEGETA_PLAIN)
    held = sum(abs(r - 1) <= AGREE_WITHIN for r in ratios)
    energy = sorted({change_text(r - 1) for r in _ratios(tables, VEGETA_PLAIN, "energy_vs_tc")})
    return Conclusion(
        "vegeta-without-tasder",
        "VEGETA without TASDER gains nothing on off-the-shelf models",
        "Fig. 18, §5.4",
        "no EDP improvement on any of the four workloads",
        f"EDP within {100 * AGREE_WITHIN:.0f} percentage points of the TC's on {held} of "
        f"{len(ratios)} "
        f"({_per_workload(tables, VEGETA_PLAIN)})",
        Holds(held, len(ratios), "workloads (EDP within 10 percentage points of the TC's)"),
        f"Every layer runs dense; the energy is {' to '.join(energy)} than the TC's only "
        "because its hardware uses the structured core's energy tables (cheaper shared "
        "memory per access than the TC's).",
        SECTION_ABLATION,
    )


def vegeta_with_tasder(tables: TasdHardwareTables) -> Conclusion:
    sparse = [(m, v) for m, v in WORKLOADS if v == "sparse"]
    better = [
        (m, v)
        for m, v in sparse
        if _row(tables.totals, VEGETA_ONE_TERM, m, v)["edp_J_cycles"]
        < _row(tables.totals, VEGETA_PLAIN, m, v)["edp_J_cycles"]
    ]
    return Conclusion(
        "vegeta-with-tasder",
        "With TASDER, VEGETA exploits the weight sparsity of sparse models",
        "Fig. 18, §5.4",
        "VEGETA with TASDER (weights only) improves EDP on sparse ResNet-50 and BERT",
        f"lower EDP than without TASDER on {len(better)} of {len(sparse)} sparse models ("
        + "; ".join(
            f"{variant_title(m, v)} {change_text(_row(tables.totals, VEGETA_ONE_TERM, m, v)['edp_vs_tc'] - 1)} vs TC"
            for m, v in sparse
        )
        + ")",
        Holds(len(better), len(sparse), "sparse models"),
        "TASD on the weights only, one native pattern (1:8, 2:8 or 4:8) per layer: VEGETA "
        "has no decomposition units, so the dense models run dense.",
        SECTION_ABLATION,
    )


def ttc_further(tables: TasdHardwareTables) -> Conclusion:
    held, against = 0, []
    for m, v in WORKLOADS:
        ttc = _row(tables.totals, VEGETA_TTC, m, v)["edp_J_cycles"]
        vegeta = _row(tables.totals, VEGETA_ONE_TERM, m, v)["edp_J_cycles"]
        if ttc < vegeta:
            held += 1
        else:
            against.append(variant_title(m, v))
    return Conclusion(
        "ttc-further",
        f"{VEGETA_TTC} improves EDP further on every model",
        "Fig. 18, §5.4",
        "lower EDP than VEGETA with TASDER on all four workloads",
        f"lower on {held} of {len(WORKLOADS)}"
        + ("; not on " + ", ".join(against) if against else ""),
        Holds(held, len(WORKLOADS), "workloads"),
        "TTC-VEGETA-M8 adds TASD-A on the dense models and two-term series.",
        SECTION_ABLATION,
    )


def _breakdown_totals(tables: TasdHardwareTables) -> pd.DataFrame:
    return tables.breakdown.groupby(["label", "design"], sort=False)["energy_uJ"].sum()


def fig19_saving(tables: TasdHardwareTables) -> Conclusion:
    breakdown = tables.breakdown
    by_design = breakdown.groupby("design", sort=False)["energy_uJ"].sum()
    label = f"{BREAKDOWN_HARDWARE} ({BREAKDOWN_SERIES})"
    ours = float(by_design[label] / by_design[TC] - 1)
    per_layer = _breakdown_totals(tables)
    layers = list(dict.fromkeys(breakdown["label"]))
    return Conclusion(
        "fig19-saving",
        f"{BREAKDOWN_HARDWARE} at {BREAKDOWN_SERIES} saves 55% energy on a sparse ResNet-50 layer",
        "Fig. 19, §5.5",
        f"{change_text(FIG19_SAVING)} energy than the TC on a representative layer of sparse "
        "ResNet-50",
        f"{change_text(ours)} on Table 4's layers {', '.join(layers)} together ("
        + ", ".join(
            f"{layer} {change_text(per_layer[(layer, label)] / per_layer[(layer, TC)] - 1)}"
            for layer in layers
        )
        + ")",
        change(FIG19_SAVING, ours),
        "The paper does not say which representative layer Fig. 19 shows; the verdict takes "
        "Table 4's three together.",
        SECTION_BREAKDOWN,
    )


def fig19_all_levels(tables: TasdHardwareTables) -> Conclusion:
    breakdown = tables.breakdown
    label = f"{BREAKDOWN_HARDWARE} ({BREAKDOWN_SERIES})"
    wide = breakdown.pivot_table(
        index=["label", "level"], columns="design", values="energy_uJ", sort=False
    )
    saved = wide[label] < wide[TC]
    against = [
        f"{lv} on {la} ({wide.loc[(la, lv), label] / wide.loc[(la, lv), TC] - 1:+.0%})"
        for la, lv in wide.index[~saved]
    ]
    return Conclusion(
        "fig19-all-levels",
        f"{BREAKDOWN_HARDWARE} saves energy at every level",
        "Fig. 19, §5.5",
        "less energy than the TC at all levels of the architecture",
        f"less at {int(saved.sum())} of {len(saved)} (layer, level) pairs"
        + ("; more: " + ", ".join(against) if against else ""),
        Holds(int(saved.sum()), len(saved), "(layer, level) pairs"),
        "Each level's energy counts the fused schedule's saving at that level (the dense "
        "operand and the outputs move once above the accumulators).",
        SECTION_BREAKDOWN,
    )


def table4(tables: TasdHardwareTables) -> Conclusion:
    found = tables.representative
    present = found[found["layer"] != ""]
    return Conclusion(
        "table4-layers",
        "Table 4's representative layers are layers of the two models",
        "Table 4",
        "three representative layers (early, mid, late) per model",
        f"{len(present)} of {len(found)} found in sparsim's layer tables ("
        + ", ".join(
            f"{MODEL_TITLES[r.model]} {r.label} {r.paper_shape} = {r.layer}"
            for r in present.itertuples()
        )
        + ")",
        Holds(len(present), len(found), "layers"),
        "Matched by the reduction K and by the other two dimensions as a pair (the paper "
        "writes ResNet-50's pixels as M and BERT's features as M).",
        SECTION_TABLE4,
    )


def pe_area_um2(design: str) -> float:
    """The area of all PEs of a design: its MACs and its PE registers (the level playing
    the ``pe-register`` role), from its area table."""
    found = get_design(design)
    architecture = found.architecture
    registers = architecture.level(found.level_name(PE_REGISTER))
    compute = architecture.compute
    return registers.area * registers.instances + compute.area * compute.instances


def _registers(design: str) -> str:
    """``1024 PE registers of 95.68 um^2``: a design's PE-register level in words."""
    found = get_design(design)
    level = found.architecture.level(found.level_name(PE_REGISTER))
    return f"{level.instances} PE registers of {level.area:,.2f} um^2"


def tasd_unit_area(tables: TasdHardwareTables) -> Conclusion:
    design = ttc_design_name(VEGETA_TTC)
    pe = pe_area_um2(design)
    total = float(_row(tables.totals, VEGETA_TTC, "resnet50", "sparse")["area_um2"])
    units = AREA_SHARE * pe
    return Conclusion(
        "tasd-unit-area",
        "The TASD units cost at most 2% of the PEs' area",
        "§5.6",
        f"up to {AREA_SHARE:.0%} of the area of all PEs (RTL synthesis, 15 nm)",
        f"no TASD unit in any area table; at {AREA_SHARE:.0%} of {VEGETA_TTC}'s PEs "
        f"({pe * 1e-6:.3f} mm^2 of MACs and PE registers) they would add "
        f"{units * 1e-6:.4f} mm^2, {units / total:.2%} of its {total * 1e-6:.3f} mm^2",
        NotModelled(
            "the artifact's area tables (the TTCs' hardware) hold storage and MACs, no TASD "
            "unit, and sparsim has no model of a comparator tree's area"
        ),
        "The TTC rows report the STC hardware's area without the units; at the paper's "
        "share they would move its EDAP by the same fraction of a percent.",
        SECTION_AREA,
    )


def unstructured_area(tables: TasdHardwareTables) -> Conclusion:
    """Table 1's area column: unstructured support (DSTC among its examples) costs much
    area, structured support little; here DSTC against the structured core's tables."""
    structured_design = ttc_design_name(VEGETA_TTC)
    dstc = float(_row(tables.totals, DSTC, "resnet50", "sparse")["area_um2"])
    structured = float(_row(tables.totals, VEGETA_TTC, "resnet50", "sparse")["area_um2"])
    smallest = min(UNSTRUCTURED_AREA.values())
    ours = dstc / structured - 1.0
    cited = ", ".join(f"{name} +{share:.1%}" for name, share in UNSTRUCTURED_AREA.items())
    return Conclusion(
        "unstructured-area",
        "Unstructured sparse hardware (DSTC among Table 1's examples) costs much more area "
        "than structured sparse hardware",
        "Table 1, §2.3",
        f"over a dense baseline: {cited} (at least {smallest:.0%})",
        f"DSTC {dstc * 1e-6:.3f} mm^2 vs the structured core's {structured * 1e-6:.3f} "
        f"mm^2 in the MICRO'22 artifact's tables: {change_text(ours)}",
        change(smallest, ours),
        "The artifact's area tables hold storage and MACs only: no distribution or "
        "reduction network and no index matching, where the cited overheads are; "
        f"DSTC's PEs take {pe_area_um2('dstc') * 1e-6:.3f} mm^2 ({_registers('dstc')}), "
        f"the structured core's {pe_area_um2(structured_design) * 1e-6:.3f} mm^2 "
        f"({_registers(structured_design)}).",
        SECTION_AREA,
    )


def better_tradeoff_with_area(tables: TasdHardwareTables) -> Conclusion:
    """Section 5.2: TASD is a better trade-off than unstructured accelerators, "especially
    considering their high area overheads": EDP x area, TTC-VEGETA-M8 against DSTC (both
    on the artifact's 45 nm tables)."""
    held, lines = 0, []
    for m, v in WORKLOADS:
        ours = float(_row(tables.totals, VEGETA_TTC, m, v)["edap_J_cycles_mm2"])
        dstc = float(_row(tables.totals, DSTC, m, v)["edap_J_cycles_mm2"])
        held += ours < dstc
        lines.append(f"{variant_title(m, v)} {ours / dstc:.2f}x")
    return Conclusion(
        "better-tradeoff-with-area",
        f"{VEGETA_TTC} is a better trade-off than the unstructured DSTC once area counts",
        "§5.2",
        "a better overall trade-off than unstructured sparse accelerators, especially "
        "considering their high area overheads (no number)",
        f"{VEGETA_TTC}'s EDP x area against DSTC's: " + "; ".join(lines),
        Holds(held, len(WORKLOADS), "workloads"),
        "Area from the artifact's tables, which give DSTC no area overhead (see the "
        "unstructured-area claim): the EDP x area comparison is the EDP one scaled by "
        "their area ratio.",
        SECTION_AREA,
    )


CHECKS: tuple[Callable[[TasdHardwareTables], Conclusion], ...] = (
    *(lambda tables, bar=bar: _fig14(tables, bar) for bar in FIG14),
    up_to,
    _average(
        "on-average",
        f"{VEGETA_TTC} improves EDP by 74% on average",
        "abstract; §7",
        VEGETA_TTC,
        ON_AVERAGE,
        "geometric",
    ),
    _average(
        "on-average-intro",
        f"{VEGETA_TTC} improves EDP by 70% on average",
        "§1",
        VEGETA_TTC,
        ON_AVERAGE_INTRO,
        "arithmetic",
    ),
    _average(
        "dstc-average",
        "DSTC improves EDP by 35% on average",
        "§5.2",
        DSTC,
        DSTC_AVERAGE,
        "geometric",
    ),
    ttcs_all_better,
    flexibility,
    most_energy_efficient,
    slower_than_dstc,
    only_slower_there,
    network_wise("cycles"),
    network_wise("energy"),
    network_wise("edp"),
    layer_wise("energy"),
    layer_wise("cycles"),
    vegeta_without_tasder,
    vegeta_with_tasder,
    ttc_further,
    fig19_saving,
    fig19_all_levels,
    table4,
    unstructured_area,
    better_tradeoff_with_area,
    tasd_unit_area,
)


def conclusions(tables: TasdHardwareTables) -> list[Conclusion]:
    return [check(tables) for check in CHECKS]


def claims_chart_frame(claims: pd.DataFrame) -> pd.DataFrame:
    """Each published change against the TC beside sparsim's (the claims table's rows whose
    rule compares a change with no change: Fig. 14, the averages, sections 5.3 and 5.5)."""
    changes = claims[(claims["rule"] == "close") & (claims["reference"] == 0.0)]
    changes = changes[changes["sparsim_value"].notna()]
    labels = changes["claim"].str.removeprefix("EDP of ").to_numpy()
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "claim": labels,
                    "source": source,
                    "change vs TC (%)": 100 * changes[column].to_numpy(),
                    "verdict": changes["verdict"].to_numpy(),
                }
            )
            for source, column in (
                ("the TASD paper", "published_value"),
                ("sparsim", "sparsim_value"),
            )
        ],
        ignore_index=True,
    )


def _with_labels(totals: pd.DataFrame) -> pd.DataFrame:
    labelled = totals.copy()
    labelled["model variant"] = [
        variant_title(m, v) for m, v in zip(totals["model"], totals["variant"], strict=True)
    ]
    return labelled


def decomposition(totals: pd.DataFrame) -> pd.DataFrame:
    work = work_decomposition(totals)
    tc = work[work["design"] == TC].set_index(["model", "variant"])
    rows = []
    for row in work.itertuples():
        base = tc.loc[(row.model, row.variant)]
        for factor, value, reference in (
            ("performed MACs per cycle", row.performed_per_cycle, base["performed_per_cycle"]),
            ("performed MACs per nJ", row.performed_per_nJ, base["performed_per_nJ"]),
            ("effectual / performed", row.effectual_per_performed, base["effectual_per_performed"]),
        ):
            rows.append(
                {
                    "model variant": variant_title(row.model, row.variant),
                    "design": row.design,
                    "factor": factor,
                    "vs TC": value / reference,
                    "value": value,
                }
            )
    return pd.DataFrame(rows)


def _work_table(totals: pd.DataFrame) -> pd.DataFrame:
    titles = [variant_title(m, v) for m, v in zip(totals["model"], totals["variant"], strict=True)]
    return work_table(totals, {"model variant": titles, "design": totals["design"]})


def _modelled() -> tuple[Table, ...]:
    """From specs built on Table 4's first ResNet-50 layer (a 3x3 conv of layer2)."""
    gemm = Gemm(name="M128-K1152-N784", M=128, K=1152, N=784)
    specs = {
        TC: (build("tc", gemm), get_design("tc").dataflow),
        DSTC: (
            build("dstc", gemm, {WEIGHTS: 1 - WEIGHT_SPARSITY, INPUTS: 0.5}),
            get_design("dstc").dataflow,
        ),
    }
    for hardware in TTCS:
        design = ttc_design_name(hardware)
        pattern = Pattern.parse(get_design(design).weight_support().split("/")[0])
        spec, _ = evaluate_pass(design, gemm, pattern, TensorDensity())
        specs[hardware] = (spec, get_design(design).dataflow)
    patterns = {TC: "none", DSTC: "any (both operands)"}
    for hardware in TTCS:
        patterns[hardware] = ", ".join(str(series) for series in hardware_options(hardware))
    return modelled_tables(
        specs,
        "Designs",
        "TTCs run a TASD series as one structured pass per term on their hardware, fused "
        "over each tile of the dense operand with partial sums kept in the accumulators.",
        {"N:M series it runs (sparsest first)": [patterns[title] for title in specs]},
    )


ASSUMPTIONS = (
    "Cycles are the slowest of the MACs and each level's bandwidth bound (no overlap "
    "penalty); energy is the engine's action counts times the MICRO'22 artifact's int8 "
    "energy tables.",
    "Layers run one after another: a model's energy and cycles are sums over its layers, "
    "its EDP their product; batch 1, image 224x224, BERT sequence 128.",
    "Every design is mapped by sparsim's heuristic mapper per layer shape; no mapping "
    "search across designs.",
    "Dense models: weights dense; activation densities measured on real models "
    "(ResNet-50: open_nsfw's ReLU ResNet-50-thin, layer by layer; BERT-base FFN2: GELU "
    "pseudo-densities of all-MiniLM-L6-v2, block i of BERT from block i*6//12 of MiniLM); "
    "other BERT inputs (after LayerNorm or attention) and ResNet-50's FC input are taken "
    "dense. The figures ship with sparsim ({provenance}), so the study runs without torch.",
    f"Sparse models: weights drawn from a normal distribution and magnitude-pruned to "
    f"{WEIGHT_SPARSITY:.0%} layer by layer (stand-in for SparseZoo's pruned ResNet-50 and "
    "BERT, not available offline); zeros fall evenly, unlike a trained pruned model.",
    f"TASDER's choices: TASD-A on dense models by the TASD paper's sparsity-degree rule "
    f"(alpha {ALPHA['resnet50']:g} for ResNet-50; {ALPHA['bert-base']:g} for BERT, the "
    "value TASDER's search chose on MiniLM at 99% quality); TASD-W on sparse models: the "
    f"most aggressive series keeping {KEPT_MAGNITUDE:.0%} of each layer's weight magnitude "
    "(no accuracy is measured: ImageNet and GLUE are not available offline).",
    "Unstructured zeros are spread uniformly (DSTC's skipping, TASD's dropped nonzeros of "
    "activations: binomial blocks).",
    "Convolutions' N:M blocks run along input channels within one filter position; "
    "channels are padded to whole blocks.",
    "The TTCs and VEGETA use the structured core's energy tables (cheaper shared memory "
    "per access than the TC's), so a TTC running dense already differs from the TC.",
)


def _assumptions() -> tuple[str, ...]:
    """The assumptions, with the measurements' provenance filled in."""
    measured = activation_data()["provenance"]
    provenance = (
        f"measured on {measured['date']} over {measured['calibration_samples']} calibration samples"
    )
    return tuple(text.replace("{provenance}", provenance) for text in ASSUMPTIONS)


def bottom_line(tables: TasdHardwareTables, found: list[Conclusion]) -> str:
    totals = tables.totals[tables.totals["design"].isin(MAIN_DESIGNS)]
    best = []
    for m, v in WORKLOADS:
        rows = totals[(totals["model"] == m) & (totals["variant"] == v)]
        row = rows.loc[rows["edp_J_cycles"].idxmin()]
        best.append(
            f"{row['design']} on {variant_title(m, v)} ({change_text(row['edp_vs_tc'] - 1)})"
        )
    geometric, _ = _means(_ratios(tables, VEGETA_TTC))
    disagree = sum(c.verdict == "disagree" for c in found)
    return (
        f"Lowest EDP: {'; '.join(best)}. {VEGETA_TTC} lowers EDP by "
        f"{change_text(geometric).removesuffix(' lower')} on average (geometric mean; the "
        f"paper: {change_text(ON_AVERAGE).removesuffix(' lower')}). sparsim disagrees with "
        f"{disagree} of the paper's {len(found)} claims."
    )


def _breakdown_frame(tables: TasdHardwareTables) -> pd.DataFrame:
    breakdown = tables.breakdown
    return breakdown.assign(
        panel=[
            f"{label}: {layer}"
            for label, layer in zip(breakdown["label"], breakdown["layer"], strict=True)
        ]
    )


def _table4_table(tables: TasdHardwareTables) -> pd.DataFrame:
    """Per representative layer, model variant and main design: EDP, energy and cycles
    against the TC on that layer."""
    layers = tables.layers
    rows = []
    for r in tables.representative[tables.representative["layer"] != ""].itertuples():
        for variant in VARIANTS:
            at = layers[
                (layers["model"] == r.model)
                & (layers["variant"] == variant)
                & (layers["layer"] == r.layer)
            ].set_index("design")
            tc = at.loc[TC]
            row = {"layer": f"{MODEL_TITLES[r.model]} {r.label} ({r.layer})", "variant": variant}
            for design in MAIN_DESIGNS[1:]:
                ours = at.loc[design]
                edp = ours["energy_uJ"] * ours["cycles"] / (tc["energy_uJ"] * tc["cycles"])
                row[f"{design} EDP vs TC"] = round(float(edp), 3)
            rows.append(row)
    return pd.DataFrame(rows)


def settings_text() -> str:
    """What this run used (the study takes no config: these are its fixed settings)."""
    measured = activation_data()["provenance"]
    settings = {
        "study": "tasd-hardware (takes no config; these are the settings it ran with)",
        "models": list(MODELS),
        "variants": list(VARIANTS),
        "designs": list(dict.fromkeys([*MAIN_DESIGNS, *ABLATION, NETWORK_WISE])),
        "tasd_a_alpha": dict(ALPHA),
        "sparse_weight_sparsity": WEIGHT_SPARSITY,
        "tasd_w_kept_magnitude": KEPT_MAGNITUDE,
        "fig19_series": BREAKDOWN_SERIES,
        "activation_measurements": {
            "date": str(measured["date"]),
            "calibration_samples": measured["calibration_samples"],
        },
    }
    return yaml.safe_dump(settings, sort_keys=False)


def report(
    tables: TasdHardwareTables, found: list[Conclusion], files: tuple[str, ...], date: str
) -> Report:
    totals = _with_labels(tables.totals)
    main = totals[totals["design"].isin(MAIN_DESIGNS)]
    hover = ("energy_uJ", "cycles", "edp_J_cycles", "performed")
    labels = (("model variant", "model"), ("design", "design"), ("level", "level"))
    # the paper's order: DSTC, then VEGETA without TASDER, with it, TTC-VEGETA
    variants = {title: index for index, title in enumerate(dict.fromkeys(totals["model variant"]))}
    ablation = totals[totals["design"].isin(ABLATION)]
    ablation = ablation.assign(
        _variant=ablation["model variant"].map(variants),
        _design=ablation["design"].map(ABLATION.index),
    )
    ablation = ablation.sort_values(["_variant", "_design"]).drop(columns=["_variant", "_design"])
    network_wise_rows = totals[
        (totals["model"] == "resnet50")
        & (totals["variant"] == "sparse")
        & totals["design"].isin([TC, VEGETA_TTC, NETWORK_WISE])
    ]

    def ratio_chart(name: str, title: str, frame: pd.DataFrame, y: str, y_label: str) -> Chart:
        return Chart(
            name,
            title,
            frame,
            x="model variant",
            y=y,
            y_label=y_label,
            color="design",
            hover=hover,
            reference=1.0,
            ratio=True,
            labels=labels,
            caption="Bars grow from 1 (the TC): below the line, lower than the TC.",
        )

    sections = (
        Section(
            SECTION_EDP,
            (
                "EDP of each design relative to the dense TC on the four model variants "
                "(below 1: better). Every TTC runs its TASDER configuration (TASD-A on the "
                "dense models, TASD-W on the sparse ones).",
            ),
            (Table("Totals", _totals_table(main)),),
            (
                Chart(
                    "claims",
                    "Every published change against the TC, the TASD paper's and sparsim's",
                    claims_chart_frame(claims_frame(found)),
                    x="claim",
                    y="change vs TC (%)",
                    y_label="change vs TC (%): EDP, or the energy or cycles the claim names",
                    color="source",
                    kind="hbar",
                    hover=("verdict",),
                    reference=0.0,
                    caption="Left of 0: lower EDP than the TC. A verdict of agree needs the "
                    "two within 10 percentage points.",
                ),
                ratio_chart("edp", "EDP relative to the TC", main, "edp_vs_tc", "EDP / TC EDP"),
            ),
        ),
        Section(
            SECTION_FIG15,
            ("Cycles and energy relative to the TC: a design can win EDP by either.",),
            (),
            (
                ratio_chart(
                    "cycles",
                    "Cycles relative to the TC",
                    main,
                    "cycles_vs_tc",
                    "cycles / TC cycles",
                ),
                ratio_chart(
                    "energy",
                    "Energy relative to the TC",
                    main,
                    "energy_vs_tc",
                    "energy / TC energy",
                ),
            ),
        ),
        Section(
            SECTION_53,
            (
                f"Network-wise: {BREAKDOWN_SERIES} on the weights of every layer of sparse "
                f"ResNet-50 on {BREAKDOWN_HARDWARE}; layer-wise: TASDER's choice per layer "
                f"(the {VEGETA_TTC} row of Fig. 14).",
            ),
            (Table("Sparse ResNet-50", _totals_table(network_wise_rows)),),
        ),
        Section(
            SECTION_ABLATION,
            (
                f"{VEGETA_PLAIN}: the VEGETA-M8 hardware running every layer dense (it "
                f"cannot use unstructured sparsity); {VEGETA_ONE_TERM}: TASD on the weights "
                "only, one native pattern per layer (no decomposition units, so the dense "
                f"models run dense); {VEGETA_TTC}: TASDER with the decomposition units and "
                "two-term series.",
            ),
            (Table("Ablation", _totals_table(ablation)),),
            (
                ratio_chart(
                    "ablation",
                    "Ablation: EDP relative to the TC",
                    ablation,
                    "edp_vs_tc",
                    "EDP / TC EDP",
                ),
            ),
        ),
        Section(
            SECTION_BREAKDOWN,
            (
                f"Table 4's ResNet-50 layers, sparse weights at {BREAKDOWN_SERIES} (two passes "
                "per layer) against the dense TC, energy per level; each level counts the "
                "fused schedule's saving there.",
            ),
            (Table("Energy per level (uJ)", _breakdown_table(tables.breakdown)),),
            (
                Chart(
                    "breakdown",
                    "Energy per level",
                    _breakdown_frame(tables),
                    x="design",
                    y="energy_uJ",
                    y_label="energy (uJ)",
                    color="level",
                    facet="panel",
                    kind="stacked",
                    hover=("energy_uJ",),
                    labels=labels,
                ),
            ),
        ),
        Section(
            SECTION_TABLE4,
            (
                "Figs. 14 and 15 show each model's three representative layers beside the "
                "whole network; here each design's EDP against the TC on those layers.",
            ),
            (Table("EDP on the representative layers", _table4_table(tables)),),
        ),
        Section(
            "7. Effectual vs ineffectual work",
            (
                "Dense-equivalent MACs per cycle (and per nJ) = performed MACs per cycle (per "
                "nJ) x effectual / performed x 1 / (effectual / algorithmic). The last factor "
                "is the model's own sparsity; a design wins by a higher first factor (faster "
                "or cheaper operations) or a higher second one (less ineffectual work). The "
                "chart shows the first two relative to the TC.",
            ),
            (Table("Decomposition", _work_table(main), _work_summary(main)),),
            (
                Chart(
                    "work",
                    "Work factors relative to the TC",
                    decomposition(main),
                    x="design",
                    y="vs TC",
                    y_label="x TC",
                    color="factor",
                    facet="model variant",
                    hover=("value",),
                    reference=1.0,
                    ratio=True,
                    labels=labels,
                    caption="Bars grow from 1 (the TC's own factor).",
                ),
            ),
        ),
        Section(
            "8. TASDER's configurations",
            ("How many layers run each series (the rest dense), per design and model variant.",),
            (Table("Series chosen", _config_table(tables)),),
        ),
        Section(
            SECTION_AREA,
            (
                "Each design's area from its area table (the MICRO'22 artifact's ART: "
                "storage levels and MACs; the TTCs and VEGETA on the structured core's "
                "hardware, their TASD units in no table), and EDP x area (EDAP) relative to "
                f"the TC. {_processes_text()}",
            ),
            (Table("Area per design", _area_table(tables)),),
            (
                ratio_chart(
                    "edap", "EDP x area relative to the TC", main, "edap_vs_tc", "EDAP / TC EDAP"
                ),
            ),
        ),
    )
    sections = tuple(
        replace(section, tables=(*section_claims(found, section.title), *section.tables))
        for section in sections
    )
    lead = (
        "The TASD paper's hardware evaluation on sparsim's engine: dense and sparse "
        "ResNet-50 and BERT-base on the dense tensor core (TC), DSTC and four TASD tensor "
        "cores with TASDER-chosen configurations, its ablation, its energy breakdown and "
        "section 5.3's sparse ResNet-50 runs. Behind every TTC row: the TTC hardware running "
        f"all layers dense already has energy {_plain_text(tables.totals, 'energy_vs_tc')} "
        f"and cycles {_plain_text(tables.totals, 'cycles_vs_tc')} against the TC."
    )
    return Report(
        title="TASD hardware evaluation: EDP, latency and energy of TASD tensor cores",
        lead=lead,
        published=(PAPER, ARTIFACT),
        conclusions=tuple(found),
        modelled=_modelled(),
        assumptions=_assumptions(),
        sections=sections,
        rerun=rerun(COMMAND, date),
        files=files,
        bottom_line=bottom_line(tables, found),
    )


def _work_summary(totals: pd.DataFrame) -> str:
    """Per model variant: how the lowest-EDP design beats the TC, factor by factor."""
    factors = decomposition(totals).set_index(["model variant", "design", "factor"])["vs TC"]
    parts = []
    for title, rows in totals.groupby("model variant", sort=False):
        best = rows.loc[rows["edp_vs_tc"].idxmin(), "design"]
        parts.append(
            f"{title}: {best} does "
            f"{factors[(title, best, 'effectual / performed')]:.2g}x the TC's effectual share, "
            f"{factors[(title, best, 'performed MACs per cycle')]:.2g}x its MACs per cycle and "
            f"{factors[(title, best, 'performed MACs per nJ')]:.2g}x its MACs per nJ"
        )
    return "Lowest EDP per model: " + "; ".join(parts) + "."


def _plain_text(totals: pd.DataFrame, ratio: str) -> str:
    """The range of the plain TTC hardware's change against the TC over the models."""
    plain = totals[totals["design"] == VEGETA_PLAIN][ratio] - 1
    low, high = change_text(plain.min()), change_text(plain.max())
    return low if low == high else f"{low} to {high}"


def _breakdown_table(breakdown: pd.DataFrame) -> pd.DataFrame:
    table = breakdown.pivot_table(
        index=["label", "layer", "design"], columns="level", values="energy_uJ", sort=False
    )
    table["total"] = table.sum(axis=1)
    return table.reset_index().round(2)


def _totals_table(totals: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model variant": totals["model variant"],
            "design": totals["design"],
            "energy (uJ)": totals["energy_uJ"].round(1),
            "cycles": totals["cycles"].round(0),
            "EDP vs TC": totals["edp_vs_tc"].round(3),
            "energy vs TC": totals["energy_vs_tc"].round(3),
            "cycles vs TC": totals["cycles_vs_tc"].round(3),
            "layers under TASD": totals["layers_tasd"].astype(int),
            "area (mm^2)": (totals["area_um2"] * 1e-6).round(3),
            "EDAP vs TC": totals["edap_vs_tc"].round(3),
        }
    )


def _processes_text() -> str:
    """Which process each design's tables are for, and what that means for comparing."""
    processes = by_process(
        (
            design,
            get_design(DESIGN_KEYS.get(design) or ttc_design_name(design)).architecture.technology,
        )
        for design in MAIN_DESIGNS
    )
    if len(processes) == 1:
        return f"All the tables are for {next(iter(processes))}."
    return (
        f"The tables come from different processes ({process_text(processes)}): compare "
        "areas across them with that in mind, within one directly."
    )


def _area_table(tables: TasdHardwareTables) -> pd.DataFrame:
    """One row per design of Fig. 14: its process, PE, other and total area."""
    rows = []
    for design in MAIN_DESIGNS:
        key = DESIGN_KEYS.get(design) or ttc_design_name(design)
        total = float(tables.totals.loc[tables.totals["design"] == design, "area_um2"].iloc[0])
        pe = pe_area_um2(key)
        rows.append(
            {
                "design": design,
                "tables' process": get_design(key).architecture.technology or "not stated",
                "PEs (MACs + PE registers), mm^2": round(pe * 1e-6, 4),
                "buffers above the PEs, mm^2": round((total - pe) * 1e-6, 4),
                "total, mm^2": round(total * 1e-6, 4),
            }
        )
    return pd.DataFrame(rows)


def _config_table(tables: TasdHardwareTables) -> pd.DataFrame:
    configs = tables.configs
    if configs.empty:
        return pd.DataFrame({"note": ["no layer runs a TASD series"]})
    counts = configs.groupby(["model", "variant", "design", "series"], sort=False).size()
    rows = []
    for (model, variant, design), group in counts.groupby(level=[0, 1, 2], sort=False):
        rows.append(
            {
                "model variant": variant_title(model, variant),
                "design": design,
                "series (layers)": ", ".join(f"{s} ({n})" for (*_, s), n in group.items()),
            }
        )
    return pd.DataFrame(rows)


TABLE_NAMES = (
    "totals",
    "layers",
    "breakdown",
    "configs",
    "activations",
    "representative",
    "claims",
)


def write_tasd_hardware(
    tables: TasdHardwareTables, out_dir: Path, jobs: int = 1
) -> tuple[list[Path], list[Conclusion]]:
    """Tidy tables (CSV and Parquet), the run's settings, figures and report.md/.html into
    ``out_dir``."""
    found = conclusions(tables)
    frames = {
        "totals": work_decomposition(tables.totals),
        "layers": tables.layers,
        "breakdown": tables.breakdown,
        "configs": tables.configs,
        "activations": tables.activations,
        "representative": tables.representative,
        "claims": claims_frame(found),
    }
    paths, built = publish(
        frames,
        lambda files, date: report(tables, found, files, date),
        out_dir,
        jobs,
        {SETTINGS_FILE: settings_text()},
    )
    return paths, list(built.conclusions)
