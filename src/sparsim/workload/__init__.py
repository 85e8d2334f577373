"""Workloads: networks as lists of GEMMs, from built-in layer tables or real PyTorch models.

The tables need no torch; :func:`extract_workloads` (and the probe behind it) import torch
on first use.
"""

from __future__ import annotations

from typing import Any

from sparsim.workload.builtin import (
    BUILTIN_TABLES,
    bert,
    bert_base,
    builtin_table,
    minilm_l6,
    resnet50,
)
from sparsim.workload.table import LayerTable, LayerWorkload, load_table

__all__ = [
    "BUILTIN_TABLES",
    "LayerTable",
    "LayerWorkload",
    "bert",
    "bert_base",
    "builtin_table",
    "extract_workloads",
    "load_table",
    "minilm_l6",
    "resnet50",
]


def __getattr__(name: str) -> Any:
    if name == "extract_workloads":
        from sparsim.workload.extract import extract_workloads

        return extract_workloads
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
