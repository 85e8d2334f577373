"""The HTML report in a real headless Chromium: it renders without console messages and
every chart panel is drawn. Skipped when no Chromium is installed."""

from __future__ import annotations

import pandas as pd
import pytest

from sparsim.report.browser import find_browser, open_page, rendered_charts
from sparsim.report.render import write_report

pytestmark = pytest.mark.skipif(
    find_browser() is None,
    reason="no headless Chromium on PATH (apt-get install chromium) to render the HTML report",
)


def test_report_renders_in_chromium(tmp_path):
    from tests.report.test_report_units import small_report

    report = small_report()
    write_report(report, tmp_path)
    page = open_page(tmp_path / "report.html")
    assert page.console == ()
    charts = rendered_charts(page.dom)
    assert charts == {"edp": (1, 1), "facets": (2, 2), "saving": (1, 1)}


def test_a_broken_page_is_caught(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text(
        '<html><body><figure data-chart="c"><div class="panel" id="c-0"></div></figure>'
        "<script>undefinedFunction()</script></body></html>"
    )
    page = open_page(broken)
    assert any("undefinedFunction" in message for message in page.console)
    assert rendered_charts(page.dom) == {"c": (1, 0)}


def test_heatmap_and_line_charts_draw_in_chromium(tmp_path):
    from sparsim.report.model import Chart, Mark, Report, Section
    from tests.report.test_report_units import heat_chart, heat_frame, small_report

    line = pd.DataFrame({"s": [0.0, 0.5, 0.9], "r": [2.0, 1.0, 0.5], "f": ["a", "a", "b"]})
    charts = (
        heat_chart(heat_frame().assign(panel=["p", "p", "q", "q"]), facet="panel"),
        Chart(
            "line", "Line", line, x="s", y="r", y_label="r", kind="line", marks=(Mark(0.5, "m"),)
        ),
    )
    report = small_report()
    write_report(
        Report(**{**report.__dict__, "sections": (Section("s", charts=charts),)}), tmp_path
    )
    page = open_page(tmp_path / "report.html")
    assert page.console == ()
    assert rendered_charts(page.dom) == {"heat": (2, 2), "line": (1, 1)}
    assert "4.00x SMEM" in page.dom  # the cell annotations are drawn
