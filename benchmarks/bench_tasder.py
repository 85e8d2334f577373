"""TASDER figures per model (issue 13's table): baseline quality with its 95% interval and
sample size; MAC and EDP reduction and quality after for network-wise, layer-wise with the
MAC objective and layer-wise with the EDP objective, on TTC-VEGETA-M8 and TTC-STC-M4; a
check that the EDP objective reaches at least the MAC objective's EDP reduction at the
same quality target; and magnitude against output impact as the score of which entries a
term keeps.

* TASD-W on pruned models: the 90%-pruned Fashion-MNIST ResNet (``fmnist-resnet-pruned``)
  and, with ``--real``, the 50%-pruned MobileNetV2 (``mobilenet-v2-fmnist-pruned``).
  Network-wise is one series for all layers.
* TASD-A on dense models: the Fashion-MNIST ResNet (``fmnist-resnet``) and, with
  ``--real``, MobileNetV2 (ImageNet weights, ridge head) and all-MiniLM-L6-v2 (its FFN2
  inputs). Network-wise is the TASD paper's rule with an alpha sweep (one alpha for the
  whole model).

The searches choose on the validation split (``--evaluation-size`` samples, 5,000 by
default: all Fashion-MNIST has) under a decision rule (``--rules``): ``bound`` (the default
of TASDER: the lower end of the paired margin's 95% interval at or above zero) and/or
``point`` (the former rule: the point estimate). Each chosen configuration is then scored on
the held-out test split (``--test-size``): its ratio to the original, the paired margin
with its interval and n; a row whose test ratio is below the target is flagged, and the
flagged rows are counted per rule. With both rules, what the bound rule costs in MAC and
EDP reduction against the point rule is summed up at the end. EDP reductions are against
the dense TC on the same layers (the engine's energy and cycles, fused schedule, inputs
gated at their measured density) and against the plain design (the same TTC, every layer
dense, inputs gated alike: what TASD itself saves). Search time is given with and without the quality
evaluations. The keep-score table applies each listed series to every eligible layer and
measures the validation quality with each score.

    python benchmarks/bench_tasder.py [--real] [--models a,b] [--evaluation-size 5000]
        [--test-size 5000] [--rules bound,point] [--target 0.99] [--patience 1|all]
        [--no-keep]
"""

from __future__ import annotations

import argparse
import time

import torch

from sparsim.errors import SparsimError
from sparsim.report.tables import format_table
from sparsim.tasd import parse_series
from sparsim.tasder import ActivationTasd, Tasder, WeightTasd, input_channel_norms
from sparsim.tasder.models import RealModel, load_real_model
from sparsim.tasder.quality import Evaluator
from sparsim.tasder.search import weight_candidates
from sparsim.workload.extract import extract_workloads

HARDWARE = ("TTC-VEGETA-M8", "TTC-STC-M4")
ALPHAS = (-0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2)
# (model, TASD-A?) in the order they run
DEFAULT = (("fmnist-resnet-pruned", False), ("fmnist-resnet", True))
REAL = (("mobilenet-v2", True), ("mobilenet-v2-fmnist-pruned", False), ("minilm-l6", True))
# Series the keep scores are compared on (TTC-VEGETA-M8), every eligible layer at once:
# inputs are dense, so milder series than for the pruned weights.
KEEP_SERIES = {"weights": ("4:8", "2:8+1:8", "2:8"), "activations": ("4:8+2:8", "4:8+1:8", "4:8")}


def runs(activations: bool, patience: int | None) -> list[tuple[str, dict]]:
    """(label, Tasder options) of the three searches compared."""
    if activations:
        layerwise = {"method": "activations-layer-wise", "patience": patience}
        network = {"method": "activations", "alphas": ALPHAS}
    else:
        layerwise = {"method": "layer-wise", "patience": patience}
        network = {"method": "network-wise"}
    return [
        ("network-wise", network),
        ("layer-wise, MAC objective", layerwise),
        ("layer-wise, EDP objective", {**layerwise, "objective": "edp"}),
    ]


def test_split(real: RealModel) -> Evaluator:
    return next(e for e in real.extra_evaluators.values() if e.split == "test")


FLAG = 11  # the column of _row's flag


def _row(name: str, hardware: str, label: str, rule: str, search: Tasder, target: float):
    """A table row: reductions, the selection margin's lower end, the test report, and
    a flag where the test ratio misses the target."""
    result = search.result_
    selection, test = result.selection, result.test
    chosen = selection is not None
    return [
        name,
        hardware,
        label,
        rule,
        f"{100 * result.mac_reduction:.1f}%",
        f"{100 * result.cost.edp_reduction('tc'):.1f}%",
        f"{100 * result.cost.edp_reduction('plain'):.1f}%",
        f"{100 * selection.ratio:.2f}% / {selection.margin_low:+.4f}" if chosen else "dense",
        f"{100 * test.ratio:.2f}%",
        f"{test.margin:+.4f} [{test.margin_low:+.4f}, {test.margin_high:+.4f}]",
        f"{test.n:,}",
        "BELOW TARGET" if test.ratio < target else "",
        str(result.evaluations),
        f"{result.seconds:.0f} / {result.search_seconds:.1f}",
    ]


def bench_model(name: str, activations: bool, args: argparse.Namespace) -> list[list[str]]:
    started = time.perf_counter()
    real = load_real_model(
        name,
        calibration_size=args.calibration_size,
        evaluation_size=args.evaluation_size,
        test_size=args.test_size,
        batch_size=args.batch_size,
        head_size=args.head_size,
    )
    test = test_split(real)
    print(
        f"\n{name}: {'TASD-A' if activations else 'TASD-W'}, {real.evaluator.metric}; "
        f"baseline validation {real.evaluator.estimate_}, test {test.estimate_}; best "
        f"constant output {test.chance_:.4f}; loaded in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    rows, checks = [], []
    for hardware in () if args.keep_only else HARDWARE:
        for rule in args.rules.split(","):
            edp = {}
            for label, options in runs(activations, args.patience):
                if activations:
                    options = {**options, "layers": real.activation_layers}
                search = Tasder(
                    hardware, real.evaluator, target=args.target, rule=rule, test=test,
                    pseudo=real.activation == "gelu", **options,
                ).fit(real.model, real.calibration, example=real.example)  # fmt: skip
                edp[label] = search.result_.cost.edp_reduction("tc")
                rows.append(_row(name, hardware, label, rule, search, args.target))
                print(" | ".join(rows[-1]), flush=True)
            mac, energy_aware = edp["layer-wise, MAC objective"], edp["layer-wise, EDP objective"]
            verdict = "yes" if energy_aware >= mac - 1e-9 else "NO"
            checks.append(
                f"{name} on {hardware} ({rule}): EDP objective {100 * energy_aware:.1f}% >= "
                f"MAC objective {100 * mac:.1f}% EDP reduction: {verdict}"
            )
    if checks:
        print("\n".join(checks), flush=True)
    if not args.no_keep:
        keep_scores(real, activations)
    return rows


def keep_scores(real: RealModel, activations: bool) -> None:
    """Validation quality with each series on every eligible layer, entries kept by
    magnitude and by output impact."""
    model, evaluator = real.model, real.evaluator
    if activations:
        layers = real.activation_layers
    else:
        # the layers every listed series saves MACs on
        table = extract_workloads(model, real.example)
        options = [parse_series(text) for text in KEEP_SERIES["weights"]]
        candidates = weight_candidates(model, table, options)
        layers = [
            name
            for name in sorted({c.layer for c in candidates})
            if sum(c.layer == name for c in candidates) == len(options)
        ]
        norms = input_channel_norms(model, real.calibration, layers)
    lines = []
    for series in KEEP_SERIES["activations" if activations else "weights"]:
        quality = {}
        for keep in ("magnitude", "output"):
            chosen = dict.fromkeys(layers, series)
            if activations:
                handle = ActivationTasd(chosen, keep=keep).prepare(model)
                try:
                    quality[keep] = evaluator.estimate(model)
                finally:
                    handle.remove()
            else:
                weights = WeightTasd(chosen, keep=keep, input_norms=norms).prepare(model)
                try:
                    weights.step()
                    quality[keep] = evaluator.estimate(model)
                finally:
                    weights.restore()
        magnitude, output = quality["magnitude"], quality["output"]
        lines.append(
            f"  {series} on {len(layers)} layers: magnitude {magnitude}, output impact "
            f"{output.value:.4f} [{output.low:.4f}, {output.high:.4f}] "
            f"({output.value - magnitude.value:+.4f})"
        )
    operand = "inputs" if activations else "weights"
    print(f"{real.name}, which {operand} a term keeps (validation):", flush=True)
    print("\n".join(lines), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--evaluation-size", type=int, default=5000)
    parser.add_argument("--test-size", type=int, default=5000)
    parser.add_argument(
        "--rules", default="bound", help="decision rules, comma-separated: bound, point"
    )
    parser.add_argument("--calibration-size", type=int, default=64)
    parser.add_argument("--head-size", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--real", action="store_true", help="also the installed real models")
    parser.add_argument("--models", help="comma-separated model names (default: all planned)")
    parser.add_argument(
        "--patience",
        type=lambda text: None if text == "all" else int(text),
        default=1,
        help="layer-wise: rejections before stopping (default 1; 'all': every candidate)",
    )
    parser.add_argument("--no-keep", action="store_true", help="skip the keep-score table")
    parser.add_argument("--keep-only", action="store_true", help="only the keep-score table")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    plan = list(DEFAULT) + (list(REAL) if args.real else [])
    if args.models:
        wanted = args.models.split(",")
        plan = [(name, act) for name, act in (*DEFAULT, *REAL) if name in wanted]
    rows = []
    for name, activations in plan:
        try:
            rows += bench_model(name, activations, args)
        except SparsimError as exc:
            print(f"\n{name}: skipped ({exc})")
    headers = [
        "model", "hardware", "search", "rule", "MAC red.", "EDP red. vs TC", "vs plain",
        "validation (of original / margin low)", "test (of original)",
        "test margin [95%]", "test n", "flag", "evals", "time s (total / w/o evals)",
    ]  # fmt: skip
    if rows:
        print()
        print(format_table(rows, headers))
        print(_summary(rows))


def _summary(rows: list[list[str]]) -> str:
    """Flagged rows per rule and, with both rules, what the bound rule costs."""
    lines = []
    by_rule: dict[str, list[list[str]]] = {}
    for row in rows:
        by_rule.setdefault(row[3], []).append(row)
    for rule, chosen in by_rule.items():
        flagged = sum(row[FLAG] != "" for row in chosen)
        lines.append(f"rule {rule}: {flagged} of {len(chosen)} rows below the target on test")
    if {"bound", "point"} <= set(by_rule):
        point = {tuple(row[:3]): row for row in by_rule["point"]}
        deltas = [
            (float(row[4][:-1]) - float(point[key][4][:-1]),
             float(row[5][:-1]) - float(point[key][5][:-1]))
            for row in by_rule["bound"] if (key := tuple(row[:3])) in point
        ]  # fmt: skip
        if deltas:
            mac = sum(d[0] for d in deltas) / len(deltas)
            edp = sum(d[1] for d in deltas) / len(deltas)
            lines.append(
                f"bound vs point rule, mean over {len(deltas)} searches: MAC reduction "
                f"{mac:+.1f} points, EDP reduction {edp:+.1f} points"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
