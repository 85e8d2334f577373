"""``sparsim study tasd-hardware``: one run (without torch, as on a default install), then
its tables, claims and report checked against each other and against TASDER."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparsim.report.browser import find_browser, open_page, rendered_charts
from sparsim.report.verdicts import change_verdict
from sparsim.study.tasd_hardware import ABLATION, MAIN_DESIGNS, TC, VEGETA_ONE_TERM
from sparsim.study.tasd_hardware_report import CLAIMS, TABLE_NAMES, claims_chart_frame
from sparsim.study.tasd_workloads import (
    ALPHA,
    hardware_options,
    kept_magnitude_by_n,
    layer_table,
    series_macs,
)
from sparsim.tasd import decompose, kept_magnitude, parse_series

SRC = Path(__file__).resolve().parents[2] / "src"
NO_TORCH_RUN = (
    "import sys; sys.modules['torch'] = None\n"  # a default install has no torch
    "from sparsim.cli import main\n"
    "sys.exit(main(['study', 'tasd-hardware', '--out', sys.argv[1], '--no-progress']))\n"
)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("tasd-hardware")
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH_RUN, str(out)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    tables = {name: pd.read_csv(out / f"{name}.csv") for name in TABLE_NAMES}
    return out, tables, done.stdout


def test_every_output_written(study):
    out, _, stdout = study
    for name in TABLE_NAMES:
        assert (out / f"{name}.csv").is_file() and (out / f"{name}.parquet").is_file()
    for chart in ("edp", "cycles", "energy", "ablation", "breakdown", "work"):
        assert (out / "figures" / f"{chart}.png").stat().st_size > 0
        assert (out / "figures" / f"{chart}.svg").stat().st_size > 0
    assert f"{len(CLAIMS)} EDP claims of the TASD paper checked" in stdout


def test_csv_equals_parquet(study):
    out, tables, _ = study
    for name in TABLE_NAMES:
        parquet = pd.read_parquet(out / f"{name}.parquet")
        pd.testing.assert_frame_equal(
            tables[name], parquet, check_dtype=False, check_exact=False, rtol=1e-12
        )


def test_totals_are_sums_of_layers_and_edp_is_their_product(study):
    _, tables, _ = study
    layers, totals = tables["layers"], tables["totals"]
    sums = layers.groupby(["model", "variant", "design"])[
        ["energy_uJ", "cycles", "performed"]
    ].sum()
    for row in totals.itertuples():
        expected = sums.loc[(row.model, row.variant, row.design)]
        assert row.energy_uJ == pytest.approx(expected["energy_uJ"], rel=1e-9)
        assert row.cycles == pytest.approx(expected["cycles"], rel=1e-9)
        assert row.edp_J_cycles == pytest.approx(row.energy_uJ * 1e-6 * row.cycles, rel=1e-12)
    tc = totals[totals["design"] == TC]
    assert np.allclose(tc["edp_vs_tc"], 1.0)
    assert set(totals["design"]) == set(MAIN_DESIGNS) | set(ABLATION)
    assert len(totals) == 4 * len(set(MAIN_DESIGNS) | set(ABLATION))


def test_effectual_work_never_exceeds_performed_or_algorithmic(study):
    _, tables, _ = study
    layers = tables["layers"]
    assert (layers["effectual"] <= layers["performed"] * (1 + 1e-9)).all()
    assert (layers["effectual"] <= layers["algorithmic"] * (1 + 1e-9)).all()
    dense_core = layers[layers["design"] == TC]
    assert (dense_core["performed"] >= dense_core["algorithmic"]).all()  # padding at most adds


def test_claim_verdicts_follow_the_rule_on_the_totals(study):
    _, tables, _ = study
    claims, totals = tables["claims"], tables["totals"]
    assert list(claims["key"]) == [claim.key for claim in CLAIMS]
    for claim, row in zip(CLAIMS, claims.itertuples(), strict=True):
        rows = totals[totals["design"] == claim.design]
        if claim.model is not None:
            rows = rows[(rows["model"] == claim.model) & (rows["variant"] == claim.variant)]
            assert len(rows) == 1
        changes = rows["edp_vs_tc"] - 1
        expected = {"value": changes.iloc[0], "best": changes.min(), "mean": changes.mean()}[
            claim.statistic
        ]
        assert row.sparsim_edp_change == pytest.approx(expected, rel=1e-9)
        assert row.paper_edp_change == claim.paper
        assert row.verdict == change_verdict(claim.paper, row.sparsim_edp_change, row.tolerance)


def test_report_shows_every_claim_with_its_verdict(study):
    out, tables, _ = study
    markdown = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    for row in tables["claims"].itertuples():
        line = next(line for line in markdown.splitlines() if line.startswith(f"| {row.claim} |"))
        assert f"| {row.verdict} |" in line
        assert row.claim in page
    for text in (
        "Geonhwa Jeong",
        "Abstracting Sparse DNN Acceleration",
        "sparsim study tasd-hardware --out DIR",
        "What was modelled",
        "Assumptions",
        "Effectual vs ineffectual work",
    ):
        assert text in markdown


def test_activation_rule_matches_tasder(study):
    """Differential: the study's numpy rule against TASDER's own (needs torch)."""
    tasder = pytest.importorskip("sparsim.tasder")
    _, tables, _ = study
    measured = tables["activations"].set_index(["model", "layer"])["rule_sparsity"]
    configs = tables["configs"]
    dense = configs[configs["variant"] == "dense"]
    for (model, design), chosen in dense.groupby(["model", "design"]):
        one_term = design == VEGETA_ONE_TERM
        hardware = "TTC-VEGETA-M8" if one_term else design
        options = tasder.hardware_series(hardware)
        if one_term:
            options = [s for s in options if s.n_terms == 1]
        assert [str(s) for s in hardware_options(hardware, 1 if one_term else 2)] == [
            str(s) for s in options
        ]
        for row in chosen.itertuples():
            expected = tasder.choose_series(measured[(model, row.layer)], options, ALPHA[model])
            assert row.series == str(expected)


def test_series_macs_match_tasder():
    structured = pytest.importorskip("sparsim.tasder.structured")
    for model in ("resnet50", "bert-base"):
        for row in layer_table(model):
            for text in ("2:4", "4:8+1:8", "1:8"):
                series = parse_series(text)
                assert series_macs(row.workload, series) == structured.structured_macs(
                    row.workload, series
                )


@pytest.mark.parametrize("series", ["1:8", "2:8+1:8", "4:8+1:8", "2:4", "2:4+1:4"])
def test_kept_magnitude_matches_a_real_decomposition(series):
    rng = np.random.default_rng(7)
    weights = rng.standard_normal((24, 40)) * (rng.random((24, 40)) < 0.3)
    parsed = parse_series(series)
    block = parsed.patterns[0].m
    approximation = sum(decompose(weights, parsed).terms)
    kept = kept_magnitude_by_n(np.abs(weights), block)[sum(p.n for p in parsed.patterns)]
    assert kept == pytest.approx(kept_magnitude(weights, approximation), rel=1e-12)


def test_two_term_series_are_never_less_aggressive_than_one_term(study):
    _, tables, _ = study
    configs = tables["configs"]
    density = {row.series: parse_series(row.series).density for row in configs.itertuples()}
    for variant in ("dense", "sparse"):
        both = configs[configs["variant"] == variant]
        two = both[both["design"] == "TTC-VEGETA-M8"].set_index(["model", "layer"])["series"]
        one = both[both["design"] == VEGETA_ONE_TERM].set_index(["model", "layer"])["series"]
        for key, series in one.items():
            assert density[two[key]] <= density[series]


def test_breakdown_tc_matches_the_totals(study):
    _, tables, _ = study
    breakdown, totals = tables["breakdown"], tables["totals"]
    for model in ("resnet50", "bert-base"):
        tc = breakdown[(breakdown["model"] == model) & (breakdown["design"] == TC)][
            "energy_uJ"
        ].sum()
        row = totals[
            (totals["model"] == model) & (totals["variant"] == "dense") & (totals["design"] == TC)
        ]
        assert tc == pytest.approx(row["energy_uJ"].iloc[0], rel=1e-9)


@pytest.mark.skipif(
    find_browser() is None, reason="no headless Chromium on PATH (apt-get install chromium)"
)
def test_study_report_renders_in_chromium(study):
    out, _, _ = study
    page = open_page(out / "report.html")
    assert page.console == ()
    charts = rendered_charts(page.dom)
    assert set(charts) == {"claims", "edp", "cycles", "energy", "ablation", "breakdown", "work"}
    assert all(drawn == panels and panels >= 1 for panels, drawn in charts.values())


def test_quick_is_refused_for_this_study(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sparsim",
            "study",
            "tasd-hardware",
            "--quick",
            "--out",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "sparsim: error: --quick: only the sparsity-types study has a quick mode"
    ]
    assert not (tmp_path / "x").exists()


def test_claims_chart_shows_both_numbers_of_every_claim(study):
    claims = study[1]["claims"]
    frame = claims_chart_frame(claims)
    assert len(frame) == 2 * len(CLAIMS)
    paper = frame[frame["source"] == "the TASD paper"]["EDP change (%)"].to_numpy()
    ours = frame[frame["source"] == "sparsim"]["EDP change (%)"].to_numpy()
    assert paper == pytest.approx(100 * claims["paper_edp_change"].to_numpy())
    assert ours == pytest.approx(100 * claims["sparsim_edp_change"].to_numpy())
    assert frame["claim"].nunique() == len(CLAIMS)  # every claim labelled apart
