"""Costing TASDER configurations on the accelerator model: per-layer rows that add up to
the model's totals, the three designs, the estimator and the CLI."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import pytest

from sparsim.cli import main
from sparsim.designs import build
from sparsim.designs.ttc import evaluate_series
from sparsim.errors import SparsimError
from sparsim.evaluate import evaluate
from sparsim.spec.workload import Conv, Gemm
from sparsim.tasd import Series
from sparsim.tasder import Tasder, TasderConfig, Top1Agreement, cost_config, count_macs
from sparsim.tasder.structured import structured_macs
from sparsim.workload.table import LayerTable, LayerWorkload
from tests.tasder.test_cli import tiny_model  # noqa: F401 (a fixture: the tiny real model)

HARDWARE = "TTC-VEGETA-M8"
FC1 = Gemm(name="fc1", M=64, K=128, N=128)
CONV = Conv(name="conv", C=32, out_channels=32, P=8, Q=8, R=3, S=3)
FC2 = Gemm(name="fc2", M=10, K=64, N=128)


@pytest.fixture
def table() -> LayerTable:
    return LayerTable(
        (
            LayerWorkload(FC1, "linear"),
            LayerWorkload(CONV, "conv2d"),
            LayerWorkload(FC2, "linear"),
        )
    )


@pytest.fixture
def config() -> TasderConfig:
    return TasderConfig(
        hardware=HARDWARE,
        layers={"fc1": {"weights": "2:8+1:8"}, "conv": {"activations": "4:8"}},
    )


def test_rows_are_the_layers_on_three_designs_and_sum_to_the_totals(table, config):
    cost = cost_config(table, config)
    fc1, conv, fc2 = cost.layers
    assert [row.layer for row in cost.layers] == ["fc1", "conv", "fc2"]
    assert (fc1.operand, fc1.series) == ("weights", "2:8+1:8")
    assert (conv.operand, conv.series) == ("activations", "4:8")
    assert (fc2.operand, fc2.series) == (None, "dense")

    ttc_fc1 = evaluate_series(HARDWARE, FC1, "2:8+1:8")
    assert fc1.energy_uJ == ttc_fc1.energy_uJ and fc1.cycles == ttc_fc1.cycles
    assert fc1.partial_sum_energy_uJ == 0  # fused: the partial sums stay in the RF
    assert fc1.shared_energy_saved_uJ == pytest.approx(ttc_fc1.shared_energy_saved_pJ * 1e-6)
    assert fc1.shared_energy_saved_uJ > 0
    sequential = cost_config(table, config, schedule="sequential").layers[0]
    assert sequential.partial_sum_energy_uJ == pytest.approx(64 * 128 * 64 * 1e-6)
    assert sequential.energy_uJ > fc1.energy_uJ
    ttc_conv = evaluate_series(HARDWARE, CONV, "4:8", operand="activations")
    assert conv.energy_uJ == ttc_conv.energy_uJ
    for row, workload in zip(cost.layers, (FC1, CONV, FC2), strict=True):
        tc = evaluate(build("tc", workload))
        assert row.tc_energy_uJ == pytest.approx(tc.energy_uJ) and row.tc_cycles == tc.cycles
        dense = evaluate_series(HARDWARE, workload, "dense")
        assert row.plain_energy_uJ == dense.energy_uJ and row.plain_cycles == dense.cycles
    # A layer the configuration leaves out runs dense on the TTC's hardware.
    assert (fc2.energy_uJ, fc2.cycles) == (fc2.plain_energy_uJ, fc2.plain_cycles)

    summary = cost.summary()
    frame = cost.to_frame()
    for column, total in (
        ("energy_uJ", summary.energy_uJ),
        ("cycles", summary.cycles),
        ("tc_energy_uJ", summary.tc_energy_uJ),
        ("tc_cycles", summary.tc_cycles),
        ("plain_energy_uJ", summary.plain_energy_uJ),
        ("plain_cycles", summary.plain_cycles),
    ):
        assert frame[column].sum() == pytest.approx(total)
        assert sum(getattr(row, column) for row in cost.layers) == pytest.approx(total)
    assert summary.energy_reduction("tc") == pytest.approx(
        1 - summary.energy_uJ / summary.tc_energy_uJ
    )
    assert summary.edp_reduction("plain") == pytest.approx(
        1 - summary.energy_uJ * summary.cycles / (summary.plain_energy_uJ * summary.plain_cycles)
    )
    # Areas: the TTC's hardware (the STC family's tables) and the TC's, as a result reports.
    assert summary.area_um2 == evaluate(build("ttc-vegeta-m8", FC1)).area_um2
    assert summary.tc_area_um2 == evaluate(build("tc", FC1)).area_um2
    assert summary.edap_reduction("tc") == pytest.approx(
        1
        - summary.energy_uJ
        * summary.cycles
        * summary.area_um2
        / (summary.tc_energy_uJ * summary.tc_cycles * summary.tc_area_um2)
    )
    assert cost.to_dict()["edap_reduction_vs_tc"] == summary.edap_reduction("tc")


def test_mac_columns_follow_tasders_count(table, config):
    cost = cost_config(table, config)
    fc1, conv, fc2 = cost.layers
    assert fc1.macs == structured_macs(FC1, Series.parse("2:8+1:8")) == 64 * 128 * 128 * 3 // 8
    assert conv.macs == structured_macs(CONV, Series.parse("4:8")) == CONV.macs // 2
    assert fc2.macs == fc2.dense_macs == FC2.macs
    assert cost.total("macs") == count_macs(table, config)
    # Shapes that need no padding: the engine charges exactly those MACs.
    assert fc1.computes == fc1.macs and conv.computes == conv.macs


def test_repeated_calls_of_a_shared_layer_are_costed_per_call():
    table = LayerTable(
        (
            LayerWorkload(FC1, "linear"),
            LayerWorkload(FC1.model_copy(update={"name": "fc1#2"}), "linear"),
        )
    )
    config = TasderConfig(hardware=HARDWARE, layers={"fc1": {"weights": "2:8+1:8"}})
    cost = cost_config(table, config)
    assert [row.series for row in cost.layers] == ["2:8+1:8", "2:8+1:8"]
    assert cost.layers[0].energy_uJ == cost.layers[1].energy_uJ


def test_costing_errors_are_one_line(table, config):
    with pytest.raises(SparsimError, match="hardware: the configuration names no hardware"):
        cost_config(table, TasderConfig(layers={"fc1": {"weights": "2:4"}}))
    with pytest.raises(SparsimError, match=r"layers\.nope: not in the workload table"):
        cost_config(table, TasderConfig(hardware=HARDWARE, layers={"nope": {"weights": "2:8"}}))
    with pytest.raises(
        SparsimError, match=r"layers\.fc1: series '2:8\+1:8': does not run on TTC-STC-M4"
    ):
        cost_config(table, config, "TTC-STC-M4")
    with pytest.raises(SparsimError, match="unknown column"):
        cost_config(table, config).total("watts")


def test_estimator_reports_energy_and_cycles(pruned_cnn, images):
    evaluator = Top1Agreement(images)
    search = Tasder(HARDWARE, evaluator, method="layer-wise", target=0.9, patience=None)
    search.fit(pruned_cnn, images)
    cost = search.result_.cost
    assert cost is not None and cost.hardware == HARDWARE
    assert [row.layer for row in search.cost_.layers] == search.table_.names
    assert cost.energy_uJ == pytest.approx(sum(r.energy_uJ for r in search.cost_.layers))
    saved = search.config_.result.cost
    assert saved == cost
    skipped = Tasder(HARDWARE, evaluator, target=0.9, cost=False).fit(pruned_cnn, images)
    assert skipped.result_.cost is None and not hasattr(skipped, "cost_")


def test_cost_command(tmp_path, table, config, capsys):
    config.save(tmp_path / "config.yaml")
    table.save(tmp_path / "workloads.csv")
    out = tmp_path / "cost.csv"
    argv = ["tasder", "cost", "--config", str(tmp_path / "config.yaml")]
    argv += ["--workloads", str(tmp_path / "workloads.csv")]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = cost_config(table, config).summary()
    expected = (
        f"energy {100 * summary.energy_reduction('tc'):.1f}%, cycles "
        f"{100 * summary.cycle_reduction('tc'):.1f}%"
    )
    assert "reduction vs TC" in printed and expected in printed
    rows = list(csv.DictReader(out.open()))
    assert [row["layer"] for row in rows] == ["fc1", "conv", "fc2"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["energy_uJ"] == pytest.approx(summary.energy_uJ)
    for layer in data["layers"]:  # the results schema's identity and totals columns
        assert layer["design"] == data["hardware"]
        series = layer["series"]
        expected = {"weights": (series, "dense"), "activations": ("dense", series)}
        densities = (layer["density_A"], layer["density_B"])
        assert densities == expected.get(layer["operand"], ("dense", "dense"))
        assert layer["edp_J_cycles"] == pytest.approx(layer["energy_uJ"] * 1e-6 * layer["cycles"])
    assert len(data["layers"]) == 3
    assert main([*argv, "--json", "--schedule", "sequential"]) == 0
    sequential = json.loads(capsys.readouterr().out)
    assert sequential["energy_uJ"] == pytest.approx(
        cost_config(table, config, schedule="sequential").summary().energy_uJ
    )
    assert sequential["energy_uJ"] > data["energy_uJ"]

    assert main([*argv, "--hardware", "TTC-STC-M4"]) == 2
    error = capsys.readouterr().err.strip()
    assert "config.yaml: layers.fc1: series '2:8+1:8': does not run on TTC-STC-M4" in error
    assert "\n" not in error
    assert main([*argv, "--out", str(tmp_path / "cost.txt")]) == 2
    assert "expected a .csv file name" in capsys.readouterr().err


@pytest.mark.usefixtures("tiny_model")
def test_search_command_prints_and_writes_the_cost(tmp_path, capsys):
    argv = ["tasder", "search", "--model", "tiny", "--hardware", HARDWARE, "--target", "0.9"]
    argv += ["--no-progress", "--out"]
    assert main([*argv, str(tmp_path / "costed")]) == 0
    printed = capsys.readouterr().out
    assert "reduction vs TC" in printed and "reduction vs plain" in printed
    assert "cost.csv" in printed
    rows = list(csv.DictReader((tmp_path / "costed" / "cost.csv").open()))
    assert [row["layer"] for row in rows] == ["stem", "conv", "depthwise", "fc"]
    assert main([*argv, str(tmp_path / "macs"), "--no-cost"]) == 0
    printed = capsys.readouterr().out
    assert "MAC reduction" in printed and "reduction vs TC" not in printed
    assert not (tmp_path / "macs" / "cost.csv").exists()


def _user_ttc(folder, patterns: str = '{"1:8": 3, "4:8": 3}'):
    """The built-in TTC-VEGETA-M8 file, retitled and running only ``patterns``."""
    from importlib import resources

    text = resources.files("sparsim.designs").joinpath("builtin", "ttc-vegeta-m8.yaml")
    text = text.read_text().replace("title: TTC-VEGETA-M8", "title: My TTC")
    text = text.replace('patterns: {"1:8": 3, "2:8": 3, "4:8": 3}', f"patterns: {patterns}")
    path = folder / "my-ttc.yaml"
    path.write_text(text)
    return path


def test_tasder_costs_a_users_ttc_design_file(tmp_path, table, pruned_cnn, images):
    from sparsim.tasd import get_hardware
    from sparsim.tasder import hardware_series, load_config

    path = _user_ttc(tmp_path)
    hardware = get_hardware(path)
    assert (hardware.ttc_name, [str(p) for p in hardware.native]) == ("My TTC", ["1:8", "4:8"])
    assert hardware.key == str(path.resolve())
    assert [str(s) for s in hardware_series(str(path))] == ["1:8", "1:8+1:8", "4:8", "4:8+1:8"]
    config = TasderConfig(hardware=str(path), layers={"fc1": {"weights": "4:8+1:8"}})
    mine = cost_config(table, config)
    builtin = cost_config(table, config.model_copy(update={"hardware": HARDWARE}))
    assert mine.hardware == "My TTC"
    # The same hardware, read from the user's file: the same figures.
    assert mine.summary().energy_uJ == pytest.approx(builtin.summary().energy_uJ)
    assert mine.summary().cycles == pytest.approx(builtin.summary().cycles)
    with pytest.raises(ValueError, match=r"series .2:8. does not run on My TTC"):
        TasderConfig(hardware=str(path), layers={"fc1": {"weights": "2:8"}})
    # A search on it saves the file's absolute path; a relative one is read beside the
    # configuration.
    search = Tasder(path, Top1Agreement(images), target=0.9, patience=None)
    search.fit(pruned_cnn, images)
    assert search.config_.hardware == str(path.resolve())
    assert search.result_.cost.hardware == "My TTC"
    used = {s for s in search.config_.weight_series.values()}
    assert used <= {"1:8", "1:8+1:8", "4:8", "4:8+1:8"}
    (tmp_path / "runs").mkdir()
    relative = config.model_copy(update={"hardware": "../my-ttc.yaml"})
    (tmp_path / "runs" / "config.yaml").write_text(
        "hardware: ../my-ttc.yaml\nlayers:\n  fc1: {weights: 4:8+1:8}\n"
    )
    loaded = load_config(tmp_path / "runs" / "config.yaml")
    assert loaded.hardware == str(path.resolve()) and relative.layers == loaded.layers


def test_a_design_file_that_is_no_tasd_tensor_core_is_refused(tmp_path, images):
    path = _user_ttc(tmp_path, '{"2:4": 2, "4:8": 3}')
    with pytest.raises(
        SparsimError, match=r"my-ttc\.yaml: weights\.patterns: design my-ttc runs N:M"
    ):
        Tasder(path, Top1Agreement(images))
    with pytest.raises(ValueError, match="block sizes 4, 8"):
        TasderConfig(hardware=str(path))


def test_ttc_gates_zero_activations_at_their_measured_density(table):
    # TASD-W on fc1 with its inputs 40% dense: the TTC gates the weight reads and MACs of
    # zero activations (the MACs Timeloop then counts as not performed), on configured and
    # dense layers alike; the dense TC exploits nothing.
    measured = LayerTable(tuple(replace(row, input_density=0.4) for row in table))
    config = TasderConfig(hardware=HARDWARE, layers={"fc1": {"weights": "2:8+1:8"}})
    dense, gated = cost_config(table, config), cost_config(measured, config)
    for before, after in zip(dense.layers, gated.layers, strict=True):
        assert after.energy_uJ < before.energy_uJ and after.cycles <= before.cycles
        assert after.computes == pytest.approx(0.4 * before.computes, rel=1e-3)
        assert after.plain_energy_uJ < before.plain_energy_uJ
        assert (after.tc_energy_uJ, after.tc_cycles) == (before.tc_energy_uJ, before.tc_cycles)
    fc1 = evaluate_series(HARDWARE, FC1, "2:8+1:8", {"B": 0.4})
    assert gated.layers[0].energy_uJ == pytest.approx(fc1.energy_uJ)
    # TASD-A: the weights are the other operand; dense weights change nothing.
    conv = TasderConfig(hardware=HARDWARE, layers={"conv": {"activations": "4:8"}})
    assert (
        cost_config(measured, conv).layers[1].energy_uJ
        == cost_config(table, conv).layers[1].energy_uJ
    )
