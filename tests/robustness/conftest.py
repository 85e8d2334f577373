"""Shared helpers: run the CLI in this process under a deadline, and sample Sparseloop cases."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparsim.cli import main
from tests.engine.conftest import FIG15

HERE = Path(__file__).resolve().parent
SMALL_CASE = HERE / "data" / "small-case"
FIG15_CASE = FIG15 / "WD-0.5" / "M512-K256-N1024-IAD0.82-WD0.5" / "STC-RF2x-24-bandwidth"
DEADLINE_S = 20  # far beyond any case of the corpus (they fail in well under a second)


class Hang(Exception):
    """The code under test ran past its deadline."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in this (main) thread if the block runs longer than ``seconds``."""

    def expire(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``sparsim ARGV`` run in this process."""
    with deadline(DEADLINE_S):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def tree(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under ``root`` (links not followed) with its type, size and mtime."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            info = (Path(folder) / name).lstat()
            found[os.path.relpath(Path(folder) / name, root)] = (
                info.st_mode,
                info.st_size,
                info.st_mtime_ns,
            )
    return found


def copy_case(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("output"))
    return target


@pytest.fixture
def fig15_case(tmp_path: Path) -> Path:
    if not FIG15_CASE.is_dir():
        pytest.skip(f"Sparseloop reference data not found at {FIG15_CASE} (../shared absent)")
    return copy_case(FIG15_CASE, tmp_path / "fig15-case")


@pytest.fixture
def small_case(tmp_path: Path) -> Path:
    return copy_case(SMALL_CASE, tmp_path / "small-case")
