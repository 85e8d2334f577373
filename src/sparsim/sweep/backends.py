"""Where tasks run: in this process, in local worker processes, or on a Dask cluster.

Every backend takes the same tasks (lists of units, see :mod:`sparsim.sweep.points`) and
yields ``(task index, metric rows)`` as tasks finish, so the store and the rows are the
same whichever runs them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from sparsim.errors import SparsimError
from sparsim.sweep.points import Unit
from sparsim.sweep.work import evaluate_task

Finished = Iterator[tuple[int, list[list[dict[str, Any]]]]]


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_inline(tasks: list[list[Unit]]) -> Finished:
    for index, task in enumerate(tasks):
        yield index, evaluate_task(task)


def run_processes(tasks: list[list[Unit]], workers: int) -> Finished:
    """Local worker processes. Forked where the platform allows: workers start with
    sparsim already imported and its caches warm, instead of importing it again."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # At most two tasks per worker in flight: a kill loses little, memory stays flat.
        pending: dict[Any, int] = {}
        queue = iter(enumerate(tasks))
        try:
            for index, task in queue:
                pending[pool.submit(evaluate_task, task)] = index
                if len(pending) >= 2 * workers:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
                    for index, task in queue:
                        pending[pool.submit(evaluate_task, task)] = index
                        break
        finally:
            for future in pending:
                future.cancel()


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int) -> Iterator[Any]:
    """A client of the scheduler at ``scheduler`` (``tcp://host:port``), or of an
    in-process LocalCluster of ``workers`` single-threaded worker processes on loopback."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SparsimError(
            "the Dask backend needs dask[distributed]: pip install 'sparsim[dask]'",
            "--scheduler" if scheduler else "--backend",
        ) from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise SparsimError(f"cannot reach the Dask scheduler ({exc})", "--scheduler") from None
        with client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            processes=True,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_dask(tasks: list[list[Unit]], client: Any) -> Finished:
    from dask.distributed import as_completed

    futures = {client.submit(evaluate_task, task, pure=False): i for i, task in enumerate(tasks)}
    try:
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        client.cancel(list(futures))
