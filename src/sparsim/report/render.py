"""A :class:`~sparsim.report.model.Report` as Markdown and as one self-contained HTML page
(styles, the Plotly bundle and every chart's data inline: it opens offline), plus static
PNG/SVG figures; written all or nothing by the caller's atomic output directory."""

from __future__ import annotations

import html
import math
import re
from itertools import repeat
from pathlib import Path

import pandas as pd

from sparsim.processes import pool_of
from sparsim.report.charts import (
    draw_static,
    group_colors,
    plotly_js,
    plotly_json,
    plotly_panels,
)
from sparsim.report.model import VERDICTS, Chart, Report, Table

FIGURES = "figures"
VERDICT_COLOURS = {
    "agree": "#1b7837",
    "partly": "#b35806",
    "disagree": "#b2182b",
    "not modelled": "#4d4d8f",
    "not testable": "#595959",
}
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1180px;margin:1.5em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
h3{margin-bottom:.3em}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{color:#fff;border-radius:3px;padding:.05em .45em;font-weight:600;white-space:nowrap}
.counts span{margin-right:1em}.meta{color:#555;font-size:.9em}
.bottom{font-size:1.05em;background:#f4f7fb;border-left:4px solid #2166ac;padding:.4em .7em}
.against{margin:.3em 0 .6em;padding-left:1.2em}.against li{margin:.15em 0}
.rule{display:block;color:#555;font-size:.85em;white-space:nowrap}
.figure{margin:1em 0 1.6em}.panels{display:flex;flex-wrap:wrap;gap:.5em}
.panel{flex:0 1 calc(50% - .25em);min-width:420px}.panel.wide{flex:1 1 100%}
.caption{color:#444;font-size:.9em}
.legend{display:flex;flex-wrap:wrap;gap:.2em 1.1em;font-size:.85em;margin:.2em 0 .4em}
.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.35em;vertical-align:-.1em;
border-radius:2px}
code{background:#f5f5f5;padding:0 .2em}
"""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _cell(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _markdown_table(frame: pd.DataFrame) -> str:
    def row(cells) -> str:
        return "| " + " | ".join(_cell(c).replace("|", "\\|") for c in cells) + " |"

    lines = [row(frame.columns), "| " + " | ".join("---" for _ in frame.columns) + " |"]
    lines += [row(values) for values in frame.itertuples(index=False)]
    return "\n".join(lines)


def _verdict_badge(verdict: str) -> str:
    colour = VERDICT_COLOURS[verdict]
    return f'<span class="verdict" style="background:{colour}">{html.escape(verdict)}</span>'


def _html_table(frame: pd.DataFrame, verdict_column: str | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for values in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, values, strict=True):
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if column == verdict_column:
                verdict, _, rule = str(value).partition(" (")
                text = _verdict_badge(verdict) + (
                    f'<span class="rule">{html.escape(rule.removesuffix(")"))}</span>'
                    if rule
                    else ""
                )
            else:
                text = html.escape(_cell(value))
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def conclusions_frame(report: Report) -> pd.DataFrame:
    """The claims table as a reader sees it; the verdict cell carries its rule's numbers
    ("agree (within 10 percentage points)", "partly (3 of 4)")."""
    return pd.DataFrame(
        {
            "claim": [c.claim for c in report.conclusions],
            "source": [c.source for c in report.conclusions],
            "published": [c.paper for c in report.conclusions],
            "sparsim": [c.sparsim for c in report.conclusions],
            "verdict": [
                c.verdict if c.verdict == c.evidence.short else f"{c.verdict} ({c.evidence.short})"
                for c in report.conclusions
            ],
            "why": [c.why for c in report.conclusions],
        }
    )


def _counts_text(report: Report) -> str:
    counts = report.verdict_counts()
    return ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])


def against(report: Report) -> list[str]:
    """One line per claim sparsim disagrees with: the first screen shows them all."""
    return [
        f"{c.claim} ({c.source}): published {c.paper}; sparsim {c.sparsim}."
        for c in report.conclusions
        if c.verdict == "disagree"
    ]


def _sources_text(report: Report) -> list[str]:
    return [
        f"{citation.role[:1].upper()}{citation.role[1:]}: {citation.text()}"
        + (f" ({citation.url})" if citation.url else "")
        + "."
        for citation in report.published
    ]


RULES_TEXT = (
    "Each verdict is computed from the two numbers by its rule: a published number agrees "
    "within the stated tolerance, partly when further off but on the same side of the "
    "stated reference (e.g. both a saving); a statement tested case by case agrees when it "
    "holds in every case, partly in more than half, and disagrees in half or fewer; not "
    "modelled: sparsim has no model of it; not testable: this run has no number for it."
)


def render_markdown(report: Report) -> str:
    lines = [f"# {report.title}", "", report.lead, ""]
    if report.bottom_line:
        lines += [f"**Bottom line.** {report.bottom_line}", ""]
    lines += [f"## Claims checked ({_counts_text(report)})", ""]
    disagreements = against(report)
    if disagreements:
        lines += ["sparsim disagrees with:", ""] + [f"- {line}" for line in disagreements] + [""]
    lines += [
        RULES_TEXT,
        "",
        _markdown_table(conclusions_frame(report)),
        "",
        *(line for source in _sources_text(report) for line in (source, "")),
        "## What was modelled",
        "",
    ]
    for table in report.modelled:
        lines += _markdown_block(table)
    lines += ["## Assumptions", ""] + [f"- {a}" for a in report.assumptions] + [""]
    for section in report.sections:
        lines += [f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        for chart in section.charts:
            caption = chart.caption or chart.title
            lines += [f"![{chart.title}]({FIGURES}/{chart.name}.png)", "", f"*{caption}*", ""]
        for table in section.tables:
            lines += _markdown_block(table)
    lines += [
        "## Reproduce",
        "",
        f"From this folder: `{report.rerun.command}` ({report.rerun.text()}).",
        "",
    ]
    if report.files:
        lines += ["## Files", "", ", ".join(f"`{f}`" for f in report.files), ""]
    return "\n".join(lines)


def _markdown_block(table: Table) -> list[str]:
    lines = [f"### {table.title}", "", _markdown_table(table.frame), ""]
    if table.note:
        lines += [table.note, ""]
    return lines


def _html_block(table: Table) -> str:
    note = f'<p class="caption">{html.escape(table.note)}</p>' if table.note else ""
    verdicts = "verdict" if "verdict" in table.frame.columns else None
    return f"<h3>{html.escape(table.title)}</h3>{_html_table(table.frame, verdicts)}{note}"


# Plotly.newPlot(element, {data, layout, config}): the config rides in the figure object
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"],
}


def _html_legend(chart: Chart) -> str:
    """One legend per chart, above its panels (the panels draw none)."""
    if chart.color is None or chart.kind == "heatmap":
        return ""
    keys = "".join(
        f'<span><i style="background:{colour}"></i>{html.escape(name)}</span>'
        for name, colour in group_colors(chart).items()
    )
    return f'<div class="legend">{keys}</div>'


def _html_chart(chart: Chart) -> str:
    panels = []
    scripts = []
    figures = plotly_panels(chart)
    width = "panel" if len(figures) > 1 else "panel wide"
    for index, figure in enumerate(figures):
        element = f"{chart.name}-{index}"
        panels.append(f'<div class="{width}" id="{element}"></div>')
        # a heat map needs no zoom, and its tool bar would cover the colour bar
        tools = {"displayModeBar": False} if chart.kind == "heatmap" else {}
        config = {**figure, "config": PLOTLY_CONFIG | tools}
        scripts.append(f'Plotly.newPlot("{element}",{plotly_json(config)});')
    caption = html.escape(chart.caption or "")
    return (
        f'<figure class="figure" id="{chart.name}" data-chart="{chart.name}">'
        f"<h3>{html.escape(chart.title)}</h3>{_html_legend(chart)}"
        f'<div class="panels">{"".join(panels)}</div>'
        f'<figcaption class="caption">{caption} Static: <code>{FIGURES}/{chart.name}.png</code>'
        f", <code>.svg</code>.</figcaption>"
        f"<script>{''.join(scripts)}</script></figure>"
    )


def render_html(report: Report) -> str:
    title = html.escape(report.title)
    sources = []
    for citation in report.published:
        text = html.escape(citation.text())
        if citation.url:
            url = html.escape(citation.url)
            text += f' (<a href="{url}">{url}</a>)'
        role = html.escape(citation.role[:1].upper() + citation.role[1:])
        sources.append(f"{role}: {text}.")
    disagreements = against(report)
    body = [
        f"<h1>{title}</h1>",
        f"<p>{html.escape(report.lead)}</p>",
        f'<p class="meta">{"<br>".join(sources)}</p>',
    ]
    if report.bottom_line:
        body.append(f'<p class="bottom"><b>Bottom line.</b> {html.escape(report.bottom_line)}</p>')
    body.append(f'<h2 id="conclusions">Claims checked ({html.escape(_counts_text(report))})</h2>')
    if disagreements:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in disagreements)
        body.append(
            f'<p>sparsim {_verdict_badge("disagree")} with:</p><ul class="against">{items}</ul>'
        )
    body += [
        f'<p class="caption">{html.escape(RULES_TEXT)}</p>',
        _html_table(conclusions_frame(report), verdict_column="verdict"),
        '<h2 id="modelled">What was modelled</h2>',
        *(_html_block(table) for table in report.modelled),
        '<h2 id="assumptions">Assumptions</h2><ul>',
        *(f"<li>{html.escape(a)}</li>" for a in report.assumptions),
        "</ul>",
    ]
    for section in report.sections:
        body.append(f'<h2 id="{_slug(section.title)}">{html.escape(section.title)}</h2>')
        body += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
        body += [_html_chart(chart) for chart in section.charts]
        body += [_html_block(table) for table in section.tables]
    body.append(
        f'<h2 id="reproduce">Reproduce</h2><p>From this folder: '
        f"<code>{html.escape(report.rerun.command)}</code> "
        f"({html.escape(report.rerun.text())}).</p>"
    )
    if report.files:
        files = ", ".join(f"<code>{html.escape(f)}</code>" for f in report.files)
        body.append(f'<h2 id="files">Files</h2><p>{files}</p>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style>"
        f"<script>{plotly_js()}</script></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _texts(report: Report) -> tuple[tuple[str, str], ...]:
    return (("report.md", render_markdown(report)), ("report.html", render_html(report)))


def write_report(report: Report, out_dir: Path, jobs: int = 1) -> list[Path]:
    """``report.md``, ``report.html`` and ``figures/NAME.png|.svg`` into ``out_dir``
    (the caller's scratch directory of :func:`sparsim.io.atomic_output_dir`); the static
    figures are drawn in ``jobs`` worker processes (drawing is most of a report's time)."""
    figures = out_dir / FIGURES
    figures.mkdir(parents=True, exist_ok=True)
    paths = []
    if jobs > 1 and len(report.charts) > 1:
        with pool_of(min(jobs, len(report.charts))) as pool:
            drawing = pool.map(draw_static, report.charts, repeat(figures))  # all submitted
            texts = _texts(report)  # rendered while the workers draw
            for drawn in drawing:
                paths += drawn
    else:
        for chart in report.charts:
            paths += draw_static(chart, figures)
        texts = _texts(report)
    for name, text in texts:
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
