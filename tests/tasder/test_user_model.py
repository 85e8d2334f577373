"""A user's own model and data: the documented examples run as written (a small model
and data they build), a factory with a metric of its own, and one-line errors."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from sparsim.cli import main
from sparsim.tasder.models.user import data_splits

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tasder.md"


def _section(title: str) -> str:
    text = DOCS.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def _blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


def _commands(block: str) -> list[list[str]]:
    """Each ``sparsim ...`` command of a bash block, continuation lines joined."""
    joined = block.replace("\\\n", " ")
    return [shlex.split(line)[1:] for line in joined.splitlines() if line.startswith("sparsim ")]


@pytest.fixture(autouse=True)
def one_thread():
    """The examples train a small network: on a shared machine two threads spin."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_documented_python_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (code,) = _blocks(_section("Python"), "python")
    exec(compile(code, str(DOCS), "exec"), {"__name__": "docs_example"})
    lines = capsys.readouterr().out.splitlines()
    assert re.match(r"0\.\d{3} \{", lines[0])
    assert "of the original" in lines[1] and "(n=900)" in lines[1]
    assert "of the original" in lines[2] and "(n=900)" in lines[2]
    test_quality = float(re.search(r"\((\d\.\d{4}) vs", lines[2]).group(1))
    assert float(lines[3]) == pytest.approx(test_quality, abs=1e-4)
    assert (tmp_path / "config.yaml").is_file()


def test_the_documented_user_model_example_runs_search_apply_and_cost(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    section = _section("Your own model and data")
    (code,) = _blocks(section, "python")
    exec(compile(code, str(DOCS), "exec"), {"__name__": "docs_example"})
    search, apply, cost = _commands(_blocks(section, "bash")[0])
    assert main([*search, "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "runs code from the file" in out.err  # loading a pickle is said out loud
    assert re.search(r"test split\s+\|?\s*[\d.]+% of the original .*\(n=1,800\): meets", out.out)
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert config["layers"] and config["result"]["rule"] == "bound"
    assert config["result"]["selection"]["margin_low"] >= 0
    assert config["result"]["test"]["n"] == 1800
    assert main([*apply, "--no-progress"]) == 0
    applied = capsys.readouterr().out
    tested = config["result"]["test"]["quality"]
    assert re.search(rf"test split\s+\|?\s*[\d.]+% of the original \({tested:.4f} vs", applied)
    assert main(cost) == 0
    assert "reduction vs TC" in capsys.readouterr().out


def _tiny_task() -> dict:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4)
    )
    inputs = torch.randn(300, 16)
    labels = model(inputs).argmax(1).detach()
    return {"model": model.eval(), "inputs": inputs, "labels": labels}


FACTORY = """
import torch
from sparsim.tasder import Top1Agreement
from tests.tasder.test_user_model import _tiny_task


def task():
    made = _tiny_task()
    inputs = made["inputs"]
    return {
        "name": "tiny factory",
        "model": made["model"],
        "calibration": inputs[:50],
        "validation": Top1Agreement(list(inputs[50:150].split(50))),
        "test": (inputs[150:], made["labels"][150:]),
    }


def broken():
    return {"model": torch.nn.Linear(2, 2)}
"""


def test_a_factory_brings_the_model_the_splits_and_its_own_metric(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_tasks.py").write_text(FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["tasder", "search", "--factory", "my_tasks:task", "--hardware", "TTC-VEGETA-M8"]
    argv += ["--method", "activations", "--alphas=-0.2,0", "--target", "0.9"]
    assert main([*argv, "--no-progress", "--out", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr().out
    assert "tiny factory" in printed and "top-1 agreement" in printed
    assert re.search(r"test split\s+\|?\s*[\d.]+% of the original .*\(n=150\)", printed)
    for bad, message in [
        (["--factory", "my_tasks"], "--factory: expected package.module:function"),
        (["--factory", "no_such_module_here:task"], "--factory: cannot import"),
        (["--factory", "my_tasks:nothing"], "--factory: 'my_tasks' has no function 'nothing'"),
        (["--factory", "my_tasks:broken"], "factory: the factory's result has no 'calibration'"),
        (["--factory", "my_tasks:task", "--model", "x.pt"], "give --model or --factory"),
    ]:
        command = ["tasder", "search", *bad, "--hardware", "TTC-VEGETA-M8", "--out", "o"]
        assert main(command) == 2
        error = capsys.readouterr().err.strip()
        assert message in error and "\n" not in error, error


def test_model_and_data_files_are_checked_with_one_line_errors(tmp_path, capsys):
    made = _tiny_task()
    torch.save(made["model"], tmp_path / "model.pt")
    torch.save(made["model"].state_dict(), tmp_path / "weights.pt")
    np.savez(tmp_path / "data.npz", inputs=made["inputs"].numpy(), labels=made["labels"].numpy())
    np.savez(
        tmp_path / "short.npz",
        inputs=made["inputs"][:10].numpy(),
        labels=made["labels"][:10].numpy(),
    )
    (tmp_path / "notes.txt").write_text("no tensors here")
    base = ["tasder", "search", "--hardware", "TTC-VEGETA-M8", "--out", str(tmp_path / "o")]
    cases = [
        (["--model", str(tmp_path / "model.pt")], "--data: a model file needs its labelled data"),
        (["--model", str(tmp_path / "weights.pt"), "--data", str(tmp_path / "data.npz")],
         "weights.pt: holds 'OrderedDict', not a torch.nn.Module (a state dict"),
        (["--model", str(tmp_path / "model.pt"), "--data", str(tmp_path / "short.npz")],
         "short.npz: 10 samples, but the splits ask for"),
        (["--model", str(tmp_path / "model.pt"), "--data", str(tmp_path / "notes.txt")],
         "notes.txt: expected a .pt, .pth, .npz file of tensors"),
        (["--model", str(tmp_path / "missing.pt"), "--data", str(tmp_path / "data.npz")],
         "missing.pt: model file not found"),
        (["--model", "fmnist-resnet", "--data", str(tmp_path / "data.npz")],
         "--data: built-in models bring their own data"),
        ([], "--model: give a model"),
    ]  # fmt: skip
    for extra, message in cases:
        assert main([*base, *extra]) == 2
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert message in error, error
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_data_file_splits_are_disjoint_and_fixed():
    inputs, labels = torch.arange(100).float().view(-1, 1), torch.arange(100)
    data = {"inputs": inputs, "labels": labels}
    first = data_splits(data, "d", calibration_size=10, evaluation_size=30, test_size=None)
    again = data_splits(data, "d", calibration_size=10, evaluation_size=30, test_size=None)
    parts = [first["calibration_inputs"], first["validation_inputs"], first["test_inputs"]]
    assert [len(p) for p in parts] == [10, 30, 30]
    seen = torch.cat(parts).flatten()
    assert len(set(seen.tolist())) == 70  # disjoint
    assert torch.equal(first["validation_labels"], first["validation_inputs"].flatten().long())
    assert all(torch.equal(first[k], again[k]) for k in first)
    given = {key: value for key, value in first.items()}
    assert data_splits(given, "d", calibration_size=1, evaluation_size=1, test_size=1) == given


def test_workloads_of_a_model_file(tmp_path, capsys):
    made = _tiny_task()
    torch.save(made["model"], tmp_path / "model.pt")
    np.savez(tmp_path / "data.npz", inputs=made["inputs"].numpy(), labels=made["labels"].numpy())
    argv = ["tasder", "workloads", "--model", str(tmp_path / "model.pt")]
    argv += ["--data", str(tmp_path / "data.npz"), "--out", str(tmp_path / "w.csv")]
    assert main(argv) == 0
    assert "3 layers" in capsys.readouterr().out
