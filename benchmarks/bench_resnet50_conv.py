"""ResNet-50 on the CNN library designs: each distinct convolution as the 7-D convolution
it is and lowered by im2col, per layer the traffic of the backing store (DRAM) and of the
shared (global) buffer, and the energy.

Both forms run on the same design file under the same constraints, each mapped by the
mapper (objective EDP): the convolution as Timeloop's ``cnn-layer``, the im2col lowering
as its 1x1 convolution over the input expanded to ``C*R*S`` channels on the same output
grid (``Conv.im2col``: the im2col GEMM with its output positions still rows and columns,
so the design's constraints on them hold for both). Traffic is in words, reads plus fills
plus updates over all tensors at the level (whose name comes from the design's roles).
The last row sums every convolution (53 without ``--layers``; a shape that repeats counts
each time).

    python benchmarks/bench_resnet50_conv.py [--designs eyeriss-like simba-like] [--layers conv1 ...]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sparsim.cost.result import Result
from sparsim.designs import build
from sparsim.designs.catalog import get_design
from sparsim.evaluate import evaluate
from sparsim.spec.workload import Conv
from sparsim.workload import resnet50

LIBRARY = Path(__file__).resolve().parents[1] / "src" / "sparsim" / "designs" / "library"
DESIGNS = ("eyeriss-like", "simba-like")
ROLES = ("backing-store", "shared-buffer")


@dataclass(frozen=True)
class Figures:
    traffic: tuple[float, ...]  # words, per role in ROLES
    energy_uJ: float


def distinct_convolutions() -> dict[Conv, list[str]]:
    """Each distinct convolution of ResNet-50 (names aside) with the layers that have it."""
    layers: dict[Conv, list[str]] = {}
    for row in resnet50():
        if isinstance(row.workload, Conv):
            layers.setdefault(row.workload.model_copy(update={"name": "conv"}), []).append(row.name)
    return layers


def figures(result: Result, levels: tuple[str, ...]) -> Figures:
    def words(level: str) -> float:
        return sum(
            t.reads.actual + t.fills.actual + t.updates.actual
            for t in result.level(level).tensors.values()
        )

    return Figures(tuple(words(level) for level in levels), result.energy_uJ)


def run(design_name: str, layers: dict[Conv, list[str]]) -> list[tuple[str, int, Figures, Figures]]:
    path = str(LIBRARY / f"{design_name}.yaml")
    design = get_design(path)
    levels = tuple(design.level_name(role) for role in ROLES)
    rows = []
    for conv, names in layers.items():
        layer = conv.model_copy(update={"name": names[0]})
        native = figures(evaluate(build(path, layer)), levels)
        lowered = figures(evaluate(build(path, layer.im2col())), levels)
        rows.append((names[0], len(names), native, lowered))
    return rows


def _shape(layer: Conv) -> str:
    stride = f"/{layer.stride}" if layer.stride > 1 else ""
    return f"{layer.R}x{layer.S}{stride} {layer.C}->{layer.out_channels} {layer.P}x{layer.Q}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS), choices=DESIGNS)
    parser.add_argument("--layers", nargs="+", help="first layer names of the shapes to run")
    args = parser.parse_args()
    layers = distinct_convolutions()
    if args.layers:
        layers = {conv: names for conv, names in layers.items() if names[0] in args.layers}
    by_name = {row.name: row.workload for row in resnet50()}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for design_name in args.designs:
        started, cpu = time.perf_counter(), time.process_time()
        rows = run(design_name, layers)
        print(
            f"\n{design_name}: {len(rows)} distinct convolutions, convolution (conv) vs im2col "
            f"(ratio im2col / conv); traffic in k words; mapped and evaluated in "
            f"{time.perf_counter() - started:.0f} s ({time.process_time() - cpu:.0f} CPU s)"
        )
        print(
            "| layer (x repeats) | shape | DRAM conv | DRAM im2col | ratio | GLB conv "
            "| GLB im2col | ratio | energy uJ conv | energy uJ im2col | ratio |"
        )
        print("|" + "---|" * 11)
        totals = [[0.0] * 3, [0.0] * 3]
        for name, repeats, native, lowered in rows:
            cells = [f"{name} (x{repeats})" if repeats > 1 else name, _shape(by_name[name])]
            for i, form in enumerate((native, lowered)):
                for j, value in enumerate((*form.traffic, form.energy_uJ)):
                    totals[i][j] += repeats * value
            for j in range(3):
                a = (*native.traffic, native.energy_uJ)[j]
                b = (*lowered.traffic, lowered.energy_uJ)[j]
                scale = 1e-3 if j < 2 else 1.0
                cells += [f"{a * scale:,.1f}", f"{b * scale:,.1f}", f"{b / a:.2f}"]
            print("| " + " | ".join(cells) + " |")
        cells = [f"all {sum(row[1] for row in rows)} convolutions", ""]
        for j in range(3):
            scale = 1e-3 if j < 2 else 1.0
            a, b = totals[0][j], totals[1][j]
            cells += [f"{a * scale:,.1f}", f"{b * scale:,.1f}", f"{b / a:.2f}"]
        print("| " + " | ".join(cells) + " |")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
