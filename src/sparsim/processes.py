"""Worker processes that never outlive the run that started them, and a run that never
outlives a lost worker.

A run killed by a signal its Python code never sees (SIGKILL, or SIGTERM before
:func:`sparsim.cli.exit_on_terminate` is installed) would otherwise leave its pool's workers
blocked on their task queue, holding its pipes open. Each worker asks the Linux kernel to kill it when
its parent dies (``PR_SET_PDEATHSIG``; elsewhere it checks its parent at start only), and
takes back the default SIGTERM (forked workers inherit the parent's handler, which would
turn the pool's own terminate into an exception the worker survives).

A worker that dies (killed, out of memory) breaks the pool: :func:`run_pool` then stops the
other workers at once and raises a :class:`~sparsim.errors.WorkerLostError`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.connection import wait as wait_for_exit
from typing import Any, TypeVar

from sparsim.errors import WorkerLostError

_PR_SET_PDEATHSIG = 1
T = TypeVar("T")


def _die_with_parent(parent: int) -> None:
    """Worker initialiser: SIGKILL this worker when the parent process exits (a worker holds
    nothing to clean up: results go through the parent), with the default SIGTERM."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` workers that exit when this process does, however it ends; forked
    where the platform allows (workers start with everything imported and cached)."""
    return ProcessPoolExecutor(
        jobs,
        mp_context=get_context("fork" if "fork" in get_all_start_methods() else None),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """End a pool now: queued tasks cancelled, running workers killed (a failed or
    interrupted run must not wait for tasks whose results nobody will read)."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    with contextlib.suppress(AttributeError):
        # Tasks queued for dead workers may fill the pipe: never wait to flush them.
        pool._call_queue.cancel_join_thread()  # type: ignore[attr-defined]
    pool.shutdown(wait=False, cancel_futures=True)
    sentinels = []
    for worker in workers:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            worker.kill()
            sentinels.append(worker.sentinel)
    # Ready once a worker has exited, whoever reaps it (Process.join may wait out its
    # timeout when the pool's own thread reaped the worker first).
    with contextlib.suppress(OSError, ValueError):
        deadline = time.monotonic() + 5
        while sentinels and time.monotonic() < deadline:
            ready = wait_for_exit(sentinels, timeout=max(0.0, deadline - time.monotonic()))
            sentinels = [s for s in sentinels if s not in ready]


_DEFERRED = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM noted, not acted on, while workers are forked, then delivered: an
    exception raised inside the fork's own hooks would be swallowed (a Ctrl-C lost, the run
    going on), and a worker must not act on one before it has its own handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda signum, frame: received.append(signum))
        for signum in _DEFERRED
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


@contextlib.contextmanager
def pool_of(jobs: int) -> Iterator[ProcessPoolExecutor]:
    """:func:`worker_pool` as a context: shut down cleanly when the block succeeds, stopped
    at once (:func:`stop_pool`) when it fails or is interrupted; a worker that died is a
    WorkerLostError."""
    pool = worker_pool(jobs)
    try:
        with _signals_deferred():
            pool.submit(int)  # forks the workers now (all of them, where forking)
        yield pool
    except BrokenProcessPool:
        stop_pool(pool)
        raise lost_worker("workers") from None
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def lost_worker(where: str) -> WorkerLostError:
    return WorkerLostError(
        "a worker process died (killed, or out of memory); the results written so far are "
        "kept: run the same command again to finish",
        where,
    )


def run_pool(
    pool: ProcessPoolExecutor,
    work: Callable[[T], Any],
    tasks: Iterable[T],
    in_flight: int,
    where: str = "workers",
) -> Iterator[tuple[int, Any]]:
    """``(index, work(task))`` as tasks finish, at most ``in_flight`` submitted at once
    (a kill loses little, memory stays flat); a worker that dies is a WorkerLostError."""
    pending: dict[Future, int] = {}
    queue = iter(enumerate(tasks))
    try:
        for index, task in queue:
            pending[pool.submit(work, task)] = index
            if len(pending) >= in_flight:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                yield index, future.result()
                for next_index, task in queue:
                    pending[pool.submit(work, task)] = next_index
                    break
    except BrokenProcessPool:
        raise lost_worker(where) from None
    finally:
        for future in pending:
            future.cancel()
