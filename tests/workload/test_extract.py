"""Workload extraction from PyTorch models: shapes, densities, hooks, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn

from sparsim.errors import SparsimError
from sparsim.spec.workload import Conv, Gemm
from sparsim.workload import extract_workloads, resnet50
from sparsim.workload.probe import sample_pseudo_density


def all_hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def naive_pseudo_density(row: np.ndarray, mass: float) -> float:
    magnitudes = sorted(np.abs(row.astype(np.float64)), reverse=True)
    total = sum(magnitudes)
    if total == 0:
        return 0.0
    running = 0.0
    for count, value in enumerate(magnitudes, start=1):
        running += value
        if running >= mass * total * (1 - 1e-12):
            return count / len(row)
    return 1.0


@settings(max_examples=60, deadline=None)
@given(
    data=arrays(
        np.float32,
        st.tuples(st.integers(1, 5), st.integers(1, 40)),
        elements=st.floats(-100, 100, width=32) | st.just(0.0),
    ),
    mass=st.floats(0.05, 1.0),
)
def test_pseudo_density_matches_definition(data, mass):
    got = sample_pseudo_density(torch.from_numpy(data), mass).numpy()
    expected = [naive_pseudo_density(row, mass) for row in data]
    # Ties at the threshold can differ by one entry from float rounding.
    assert np.allclose(got, expected, atol=1.0 / data.shape[1] + 1e-12)
    density = (data != 0).mean(axis=1)
    assert np.all(got <= density + 1e-12)


def test_hand_computed_linear_densities():
    layer = nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 2, 0, 0], [0, 0, 0, 3]]))
    x = torch.tensor([[1.0, 0, 0, 2], [0, 0, 0, 3]])
    table = extract_workloads(nn.Sequential(layer), x, mass=0.99)
    row = table["0"]
    assert row.workload == Gemm(name="0", M=3, K=4, N=2)
    assert row.weight_density == pytest.approx(3 / 12)
    assert row.input_density == pytest.approx(0.375)
    assert row.input_density_p99 == pytest.approx(0.25 + 0.99 * 0.25)
    # Sample 1 needs |2| and |1| to hold 99% of 3; sample 2 needs only |3|.
    assert row.input_pseudo_density == pytest.approx((0.5 + 0.25) / 2)
    assert row.samples == 2
    # With 60% of the mass, one entry of sample 1 is enough.
    assert extract_workloads(nn.Sequential(layer), x, mass=0.6)["0"].input_pseudo_density == 0.25


def test_conv_lowering_and_grouped_conv():
    model = nn.Sequential(nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2), nn.ReLU())
    table = extract_workloads(model, torch.randn(2, 4, 9, 9))
    conv = table["0"].workload
    assert conv == Conv(
        name="0", batch=2, C=4, out_channels=8, P=5, Q=5, R=3, S=3, stride=2, groups=2
    )
    gemm = conv.as_gemm()
    assert (gemm.M, gemm.K, gemm.N, gemm.count) == (4, 18, 50, 2)


def test_non_square_stride_becomes_exact_gemm():
    model = nn.Sequential(nn.Conv2d(3, 6, (3, 1), stride=(2, 1)))
    x = torch.randn(1, 3, 11, 7)
    out = model(x)
    workload = extract_workloads(model, x)["0"].workload
    assert isinstance(workload, Gemm)
    assert workload.macs == out.numel() * 3 * 3 * 1


def test_linear_on_sequences_counts_every_token():
    model = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))
    table = extract_workloads(model, torch.randn(3, 7, 16))
    assert [layer.gemm.N for layer in table] == [21, 21]
    # GELU outputs have no exact zeros, but are concentrated: pseudo-density < density.
    gelu_input = table["2"]
    assert gelu_input.input_density > 0.99
    assert gelu_input.input_pseudo_density < gelu_input.input_density


def test_calibration_batches_set_the_densities():
    model = nn.Sequential(nn.Linear(8, 4))
    sample = torch.randn(5, 8)
    zeros = [torch.zeros(2, 8), torch.zeros(3, 8)]
    table = extract_workloads(model, sample, calibration=zeros)
    assert table["0"].workload.N == 5  # shapes from the sample
    assert (table["0"].input_density, table["0"].samples) == (0.0, 5)
    assert table["0"].input_pseudo_density == 0.0


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.shared = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x, scale=1.0):
        return self.head(self.shared(torch.relu(self.shared(x))) * scale)


def test_shared_layer_calls_and_keyword_inputs():
    model = Twice()
    table = extract_workloads(model, {"x": torch.randn(3, 4), "scale": 2.0})
    assert table.names == ["shared", "shared#2", "head"]
    assert all(layer.samples == 3 for layer in table)
    assert table["shared#2"].input_density <= 1.0


class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        self.fc(x)
        raise RuntimeError("forward failed")


def test_hooks_removed_and_mode_restored_even_on_failure():
    model = Broken().train()
    with pytest.raises(RuntimeError, match="forward failed"):
        extract_workloads(model, torch.randn(2, 4))
    assert all_hooks(model) == 0
    assert model.training
    ok = nn.Sequential(nn.Linear(4, 4)).train()
    extract_workloads(ok, torch.randn(2, 4), calibration=[torch.randn(2, 4)])
    assert all_hooks(ok) == 0 and ok.training


def test_layer_selection_errors():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2), nn.Linear(2, 2))
    with pytest.raises(
        SparsimError, match=r"layers: unknown layer name 'fc' \(the model has: 0, 2, 3\)"
    ):
        extract_workloads(model, torch.randn(1, 4), layers=["fc"])
    with pytest.raises(SparsimError, match="'1' is a ReLU, not a Conv2d/Linear layer"):
        extract_workloads(model, torch.randn(1, 4), layers=["1"])
    with pytest.raises(SparsimError, match="calibration: no batches in the calibration data"):
        extract_workloads(model, torch.randn(1, 4), calibration=[])
    assert extract_workloads(model, torch.randn(1, 4), layers=["2"]).names == ["2"]
    unused = nn.ModuleDict({"used": nn.Linear(4, 4), "spare": nn.Linear(4, 4)})
    unused.forward = lambda x: unused["used"](x)  # type: ignore[method-assign]
    with pytest.raises(SparsimError, match="layer 'spare' is not called"):
        extract_workloads(unused, torch.randn(1, 4), layers=["spare"])
    assert all_hooks(model) == 0 and all_hooks(unused) == 0


class Bottleneck(nn.Module):
    """torchvision's v1.5 bottleneck, rebuilt to check the built-in table against a model."""

    def __init__(self, in_channels, width, stride):
        super().__init__()
        out = width * 4
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or in_channels != out:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out, 1, stride, bias=False))

    def forward(self, x):
        y = self.conv3(self.relu(self.conv2(self.relu(self.conv1(x)))))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet50(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        channels = 64
        for stage, (width, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), 1):
            layers = []
            for block in range(blocks):
                layers.append(Bottleneck(channels, width, 2 if block == 0 and stage > 1 else 1))
                channels = width * 4
            setattr(self, f"layer{stage}", nn.Sequential(*layers))
        self.fc = nn.Linear(2048, 1000)

    def forward(self, x):
        x = self.maxpool(torch.relu(self.conv1(x)))
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return self.fc(x.mean((2, 3)))


def test_extracted_resnet50_matches_builtin_table():
    torch.manual_seed(0)
    model = ResNet50()
    extracted = extract_workloads(model, torch.randn(2, 3, 64, 64))
    builtin = resnet50(batch=2, image_size=64)
    assert extracted.names == builtin.names
    assert extracted.workloads == builtin.workloads
    # Inputs after ReLU are sparse; the image and the stem conv's weights are not.
    assert extracted["conv1"].input_density == 1.0
    assert extracted["layer1.0.conv2"].input_density < 0.8
