"""The one results schema: lossless JSON, tidy rows whose parts add up, and the CLI shapes."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsim.cli import main
from sparsim.cost.result import KEY_COLUMNS, TOTAL_COLUMNS, Result, results_frame
from sparsim.designs import build
from sparsim.evaluate import density_label, evaluate
from sparsim.spec.sparsity import parse_density
from sparsim.spec.workload import Gemm

DESIGNS = ["tc", "stc", "stc-flexible-dual", "dstc"]
DENSITIES = ["dense", "2:4", "1:8", "0.5", "uniform:0.3", "0.8125"]


def _result(design: str, m: int, k: int, n: int, a: str, b: str) -> Result:
    return evaluate(build(design, Gemm(name="layer", M=m, K=k, N=n), {"A": a, "B": b}))


@settings(max_examples=12, deadline=None)
@given(
    design=st.sampled_from(DESIGNS),
    dims=st.tuples(*(st.sampled_from([16, 48, 64, 100]) for _ in range(3))),
    a=st.sampled_from(DENSITIES),
    b=st.sampled_from(DENSITIES),
)
def test_dict_round_trip_and_row_parts_add_up(design, dims, a, b):
    result = _result(design, *dims, a, b)
    assert Result.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    row = result.to_row()
    split = [v for key, v in row.items() if key.endswith(("data_uJ", "metadata_uJ"))]
    assert math.fsum(split) == pytest.approx(row["energy_uJ"], rel=1e-12)
    assert row[f"{row['bounding_level']}.cycles"] == row["cycles"]
    assert row["computes_algorithmic"] == pytest.approx(
        row["computes_actual"] + row["computes_gated"] + row["computes_skipped"]
    )
    assert row["edp_J_cycles"] == pytest.approx(row["energy_uJ"] * 1e-6 * row["cycles"])


@pytest.mark.parametrize("text", DENSITIES)
def test_density_label_reads_back(text):
    density = parse_density(text)
    assert parse_density(density_label(density)) == density


def test_results_carry_what_they_ran_on_and_frame_them():
    spec = build("dstc", Gemm(name="fc", M=64, K=64, N=32), {"A": "0.5", "B": "2:4"})
    result = evaluate(spec)
    assert (result.design, result.name, result.densities) == (
        "dstc",
        "fc",
        {"A": "0.5", "B": "2:4"},
    )
    labelled = replace(result, memory="SMEM=131072", objective="edp")
    frame = results_frame([result, labelled])
    assert list(frame.columns[: len(KEY_COLUMNS) + len(TOTAL_COLUMNS)]) == [
        *KEY_COLUMNS,
        *TOTAL_COLUMNS,
    ]
    assert frame["memory"].tolist() == ["", "SMEM=131072"]
    assert frame["energy_uJ"].tolist() == [result.energy_uJ] * 2
    assert results_frame([labelled.to_row()]).equals(frame.iloc[[1]].reset_index(drop=True))


def test_evaluate_and_compare_json_share_the_schema(capsys):
    gemm = ["--gemm", "M=64,K=64,N=32", "--density", "A=2:4", "--density", "B=0.5"]
    assert main(["evaluate", "--design", "STC", *gemm, "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    for key in ("case", "cycles", "energy_uJ", "computes", "levels", *KEY_COLUMNS, *TOTAL_COLUMNS):
        assert key in evaluated
    assert (evaluated["design"], evaluated["density_A"], evaluated["density_B"]) == (
        "stc",
        "2:4",
        "0.5",
    )
    assert main(["compare", "--designs", "tc,stc", *gemm, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    stc = rows[1]
    shared = set(KEY_COLUMNS) | set(TOTAL_COLUMNS) | {"computes", "levels"}
    assert {k: stc[k] for k in shared} == {k: evaluated[k] for k in shared}
    assert (stc["weights_as"], stc["activations_as"]) == ("2:4", "dense")
