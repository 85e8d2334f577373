"""The TASD paper's sparse-model EDP claims re-checked with activation gating.

The paper costs its sparse models (95%-sparse ResNet-50 and BERT-base) with TASD-W *and*
power gating of sparse activations (Sec. 5.3). This re-costs the ``sparsim study
tasd-hardware`` configurations of the sparse variants (its TASD-W series per layer, its
measured input densities, :mod:`sparsim.study.tasd_workloads`) on each TTC, once with
the activations costed dense (what the study's tables hold) and once gated at their
measured densities (:func:`sparsim.tasder.costing.other_operand`, what TASDER now
costs), plus the network-wise 4:8+1:8 on TTC-VEGETA-M8 of Sec. 5.3; every figure is a
reduction against the dense TC, beside the paper's.

    python benchmarks/bench_tasd_gating.py
"""

from __future__ import annotations

import argparse

from sparsim.designs.ttc import evaluate_pass, evaluate_series, structured_gemm
from sparsim.report.tables import format_table
from sparsim.spec.sparsity import TensorDensity
from sparsim.study.tasd_workloads import MODEL_TITLES, activations, layer_table, weight_series
from sparsim.tasd import parse_series

TTCS = ("TTC-STC-M4", "TTC-STC-M8", "TTC-VEGETA-M4", "TTC-VEGETA-M8")
# The paper's EDP reductions against the dense TC (Fig. 14, Sec. 5.2) and Sec. 5.3's
# energy / cycles / EDP reductions on sparse ResNet-50.
PAPER_EDP = {
    ("resnet50", "TTC-VEGETA-M8"): "83%",
    ("bert-base", "TTC-VEGETA-M8"): "82%",
    ("resnet50", "TTC-STC-M4"): "49%",
    ("bert-base", "TTC-STC-M4"): "53%",
}
PAPER_SECTION_53 = {
    "layer-wise": "energy 47%, cycles 61%, EDP 83%",
    "network-wise 4:8+1:8": "energy 53%, cycles 24%, EDP 75%",
}


def _totals(model: str, hardware: str, series_of, gated: bool) -> tuple[float, float]:
    """Energy (uJ) and cycles of the sparse ``model`` on ``hardware``."""
    densities = activations(model)
    energy = cycles = 0.0
    for row in layer_table(model):
        series = series_of(row.name)
        inputs = densities[row.name].density
        other = {"B": inputs} if gated and inputs < 1 else {}
        result = evaluate_series(hardware, row.workload, series or "dense", other)
        energy, cycles = energy + result.energy_uJ, cycles + result.cycles
    return energy, cycles


def _tc(model: str) -> tuple[float, float]:
    energy = cycles = 0.0
    for row in layer_table(model):
        gemm = structured_gemm(row.workload, None, "weights")
        result = evaluate_pass("tc", gemm, None, TensorDensity())[1]
        energy, cycles = energy + result.energy_uJ, cycles + result.cycles
    return energy, cycles


def _reductions(totals: tuple[float, float], tc: tuple[float, float]) -> str:
    energy, cycles = 1 - totals[0] / tc[0], 1 - totals[1] / tc[1]
    edp = 1 - totals[0] * totals[1] / (tc[0] * tc[1])
    return f"energy {100 * energy:.1f}%, cycles {100 * cycles:.1f}%, EDP {100 * edp:.1f}%"


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    rows = []
    for model in ("resnet50", "bert-base"):
        tc = _tc(model)
        for hardware in TTCS:
            chosen = weight_series(model, hardware)
            cells = [_reductions(_totals(model, hardware, chosen.get, g), tc) for g in (0, 1)]
            paper = PAPER_EDP.get((model, hardware), "-")
            if (model, hardware) == ("resnet50", "TTC-VEGETA-M8"):
                paper += f" (Sec. 5.3: {PAPER_SECTION_53['layer-wise']})"
            rows.append([f"sparse {MODEL_TITLES[model]}", hardware, "layer-wise", *cells, paper])
        every = parse_series("4:8+1:8")
        cells = [
            _reductions(_totals(model, "TTC-VEGETA-M8", lambda _, s=every: s, g), tc)
            for g in (0, 1)
        ]
        paper = PAPER_SECTION_53["network-wise 4:8+1:8"] if model == "resnet50" else "-"
        rows.append(
            [
                f"sparse {MODEL_TITLES[model]}",
                "TTC-VEGETA-M8",
                "network-wise 4:8+1:8",
                *cells,
                paper,
            ]
        )
    headers = [
        "model", "hardware", "TASD-W", "activations dense (vs TC)",
        "activations gated (vs TC)", "the paper (vs TC)",
    ]  # fmt: skip
    print(format_table(rows, headers))


if __name__ == "__main__":
    main()
