"""Train the small Fashion-MNIST ReLU ResNet and an unstructured magnitude-pruned variant.

The pruned network stands in for the 95%-sparse ResNet-50 of the TASD paper: the same
kind of network (ReLU, residual) with most weights removed by global magnitude pruning
and a short fine-tune. Both checkpoints (a few hundred KB) go to
``src/sparsim/tasder/checkpoints`` with their test accuracy and sparsity.

    python scripts/train_fmnist_resnet.py            # 5 to 8 minutes on 2 CPU cores
    python scripts/train_fmnist_resnet.py --epochs 1 --finetune-epochs 1 --out /tmp/ck
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from sparsim.errors import SparsimError
from sparsim.tasder.models.fmnist import CHECKPOINTS, FashionResNet, load_fashion_mnist

CHECKPOINT_DIR = Path(__file__).resolve().parents[1] / "src/sparsim/tasder/checkpoints"


def prunable(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def global_magnitude_masks(weights: list[torch.Tensor], sparsity: float) -> list[torch.Tensor]:
    """Masks keeping the largest-magnitude weights over all layers together."""
    magnitudes = torch.cat([w.detach().abs().flatten() for w in weights])
    drop = round(sparsity * magnitudes.numel())
    if drop == 0:
        return [torch.ones_like(w, dtype=torch.bool) for w in weights]
    threshold = torch.kthvalue(magnitudes, drop).values
    return [w.detach().abs() > threshold for w in weights]


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(images), 1000):
            logits = model(images[start : start + 1000])
            correct += int((logits.argmax(1) == labels[start : start + 1000]).sum())
    return correct / len(images)


def train(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: int,
    lr: float,
    batch_size: int,
    generator: torch.Generator,
    sparsity_schedule: list[float] | None = None,
    label: str = "train",
) -> list[torch.Tensor] | None:
    """SGD with a cosine learning rate; with a sparsity schedule (one target per step,
    non-decreasing) the global magnitude masks are recomputed whenever the target rises
    and re-applied after every step."""
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4, nesterov=True
    )
    steps_per_epoch = math.ceil(len(images) / batch_size)
    total = epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=total, pct_start=0.15
    )
    loss_fn = nn.CrossEntropyLoss()
    weights = prunable(model)
    masks, current, step = None, 0.0, 0
    bar = tqdm(total=total, desc=label, unit="step")
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), batch_size):
            if sparsity_schedule is not None and sparsity_schedule[step] > current:
                current = sparsity_schedule[step]
                masks = global_magnitude_masks(weights, current)
            index = order[start : start + batch_size]
            batch = images[index]
            flip = torch.rand(len(batch), generator=generator) < 0.5
            batch = torch.where(flip[:, None, None, None], batch.flip(3), batch)
            loss = loss_fn(model(batch), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if masks is not None:
                with torch.no_grad():
                    for weight, mask in zip(weights, masks, strict=True):
                        weight.mul_(mask)
            step += 1
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}", sparsity=f"{current:.2f}")
    bar.close()
    return masks


def weight_sparsity(model: nn.Module) -> float:
    weights = prunable(model)
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / sum(w.numel() for w in weights)


def save(model: FashionResNet, path: Path, info: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "info": info}, path)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB): {info}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=4, help="dense training epochs (default 4)")
    parser.add_argument(
        "--finetune-epochs", type=int, default=2, help="pruning fine-tune epochs (default 2)"
    )
    parser.add_argument(
        "--sparsity", type=float, default=0.9, help="final weight sparsity (default 0.9)"
    )
    parser.add_argument("--lr", type=float, default=0.1, help="peak learning rate (default 0.1)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=CHECKPOINT_DIR, help="checkpoint folder")
    args = parser.parse_args(argv)
    if not 0.0 <= args.sparsity < 1.0:
        print(
            f"train_fmnist_resnet: error: --sparsity must be in [0, 1), got {args.sparsity}",
            file=sys.stderr,
        )
        return 2
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    try:
        train_images, train_labels = load_fashion_mnist("train")
        test_images, test_labels = load_fashion_mnist("test")
    except SparsimError as exc:
        print(f"train_fmnist_resnet: error: {exc}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    model = FashionResNet()
    train(
        model,
        train_images,
        train_labels,
        args.epochs,
        args.lr,
        args.batch_size,
        generator,
        label="dense",
    )
    dense_accuracy = evaluate(model, test_images, test_labels)
    base = {"widths": [16, 32, 64], "blocks": 1, "seed": args.seed, "batch_size": args.batch_size}
    save(
        model,
        args.out / CHECKPOINTS["dense"],
        {
            **base,
            "epochs": args.epochs,
            "test_accuracy": dense_accuracy,
            "weight_sparsity": weight_sparsity(model),
            "train_seconds": round(time.perf_counter() - started),
        },
    )

    # Gradual pruning over the first half of the fine-tune (cubic schedule, as in Zhu & Gupta
    # 2017), then fine-tuning at the final sparsity.
    started = time.perf_counter()
    steps = args.finetune_epochs * math.ceil(len(train_images) / args.batch_size)
    ramp = max(1, steps // 2)
    schedule = [args.sparsity * (1 - (1 - min(step, ramp) / ramp) ** 3) for step in range(steps)]
    train(
        model,
        train_images,
        train_labels,
        args.finetune_epochs,
        args.lr / 4,
        args.batch_size,
        generator,
        schedule,
        label="prune",
    )
    pruned_accuracy = evaluate(model, test_images, test_labels)
    save(
        model,
        args.out / CHECKPOINTS["pruned"],
        {
            **base,
            "epochs": args.epochs,
            "finetune_epochs": args.finetune_epochs,
            "target_sparsity": args.sparsity,
            "test_accuracy": pruned_accuracy,
            "dense_test_accuracy": dense_accuracy,
            "weight_sparsity": weight_sparsity(model),
            "train_seconds": round(time.perf_counter() - started),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
