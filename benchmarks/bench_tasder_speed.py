"""TASDER search speed on a ResNet-50-sized model (target: under 2 s, quality evaluations
excluded).

The model has the 53 convolutions and the FC of ResNet-50 v1.5 (25.5 M weights, shapes
from sparsim's built-in table) with 95% of the weights removed by magnitude, like the
TASD paper's sparse ResNet-50. The score function answers at once from a fixed budget
(the first ``--accept`` evaluations pass, the rest fail), so what is timed is the search:
measuring the dropped nonzeros of every (layer, series), sorting, applying each candidate
to the weights and undoing it. Time spent inside the score function is subtracted.

    python benchmarks/bench_tasder_speed.py [--hardware TTC-VEGETA-M8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from sparsim.tasder import search_weights_layerwise, search_weights_network, weight_candidates
from sparsim.tasder.search import hardware_series
from sparsim.workload import LayerTable, resnet50


def model_from_table(table: LayerTable, sparsity: float, seed: int = 0) -> nn.Module:
    """Modules named and shaped as the table's layers (no forward pass is needed)."""
    generator = torch.Generator().manual_seed(seed)
    root = nn.Module()
    for layer in table:
        workload = layer.workload
        if layer.op == "conv2d":
            module: nn.Module = nn.Conv2d(
                workload.C, workload.out_channels, workload.R, groups=workload.groups, bias=False
            )
        else:
            module = nn.Linear(workload.K, workload.M, bias=False)
        with torch.no_grad():
            weight = torch.randn(module.weight.shape, generator=generator)
            threshold = weight.abs().flatten().kthvalue(round(sparsity * weight.numel())).values
            module.weight.copy_(weight * (weight.abs() > threshold))
        parent = root
        *path, leaf = layer.name.split(".")
        for part in path:
            if not hasattr(parent, part):
                parent.add_module(part, nn.Module())
            parent = getattr(parent, part)
        parent.add_module(leaf, module)
    return root


class BudgetScore:
    """Passes the first ``accept`` evaluations, fails the others; times itself."""

    def __init__(self, accept: int):
        self.accept = accept
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, model: nn.Module) -> float:
        started = time.perf_counter()
        self.calls += 1
        quality = 1.0 if self.calls <= self.accept else 0.0
        self.seconds += time.perf_counter() - started
        return quality


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hardware", default="TTC-VEGETA-M8")
    parser.add_argument("--sparsity", type=float, default=0.95)
    parser.add_argument("--accept", type=int, default=10**9, help="evaluations that pass")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    table = resnet50()
    started = time.perf_counter()
    model = model_from_table(table, args.sparsity)
    build = time.perf_counter() - started
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear))
    options = hardware_series(args.hardware)
    print(
        f"ResNet-50 v1.5: {len(table)} layers, {weights / 1e6:.1f} M weights, "
        f"{args.sparsity:.0%} sparse (built in {build:.1f} s); {args.hardware}: "
        f"{', '.join(map(str, options))}"
    )

    started = time.perf_counter()
    candidates = weight_candidates(model, table, options)
    print(
        f"measuring dropped nonzeros of {len(candidates)} (layer, series): "
        f"{time.perf_counter() - started:.2f} s"
    )

    for label, run in (
        (
            "layer-wise, every candidate",
            lambda s: search_weights_layerwise(
                model, table, s, 1.0, hardware=args.hardware, patience=None
            ),
        ),
        (
            "layer-wise, stop at first failure",
            lambda s: search_weights_layerwise(
                model, table, s, 1.0, hardware=args.hardware, patience=1
            ),
        ),
        (
            "network-wise",
            lambda s: search_weights_network(model, table, s, 1.0, hardware=args.hardware),
        ),
    ):
        times, evaluations = [], 0
        for _ in range(args.repeat):
            score = BudgetScore(args.accept)
            started = time.perf_counter()
            outcome = run(score)
            times.append(time.perf_counter() - started - score.seconds)
            evaluations = score.calls
        result = outcome.result
        print(
            f"{label:36s} {statistics.median(times):6.2f} s (median of {args.repeat}, quality "
            f"evaluations excluded; {evaluations} evaluations, "
            f"{100 * result.mac_reduction:.1f}% MACs removed)"
        )


if __name__ == "__main__":
    main()
