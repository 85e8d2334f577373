"""Layers of a PyTorch model file for a sweep: its Conv2d and Linear calls on one input.

The file is a whole pickled ``nn.Module`` (``torch.save(model, path)``); only the layer
shapes are used (the sweep's densities come from its config), so the model runs once on
zeros of ``input_shape``. Loading a pickle runs code from it: use files you trust.
"""

from __future__ import annotations

from pathlib import Path

from sparsim.errors import SparsimError
from sparsim.io import input_file
from sparsim.limits import MAX_FILE_BYTES, check_elements
from sparsim.workload.table import LayerTable


def model_table(path: Path, input_shape: list[int], where: str) -> LayerTable:
    import torch

    from sparsim.workload.extract import extract_workloads

    input_file(path, MAX_FILE_BYTES, f"{where}.model")
    check_elements(tuple(input_shape), f"{where}.input_shape")
    try:
        model = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a pickle can fail in any way: it is the user's own file
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise SparsimError(
            f"cannot load a PyTorch model ({type(exc).__name__}: {first})", f"{where}.model"
        ) from None
    if not isinstance(model, torch.nn.Module):
        raise SparsimError(
            f"expected a pickled torch.nn.Module, got {type(model).__name__}", f"{where}.model"
        )
    try:
        return extract_workloads(model, torch.zeros(input_shape))
    except RuntimeError as exc:  # the input shape does not fit the model
        raise SparsimError(
            f"the model does not run on this input ({exc})", f"{where}.input_shape"
        ) from None
