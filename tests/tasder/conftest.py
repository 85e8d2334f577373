"""Tiny models built inside the tests: the default run never needs the real ones."""

from __future__ import annotations

import pytest
import torch
from torch import nn


class TinyCNN(nn.Module):
    """Conv -> ReLU -> conv -> ReLU -> depthwise conv -> pooled linear classifier."""

    def __init__(self, channels: int = 16, classes: int = 5):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.depthwise = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.fc = nn.Linear(channels, classes)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(self.conv(x))
        x = torch.relu(self.depthwise(x))
        return self.fc(x.mean((2, 3)))


def tiny_mlp(width: int = 32, classes: int = 4) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(16, width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.GELU(),
        nn.Linear(width, classes),
    )


@pytest.fixture
def cnn() -> TinyCNN:
    torch.manual_seed(0)
    return TinyCNN().eval()


@pytest.fixture
def images() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(8, 3, 8, 8, generator=generator) for _ in range(3)]


@pytest.fixture
def pruned_cnn() -> TinyCNN:
    """A random 80% of every weight zeroed: an unstructured sparse model."""
    torch.manual_seed(0)
    model = TinyCNN().eval()
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                module.weight.mul_(torch.rand(module.weight.shape, generator=generator) >= 0.8)
    return model


@pytest.fixture
def mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return tiny_mlp().eval()


@pytest.fixture
def vectors() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(2)
    return [torch.randn(16, 16, generator=generator) for _ in range(4)]


@pytest.fixture
def hook_count():
    def count(model: nn.Module) -> int:
        return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())

    return count
