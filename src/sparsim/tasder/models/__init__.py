"""Real models and their offline data, ready for TASDER.

Each loader returns a :class:`RealModel`: the network, one example batch (fixing the
workload shapes), calibration batches, a quality evaluator already fitted on the original
network, and the layers whose inputs TASD-A targets by default. Everything except the
Fashion-MNIST ResNet needs the ``[models]`` extra (``scripts/install-models.sh``).

============================  ======  ======================================  ===================
name                          act.    data                                    quality
============================  ======  ======================================  ===================
``fmnist-resnet``             ReLU    Fashion-MNIST (Debian package)          test accuracy
``fmnist-resnet-pruned``      ReLU    same; 90% of weights pruned             test accuracy
``mobilenet-v2``              ReLU6   scikit-image photos and crops           top-1 agreement [1]_
``resnet50-thin``             ReLU    scikit-image photos and crops           score agreement
``minilm-l6``                 GELU    Python reference sentences              cosine similarity
============================  ======  ======================================  ===================

.. [1] on the inputs the original classifies with at least 50% probability.
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
    ScoreAgreement,
    Top1Agreement,
    centroid_head,
)
from sparsim.tasder.search import activation_layers
from sparsim.workload.probe import inference

# Most crops of scikit-image's photos (textures, text, cells) belong to no ImageNet class;
# agreement is measured on those the original classifies with >= 50% probability.
MOBILENET_MIN_CONFIDENCE = 0.5


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


def _fmnist(
    variant: str, calibration_size: int, evaluation_size: int, batch_size: int, progress: bool
) -> RealModel:
    from sparsim.tasder.models.fmnist import load_fashion_mnist, load_fmnist_resnet

    checkpoint = load_fmnist_resnet(variant)
    train_images, _ = load_fashion_mnist("train")
    test_images, test_labels = load_fashion_mnist("test")
    if evaluation_size < len(test_images):
        test_images, test_labels = test_images[:evaluation_size], test_labels[:evaluation_size]
    calibration = _batches(train_images[:calibration_size], batch_size)
    evaluator = Accuracy(_batches(test_images, 500), test_labels, progress=progress)
    evaluator.fit(checkpoint.model)
    return RealModel(
        name=f"fmnist-resnet{'-pruned' if variant == 'pruned' else ''}",
        model=checkpoint.model,
        example=calibration[0],
        calibration=calibration,
        evaluator=evaluator,
        activation="relu",
        activation_layers=_all_but_first(checkpoint.model),
        info=checkpoint.info,
    )


def _mobilenet(
    calibration_size: int, evaluation_size: int, batch_size: int, progress: bool
) -> RealModel:
    from sparsim.tasder.models.data import imagenet_normalise, photo_crops
    from sparsim.tasder.models.mobilenet import load_mobilenet_v2

    model = load_mobilenet_v2()
    evaluation = imagenet_normalise(photo_crops(evaluation_size, seed=0))
    calibration = _batches(imagenet_normalise(photo_crops(calibration_size, seed=1)), batch_size)
    evaluator = Top1Agreement(
        _batches(evaluation, batch_size), min_confidence=MOBILENET_MIN_CONFIDENCE, progress=progress
    ).fit(model)
    return RealModel(
        "mobilenet-v2",
        model,
        calibration[0],
        calibration,
        evaluator,
        "relu6",
        _all_but_first(model),
    )


def _resnet50_thin(
    calibration_size: int, evaluation_size: int, batch_size: int, progress: bool
) -> RealModel:
    from sparsim.tasder.models.data import photo_crops
    from sparsim.tasder.models.resnet50_thin import load_resnet50_thin, to_model_input

    model = load_resnet50_thin()
    evaluation = to_model_input(photo_crops(evaluation_size, seed=0))
    calibration = _batches(to_model_input(photo_crops(calibration_size, seed=1)), batch_size)
    evaluator = ScoreAgreement(_batches(evaluation, batch_size), progress=progress).fit(model)
    return RealModel(
        "resnet50-thin",
        model,
        calibration[0],
        calibration,
        evaluator,
        "relu",
        _all_but_first(model),
    )


def _minilm(
    calibration_size: int, evaluation_size: int, batch_size: int, progress: bool
) -> RealModel:
    from sparsim.tasder.models.data import labelled_sentences, reference_sentences
    from sparsim.tasder.models.minilm import ffn_output_layers, load_minilm, tokenize

    model, tokenizer = load_minilm()
    sentences = reference_sentences()
    # Interleave so that both sets cover every topic of the reference.
    evaluation = sentences[0::2][:evaluation_size]
    calibration = tokenize(tokenizer, sentences[1::2][:calibration_size], batch_size)
    evaluator = CosineSimilarity(tokenize(tokenizer, evaluation, batch_size), progress=progress)
    evaluator.fit(model)
    labelled, labels, names = labelled_sentences()
    labelled_batches = tokenize(tokenizer, labelled, batch_size)
    topics = Accuracy(labelled_batches, labels, progress=progress)
    with inference(model):
        embeddings = torch.cat([model(**batch) for batch in labelled_batches])
    topics.head = centroid_head(embeddings, labels)
    topics.fit(model)
    return RealModel(
        "minilm-l6",
        model,
        calibration[0],
        calibration,
        evaluator,
        "gelu",
        ffn_output_layers(model),
        {"topic accuracy": topics},
        {"topics": names},
    )


LOADERS: dict[str, Callable[..., RealModel]] = {
    "fmnist-resnet": lambda *args: _fmnist("dense", *args),
    "fmnist-resnet-pruned": lambda *args: _fmnist("pruned", *args),
    "mobilenet-v2": _mobilenet,
    "resnet50-thin": _resnet50_thin,
    "minilm-l6": _minilm,
}


def load_real_model(
    name: str,
    *,
    calibration_size: int = 64,
    evaluation_size: int = 256,
    batch_size: int = 32,
    progress: bool = False,
) -> RealModel:
    """Load a real model with its data; quality evaluation and calibration sets are disjoint.

    ``calibration_size`` and ``evaluation_size`` count samples (images or sentences); for
    Fashion-MNIST the evaluation set is the first ``evaluation_size`` test images.
    """
    if name not in LOADERS:
        raise UnknownNameError(
            f"unknown model {name!r}; expected one of {', '.join(LOADERS)}", "model"
        )
    for key, value in (
        ("calibration_size", calibration_size),
        ("evaluation_size", evaluation_size),
        ("batch_size", batch_size),
    ):
        if value < 1:
            raise SpecError(f"must be a positive integer, got {value}", key)
    return LOADERS[name](calibration_size, evaluation_size, batch_size, progress)
