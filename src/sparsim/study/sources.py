"""The documents the studies draw on, cited once (the README of the reference papers says
who wrote what)."""

from __future__ import annotations

from sparsim.report.model import Citation

MICRO22_ARTIFACT = Citation(
    "Yannan Nellie Wu, Po-An Tsai, Angshuman Parashar, Vivienne Sze, Joel S. Emer",
    "Sparseloop: An Analytical Approach to Sparse Tensor Accelerator Modeling",
    "MICRO 2022, and its artifact",
    "https://arxiv.org/abs/2205.05826",
    role="hardware, energy tables and layers",
)
