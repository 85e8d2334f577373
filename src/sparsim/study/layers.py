"""The workloads of the study: the four ResNet50 layers of the Sparseloop MICRO'22 fig15
study, and every layer of ResNet-50 (the built-in table), each distinct GEMM shape once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sparsim.spec.workload import Gemm, shape_name
from sparsim.workload import builtin_table

# (M, K, N, input activation density the artifact measured) of the fig15 layers.
FIG15_SHAPES = (
    (128, 1152, 1024, 0.44),
    (512, 1024, 256, 0.27),
    (512, 128, 1024, 0.56),
    (512, 256, 1024, 0.82),
)
FIG15 = "fig15"
RESNET50 = "resnet50"
SET_TITLES = {FIG15: "fig15 ResNet50 layers (4)", RESNET50: "ResNet-50 (all 54 layers)"}
# The layer the seed study quotes its dense baseline on (276.58 uJ on the dense TC).
BASELINE_LAYER = "M128-K1152-N1024"


@dataclass(frozen=True)
class Layer:
    """One GEMM shape of a layer set; ``occurrences`` weights it in the set's total."""

    layer_set: str
    gemm: Gemm
    occurrences: int = 1
    members: str = ""  # the network layers that have this shape

    @property
    def name(self) -> str:
        return self.gemm.name


def fig15_layers() -> tuple[Layer, ...]:
    return tuple(
        Layer(FIG15, Gemm(name=shape_name(m, k, n), M=m, K=k, N=n), 1, f"fig15 IAD {iad}")
        for m, k, n, iad in FIG15_SHAPES
    )


def resnet50_layers() -> tuple[Layer, ...]:
    """The distinct GEMM shapes of ResNet-50 v1.5 (batch 1, 224x224), by first appearance."""
    table = builtin_table("resnet50")
    shapes = [(g.M, g.K, g.N) for g in (layer.gemm for layer in table)]
    counts = Counter(shapes)
    members: dict[tuple[int, int, int], list[str]] = {}
    for shape, layer in zip(shapes, table, strict=True):
        members.setdefault(shape, []).append(layer.name)
    return tuple(
        Layer(
            RESNET50,
            Gemm(name=shape_name(*shape), M=shape[0], K=shape[1], N=shape[2]),
            counts[shape],
            ", ".join(names),
        )
        for shape, names in members.items()
    )


def layer_sets(quick: bool) -> dict[str, tuple[Layer, ...]]:
    sets = {FIG15: fig15_layers()}
    if not quick:
        sets[RESNET50] = resnet50_layers()
    return sets
