"""The workloads of the study, from its config: GEMM shapes given directly (the four
ResNet50 layers of the Sparseloop MICRO'22 artifact's structured sparsity study) or every layer of a built-in
network table (ResNet-50), each distinct GEMM shape once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sparsim.spec.workload import Gemm, shape_name
from sparsim.workload import builtin_table

# The layer the MICRO'22 artifact quotes its dense baseline on (276.58 uJ on the dense TC).
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


def gemm_layers(layer_set: str, shapes) -> tuple[Layer, ...]:
    return tuple(
        Layer(layer_set, Gemm(name=shape_name(m, k, n), M=m, K=k, N=n), 1) for m, k, n in shapes
    )


def builtin_layers(layer_set: str, network: str) -> tuple[Layer, ...]:
    """The distinct GEMM shapes of a built-in network table, by first appearance, each
    weighted by how often it occurs."""
    table = builtin_table(network)
    shapes = [(g.M, g.K, g.N) for g in (layer.gemm for layer in table)]
    counts = Counter(shapes)
    members: dict[tuple[int, int, int], list[str]] = {}
    for shape, layer in zip(shapes, table, strict=True):
        members.setdefault(shape, []).append(layer.name)
    return tuple(
        Layer(
            layer_set,
            Gemm(name=shape_name(*shape), M=shape[0], K=shape[1], N=shape[2]),
            counts[shape],
            ", ".join(names),
        )
        for shape, names in members.items()
    )


def layer_sets(specs, quick: bool) -> dict[str, tuple[Layer, ...]]:
    """The config's layer sets (:class:`sparsim.study.config.LayerSetSpec`); ``quick``
    leaves out the ones marked full-only."""
    return {
        spec.name: (
            builtin_layers(spec.name, spec.builtin)
            if spec.builtin
            else gemm_layers(spec.name, spec.gemms)
        )
        for spec in specs
        if not (quick and spec.full_only)
    }
