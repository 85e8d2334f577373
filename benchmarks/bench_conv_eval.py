"""Evaluation time of a 7-D convolution against a GEMM of the same MACs on the same design
(target: the convolution within 2x the GEMM's time).

Each ResNet-50 layer is mapped on a CNN library design as the convolution it is
(``sparsim.build``, the mapper under the design's constraints); the GEMM is its im2col GEMM
(``M`` output channels, ``K = C*R*S``, ``N = batch*P*Q``) on the same architecture with the
same loop nest: every level's loops with the convolution's dimensions merged into the
GEMM's (``C, R, S -> K``, ``N, P, Q -> N``), the same keeps, orders and mesh layout, its
buffers unbounded (im2col's input tiles outgrow them). So the two evaluations differ only
in the problem shape (sliding windows, seven dimensions).
Printed: the median CPU time of ``evaluate`` over ``--repeats`` runs (after a warm-up) for
each, and their ratio.

    python benchmarks/bench_conv_eval.py [--repeats 30] [--designs eyeriss-like simba-like]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from pathlib import Path

from sparsim.designs import build
from sparsim.designs.catalog import tensor_of
from sparsim.errors import SpecError
from sparsim.evaluate import evaluate
from sparsim.spec.mapping import LevelMapping, Mapping
from sparsim.spec.model import Spec
from sparsim.spec.problem import ROLES
from sparsim.spec.workload import Conv
from sparsim.workload import resnet50

LIBRARY = Path(__file__).resolve().parents[1] / "src" / "sparsim" / "designs" / "library"
DESIGNS = ("eyeriss-like", "simba-like")
LAYERS = ("conv1", "layer1.0.conv2", "layer2.0.conv2", "layer3.1.conv2", "layer4.0.conv2")
# The im2col GEMM's dimension each convolution dimension folds into.
FOLDED = {"M": "M", "C": "K", "R": "K", "S": "K", "N": "N", "P": "N", "Q": "N"}


def _order(permutation: str) -> str:
    """A permutation of the convolution's dimensions (innermost first) as the GEMM's:
    each merged dimension where its innermost part was."""
    return "".join(dict.fromkeys(FOLDED[d] for d in permutation))


def _folded(factors: dict[str, int]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for dim, factor in factors.items():
        merged[FOLDED[dim]] = merged.get(FOLDED[dim], 1) * factor
    return merged


def _spatial_layout(level: LevelMapping) -> tuple[str, int | None]:
    """The GEMM's spatial permutation and split: a merged dimension runs along the mesh
    axis its non-trivial parts run along (X: the permutation's first ``split``)."""
    if level.split is None:
        return _order(level.spatial_permutation), None
    full = [d for d in level.spatial_permutation if d in FOLDED]
    axis: dict[str, set[bool]] = {}
    for index, dim in enumerate(full):
        if level.spatial.get(dim, 1) > 1:
            axis.setdefault(FOLDED[dim], set()).add(index < level.split)
    if any(len(sides) > 1 for sides in axis.values()):
        raise SpecError(f"{level.level}: a GEMM dimension would run along X and Y", "mapping")
    first = {FOLDED[d]: index < level.split for index, d in reversed(list(enumerate(full)))}
    along_x = {dim: axis.get(dim, {first[dim]}) == {True} for dim in first}
    order = _order("".join(full))
    x_dims = [d for d in order if along_x[d]]
    return "".join(x_dims + [d for d in order if not along_x[d]]), len(x_dims)


def gemm_twin(spec: Spec) -> Spec:
    """The convolution spec's im2col GEMM on the same architecture and loop nest."""
    conv_shape = spec.workload.problem().shape
    gemm = spec.workload.as_gemm()
    gemm_shape = gemm.problem().shape
    names = {tensor_of(role, conv_shape): tensor_of(role, gemm_shape) for role in ROLES}

    def renamed(tensors: list[str] | None) -> list[str] | None:
        return None if tensors is None else [names[t] for t in tensors]

    levels = []
    for level in spec.mapping.levels:
        spatial_permutation, split = _spatial_layout(level)
        levels.append(
            LevelMapping(
                level=level.level,
                temporal=_folded(level.temporal),
                temporal_permutation=_order(level.temporal_permutation),
                spatial=_folded(level.spatial),
                spatial_permutation=spatial_permutation,
                split=split,
                keep=renamed(level.keep),
                stream=renamed(level.stream),
                no_link_transfer=renamed(level.no_link_transfer),
                no_multicast=renamed(level.no_multicast),
                no_temporal_reuse=renamed(level.no_temporal_reuse),
            )
        )
    # im2col's input tiles hold every window whole, so they outgrow buffers the
    # convolution's tiles fit: the twin's buffers are unbounded (no energy depends on it).
    architecture = spec.architecture.model_copy(
        update={
            "levels": [
                level.model_copy(update={"data_capacity": None})
                for level in spec.architecture.levels
            ]
        }
    )
    return Spec(
        workload=gemm,
        architecture=architecture,
        densities={names[t]: d for t, d in spec.densities.items()},
        sparse_optimizations=[],
        mapping=Mapping(levels=levels),
    )


def cpu_median(spec: Spec, repeats: int) -> float:
    evaluate(spec)  # warm-up: imports, caches of the problem's shape
    times = []
    for _ in range(repeats):
        started = time.process_time()
        evaluate(spec)
        times.append(time.process_time() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS), choices=DESIGNS)
    parser.add_argument("--layers", nargs="+", default=list(LAYERS))
    args = parser.parse_args()
    gc.freeze()
    by_name = {row.name: row.workload for row in resnet50()}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{'design':13s} {'layer':16s} {'MACs':>12s} {'conv ms':>8s} {'GEMM ms':>8s} "
        f"{'ratio':>6s}  same MACs, conv / GEMM energy"
    )
    ratios = []
    for design in args.designs:
        path = str(LIBRARY / f"{design}.yaml")
        for name in args.layers:
            layer: Conv = by_name[name]
            conv = build(path, layer)
            gemm = gemm_twin(conv)
            conv_result, gemm_result = evaluate(conv), evaluate(gemm)
            assert conv_result.computes.algorithmic == gemm_result.computes.algorithmic
            conv_s, gemm_s = cpu_median(conv, args.repeats), cpu_median(gemm, args.repeats)
            ratios.append(conv_s / gemm_s)
            print(
                f"{design:13s} {name:16s} {layer.macs:12,d} {conv_s * 1e3:8.2f} "
                f"{gemm_s * 1e3:8.2f} {conv_s / gemm_s:6.2f}  "
                f"{conv_result.energy_uJ:.1f} / {gemm_result.energy_uJ:.1f} uJ"
            )
    print(
        f"conv / GEMM evaluation time (median CPU of {args.repeats}): median "
        f"{statistics.median(ratios):.2f}, max {max(ratios):.2f} (target: at most 2)"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
