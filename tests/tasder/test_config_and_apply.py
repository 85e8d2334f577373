"""Per-layer configurations: files, validation, applying and undoing them."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsim.errors import SparsimError
from sparsim.tasd import parse_series
from sparsim.tasder import (
    ActivationTasd,
    LayerConfig,
    TasderConfig,
    WeightTasd,
    apply_config,
    hardware_series,
    load_config,
)
from sparsim.tasder.structured import approximate

VEGETA_M8 = [str(s) for s in hardware_series("TTC-VEGETA-M8")]


@st.composite
def configs(draw):
    layers = {}
    for index in range(draw(st.integers(0, 5))):
        series = draw(st.sampled_from(VEGETA_M8))
        operand = draw(st.sampled_from(["weights", "activations"]))
        layers[f"block.{index}.conv"] = LayerConfig(**{operand: series})
    return TasderConfig(hardware="TTC-VEGETA-M8", model="tiny", layers=layers)


@settings(max_examples=30, deadline=None)
@given(config=configs(), suffix=st.sampled_from([".json", ".yaml", ".yml"]))
def test_config_file_round_trip(tmp_path_factory, config, suffix):
    path = config.save(tmp_path_factory.mktemp("cfg") / f"config{suffix}")
    assert load_config(path) == config


def test_series_are_normalised():
    layer = LayerConfig(weights=" 2:8 + 1:8 ")
    assert layer.weights == "2:8+1:8"
    assert layer.series.density == pytest.approx(3 / 8)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "hardware: TTC-STC-M4\nlayers: {fc: {weights: '2:8'}}\n",
            r"c\.yaml: layers\.fc\.weights: series '2:8' does not run on TTC-STC-M4",
        ),
        ("layers: {fc: {weights: '5:4'}}\n", r"c\.yaml: layers\.fc\.weights: .*N <= M"),
        (
            "layers: {fc: {weights: '2:4', activations: '2:4'}}\n",
            r"c\.yaml: layers\.fc: .*set weights or activations, not both",
        ),
        ("hardware: TPU\nlayers: {}\n", r"c\.yaml: hardware: unknown hardware 'TPU'"),
        ("layers: {fc: {weight: '2:4'}}\n", r"c\.yaml: layers\.fc\.weight: unknown key"),
        ("- 1\n", r"c\.yaml: expected a mapping"),
    ],
)
def test_bad_config_is_one_line(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(SparsimError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)


def test_weight_tasd_prepare_step_restore_squash(cnn):
    original = cnn.conv.weight.detach().clone()
    sparsifier = WeightTasd({"conv": "2:8"}).prepare(cnn)
    sparsifier.step()
    expected = approximate(original, parse_series("2:8"), 1)
    assert torch.equal(cnn.conv.weight, expected)
    # 2 of every 8 input channels per (output, filter position) survive.
    blocks = cnn.conv.weight.detach().movedim(1, -1).reshape(16, 3, 3, 2, 8)
    assert int(blocks.count_nonzero(-1).max()) <= 2
    sparsifier.restore()
    assert torch.equal(cnn.conv.weight, original)
    sparsifier.step()
    sparsifier.squash_mask()
    assert torch.equal(cnn.conv.weight, expected)
    with pytest.raises(SparsimError, match="call prepare"):
        sparsifier.set("conv", "2:8")


def test_activation_tasd_hooks_transform_inputs(cnn, images, hook_count):
    x = images[0]
    with torch.no_grad():
        hidden = torch.relu(cnn.stem(x))
        structured = approximate(hidden, parse_series("4:8"), 1)
        expected = cnn.fc(torch.relu(cnn.depthwise(torch.relu(cnn.conv(structured)))).mean((2, 3)))
        hooks = ActivationTasd({"conv": "4:8"}).prepare(cnn)
        assert hooks.active and hook_count(cnn) == 1
        assert torch.allclose(cnn(x), expected, atol=1e-6)
        hooks.remove()
    assert hook_count(cnn) == 0


def test_activation_tasd_refuses_grouped_convs_and_unknown_layers(cnn, hook_count):
    with pytest.raises(SparsimError, match="layers: 'depthwise' is a grouped conv"):
        ActivationTasd({"depthwise": "2:8"}).prepare(cnn)
    with pytest.raises(SparsimError, match="layers: unknown layer name 'conv9'"):
        ActivationTasd({"conv9": "2:8"}).prepare(cnn)
    assert hook_count(cnn) == 0


def test_apply_config_and_undo(cnn, images, hook_count):
    x = images[0]
    with torch.no_grad():
        before = cnn(x)
    config = TasderConfig(
        hardware="TTC-VEGETA-M8",
        layers={"conv": LayerConfig(weights="2:8"), "fc": LayerConfig(activations="4:8")},
    )
    with torch.no_grad(), apply_config(cnn, config):
        changed = cnn(x)
        assert hook_count(cnn) == 1
    assert not torch.allclose(changed, before)
    with torch.no_grad():
        assert torch.equal(cnn(x), before)
    assert hook_count(cnn) == 0


def test_apply_config_checks_every_name_before_changing_anything(cnn):
    weight = cnn.conv.weight.detach().clone()
    config = TasderConfig(
        layers={"conv": LayerConfig(weights="2:8"), "nope": LayerConfig(weights="2:8")}
    )
    with pytest.raises(SparsimError, match="unknown layer name 'nope'"):
        apply_config(cnn, config)
    assert torch.equal(cnn.conv.weight, weight)
