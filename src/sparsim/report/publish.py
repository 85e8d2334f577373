"""The parts every study's report is built from, so that each study fills in one template
instead of restating it: the claims in a section as paragraphs, "what was modelled" from
the specs, the effectual-work table, and writing the tidy tables (CSV and Parquet) and the
report (:func:`publish`) into the caller's scratch directory."""

from __future__ import annotations

import datetime
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pandas as pd

import sparsim
from sparsim.report.hardware import FORMATS_NOTE, architectures, design_table
from sparsim.report.model import Conclusion, Report, Rerun, Table
from sparsim.report.render import write_report
from sparsim.report.work import work_decomposition
from sparsim.spec.model import Spec

LEVEL_NOTE = "Energies in pJ per access of one block (words per access)."


def section_claims(conclusions: Iterable[Conclusion], section: str) -> tuple[Table, ...]:
    """The claims a section shows, as a compact table (the claims table at the top of the
    report says why); none when the section shows none."""
    shown = [c for c in conclusions if c.section == section]
    if not shown:
        return ()
    frame = claims_frame(shown)[["claim", "source", "published", "sparsim", "verdict"]]
    return (Table("Claims shown here", frame, "Why each verdict: the claims table above."),)


def _number(evidence, name: str) -> float:
    value = getattr(evidence, name, None)
    return float("nan") if value is None else float(value)


def claims_frame(conclusions: Iterable[Conclusion]) -> pd.DataFrame:
    """The claims table as data: the texts and the numbers each verdict is computed from
    (rule, published and sparsim's value, tolerance and reference, or cases held), so a
    reader (and a test) recomputes every verdict from the table alone."""
    rows = []
    for c in conclusions:
        evidence = c.evidence
        rows.append(
            {
                "key": c.key,
                "claim": c.claim,
                "source": c.source,
                "published": c.paper,
                "sparsim": c.sparsim,
                "rule": evidence.rule,
                "published_value": _number(evidence, "published"),
                "sparsim_value": _number(evidence, "ours"),
                "tolerance": _number(evidence, "tolerance"),
                "reference": _number(evidence, "reference"),
                "held": _number(evidence, "held"),
                "cases": _number(evidence, "cases"),
                "rule_text": evidence.rule_text,
                "verdict": c.verdict,
                "why": c.why,
            }
        )
    return pd.DataFrame(rows)


def source_commit() -> str:
    """The git commit of sparsim's source (``+`` when it has uncommitted changes), or ""
    when it is not a git checkout (an installed wheel)."""
    root = Path(sparsim.__file__).resolve().parent

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{commit}+" if dirty else commit


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
    texts: Mapping[str, str] | None = None,
) -> tuple[list[Path], Report]:
    """A study's outputs: its tables, ``texts`` (file name -> content: the config the run
    used), then the report ``build(files, date)`` makes (``files``: the file names it
    lists; ``date``: now, UTC, as the report states it), its figures drawn in ``jobs``
    worker processes."""
    paths = write_tables(frames, out_dir)
    for name, text in (texts or {}).items():
        (out_dir / name).write_text(text, encoding="utf-8")
        paths.append(out_dir / name)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    files = (*(texts or {}), *(f"{name}.csv" for name in frames))
    report = build(files, date)
    return paths + write_report(report, out_dir, jobs), report


def rerun(command: str, date: str) -> Rerun:
    """How to produce a report again: ``command`` (paths relative to the output folder),
    sparsim's version and source commit."""
    return Rerun(command, sparsim.__version__, date, source_commit())
