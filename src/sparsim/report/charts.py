"""A :class:`~sparsim.report.model.Chart` drawn twice: as Plotly traces for the HTML
report (hover shows the values) and as a static matplotlib figure (PNG and SVG) for papers.

The Plotly traces are plain JSON built here (no plotly Python import needed); the page
loads ``plotly.min.js`` from the ``plotly`` package, inlined once.
"""

from __future__ import annotations

import json
import math
import textwrap
from importlib import resources
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap, LogNorm
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sparsim.errors import SparsimError
from sparsim.report.model import RATIO_LOG_SPAN, Chart, Mark

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
# Ratio axes: ticks a reader reads at a glance, wide (log) or narrow (near 1).
LOG_TICKS = [m * 10.0**e for e in range(-3, 4) for m in (1, 2, 5)]
LOG_FILL_TICKS = (0.25, 0.3, 0.4, 0.7, 1.5, 3.0, 4.0)
NEAR_ONE_TICKS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.75, 2.0, 2.5, 3, 3.5, 4)
RATIO_MARGIN = 1.15  # room above and below the extreme bars of a log ratio axis
HBAR_ROW_PX = 24  # a lying bar chart's row height (page)
HBAR_ROW_IN = 0.32  # a lying bar chart's row height (static figure)
HBAR_LABEL_CHARACTER_PX = 6.6
TIGHT_PAD_IN = 0.1  # matplotlib's own pad around a tight box
MAX_COLUMNS = 2
PANEL_CHARACTERS = 48  # x-label characters that fit one panel untilted
PANEL_WIDTH_IN = 4.2
PANEL_HEIGHT_IN = 3.4
MARK_GREY = "#666666"  # marks that belong to no group (a published value)
# Heat maps of ratios: red below the reference, white at it, blue above (ColorBrewer RdBu).
DIVERGING_STOPS = ("#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac")
DIVERGING = [[i / (len(DIVERGING_STOPS) - 1), c] for i, c in enumerate(DIVERGING_STOPS)]
DIVERGING_MPL = LinearSegmentedColormap.from_list("sparsim-ratio", DIVERGING_STOPS)
MIN_LOG_SPAN = 0.05  # a heat map of near-equal ratios still spans 0.89-1.12 x reference
WIDE_TICKS = (0.125, 0.25, 0.5, 1, 2, 4, 8)  # colour-bar ticks of ratios spanning 2x or more
NARROW_TICKS = (0.5, 0.67, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2)
HEATMAP_ROW_PX = 26
TICK_CHARACTER_PX = 6.5  # width of a 12 px tick label character
ROW_LABEL_CHARACTER_PX = 7.2  # a heat map's row labels: digits and capitals run wide
HEATMAP_LABEL_CHARACTERS = 12  # a heat map column label's line
HEATMAP_LABEL_LINE_PX = 14


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


def _crowded(categories: list, panels: int = 1) -> bool:
    """Whether the x labels need tilting to fit ``panels`` panel widths."""
    return sum(len(str(c)) + 2 for c in categories) > panels * PANEL_CHARACTERS


def _hover_text(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:,.4g}"
    return str(value)


def group_colors(chart: Chart) -> dict[str, str]:
    """Each ``color`` group's colour, the same in every panel and in the page's legend."""
    return {
        name: PALETTE[i % len(PALETTE)] for i, (name, _) in enumerate(_groups(chart, chart.frame))
    }


def _hover(chart: Chart, rows: pd.DataFrame, first: tuple[str | None, ...]) -> tuple[list, str]:
    """(customdata, hovertemplate) showing ``first`` then every hover column."""
    shown = list(dict.fromkeys(c for c in (*first, *chart.hover) if c is not None))
    custom = [[_hover_text(v) for v in row] for row in rows[shown].itertuples(index=False)]
    template = "<br>".join(f"{chart.label(c)}: %{{customdata[{i}]}}" for i, c in enumerate(shown))
    return custom, template + "<extra></extra>"


def ratio_axis(chart: Chart) -> tuple[bool, float, float, list[float]]:
    """A ratio chart's value axis, shared by its panels: (logarithmic, low, high, ticks).
    Logarithmic when the values (and the reference) span more than
    :data:`RATIO_LOG_SPAN`; the range always holds the reference and at least three
    ticks, so a panel of values all at 1 still reads."""
    values = chart.frame[chart.y].to_numpy(dtype=float)
    reference = float(chart.reference)
    low, high = min(values.min(), reference), max(values.max(), reference)
    if high / low > RATIO_LOG_SPAN:
        low, high = low / RATIO_MARGIN, high * RATIO_MARGIN
        ticks = [t for t in LOG_TICKS if low <= t <= high]
        if len(ticks) < 4:  # less than a decade and a half: finer steps
            ticks = sorted({*ticks, *(t for t in LOG_FILL_TICKS if low <= t <= high)})
        return True, low, high, ticks
    pad = max(0.08 * (high - low), 0.05 * reference)
    low, high = max(low - pad, 0.0), high + pad
    ticks = [t for t in NEAR_ONE_TICKS if low <= t <= high]
    while len(ticks) < 3:
        low, high = max(low - pad, 0.0), high + pad
        ticks = [t for t in NEAR_ONE_TICKS if low <= t <= high]
    return False, low, high, ticks


def _series_traces(chart: Chart, frame: pd.DataFrame, colors: dict[str, str]) -> list[dict]:
    """One trace per ``color`` group: bars on a category axis, or a line through the
    points of a numeric one (``kind="line"``)."""
    line = chart.kind == "line"
    base = float(chart.reference) if chart.ratio else 0.0
    traces = []
    for name, rows in _groups(chart, frame):
        rows = rows.sort_values(chart.x) if line else rows
        custom, template = _hover(chart, rows, (chart.x, chart.color, chart.y))
        categories = [float(v) if line else str(v) for v in rows[chart.x]]
        values = [float(v) - base for v in rows[chart.y]]
        trace = {
            "type": "scatter" if line else "bar",
            "name": name,
            "x": categories,
            "y": values,
            "customdata": custom,
            "hovertemplate": template,
            "marker": {"color": colors[name]} | ({"size": 6} if line else {}),
        }
        if chart.ratio:
            trace["base"] = base
        if chart.kind == "hbar":
            trace |= {"x": values, "y": categories, "orientation": "h"}
        if line:
            trace |= {"mode": "lines+markers", "line": {"color": colors[name], "width": 2}}
        traces.append(trace)
    return traces


def _mark_colour(mark: Mark, colors: dict[str, str]) -> str:
    return colors.get(mark.color, MARK_GREY) if mark.color is not None else MARK_GREY


def _panel_marks(chart: Chart, facet: str | None) -> list[Mark]:
    return [m for m in chart.marks if m.facet is None or m.facet == facet]


def _mark_shapes(chart: Chart, facet, colors: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """Plotly shapes (vertical lines) and annotations (their labels) of a panel's marks."""
    shapes, notes = [], []
    for index, mark in enumerate(_panel_marks(chart, facet)):
        colour = _mark_colour(mark, colors)
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": mark.x,
                "x1": mark.x,
                "y0": 0,
                "y1": 1,
                "line": {"color": colour, "dash": "dot", "width": 1.5},
            }
        )
        notes.append(
            {
                "x": mark.x,
                "xref": "x",
                "yref": "paper",
                "y": 1 - 0.09 * index,
                "text": mark.label,
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
                "font": {"color": colour, "size": 11},
                "bgcolor": "rgba(255,255,255,0.8)",
            }
        )
    return shapes, notes


def heatmap_scale(chart: Chart) -> tuple[float, float] | None:
    """A heat map's colour range in log10 units, centred on log10(reference) and shared
    by every panel (None without a reference: each value's own linear scale)."""
    if chart.reference is None:
        return None
    logs = np.log10(chart.frame[chart.value].to_numpy(dtype=float) / chart.reference)
    span = max(float(np.abs(logs).max()), MIN_LOG_SPAN)
    centre = math.log10(chart.reference)
    return centre - span, centre + span


def _ratio_ticks(low: float, high: float) -> list[float]:
    ticks = WIDE_TICKS if high - low >= 2 * math.log10(2) else NARROW_TICKS
    return [t for t in ticks if low - 1e-9 <= math.log10(t) <= high + 1e-9]


def _cells(chart: Chart, frame: pd.DataFrame) -> tuple[list, list, np.ndarray, list, pd.DataFrame]:
    """(columns, rows, values, texts, rows of the frame in cell order) of a heat map panel;
    a missing cell is NaN with no text."""
    columns = [str(v) for v in _categories(chart.frame[chart.x])]
    rows = [str(v) for v in _categories(frame[chart.y])]
    cells = frame.assign(_x=frame[chart.x].astype(str), _y=frame[chart.y].astype(str))
    cells = cells.set_index(["_y", "_x"]).reindex(pd.MultiIndex.from_product([rows, columns]))
    values = cells[chart.value].to_numpy(dtype=float).reshape(len(rows), len(columns))
    if chart.text is None:
        texts = [["" if math.isnan(v) else f"{v:.3g}" for v in row] for row in values]
    else:
        labels = cells[chart.text].to_numpy(dtype=object).reshape(len(rows), len(columns))
        texts = [["" if pd.isna(t) else str(t) for t in row] for row in labels]
    return columns, rows, values, texts, cells


def _heatmap_trace(chart: Chart, frame: pd.DataFrame) -> dict:
    columns, rows, values, texts, cells = _cells(chart, frame)
    scale = heatmap_scale(chart)
    shown = list(
        dict.fromkeys(c for c in (chart.y, chart.x, chart.value, chart.text, *chart.hover) if c)
    )
    custom = [
        [[_hover_text(v) if not pd.isna(v) else "-" for v in cell] for cell in row]
        for row in cells[shown].to_numpy(dtype=object).reshape(len(rows), len(columns), len(shown))
    ]
    trace = {
        "type": "heatmap",
        "x": columns,
        "y": rows,
        "text": texts,
        "texttemplate": "%{text}",
        "textfont": {"size": 10},
        "customdata": custom,
        "hovertemplate": "<br>".join(
            f"{chart.label(c)}: %{{customdata[{i}]}}" for i, c in enumerate(shown)
        )
        + "<extra></extra>",
        "xgap": 1,
        "ygap": 1,
        "colorbar": {"title": {"text": chart.y_label, "side": "right"}, "thickness": 12},
    }
    if scale is None:
        trace |= {"z": _json_matrix(values), "colorscale": "Viridis"}
    else:
        ticks = _ratio_ticks(*scale)
        trace |= {
            "z": _json_matrix(np.log10(values)),
            "zmin": scale[0],
            "zmax": scale[1],
            "colorscale": DIVERGING,
            "colorbar": trace["colorbar"]
            | {"tickvals": [math.log10(t) for t in ticks], "ticktext": [f"{t:g}" for t in ticks]},
        }
    return trace


def _json_matrix(values: np.ndarray) -> list[list[float | None]]:
    return [[None if math.isnan(v) else float(v) for v in row] for row in values]


def _axes_layout(chart: Chart, x_order: list, facet) -> dict:
    if chart.kind == "heatmap":
        columns = [str(v) for v in x_order]
        rows = len(_categories(chart.frame[chart.y]))
        return {
            "xaxis": {
                "side": "top",
                "tickvals": columns,
                "ticktext": ["<br>".join(_wrapped(c)) for c in columns],
                "tickfont": {"size": 10},
            },
            "yaxis": {"autorange": "reversed"},
            "height": _header_px(columns) + 20 + HEATMAP_ROW_PX * rows,
        }
    y_axis: dict = {"title": {"text": chart.y_label}}
    if chart.ratio:
        log, low, high, ticks = ratio_axis(chart)
        y_axis |= {
            "type": "log" if log else "linear",
            "range": [math.log10(low), math.log10(high)] if log else [low, high],
            "tickvals": ticks,
            "ticktext": [f"{t:g}" for t in ticks],
        }
    else:
        y_axis["rangemode"] = "tozero"
    if chart.kind == "hbar":
        rows = [str(v) for v in x_order]
        groups = len(_categories(chart.frame[chart.color])) if chart.color else 1
        return {
            "xaxis": y_axis | {"zeroline": True},
            "yaxis": {"categoryorder": "array", "categoryarray": rows, "autorange": "reversed"},
            "height": 70 + round(HBAR_ROW_PX * len(rows) * max(1.0, groups / 2)),
        }
    if chart.kind == "line":
        x_axis = {"title": {"text": chart.x_label}, "automargin": True, "zeroline": False}
        if chart.x_percent:
            x_axis["tickformat"] = ".0%"
        return {"xaxis": x_axis, "yaxis": y_axis, "height": 360}
    x_axis = {
        "categoryorder": "array",
        "categoryarray": [str(v) for v in x_order],
        # a lone interactive panel spans the page: twice a facet panel's width
        "tickangle": -30 if _crowded(x_order, 1 if chart.facet else 2) else 0,
        "automargin": True,
    }
    return {"xaxis": x_axis, "yaxis": y_axis, "height": 360}


def _wrapped(label: str) -> list[str]:
    """A heat map's column label in lines that fit a narrow column."""
    return textwrap.wrap(label, HEATMAP_LABEL_CHARACTERS) or [label]


def _header_px(columns: list[str]) -> int:
    """A heat map's top margin: the panel title, then the wrapped column labels."""
    return 30 + HEATMAP_LABEL_LINE_PX * max(len(_wrapped(c)) for c in columns)


def _margins(chart: Chart, x_order: list) -> dict[str, int]:
    """Room for tilted category labels, set up front: Plotly's automargin grows the
    margins only after a first draw, which a page's first paint can catch clipped. A
    label tilted 30 degrees reaches down by half its length and left by most of it."""
    if chart.kind == "heatmap":
        rows = _categories(chart.frame[chart.y])
        return {
            "l": 24 + round(ROW_LABEL_CHARACTER_PX * max(len(str(r)) for r in rows)),
            "r": 110,  # the colour bar and its title
            "t": _header_px([str(v) for v in x_order]),
            "b": 20,
        }
    margins = {"l": 60, "r": 50, "t": 40, "b": 40}
    if chart.kind == "hbar":
        longest = max(len(str(x)) for x in x_order)
        margins["l"] = 20 + round(HBAR_LABEL_CHARACTER_PX * longest)
        return margins
    tilted = chart.kind in ("bar", "stacked") and _crowded(x_order, 1 if chart.facet else 2)
    if tilted:
        longest = max(len(str(x)) for x in x_order) * TICK_CHARACTER_PX
        first = len(str(x_order[0])) * TICK_CHARACTER_PX
        margins["b"] += round(longest * math.sin(math.radians(30)))
        margins["l"] = max(margins["l"], round(first * math.cos(math.radians(30))))
    return margins


def plotly_panels(chart: Chart) -> list[dict]:
    """One Plotly figure (``{"data": [...], "layout": {...}}``) per facet panel. The page
    draws one legend per chart (:func:`group_colors`), so the panels draw none."""
    panels = []
    colors = group_colors(chart)
    x_order = _categories(chart.frame[chart.x])
    for facet, frame in _panels(chart):
        if chart.kind == "heatmap":
            traces = [_heatmap_trace(chart, frame)]
        else:
            traces = _series_traces(chart, frame, colors)
        layout = {
            "title": {
                "text": f"{facet}" if facet is not None else "",
                "font": {"size": 13},
                "x": 0.02,
                "xanchor": "left",
                # above a heat map's column labels, not among them
                **({"y": 0.995, "yanchor": "top"} if chart.kind == "heatmap" else {}),
            },
            # relative: negative segments (a saving) stack below zero
            "barmode": "relative" if chart.kind == "stacked" else "group",
            **_axes_layout(chart, x_order, facet),
            "margin": _margins(chart, x_order),
            # the tool bar stands on the right edge, clear of the panel's title
            "modebar": {"orientation": "v"},
            "showlegend": False,
            "font": {"family": "system-ui, sans-serif", "size": 12},
        }
        shapes, notes = _mark_shapes(chart, facet, colors)
        if chart.reference is not None and chart.kind == "hbar":
            shapes.append(
                {
                    "type": "line",
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "x0": chart.reference,
                    "x1": chart.reference,
                    "line": {"color": "#555", "dash": "dash", "width": 1},
                }
            )
        elif chart.reference is not None and chart.kind != "heatmap":
            shapes.append(
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": chart.reference,
                    "y1": chart.reference,
                    "line": {"color": "#555", "dash": "dash", "width": 1},
                }
            )
        if shapes:
            layout["shapes"] = shapes
        if notes:
            layout["annotations"] = notes
        panels.append({"data": traces, "layout": layout})
    return panels


def plotly_json(figure: dict) -> str:
    """JSON safe to place inside a <script> element."""
    return json.dumps(figure, allow_nan=False).replace("</", "<\\/")


def _draw_bars(chart: Chart, ax, frame: pd.DataFrame, colors: dict[str, str]) -> None:
    x_order = _categories(chart.frame[chart.x])
    positions = np.arange(len(x_order))
    groups = list(colors)
    width = 0.8 if chart.kind == "stacked" else 0.8 / len(groups)
    above, below = np.zeros(len(x_order)), np.zeros(len(x_order))
    base = float(chart.reference) if chart.ratio else 0.0
    for name, rows in _groups(chart, frame):
        heights = np.zeros(len(x_order))
        present = np.zeros(len(x_order), dtype=bool)
        for x, y in zip(rows[chart.x], rows[chart.y], strict=True):
            heights[x_order.index(x)] += y
            present[x_order.index(x)] = True
        if chart.kind == "stacked":
            bottom = np.where(heights >= 0, above, below)
            ax.bar(positions, heights, width, bottom=bottom, label=name, color=colors[name])
            above += np.maximum(heights, 0)
            below += np.minimum(heights, 0)
        else:
            offset = (groups.index(name) - (len(groups) - 1) / 2) * width
            lengths = np.where(present, heights - base, 0.0)
            draw = ax.barh if chart.kind == "hbar" else ax.bar
            draw(positions + offset, lengths, width, base, label=name, color=colors[name])
    if chart.kind == "stacked" and below.any():
        ax.axhline(0, color="#333", linewidth=0.8)
    if chart.kind == "hbar":
        ax.set_yticks(positions, [str(x) for x in x_order], fontsize=8)
        ax.invert_yaxis()
        return
    tilt = _crowded(x_order)
    ax.set_xticks(
        positions,
        [str(x) for x in x_order],
        rotation=30 if tilt else 0,
        ha="right" if tilt else "center",
        fontsize=8,
    )


def _draw_lines(chart: Chart, ax, facet, frame: pd.DataFrame, colors: dict[str, str]) -> None:
    for name, rows in _groups(chart, frame):
        rows = rows.sort_values(chart.x)
        ax.plot(
            rows[chart.x], rows[chart.y], marker="o", markersize=3.5, label=name, color=colors[name]
        )
    for index, mark in enumerate(_panel_marks(chart, facet)):
        colour = _mark_colour(mark, colors)
        ax.axvline(mark.x, color=colour, linestyle=":", linewidth=1.2)
        ax.annotate(
            mark.label,
            (mark.x, 1 - 0.08 * index),
            xycoords=("data", "axes fraction"),
            xytext=(3, -3),
            textcoords="offset points",
            va="top",
            fontsize=7,
            color=colour,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5},
        )
    if chart.x_percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(chart.x_label, fontsize=8)


def _draw_heatmap(chart: Chart, ax, figure, frame: pd.DataFrame) -> None:
    columns, rows, values, texts, _ = _cells(chart, frame)
    scale = heatmap_scale(chart)
    if scale is None:
        image = ax.imshow(values, cmap="viridis", aspect="auto")
        colorbar = figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    else:
        low, high = (10**v for v in scale)
        norm = LogNorm(low, high)
        image = ax.imshow(values, cmap=DIVERGING_MPL, norm=norm, aspect="auto")
        colorbar = figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
        ticks = _ratio_ticks(*scale)
        colorbar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
        colorbar.ax.minorticks_off()
    colorbar.set_label(chart.y_label, fontsize=8)
    for i, row in enumerate(texts):
        for j, text in enumerate(row):
            if text:
                dark = scale is not None and abs(math.log10(values[i, j])) > 0.6 * (
                    scale[1] - math.log10(chart.reference)
                )
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if dark else "black",
                )
    ax.set_xticks(range(len(columns)), ["\n".join(_wrapped(c)) for c in columns], fontsize=7)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(rows)), rows, fontsize=7)


def _figure_size(chart: Chart, panels: int) -> tuple[int, int, tuple[float, float]]:
    columns = min(panels, MAX_COLUMNS)
    rows = math.ceil(panels / columns)
    if chart.kind == "hbar":
        groups = len(_categories(chart.frame[chart.color])) if chart.color else 1
        categories = len(_categories(chart.frame[chart.x]))
        height = 1.2 + HBAR_ROW_IN * categories * max(1.0, groups / 2)
        return rows, columns, (2 * PANEL_WIDTH_IN * columns, height * rows)
    if chart.kind == "heatmap":
        cells = len(_categories(chart.frame[chart.x]))
        height = 1.6 + 0.24 * len(_categories(chart.frame[chart.y]))
        width = 2.4 + 1.15 * cells
        return rows, columns, (width * columns, height * rows)
    return rows, columns, (PANEL_WIDTH_IN * columns + 0.8, PANEL_HEIGHT_IN * rows)


def draw_static(chart: Chart, out_dir: Path) -> list[Path]:
    """The chart as ``out_dir/NAME.png`` and ``.svg``."""
    panels = _panels(chart)
    rows, columns, size = _figure_size(chart, len(panels))
    figure, axes = plt.subplots(rows, columns, figsize=size, squeeze=False)
    for unused in axes.flat[len(panels) :]:
        unused.set_visible(False)
    colors = group_colors(chart)
    for ax, (facet, frame) in zip(axes.flat, panels, strict=False):
        if chart.kind == "heatmap":
            _draw_heatmap(chart, ax, figure, frame)
        else:
            if chart.kind == "line":
                _draw_lines(chart, ax, facet, frame, colors)
            else:
                _draw_bars(chart, ax, frame, colors)
            value_axis = ax.xaxis if chart.kind == "hbar" else ax.yaxis
            if chart.ratio:
                log, low, high, ticks = ratio_axis(chart)
                if log:
                    (ax.set_xscale if chart.kind == "hbar" else ax.set_yscale)("log")
                (ax.set_xlim if chart.kind == "hbar" else ax.set_ylim)(low, high)
                value_axis.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
                value_axis.set_minor_formatter(FuncFormatter(lambda *_: ""))
            if chart.reference is not None:
                line = ax.axvline if chart.kind == "hbar" else ax.axhline
                line(chart.reference, color="#555", linestyle="--", linewidth=0.8)
            (ax.set_xlabel if chart.kind == "hbar" else ax.set_ylabel)(chart.y_label)
            ax.grid(axis="x" if chart.kind == "hbar" else "y", alpha=0.3)
        if facet is not None:
            ax.set_title(str(facet), fontsize=10)
    figure.suptitle(chart.title, fontsize=11)
    figure.tight_layout()
    # tight_layout leaves a placeholder layout engine behind, for which every savefig
    # draws the whole figure once more before drawing it into the file: none is needed.
    figure.set_layout_engine(None)
    if chart.color is not None and chart.kind != "heatmap":
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
    # the tight box measured once for both formats (each "tight" save draws twice)
    renderer = figure.canvas.get_renderer()
    box = figure.get_tightbbox(renderer).padded(TIGHT_PAD_IN)
    for suffix in (".png", ".svg"):
        path = out_dir / f"{chart.name}{suffix}"
        # SVG text stays text (editable in a paper, half the size of glyph outlines); a
        # fixed salt gives the SVG's element ids from its content, so a rerun writes the
        # same file
        with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "sparsim"}):
            figure.savefig(
                path,
                dpi=150,
                bbox_inches=box,
                metadata={"Date": None} if suffix == ".svg" else None,
            )
        paths.append(path)
    plt.close(figure)
    return paths
