"""The real models and their offline data (``-m models``; needs scripts/install-models.sh),
plus the clear errors when they are missing (default run)."""

from __future__ import annotations

import pytest
import torch

from sparsim.errors import SparsimError
from sparsim.tasder.models import load_real_model
from sparsim.tasder.models._packages import package_file
from sparsim.tasder.models.fmnist import (
    DATA_DIR_VARIABLE,
    fashion_mnist_split,
    load_fashion_mnist,
    load_fmnist_resnet,
)
from sparsim.workload import extract_workloads


def test_missing_fashion_mnist_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(SparsimError, match="apt-get install dataset-fashion-mnist") as info:
        load_fashion_mnist("test")
    assert "\n" not in str(info.value)
    with pytest.raises(SparsimError, match="unknown split 'dev'"):
        load_fashion_mnist("dev")


def test_missing_package_names_the_install_script():
    with pytest.raises(
        SparsimError,
        match=r"package 'no-such-dist' is not installed; install the models with scripts/install-models\.sh",
    ):
        package_file("no_such_package_for_sparsim", "weights.pth", "no-such-dist")


def test_committed_checkpoints_load_without_data():
    for variant in ("dense", "pruned"):
        checkpoint = load_fmnist_resnet(variant)
        assert 0.85 < checkpoint.info["test_accuracy"] < 1
        assert checkpoint.model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    pruned = load_fmnist_resnet("pruned")
    assert pruned.info["weight_sparsity"] >= 0.8
    table = extract_workloads(pruned.model, torch.randn(4, 1, 28, 28))
    weighted = sum(
        layer.weight_density * layer.gemm.M * layer.gemm.K * layer.gemm.count for layer in table
    )
    total = sum(layer.gemm.M * layer.gemm.K * layer.gemm.count for layer in table)
    assert weighted / total == pytest.approx(1 - pruned.info["weight_sparsity"], abs=1e-6)


models = pytest.mark.models


def _reaches(evaluator, level: float, clear: float = 0.2) -> None:
    """A quality figure at ``level`` as far as its sample allows (its 95% interval reaches
    it), with the interval's lower end clearing the best constant output by ``clear``: a
    check that holds at any sample size instead of a point estimate against a threshold,
    which a small sample crosses by chance."""
    estimate = evaluator.estimate_
    assert estimate.high >= level, estimate
    assert 0.99 * estimate.low - evaluator.chance_ > clear, (estimate, evaluator.chance_)


@models
def test_fashion_mnist_splits_are_disjoint_halves_of_the_test_set():
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10000, 1, 28, 28) and labels.shape == (10000,)
    validation, test = fashion_mnist_split("validation"), fashion_mnist_split("test")
    assert len(validation[0]) == len(test[0]) == 5000
    together = torch.cat([validation[0], test[0]]).flatten(1)
    assert torch.unique(together, dim=0).shape[0] == torch.unique(images.flatten(1), dim=0).shape[0]
    for variant in ("dense", "pruned"):
        real = load_real_model(
            f"fmnist-resnet{'-pruned' if variant == 'pruned' else ''}", evaluation_size=5000
        )
        scores = [real.evaluator.estimate_, real.extra_evaluators["accuracy, test split"].estimate_]
        assert [e.n for e in scores] == [5000, 5000]
        assert real.evaluator.split == "validation"
        # The two halves together are the whole test set the checkpoint was scored on.
        assert (scores[0].value + scores[1].value) / 2 == pytest.approx(real.info["test_accuracy"])
        assert scores[1].half_width < 0.01
        assert real.evaluator.collapse_margin() > 0.7


@models
def test_mobilenet_v2_linear_head_and_agreement_on_all_inputs():
    real = load_real_model("mobilenet-v2", calibration_size=8, evaluation_size=200, head_size=500)
    assert real.evaluator.metric == "accuracy" and real.evaluator.split == "validation"
    _reaches(real.evaluator, 0.6, clear=0.3)
    agreement = real.extra_evaluators["top-1 agreement (all inputs), test split"]
    assert agreement.quality_ == 1.0 and agreement.estimate_.n == 200
    assert agreement.chance_ < 0.5  # the ImageNet classes vary over the inputs
    table = extract_workloads(real.model, real.example)
    assert len(table.select("conv2d")) == 52 and len(table.select("linear")) == 1
    assert "features.2.conv.1.0" not in real.activation_layers  # depthwise: no TASD-A


@models
def test_pruned_mobilenet_checkpoint_keeps_its_accuracy():
    real = load_real_model("mobilenet-v2-fmnist-pruned", calibration_size=8, evaluation_size=500)
    assert 0.5 <= real.info["weight_sparsity"] <= 0.9
    record = real.info["record"]
    _reaches(real.evaluator, record["dense"]["validation"]["value"] - 0.05)
    table = extract_workloads(real.model, real.example)
    weights = [layer for layer in table if layer.weight_density < 0.6]
    assert len(weights) >= 30


@models
def test_resnet50_thin_features_and_head():
    real = load_real_model("resnet50-thin", calibration_size=4, evaluation_size=100, head_size=300)
    with torch.no_grad():
        features = real.model(real.example)
    assert features.shape == (4, 1024)
    _reaches(real.evaluator, 0.5)
    table = extract_workloads(real.model, real.example)
    assert len(table.select("conv2d")) == 53


@models
def test_minilm_wordnet_supersense_task():
    real = load_real_model("minilm-l6", calibration_size=16, evaluation_size=100, head_size=300)
    _reaches(real.evaluator, 0.6, clear=0.25)  # at n=100 a point estimate of 0.55 happens
    assert real.info["classes"][0] == "noun.act"
    similarity = real.extra_evaluators["cosine similarity, test split"]
    assert similarity.quality_ == pytest.approx(1.0) and similarity.chance_ < 0.9
    table = extract_workloads(real.model, real.example)
    assert len(table) == 36  # 6 blocks x (Q, K, V, attention output, FFN1, FFN2)
    assert len(real.activation_layers) == 6
    assert all(name.endswith(".output.dense") for name in real.activation_layers)
