"""Static figures: a rerun writes the same bytes (PNG and SVG), and each is drawn without
the extra full draw a leftover layout engine would cost."""

from __future__ import annotations

import matplotlib.figure
import pandas as pd

from sparsim.report.charts import draw_static
from sparsim.report.model import Chart

CHART = Chart(
    name="energy",
    title="Energy against the dense core",
    frame=pd.DataFrame(
        {
            "design": ["TC", "STC", "DSTC"] * 2,
            "energy_vs_dense": [1.0, 0.61, 0.38, 1.0, 0.72, 0.55],
            "layer": ["conv1"] * 3 + ["conv2"] * 3,
        }
    ),
    x="design",
    y="energy_vs_dense",
    y_label="energy / dense",
    facet="layer",
    reference=1.0,
    ratio=True,
)


def test_a_rerun_writes_the_same_files(tmp_path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    drawn = draw_static(CHART, first)
    assert sorted(p.suffix for p in drawn) == [".png", ".svg"]
    draw_static(CHART, second)
    for path in drawn:
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name


def test_each_file_is_drawn_once(tmp_path, monkeypatch) -> None:
    draws = []
    original = matplotlib.figure.Figure.draw

    def counted(self, renderer):
        draws.append(type(renderer).__name__)
        return original(self, renderer)

    monkeypatch.setattr(matplotlib.figure.Figure, "draw", counted)
    draw_static(CHART, tmp_path)
    assert len(draws) == 2, draws  # a leftover layout engine made it two per file
