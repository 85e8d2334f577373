"""``sparsim study tasd-hardware``: one run (without torch, as on a default install), then
its tables, claims and report checked against each other and against TASDER."""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparsim.designs.catalog import get_design
from sparsim.designs.ttc import evaluate_series
from sparsim.report.browser import find_browser, open_page, rendered_charts
from sparsim.study.tasd_hardware import (
    ABLATION,
    MAIN_DESIGNS,
    NETWORK_WISE,
    TC,
    VEGETA_ONE_TERM,
    VEGETA_PLAIN,
    VEGETA_TTC,
    design_area_um2,
    series_level_energy,
)
from sparsim.study.tasd_hardware_report import CHECKS, FIG14, TABLE_NAMES, claims_chart_frame
from sparsim.study.tasd_workloads import (
    ALPHA,
    hardware_options,
    kept_magnitude_by_n,
    layer_table,
    series_macs,
)
from sparsim.tasd import decompose, kept_magnitude, parse_series
from tests.study.test_claims import expected_verdict

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
    assert f"{len(CHECKS)} claims of the TASD paper checked" in stdout
    assert (out / "settings.yaml").is_file()


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
    assert set(totals["design"]) == set(MAIN_DESIGNS) | set(ABLATION) | {NETWORK_WISE}
    # section 5.3's network-wise series runs on sparse ResNet-50 only
    assert len(totals) == 4 * len(set(MAIN_DESIGNS) | set(ABLATION)) + 1


def test_effectual_work_never_exceeds_performed_or_algorithmic(study):
    _, tables, _ = study
    layers = tables["layers"]
    assert (layers["effectual"] <= layers["performed"] * (1 + 1e-9)).all()
    assert (layers["effectual"] <= layers["algorithmic"] * (1 + 1e-9)).all()
    dense_core = layers[layers["design"] == TC]
    assert (dense_core["performed"] >= dense_core["algorithmic"]).all()  # padding at most adds


def _edp_ratios(totals: pd.DataFrame, design: str) -> np.ndarray:
    rows = totals[totals["design"] == design].set_index(["model", "variant"])
    return np.array(
        [
            rows.loc[(m, v), "edp_vs_tc"]
            for m in ("resnet50", "bert-base")
            for v in ("dense", "sparse")
        ]
    )


def test_claim_verdicts_follow_from_the_numbers_in_the_table(study):
    _, tables, _ = study
    claims, totals = tables["claims"], tables["totals"]
    assert len(claims) == len(CHECKS)
    for row in claims.itertuples():
        assert row.verdict == expected_verdict(row), row.key
    by_key = claims.set_index("key")
    for bar in FIG14:
        row = by_key.loc[f"fig14-{bar.design}-{bar.variant}-{bar.model}".lower()]
        total = totals[
            (totals["design"] == bar.design)
            & (totals["model"] == bar.model)
            & (totals["variant"] == bar.variant)
        ]
        assert row["published_value"] == bar.paper
        assert row["sparsim_value"] == pytest.approx(total["edp_vs_tc"].iloc[0] - 1, rel=1e-9)


def test_averages_are_taken_as_the_paper_takes_them(study):
    _, tables, _ = study
    by_key, totals = tables["claims"].set_index("key"), tables["totals"]
    ttc, dstc = _edp_ratios(totals, VEGETA_TTC), _edp_ratios(totals, "DSTC")
    geometric = np.exp(np.log(ttc).mean()) - 1
    assert by_key.loc["on-average", "sparsim_value"] == pytest.approx(geometric, rel=1e-9)
    assert by_key.loc["on-average-intro", "sparsim_value"] == pytest.approx(ttc.mean() - 1)
    assert by_key.loc["dstc-average", "sparsim_value"] == pytest.approx(
        np.exp(np.log(dstc).mean()) - 1, rel=1e-9
    )
    assert "73% lower" in by_key.loc["on-average", "published"]  # the paper's own bars


def test_fig15_claims_count_their_workloads(study):
    _, tables, _ = study
    by_key, totals = tables["claims"].set_index("key"), tables["totals"]
    main = totals[totals["design"].isin(MAIN_DESIGNS)]
    lowest = main.loc[main.groupby(["model", "variant"])["energy_uJ"].idxmin(), "design"]
    assert by_key.loc["most-energy-efficient", "held"] == (lowest == VEGETA_TTC).sum()
    assert by_key.loc["most-energy-efficient", "cases"] == 4
    cycles = main.pivot_table(index=["model", "variant"], columns="design", values="cycles")
    ratio = cycles[VEGETA_TTC] / cycles["DSTC"]
    assert by_key.loc["slower-than-dstc", "sparsim_value"] == pytest.approx(
        ratio[("resnet50", "sparse")]
    )
    others = ratio.drop(("resnet50", "sparse"))
    assert by_key.loc["only-slower-there", "held"] == (others <= 1).sum()


def test_area_and_its_claims_follow_from_the_designs_tables(study):
    """Every row's area is its design's (the TTC hardware's for the TTC and VEGETA rows),
    EDAP its EDP times it; the area claims' numbers come from those columns."""
    out, tables, _ = study
    by_key, totals = tables["claims"].set_index("key"), tables["totals"]
    for row in totals.itertuples():
        assert row.area_um2 == design_area_um2(row.design)
        assert row.edap_J_cycles_mm2 == pytest.approx(row.edp_J_cycles * row.area_um2 * 1e-6)
    assert design_area_um2(TC) == get_design("tc").architecture.area_um2
    assert design_area_um2(VEGETA_TTC) == get_design("stc").architecture.area_um2
    ratio = design_area_um2("DSTC") / design_area_um2(VEGETA_TTC)
    assert by_key.loc["unstructured-area", "sparsim_value"] == pytest.approx(ratio - 1)
    assert by_key.loc["unstructured-area", "verdict"] == ("disagree" if ratio < 1 else "partly")
    edap = totals.pivot_table(
        index=["model", "variant"], columns="design", values="edap_J_cycles_mm2"
    )
    held = (edap[VEGETA_TTC] < edap["DSTC"]).sum()
    assert by_key.loc["better-tradeoff-with-area", "held"] == held
    assert by_key.loc["tasd-unit-area", "verdict"] == "not modelled"
    markdown = (out / "report.md").read_text()
    assert "Area per design" in markdown and "0.4382" in markdown  # the TTC's PEs, mm^2


def test_vegeta_with_tasder_decomposes_weights_only(study):
    _, tables, _ = study
    configs, totals = tables["configs"], tables["totals"]
    vegeta = configs[configs["design"] == VEGETA_ONE_TERM]
    assert set(vegeta["variant"]) == {"sparse"} and set(vegeta["operand"]) == {"weights"}
    assert all(parse_series(s).n_terms == 1 for s in vegeta["series"])
    dense = totals[totals["variant"] == "dense"].set_index(["model", "design"])
    for model in ("resnet50", "bert-base"):
        assert dense.loc[(model, VEGETA_ONE_TERM), "energy_uJ"] == pytest.approx(
            dense.loc[(model, VEGETA_PLAIN), "energy_uJ"], rel=1e-12
        )


def test_report_shows_every_claim_with_its_verdict(study):
    out, tables, _ = study
    markdown = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    for row in tables["claims"].itertuples():
        line = next(line for line in markdown.splitlines() if line.startswith(f"| {row.claim} |"))
        assert f"| {row.verdict} (" in line or f"| {row.verdict} |" in line
        assert html.escape(row.claim) in page
    for text in (
        "Geonhwa Jeong",
        "Abstracting Sparse DNN Acceleration",
        "sparsim study tasd-hardware --out rerun",
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


def test_breakdown_is_the_representative_layers_level_by_level(study):
    _, tables, _ = study
    breakdown, layers = tables["breakdown"], tables["layers"]
    assert set(breakdown["label"]) == {"L1", "L2", "L3"}
    sparse = layers[(layers["model"] == "resnet50") & (layers["variant"] == "sparse")]
    for (label, layer, design), rows in breakdown.groupby(["label", "layer", "design"]):
        total = rows["energy_uJ"].sum()
        # the TC runs the layer dense; TTC-VEGETA-M8 runs it at 4:8+1:8, as the network-wise run
        which = TC if design == TC else NETWORK_WISE
        row = sparse[(sparse["design"] == which) & (sparse["layer"] == layer)]
        assert total == pytest.approx(row["energy_uJ"].iloc[0], rel=1e-9), (label, design)
        assert (rows["energy_uJ"] > 0).all()  # the fused saving sits in its levels


def test_fused_saving_per_level_adds_up_to_the_series_saving():
    workload = next(r for r in layer_table("resnet50") if r.name == "layer2.0.conv2").workload
    on_ttc = evaluate_series("TTC-VEGETA-M8", workload, "4:8+1:8")
    saved = sum(value for _, value in on_ttc.shared_saved_by_level)
    assert saved == pytest.approx(on_ttc.shared_energy_saved_pJ, rel=1e-12) and saved > 0
    assert sum(series_level_energy(on_ttc).values()) == pytest.approx(on_ttc.energy_uJ, rel=1e-12)


@pytest.mark.skipif(
    find_browser() is None, reason="no headless Chromium on PATH (apt-get install chromium)"
)
def test_study_report_renders_in_chromium(study):
    out, _, _ = study
    page = open_page(out / "report.html")
    assert page.console == ()
    charts = rendered_charts(page.dom)
    assert set(charts) == {
        "claims",
        "edp",
        "cycles",
        "energy",
        "ablation",
        "breakdown",
        "work",
        "edap",
    }
    assert "Area per design" in page.dom and "EDP x area relative to the TC" in page.dom
    assert "sparsim disagrees with" not in page.dom or 'class="against"' in page.dom
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


def test_claims_chart_shows_both_numbers_of_every_change_claim(study):
    claims = study[1]["claims"]
    frame = claims_chart_frame(claims)
    changes = claims[(claims["rule"] == "close") & (claims["reference"] == 0.0)]
    assert len(frame) == 2 * len(changes) and len(changes) >= len(FIG14)
    paper = frame[frame["source"] == "the TASD paper"]["change vs TC (%)"].to_numpy()
    ours = frame[frame["source"] == "sparsim"]["change vs TC (%)"].to_numpy()
    assert paper == pytest.approx(100 * changes["published_value"].to_numpy())
    assert ours == pytest.approx(100 * changes["sparsim_value"].to_numpy())
    assert frame["claim"].nunique() == len(changes)  # every claim labelled apart
