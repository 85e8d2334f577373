"""``sparsim compare``: the default table, options, JSON and one-line errors."""

from __future__ import annotations

import json

import pytest

from sparsim.cli import main


def test_default_table_lists_every_design_against_tc(capsys):
    assert main(["compare"]) == 0
    out = capsys.readouterr().out
    assert "M512-K256-N1024" in out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("design"))
    for column in ("cycles", "energy uJ", "EDP", "actual MACs", "speedup", "energy/TC"):
        assert column in header
    rows = {
        line.split()[0]: line.split() for line in lines[3:] if line and not line.startswith("note")
    }
    assert set(rows) == {
        "tc",
        "stc",
        "stc-flexible",
        "stc-flexible-rle",
        "stc-flexible-dual",
        "dstc",
        "ttc-stc-m4",
        "ttc-stc-m8",
        "ttc-vegeta-m4",
        "ttc-vegeta-m8",
    }
    assert rows["tc"][-3:] == ["1.00x", "1.000", "1.000"]
    assert rows["stc"][-3] == "2.00x"
    for column in ("area mm2", "MAC/cyc/mm2", "EDAP", "area/TC"):
        assert column in header
    assert "do not compare directly" in out  # TC's tables are 65 nm, the others' 45 nm


def test_every_design_reports_area_and_throughput_per_mm2(capsys):
    """Area from the design's tables; throughput per mm^2 = the layer's MACs per cycle per
    mm^2; EDAP = EDP x mm^2; area/TC the ratio of the two areas."""
    assert main(["compare", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    tc = next(row for row in rows if row["design"] == "tc")
    for row in rows:
        area_mm2 = row["area_um2"] * 1e-6
        assert area_mm2 > 0.5, row["design"]
        per_level = sum(level["area_total_um2"] for level in row["levels"])
        assert per_level == pytest.approx(row["area_um2"])
        assert row["throughput_per_mm2"] == pytest.approx(
            row["computes"]["algorithmic"] / row["cycles"] / area_mm2
        )
        assert row["edap_J_cycles_mm2"] == pytest.approx(row["edp_J_cycles"] * area_mm2)
        assert row["area_vs_tc"] == pytest.approx(row["area_um2"] / tc["area_um2"])
    technologies = {row["design"]: row["technology"] for row in rows}
    assert technologies["tc"] == "65nm" and technologies["stc"] == "45nm"


def test_json_options(capsys):
    assert (
        main(
            [
                "compare",
                "--json",
                "--gemm",
                "M=64,K=64,N=17",
                "--designs",
                "TC,stc",
                "--density",
                "A=2:4",
                "--density",
                "B=0.5",
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["design"] for r in rows] == ["tc", "stc"]
    assert rows[0]["computes"]["actual"] == 64 * 64 * 17
    assert rows[1]["computes"]["actual"] == 64 * 64 * 17 / 2
    assert rows[1]["speedup_vs_tc"] == pytest.approx(rows[0]["cycles"] / rows[1]["cycles"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--designs", "tc,nope"], "unknown design 'nope'"),
        (["--gemm", "M=4,K=4"], "--gemm: missing N"),
        (["--density", "A"], "--density: expected TENSOR=VALUE"),
        (["--density", "C=0.5"], "unknown tensor 'C'"),
        (["--density", "B=2"], "density must be in [0, 1]"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, argv, message):
    assert main(["compare", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err
