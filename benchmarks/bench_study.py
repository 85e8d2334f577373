"""Time ``sparsim study sparsity-types`` end to end (start-up, evaluation, tables, figures,
report), full and --quick, as a user runs it; print wall and CPU seconds (the process and
its workers: on a loaded machine wall time says little) and what each run did.

Goal (issue 12): the full run under 20 s wall on 2 idle cores.
Usage: python benchmarks/bench_study.py [--jobs N]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(out: Path, quick: bool, jobs: int) -> tuple[float, float]:
    """(wall, CPU) seconds of one run."""
    command = [sys.executable, "-m", "sparsim", "study", "sparsity-types", "--out", str(out)]
    command += ["--no-progress", "--jobs", str(jobs), *(["--quick"] if quick else [])]
    start, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for quick in (True, False):
            out = Path(scratch) / ("quick" if quick else "full")
            seconds, cpu = run(out, quick, args.jobs)
            layers = pd.read_parquet(out / "layers.parquet")
            checks = pd.read_parquet(out / "checks.parquet")
            files = len(list(out.rglob("*.*")))
            print(
                f"{'quick' if quick else 'full ':5s}: {seconds:5.1f} s wall, {cpu:5.1f} s CPU, "
                f"{args.jobs} jobs; "
                f"{layers['layer'].nunique()} layer shapes, {len(layers)} grid rows, "
                f"{files} files, {int((checks['verdict'] == 'agree').sum())}/{len(checks)} "
                "claims agree"
            )


if __name__ == "__main__":
    main()
