"""Invariants of the quick study's tables, files and report."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sparsim.report.browser import find_browser, open_page, rendered_charts
from sparsim.study.checks import CHECKS
from sparsim.study.config import load_definition
from sparsim.study.report import (
    _breakdown,
    _computes,
    _memory_frame,
    area_findings,
    area_table,
    contenders,
    crossing_marks,
    layer_drilldown,
    metadata_table,
    padding_table,
    structured_vs_unstructured,
)
from sparsim.study.strategies import DUAL_PAIR, SINGLE_PAIR

DEFINITION = load_definition()
STRATEGIES = [DEFINITION.by_name[name] for name in DEFINITION.grid]
SPARSITIES = DEFINITION.sparsities
FIG15_SHAPES = DEFINITION.layer_sets[0].gemms

SKIPPING = [s.name for s in STRATEGIES if s.name != "dense"]
TENSOR_CORES = [s.name for s in STRATEGIES if s.name.startswith("struct")]
SAME = ["energy_uJ", "cycles", "computes_actual", "computes_algorithmic"]


def _at(frame: pd.DataFrame, ws: float, sa: float) -> pd.DataFrame:
    return frame[
        np.isclose(frame["weight_sparsity"], ws) & np.isclose(frame["activation_sparsity"], sa)
    ]


def test_grid_covers_every_layer_strategy_and_sparsity_pair(quick_study):
    tables = quick_study[0]
    assert len(tables.layers) == len(FIG15_SHAPES) * len(STRATEGIES) * len(SPARSITIES) ** 2
    assert tables.failures.empty
    assert (tables.totals["complete"]).all()


def test_dense_rows_identical_across_strategies(quick_study):
    layers = quick_study[0].layers
    dense = _at(layers, 0.0, 0.0)
    for family in (TENSOR_CORES, list(SINGLE_PAIR[1:] + DUAL_PAIR[1:])):
        rows = dense[dense["strategy"].isin(family)].groupby("layer")[SAME]
        assert (rows.nunique() == 1).all().all(), family
    # the dense TC and every single-sided strategy ignore what they cannot exploit
    for name in ["dense", *(s.name for s in STRATEGIES if s.sides == "single")]:
        rows = layers[layers["strategy"] == name]
        key = "layer" if name == "dense" else ["layer", "weight_sparsity"]
        assert (rows.groupby(key)[SAME].nunique() == 1).all().all(), name


def test_structured_and_unstructured_do_the_same_computes(quick_study):
    layers = quick_study[0].layers
    for pair in (SINGLE_PAIR, DUAL_PAIR):
        for s in SPARSITIES:
            sa = s if pair == DUAL_PAIR else 0.0
            at = _at(layers[layers["strategy"].isin(pair)], s, sa)
            wide = at.pivot(index="layer", columns="strategy", values="computes_actual")
            unpadded = at.groupby("layer")["padded"].sum() == 0
            expected = (1 - s) * (1 - sa)
            done = at.set_index(["layer", "strategy"])
            fraction = done["computes_actual"] / done["computes_algorithmic"]
            np.testing.assert_allclose(fraction, expected, rtol=1e-4)
            structured, unstructured = wide.loc[unpadded, pair[0]], wide.loc[unpadded, pair[1]]
            np.testing.assert_allclose(unstructured, structured, rtol=1e-4)


def test_energy_never_rises_as_density_falls_for_skipping_strategies(quick_study):
    layers = quick_study[0].layers
    for (layer, name), rows in layers[layers["strategy"].isin(SKIPPING)].groupby(
        ["layer", "strategy"]
    ):
        grid = rows.pivot(
            index="weight_sparsity", columns="activation_sparsity", values="energy_uJ"
        )
        values = grid.sort_index().sort_index(axis=1).to_numpy()
        assert (np.diff(values, axis=0) <= 1e-9 * values[1:]).all(), (layer, name)
        assert (np.diff(values, axis=1) <= 1e-9 * values[:, 1:]).all(), (layer, name)


def test_actual_computes_at_most_algorithmic_and_totals_add_up(quick_study):
    tables = quick_study[0]
    layers, totals = tables.layers, tables.totals
    assert (layers["computes_actual"] <= layers["computes_algorithmic"]).all()
    assert (layers["cycles"] >= layers["MAC.cycles"]).all()
    point = _at(totals[totals["strategy"] == "unstruct-dual"], 0.5, 0.5).iloc[0]
    rows = _at(layers[layers["strategy"] == "unstruct-dual"], 0.5, 0.5)
    assert point["energy_uJ"] == rows["energy_uJ"].sum()
    assert point["edp_J_cycles"] == rows["energy_uJ"].sum() * 1e-6 * rows["cycles"].sum()


def test_dense_tc_reference_layer(quick_study):
    layers = quick_study[0].layers
    row = layers[(layers["layer"] == "M128-K1152-N1024") & (layers["strategy"] == "dense")].iloc[0]
    assert abs(row["energy_uJ"] - 276.58) < 0.01
    # 128 x 1152 x 1024 MACs on 1024 MACs at one MAC per cycle
    assert row["cycles"] == 128 * 1152 * 1024 / 1024


def test_adjusted_view_pairs_equal_total_density(quick_study):
    adjusted = quick_study[0].adjusted
    assert np.allclose(
        adjusted["total_density"],
        (1 - adjusted["weight_sparsity"]) * (1 - adjusted["activation_sparsity"]),
    )
    assert adjusted["unstruct-single_energy_uJ"].notna().all()
    single_sided = adjusted[adjusted["activation_sparsity"] == 0]
    same = single_sided[single_sided["strategy"] == "unstruct-dual"]
    np.testing.assert_allclose(same["energy_vs_unstruct-single"], 1.0)


def test_memory_sweeps_are_relative_to_the_artifacts_size(quick_study):
    memory = quick_study[0].memory
    baseline = memory[memory["scale"] == 1.0]
    np.testing.assert_allclose(baseline["energy_vs_baseline"], 1.0)
    assert memory["complete"].all()
    # every (sweep, strategy) has every scale of its sweep
    assert memory.groupby(["sweep", "strategy"])["scale"].nunique().min() >= 3


def test_all_files_written(quick_study):
    _, _, paths, out = quick_study
    names = {p.name for p in out.iterdir()}
    for table in (
        "layers",
        "totals",
        "breakdown",
        "adjusted",
        "fine",
        "low",
        "memory",
        "bandwidth",
        "checks",
        "failures",
    ):
        assert {f"{table}.csv", f"{table}.parquet"} <= names
    figures = {p.name for p in (out / "figures").iterdir()}
    for figure in ("energy", "cycles", "memory", "adjusted", "low_sparsity", "computes"):
        assert {f"{figure}.png", f"{figure}.svg"} <= figures
    assert {"report.md", "report.html"} <= names
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert pd.read_parquet(out / "totals.parquet").shape == pd.read_csv(out / "totals.csv").shape


def test_report_states_every_check_credits_both_sources_and_hides_internal_names(quick_study):
    _, checks, _, out = quick_study
    assert list(checks) == list(CHECKS)
    markdown, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for check in checks.values():
        assert check.claim in markdown and check.verdict in markdown
        assert html.escape(check.claim) in page
    prose = re.sub(r"<script>.*?</script>", "", page, flags=re.S)  # plotly.js aside
    for text in (markdown, prose):
        # the claims are Huang and Mustafa's; the hardware and layers the MICRO'22 artifact's
        assert "Claims: Yicheng Huang, Nathan Mustafa" in text
        assert "Modeling Structured vs Unstructured and Dual vs Single Sided Sparsity" in text
        assert "Sparseloop: An Analytical Approach to Sparse Tensor Accelerator Modeling" in text
        assert "Yannan Nellie Wu" in text
        assert "sparsim study sparsity-types --config config.yaml --out rerun --quick" in text
        assert "seed" not in text.lower()
        for internal in ("fig15", "the artifact", "UOP", "skipping-spatial", "sparsim.", "src/"):
            assert internal not in text, internal
        for name in DEFINITION.by_name:
            if name != "dense":
                assert name not in text, name


@pytest.mark.skipif(
    find_browser() is None, reason="no headless Chromium on PATH (apt-get install chromium)"
)
def test_report_renders_in_chromium_with_every_chart(quick_study):
    out = quick_study[3]
    page = open_page(out / "report.html")
    assert page.console == ()
    charts = rendered_charts(page.dom)
    assert set(charts) == {
        "energy",
        "edp",
        "breakdown",
        "breakeven",
        "computes",
        "cycles",
        "crossing",
        "drilldown",
        "cycle_parts",
        "low_sparsity",
        "adjusted",
        "memory",
    }
    assert all(drawn == panels and panels >= 1 for panels, drawn in charts.values())
    assert "8. Area and EDP x area" in page.dom and "Area per design" in page.dom


def test_area_panel_and_its_finding_follow_from_the_totals(quick_study):
    """Totals carry each strategy's design area and EDP x area; the area section's sentence
    counts what the totals say."""
    tables, _, _, out = quick_study
    totals = tables.totals
    for strategy in STRATEGIES:
        rows = totals[totals["strategy"] == strategy.name]
        assert (rows["area_um2"] == strategy.design.architecture.area_um2).all()
    assert np.allclose(
        totals["edap_J_cycles_mm2"], totals["edp_J_cycles"] * totals["area_um2"] * 1e-6
    )
    main = tables.sets[-1]
    grid = totals[(totals["layer_set"] == main) & totals["strategy"].isin(contenders(tables))]
    sparse = grid[(grid["weight_sparsity"] > 0) | (grid["activation_sparsity"] > 0)]
    points = sparse.groupby(["weight_sparsity", "activation_sparsity"])
    edap = points.apply(lambda g: g.loc[g["edap_J_cycles_mm2"].idxmin(), "strategy"])
    edp = points.apply(lambda g: g.loc[g["edp_J_cycles"].idxmin(), "strategy"])
    finding = area_findings(tables)
    assert f"changes the winner at {(edap != edp).sum()} of {len(edp)} points" in finding
    for name, count in edap.value_counts().items():
        assert f"{tables.title(name)} at {count}" in finding
    markdown = (out / "report.md").read_text()
    assert finding in markdown and "Lowest EDP x area per sparse point" in markdown
    table = area_table(tables).set_index("design")
    assert table.loc["dstc", "area (mm^2)"] == pytest.approx(3.0515, abs=1e-4)


def test_a_design_without_area_is_named_not_compared(quick_study):
    tables = quick_study[0]
    name = contenders(tables)[1]
    strategy = tables.strategy(name)
    architecture = strategy.design.architecture
    unknown = architecture.model_copy(
        update={"compute": architecture.compute.model_copy(update={"area": None})}
    )
    changed = replace(strategy, design=replace(strategy.design, architecture=unknown))
    definition = replace(
        tables.definition,
        strategies=tuple(changed if s.name == name else s for s in tables.definition.strategies),
    )
    finding = area_findings(replace(tables, definition=definition))
    assert finding.startswith(f"No area for {tables.title(name)}")
    assert "not compared" in finding


def test_drilldown_cells_are_the_layers_table(quick_study):
    tables = quick_study[0]
    cells = layer_drilldown(tables, "fig15")
    layers = tables.layers[tables.layers["layer_set"] == "fig15"]
    designs = {tables.title(name): name for name in contenders(tables)}
    assert set(cells["design"]) == set(designs)
    # one cell per layer, contender and sparse grid point
    assert len(cells) == layers["layer"].nunique() * len(designs) * (len(SPARSITIES) - 1)
    for cell in cells.to_dict("records"):
        strategy = designs[cell["design"]]
        s = next(x for x in SPARSITIES if cell["sparsity"] == f"{100 * x:.3g}% zeros")
        ws = 0.0 if strategy == "dense" else s
        sa = s if strategy in DUAL_PAIR else 0.0
        row = _at(layers[layers["strategy"] == strategy], ws, sa)
        row = row[row["layer"] == cell["layer"].split(" x")[0]]
        assert len(row) == 1
        assert cell["speed-up"] == pytest.approx(row["speedup_vs_dense"].iloc[0], abs=5e-4)
        assert cell["bound by"] == row["bounding_level"].iloc[0]
        assert cell["cell"] == f"{cell['speed-up']:.2f}x {cell['bound by']}"
    assert (cells.loc[cells["design"] == tables.title("dense"), "speed-up"] == 1.0).all()


def test_computes_split_sums_to_the_layers_macs_plus_padding(quick_study):
    tables = quick_study[0]
    computes = _computes(tables, "fig15")
    for (design, sparsity), rows in computes.groupby(["design", "sparsity"]):
        share = rows.set_index("part")["share"]
        on_layers = share["effectual"] + share["performed, ineffectual"] + share["skipped"]
        assert on_layers == pytest.approx(1.0, rel=1e-9), (design, sparsity)
        assert (share >= -1e-12).all()
    # MACs performed on padding exactly where the layers table says a layer is padded
    layers = tables.layers[tables.layers["layer_set"] == "fig15"]
    table = padding_table(computes).set_index("design")
    for strategy in contenders(tables)[1:]:
        for s in SPARSITIES[1:]:
            sa = s if strategy in DUAL_PAIR else 0.0
            padded = _at(layers[layers["strategy"] == strategy], s, sa)["padded"].any()
            extra = table.loc[tables.title(strategy), f"{100 * s:.3g}% zeros"]
            assert (extra != "+0.0%") == padded, (strategy, s, extra)


def test_crossing_marks_sit_where_the_ratios_cross_one(quick_study):
    tables = quick_study[0]
    frame = structured_vs_unstructured(tables)
    assert set(frame["sides"]) == {"single-sided", "dual-sided"}
    marks = crossing_marks(frame)
    for mark in marks:
        if mark.color is None:
            assert mark.label.startswith("the study") and mark.facet.startswith("cycles")
            continue
        rows = frame[(frame["panel"] == mark.facet) & (frame["sides"] == mark.color)]
        rows = rows.sort_values("sparsity")
        below = rows[rows["sparsity"] < mark.x]["ratio"].iloc[-1]
        above = rows[rows["sparsity"] > mark.x]["ratio"].iloc[0]
        assert (below - 1) * (above - 1) < 0  # the two grid points either side straddle 1
    # the study's cycle claim holds on the quick run: a crossing on both sides
    fig15_cycles = [m for m in marks if m.color and m.facet.startswith("cycles, the 4 ResNet")]
    assert {m.color for m in fig15_cycles} == {"single-sided", "dual-sided"}


def test_memory_panels_name_absolute_sizes_beside_their_fixed_energy_twin(quick_study):
    tables = quick_study[0]
    memory = _memory_frame(tables)
    panels = list(dict.fromkeys(memory["panel"]))
    assert any("x1 = 262,144 words" in panel for panel in panels)
    sweeps = list(dict.fromkeys(memory["sweep"]))
    for index, sweep in enumerate(sweeps):
        if sweep.endswith("-fixed-energy"):
            assert sweeps[index - 1] == sweep.removesuffix("-fixed-energy")
    assert any(p.startswith("shared buffer (SMEM) data capacity (x1") for p in panels)
    assert any("energy per access fixed" in p for p in panels)


def test_metadata_table_is_the_breakdown_in_numbers(quick_study):
    tables = quick_study[0]
    breakdown = tables.breakdown[tables.breakdown["layer_set"] == "fig15"]
    table = metadata_table(_breakdown(tables)).set_index("design")
    for strategy in contenders(tables):
        ws = 0.0 if strategy == "dense" else 0.5
        sa = 0.5 if strategy in DUAL_PAIR else 0.0
        rows = _at(breakdown[breakdown["strategy"] == strategy], ws, sa)
        row = table.loc[tables.title(strategy)]
        assert row["metadata (uJ)"] == pytest.approx(rows["metadata_uJ"].sum(), abs=0.006)
        total = rows["data_uJ"].sum() + rows["metadata_uJ"].sum()
        assert row["energy (uJ)"] == pytest.approx(total, abs=0.06)
    assert table.loc[tables.title("dense"), "metadata share"] == "0.0%"
