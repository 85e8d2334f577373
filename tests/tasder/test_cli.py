"""``sparsim tasder``: workload export, search and re-application, one-line errors.

The search runs on a tiny model registered in place of the real ones."""

from __future__ import annotations

import csv
import re

import pytest
import torch
import yaml

from sparsim.cli import main
from sparsim.tasder import Accuracy, Top1Agreement
from sparsim.tasder.models import LOADERS, RealModel
from sparsim.workload import load_table, resnet50


@pytest.fixture
def tiny_model(monkeypatch, pruned_cnn, images):
    labels = torch.arange(len(images) * len(images[0])) % 5

    def load(calibration_size, evaluation_size, batch_size, progress):
        evaluator = Top1Agreement(images, progress=progress).fit(pruned_cnn)
        topics = Accuracy(images, labels).fit(pruned_cnn)
        return RealModel(
            "tiny",
            pruned_cnn,
            images[0],
            images,
            evaluator,
            "relu",
            ["conv", "fc"],
            {"labelled task": topics},
        )

    monkeypatch.setitem(LOADERS, "tiny", load)
    return pruned_cnn


def test_builtin_workloads_to_yaml_and_csv(tmp_path, capsys):
    assert (
        main(
            [
                "tasder",
                "workloads",
                "--builtin",
                "resnet50",
                "--batch",
                "2",
                "--out",
                str(tmp_path / "r.yaml"),
            ]
        )
        == 0
    )
    assert "54 layers, 8,178,368,512 dense MACs" in capsys.readouterr().out
    assert load_table(tmp_path / "r.yaml").workloads == resnet50(batch=2).workloads
    out = tmp_path / "bert.csv"
    assert (
        main(
            [
                "tasder",
                "workloads",
                "--builtin",
                "bert-base",
                "--seq-len",
                "64",
                "--attention-matmuls",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 12 * 8 and sum(row["op"] == "matmul" for row in rows) == 24


def test_search_writes_config_trace_and_workloads(tmp_path, tiny_model, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "tasder",
            "search",
            "--model",
            "tiny",
            "--hardware",
            "TTC-VEGETA-M8",
            "--target",
            "0.9",
            "--patience",
            "all",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "TASD-W layer-wise" in printed and "MAC reduction" in printed
    # every quality with its 95% interval and sample size: 24 images, Wilson (0/1 values)
    interval = r"[\d.]+ \[[\d.]+, [\d.]+\] \(n=24, Wilson\)"
    assert re.search(
        r"original quality \(validation\)\s+\|?\s*1\.0000 \[[\d.]+, 1\.0000\] \(n=24", printed
    )
    assert re.search(
        r"validation\s+\|?\s*([\d.]+% of the original \([\d.]+ vs 1\.0000\), margin "
        r"[+-][\d.]+ \[[+-][\d.]+, [+-][\d.]+\] \(n=24\)|the original \(nothing changed\))",
        printed,
    )
    assert "lower end of the paired margin's 95% interval >= 0" in printed
    assert re.search(rf"labelled task: {interval} -> {interval}", printed)
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["hardware"] == "TTC-VEGETA-M8" and config["model"] == "tiny"
    assert config["result"]["quality"] >= 0.9
    trace = list(csv.DictReader((out / "trace.csv").open()))
    assert {"layer", "series", "dropped_fraction", "quality", "accepted"} <= set(trace[0])
    table = load_table(out / "workloads.csv")
    assert table.names == ["stem", "conv", "depthwise", "fc"]
    code = main(
        [
            "tasder",
            "apply",
            "--model",
            "tiny",
            "--config",
            str(out / "config.yaml"),
            "--no-progress",
        ]
    )
    assert code == 0
    applied = capsys.readouterr().out
    assert re.search(
        rf"\({config['result']['quality']:.4f} vs 1\.0000\), margin .*\(n=24\)", applied
    )


def test_search_help_explains_the_evaluation_size(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["tasder", "search", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "each quality check runs on (default 2000)" in text
    assert "held-out test samples" in text and "lower end of the paired margin's" in text
    # Every built-in model is named (the help is static: torch is not imported for it).
    from sparsim.tasder.models import LOADERS

    assert all(name in text for name in LOADERS)
    for option in ("--data FILE", "--factory MODULE:FUNCTION", "--test-size", "--head-size"):
        assert option in text


def test_layerwise_activation_search_with_edp_objective_writes_the_pareto_front(
    tmp_path, tiny_model, capsys
):
    out = tmp_path / "edp"
    argv = ["tasder", "search", "--model", "tiny", "--hardware", "TTC-VEGETA-M8"]
    argv += ["--method", "activations-layer-wise", "--objective", "edp", "--keep", "output"]
    argv += ["--layers", "Conv2d,fc", "--target", "0.5", "--patience", "all"]
    assert main([*argv, "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    seconds = re.search(r"search time\s+\|?\s*([\d.]+) s \(([\d.]+) s in quality", printed)
    assert seconds and float(seconds.group(2)) <= float(seconds.group(1))
    assert "without them" in printed and "edp" in printed
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["keep"] == "output" and config["result"]["objective"] == "edp"
    assert set(config.get("layers", {})) <= {"stem", "conv", "fc"}  # depthwise: grouped
    front = list(csv.DictReader((out / "pareto.csv").open()))
    assert front and {"quality", "edp_reduction"} <= set(front[0])
    reductions = [float(row["edp_reduction"]) for row in front]
    assert reductions == sorted(reductions)
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    trace = list(csv.DictReader((out / "trace.csv").open()))
    assert {"energy_uJ", "cycles", "edp_reduction", "saving"} <= set(trace[0])


def test_activation_search_uses_the_models_layers(tmp_path, tiny_model, capsys):
    out = tmp_path / "act"
    code = main(
        [
            "tasder",
            "search",
            "--model",
            "tiny",
            "--hardware",
            "TTC-STC-M4",
            "--method",
            "activations",
            "--alphas",
            "0,0.5",
            "--target",
            "0.5",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert set(config.get("layers", {})) <= {"conv", "fc"}
    assert len(list(csv.DictReader((out / "trace.csv").open()))) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "--model", "nope", "--hardware", "TTC-STC-M4"], "model: unknown model 'nope'"),
        (["search", "--model", "tiny", "--hardware", "GPU"], "unknown hardware 'GPU'"),
        (
            ["search", "--model", "tiny", "--hardware", "STC", "--layers", "conv9"],
            "layers: unknown layer name 'conv9'",
        ),
        (
            ["search", "--model", "tiny", "--hardware", "STC", "--alphas", "a,b"],
            "--alphas: expected comma-separated",
        ),
        (
            ["search", "--model", "tiny", "--hardware", "STC", "--patience", "0"],
            "--patience: expected a positive",
        ),
        (
            ["search", "--model", "tiny", "--hardware", "STC", "--target", "2"],
            "--target: must be in",
        ),
        (
            [
                "search",
                "--model",
                "tiny",
                "--hardware",
                "STC",
                "--method",
                "activations",
                "--layers",
                "depthwise",
            ],
            "'depthwise' is a grouped conv",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, tiny_model, capsys, argv, message):
    out = tmp_path / "out"
    assert main(["tasder", *argv, "--no-progress", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_apply_rejects_unsupported_series_and_unknown_layers(tmp_path, tiny_model, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("hardware: TTC-STC-M4\nlayers: {conv: {weights: '4:8'}}\n")
    assert main(["tasder", "apply", "--model", "tiny", "--config", str(bad), "--no-progress"]) == 2
    assert "layers.conv.weights: series '4:8' does not run on TTC-STC-M4" in capsys.readouterr().err
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("layers: {conv9: {weights: '2:4'}}\n")
    assert (
        main(["tasder", "apply", "--model", "tiny", "--config", str(unknown), "--no-progress"]) == 2
    )
    assert "unknown layer name 'conv9'" in capsys.readouterr().err


def test_workloads_bad_output_name(tmp_path, capsys):
    assert (
        main(["tasder", "workloads", "--builtin", "resnet50", "--out", str(tmp_path / "r.txt")])
        == 2
    )
    assert "expected a .yaml, .yml or .csv" in capsys.readouterr().err


def test_help_mentions_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["tasder", "--help"])
    text = capsys.readouterr().out
    assert all(command in text for command in ("search", "apply", "workloads"))
