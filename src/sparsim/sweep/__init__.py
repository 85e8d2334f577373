"""Design-space sweeps: a declarative config in, a resumable Parquet store of results out.

``sparsim.sweep("sweep.yaml", out="runs/a")`` (or ``sparsim sweep sweep.yaml --out
runs/a``) expands the config (:mod:`sparsim.sweep.config`) into points, skips the points
the store under ``out`` already holds, evaluates the rest in units that share a mapping
(:mod:`sparsim.sweep.points`) on local worker processes or a Dask cluster
(:mod:`sparsim.sweep.backends`), writes rows in atomic chunks as they finish
(:mod:`sparsim.sweep.store`) and returns the config's rows as a DataFrame, in config order.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from sparsim.errors import SparsimError
from sparsim.limits import MAX_WORKERS, check_at_most
from sparsim.sweep.backends import (
    Finished,
    available_cores,
    check_scheduler_address,
    run_tasks,
)
from sparsim.sweep.config import SweepConfig, load_config
from sparsim.sweep.points import Point, Unit, expand, units
from sparsim.sweep.store import ChunkWriter, open_store, read_store
from sparsim.sweep.work import rows_for

__all__ = ["SweepConfig", "load_config", "pack_tasks", "plan", "read_store", "sweep"]

# Evaluations per task: enough to amortise a task's overhead (pickling, scheduling), few
# enough that the workers stay balanced and finished rows reach the store often.
MAX_TASK_EVALUATIONS = 64
TASKS_PER_WORKER = 8
# A unit with a fixed mapping is split no finer than this: each part maps again, and one
# mapping costs about as much CPU as 100 density points evaluated together on it.
MIN_FIXED_PART = 128


def plan(config: str | os.PathLike[str] | dict[str, Any]) -> tuple[list[Point], list[Unit]]:
    """The config's points (config order) and the units of work that evaluate them."""
    where = "sweep config" if isinstance(config, dict) else str(config)
    validated, base = load_config(config if isinstance(config, dict) else Path(config))
    points = expand(validated, base, where)
    return points, units(points)


def _split(unit: Unit, size: int) -> list[Unit]:
    """A large unit as parts of ``size`` schemes (each part of a fixed-mapping unit maps
    again, so those are split only when there are too few units to keep workers busy)."""
    if len(unit.schemes) <= size:
        return [unit]
    return [
        replace(unit, schemes=unit.schemes[i : i + size], points=unit.points[i : i + size])
        for i in range(0, len(unit.schemes), size)
    ]


def pack_tasks(work: list[Unit], workers: int) -> list[list[Unit]]:
    """Consecutive units (large ones split) packed into tasks of about the same number of
    evaluations."""
    total = sum(unit.evaluations for unit in work)
    size = max(1, min(MAX_TASK_EVALUATIONS, math.ceil(total / (workers * TASKS_PER_WORKER))))
    few = workers > 1 and len(work) < workers * TASKS_PER_WORKER
    tasks: list[list[Unit]] = []
    current: list[Unit] = []
    load = 0
    for whole in work:
        parts = [whole]
        if whole.mapping == "remap":
            parts = _split(whole, size)
        elif few:
            parts = _split(whole, max(size, MIN_FIXED_PART))
        for unit in parts:
            current.append(unit)
            load += unit.evaluations
            if load >= size:
                tasks.append(current)
                current, load = [], 0
    return [*tasks, current] if current else tasks


def _pending(work: list[Unit], done: set[str]) -> list[Unit]:
    """The units with their stored points (and schemes left without points) removed."""
    pending = []
    for unit in work:
        kept = [
            (densities, tuple(k for k in keys if k not in done))
            for densities, keys in zip(unit.schemes, unit.points, strict=True)
        ]
        kept = [(densities, keys) for densities, keys in kept if keys]
        if kept:
            schemes, keys = zip(*kept, strict=True)
            pending.append(replace(unit, schemes=schemes, points=keys))
    return pending


def sweep(
    config: str | os.PathLike[str] | dict[str, Any],
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    backend: str | None = None,
    progress: bool = True,
    chunk_rows: int = 2000,
    append: bool = False,
) -> pd.DataFrame:
    """Evaluate the points of ``config`` missing from the store ``out``; return all its rows.

    ``workers``: local worker processes (default: the available cores; 1 runs in this
    process), or the LocalCluster size with ``backend="dask"``. ``scheduler``: the address
    of a running Dask scheduler (``tcp://host:port``); implies the Dask backend.
    ``chunk_rows``: rows per Parquet chunk (a kill loses at most one unwritten chunk).
    ``append``: add this config's points to a store that holds another config's (without
    it, such a store is refused: its rows would be taken for this config's).
    """
    _check_arguments(config, out, workers, scheduler, backend, progress, chunk_rows, append)
    backend = "dask" if scheduler is not None else (backend or "processes")
    points, work = plan(config)
    out = Path(out)
    source = "sweep config (dict)" if isinstance(config, dict) else str(Path(config).absolute())
    keys = [point.key for point in points]
    with open_store(out, keys, source, append) as done:
        pending = _pending(work, done)
        by_key = {point.key: point for point in points}
        workers = workers or available_cores()
        tasks = pack_tasks(pending, workers)
        writer = ChunkWriter(out, chunk_rows, stored=done)
        todo = sum(len(keys) for unit in pending for keys in unit.points)
        bar = tqdm(total=todo, unit="point", desc="sweep", disable=not progress or not todo)
        try:  # no tasks: everything is in the store already, no workers to start
            finished = run_tasks(tasks, workers=workers, backend=backend, scheduler=scheduler)
            _collect(finished, tasks, by_key, writer, bar)
        finally:
            writer.flush()  # what finished is kept, whatever stopped the run
            bar.close()
        return read_store(out, keys)


def _check_arguments(
    config: Any,
    out: Any,
    workers: Any,
    scheduler: Any,
    backend: Any,
    progress: Any,
    chunk_rows: Any,
    append: Any,
) -> None:
    """Wrong types and values of :func:`sweep`'s arguments, each named."""
    if not isinstance(config, str | os.PathLike | dict):
        raise SparsimError(
            f"expected a config file name or a dict, got {type(config).__name__}", "config"
        )
    if not isinstance(out, str | os.PathLike) or not str(os.fspath(out)).strip():
        raise SparsimError(f"expected a folder name, got {out!r}", "out")
    for name, value in (("--workers", workers), ("--chunk-rows", chunk_rows)):
        if (value is not None or name == "--chunk-rows") and (
            isinstance(value, bool) or not isinstance(value, int)
        ):
            raise SparsimError(f"expected an integer, got {value!r}", name)
    if workers is not None and workers < 1:
        raise SparsimError(f"expected at least 1 worker, got {workers}", "--workers")
    if workers is not None:
        check_at_most(workers, MAX_WORKERS, "worker processes", "--workers")
    if chunk_rows < 1:
        raise SparsimError(f"expected at least 1 row per chunk, got {chunk_rows}", "--chunk-rows")
    if backend is not None and backend not in ("processes", "dask"):
        raise SparsimError(f"unknown backend {backend!r} (processes, dask)", "--backend")
    if scheduler is not None:
        check_scheduler_address(scheduler)
        if backend == "processes":
            raise SparsimError("a scheduler runs the Dask backend", "--backend")
    for name, value in (("progress", progress), ("--append", append)):
        if not isinstance(value, bool):
            raise SparsimError(f"expected True or False, got {value!r}", name)


def _collect(
    finished: Finished,
    tasks: list[list[Unit]],
    by_key: dict[str, Point],
    writer: ChunkWriter,
    bar: tqdm,
) -> None:
    """Rows of each finished task to the store, as they come."""
    for index, metrics in finished:
        for unit, unit_metrics in zip(tasks[index], metrics, strict=True):
            rows = rows_for(unit, unit_metrics, by_key)
            writer.add(rows)
            bar.update(len(rows))
