"""A :class:`~sparsim.report.model.Chart` drawn twice: as Plotly traces for the HTML
report (hover shows the values) and as a static matplotlib figure (PNG and SVG) for papers.

The Plotly traces are plain JSON built here (no plotly Python import needed); the page
loads ``plotly.min.js`` from the ``plotly`` package, inlined once.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from sparsim.errors import SparsimError
from sparsim.report.model import Chart

# A colour-blind-safe qualitative palette (Okabe and Ito).
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
LOG_TICKS = [m * 10.0**e for e in range(-3, 4) for m in (1, 2, 5)]
MAX_COLUMNS = 2
PANEL_CHARACTERS = 48  # x-label characters that fit one panel untilted
PANEL_WIDTH_IN = 4.2
PANEL_HEIGHT_IN = 3.4


def plotly_js() -> str:
    """The Plotly bundle shipped in the ``plotly`` package (no network at view time)."""
    try:
        bundle = resources.files("plotly").joinpath("package_data", "plotly.min.js")
        return bundle.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        raise SparsimError(
            "the plotly package (which ships plotly.min.js) is not installed; pip install plotly",
            "report.html",
        ) from None


def _categories(values: pd.Series) -> list:
    """Category order as first seen in the table (tables are built in reading order)."""
    return list(dict.fromkeys(values.tolist()))


def _panels(chart: Chart) -> list[tuple[str | None, pd.DataFrame]]:
    if chart.facet is None:
        return [(None, chart.frame)]
    return [
        (value, chart.frame[chart.frame[chart.facet] == value])
        for value in _categories(chart.frame[chart.facet])
    ]


def _groups(chart: Chart, frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if chart.color is None:
        return [(chart.y_label, frame)]
    return [(str(v), frame[frame[chart.color] == v]) for v in _categories(chart.frame[chart.color])]


def _log_label(value: float, _position=None) -> str:
    """Log-axis tick labels at 1, 2 and 5 of each decade only."""
    if value <= 0:
        return ""
    mantissa = round(value / 10 ** math.floor(math.log10(value) + 1e-9), 6)
    return f"{value:g}" if mantissa in (1, 2, 5) else ""


def _crowded(categories: list, panels: int = 1) -> bool:
    """Whether the x labels need tilting to fit ``panels`` panel widths."""
    return sum(len(str(c)) + 2 for c in categories) > panels * PANEL_CHARACTERS


def _hover_text(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:,.4g}"
    return str(value)


def plotly_panels(chart: Chart) -> list[dict]:
    """One Plotly figure (``{"data": [...], "layout": {...}}``) per facet panel."""
    panels = []
    colors = {
        name: PALETTE[i % len(PALETTE)] for i, (name, _) in enumerate(_groups(chart, chart.frame))
    }
    x_order = _categories(chart.frame[chart.x])
    for facet, frame in _panels(chart):
        traces = []
        for name, rows in _groups(chart, frame):
            shown = [c for c in (chart.x, chart.color, chart.y, *chart.hover) if c is not None]
            shown = list(dict.fromkeys(shown))
            custom = [[_hover_text(v) for v in row] for row in rows[shown].itertuples(index=False)]
            template = "<br>".join(f"{c}: %{{customdata[{i}]}}" for i, c in enumerate(shown))
            traces.append(
                {
                    "type": "bar",
                    "name": name,
                    "x": [str(v) for v in rows[chart.x]],
                    "y": [float(v) for v in rows[chart.y]],
                    "customdata": custom,
                    "hovertemplate": template + "<extra></extra>",
                    "marker": {"color": colors[name]},
                    "legendgroup": name,
                    "showlegend": facet is None or facet == _panels(chart)[0][0],
                }
            )
        layout = {
            "title": {
                "text": f"{facet}" if facet is not None else "",
                "font": {"size": 13},
                "x": 0.02,
                "xanchor": "left",
            },
            # relative: negative segments (a saving) stack below zero
            "barmode": "relative" if chart.kind == "stacked" else "group",
            "xaxis": {
                "categoryorder": "array",
                "categoryarray": [str(v) for v in x_order],
                # a lone interactive panel spans the page: twice a facet panel's width
                "tickangle": -30 if _crowded(x_order, 1 if chart.facet else 2) else 0,
                "automargin": True,
            },
            "yaxis": {
                "title": {"text": chart.y_label},
                **(
                    {"type": "log", "tickvals": LOG_TICKS}
                    if chart.log_y
                    else {"rangemode": "tozero"}
                ),
            },
            "margin": {"l": 60, "r": 40, "t": 30, "b": 40},
            "height": 360,
            "legend": {"orientation": "h", "y": -0.25},
            "font": {"family": "system-ui, sans-serif", "size": 12},
        }
        if chart.reference is not None:
            layout["shapes"] = [
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": chart.reference,
                    "y1": chart.reference,
                    "line": {"color": "#555", "dash": "dash", "width": 1},
                }
            ]
        panels.append({"data": traces, "layout": layout})
    return panels


def plotly_json(figure: dict) -> str:
    """JSON safe to place inside a <script> element."""
    return json.dumps(figure, allow_nan=False).replace("</", "<\\/")


def draw_static(chart: Chart, out_dir: Path) -> list[Path]:
    """The chart as ``out_dir/NAME.png`` and ``.svg``."""
    panels = _panels(chart)
    columns = min(len(panels), MAX_COLUMNS)
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(PANEL_WIDTH_IN * columns + 0.8, PANEL_HEIGHT_IN * rows),
        squeeze=False,
    )
    for unused in axes.flat[len(panels) :]:
        unused.set_visible(False)
    groups = _groups(chart, chart.frame)
    x_order = _categories(chart.frame[chart.x])
    positions = np.arange(len(x_order))
    for ax, (facet, frame) in zip(axes.flat, panels, strict=False):
        width = 0.8 if chart.kind == "stacked" else 0.8 / len(groups)
        above, below = np.zeros(len(x_order)), np.zeros(len(x_order))
        for index, (name, rows) in enumerate(_groups(chart, frame)):
            heights = np.zeros(len(x_order))
            for x, y in zip(rows[chart.x], rows[chart.y], strict=True):
                heights[x_order.index(x)] += y
            color = PALETTE[[g for g, _ in groups].index(name) % len(PALETTE)]
            if chart.kind == "stacked":
                bottom = np.where(heights >= 0, above, below)
                ax.bar(positions, heights, width, bottom=bottom, label=name, color=color)
                above += np.maximum(heights, 0)
                below += np.minimum(heights, 0)
            else:
                offset = (index - (len(groups) - 1) / 2) * width
                ax.bar(positions + offset, heights, width, label=name, color=color)
        if chart.log_y:
            ax.set_yscale("log")
            plain = FuncFormatter(_log_label)
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
            ax.tick_params(axis="y", which="minor", labelsize=7)
        if chart.kind == "stacked" and below.any():
            ax.axhline(0, color="#333", linewidth=0.8)
        if chart.reference is not None:
            ax.axhline(chart.reference, color="#555", linestyle="--", linewidth=0.8)
        tilt = _crowded(x_order)
        ax.set_xticks(
            positions,
            [str(x) for x in x_order],
            rotation=30 if tilt else 0,
            ha="right" if tilt else "center",
            fontsize=8,
        )
        ax.set_ylabel(chart.y_label)
        if facet is not None:
            ax.set_title(str(facet), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    figure.suptitle(chart.title, fontsize=11)
    figure.tight_layout()
    if chart.color is not None:
        handles, labels = axes[0][0].get_legend_handles_labels()
        figure.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.0),
            ncol=min(len(labels), 6),
            fontsize=8,
            frameon=False,
        )
    paths = []
    for suffix in (".png", ".svg"):
        path = out_dir / f"{chart.name}{suffix}"
        figure.savefig(
            path,
            dpi=150,
            bbox_inches="tight",
            metadata={"Date": None} if suffix == ".svg" else None,
        )
        paths.append(path)
    plt.close(figure)
    return paths
