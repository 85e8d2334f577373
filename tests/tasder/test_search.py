"""TASD-W (network-wise, layer-wise greedy) and TASD-A (sparsity-degree rule, alpha sweep)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from sparsim.errors import SparsimError
from sparsim.tasd import decompose, parse_series
from sparsim.tasder import (
    Tasder,
    Top1Agreement,
    apply_config,
    calibrate,
    choose_series,
    count_macs,
    hardware_series,
    search_activations,
    search_weights_layerwise,
    search_weights_network,
    weight_candidates,
)
from sparsim.workload import extract_workloads

VEGETA_M8 = hardware_series("TTC-VEGETA-M8")


def test_hardware_series_tables():
    names = {
        hw: [str(s) for s in hardware_series(hw)]
        for hw in ("TTC-STC-M4", "TTC-STC-M8", "TTC-VEGETA-M4")
    }
    assert names == {
        "TTC-STC-M4": ["2:4"],
        "TTC-STC-M8": ["4:8"],
        "TTC-VEGETA-M4": ["1:4", "2:4", "2:4+1:4"],
    }
    assert [str(s) for s in VEGETA_M8] == ["1:8", "2:8", "2:8+1:8", "4:8", "4:8+1:8", "4:8+2:8"]


@pytest.mark.parametrize(
    ("sparsity", "alpha", "expected"),
    [
        (0.6, 0.0, "4:8"),  # sparsities 0.875, 0.75, 0.625, 0.5, ...: 0.5 is the first <= 0.6
        (0.6, 0.05, "2:8+1:8"),  # 0.625 <= 0.65
        (0.9, 0.0, "1:8"),
        (0.2, 0.0, None),  # 4:8+2:8 needs sparsity 0.25
        (0.2, 0.05, "4:8+2:8"),
    ],
)
def test_sparsity_degree_rule(sparsity, alpha, expected):
    chosen = choose_series(sparsity, VEGETA_M8, alpha)
    assert (None if chosen is None else str(chosen)) == expected


@given(sparsity=st.floats(0, 1), alpha=st.floats(0, 0.5), more=st.floats(0, 0.5))
def test_rule_is_monotone_in_alpha(sparsity, alpha, more):
    def density(series):
        return 1.0 if series is None else series.density

    assert density(choose_series(sparsity, VEGETA_M8, alpha + more)) <= density(
        choose_series(sparsity, VEGETA_M8, alpha)
    )


def test_candidates_count_dropped_nonzeros_and_skip_useless_layers(pruned_cnn, images):
    table = extract_workloads(pruned_cnn, images[0])
    candidates = weight_candidates(pruned_cnn, table, VEGETA_M8)
    by_key = {(c.layer, str(c.series)): c for c in candidates}
    # Depthwise: one channel per block of 8, N:M saves nothing. Stem: 3 channels in a block
    # of 8, only series keeping fewer than 3 save MACs.
    assert not any(c.layer == "depthwise" for c in candidates)
    assert sorted(s for layer, s in by_key if layer == "stem") == ["1:8", "2:8"]
    weight = pruned_cnn.conv.weight.detach()
    for series in VEGETA_M8:
        candidate = by_key[("conv", str(series))]
        approximation = decompose(weight.numpy(), series, 1, pad=True).approximation
        lost = int(((weight.numpy() != 0) & (approximation == 0)).sum())
        assert candidate.dropped == lost
        assert candidate.nonzeros == int(weight.count_nonzero())


class KeptMagnitude:
    """A synthetic quality: share of the original total |weight| still in the model."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.total = self._magnitude()

    def _magnitude(self) -> float:
        return float(
            sum(
                m.weight.detach().abs().sum()
                for m in self.model.modules()
                if isinstance(m, nn.Conv2d | nn.Linear)
            )
        )

    def __call__(self, model: nn.Module) -> float:
        return self._magnitude() / self.total


def test_layerwise_greedy_keeps_quality_and_restores_the_model(pruned_cnn, images):
    table = extract_workloads(pruned_cnn, images[0])
    score = KeptMagnitude(pruned_cnn)
    before = {n: p.detach().clone() for n, p in pruned_cnn.named_parameters()}
    stop = search_weights_layerwise(
        pruned_cnn, table, score, 1.0, hardware="TTC-VEGETA-M8", target=0.95
    )
    keep_going = search_weights_layerwise(
        pruned_cnn, table, score, 1.0, hardware="TTC-VEGETA-M8", target=0.95, patience=None
    )
    assert all(torch.equal(before[n], p) for n, p in pruned_cnn.named_parameters())
    for outcome in (stop, keep_going):
        result = outcome.result
        assert result.quality >= 0.95
        assert result.macs == count_macs(table, outcome.config) < result.dense_macs
        with apply_config(pruned_cnn, outcome.config):
            assert score(pruned_cnn) == pytest.approx(result.quality)
    rejected = [row for row in stop.trace.rows if not row["accepted"]]
    assert len(rejected) == 1 and stop.trace.rows[-1] is rejected[0]
    assert keep_going.result.mac_reduction >= stop.result.mac_reduction
    fractions = [row["dropped_fraction"] for row in keep_going.trace.rows]
    assert fractions == sorted(fractions)


def test_network_wise_takes_the_most_aggressive_passing_series(pruned_cnn, images):
    table = extract_workloads(pruned_cnn, images[0])
    score = KeptMagnitude(pruned_cnn)
    outcome = search_weights_network(
        pruned_cnn, table, score, 1.0, hardware="TTC-VEGETA-M8", target=0.9
    )
    passing = [row for row in outcome.trace.rows if row["quality"] >= 0.9]
    assert len(outcome.trace.rows) == len(VEGETA_M8)
    assert outcome.result.macs == min(row["macs"] for row in passing)
    assert len({layer.weights for layer in outcome.config.layers.values()}) == 1


def test_activation_sweep_on_relu_cnn(cnn, images):
    evaluator = Top1Agreement(images).fit(cnn)
    table = calibrate(cnn, images)
    outcome = search_activations(
        cnn,
        table,
        evaluator.score,
        1.0,
        hardware="TTC-VEGETA-M8",
        layers=["conv", "fc"],
        alphas=[0.0, 0.1, 0.3, 1.0],
        pseudo=False,
        target=0.5,
    )
    reductions = [row["mac_reduction"] for row in outcome.trace.rows]
    assert reductions == sorted(reductions) and reductions[-1] > 0
    result = outcome.result
    assert result.quality >= 0.5 and result.alpha in (0.0, 0.1, 0.3, 1.0)
    with apply_config(cnn, outcome.config):
        assert evaluator.score(cnn) == result.quality
    # At alpha = 1 every layer takes the most aggressive series, 1:8.
    assert outcome.trace.rows[-1]["layers"] == 2


def test_gelu_model_uses_pseudo_density(mlp, vectors):
    table = calibrate(mlp, vectors)
    gelu_input = table["4"]
    assert gelu_input.input_density == 1.0  # GELU outputs have no exact zeros
    evaluator = Top1Agreement(vectors).fit(mlp)
    dense = search_activations(
        mlp,
        table,
        evaluator.score,
        1.0,
        hardware="TTC-VEGETA-M8",
        layers=["4"],
        alphas=[0.0],
        pseudo=False,
        target=0.01,
    )
    pseudo = search_activations(
        mlp,
        table,
        evaluator.score,
        1.0,
        hardware="TTC-VEGETA-M8",
        layers=["4"],
        alphas=[0.2],
        pseudo=True,
        target=0.01,
    )
    assert dense.config.layers == {}
    expected = choose_series(1 - gelu_input.input_pseudo_density, VEGETA_M8, 0.2)
    assert expected is not None
    assert str(pseudo.config.layers["4"].series) == str(expected)


def test_estimator_end_to_end(pruned_cnn, images, hook_count):
    evaluator = Top1Agreement(images)
    search = Tasder("TTC-VEGETA-M8", evaluator, method="layer-wise", target=0.9, patience=None)
    search.fit(pruned_cnn, images)
    assert search.result_.quality >= 0.9 * evaluator.quality_
    with search.transform(pruned_cnn):
        assert evaluator.score(pruned_cnn) == search.result_.quality
    assert hook_count(pruned_cnn) == 0
    activations = Tasder("TTC-STC-M4", evaluator, method="activations", alphas=[0.0, 0.5]).fit(
        pruned_cnn, images
    )
    assert "depthwise" not in activations.config_.layers


def test_search_errors_are_one_line(cnn, images):
    evaluator = Top1Agreement(images)
    with pytest.raises(SparsimError, match="calibration: no calibration batches"):
        Tasder("TTC-STC-M4", evaluator, method="activations").fit(cnn, [])
    with pytest.raises(SparsimError, match="unknown hardware 'TTC-XYZ'"):
        Tasder("TTC-XYZ", evaluator)
    with pytest.raises(SparsimError, match="layers: unknown layer name 'conv7'"):
        Tasder("TTC-STC-M4", evaluator, layers=["conv7"]).fit(cnn, images)
    with pytest.raises(SparsimError, match="method: unknown method 'random'"):
        Tasder("TTC-STC-M4", evaluator, method="random")
    with pytest.raises(SparsimError, match="'depthwise' is a grouped conv"):
        Tasder("TTC-STC-M4", evaluator, method="activations", layers=["depthwise"]).fit(cnn, images)
    with pytest.raises(SparsimError, match="target: must be in"):
        Tasder("TTC-STC-M4", evaluator, target=1.5).fit(cnn, images)


def test_parse_series_of_config_matches_hardware_density():
    assert parse_series("4:8+2:8").density == pytest.approx(0.75)
