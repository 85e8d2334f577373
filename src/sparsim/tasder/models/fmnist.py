"""A small ReLU ResNet for Fashion-MNIST, its data and its committed checkpoints.

The data comes from Debian's ``dataset-fashion-mnist`` package (the four idx files under
``/usr/share/datasets/fashion-mnist``); ``SPARSIM_FASHION_MNIST`` points elsewhere.
``scripts/train_fmnist_resnet.py`` trains the dense network and a magnitude-pruned
variant and writes the checkpoints shipped in ``sparsim/tasder/checkpoints``.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sparsim.errors import SparsimError

DATA_DIR_VARIABLE = "SPARSIM_FASHION_MNIST"
DEFAULT_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
# Mean and standard deviation of the training pixels (in [0, 1]).
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530
CHECKPOINTS = {"dense": "fmnist_resnet.pt", "pruned": "fmnist_resnet_pruned.pt"}
# The 10,000 test images split once, by a fixed permutation, into a validation half (to
# choose configurations on) and a test half (to report on).
HELD_OUT = 5000
SPLIT_PERMUTATION_SEED = 13


def fashion_mnist_split(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``train`` (60,000), or ``validation`` / ``test``: disjoint halves of the test set."""
    if split == "train":
        return load_fashion_mnist("train")
    if split not in ("validation", "test"):
        raise SparsimError(f"unknown split {split!r}; expected train, validation or test", "split")
    images, labels = load_fashion_mnist("test")
    order = torch.randperm(
        len(images), generator=torch.Generator().manual_seed(SPLIT_PERMUTATION_SEED)
    )
    chosen = order[:HELD_OUT] if split == "validation" else order[HELD_OUT:]
    return images[chosen], labels[chosen]


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_VARIABLE, DEFAULT_DATA_DIR))


def _read_idx(path: Path, magic: int, header: int) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    if int.from_bytes(raw[:4], "big") != magic:
        raise SparsimError("not an idx file of the expected kind", str(path))
    return np.frombuffer(raw, dtype=np.uint8, offset=header)


def load_fashion_mnist(split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised images ``[n, 1, 28, 28]`` (float32) and labels ``[n]`` (int64)."""
    if split not in FILES:
        raise SparsimError(f"unknown split {split!r}; expected train or test", "split")
    folder = data_dir()
    paths = [folder / name for name in FILES[split]]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise SparsimError(
            f"Fashion-MNIST not found ({missing[0]} is missing); install it with "
            f"'apt-get install dataset-fashion-mnist' or set {DATA_DIR_VARIABLE} to a folder "
            "holding the four idx .gz files",
            "fashion-mnist",
        )
    images = _read_idx(paths[0], 2051, 16).reshape(-1, 1, 28, 28)
    labels = _read_idx(paths[1], 2049, 8)
    if len(images) != len(labels):
        raise SparsimError(f"{len(images)} images but {len(labels)} labels", str(folder))
    pixels = torch.from_numpy(images.astype(np.float32) / 255.0)
    return (pixels - PIXEL_MEAN) / PIXEL_STD, torch.from_numpy(labels.astype(np.int64))


class BasicBlock(nn.Module):
    """Two 3x3 convs with batch norm and ReLU, plus a projected shortcut when the shape
    changes (as in the original ResNet for CIFAR-sized inputs)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


class FashionResNet(nn.Module):
    """ReLU ResNet for 28x28 grey images: a 3x3 stem, three stages of basic blocks
    (28x28, 14x14, 7x7), global average pooling and a linear classifier."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64), blocks: int = 1, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        stages = []
        in_channels = widths[0]
        for index, width in enumerate(widths):
            stride = 1 if index == 0 else 2
            stage = [BasicBlock(in_channels, width, stride)]
            stage += [BasicBlock(width, width) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*stage))
            in_channels = width
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.pool(self.layers(x)).flatten(1)
        return self.fc(x)


@dataclass(frozen=True)
class Checkpoint:
    model: FashionResNet
    info: dict[str, Any]


def load_fmnist_resnet(variant: str = "dense") -> Checkpoint:
    """The committed network (``dense`` or ``pruned``) in eval mode, with its training
    record (test accuracy, weight sparsity, epochs)."""
    if variant not in CHECKPOINTS:
        raise SparsimError(f"unknown variant {variant!r}; expected dense or pruned", "variant")
    resource = resources.files("sparsim.tasder") / "checkpoints" / CHECKPOINTS[variant]
    if not resource.is_file():
        raise SparsimError(
            "checkpoint missing; run scripts/train_fmnist_resnet.py", str(CHECKPOINTS[variant])
        )
    with resources.as_file(resource) as path:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    model = FashionResNet(tuple(saved["info"]["widths"]), saved["info"]["blocks"])
    model.load_state_dict(saved["state_dict"])
    return Checkpoint(model.eval(), dict(saved["info"]))
