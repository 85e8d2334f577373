"""The content of a study's report, independent of its format.

One :class:`Report` is rendered to Markdown and to a self-contained HTML page
(:mod:`sparsim.report.render`), so the two cannot say different things. Its order is the
order an architect reads in: the conclusions on one screen (each with its key number, the
published study's number, a verdict and why), what was modelled, the assumptions, then one
section per question with its figure. Every number comes from the study's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sparsim.errors import SparsimError
from sparsim.report.verdicts import Evidence

VERDICTS = ("agree", "partly", "disagree", "not modelled", "not testable")
RATIO_LOG_SPAN = 4.0  # ratio charts whose values span more than this use a log axis
# Results-schema columns in a reader's words (hover texts); charts add their own.
COLUMN_WORDS = {
    "energy_uJ": "energy (uJ)",
    "cycles": "cycles",
    "edp_J_cycles": "EDP (J x cycles)",
    "bounding_level": "cycles bound by",
    "energy_vs_dense": "energy / dense",
    "speedup_vs_dense": "speed-up over dense",
    "edp_vs_dense": "EDP / dense",
    "total_density": "share of MACs effectual",
    "performed": "MACs performed",
    "algorithmic": "MACs of the dense layer",
}
CHART_KINDS = ("bar", "hbar", "stacked", "line", "heatmap")


@dataclass(frozen=True)
class Citation:
    """A published document a report draws on; ``role`` says what it gives the report
    (its claims, or the hardware and layers)."""

    authors: str
    title: str
    venue: str
    url: str = ""
    role: str = "claims"

    def text(self) -> str:
        return f"{self.authors}, \u201c{self.title}\u201d, {self.venue}"


@dataclass(frozen=True)
class Conclusion:
    """One claim of a published document against sparsim's number. The verdict is not
    given: it follows from ``evidence`` by its rule (:mod:`sparsim.report.verdicts`)."""

    key: str
    claim: str  # the claim, in sparsim's words
    source: str  # document and figure or section
    paper: str  # the published number (unit, what it is measured on)
    sparsim: str  # sparsim's number on the same kind of thing
    evidence: Evidence
    why: str
    section: str = ""  # title of the section that shows it

    @property
    def verdict(self) -> str:
        return self.evidence.verdict


@dataclass(frozen=True)
class Mark:
    """A vertical line across a line chart at ``x`` (a break-even, a crossing, a
    published threshold), labelled; drawn in ``color``'s colour when it names one of the
    chart's groups (grey otherwise), only in panel ``facet`` when given."""

    x: float
    label: str
    color: str | None = None
    facet: str | None = None


@dataclass(frozen=True)
class Chart:
    """A chart of a tidy table, one panel per ``facet`` value, rendered interactive (hover
    shows every ``hover`` column) and as PNG/SVG. Kinds:

    * ``bar``: ``y`` per ``x`` category, one bar per ``color`` value; with ``ratio`` the
      bars grow from ``reference`` (1: no change) and the axis is logarithmic when the
      values span more than :data:`RATIO_LOG_SPAN`, linear otherwise;
    * ``hbar``: the same lying down, ``x`` categories as rows (long labels read well);
    * ``stacked``: the same with one stacked segment per ``color`` value;
    * ``line``: ``y`` against a numeric ``x``, one line per ``color`` value, with
      ``marks`` (vertical lines) at the points worth reading off;
    * ``heatmap``: ``x`` categories as columns, ``y`` categories as rows, each cell
      coloured by ``value`` and annotated with its ``text`` column. With a ``reference``
      the colours are a diverging scale centred on it, logarithmic (for ratios).
    """

    name: str  # file stem, unique in the report
    title: str
    frame: pd.DataFrame
    x: str
    y: str
    y_label: str  # the heat map's colour scale title for kind="heatmap"
    color: str | None = None
    facet: str | None = None
    kind: str = "bar"
    caption: str = ""
    hover: tuple[str, ...] = ()
    reference: float | None = None  # a horizontal line (e.g. 1.0 on a ratio axis)
    ratio: bool = False  # bars from the reference; log axis for wide ranges
    value: str | None = None  # heatmap: the column colouring the cells
    text: str | None = None  # heatmap: the column annotating the cells
    x_label: str = ""  # line: the x axis title
    x_percent: bool = False  # line: x holds fractions, shown as percentages
    marks: tuple[Mark, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()  # (column, words with unit) for hover texts

    def label(self, column: str) -> str:
        """What a reader sees for ``column``: its words, never a raw column name."""
        return dict(self.labels).get(column, COLUMN_WORDS.get(column, column))

    def __post_init__(self) -> None:
        where = f"chart {self.name}"
        if self.kind not in CHART_KINDS:
            raise SparsimError(f"unknown chart kind {self.kind!r}", where)
        needed = [self.x, self.y, self.color, self.facet, self.value, self.text, *self.hover]
        missing = [c for c in needed if c is not None and c not in self.frame.columns]
        if missing:
            raise SparsimError(f"no column {missing[0]!r} in its table", where)
        if self.frame.empty:
            raise SparsimError("has no rows to plot", where)
        if self.kind == "heatmap":
            self._check_heatmap(where)
        elif self.ratio and (self.reference is None or not (self.frame[self.y] > 0).all()):
            raise SparsimError("a ratio chart needs a reference and positive values", where)
        if self.kind == "line" and not pd.api.types.is_numeric_dtype(self.frame[self.x]):
            raise SparsimError(f"a line chart needs a numeric x, {self.x!r} is not", where)
        if self.marks and self.kind != "line":
            raise SparsimError("marks are drawn on line charts only", where)

    def _check_heatmap(self, where: str) -> None:
        if self.value is None:
            raise SparsimError("a heat map needs a value column", where)
        keys = [c for c in (self.facet, self.y, self.x) if c is not None]
        if self.frame.duplicated(keys).any():
            raise SparsimError(f"two rows for one cell ({', '.join(keys)})", where)
        if self.reference is not None and not (self.frame[self.value] > 0).all():
            raise SparsimError("a heat map of ratios needs positive values", where)


@dataclass(frozen=True)
class Table:
    title: str
    frame: pd.DataFrame
    note: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()


@dataclass(frozen=True)
class Rerun:
    """What it takes to produce the report again: a command with paths relative to the
    output folder (which holds the config it names), the version and commit."""

    command: str
    version: str
    date: str
    commit: str = ""  # "" when the source is not a git checkout

    def text(self) -> str:
        commit = f", commit {self.commit}" if self.commit else ""
        return f"sparsim {self.version}{commit}, run on {self.date}"


@dataclass(frozen=True)
class Report:
    title: str
    lead: str  # one paragraph: what was run, on what
    published: tuple[Citation, ...]  # the documents drawn on, claims first
    conclusions: tuple[Conclusion, ...]
    modelled: tuple[Table, ...]  # what was modelled, generated from the specs
    assumptions: tuple[str, ...]
    sections: tuple[Section, ...]
    rerun: Rerun
    files: tuple[str, ...] = field(default=())  # the tidy tables written beside the report
    bottom_line: str = ""  # one sentence: what the run found, from its data

    def __post_init__(self) -> None:
        names = [chart.name for section in self.sections for chart in section.charts]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise SparsimError("two charts share this name", f"chart {duplicated[0]}")

    @property
    def charts(self) -> list[Chart]:
        return [chart for section in self.sections for chart in section.charts]

    def verdict_counts(self) -> dict[str, int]:
        return {v: sum(c.verdict == v for c in self.conclusions) for v in VERDICTS}
