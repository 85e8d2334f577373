"""Where tasks run: in this process, in local worker processes, or on a Dask cluster.

Every backend takes the same tasks (lists of units, see :mod:`sparsim.sweep.points`) and
yields ``(task index, what the work function returns for it)`` as tasks finish (by default
:func:`sparsim.sweep.work.evaluate_task`: metric rows), so the store and the rows are the
same whichever runs them. A work function must be importable by name (a module-level
function) so that worker processes and Dask workers can run it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from typing import Any

from sparsim.errors import SparsimError
from sparsim.processes import worker_pool
from sparsim.sweep.points import Unit
from sparsim.sweep.work import evaluate_task

Finished = Iterator[tuple[int, Any]]
Work = Callable[[list[Unit]], Any]


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_inline(tasks: list[list[Unit]], work: Work) -> Finished:
    for index, task in enumerate(tasks):
        yield index, work(task)


def run_processes(tasks: list[list[Unit]], workers: int, work: Work) -> Finished:
    """Local worker processes (:func:`sparsim.processes.worker_pool`): forked where the
    platform allows, so workers start with sparsim imported and its caches warm, and gone
    when this process ends, even by ``kill -9``."""
    with worker_pool(workers) as pool:
        # At most two tasks per worker in flight: a kill loses little, memory stays flat.
        pending: dict[Any, int] = {}
        queue = iter(enumerate(tasks))
        try:
            for index, task in queue:
                pending[pool.submit(work, task)] = index
                if len(pending) >= 2 * workers:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
                    for index, task in queue:
                        pending[pool.submit(work, task)] = index
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


def run_dask(tasks: list[list[Unit]], client: Any, work: Work) -> Finished:
    from dask.distributed import as_completed

    futures = {client.submit(work, task, pure=False): i for i, task in enumerate(tasks)}
    try:
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        client.cancel(list(futures))


def run_tasks(
    tasks: list[list[Unit]],
    work: Work | None = None,
    *,
    workers: int,
    backend: str = "processes",
    scheduler: str | None = None,
) -> Finished:
    """The tasks run by ``work`` (default :func:`sparsim.sweep.work.evaluate_task`) on the
    chosen backend: ``processes`` (``workers`` local processes; one
    worker, or one task, runs in this process) or ``dask`` (the scheduler at ``scheduler``,
    else a LocalCluster of ``workers``)."""
    if not tasks:  # nothing to do: no workers to start
        return
    work = work or evaluate_task
    if backend == "dask":
        with dask_client(scheduler, workers) as client:
            yield from run_dask(tasks, client, work)
    elif workers == 1 or len(tasks) == 1:
        yield from run_inline(tasks, work)
    else:
        yield from run_processes(tasks, workers, work)
