"""``sparsim study NAME --out DIR``: run a study end to end and write its tables, figures
and report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sparsim.cli.options import show_progress
from sparsim.errors import SpecError, UnknownNameError
from sparsim.io import atomic_output_dir, check_output_dir
from sparsim.limits import MAX_WORKERS, check_at_most

# Kept here (not imported from sparsim.study) so that `sparsim --help` stays fast.
STUDIES = {
    "sparsity-types": (
        "structured vs unstructured, single- vs dual-sided sparsity on the int8 hardware of "
        "the Sparseloop MICRO'22 artifact: energy, cycles, computes, EDP (energy-delay "
        "product), memory sizes, and "
        "the claims of Huang and Mustafa's case study checked"
    ),
    "tasd-hardware": (
        "the TASD paper's hardware evaluation: EDP, latency and energy of dense and sparse "
        "ResNet-50 and BERT-base on the dense tensor core (TC), the dual-side sparse tensor "
        "core (DSTC) and four TASD tensor cores with TASDER's configurations, its ablation "
        "and energy breakdown, each EDP claim checked"
    ),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "study",
        help="run a study and write its tables, figures and report",
        description=(
            "Run a study end to end. 'sparsity-types' evaluates a dense tensor core, "
            "single-sided structured (2:4, 2:6, 2:8, flexible N:M), dual-sided structured, "
            "single-sided unstructured and dual-sided unstructured (DSTC) cores (the "
            "hardware of the Sparseloop MICRO'22 artifact, Wu et al.) at 0, 50, 66.7 and 75% "
            "sparsity of weights and activations on four ResNet-50 layers of that artifact "
            "and on all of ResNet-50, plus low-sparsity, memory-size and bandwidth sweeps, "
            "and checks the claims of Huang and Mustafa's structured vs unstructured case "
            "study (its report and poster). 'tasd-hardware' checks the TASD paper's "
            "hardware evaluation. Each writes tidy tables (CSV and Parquet), figures (PNG "
            "and SVG), the config it ran and a report (report.md and a self-contained "
            "report.html)."
        ),
        epilog=(
            "examples: sparsim study sparsity-types --out study-out --quick; "
            "sparsim study tasd-hardware --out tasd-out"
        ),
    )
    parser.add_argument(
        "study",
        metavar="NAME",
        help="the study to run: "
        + "; ".join(f"'{name}': {text}" for name, text in STUDIES.items()),
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="output directory (created; files replaced)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="sparsity-types only: the config's first layer set only (by default the four "
        "ResNet-50 layers of the MICRO'22 artifact; skips all of ResNet-50)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="sparsity-types only: the study's YAML config (layers, sparsities, strategies, "
        "hardware sweeps; default: the shipped one, see docs/study.md)",
    )
    parser.add_argument(
        "--jobs", type=int, default=2, metavar="N", help="worker processes (default 2)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _check_out(out: str) -> Path:
    return check_output_dir(out, f"--out {out}" if out.strip() else "--out")


def run(args: argparse.Namespace) -> int:
    if args.study not in STUDIES:
        raise UnknownNameError(
            f"unknown study {args.study!r} (studies: {', '.join(STUDIES)})", "study"
        )
    if args.jobs < 1:
        raise SpecError(f"must be >= 1, got {args.jobs}", "--jobs")
    check_at_most(args.jobs, MAX_WORKERS, "worker processes", "--jobs")
    out = _check_out(args.out)
    if args.study == "tasd-hardware":
        return _run_tasd_hardware(args, out)
    start = time.perf_counter()
    with atomic_output_dir(out) as scratch:  # fails now, not after the run, if unwritable
        from sparsim.study import StudyConfig, load_definition, run_study, write_study

        definition = load_definition(args.config)
        tables = run_study(
            StudyConfig(definition, args.quick, args.jobs, progress=show_progress(args))
        )
        paths, checks = write_study(tables, scratch, args.jobs)
    _print_claims(
        "claims of Huang and Mustafa's structured vs unstructured study", list(checks.values())
    )
    if len(tables.failures):
        print(f"note: {len(tables.failures)} points had no mapping (see failures.csv)")
    print(
        f"wrote {len(paths)} files to {out}/ (report: {out / 'report.html'}) "
        f"in {time.perf_counter() - start:.1f} s"
    )
    return 0


def _print_claims(what: str, conclusions: list) -> None:
    """The verdict counts (every verdict named, in the report's order), then one line per
    claim with its numbers."""
    from sparsim.report.model import VERDICTS

    counts = {v: sum(c.verdict == v for c in conclusions) for v in VERDICTS}
    print(
        f"{len(conclusions)} {what} checked: "
        + ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n)
    )
    for conclusion in conclusions:
        print(
            f"  {conclusion.verdict:12s} {conclusion.claim}: published {conclusion.paper}; "
            f"sparsim {conclusion.sparsim}"
        )


def _run_tasd_hardware(args: argparse.Namespace, out: Path) -> int:
    if args.quick:
        raise SpecError("only the sparsity-types study has a quick mode", "--quick")
    if args.config:
        raise SpecError("only the sparsity-types study takes a config", "--config")
    start = time.perf_counter()
    with atomic_output_dir(out) as scratch:
        from sparsim.study.tasd_hardware import run_tasd_hardware
        from sparsim.study.tasd_hardware_report import write_tasd_hardware

        tables = run_tasd_hardware(progress=show_progress(args), jobs=args.jobs)
        paths, conclusions = write_tasd_hardware(tables, scratch, args.jobs)
    _print_claims("claims of the TASD paper", conclusions)
    print(
        f"wrote {len(paths)} files to {out}/ (report: {out / 'report.html'}) "
        f"in {time.perf_counter() - start:.1f} s"
    )
    return 0
