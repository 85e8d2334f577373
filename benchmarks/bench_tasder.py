"""TASDER figures per model: MAC and EDP reduction and quality after, for network-wise,
layer-wise with the MAC objective and layer-wise with the EDP objective, on TTC-VEGETA-M8
and TTC-STC-M4; checks that the EDP objective reaches at least the MAC objective's EDP
reduction at the same quality target.

* TASD-W on the 90%-pruned Fashion-MNIST ResNet (``fmnist-resnet-pruned``): network-wise
  (one series for all layers), layer-wise greedy.
* TASD-A on the dense Fashion-MNIST ResNet (``fmnist-resnet``): the TASD paper's rule
  with an alpha sweep (one alpha for the whole model) and the layer-wise greedy; the
  layer-wise MAC search is also run with the output-impact keep score (``--keep output``).
* With ``--real``, the installed real models (``scripts/install-models.sh``) the same
  way (TASD-A; keep their data sizes small: every evaluation runs the whole network).

EDP reductions are against the dense TC on the same layers (the engine's energy and cycles,
fused schedule). Search time is given with and without the quality evaluations.

    python benchmarks/bench_tasder.py [--evaluation-size 1000] [--target 0.99]
        [--patience 1|all] [--only weights|activations] [--no-keep] [--real]
"""

from __future__ import annotations

import argparse
import time

import torch

from sparsim.errors import SparsimError
from sparsim.report.tables import format_table
from sparsim.tasder import Tasder
from sparsim.tasder.models import load_real_model

HARDWARE = ("TTC-VEGETA-M8", "TTC-STC-M4")
ALPHAS = (-0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2)
REAL = ("mobilenet-v2", "resnet50-thin", "minilm-l6")


def runs(activations: bool, patience: int | None, keep: bool) -> list[tuple[str, dict]]:
    """(label, Tasder options) of the three searches compared, plus the keep score."""
    if activations:
        layerwise = {"method": "activations-layer-wise", "patience": patience}
        return [
            ("network-wise (alpha sweep)", {"method": "activations", "alphas": ALPHAS}),
            ("layer-wise, MAC objective", layerwise),
            ("layer-wise, EDP objective", {**layerwise, "objective": "edp"}),
        ] + (
            [("layer-wise, MAC objective, keep output", {**layerwise, "keep": "output"})]
            if keep
            else []
        )
    return [
        ("network-wise", {"method": "network-wise"}),
        ("layer-wise, MAC objective", {"method": "layer-wise", "patience": patience}),
        (
            "layer-wise, EDP objective",
            {"method": "layer-wise", "patience": patience, "objective": "edp"},
        ),
    ]


def bench_model(name: str, activations: bool, args: argparse.Namespace) -> list[list[str]]:
    started = time.perf_counter()
    real = load_real_model(
        name, calibration_size=args.calibration_size, evaluation_size=args.evaluation_size
    )
    batches = len(real.evaluator.batches)
    print(
        f"\n{name}: {'TASD-A' if activations else 'TASD-W'}, quality {real.evaluator.metric} "
        f"{real.evaluator.quality_:.4f} on its evaluation set ({batches} batches), loaded in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    rows, checks = [], []
    for hardware in HARDWARE:
        edp = {}
        for label, options in runs(activations, args.patience, not args.no_keep):
            if activations and "layers" not in options:
                options = {**options, "layers": real.activation_layers}
            search = Tasder(
                hardware, real.evaluator, target=args.target, pseudo=real.activation == "gelu",
                **options,
            ).fit(real.model, real.calibration, example=real.example)  # fmt: skip
            result = search.result_
            edp[label] = result.cost.edp_reduction("tc")
            rows.append(
                [
                    name,
                    hardware,
                    label,
                    f"{100 * result.mac_reduction:.1f}%",
                    f"{100 * edp[label]:.1f}%",
                    f"{100 * result.cost.energy_reduction('tc'):.1f}%",
                    f"{result.quality:.4f} ({100 * result.relative_quality:.2f}%)",
                    str(result.evaluations),
                    f"{result.seconds:.1f} / {result.search_seconds:.2f}",
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
        mac, energy_aware = edp["layer-wise, MAC objective"], edp["layer-wise, EDP objective"]
        verdict = "yes" if energy_aware >= mac - 1e-9 else "NO"
        checks.append(
            f"{name} on {hardware}: EDP objective {100 * energy_aware:.1f}% >= MAC objective "
            f"{100 * mac:.1f}%: {verdict}"
        )
    print("\n".join(checks), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--evaluation-size", type=int, default=1000)
    parser.add_argument("--calibration-size", type=int, default=64)
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--real", action="store_true", help="also the installed real models")
    parser.add_argument(
        "--patience",
        type=lambda text: None if text == "all" else int(text),
        default=1,
        help="layer-wise: rejections before stopping (default 1; 'all': every candidate)",
    )
    parser.add_argument("--no-keep", action="store_true", help="skip the keep-output run")
    parser.add_argument(
        "--only", choices=("weights", "activations"), help="only the TASD-W or TASD-A part"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    plan = [("fmnist-resnet-pruned", False), ("fmnist-resnet", True)]
    if args.only:
        plan = [(name, act) for name, act in plan if act == (args.only == "activations")]
    if args.real:
        plan += [(name, True) for name in REAL]
    rows = []
    for name, activations in plan:
        try:
            rows += bench_model(name, activations, args)
        except SparsimError as exc:
            print(f"\n{name}: skipped ({exc})")
    headers = [
        "model", "hardware", "search", "MAC red.", "EDP red. vs TC", "energy red. vs TC",
        "quality after (of original)", "evals", "time s (total / w/o evals)",
    ]  # fmt: skip
    print()
    print(format_table(rows, headers))


if __name__ == "__main__":
    main()
