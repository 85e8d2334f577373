"""The report template's parts: verdict rules, the effectual-work decomposition, the
hardware tables and the renderers."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparsim.designs import build
from sparsim.errors import SparsimError
from sparsim.report.charts import plotly_panels
from sparsim.report.hardware import architectures, level_table, sparse_features
from sparsim.report.model import Chart, Citation, Conclusion, Report, Rerun, Section, Table
from sparsim.report.render import render_html, render_markdown, write_report
from sparsim.report.verdicts import AGREE_WITHIN, change_text, change_verdict
from sparsim.report.work import OUTPUTS, work_decomposition
from sparsim.spec.workload import Gemm

# --- verdicts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paper", "ours", "verdict"),
    [
        (-0.58, -0.50, "agree"),  # 8 points off
        (-0.58, -0.39, "partly"),  # 19 points off, both lower
        (0.12, 0.121, "agree"),
        (1.67, 0.40, "partly"),
        (0.12, -0.20, "disagree"),  # opposite direction
        (-0.32, 0.005, "disagree"),  # no change where 32% was published
        (-0.04, 0.05, "agree"),  # within 10 points although the sign differs
        (-0.55, None, "not testable"),
        (-0.55, math.nan, "not testable"),
    ],
)
def test_change_verdict_cases(paper, ours, verdict):
    assert change_verdict(paper, ours) == verdict


changes = st.floats(-0.99, 3.0, allow_nan=False)


@given(changes, changes)
def test_verdict_rule_properties(paper, ours):
    verdict = change_verdict(paper, ours)
    if abs(ours - paper) <= AGREE_WITHIN:
        assert verdict == "agree"
    elif paper * ours < 0 or min(abs(paper), abs(ours)) < 0.01:
        assert verdict == "disagree"  # opposite directions, or a change against none
    else:
        assert verdict == "partly"


def test_change_text():
    assert change_text(-0.58) == "58% lower"
    assert change_text(1.67) == "167% higher"
    assert change_text(0.0) == "no change"


def test_negative_tolerance_is_an_error():
    with pytest.raises(SparsimError, match="tolerance"):
        change_verdict(0.1, 0.1, tolerance=-1)


# --- effectual work --------------------------------------------------------------------


def test_work_decomposition_hand_counted():
    frame = pd.DataFrame(
        {
            "algorithmic": [1000.0],
            "effectual": [250.0],
            "performed": [500.0],
            "cycles": [10.0],
            "energy_uJ": [1e-3],
        }
    )
    row = work_decomposition(frame).iloc[0]
    assert row["performed_per_cycle"] == 50.0
    assert row["performed_per_nJ"] == 500.0  # 1e-3 uJ = 1 nJ
    assert row["effectual_per_performed"] == 0.5
    assert row["effectual_per_algorithmic"] == 0.25
    assert row["algorithmic_per_cycle"] == 100.0
    assert row["algorithmic_per_nJ"] == 1000.0


positive = st.floats(1e-3, 1e12, allow_nan=False, allow_infinity=False)


@given(positive, st.floats(0.001, 1.0), st.floats(0.001, 1.0), positive, positive)
def test_work_factors_multiply_to_dense_equivalent_rate(
    algorithmic, share, performed_share, cycles, energy
):
    frame = pd.DataFrame(
        {
            "algorithmic": [algorithmic],
            "effectual": [algorithmic * share],
            "performed": [algorithmic * performed_share],
            "cycles": [cycles],
            "energy_uJ": [energy],
        }
    )
    row = work_decomposition(frame).iloc[0]
    speed = (
        row["performed_per_cycle"]
        * row["effectual_per_performed"]
        / row["effectual_per_algorithmic"]
    )
    cheap = (
        row["performed_per_nJ"] * row["effectual_per_performed"] / row["effectual_per_algorithmic"]
    )
    assert speed == pytest.approx(row["algorithmic_per_cycle"], rel=1e-9)
    assert cheap == pytest.approx(row["algorithmic_per_nJ"], rel=1e-9)


def test_work_decomposition_renamed_columns_and_errors():
    frame = pd.DataFrame(
        {"dense": [4.0], "eff": [1.0], "done": [2.0], "cycles": [1.0], "energy_uJ": [1.0]}
    )
    out = work_decomposition(
        frame, {"algorithmic": "dense", "effectual": "eff", "performed": "done"}
    )
    assert set(OUTPUTS) <= set(out.columns)
    with pytest.raises(SparsimError, match="'algorithmic'"):
        work_decomposition(frame)
    with pytest.raises(SparsimError, match="positive"):
        work_decomposition(
            frame.assign(cycles=0.0),
            {"algorithmic": "dense", "effectual": "eff", "performed": "done"},
        )


# --- what was modelled -----------------------------------------------------------------


def test_level_table_from_a_built_spec():
    spec = build("dstc", Gemm(name="g", M=64, K=256, N=64), {"A": 0.5, "B": 0.5})
    table = level_table(spec.architecture)
    levels = spec.architecture.levels
    assert list(table["level"]) == [level.name for level in levels] + [
        spec.architecture.compute.name
    ]
    assert list(table["instances"][:-1]) == [level.instances for level in levels]
    assert list(table["read pJ"][:-1]) == [level.energy.read for level in levels]
    assert table["read pJ"].iloc[-1] == spec.architecture.compute.energy.random
    assert "skipping" in sparse_features(spec) or "gating" in sparse_features(spec)
    assert sparse_features(build("tc", Gemm(name="g", M=64, K=256, N=64))) == "none (dense)"


def test_architectures_listed_once_with_their_designs():
    gemm = Gemm(name="g", M=64, K=256, N=64)
    specs = {
        "TC": (build("tc", gemm), "tensor-core"),
        "STC": (build("stc", gemm, {"A": "2:4"}), "tensor-core"),
        "STC-flexible": (build("stc-flexible", gemm, {"A": "2:4"}), "tensor-core"),
    }
    tables = architectures(specs)
    assert len(tables) == 2
    assert any("STC, STC-flexible" in title for title in tables)


# --- rendering -------------------------------------------------------------------------


def small_report() -> Report:
    frame = pd.DataFrame(
        {
            "model": ["a", "a", "b", "b"],
            "design": ["X", "Y", "X", "Y"],
            "edp": [1.0, 0.5, 1.0, 0.8],
            "level": ["DRAM", "DRAM", "SMEM", "SMEM"],
        }
    )
    saving = pd.DataFrame({"design": ["X", "X"], "part": ["kept", "saved"], "uJ": [5.0, -2.0]})
    return Report(
        title="A <small> study",
        lead="Two designs on two models.",
        published=Citation(
            "A. Author, B. Author", "A title", "Venue 2024", "https://example.org/p"
        ),
        conclusions=(
            Conclusion("Y halves EDP on a", "50% lower", "50% lower", "agree", "exact"),
            Conclusion("Y on b", "50% lower", "20% lower", "partly", "less skipping"),
        ),
        modelled=(Table("Hardware", pd.DataFrame({"level": ["DRAM"], "instances": [1]}), "note"),),
        assumptions=("Cycles are bandwidth bound.",),
        sections=(
            Section(
                "1. EDP",
                ("EDP per design.",),
                (Table("EDP", frame),),
                (
                    Chart(
                        "edp",
                        "EDP",
                        frame,
                        x="model",
                        y="edp",
                        y_label="EDP",
                        color="design",
                        reference=1.0,
                    ),
                    Chart(
                        "facets",
                        "By level",
                        frame,
                        x="design",
                        y="edp",
                        y_label="EDP",
                        color="design",
                        facet="level",
                    ),
                ),
            ),
            Section(
                "2. Saving",
                (),
                (),
                (
                    Chart(
                        "saving",
                        "Saving",
                        saving,
                        x="design",
                        y="uJ",
                        y_label="uJ",
                        color="part",
                        kind="stacked",
                    ),
                ),
            ),
        ),
        rerun=Rerun("sparsim study x --out DIR", "0.1.0", "2026-01-01"),
        files=("totals.csv",),
    )


def test_markdown_and_html_say_the_same_things(tmp_path):
    report = small_report()
    markdown, page = render_markdown(report), render_html(report)
    for text in (
        "Y halves EDP on a",
        "less skipping",
        "A. Author, B. Author",
        "sparsim study x --out DIR",
        "0.1.0",
        "2026-01-01",
        "Cycles are bandwidth bound.",
        "1. EDP",
        "2. Saving",
    ):
        assert text in markdown
        assert text in page.replace("&lt;", "<").replace("&gt;", ">")
    assert "(1 agree, 1 partly)" in markdown
    assert "&lt;small&gt;" in page  # escaped
    for name in ("edp", "facets", "saving"):
        assert f"](figures/{name}.png)" in markdown
        assert page.count(f'data-chart="{name}"') == 1
    assert page.count('id="facets-') == 2  # one panel per facet value


def test_html_is_self_contained(tmp_path):
    page = render_html(small_report())
    assert page.count("Plotly.newPlot") == 4  # one per panel
    assert "<script src" not in page and "<link" not in page
    assert len(re.findall(r"plotly\.js v\d", page)) == 1  # the bundle, once
    body = page.split("</head>", 1)[1]  # the Plotly bundle's own strings aside
    assert re.findall(r"(?:src|href)=\"(https?://[^\"]*)", body) == ["https://example.org/p"]


def test_hover_shows_every_requested_column():
    frame = pd.DataFrame({"x": ["a", "b"], "y": [1.0, 2.5], "energy": [1234.5678, 2.0]})
    chart = Chart("c", "t", frame, x="x", y="y", y_label="y", hover=("energy",))
    (panel,) = plotly_panels(chart)
    (trace,) = panel["data"]
    assert trace["y"] == [1.0, 2.5]
    assert trace["customdata"] == [["a", "1", "1,235"], ["b", "2.5", "2"]]
    assert trace["hovertemplate"].startswith("x: %{customdata[0]}<br>y: %{customdata[1]}")
    assert "energy: %{customdata[2]}" in trace["hovertemplate"]


def test_write_report_outputs(tmp_path):
    paths = write_report(small_report(), tmp_path)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in paths)
    assert names == sorted(
        ["report.md", "report.html"]
        + [f"figures/{n}.{s}" for n in ("edp", "facets", "saving") for s in ("png", "svg")]
    )
    assert all(p.stat().st_size > 0 for p in paths)


def test_bad_report_content_is_named():
    frame = pd.DataFrame({"x": ["a"], "y": [1.0]})
    with pytest.raises(SparsimError, match="chart c: no column 'z'"):
        Chart("c", "t", frame, x="x", y="z", y_label="y")
    with pytest.raises(SparsimError, match="log axis"):
        Chart("c", "t", frame.assign(y=0.0), x="x", y="y", y_label="y", log_y=True)
    with pytest.raises(SparsimError, match="unknown verdict 'maybe'"):
        Conclusion("c", "p", "s", "maybe", "w")
    chart = Chart("same", "t", frame, x="x", y="y", y_label="y")
    with pytest.raises(SparsimError, match="chart same"):
        Report(
            "t",
            "l",
            Citation("a", "t", "v"),
            (),
            (),
            (),
            (Section("s", charts=(chart, chart)),),
            Rerun("c", "v", "d"),
        )


def test_numbers_render_readably():
    frame = pd.DataFrame(
        {"big": [4067136.0], "small": [0.61234], "missing": [np.nan], "count": [54]}
    )
    markdown = render_markdown(
        small_report().__class__(**{**small_report().__dict__, "modelled": (Table("n", frame),)})
    )
    assert "| 4,067,136 | 0.6123 | - | 54 |" in markdown
