"""The parts every study's report is built from, so that each study fills in one template
instead of restating it: the claims in a section as paragraphs, "what was modelled" from
the specs, the effectual-work table, and writing the tidy tables (CSV and Parquet) and the
report (:func:`publish`) into the caller's scratch directory."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pandas as pd

from sparsim.report.hardware import FORMATS_NOTE, architectures, design_table
from sparsim.report.model import Conclusion, Report, Table
from sparsim.report.render import write_report
from sparsim.report.work import work_decomposition
from sparsim.spec.model import Spec

LEVEL_NOTE = "Energies in pJ per access of one block (words per access)."


def claim_paragraphs(conclusions: Iterable[Conclusion], section: str) -> tuple[str, ...]:
    """One paragraph per claim shown in ``section``: the published statement, sparsim's
    number, the verdict and why."""
    return tuple(
        f"{c.claim}: the paper says {c.paper}; sparsim: {c.sparsim}. Verdict: {c.verdict} - {c.why}"
        for c in conclusions
        if c.section == section
    )


def modelled_tables(
    specs: Mapping[str, tuple[Spec, str]],
    designs_title: str,
    designs_note: str,
    designs_extra: Mapping[str, list[str]] | None = None,
) -> tuple[Table, ...]:
    """'What was modelled': each distinct architecture's level table, then one row per
    design (``specs`` maps a design's title to a spec built from it and its dataflow;
    ``designs_extra`` adds columns to the designs table, one value per design)."""
    tables = [Table(title, frame, LEVEL_NOTE) for title, frame in architectures(specs).items()]
    designs = design_table(specs)
    for column, values in (designs_extra or {}).items():
        designs[column] = values
    tables.append(Table(designs_title, designs, f"{designs_note} {FORMATS_NOTE}"))
    return tuple(tables)


def work_table(
    frame: pd.DataFrame, leading: Mapping[str, object], columns: dict[str, str] | None = None
) -> pd.DataFrame:
    """The effectual-work decomposition (:func:`sparsim.report.work.work_decomposition`)
    of ``frame`` as a report table: the ``leading`` columns (name -> values), then each
    factor, rounded for reading."""
    work = work_decomposition(frame, columns)
    return pd.DataFrame(
        {
            **{name: list(values) for name, values in leading.items()},
            "performed MACs/cycle": work["performed_per_cycle"].round(1).to_numpy(),
            "performed MACs/nJ": work["performed_per_nJ"].round(1).to_numpy(),
            "effectual / performed": work["effectual_per_performed"].round(3).to_numpy(),
            "effectual / algorithmic": work["effectual_per_algorithmic"].round(3).to_numpy(),
            "dense-equivalent MACs/cycle": work["algorithmic_per_cycle"].round(1).to_numpy(),
            "dense-equivalent MACs/nJ": work["algorithmic_per_nJ"].round(1).to_numpy(),
        }
    )


def write_tables(frames: Mapping[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Each frame as ``NAME.csv`` and ``NAME.parquet`` (the same rows)."""
    paths = []
    for name, frame in frames.items():
        frame.to_csv(out_dir / f"{name}.csv", index=False)
        frame.to_parquet(out_dir / f"{name}.parquet", index=False)
        paths += [out_dir / f"{name}.csv", out_dir / f"{name}.parquet"]
    return paths


def publish(
    frames: Mapping[str, pd.DataFrame],
    build: Callable[[tuple[str, ...], str], Report],
    out_dir: Path,
    jobs: int = 1,
) -> tuple[list[Path], Report]:
    """A study's outputs: its tables, then the report ``build(files, date)`` makes
    (``files``: the CSV names it lists; ``date``: now, UTC, as the report states it),
    its figures drawn in ``jobs`` worker processes."""
    paths = write_tables(frames, out_dir)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = build(tuple(f"{name}.csv" for name in frames), date)
    return paths + write_report(report, out_dir, jobs), report
