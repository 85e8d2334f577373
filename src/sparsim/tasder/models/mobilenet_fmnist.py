"""MobileNetV2 with ImageNet weights, given a Fashion-MNIST classifier and pruned: a real
pretrained network with unstructured weight sparsity, for TASD-W.

* Dense: the ImageNet backbone unchanged; its classifier replaced by a ridge-regression
  head fitted on the pooled features of Fashion-MNIST training images (32 x 32, grey
  repeated to RGB, ImageNet normalisation) and folded into the final Linear layer.
* Pruned: every 1x1 conv and the Linear layer (97% of the conv/linear weights) pruned by
  magnitude to a uniform sparsity per layer, then fine-tuned without back-propagation:
  each layer's kept weights are refitted by least squares so that, on calibration
  images, its output (from the pruned network's own inputs) matches the dense layer's
  output (from the dense network's inputs), layer after layer in one forward pass. The stem and the depthwise convs stay dense
  (TASD-W does not apply to them).

``scripts/build_mobilenet_fmnist.py`` builds the checkpoint shipped in
``sparsim/tasder/checkpoints`` (fp16 nonzeros plus a bit mask per pruned layer).
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from typing import Any

import numpy as np
import torch
from torch import nn

from sparsim.errors import SparsimError
from sparsim.tasder.models.data import imagenet_normalise
from sparsim.tasder.models.fmnist import PIXEL_MEAN, PIXEL_STD
from sparsim.tasder.models.mobilenet import MobileNetV2, load_mobilenet_v2
from sparsim.tasder.quality import linear_head

INPUT_SIZE = 32
CHECKPOINT = "mobilenet_v2_fmnist_pruned.pt"
CLASSES = 10
# Ridge damping of the refit, relative to the mean input energy: the last blocks see one
# pixel per image, so their Gram matrices are barely determined by a few thousand images.
DAMPING = 0.05


def fmnist_rgb(images: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """Normalised Fashion-MNIST ``[n, 1, 28, 28]`` -> ImageNet-normalised ``[n, 3, s, s]``."""
    pixels = images * PIXEL_STD + PIXEL_MEAN
    resized = nn.functional.interpolate(pixels, size=(size, size), mode="bilinear")
    return imagenet_normalise(resized.expand(-1, 3, -1, -1))


def pooled_features(model: MobileNetV2, images: torch.Tensor, batch: int = 250) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat(
            [
                nn.functional.adaptive_avg_pool2d(model.features(part), 1).flatten(1)
                for part in images.split(batch)
            ]
        )


def with_fmnist_head(train_images: torch.Tensor, train_labels: torch.Tensor) -> MobileNetV2:
    """The ImageNet MobileNetV2 with a ridge head on its pooled features as classifier."""
    model = load_mobilenet_v2()
    features = pooled_features(model, train_images)
    head_weight, mean, scale = _ridge_parts(features, train_labels)
    linear = nn.Linear(features.shape[1], CLASSES)
    with torch.no_grad():
        linear.weight.copy_((head_weight / scale[:, None]).T)
        linear.bias.copy_(-(mean / scale) @ head_weight)
    model.classifier[1] = linear
    return model.eval()


def _ridge_parts(
    features: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ridge head's weight, feature mean and scale (to fold it into a Linear layer)."""
    head = linear_head(features, labels)
    mean, scale = features.double().mean(0), features.double().std(0).clamp(min=1e-6)
    # Recover the head's weight by evaluating it on the standard basis (it is linear in
    # the standardised features); this keeps one implementation of the fit.
    basis = torch.eye(features.shape[1], dtype=torch.float64) * scale + mean
    weight = head(basis) - head(mean[None])
    return weight.float(), mean.float(), scale.float()


def prunable(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The 1x1 convs (not grouped) and Linear layers: what magnitude pruning targets."""
    return [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
        or (isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1) and module.groups == 1)
    ]


def _columns(inputs: torch.Tensor) -> torch.Tensor:
    """A layer's inputs as ``[channels, samples]`` (a 1x1 conv is a GEMM over pixels)."""
    if inputs.dim() == 4:
        return inputs.permute(1, 0, 2, 3).flatten(1).double()
    return inputs.T.double()


def _refit(
    dense: torch.Tensor,
    keep: torch.Tensor,
    gram: torch.Tensor,
    cross: torch.Tensor,
    damping: float = DAMPING,
) -> torch.Tensor:
    """Per output row, the kept weights minimising ``|w_s X_s - w_d X_d|^2`` plus
    ``damping`` times the mean input energy times ``|w_s|^2``."""
    ridge = damping * gram.diagonal().mean() * torch.eye(len(gram), dtype=torch.float64)
    gram = gram + ridge
    targets = dense.double() @ cross.T  # row o: X_s X_d^T w_d[o]
    out = torch.zeros_like(dense, dtype=torch.float64)
    for row in range(len(dense)):
        kept = keep[row].nonzero().flatten()
        if len(kept):
            out[row, kept] = torch.linalg.solve(gram[kept][:, kept], targets[row, kept])
    return out


def prune_and_refit(
    model: MobileNetV2,
    calibration: torch.Tensor,
    sparsity: float,
    *,
    refit: bool = True,
) -> MobileNetV2:
    """A copy of ``model`` with every prunable layer pruned by magnitude to ``sparsity``
    and (``refit``) its kept weights refitted layer by layer.
    ``refit=False`` is one-shot magnitude pruning, the baseline the refit restores."""
    if not 0 < sparsity < 1:
        raise SparsimError(f"must be between 0 and 1, got {sparsity}", "sparsity")
    dense_inputs: dict[str, torch.Tensor] = {}
    layers = dict(prunable(model))
    with (
        _Hooks(layers, lambda name: lambda _m, args: dense_inputs.__setitem__(name, args[0])),
        torch.no_grad(),
    ):
        model(calibration)
    pruned = MobileNetV2(CLASSES)
    pruned.load_state_dict(model.state_dict())
    pruned.eval()

    def refitted(name: str):
        def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            weight = module.weight.detach().flatten(1)
            kept = max(1, round(weight.shape[1] * (1 - sparsity)))
            order = weight.abs().argsort(dim=1, descending=True)[:, :kept]
            keep = torch.zeros_like(weight, dtype=torch.bool).scatter_(1, order, True)
            sparse, dense = _columns(args[0]), _columns(dense_inputs[name])
            new = (
                _refit(weight, keep, sparse @ sparse.T, sparse @ dense.T)
                if refit
                else weight * keep
            )
            with torch.no_grad():
                module.weight.copy_(new.float().view_as(module.weight))

        return hook

    with _Hooks(dict(prunable(pruned)), refitted), torch.no_grad():
        pruned(calibration)
    return pruned


class _Hooks:
    """Forward pre-hooks on named layers for the duration of a ``with`` block."""

    def __init__(self, layers: dict[str, nn.Module], make: Any):
        self.handles = [
            module.register_forward_pre_hook(make(name)) for name, module in layers.items()
        ]

    def __enter__(self) -> _Hooks:
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()


def weight_sparsity(model: nn.Module) -> float:
    """Share of zero weights over all Conv2d and Linear layers."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    return float(sum((w == 0).sum() for w in weights) / sum(w.numel() for w in weights))


def save_checkpoint(model: MobileNetV2, info: dict[str, Any], path: Any) -> None:
    """Prunable layers as fp16 nonzeros plus a packed bit mask, the rest as fp16 tensors
    (buffers as they are): a few MB instead of 14."""
    layers = {f"{name}.weight" for name, _ in prunable(model)}
    packed: dict[str, Any] = {}
    for key, value in model.state_dict().items():
        if key in layers:
            mask = value != 0
            packed[key] = {
                "shape": list(value.shape),
                "mask": torch.from_numpy(np.packbits(mask.flatten().numpy())),
                "values": value[mask].half(),
            }
        elif value.is_floating_point() and "running" not in key:
            packed[key] = value.half()
        else:
            packed[key] = value
    torch.save({"info": info, "state": packed}, path)


def _unpack(state: dict[str, Any]) -> Iterator[tuple[str, torch.Tensor]]:
    for key, value in state.items():
        if isinstance(value, dict):
            count = int(np.prod(value["shape"]))
            mask = torch.from_numpy(np.unpackbits(value["mask"].numpy())[:count].astype(bool))
            weight = torch.zeros(count)
            weight[mask] = value["values"].float()
            yield key, weight.view(value["shape"])
        else:
            yield key, value.float() if value.is_floating_point() else value


def load_mobilenet_fmnist() -> tuple[MobileNetV2, dict[str, Any]]:
    """The committed pruned network (eval mode) and its build record."""
    resource = resources.files("sparsim.tasder") / "checkpoints" / CHECKPOINT
    if not resource.is_file():
        raise SparsimError("checkpoint missing; run scripts/build_mobilenet_fmnist.py", CHECKPOINT)
    with resources.as_file(resource) as path:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    model = MobileNetV2(CLASSES)
    model.load_state_dict(dict(_unpack(saved["state"])))
    return model.eval(), dict(saved["info"])
