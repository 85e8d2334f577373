"""TASD-W (network-wise, layer-wise greedy) and TASD-A (sparsity-degree rule, alpha sweep)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from sparsim.errors import SparsimError
from sparsim.tasd import decompose, parse_series
from sparsim.tasder import (
    ActivationTasd,
    LayerConfig,
    Tasder,
    TasderConfig,
    Top1Agreement,
    apply_config,
    calibrate,
    choose_series,
    count_macs,
    hardware_series,
    load_config,
    search_activations,
    search_weights_layerwise,
    search_weights_network,
    weight_candidates,
)
from sparsim.tasder.costing import LayerCosts, cost_config, pareto_front
from sparsim.tasder.search import (
    activation_statistics,
    search_activations_layerwise,
    select_layers,
)
from sparsim.tasder.structured import approximate
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
        assert candidate.total == int(weight.count_nonzero())


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
    assert_ranked(keep_going.trace.rows)


def assert_ranked(rows):
    """Trace rows come by saving per dropped share, the free candidates first."""
    free = [row["dropped_fraction"] == 0 for row in rows]
    assert free == sorted(free, reverse=True)
    ratios = [row["saving"] / row["dropped_fraction"] for row in rows if row["dropped_fraction"]]
    assert ratios == sorted(ratios, reverse=True)


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


def test_select_layers_by_name_pattern_and_type(cnn):
    assert select_layers(cnn, None) is None
    assert select_layers(cnn, ["fc", "conv"]) == ["fc", "conv"]
    assert select_layers(cnn, ["Conv2d"]) == ["stem", "conv", "depthwise"]
    assert select_layers(cnn, ["Conv2d"], activations=True) == ["stem", "conv"]
    assert select_layers(cnn, ["*e*", "Linear", "stem"]) == ["stem", "depthwise", "fc"]
    with pytest.raises(SparsimError, match=r"layers: pattern 'attn\.\*' matches no"):
        select_layers(cnn, ["attn.*"])
    with pytest.raises(SparsimError, match="layers: unknown layer name 'conv7'"):
        select_layers(cnn, ["conv7"])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(-4, 4), min_size=40, max_size=40),
    st.sampled_from([str(s) for s in VEGETA_M8]),
)
def test_rank_mass_prices_every_series_like_the_decomposition(values, series):
    """The calibration's dropped input magnitude equals what the approximation drops."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 3)).eval()
    x = torch.tensor(values, dtype=torch.float32).view(4, 10)
    parsed = parse_series(series)
    stats = activation_statistics(model, [x[:2], x[2:]], ["0"], [8])["0"]
    dropped, total = stats.dropped(parsed)
    kept = approximate(x, parsed, -1)
    assert total == pytest.approx(float(x.abs().sum()))
    assert dropped == pytest.approx(float((x.abs() - kept.abs()).sum()))


def test_output_keep_prefers_channels_that_feed_large_weights():
    layer = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 100.0, 1.0, 1.0]]))
    x = torch.tensor([[3.0, 1.0, 2.0, 0.5]])
    seen = {}
    layer.register_forward_hook(lambda m, args, out: seen.update(x=args[0]))
    for keep, expected in (("magnitude", [3.0, 0.0, 0.0, 0.0]), ("output", [0.0, 1.0, 0.0, 0.0])):
        wrapper = nn.Sequential(layer)
        hooks = ActivationTasd({"0": "1:4"}, keep=keep).prepare(wrapper)
        wrapper(x)
        hooks.remove()
        assert seen["x"].tolist() == [expected]


def test_activation_layerwise_greedy(cnn, images, hook_count):
    evaluator = Top1Agreement(images).fit(cnn)
    table = calibrate(cnn, images)
    before = {n: p.detach().clone() for n, p in cnn.named_parameters()}
    outcome = search_activations_layerwise(
        cnn, table, evaluator.score, 1.0, hardware="TTC-VEGETA-M8", layers=["conv", "fc"],
        calibration=images, target=0.8, patience=None,
    )  # fmt: skip
    result = outcome.result
    assert hook_count(cnn) == 0
    assert all(torch.equal(before[n], p) for n, p in cnn.named_parameters())
    assert result.method == "TASD-A layer-wise" and result.quality >= 0.8
    assert 0 < result.evaluation_seconds < result.seconds == outcome.seconds
    assert result.search_seconds == pytest.approx(result.seconds - result.evaluation_seconds)
    assert result.evaluations == len(outcome.trace.rows) > 0
    assert result.macs == count_macs(table, outcome.config) < result.dense_macs
    assert_ranked(outcome.trace.rows)
    with apply_config(cnn, outcome.config):
        assert evaluator.score(cnn) == result.quality
    # a layer only ever moves to a more aggressive series
    accepted = [row for row in outcome.trace.rows if row["accepted"]]
    for layer in {row["layer"] for row in accepted}:
        densities = [parse_series(r["series"]).density for r in accepted if r["layer"] == layer]
        assert densities == sorted(densities, reverse=True)


@pytest.mark.parametrize("operand", ["weights", "activations"])
def test_layer_costs_agree_with_cost_config(pruned_cnn, images, operand):
    table = extract_workloads(pruned_cnn, images[0])
    costs = LayerCosts(table, "TTC-VEGETA-M8", operand)
    series = {"conv": parse_series("2:8"), "fc": parse_series("4:8+1:8")}
    config = TasderConfig(
        hardware="TTC-VEGETA-M8",
        layers={n: LayerConfig(**{operand: str(s)}) for n, s in series.items()},
    )
    summary = cost_config(table, config).summary()
    # the layers left dense (stem, depthwise) cost what cost_config charges them
    assert costs.totals(series) == pytest.approx((summary.energy_uJ, summary.cycles))
    assert costs.totals({}) == pytest.approx((summary.plain_energy_uJ, summary.plain_cycles))
    assert costs.tc_totals() == pytest.approx((summary.tc_energy_uJ, summary.tc_cycles))
    assert costs.edp_reduction(series) == pytest.approx(summary.edp_reduction("tc"))
    dense, conv = costs.totals({}), costs.layer("conv", series["conv"])
    assert costs.totals({"conv": series["conv"]}) == pytest.approx(
        (dense[0] - costs.layer("conv", None)[0] + conv[0],
         dense[1] - costs.layer("conv", None)[1] + conv[1])
    )  # fmt: skip


@pytest.mark.parametrize("objective", ["energy", "edp"])
def test_objectives_rank_by_marginal_accelerator_savings(pruned_cnn, images, objective):
    table = extract_workloads(pruned_cnn, images[0])
    costs = LayerCosts(table, "TTC-VEGETA-M8", "weights")

    def value(series):
        energy, cycles = costs.totals(series)
        return energy if objective == "energy" else energy * cycles

    outcome = search_weights_layerwise(
        pruned_cnn, table, KeptMagnitude(pruned_cnn), 1.0, hardware="TTC-VEGETA-M8",
        target=0.9, patience=None, objective=objective, costs=costs,
    )  # fmt: skip
    rows = outcome.trace.rows
    assert outcome.result.objective == objective
    assert {row["order"] for row in rows} == {objective, "macs", f"macs, then {objective}"}

    # The objective's order: every saving is marginal, from the configuration accepted so
    # far, and positive.
    def replay(order, accepted):
        for row in (r for r in rows if r["order"] == order):
            layer, series = row["layer"], parse_series(row["series"])
            marginal = value(accepted) - value({**accepted, layer: series})
            assert row["saving"] == pytest.approx(marginal) and marginal > 0
            if row["accepted"]:
                accepted = {**accepted, layer: series}
        return accepted

    accepted = replay(objective, {})
    # The MAC order is the MAC objective's; the third walk goes on from where it ended.
    mac_rows = [r for r in rows if r["order"] == "macs"]
    assert_ranked(mac_rows)
    mac_end = {r["layer"]: parse_series(r["series"]) for r in mac_rows if r["accepted"]}
    continued = replay(f"macs, then {objective}", mac_end)
    assert value(continued) <= value(mac_end)
    chosen = {n: c.series for n, c in outcome.config.layers.items()}
    mac_objective = search_weights_layerwise(
        pruned_cnn, table, KeptMagnitude(pruned_cnn), 1.0, hardware="TTC-VEGETA-M8",
        target=0.9, patience=None, costs=costs,
    )  # fmt: skip
    mac_chosen = {n: c.series for n, c in mac_objective.config.layers.items()}
    assert value(chosen) <= min(value(accepted), value(mac_chosen), value(continued)) * (1 + 1e-12)
    with pytest.raises(SparsimError, match="objective: the edp objective needs"):
        search_weights_layerwise(
            pruned_cnn, table, KeptMagnitude(pruned_cnn), 1.0, hardware="TTC-VEGETA-M8",
            objective="edp",
        )  # fmt: skip


class FourConvs(nn.Module):
    """Four ReLU convs of 32 channels and a classifier: enough (layer, series) candidates
    on TTC-VEGETA-M8 for the two orders to part ways."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.convs = nn.ModuleList(nn.Conv2d(32, 32, 3, padding=1) for _ in range(3))
        self.fc = nn.Linear(32, 6)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        for conv in self.convs:
            x = torch.relu(conv(x))
        return self.fc(x.mean((2, 3)))


@pytest.mark.parametrize(
    ("method", "patience", "target"),
    [("activations-layer-wise", 1, 0.9), ("layer-wise", 1, 0.8)],
)
def test_edp_objective_reaches_the_mac_objectives_edp_reduction(method, patience, target):
    torch.manual_seed(5)
    model = FourConvs().eval()
    if method == "layer-wise":  # TASD-W wants a sparse model
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, nn.Conv2d | nn.Linear):
                    module.weight.mul_(torch.rand(module.weight.shape) >= 0.6)
    generator = torch.Generator().manual_seed(6)
    images = [torch.randn(16, 3, 8, 8, generator=generator) for _ in range(2)]
    evaluator = Top1Agreement(images).fit(model)
    found = {
        objective: Tasder(
            "TTC-VEGETA-M8",
            evaluator,
            method=method,
            target=target,
            patience=patience,
            objective=objective,
        ).fit(model, images)
        for objective in ("macs", "edp")
    }
    results = {objective: search.result_ for objective, search in found.items()}
    assert all(r.quality >= target for r in results.values())
    assert results["macs"].mac_reduction > 0
    edp, mac = (results[o].cost.edp_reduction("tc") for o in ("edp", "macs"))
    assert edp >= mac - 1e-12
    # the EDP objective's own order ran and was costed on the accelerator model
    orders = {row["order"] for row in found["edp"].trace_.rows}
    assert {"edp", "macs"} <= orders


def test_pareto_front_by_hand():
    points = pd.DataFrame(
        {
            "quality": [1.0, 0.99, 0.995, 0.97, 0.98, 0.98],
            "edp_reduction": [0.0, 0.2, 0.1, 0.3, 0.15, 0.35],
            "accepted": [True] * 6,
        }
    )
    front = pareto_front(points)
    assert front[["quality", "edp_reduction"]].values.tolist() == [
        [1.0, 0.0], [0.995, 0.1], [0.99, 0.2], [0.98, 0.35],
    ]  # fmt: skip


def test_estimator_with_objective_and_pareto(pruned_cnn, images, tmp_path):
    evaluator = Top1Agreement(images)
    search = Tasder(
        "TTC-STC-M4", evaluator, method="activations-layer-wise", layers=["Conv2d", "Linear"],
        objective="edp", keep="output", target=0.5, patience=None,
    ).fit(pruned_cnn, images)  # fmt: skip
    assert search.config_.keep == "output" and search.result_.objective == "edp"
    assert "depthwise" not in search.config_.layers
    front = search.pareto_
    assert front["quality"].is_monotonic_decreasing
    assert front["edp_reduction"].is_monotonic_increasing
    assert front.iloc[0]["quality"] == search.points_["quality"].max()
    assert front.iloc[-1]["edp_reduction"] == search.points_["edp_reduction"].max()
    path = search.config_.save(tmp_path / "config.yaml")
    assert "keep: output" in path.read_text()
    with apply_config(pruned_cnn, load_config(path)):
        assert evaluator.score(pruned_cnn) == search.result_.quality
    with pytest.raises(SparsimError, match="objective: unknown objective 'watts'"):
        Tasder("TTC-STC-M4", evaluator, objective="watts")
