"""Sweep throughput: points per second re-mapped and on a fixed mapping, on 1 and 2
workers; density points per CPU second on one mapping (a unit's points evaluated as numpy
arrays, issue 11's goal: 2,000 per core), with and without the unit's one mapping; and the
wall time of a 100,000-point sweep (ResNet-50 x 6 designs x a 20 x 15 density grid) into a
fresh store, then of its rerun (nothing left to compute).

    PYTHONPATH=src python benchmarks/bench_sweep.py [--quick] [--workers N]

Figures are wall-clock on this machine (shared cores make them noisy: run it idle).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import sparsim
from sparsim.designs import build, get_design
from sparsim.sweep import plan
from sparsim.sweep.points import canonical, hardware
from sparsim.sweep.work import evaluate_unit

DENSITY_A = [round(0.05 * i, 2) for i in range(1, 21)]  # 20 values, 0.05 .. 1.0
DENSITY_B = [round(0.1 + 0.06 * i, 2) for i in range(15)]  # 15 values, 0.1 .. 0.94
DESIGNS = ["tc", "stc", "stc-flexible", "stc-flexible-rle", "stc-flexible-dual", "dstc"]
LAYERS = ["layer1.0.conv2", "layer2.0.conv2", "layer3.0.conv1"]


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process and of its finished children (the worker processes)."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _run(config: dict, workers: int, out: Path) -> tuple[float, int, float, float]:
    """(wall seconds, points, CPU seconds here, CPU seconds of the workers) of a sweep."""
    own, children = _cpu()
    start = time.perf_counter()
    frame = sparsim.sweep(config, out, workers=workers, progress=False)
    wall = time.perf_counter() - start
    own_after, children_after = _cpu()
    return wall, len(frame), own_after - own, children_after - children


def _throughput(label: str, config: dict, workers_list: list[int]) -> None:
    points, units = plan(config)
    evaluations = sum(u.evaluations for u in units)
    print(f"{label}: {len(points)} points, {evaluations} evaluations in {len(units)} units")
    base = None
    for workers in workers_list:
        with tempfile.TemporaryDirectory() as out:
            wall, count, own, children = _run(config, workers, Path(out) / "store")
        base = base or wall
        cpu = own + children
        print(
            f"  workers={workers}: {wall:6.2f} s, {count / wall:8.1f} points/s, "
            f"{evaluations / wall:7.1f} evaluations/s, speed-up {base / wall:.2f}x; "
            f"{1e3 * cpu / count:.2f} CPU ms per point ({count / cpu:.1f} points per CPU s), "
            f"{100 * own / cpu:.0f}% of it in the submitting process"
        )


def _density_points(config: dict) -> None:
    """CPU per point of a worker evaluating whole fixed-mapping units (each unit's mapping
    timed apart, so the density points' own cost shows)."""
    _, units = plan(config)
    units = [unit for unit in units if unit.mapping == "fixed"]
    count = sum(len(unit.schemes) for unit in units)
    for unit in units:  # warm the hardware cache and the imports
        hardware(unit.design, canonical(unit.memory))
    start = time.process_time()
    for unit in units:
        evaluate_unit(unit)
    total = time.process_time() - start
    start = time.process_time()
    for unit in units:
        design = get_design(unit.design.builtin)
        pattern = f"{unit.pattern[0]}:{unit.pattern[1]}" if unit.pattern else "dense"
        architecture = hardware(unit.design, canonical(unit.memory))
        build(design, unit.layer, {"A": pattern, "B": "dense"}, architecture=architecture)
    mapping = time.process_time() - start
    print(
        f"density points on a fixed mapping: {count} points in {len(units)} units; "
        f"{1e6 * total / count:.0f} CPU us per point with the unit's mapping "
        f"({count / total:,.0f} points per CPU s), {1e6 * (total - mapping) / count:.0f} "
        f"CPU us without it ({count / (total - mapping):,.0f} points per CPU s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 100,000-point sweep")
    parser.add_argument("--workers", type=int, default=2, help="workers of the large sweep")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    dstc = {
        "designs": ["dstc"],
        "workloads": [{"builtin": "resnet50", "layers": LAYERS}],
        "densities": {"A": DENSITY_A[::2], "B": DENSITY_B[::5]},
    }
    _throughput("re-mapped DSTC points", {**dstc, "mapping": "remap"}, [1, 2])
    _throughput("fixed-mapping DSTC points", {**dstc, "mapping": "fixed"}, [1, 2])
    grid = {**dstc, "densities": {"A": DENSITY_A, "B": DENSITY_B}, "mapping": "fixed"}
    _throughput("fixed-mapping DSTC points, a 20 x 15 grid per layer", grid, [1, 2])
    _density_points(grid)
    if args.quick:
        return

    large = {
        "designs": DESIGNS,
        "workloads": [{"builtin": "resnet50"}],
        "densities": {"A": DENSITY_A, "B": DENSITY_B},
    }
    start = time.perf_counter()
    points, units = plan(large)
    planning = time.perf_counter() - start
    evaluations = sum(u.evaluations for u in units)
    print(
        f"large sweep: {len(points):,} points, {evaluations:,} distinct evaluations in "
        f"{len(units):,} units (planned in {planning:.1f} s)"
    )
    with tempfile.TemporaryDirectory() as out:
        store = Path(out) / "store"
        wall, count, own, children = _run(large, args.workers, store)
        print(
            f"  workers={args.workers}: {wall:.1f} s, {count / wall:,.0f} points/s, "
            f"{evaluations / wall:,.0f} evaluations/s, {len(list(store.glob('*.parquet')))} "
            f"chunks; CPU {own:.1f} s submitting, {children:.1f} s in the workers "
            f"({count / (own + children):,.0f} points per CPU s)"
        )
        start = time.perf_counter()
        again = sparsim.sweep(large, store, workers=args.workers, progress=False)
        print(
            f"  rerun with everything stored: {time.perf_counter() - start:.1f} s, {len(again):,} rows"
        )


if __name__ == "__main__":
    main()
