"""The ``tasd-hardware`` study's claims, report and files.

Each EDP claim of the TASD paper is a relative change against the TC; sparsim's number is
the same change from the study's totals, and the verdict follows
:func:`sparsim.report.verdicts.change_verdict` (agree within ten percentage points).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import sparsim
from sparsim.designs import build, get_design
from sparsim.designs.ttc import evaluate_pass, ttc_design_name
from sparsim.report.model import Chart, Citation, Conclusion, Report, Rerun, Section, Table
from sparsim.report.publish import modelled_tables, publish, work_table
from sparsim.report.verdicts import AGREE_WITHIN, change_text, change_verdict
from sparsim.report.work import work_decomposition
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.workload import Gemm
from sparsim.study.tasd_hardware import (
    ABLATION,
    BREAKDOWN_HARDWARE,
    BREAKDOWN_SERIES,
    DSTC,
    MAIN_DESIGNS,
    TC,
    TTCS,
    VEGETA_ONE_TERM,
    VEGETA_PLAIN,
    TasdHardwareTables,
)
from sparsim.study.tasd_workloads import (
    ALPHA,
    KEPT_MAGNITUDE,
    MODEL_TITLES,
    WEIGHT_SPARSITY,
    activation_data,
)
from sparsim.tasd import Pattern

COMMAND = "sparsim study tasd-hardware --out DIR"
PAPER = Citation(
    authors="Geonhwa Jeong, Po-An Tsai, Abhimanyu R. Bambhaniya, Stephen W. Keckler, "
    "Tushar Krishna",
    title="Abstracting Sparse DNN Acceleration via Structured Sparse Tensor Decomposition",
    venue="arXiv:2403.07953, 2024 (the TASD paper)",
    url="https://arxiv.org/abs/2403.07953",
)


@dataclass(frozen=True)
class Claim:
    """A published EDP change of ``design`` against the TC (``-0.58``: 58% lower)."""

    key: str
    design: str
    model: str | None  # None: over every model variant
    variant: str | None
    paper: float
    statistic: str = "value"  # value, best (lowest over the variants) or mean


CLAIMS = (
    Claim("vegeta-m8-dense-resnet50", "TTC-VEGETA-M8", "resnet50", "dense", -0.58),
    Claim("vegeta-m8-dense-bert", "TTC-VEGETA-M8", "bert-base", "dense", -0.61),
    Claim("vegeta-m8-sparse-resnet50", "TTC-VEGETA-M8", "resnet50", "sparse", -0.83),
    Claim("vegeta-m8-sparse-bert", "TTC-VEGETA-M8", "bert-base", "sparse", -0.82),
    Claim("stc-m4-dense-resnet50", "TTC-STC-M4", "resnet50", "dense", -0.04),
    Claim("stc-m4-dense-bert", "TTC-STC-M4", "bert-base", "dense", -0.32),
    Claim("stc-m4-sparse-resnet50", "TTC-STC-M4", "resnet50", "sparse", -0.49),
    Claim("stc-m4-sparse-bert", "TTC-STC-M4", "bert-base", "sparse", -0.53),
    Claim("dstc-dense-resnet50", DSTC, "resnet50", "dense", 0.12),
    Claim("dstc-dense-bert", DSTC, "bert-base", "dense", 1.67),
    Claim("dstc-sparse-bert", DSTC, "bert-base", "sparse", -0.55),
    Claim("dstc-sparse-resnet50", DSTC, "resnet50", "sparse", -0.87),
    Claim("up-to", "TTC-VEGETA-M8", None, None, -0.83, "best"),
    Claim("on-average", "TTC-VEGETA-M8", None, None, -0.74, "mean"),
)


def variant_title(model: str, variant: str) -> str:
    return f"{variant} {MODEL_TITLES[model]}"


def sparsim_change(claim: Claim, totals: pd.DataFrame) -> float:
    """sparsim's EDP change for a claim, from the totals table."""
    rows = totals[totals["design"] == claim.design]
    if claim.model is not None:
        rows = rows[(rows["model"] == claim.model) & (rows["variant"] == claim.variant)]
    changes = rows["edp_vs_tc"] - 1.0
    if claim.statistic == "best":
        return float(changes.min())
    if claim.statistic == "mean":
        return float(changes.mean())
    return float(changes.iloc[0])


def _claim_text(claim: Claim) -> str:
    if claim.statistic == "best":
        return f"{claim.design}: EDP up to {abs(claim.paper):.0%} lower than the TC (best model)"
    if claim.statistic == "mean":
        return f"{claim.design}: EDP {abs(claim.paper):.0%} lower on average (over the four models here)"
    return f"{claim.design} on {variant_title(claim.model, claim.variant)}: EDP vs TC"


def _row(totals: pd.DataFrame, design: str, model: str, variant: str) -> pd.Series:
    rows = totals[
        (totals["design"] == design) & (totals["model"] == model) & (totals["variant"] == variant)
    ]
    return rows.iloc[0]


def _sparsim_text(claim: Claim, totals: pd.DataFrame, change: float) -> str:
    """sparsim's EDP change, with the energy and cycle changes behind it."""
    if claim.model is None:
        return change_text(change)
    row = _row(totals, claim.design, claim.model, claim.variant)
    return (
        f"{change_text(change)} (energy {change_text(row['energy_vs_tc'] - 1)}, "
        f"cycles {change_text(row['cycles_vs_tc'] - 1)})"
    )


def _why(claim: Claim, tables: TasdHardwareTables) -> str:
    """What sets sparsim's number, in a sentence or two."""
    totals = tables.totals
    if claim.model is None:
        per = totals[totals["design"] == claim.design]
        return (
            "Per model: "
            + "; ".join(
                f"{variant_title(r.model, r.variant)} {change_text(r.edp_vs_tc - 1)}"
                for r in per.itertuples()
            )
            + "."
        )
    row = _row(totals, claim.design, claim.model, claim.variant)
    performed = f"performs {row['performed'] / row['algorithmic']:.0%} of the dense MACs"
    if claim.design == DSTC:
        skipped = (
            "zero activations only"
            if claim.variant == "dense"
            else f"{WEIGHT_SPARSITY:.0%}-sparse weights and zero activations"
        )
        text = (
            f"Skips {skipped}: {performed}; its outer-product dataflow and bitmasks cost "
            f"{_energy_per_mac_vs_tc(totals, row):.2g}x the TC's energy per performed MAC."
        )
        if change_verdict(claim.paper, sparsim_change(claim, totals)) != "agree":
            text += " The TASD paper's DSTC energy model is not the fig15 tables used here."
        return text
    series = _typical_series(tables, claim)
    if series is None:
        base = f"The rule puts no layer under TASD on {claim.design}: {performed}."
    else:
        base = f"Mostly {series} on {int(row['layers_tasd'])} layers: {performed}."
    if claim.variant == "dense" and claim.model == "bert-base":
        return base + (
            " Only FFN2 (a third of the MACs) is a TASD-A target; its GELU inputs (MiniLM) "
            "hold 99% of their magnitude in 83-92% of entries."
        )
    if claim.variant == "dense":
        measured = tables.activations[tables.activations["model"] == claim.model]
        return base + (
            f" ReLU input density (open_nsfw ResNet-50-thin): median "
            f"{measured['density'].median():.2f}."
        )
    return base + (
        " Stand-in weights have evenly spread zeros (not SparseZoo's); activations stream in full."
    )


def _energy_per_mac_vs_tc(totals: pd.DataFrame, row: pd.Series) -> float:
    tc = _row(totals, TC, row["model"], row["variant"])
    return (row["energy_uJ"] / row["performed"]) / (tc["energy_uJ"] / tc["performed"])


def _typical_series(tables: TasdHardwareTables, claim: Claim) -> str | None:
    configs = tables.configs
    chosen = configs[
        (configs["design"] == claim.design)
        & (configs["model"] == claim.model)
        & (configs["variant"] == claim.variant)
    ]["series"]
    return chosen.mode().iloc[0] if len(chosen) else None


def conclusions(tables: TasdHardwareTables) -> list[Conclusion]:
    out = []
    for claim in CLAIMS:
        ours = sparsim_change(claim, tables.totals)
        verdict = change_verdict(claim.paper, ours)
        out.append(
            Conclusion(
                claim=_claim_text(claim),
                paper=change_text(claim.paper),
                sparsim=_sparsim_text(claim, tables.totals, ours),
                verdict=verdict,
                why=_why(claim, tables),
                section=SECTION_EDP,
            )
        )
    return out


def claims_frame(tables: TasdHardwareTables) -> pd.DataFrame:
    """The claims table as data (tests check the verdicts against the totals)."""
    rows = []
    for claim, conclusion in zip(CLAIMS, conclusions(tables), strict=True):
        rows.append(
            {
                "key": claim.key,
                "claim": conclusion.claim,
                "design": claim.design,
                "model": claim.model or "all",
                "variant": claim.variant or "all",
                "statistic": claim.statistic,
                "paper_edp_change": claim.paper,
                "sparsim_edp_change": sparsim_change(claim, tables.totals),
                "tolerance": AGREE_WITHIN,
                "verdict": conclusion.verdict,
                "why": conclusion.why,
            }
        )
    return pd.DataFrame(rows)


SECTION_EDP = "1. EDP of every design (Fig. 14)"


def claims_chart_frame(claims: pd.DataFrame) -> pd.DataFrame:
    """Each claim's EDP change against the TC, the paper's and sparsim's side by side."""
    labels = []
    for row in claims.itertuples():
        if row.statistic == "value":
            labels.append(f"{row.design}, {variant_title(row.model, row.variant)}")
        else:
            labels.append(f"{row.design}, {'up to' if row.statistic == 'best' else 'average'}")
    parts = [
        pd.DataFrame(
            {
                "claim": labels,
                "source": source,
                "EDP change (%)": 100 * claims[column].to_numpy(),
                "verdict": claims["verdict"].to_numpy(),
            }
        )
        for source, column in (
            ("the TASD paper", "paper_edp_change"),
            ("sparsim", "sparsim_edp_change"),
        )
    ]
    return pd.concat(parts, ignore_index=True)


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
    """From specs built on one sparse ResNet-50 layer shape (3x3 conv of layer2)."""
    gemm = Gemm(name="M128-K1152-N784", M=128, K=1152, N=784)
    specs = {
        TC: (build("tc", gemm), get_design("tc").dataflow),
        DSTC: (
            build("dstc", gemm, {"A": 1 - WEIGHT_SPARSITY, "B": 0.5}),
            get_design("dstc").dataflow,
        ),
    }
    for hardware in TTCS:
        design = ttc_design_name(hardware)
        pattern = Pattern.parse(get_design(design).weight_support().split("/")[0])
        spec, _ = evaluate_pass(design, gemm, pattern, TensorDensity())
        specs[hardware] = (spec, get_design(design).dataflow)
    return modelled_tables(
        specs,
        "Designs",
        "TTCs run a TASD series as one structured pass per term on their hardware, fused "
        "over each tile of the dense operand with partial sums kept in the accumulators "
        "(sparsim.designs.ttc).",
    )


ASSUMPTIONS = (
    "Cycles are the slowest of the MACs and each level's bandwidth bound (no overlap "
    "penalty); energy is the engine's action counts times the fig15 energy tables "
    "(Sparseloop MICRO'22 artifact), int8.",
    "Layers run one after another: a model's energy and cycles are sums over its layers, "
    "its EDP their product; batch 1, image 224x224, BERT sequence 128.",
    "Every design is mapped by sparsim's heuristic mapper per layer shape; no mapping "
    "search across designs.",
    "Dense models: weights dense; activation densities measured on real models "
    "(ResNet-50: open_nsfw's ReLU ResNet-50-thin, layer by layer; BERT-base FFN2: GELU "
    "pseudo-densities of all-MiniLM-L6-v2, block i of BERT from block i*6//12 of MiniLM); "
    "other BERT inputs (after LayerNorm or attention) and ResNet-50's FC input are taken "
    "dense. The figures are committed data (src/sparsim/study/data/tasd_activations.yaml, "
    "{provenance}) so the study runs without torch.",
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
    "The TTC and the structured designs use the STC energy tables (cheaper SMEM per access "
    "than the TC's), so a TTC running dense already differs from the TC.",
)


def _assumptions() -> tuple[str, ...]:
    """The assumptions, with the measurements' provenance filled in."""
    measured = activation_data()["provenance"]
    provenance = (
        f"measured by {measured['script']} on {measured['date']} over "
        f"{measured['calibration_samples']} calibration samples"
    )
    return tuple(text.replace("{provenance}", provenance) for text in ASSUMPTIONS)


def report(tables: TasdHardwareTables, files: tuple[str, ...], date: str) -> Report:
    totals = _with_labels(tables.totals)
    main = totals[totals["design"].isin(MAIN_DESIGNS)]
    hover = ("energy_uJ", "cycles", "edp_J_cycles", "performed")
    found = conclusions(tables)
    counts = {v: sum(c.verdict == v for c in found) for v in ("agree", "partly", "disagree")}
    # the paper's order: DSTC, then VEGETA without TASDER, with it, with two-term series
    variants = {title: index for index, title in enumerate(dict.fromkeys(totals["model variant"]))}
    ablation = totals[totals["design"].isin(ABLATION)]
    ablation = ablation.assign(
        _variant=ablation["model variant"].map(variants),
        _design=ablation["design"].map(ABLATION.index),
    )
    ablation = ablation.sort_values(["_variant", "_design"]).drop(columns=["_variant", "_design"])
    breakdown = tables.breakdown.assign(model=tables.breakdown["model"].map(MODEL_TITLES))
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
                    "Every EDP claim: the TASD paper's change against the TC and sparsim's",
                    claims_chart_frame(claims_frame(tables)),
                    x="claim",
                    y="EDP change (%)",
                    y_label="EDP change vs TC (%)",
                    color="source",
                    hover=("verdict",),
                    reference=0.0,
                    caption="Below 0: lower EDP than the TC. A verdict of agree needs the "
                    "two within 10 percentage points (the table of conclusions says why "
                    "they differ).",
                ),
                Chart(
                    "edp",
                    "EDP relative to the TC",
                    main,
                    x="model variant",
                    y="edp_vs_tc",
                    y_label="EDP / TC EDP",
                    color="design",
                    hover=hover,
                    reference=1.0,
                ),
            ),
        ),
        Section(
            "2. Latency and energy (Fig. 15)",
            ("Cycles and energy relative to the TC: a design can win EDP by either.",),
            (),
            (
                Chart(
                    "cycles",
                    "Cycles relative to the TC",
                    main,
                    x="model variant",
                    y="cycles_vs_tc",
                    y_label="cycles / TC cycles",
                    color="design",
                    hover=hover,
                    reference=1.0,
                ),
                Chart(
                    "energy",
                    "Energy relative to the TC",
                    main,
                    x="model variant",
                    y="energy_vs_tc",
                    y_label="energy / TC energy",
                    color="design",
                    hover=hover,
                    reference=1.0,
                ),
            ),
        ),
        Section(
            "3. Ablation: what TASDER and the two-term series add (Fig. 18)",
            (
                f"{VEGETA_PLAIN}: the VEGETA-M8 hardware running every layer dense (it "
                f"cannot use unstructured sparsity); {VEGETA_ONE_TERM}: TASDER restricted to "
                "one native pattern per layer; TTC-VEGETA-M8: TASDER with two-term series.",
            ),
            (Table("Ablation", _totals_table(ablation)),),
            (
                Chart(
                    "ablation",
                    "Ablation: EDP relative to the TC",
                    ablation,
                    x="model variant",
                    y="edp_vs_tc",
                    y_label="EDP / TC EDP",
                    color="design",
                    hover=hover,
                    reference=1.0,
                ),
            ),
        ),
        Section(
            f"4. Where the energy goes: TC vs {BREAKDOWN_HARDWARE} on {BREAKDOWN_SERIES} (Fig. 19)",
            (
                f"Every layer's weights at {BREAKDOWN_SERIES} (two passes per layer) against "
                "the dense TC, energy per level summed over the model. The fused schedule "
                "moves the dense operand and outputs above the accumulators once; that "
                "saving is the negative segment.",
            ),
            (Table("Energy per level (uJ)", _breakdown_table(breakdown)),),
            (
                Chart(
                    "breakdown",
                    "Energy per level",
                    breakdown,
                    x="design",
                    y="energy_uJ",
                    y_label="energy (uJ)",
                    color="level",
                    facet="model",
                    kind="stacked",
                    hover=("energy_uJ",),
                ),
            ),
        ),
        Section(
            "5. Effectual vs ineffectual work",
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
                    log_y=True,
                ),
            ),
        ),
        Section(
            "6. TASDER's configurations",
            ("How many layers run each series (the rest dense), per design and model variant.",),
            (Table("Series chosen", _config_table(tables)),),
        ),
    )
    lead = (
        "The TASD paper's hardware evaluation on sparsim's engine: dense and sparse "
        "ResNet-50 and BERT-base on the dense tensor core (TC), DSTC and four TASD tensor "
        f"cores, with TASDER-chosen configurations. Of {len(found)} EDP claims: "
        f"{counts['agree']} agree (within {AGREE_WITHIN * 100:.0f} percentage points), "
        f"{counts['partly']} partly (same direction), {counts['disagree']} disagree. "
        "Behind every TTC row: the TTC hardware running all layers dense already has "
        f"energy {_plain_text(tables.totals, 'energy_vs_tc')} and cycles "
        f"{_plain_text(tables.totals, 'cycles_vs_tc')} against the TC (STC energy tables)."
    )
    return Report(
        title="TASD hardware evaluation: EDP, latency and energy of TASD tensor cores",
        lead=lead,
        published=PAPER,
        conclusions=tuple(found),
        modelled=_modelled(),
        assumptions=_assumptions(),
        sections=sections,
        rerun=Rerun(COMMAND, sparsim.__version__, date),
        files=files,
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
        index=["model", "design"], columns="level", values="energy_uJ", sort=False
    )
    table["net total"] = table.sum(axis=1)
    return table.reset_index().round(1)


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
        }
    )


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


TABLE_NAMES = ("totals", "layers", "breakdown", "configs", "activations", "claims")


def write_tasd_hardware(
    tables: TasdHardwareTables, out_dir: Path, jobs: int = 1
) -> tuple[list[Path], list[Conclusion]]:
    """Tidy tables (CSV and Parquet), figures and report.md/.html into ``out_dir``."""
    frames = {
        "totals": work_decomposition(tables.totals),
        "layers": tables.layers,
        "breakdown": tables.breakdown,
        "configs": tables.configs,
        "activations": tables.activations,
        "claims": claims_frame(tables),
    }
    paths, built = publish(frames, lambda files, date: report(tables, files, date), out_dir, jobs)
    return paths, list(built.conclusions)
