"""Worker processes that never outlive the run that started them.

A run killed by a signal its Python code never sees (SIGKILL, or SIGTERM before
:func:`exit_on_terminate` is installed) would otherwise leave its pool's workers blocked on
their task queue forever. Each worker asks the Linux kernel to terminate it when its parent
dies (``PR_SET_PDEATHSIG``); elsewhere it checks its parent at start only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Worker initialiser: SIGTERM this worker when the parent process exits."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
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


def exit_on_terminate() -> None:
    """Turn SIGTERM into ``SystemExit`` so that ``finally`` blocks and context managers
    (worker pools, scratch folders) clean up, as they do on Ctrl-C."""

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():  # only it may set handlers
        signal.signal(signal.SIGTERM, terminate)
