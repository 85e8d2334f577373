"""Per-layer configurations: files, validation, applying and undoing them."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from sparsim.errors import SparsimError
from sparsim.tasd import parse_series
from sparsim.tasder import (
    ActivationTasd,
    LayerConfig,
    Tasder,
    TasderConfig,
    Top1Agreement,
    WeightTasd,
    apply_config,
    hardware_series,
    input_channel_norms,
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


def test_weight_output_keep_ranks_by_weight_times_input_norm():
    layer = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 1.0, 2.0, 0.5]]))
    model = nn.Sequential(layer)
    # channel norms over the calibration rows: [0.1, 10, 1, 1] (e.g. sqrt(0.01) and sqrt(100))
    batches = [torch.tensor([[0.1, 6.0, 0.6, 0.8]]), torch.tensor([[0.0, 8.0, 0.8, 0.6]])]
    norms = input_channel_norms(model, batches)
    assert norms["0"].tolist() == pytest.approx([0.1, 10.0, 1.0, 1.0])
    for keep, series, expected in (
        ("magnitude", "1:4", [3.0, 0.0, 0.0, 0.0]),
        ("output", "1:4", [0.0, 1.0, 0.0, 0.0]),  # 1 x 10 beats 3 x 0.1 and 2 x 1
        ("output", "2:4", [0.0, 1.0, 2.0, 0.0]),
    ):
        weights = WeightTasd({"0": series}, keep=keep, input_norms=norms).prepare(model)
        weights.step()
        assert layer.weight.tolist() == [expected]
        weights.restore()
    assert layer.weight.tolist() == [[3.0, 1.0, 2.0, 0.5]]
    with pytest.raises(SparsimError, match=r"keep: keep='output' ranks weights .* layer '0'"):
        WeightTasd({"0": "1:4"}, keep="output").prepare(model)


def test_weight_output_keep_maps_grouped_conv_channels():
    """Group g's filters read input channels g*C/G ..; each weight takes its own norm."""
    conv = nn.Conv2d(4, 2, 1, groups=2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[[1.0]], [[2.0]]], [[[2.0]], [[1.0]]]]))
    model = nn.Sequential(conv)
    norms = {"0": torch.tensor([5.0, 1.0, 1.0, 5.0])}
    weights = WeightTasd({"0": "1:2"}, keep="output", input_norms=norms).prepare(model)
    weights.step()
    # filter 0 (channels 0, 1): 1 x 5 > 2 x 1; filter 1 (channels 2, 3): 1 x 5 > 2 x 1
    assert conv.weight.flatten().tolist() == [1.0, 0.0, 0.0, 1.0]


def test_estimator_weight_output_keep_round_trip(pruned_cnn, images, tmp_path):
    evaluator = Top1Agreement(images)
    search = Tasder(
        "TTC-VEGETA-M8", evaluator, method="network-wise", keep="output", target=0.6
    ).fit(pruned_cnn, images)
    config = search.config_
    assert config.keep == "output" and config.weight_series
    with search.transform(pruned_cnn):
        assert evaluator.score(pruned_cnn) == search.result_.quality
    path = config.save(tmp_path / "config.yaml")
    with pytest.raises(SparsimError, match="calibration: TASD-W with keep: output"):
        apply_config(pruned_cnn, load_config(path))
    with apply_config(pruned_cnn, load_config(path), calibration=images):
        assert evaluator.score(pruned_cnn) == search.result_.quality
    with pytest.raises(SparsimError, match="calibration: keep='output' ranks weights"):
        Tasder("TTC-VEGETA-M8", evaluator, keep="output").fit(pruned_cnn, example=images[0])
