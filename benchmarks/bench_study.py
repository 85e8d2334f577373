"""Time ``sparsim study sparsity-types`` end to end (start-up, evaluation, tables, figures,
report), full and --quick, as a user runs it; print wall times and what each run did.

Goal (issue 5): the full run under 30 s on 2 cores.
Usage: python benchmarks/bench_study.py [--jobs N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def run(out: Path, quick: bool, jobs: int) -> float:
    command = [sys.executable, "-m", "sparsim", "study", "sparsity-types", "--out", str(out)]
    command += ["--no-progress", "--jobs", str(jobs), *(["--quick"] if quick else [])]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for quick in (True, False):
            out = Path(scratch) / ("quick" if quick else "full")
            seconds = run(out, quick, args.jobs)
            layers = pd.read_parquet(out / "layers.parquet")
            checks = pd.read_parquet(out / "checks.parquet")
            files = len(list(out.iterdir()))
            print(
                f"{'quick' if quick else 'full ':5s}: {seconds:5.1f} s wall, {args.jobs} jobs; "
                f"{layers['layer'].nunique()} layer shapes, {len(layers)} grid rows, "
                f"{files} files, {int((checks['verdict'] == 'agree').sum())}/{len(checks)} "
                "claims agree"
            )


if __name__ == "__main__":
    main()
