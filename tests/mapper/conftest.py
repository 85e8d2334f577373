"""Shared inputs: the MICRO'22 artifact's fig15 cases and a tiny accelerator with its own
level names."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparsim.designs.mapper import Problem
from sparsim.spec.architecture import Architecture

REPO = Path(__file__).resolve().parents[2]
FIG15 = REPO.parent / "shared" / "reference" / "sparseloop-micro22" / "fig15" / "cases"
CONSTRAINTS = REPO / "src" / "sparsim" / "designs" / "constraints"

TINY_ARCHITECTURE = {
    "name": "tiny",
    "levels": [
        {
            "name": "Backing",
            "block_size": 1,
            "energy": {
                "read": 100.0,
                "write": 100.0,
                "metadata_read": 20.0,
                "metadata_write": 20.0,
            },
        },
        {
            "name": "Scratchpad",
            "data_capacity": 24,
            "energy": {"read": 6.0, "write": 7.0, "metadata_read": 1.0, "metadata_write": 1.0},
            "metadata_capacity_bits": 64,
            "metadata_word_bits": 4,
        },
        {
            "name": "PEBuffer",
            "instances": 2,
            "data_capacity": 4,
            "decompression": True,  # takes compressed operands and stores them plain
            "energy": {"read": 1.0, "write": 1.0},
        },
    ],
    "compute": {"instances": 4, "energy": {"random": 0.5, "gated": 0.05}},
}


@pytest.fixture(scope="session")
def fig15() -> Path:
    if not FIG15.is_dir():
        pytest.skip(f"Sparseloop reference data not found at {FIG15} (it lives in ../shared)")
    return FIG15


def tiny_problem(dims=(4, 4, 2), densities=None, optimizations=None) -> Problem:
    m, n, k = dims
    return Problem.model_validate(
        {
            "workload": {"kind": "gemm", "name": "tiny", "M": m, "N": n, "K": k},
            "architecture": Architecture.model_validate(TINY_ARCHITECTURE),
            "densities": densities or {},
            "sparse_optimizations": optimizations or [],
        }
    )
