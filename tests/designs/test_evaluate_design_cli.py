"""``sparsim evaluate --design``: a built-in design on one GEMM, its saved spec, and errors."""

from __future__ import annotations

import json

import pytest

from sparsim.cli import main


def _json_line(capsys) -> dict:
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_stc_skips_half_of_the_computes_of_2_4_weights(capsys):
    args = ["evaluate", "--design", "stc", "--gemm", "M=64,K=128,N=32", "--density", "A=2:4"]
    assert main([*args, "--json"]) == 0
    row = _json_line(capsys)
    assert row["case"] == "stc"
    assert row["computes"]["algorithmic"] == 64 * 128 * 32
    assert row["computes"]["actual"] == 64 * 128 * 32 / 2
    # 1024 MACs with half of the work skipped: at least algorithmic / 2048 cycles.
    assert row["cycles"] >= 64 * 128 * 32 / 2 / 1024
    # The STC's area tables (the MICRO'22 artifact's ART): SMEM + 4 RF + 1024 (LRF + MAC).
    assert row["area_um2"] == pytest.approx(2604256.0 + 4 * 23384.0 + 1024 * (95.68 + 332.25))
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "area: 3.1360 mm^2" in text and "4 x 23,384.00 = 93,536" in text


def test_saved_spec_evaluates_to_the_same_numbers(tmp_path, capsys):
    saved = tmp_path / "dstc.yaml"
    args = ["evaluate", "--design", "dstc", "--gemm", "M=64,K=128,N=256"]
    args += ["--density", "A=0.5", "--density", "B=2:4", "--save-spec", str(saved), "--json"]
    assert main(args) == 0
    built = _json_line(capsys)
    assert main(["evaluate", str(saved), "--json"]) == 0
    reloaded = _json_line(capsys)
    assert reloaded["case"] == str(saved)
    assert {k: v for k, v in reloaded.items() if k != "case"} == {
        k: v for k, v in built.items() if k != "case"
    }


def test_table_names_the_design_and_layer(capsys):
    assert main(["evaluate", "--design", "tc", "--gemm", "M=16,K=16,N=16"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tc (M16-K16-N16):")
    assert "DRAM" in out and "MAC" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--design", "tc"], "--gemm: --design needs a GEMM shape"),
        (["--gemm", "M=4,K=4,N=4"], "--gemm: only meaningful with --design"),
        (["--save-spec", "x.yaml", "case_dir"], "--save-spec: only meaningful with --design"),
        ([], "give case directories or spec files"),
        (["--design", "nope", "--gemm", "M=4,K=4,N=4"], "unknown design 'nope'"),
        (["--design", "tc", "--gemm", "M=4,K=4"], "--gemm: missing N"),
        (["--design", "stc", "--gemm", "M=4,K=8,N=4", "--density", "A=3:2"], "A"),
        (
            ["--design", "tc", "--gemm", "M=4,K=4,N=4", "--save-spec", "/proc/no/x.yaml"],
            "cannot write",
        ),
    ],
)
def test_bad_input_is_one_line(args, message, capsys, tmp_path):
    assert main(["evaluate", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert err.startswith("sparsim: error: ") and "\n" not in err
    assert message in err
