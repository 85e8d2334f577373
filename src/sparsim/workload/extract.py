"""Workloads of a real PyTorch model: every Conv2d and Linear call as a GEMM, with the
densities measured on its weights and on calibration inputs.

Lowering (see :mod:`sparsim.spec.workload`): a Conv2d with weights
``[out_channels, C/groups, R, S]`` on an input ``[batch, C, H, W]`` producing
``[batch, out_channels, P, Q]`` is ``A = weights [out_channels x C*R*S]``,
``B = im2col(input) [batch*P*Q x C*R*S]``, so ``M = out_channels``, ``K = C*R*S``,
``N = batch*P*Q``, repeated ``groups`` times with per-group ``M`` and ``K``. A Linear on an
input ``[..., in]`` is ``M = out``, ``K = in``, ``N`` = the product of the leading dims.

The input-activation density is measured on the layer's input tensor, before im2col (the
zero padding that im2col adds is not counted).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from sparsim.errors import SparsimError
from sparsim.spec.workload import Conv, Gemm
from sparsim.workload.probe import InputProbe, LayerCall, find_layers, inference, run_model
from sparsim.workload.table import LayerTable, LayerWorkload


def extract_workloads(
    model: nn.Module,
    inputs: Any,
    calibration: Iterable[Any] | None = None,
    *,
    layers: list[str] | None = None,
    mass: float = 0.99,
    progress: bool = False,
) -> LayerTable:
    """The model's Conv2d/Linear calls on ``inputs`` as a :class:`LayerTable`.

    ``inputs`` is one batch (a tensor, a tuple of positional inputs or a mapping of keyword
    inputs); it fixes the shapes, so its batch size is the workloads' batch. Activation
    densities are measured over ``calibration`` (an iterable of batches) if given, else
    over ``inputs``. ``layers`` restricts the table to the named layers; ``mass`` is the
    magnitude share that defines the pseudo-density.
    """
    selected = find_layers(model, layers)
    with inference(model), InputProbe(model, selected, mass) as probe:
        run_model(model, inputs)
        if calibration is not None:
            probe.clear_statistics()
            seen = 0
            for batch in tqdm(calibration, desc="calibration", unit="batch", disable=not progress):
                run_model(model, batch)
                seen += 1
            if not seen:
                raise SparsimError("no batches in the calibration data", "calibration")
    if layers is not None:
        silent = [name for name in layers if name not in probe.calls]
        if silent:
            raise SparsimError(
                f"layer {silent[0]!r} is not called by the model's forward", "layers"
            )
    return LayerTable(
        tuple(_layer(name, call) for name, call in probe),
        source=type(model).__name__,
        pseudo_density_mass=mass,
    )


def _layer(name: str, call: LayerCall) -> LayerWorkload:
    module = call.module
    weight = module.weight
    weight_density = float(torch.count_nonzero(weight)) / weight.numel()
    if isinstance(module, nn.Conv2d):
        return LayerWorkload(_conv(name, module, call), "conv2d", weight_density, **call.summary())
    n = 1
    for size in call.input_shape[:-1]:
        n *= size
    gemm = Gemm(name=name, M=module.out_features, K=module.in_features, N=n)
    return LayerWorkload(gemm, "linear", weight_density, **call.summary())


def _conv(name: str, module: nn.Conv2d, call: LayerCall) -> Conv | Gemm:
    batch = call.input_shape[0] if len(call.input_shape) == 4 else 1
    p, q = call.output_shape[-2:]
    r, s = module.kernel_size
    (stride, stride_w), (dilation, dilation_w) = module.stride, module.dilation
    if stride == stride_w and dilation == dilation_w:
        return Conv(
            name=name,
            batch=batch,
            C=module.in_channels,
            out_channels=module.out_channels,
            P=p,
            Q=q,
            R=r,
            S=s,
            stride=stride,
            dilation=dilation,
            groups=module.groups,
        )
    # sparsim's Conv has one stride and dilation: keep the exact lowering as a GEMM.
    groups = module.groups
    return Gemm(
        name=name,
        M=module.out_channels // groups,
        K=module.in_channels // groups * r * s,
        N=batch * p * q,
        count=groups,
    )
