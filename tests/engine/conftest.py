"""Shared fixtures: the Sparseloop reference cases and a tiny hand-countable accelerator."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparsim.spec.architecture import Architecture, ComputeLevel, StorageLevel
from sparsim.spec.mapping import LevelMapping, Mapping
from sparsim.spec.model import Spec, check_references
from sparsim.spec.sparse_optimizations import (
    ActionOptimization,
    LevelSparseOptimization,
    RankFormat,
)
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.workload import Gemm

REFERENCE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "sparseloop-micro22"
)
FIG15 = REFERENCE / "fig15" / "cases"


@pytest.fixture(scope="session")
def fig15_cases() -> list[Path]:
    if not FIG15.is_dir():
        pytest.skip(f"Sparseloop reference data not found at {FIG15} (it lives in ../shared)")
    return sorted(p for p in FIG15.glob("*/*/*") if p.is_dir())


def tiny_spec(
    M: int,
    N: int,
    K: int,
    *,
    buffer_temporal: dict[str, int] | None = None,
    dram_temporal: dict[str, int] | None = None,
    spatial: dict[str, int] | None = None,
    densities: dict[str, TensorDensity] | None = None,
    actions: list[ActionOptimization] | None = None,
    compress_a: bool = False,
    buffer_capacity: int | None = 4096,
) -> Spec:
    """DRAM -> Buffer -> MACs, with round energies so results can be counted by hand.

    DRAM read/write 100 pJ, buffer read 2 / write 3 pJ (gated 0.5), MAC 1 pJ (gated 0.25).
    ``compress_a`` stores A compressed in DRAM and the buffer (Timeloop models no
    compression on chip).
    """
    spatial = spatial or {}
    macs = 1
    for bound in spatial.values():
        macs *= bound
    arch = Architecture(
        levels=[
            StorageLevel(name="DRAM", energy={"read": 100, "write": 100, "metadata_read": 50}),
            StorageLevel(
                name="Buffer",
                data_capacity=buffer_capacity,
                metadata_word_bits=8,
                energy={
                    "read": 2,
                    "write": 3,
                    "gated_read": 0.5,
                    "gated_write": 0.5,
                    "metadata_read": 1,
                    "metadata_write": 1,
                },
            ),
        ],
        compute=ComputeLevel(instances=macs, energy={"random": 1.0, "gated": 0.25}),
    )
    # One CP rank over the whole (M, K) tile: it must flatten both dimensions.
    compressed = RankFormat(format="CP", metadata_word_bits=8, flattened_ranks=["M", "K"])
    formats = {"A": [compressed]} if compress_a else {}
    sparse = [LevelSparseOptimization(level="Buffer", formats=formats, actions=actions or [])]
    if compress_a:
        # DRAM stores A as the Buffer's compressed tiles: their rank inside, one over them.
        tiles = RankFormat(format="UOP", payload_word_bits=0, flattened_ranks=["M", "K"])
        sparse.insert(0, LevelSparseOptimization(level="DRAM", formats={"A": [tiles, compressed]}))
    mapping = Mapping(
        levels=[
            LevelMapping(level="DRAM", temporal=dram_temporal or {}),
            LevelMapping(
                level="Buffer",
                temporal=buffer_temporal or {"M": M, "N": N, "K": K},
                temporal_permutation="KNM",
                spatial=spatial,
            ),
        ]
    )
    spec = Spec(
        workload=Gemm(M=M, N=N, K=K),
        architecture=arch,
        densities=densities or {},
        sparse_optimizations=sparse,
        mapping=mapping,
    )
    return check_references(spec)
