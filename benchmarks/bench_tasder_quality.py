"""TASDER on a real model, chosen on the validation split and reported on the held-out
test split with 95% intervals and sample sizes (issue 13's table).

For each method (TASD-W network-wise, TASD-W layer-wise, TASD-A with an alpha sweep) and
hardware: the MAC reduction found on the validation split, the quality on the test split
with its interval, its share of the original's test quality, and the paired interval of
the 99% criterion's margin ``test - 0.99 * original test`` (same test inputs). Prints one
Markdown table; ``--csv`` also writes it.

    python benchmarks/bench_tasder_quality.py --model fmnist-resnet-pruned \
        --evaluation-size 5000 --test-size 5000 [--methods network-wise,layer-wise]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import torch

from sparsim.tasder import Tasder
from sparsim.tasder.models import load_real_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fmnist-resnet-pruned")
    parser.add_argument("--hardware", default="TTC-STC-M4,TTC-VEGETA-M8")
    parser.add_argument(
        "--methods", default="network-wise,layer-wise,activations", help="'' for the baseline only"
    )
    parser.add_argument("--head-size", type=int, default=2000)
    parser.add_argument("--alphas", default="-0.1,-0.05,0,0.05,0.1")
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--calibration-size", type=int, default=256)
    parser.add_argument("--evaluation-size", type=int, default=5000)
    parser.add_argument("--test-size", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    real = load_real_model(
        args.model,
        calibration_size=args.calibration_size,
        evaluation_size=args.evaluation_size,
        test_size=args.test_size,
        batch_size=args.batch_size,
        head_size=args.head_size,
    )
    test = next(e for e in real.extra_evaluators.values() if e.split == "test")
    print(f"model {real.name}: loaded in {time.perf_counter() - started:.0f} s")
    print(f"validation ({real.evaluator.metric}): {real.evaluator.estimate_}")
    print(f"test: {test.estimate_}; best constant output: {test.chance_:.4f}")
    for name, evaluator in real.extra_evaluators.items():
        print(f"{name}: {evaluator.estimate_}; best constant output: {evaluator.chance_:.4f}")
    rows = []
    methods = [method for method in args.methods.split(",") if method]
    for hardware in args.hardware.split(",") if methods else []:
        for method in methods:
            alphas = [float(a) for a in args.alphas.split(",")]
            tic = time.perf_counter()
            search = Tasder(
                hardware,
                real.evaluator,
                method=method,
                target=args.target,
                layers=real.activation_layers if method == "activations" else None,
                alphas=alphas,
                cost=False,
            ).fit(real.model, real.calibration, example=real.example)
            seconds = time.perf_counter() - tic
            result = search.result_
            with search.transform(real.model):
                gate = test.gate(real.model, args.target)
            rows.append(
                {
                    "hardware": hardware,
                    "method": result.method
                    + (f" (alpha {result.alpha:g})" if result.alpha is not None else ""),
                    "MAC reduction": f"{100 * result.mac_reduction:.1f}%",
                    "validation": f"{result.quality:.4f}",
                    "test": str(gate.estimate),
                    "test / original": f"{100 * gate.estimate.value / gate.original:.2f}%",
                    "margin at target (paired 95%)": f"{gate.margin.value:+.4f} "
                    f"[{gate.margin.low:+.4f}, {gate.margin.high:+.4f}]",
                    "evaluations": result.evaluations,
                    "seconds": f"{seconds:.0f}",
                }
            )
            print(" | ".join(str(value) for value in rows[-1].values()), flush=True)
    if not rows:
        return
    header = list(rows[0])
    print("\n| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for row in rows:
        print("| " + " | ".join(str(row[key]) for key in header) + " |")
    if args.csv:
        with args.csv.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
