"""Where tasks run: in this process, in local worker processes, or on a Dask cluster.

Every backend takes the same tasks (lists of units, see :mod:`sparsim.sweep.points`) and
yields ``(task index, what the work function returns for it)`` as tasks finish (by default
:func:`sparsim.sweep.work.evaluate_task`: metric rows), so the store and the rows are the
same whichever runs them. A work function must be importable by name (a module-level
function) so that worker processes and Dask workers can run it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from sparsim.errors import SparsimError, WorkerLostError
from sparsim.processes import pool_of, run_pool
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
    when this process ends, even by ``kill -9``; a worker that dies ends the run with a
    WorkerLostError (the rows written so far stay in the store)."""
    with pool_of(workers) as pool:
        # At most two tasks per worker in flight: a kill loses little, memory stays flat.
        yield from run_pool(pool, work, tasks, 2 * workers)


_ADDRESS = re.compile(
    r"^(?:(?:tcp|tls|ucx|ws|wss)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$"
)


def check_scheduler_address(address: Any) -> str:
    """A Dask scheduler address ``[tcp://]HOST:PORT``, or a SparsimError naming it."""
    match = _ADDRESS.match(address.strip()) if isinstance(address, str) else None
    if match is None or not 0 < int(match.group(1)) < 65536:
        raise SparsimError(
            f"expected a Dask scheduler address such as tcp://10.0.0.5:8786, got {address!r}",
            "--scheduler",
        )
    return address.strip()


@contextlib.contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's own log lines about a lost connection would break the one-line error the
    lost cluster gives (a WorkerLostError)."""
    loggers = [logging.getLogger("distributed")] + [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name.startswith("distributed.")
    ]
    before = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, disabled in zip(loggers, before, strict=True):
            logger.disabled = disabled


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
            client = Client(check_scheduler_address(scheduler), timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SparsimError(f"cannot reach the Dask scheduler ({exc})", "--scheduler") from None
        with _quiet_dask(), client:
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


def run_dask(
    tasks: list[list[Unit]], client: Any, work: Work, where: str = "--scheduler"
) -> Finished:
    """The tasks on the client's cluster; the scheduler or a worker lost (the connection
    closed, a task's workers killed) is a WorkerLostError, after which a rerun resumes. An
    error a task raises is raised as it is."""
    from dask.distributed import as_completed
    from distributed import KilledWorker

    futures = {client.submit(work, task, pure=False): i for i, task in enumerate(tasks)}
    finished = as_completed(futures)
    try:
        while True:
            try:
                future = next(finished)
            except StopIteration:
                return
            except (OSError, TimeoutError) as exc:  # the connection itself
                raise _lost(where, str(exc) or type(exc).__name__) from None
            try:
                result = future.result()
            except KilledWorker:
                raise _lost(where, "its workers died running a task") from None
            except BaseException as exc:
                if future.status == "error" or isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise  # the task's own error, or the user stopping the run
                raise _lost(where, f"the task was {future.status}") from None
            yield futures[future], result
    finally:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))


def _lost(where: str, detail: str) -> WorkerLostError:
    return WorkerLostError(
        f"lost the Dask cluster ({detail}); the results written so far are kept: run the "
        "same command again to finish",
        where,
    )


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
            yield from run_dask(tasks, client, work, "--scheduler" if scheduler else "--backend")
    elif workers == 1 or len(tasks) == 1:
        yield from run_inline(tasks, work)
    else:
        yield from run_processes(tasks, workers, work)
