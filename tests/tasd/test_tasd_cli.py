"""``sparsim tasd``: output, files written, and one-line errors with exit code 2."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sparsim.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_decompose_random_prints_one_row_per_term(capsys):
    code, out, err = run(capsys, "tasd", "decompose", "--random", "32x32", "--series", "2:4+2:8")
    assert code == 0, err
    assert "series 2:4+2:8" in out
    lines = out.splitlines()
    assert any(line.split()[:2] == ["1", "2:4"] for line in lines)
    assert any(line.split()[:2] == ["2", "2:4+2:8"] for line in lines)


def test_decompose_file_writes_a_loadable_result(capsys, tmp_path):
    x = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32)
    np.save(tmp_path / "w.npy", x)
    np.save(tmp_path / "b.npy", np.eye(16, dtype=np.float32))
    out_dir = tmp_path / "out"
    code, _, err = run(
        capsys, "tasd", "decompose", str(tmp_path / "w.npy"), "--series", "2:8+1:8",
        "--b", str(tmp_path / "b.npy"), "--out", str(out_dir),
    )  # fmt: skip
    assert code == 0, err
    saved = np.load(out_dir / "decomposition.npz")
    np.testing.assert_array_equal(saved["term_1"] + saved["term_2"] + saved["residual"], x)
    assert saved["term_1_indices"].shape == (8, 2, 2)
    metrics = (out_dir / "metrics.csv").read_text().splitlines()
    assert metrics[0].startswith("terms,series,") and len(metrics) == 3
    assert "relative_matmul_error" in metrics[0]


def test_decompose_state_dict_key_and_conv_axes(capsys, tmp_path):
    weight = torch.randn(4, 2, 2, 2)
    torch.save({"conv.weight": weight, "conv.bias": torch.zeros(4)}, tmp_path / "model.pt")
    code, out, err = run(
        capsys, "tasd", "decompose", str(tmp_path / "model.pt"), "--key", "conv.weight",
        "--series", "2:8", "--axis", "1,2,3",
    )  # fmt: skip
    assert code == 0, err
    assert "4x2x2x2 float32" in out


def test_patterns_lists_the_table(capsys):
    code, out, _ = run(capsys, "tasd", "patterns", "--hardware", "ttc-vegeta-m8")
    assert code == 0
    assert "TTC-VEGETA-M8" in out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[3:]}
    assert rows["3:8"] == "2:8+1:8"
    assert rows["7:8"] == "not"
    code, out, _ = run(capsys, "tasd", "patterns")
    assert code == 0
    assert all(name in out for name in ("TTC-STC-M4", "TTC-STC-M8", "TTC-VEGETA-M4"))


def test_study_tiny_configuration(capsys, tmp_path):
    out_dir = tmp_path / "study"
    code, out, err = run(
        capsys, "tasd", "study", "--out", str(out_dir), "--seeds", "2", "--size", "32",
        "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    assert {p.name for p in out_dir.iterdir()} == {
        "dropped.csv",
        "dropped.png",
        "matmul_error.csv",
        "matmul_error.png",
        "reference_comparison.csv",
    }
    assert "paper dropped nnz %" in out
    assert "reference figures within 0.5 points" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["decompose", "--random", "8x8", "--series", "3:2"], "--series: series '3:2'"),
        (
            ["decompose", "--random", "8x8", "--series", "0:4"],
            "N (elements kept per block of M) must be >= 1",
        ),
        (["decompose", "--random", "8x8", "--series", "2:4+"], "term 2 of 2 is empty"),
        (
            ["decompose", "--random", "8x8", "--series", "2:4", "--axis", "2"],
            "axis 2 is out of range",
        ),
        (
            ["decompose", "--random", "8x8", "--series", "2:4", "--axis", "x"],
            "--axis: expected an integer",
        ),
        (
            ["decompose", "--random", "8x6", "--series", "2:4"],
            "axis 1: length 6 is not a multiple of M=4",
        ),
        (["decompose", "--random", "8y8", "--series", "2:4"], "--random: expected positive sizes"),
        (["decompose", "missing.npy", "--series", "2:4"], "missing.npy: file not found"),
        (["patterns", "--hardware", "tpu"], "unknown hardware 'tpu'; valid: STC-M4, TTC-STC-M4"),
        (["study", "--out", "OUT", "--size", "100"], "--size: must be a positive multiple of 16"),
    ],
)
def test_bad_input_exit_2_one_line_no_traceback(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "tasd", *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("sparsim: error: ")
    assert message in err
    assert "Traceback" not in err + out
    assert not (tmp_path / "OUT").exists()


def test_bad_files(capsys, tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    np.savez(tmp_path / "two.npz", a=np.zeros(4), b=np.zeros(4))
    np.save(tmp_path / "ints.npy", np.zeros((2, 4), np.int64))
    np.save(tmp_path / "x.npy", np.zeros((2, 4), np.float32))
    np.save(tmp_path / "b.npy", np.zeros((3, 2), np.float32))
    for argv, message in [
        ([str(tmp_path / "bad.npy")], "bad.npy: cannot read tensor"),
        ([str(tmp_path / "two.npz")], "two.npz: holds 2 arrays; choose one with --key (a, b)"),
        ([str(tmp_path / "two.npz"), "--key", "c"], "no array named 'c'"),
        ([str(tmp_path / "ints.npy")], "dtype int64 is not supported"),
        ([str(tmp_path / "x.npy"), "--b", str(tmp_path / "b.npy")], "b: A @ B needs B of shape"),
    ]:
        code, _, err = run(capsys, "tasd", "decompose", *argv, "--series", "2:4")
        assert code == 2, argv
        assert message in err and err.count("\n") == 1
        assert "Traceback" not in err


def test_decompose_failure_leaves_no_output_dir(capsys, tmp_path):
    code, _, _ = run(
        capsys,
        "tasd",
        "decompose",
        "--random",
        "8x6",
        "--series",
        "2:4",
        "--out",
        str(tmp_path / "o"),
    )
    assert code == 2
    assert list(tmp_path.iterdir()) == []
