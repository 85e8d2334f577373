"""Time ``sparsim study sparsity-types`` end to end (start-up, evaluation, tables, figures,
report), full and --quick, as a user runs it; print wall and CPU seconds (the process and
its workers: on a loaded machine wall time says little) and what each run did.

Goal (issue 11): the full run under 20 s wall on 2 idle cores. To compare machines it
first prints the fig15 engine benchmark's line (``bench_engine.py``: 96 cases in one
process) when the MICRO'22 artifact's cases are beside the repository. ``--mapping fixed`` times
the study with one mapping per design, layer, hardware change and N:M pattern (the default
config with ``mapping: fixed``) instead of every point mapped at its own densities.
Usage: python benchmarks/bench_study.py [--jobs N] [--mapping remap|fixed]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(out: Path, quick: bool, jobs: int, config: Path | None) -> tuple[float, float]:
    """(wall, CPU) seconds of one run."""
    command = [sys.executable, "-m", "sparsim", "study", "sparsity-types", "--out", str(out)]
    command += ["--no-progress", "--jobs", str(jobs), *(["--quick"] if quick else [])]
    command += ["--config", str(config)] if config else []
    start, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--mapping", choices=("remap", "fixed"), default="remap")
    args = parser.parse_args()
    engine = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("bench_engine.py"))],
        capture_output=True,
        text=True,
    )
    totals = [line for line in engine.stdout.splitlines() if " cases: total " in line]
    if engine.returncode == 0 and totals:
        print(f"this machine, fig15 engine benchmark: {totals[0]}")
    with tempfile.TemporaryDirectory() as scratch:
        config = None
        if args.mapping != "remap":
            default = resources.files("sparsim.study").joinpath("configs", "sparsity-types.yaml")
            data = {**yaml.safe_load(default.read_text()), "mapping": args.mapping}
            config = Path(scratch) / "study.yaml"
            config.write_text(yaml.safe_dump(data))
        for quick in (True, False):
            out = Path(scratch) / ("quick" if quick else "full")
            seconds, cpu = run(out, quick, args.jobs, config)
            layers = pd.read_parquet(out / "layers.parquet")
            checks = pd.read_parquet(out / "checks.parquet")
            files = len(list(out.rglob("*.*")))
            print(
                f"{'quick' if quick else 'full ':5s}: {seconds:5.1f} s wall, {cpu:5.1f} s CPU, "
                f"{args.jobs} jobs, mapping {args.mapping}, load {os.getloadavg()[0]:.1f}; "
                f"{layers['layer'].nunique()} layer shapes, {len(layers)} grid rows, "
                f"{files} files, {int((checks['verdict'] == 'agree').sum())}/{len(checks)} "
                "claims agree"
            )


if __name__ == "__main__":
    main()
