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
from sparsim.report.charts import MARK_GREY, group_colors, heatmap_scale, plotly_panels
from sparsim.report.hardware import architectures, level_table, sparse_features
from sparsim.report.model import (
    Chart,
    Citation,
    Conclusion,
    Mark,
    Report,
    Rerun,
    Section,
    Table,
)
from sparsim.report.publish import claims_frame, publish, section_claims, work_table
from sparsim.report.render import render_html, render_markdown, write_report
from sparsim.report.verdicts import (
    AGREE_WITHIN,
    Close,
    Holds,
    NotModelled,
    arithmetic_mean_change,
    change,
    change_text,
    change_verdict,
    close_verdict,
    geometric_mean_change,
    holds_verdict,
)
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
    with pytest.raises(SparsimError, match="tolerance"):
        Close(1.0, 1.0, -0.1)


@pytest.mark.parametrize(
    ("published", "ours", "verdict"),
    [
        (0.75, 0.704, "agree"),  # a break-even 4.6 points early
        (0.75, 0.55, "partly"),  # 20 points early, still below never (1.0)
        (0.75, math.inf, "disagree"),  # never breaks even: at or past the reference
        (1.22, 2.01, "partly"),  # slower, by far more
        (1.22, 0.95, "disagree"),  # faster: the other side of 1
        (1.22, 1.005, "disagree"),  # as fast (within 1% of 1): neither side
    ],
)
def test_close_verdict_against_a_reference(published, ours, verdict):
    assert close_verdict(published, ours, 0.10, 1.0) == verdict
    assert Close(published, ours, 0.10, 1.0).verdict == verdict


@pytest.mark.parametrize(
    ("held", "cases", "verdict"),
    [
        (4, 4, "agree"),
        (3, 4, "partly"),
        (2, 4, "disagree"),
        (0, 4, "disagree"),
        (0, 0, "not testable"),
    ],
)
def test_holds_verdict_needs_a_majority_for_partly(held, cases, verdict):
    assert holds_verdict(held, cases) == verdict
    assert Holds(held, cases).verdict == verdict


def test_holds_refuses_more_held_than_cases():
    with pytest.raises(SparsimError, match="held 5 of 4"):
        Holds(5, 4)


def test_evidence_says_how_far_off_it_is():
    assert change(-0.58, -0.39).short == "19 pts off (±10 pts)"
    assert (
        Close(0.75, math.inf, 0.1, 1.0, 100, " points of sparsity").short == "none found (±10 pts)"
    )
    assert Holds(3, 4).short == "3 of 4"
    assert NotModelled("no area").verdict == "not modelled"


def test_means_of_the_tasd_papers_bars():
    """The TASD paper's averages are geometric means of its Fig. 14 bars: 58/61/83/82%
    lower give 73.4% (its 74%), DSTC's +12/+167/-55/-87% give 35% lower (its 35%); their
    arithmetic means are 71% lower and 9% higher."""
    ttc = [0.42, 0.39, 0.17, 0.18]
    dstc = [1.12, 2.67, 0.45, 0.13]
    assert geometric_mean_change(ttc) == pytest.approx(-0.734, abs=5e-4)
    assert arithmetic_mean_change(ttc) == pytest.approx(-0.71)
    assert geometric_mean_change(dstc) == pytest.approx(-0.353, abs=5e-4)
    assert arithmetic_mean_change(dstc) == pytest.approx(0.0925)
    with pytest.raises(SparsimError, match="positive"):
        geometric_mean_change([1.0, 0.0])


# --- effectual work --------------------------------------------------------------------


def hand_counted() -> pd.DataFrame:
    """1000 algorithmic MACs, 250 effectual, 500 performed in 10 cycles and 1 nJ."""
    return pd.DataFrame(
        {
            "algorithmic": [1000.0],
            "effectual": [250.0],
            "performed": [500.0],
            "cycles": [10.0],
            "energy_uJ": [1e-3],
        }
    )


def test_work_decomposition_hand_counted():
    frame = hand_counted()
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
    assert "skips outputs when weights or input activations are zero" in sparse_features(spec)
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
        published=(
            Citation("A. Author, B. Author", "A title", "Venue 2024", "https://example.org/p"),
            Citation("C. Author", "Hardware", "Venue 2022", role="hardware"),
        ),
        conclusions=(
            Conclusion(
                "a",
                "Y halves EDP on a",
                "Fig. 1",
                "50% lower",
                "50% lower",
                change(-0.5, -0.5),
                "exact",
                "1. EDP",
            ),
            Conclusion(
                "b", "Y on b", "§2", "50% lower", "20% lower", change(-0.5, -0.2), "less skipping"
            ),
            Conclusion("c", "Y is never slower", "§3", "always", "3 of 8", Holds(3, 8), "padding"),
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
        rerun=Rerun("sparsim study x --out rerun", "0.1.0", "2026-01-01", "abc123"),
        files=("totals.csv",),
        bottom_line="Y wins.",
    )


def test_markdown_and_html_say_the_same_things(tmp_path):
    report = small_report()
    markdown, page = render_markdown(report), render_html(report)
    for text in (
        "Y halves EDP on a",
        "less skipping",
        "A. Author, B. Author",
        "Hardware: C. Author",
        "sparsim study x --out rerun",
        "0.1.0",
        "commit abc123",
        "2026-01-01",
        "Cycles are bandwidth bound.",
        "1. EDP",
        "2. Saving",
        "Y wins.",
        "30 pts off (±10 pts)",
        "3 of 8",
    ):
        assert text in markdown
        assert text in page.replace("&lt;", "<").replace("&gt;", ">")
    assert "(1 agree, 1 partly, 1 disagree)" in markdown
    # the disagreement is listed before the claims table, on the first screen
    assert markdown.index("- Y is never slower (§3)") < markdown.index("| claim |")
    assert page.index('class="against"') < page.index("<th>claim</th>")
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


def test_hover_shows_every_requested_column_in_words():
    frame = pd.DataFrame({"x": ["a", "b"], "y": [1.0, 2.5], "energy_uJ": [1234.5678, 2.0]})
    chart = Chart(
        "c", "t", frame, x="x", y="y", y_label="y", hover=("energy_uJ",), labels=(("x", "model"),)
    )
    (panel,) = plotly_panels(chart)
    (trace,) = panel["data"]
    assert trace["y"] == [1.0, 2.5]
    assert trace["customdata"] == [["a", "1", "1,235"], ["b", "2.5", "2"]]
    assert trace["hovertemplate"].startswith("model: %{customdata[0]}<br>y: %{customdata[1]}")
    assert "energy (uJ): %{customdata[2]}" in trace["hovertemplate"]
    assert "energy_uJ" not in trace["hovertemplate"]


def test_ratio_bars_grow_from_the_reference_on_a_fitting_axis():
    wide = pd.DataFrame({"x": ["a", "b", "c"], "r": [0.375, 1.0, 2.7]})
    (panel,) = plotly_panels(
        Chart("w", "t", wide, x="x", y="r", y_label="r", reference=1.0, ratio=True)
    )
    (trace,) = panel["data"]
    assert trace["base"] == 1.0 and trace["y"] == pytest.approx([-0.625, 0.0, 1.7])
    axis = panel["layout"]["yaxis"]
    assert axis["type"] == "log"  # 0.375 to 2.7 spans more than 4x
    assert 10 ** axis["range"][0] < 0.375 and 10 ** axis["range"][1] > 2.7
    assert {0.5, 1, 2} <= set(axis["tickvals"])
    near = pd.DataFrame({"x": ["a", "b"], "r": [1.0, 1.0]})  # a dense panel: all at 1
    (panel,) = plotly_panels(
        Chart("n", "t", near, x="x", y="r", y_label="r", reference=1.0, ratio=True)
    )
    axis = panel["layout"]["yaxis"]
    assert axis["type"] == "linear" and len(axis["tickvals"]) >= 3 and 1.0 in axis["tickvals"]


def test_lying_bars_list_long_labels_as_rows():
    frame = pd.DataFrame(
        {
            "claim": ["TTC-VEGETA-M8 on sparse ResNet-50", "DSTC on dense BERT-base"] * 2,
            "source": ["paper", "paper", "sparsim", "sparsim"],
            "v": [-83.0, 167.0, -70.0, 166.0],
        }
    )
    chart = Chart(
        "h", "t", frame, x="claim", y="v", y_label="%", color="source", kind="hbar", reference=0.0
    )
    (panel,) = plotly_panels(chart)
    assert [t["orientation"] for t in panel["data"]] == ["h", "h"]
    assert panel["data"][0]["y"] == list(frame["claim"][:2]) and panel["data"][0]["x"] == [
        -83.0,
        167.0,
    ]
    assert panel["layout"]["margin"]["l"] > 6 * len("TTC-VEGETA-M8 on sparse ResNet-50")


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
    with pytest.raises(SparsimError, match="ratio chart"):
        Chart("c", "t", frame.assign(y=0.0), x="x", y="y", y_label="y", reference=1.0, ratio=True)
    chart = Chart("same", "t", frame, x="x", y="y", y_label="y")
    with pytest.raises(SparsimError, match="chart same"):
        Report(
            "t",
            "l",
            (Citation("a", "t", "v"),),
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


# --- heat maps, line charts and their marks ----------------------------------------------


def heat_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "layer": ["L1", "L1", "L2", "L2"],
            "design": ["X", "Y", "X", "Y"],
            "speed-up": [1.0, 4.0, 0.5, 2.0],
            "cell": ["1.00x MAC", "4.00x SMEM", "0.50x DRAM", "2.00x MAC"],
        }
    )


def heat_chart(frame: pd.DataFrame | None = None, **changes) -> Chart:
    """A heat map of speed-ups with cell labels, centred on 1 (``changes``: other fields)."""
    fields = {
        "x": "design",
        "y": "layer",
        "y_label": "speed-up",
        "kind": "heatmap",
        "value": "speed-up",
        "text": "cell",
        "reference": 1.0,
    }
    frame = heat_frame() if frame is None else frame
    return Chart("heat", "Heat", frame, **(fields | changes))


def test_heatmap_cells_are_the_table_centred_on_the_reference():
    chart = heat_chart()
    (panel,) = plotly_panels(chart)
    (trace,) = panel["data"]
    assert trace["type"] == "heatmap"
    assert trace["x"] == ["X", "Y"] and trace["y"] == ["L1", "L2"]
    assert trace["text"] == [["1.00x MAC", "4.00x SMEM"], ["0.50x DRAM", "2.00x MAC"]]
    # log10 of the ratios, the colour range symmetric about log10(1) = 0
    assert np.allclose(trace["z"], np.log10([[1.0, 4.0], [0.5, 2.0]]))
    assert trace["zmin"] == pytest.approx(-math.log10(4)) and trace["zmax"] == pytest.approx(
        math.log10(4)
    )
    assert heatmap_scale(chart) == pytest.approx((-math.log10(4), math.log10(4)))
    ticks = trace["colorbar"]["ticktext"]
    assert "1" in ticks and "4" in ticks and "0.25" in ticks


def test_heatmap_leaves_a_missing_cell_empty():
    chart = heat_chart(heat_frame().iloc[:3], text=None, reference=None)
    (panel,) = plotly_panels(chart)
    (trace,) = panel["data"]
    assert trace["z"][1][1] is None and trace["text"][1][1] == ""
    assert trace["text"][0][1] == "4"  # no text column: the value itself


def test_line_chart_marks_and_numeric_x():
    frame = pd.DataFrame({"s": [0.0, 0.5, 0.9, 0.0, 0.5, 0.9], "d": ["u"] * 3 + ["v"] * 3})
    frame["r"] = [2.0, 1.5, 0.5, 2.0, 0.9, 0.2]
    marks = (Mark(0.7, "u 70%", "u"), Mark(0.75, "paper ~75%"))
    chart = Chart("l", "t", frame, x="s", y="r", y_label="r", color="d", kind="line", marks=marks)
    (panel,) = plotly_panels(chart)
    assert [t["type"] for t in panel["data"]] == ["scatter", "scatter"]
    assert panel["data"][0]["x"] == [0.0, 0.5, 0.9]
    lines = [shape for shape in panel["layout"]["shapes"] if shape["xref"] == "x"]
    assert [line["x0"] for line in lines] == [0.7, 0.75]
    colours = group_colors(chart)
    assert lines[0]["line"]["color"] == colours["u"]  # the group's own colour
    assert lines[1]["line"]["color"] == MARK_GREY  # a published value: grey
    assert [note["text"] for note in panel["layout"]["annotations"]] == ["u 70%", "paper ~75%"]


def test_new_chart_kinds_refuse_bad_content():
    frame = heat_frame()
    with pytest.raises(SparsimError, match="needs a value column"):
        heat_chart(value=None, text=None)
    with pytest.raises(SparsimError, match="two rows for one cell"):
        heat_chart(pd.concat([frame, frame]))
    with pytest.raises(SparsimError, match="ratios needs positive"):
        heat_chart(frame.assign(**{"speed-up": 0.0}))
    with pytest.raises(SparsimError, match="numeric x"):
        Chart("l", "t", frame, x="design", y="speed-up", y_label="v", kind="line")
    with pytest.raises(SparsimError, match="marks are drawn on line charts only"):
        Chart("b", "t", frame, x="design", y="speed-up", y_label="v", marks=(Mark(1, "m"),))


def test_heatmap_and_line_charts_render_in_both_formats(tmp_path):
    frame = pd.DataFrame({"s": [0.0, 0.5, 0.9], "r": [2.0, 1.0, 0.5]})
    charts = (
        heat_chart(),
        Chart(
            "line",
            "Line",
            frame,
            x="s",
            y="r",
            y_label="r",
            kind="line",
            x_percent=True,
            marks=(Mark(0.5, "even"),),
        ),
    )
    report = small_report()
    report = Report(**{**report.__dict__, "sections": (Section("3. More", charts=charts),)})
    paths = write_report(report, tmp_path)
    assert {p.name for p in paths} >= {"heat.png", "heat.svg", "line.png", "line.svg"}
    page = (tmp_path / "report.html").read_text()
    assert '"type": "heatmap"' in page and '"tickformat": ".0%"' in page
    assert "4.00x SMEM" in (tmp_path / "figures" / "heat.svg").read_text()


def test_the_page_draws_one_legend_per_chart_and_the_panels_none():
    report = small_report()
    page = render_html(report)
    facets = report.sections[0].charts[1]
    assert all(panel["layout"]["showlegend"] is False for panel in plotly_panels(facets))
    legend = re.search(r'data-chart="facets".*?<div class="legend">(.*?)</div>', page, re.S)
    assert re.findall(r"</i>(\w+)</span>", legend.group(1)) == ["X", "Y"]
    assert '"config": {"displaylogo": false' in page  # the config rides in the figure


# --- the shared study template ------------------------------------------------------------


def test_section_claims_pick_their_section():
    claims = small_report().conclusions
    (table,) = section_claims(claims, "1. EDP")
    assert list(table.frame["claim"]) == ["Y halves EDP on a"]
    assert list(table.frame["verdict"]) == ["agree"]
    assert section_claims(claims, "3. None") == ()


def test_claims_frame_holds_the_numbers_each_verdict_comes_from():
    frame = claims_frame(small_report().conclusions).set_index("key")
    assert frame.loc["b", ["published_value", "sparsim_value", "tolerance"]].tolist() == [
        -0.5,
        -0.2,
        AGREE_WITHIN,
    ]
    assert frame.loc["c", ["held", "cases"]].tolist() == [3.0, 8.0]
    assert np.isnan(frame.loc["c", "published_value"])
    assert frame["verdict"].tolist() == ["agree", "partly", "disagree"]


def test_publish_writes_tables_and_the_report_listing_them(tmp_path):
    frames = {"totals": pd.DataFrame({"a": [1, 2]}), "claims": pd.DataFrame({"b": ["x"]})}
    seen = {}

    def build(files, date):
        seen["files"], seen["date"] = files, date
        return small_report()

    paths, report = publish(frames, build, tmp_path)
    assert seen["files"] == ("totals.csv", "claims.csv")
    paths, _ = publish(frames, build, tmp_path, texts={"config.yaml": "a: 1\n"})
    assert seen["files"] == ("config.yaml", "totals.csv", "claims.csv")
    assert (tmp_path / "config.yaml").read_text() == "a: 1\n"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", seen["date"])
    names = {p.name for p in paths}
    assert {"totals.csv", "totals.parquet", "claims.csv", "claims.parquet"} <= names
    assert {"report.md", "report.html"} <= names
    assert pd.read_parquet(tmp_path / "totals.parquet").equals(pd.read_csv(tmp_path / "totals.csv"))
    assert report.title == small_report().title


def test_work_table_keeps_leading_columns_and_factors():
    frame = hand_counted()
    table = work_table(frame, {"design": ["X"]})
    assert list(table.columns)[:2] == ["design", "performed MACs/cycle"]
    row = table.iloc[0]
    assert (row["effectual / performed"], row["dense-equivalent MACs/cycle"]) == (0.5, 100.0)


def test_sparse_features_in_words():
    spec = build("stc", Gemm(name="g", M=64, K=256, N=64), {"A": "2:4"})
    text = sparse_features(spec)
    assert "weights as coordinates" in text
    assert "when weights are zero" in text
    for internal in ("UOP", "CP", "skipping-spatial", "(A)"):
        assert internal not in text


def test_tilted_labels_get_their_room_up_front():
    long = pd.DataFrame({"x": [f"a rather long category name {i}" for i in range(4)], "y": 1.0})
    (panel,) = plotly_panels(Chart("c", "t", long, x="x", y="y", y_label="y"))
    assert panel["layout"]["xaxis"]["tickangle"] == -30
    margin = panel["layout"]["margin"]
    assert margin["b"] > 100 and margin["l"] > 60  # the first label reaches left too
    short = pd.DataFrame({"x": ["a", "b"], "y": 1.0})
    (panel,) = plotly_panels(Chart("c", "t", short, x="x", y="y", y_label="y"))
    assert panel["layout"]["xaxis"]["tickangle"] == 0
    assert panel["layout"]["margin"] == {"l": 60, "r": 50, "t": 40, "b": 40}


def test_heatmap_labels_wrap_and_get_their_room():
    frame = heat_frame().replace({"Y": "dual unstructured (DSTC)", "L2": "M128-K1152-N784 x4"})
    (panel,) = plotly_panels(heat_chart(frame))
    layout = panel["layout"]
    assert layout["xaxis"]["ticktext"] == ["X", "dual<br>unstructured<br>(DSTC)"]
    assert layout["xaxis"]["tickvals"] == ["X", "dual unstructured (DSTC)"]  # hover keeps it
    assert layout["margin"]["t"] >= 30 + 3 * 14  # title, then three lines of labels
    assert layout["margin"]["l"] >= 7 * len("M128-K1152-N784 x4")
    page = render_html(
        Report(**{**small_report().__dict__, "sections": (Section("s", charts=(heat_chart(),)),)})
    )
    assert '"displayModeBar": false' in page  # no tool bar over the colour bar
