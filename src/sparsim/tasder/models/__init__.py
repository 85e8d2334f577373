"""Real models and their offline data, ready for TASDER.

Each loader returns a :class:`RealModel`: the network, one example batch (fixing the
workload shapes), calibration batches, a quality evaluator already fitted on the original
network, and the layers whose inputs TASD-A targets by default. Everything except the
Fashion-MNIST ResNets needs the ``[models]`` extra (``scripts/install-models.sh``).

Every model is scored on labelled data shipped in a package, split four ways, disjoint:
calibration (activation statistics), head (fits a frozen linear head where the network's
own output is not the task's), validation (``evaluator``: what the search chooses on) and
test (``extra_evaluators`` whose ``split`` is ``"test"``: what is reported).

=============================  ======  ==========================================  =================
name                           act.    labelled data                               quality
=============================  ======  ==========================================  =================
``fmnist-resnet``              ReLU    Fashion-MNIST (Debian package)              accuracy
``fmnist-resnet-pruned``       ReLU    same; 90% of weights pruned                 accuracy
``mobilenet-v2``               ReLU6   Fashion-MNIST, 32 x 32 RGB                  accuracy [1]_
``mobilenet-v2-fmnist-pruned`` ReLU6   same; ImageNet MobileNetV2 pruned, refitted accuracy
``resnet50-thin``              ReLU    Fashion-MNIST, 64 x 64 BGR                  accuracy [2]_
``minilm-l6``                  GELU    WordNet noun glosses, 10 supersenses        accuracy [1]_
=============================  ======  ==========================================  =================

.. [1] of a linear head fitted on the original network's outputs on the head split.
.. [2] of a linear head on the pooled features (the NSFW classifier's own two scores say
   nothing about these images); its 7 x 7 average pool made adaptive for 64 x 64 inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from sparsim.errors import SpecError, UnknownNameError
from sparsim.tasder.quality import (
    Accuracy,
    CosineSimilarity,
    Evaluator,
    Head,
    Top1Agreement,
    linear_head,
)
from sparsim.tasder.search import activation_layers
from sparsim.workload.probe import inference, run_model

# Inputs the linear heads are fitted on (a split of their own).
HEAD_SIZE = 2000


@dataclass(frozen=True)
class RealModel:
    name: str
    model: nn.Module
    example: Any
    calibration: list[Any]
    evaluator: Evaluator
    activation: str
    activation_layers: list[str]
    extra_evaluators: dict[str, Evaluator] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def _batches(data: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    return list(data.split(batch_size))


def _all_but_first(model: nn.Module) -> list[str]:
    """The layers TASD-A can apply to, except the first one, whose input is the image."""
    return activation_layers(model)[1:]


def _split_sizes(evaluation_size: int, test_size: int | None) -> tuple[int, int]:
    return evaluation_size, evaluation_size if test_size is None else test_size


def _labelled(
    model: nn.Module,
    batches: list[Any],
    labels: torch.Tensor,
    split: str,
    head: Head | None,
    progress: bool,
) -> Accuracy:
    return Accuracy(batches, labels, head=head, split=split, progress=progress).fit(model)


def _head_on(model: nn.Module, batches: list[Any], labels: torch.Tensor) -> Head:
    """A linear head fitted on the original network's outputs for the head split."""
    with inference(model):
        outputs = torch.cat([run_model(model, batch).float() for batch in batches])
    return linear_head(outputs, labels)


def _image_model(
    name: str,
    model: nn.Module,
    to_input: Callable[[torch.Tensor], torch.Tensor],
    activation: str,
    sizes: Sizes,
    *,
    head_size: int = 0,
    agreement: bool = False,
    info: dict[str, Any] | None = None,
) -> RealModel:
    """A network scored on Fashion-MNIST: validation accuracy to choose, test to report."""
    from sparsim.tasder.models.fmnist import fashion_mnist_split

    train_images, train_labels = fashion_mnist_split("train")
    validation_images, validation_labels = fashion_mnist_split("validation")
    test_images, test_labels = fashion_mnist_split("test")
    evaluation_size, test_size = _split_sizes(sizes.evaluation, sizes.test_size)

    def batches(images: torch.Tensor) -> list[torch.Tensor]:
        return [to_input(part) for part in images.split(sizes.batch)]

    # Calibration from the end of the training set, the head split from its start.
    calibration = batches(train_images[len(train_images) - sizes.calibration :])
    head = None
    if head_size:
        head = _head_on(model, batches(train_images[:head_size]), train_labels[:head_size])
    evaluator = _labelled(
        model,
        batches(validation_images[:evaluation_size]),
        validation_labels[:evaluation_size],
        "validation",
        head,
        sizes.progress,
    )
    test_batches = batches(test_images[:test_size])
    extra: dict[str, Evaluator] = {
        "accuracy, test split": _labelled(
            model, test_batches, test_labels[:test_size], "test", head, sizes.progress
        )
    }
    if agreement:
        extra["top-1 agreement (all inputs), test split"] = Top1Agreement(
            test_batches, split="test", progress=sizes.progress
        ).fit(model)
    return RealModel(
        name,
        model,
        calibration[0],
        calibration,
        evaluator,
        activation,
        _all_but_first(model),
        extra,
        info or {},
    )


@dataclass(frozen=True)
class Sizes:
    """A loader's arguments: ``LOADERS[name](calibration_size, evaluation_size, batch_size,
    progress, test_size=None, head_size=HEAD_SIZE)``."""

    calibration: int
    evaluation: int
    batch: int
    progress: bool
    test_size: int | None = None
    head_size: int = HEAD_SIZE


def _fmnist(variant: str, sizes: Sizes) -> RealModel:
    from sparsim.tasder.models.fmnist import load_fmnist_resnet

    checkpoint = load_fmnist_resnet(variant)
    return _image_model(
        f"fmnist-resnet{'-pruned' if variant == 'pruned' else ''}",
        checkpoint.model,
        lambda images: images,
        "relu",
        sizes,
        info=checkpoint.info,
    )


def _mobilenet(sizes: Sizes) -> RealModel:
    from sparsim.tasder.models.mobilenet import load_mobilenet_v2
    from sparsim.tasder.models.mobilenet_fmnist import fmnist_rgb

    return _image_model(
        "mobilenet-v2",
        load_mobilenet_v2(),
        fmnist_rgb,
        "relu6",
        sizes,
        head_size=sizes.head_size,
        agreement=True,
    )


def _mobilenet_fmnist_pruned(sizes: Sizes) -> RealModel:
    from sparsim.tasder.models.mobilenet_fmnist import fmnist_rgb, load_mobilenet_fmnist

    model, info = load_mobilenet_fmnist()
    return _image_model("mobilenet-v2-fmnist-pruned", model, fmnist_rgb, "relu6", sizes, info=info)


def _resnet50_thin(sizes: Sizes) -> RealModel:
    from sparsim.tasder.models.resnet50_thin import features_of, fmnist_bgr, load_resnet50_thin

    return _image_model(
        "resnet50-thin",
        features_of(load_resnet50_thin()),
        fmnist_bgr,
        "relu",
        sizes,
        head_size=sizes.head_size,
    )


def _minilm(sizes: Sizes) -> RealModel:
    from sparsim.tasder.models.data import SUPERSENSES, wordnet_glosses
    from sparsim.tasder.models.minilm import ffn_output_layers, load_minilm, tokenize

    model, tokenizer = load_minilm()
    evaluation_size, test_size = _split_sizes(sizes.evaluation, sizes.test_size)
    counts = [sizes.calibration, sizes.head_size, evaluation_size, test_size]
    sentences, labels, names = wordnet_glosses(-(-sum(counts) // len(SUPERSENSES)))
    ends = torch.tensor(counts).cumsum(0).tolist()
    parts = [slice(start, end) for start, end in zip([0, *ends[:-1]], ends, strict=True)]

    def batches(part: slice) -> tuple[list[dict[str, torch.Tensor]], torch.Tensor]:
        # Sorted by length: batches pad to their longest sentence.
        chosen = sorted(range(part.start, part.stop), key=lambda index: len(sentences[index]))
        return (
            tokenize(tokenizer, [sentences[index] for index in chosen], sizes.batch),
            labels[chosen],
        )

    calibration, _ = batches(parts[0])
    head = _head_on(model, *batches(parts[1]))
    evaluator = _labelled(model, *batches(parts[2]), "validation", head, sizes.progress)
    test_batches, test_labels = batches(parts[3])
    extra: dict[str, Evaluator] = {
        "accuracy, test split": _labelled(
            model, test_batches, test_labels, "test", head, sizes.progress
        ),
        "cosine similarity, test split": CosineSimilarity(
            test_batches, split="test", progress=sizes.progress
        ).fit(model),
    }
    return RealModel(
        "minilm-l6",
        model,
        calibration[0],
        calibration,
        evaluator,
        "gelu",
        ffn_output_layers(model),
        extra,
        {"classes": names},
    )


def _loader(build: Callable[[Sizes], RealModel]) -> Callable[..., RealModel]:
    return lambda *args, **kwargs: build(Sizes(*args, **kwargs))


LOADERS: dict[str, Callable[..., RealModel]] = {
    "fmnist-resnet": _loader(lambda sizes: _fmnist("dense", sizes)),
    "fmnist-resnet-pruned": _loader(lambda sizes: _fmnist("pruned", sizes)),
    "mobilenet-v2": _loader(_mobilenet),
    "mobilenet-v2-fmnist-pruned": _loader(_mobilenet_fmnist_pruned),
    "resnet50-thin": _loader(_resnet50_thin),
    "minilm-l6": _loader(_minilm),
}


def load_real_model(
    name: str,
    *,
    calibration_size: int = 64,
    evaluation_size: int = 256,
    batch_size: int = 32,
    progress: bool = False,
    test_size: int | None = None,
    head_size: int = HEAD_SIZE,
) -> RealModel:
    """Load a real model with its data; calibration, head, validation and test sets are
    disjoint.

    ``calibration_size``, ``evaluation_size`` (validation: what the search scores) and
    ``test_size`` (what is reported; default ``evaluation_size``) and ``head_size`` (the
    linear heads' fit) count samples (images or sentences). Fashion-MNIST's validation and test splits hold 5,000 images each.
    """
    if name not in LOADERS:
        raise UnknownNameError(
            f"unknown model {name!r}; expected one of {', '.join(LOADERS)}", "model"
        )
    for key, value in (
        ("calibration_size", calibration_size),
        ("evaluation_size", evaluation_size),
        ("batch_size", batch_size),
        ("test_size", 1 if test_size is None else test_size),
        ("head_size", head_size),
    ):
        if value < 1:
            raise SpecError(f"must be a positive integer, got {value}", key)
    # Only what differs from the defaults is passed on: a loader registered with the
    # four positional arguments alone keeps working.
    split_sizes: dict[str, int] = {}
    if test_size is not None:
        split_sizes["test_size"] = test_size
    if head_size != HEAD_SIZE:
        split_sizes["head_size"] = head_size
    return LOADERS[name](calibration_size, evaluation_size, batch_size, progress, **split_sizes)
