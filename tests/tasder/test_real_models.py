"""The real models and their offline data (``-m models``; needs scripts/install-models.sh),
plus the clear errors when they are missing (default run)."""

from __future__ import annotations

import pytest
import torch

from sparsim.errors import SparsimError
from sparsim.tasder.models import load_real_model
from sparsim.tasder.models._packages import package_file
from sparsim.tasder.models.fmnist import DATA_DIR_VARIABLE, load_fashion_mnist, load_fmnist_resnet
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


@models
def test_fashion_mnist_accuracy_matches_the_checkpoint_record():
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10000, 1, 28, 28) and labels.shape == (10000,)
    for variant in ("dense", "pruned"):
        real = load_real_model(
            f"fmnist-resnet{'-pruned' if variant == 'pruned' else ''}", evaluation_size=10000
        )
        assert real.evaluator.quality_ == pytest.approx(real.info["test_accuracy"])


@models
def test_mobilenet_v2_recognises_the_cat_and_has_300m_macs():
    real = load_real_model("mobilenet-v2", calibration_size=8, evaluation_size=20)
    from sparsim.tasder.models.data import imagenet_normalise, photo_crops

    photos = imagenet_normalise(photo_crops(20))
    with torch.no_grad():
        top1 = real.model(photos).argmax(1)
    # chelsea.png is a tabby cat: ImageNet classes 281-285 are domestic cats.
    assert 281 <= int(top1[4]) <= 285
    table = extract_workloads(real.model, photos[:1])
    assert len(table.select("conv2d")) == 52 and len(table.select("linear")) == 1
    assert table.macs == pytest.approx(300e6, rel=0.02)
    assert "features.2.conv.1.0" not in real.activation_layers  # depthwise: no TASD-A


@models
def test_resnet50_thin_converts_and_scores():
    real = load_real_model("resnet50-thin", calibration_size=4, evaluation_size=8)
    with torch.no_grad():
        scores = real.model(real.example)
    assert scores.shape == (4, 2)
    assert torch.allclose(scores.sum(1), torch.ones(4), atol=1e-5)
    table = extract_workloads(real.model, real.example)
    assert len(table.select("conv2d")) == 53


@models
def test_minilm_embeddings_and_labelled_task():
    real = load_real_model("minilm-l6", calibration_size=16, evaluation_size=32)
    embeddings = real.evaluator.reference_
    assert torch.allclose(embeddings.norm(dim=1), torch.ones(len(embeddings)), atol=1e-5)
    assert real.evaluator.quality_ == pytest.approx(1.0)
    assert real.extra_evaluators["topic accuracy"].quality_ > 0.6
    table = extract_workloads(real.model, real.example)
    assert len(table) == 36  # 6 blocks x (Q, K, V, attention output, FFN1, FFN2)
    assert len(real.activation_layers) == 6
    assert all(name.endswith(".output.dense") for name in real.activation_layers)
