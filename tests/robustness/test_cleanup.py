"""Outputs and processes after failures and kills: nothing half-written, no scratch folders
that pile up, no orphan worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sparsim.errors import SpecError
from sparsim.io import SCRATCH_PREFIX, atomic_output_dir, atomic_write_text, load_yaml

SRC = Path(__file__).resolve().parents[2] / "src"


def _python(code: str) -> subprocess.Popen:
    """A Python child running ``code`` with this tree's sparsim, its stdout piped."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )


def _kill_and_check_workers(child: subprocess.Popen) -> None:
    """``child`` printed its worker pids on one line: kill it with SIGKILL (the pool's
    shutdown never runs) and check that every worker exits with it."""
    workers = {int(pid) for pid in child.stdout.readline().split()}
    assert workers
    for pid in workers:
        os.kill(pid, 0)  # alive (raises otherwise)
    child.kill()
    child.wait()
    assert all(_gone(pid) for pid in workers)


def _gone(pid: int, patience_s: float = 30.0) -> bool:
    """Whether process ``pid`` has exited (polling: exit is asynchronous)."""
    end = time.monotonic() + patience_s
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(") ")[1].startswith("Z"):
            return True  # a zombie: exited, waiting for its (new) parent to reap it
        time.sleep(0.05)
    return False


def test_output_dir_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    out = tmp_path / "new"
    with pytest.raises(RuntimeError), atomic_output_dir(out) as scratch:
        (scratch / "a.txt").write_text("half")
        raise RuntimeError("the run fails")
    assert not out.exists() and os.listdir(tmp_path) == []
    with atomic_output_dir(out) as scratch:
        (scratch / "a.txt").write_text("whole")
    assert sorted(os.listdir(out)) == ["a.txt"] and os.listdir(tmp_path) == ["new"]


def test_scratch_stays_out_of_the_destination(tmp_path: Path) -> None:
    """The scratch lives beside an existing destination (same file system: the renames never
    cross devices), not among its outputs; files there that are not rewritten stay."""
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("kept")
    (out / "old.txt").write_text("old")
    with atomic_output_dir(out) as scratch:
        assert scratch.parent == tmp_path
        assert sorted(os.listdir(out)) == ["keep.txt", "old.txt"]
        assert scratch.stat().st_dev == out.stat().st_dev
        (scratch / "old.txt").write_text("new")
    assert sorted(os.listdir(out)) == ["keep.txt", "old.txt"]
    assert (out / "old.txt").read_text() == "new"
    assert os.listdir(tmp_path) == ["existing"]


def test_output_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(SpecError, match="not a directory"), atomic_output_dir(tmp_path / "file"):
        pass


def test_write_text_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is a directory"):
        atomic_write_text(tmp_path, "x")
    assert os.listdir(tmp_path) == []


def test_non_utf8_yaml(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecError, match="not a UTF-8 text file") as info:
        load_yaml(path)
    assert info.value.where == str(path)


def test_killed_runs_scratch_is_removed_by_the_next_run(tmp_path: Path) -> None:
    child = _python(
        f"""
        import time
        from sparsim.io import atomic_output_dir
        with atomic_output_dir({str(tmp_path / "out")!r}) as scratch:
            print(scratch, flush=True)
            time.sleep(60)
        """
    )
    scratch = Path(child.stdout.readline().strip())
    assert scratch.is_dir() and scratch.name.startswith(SCRATCH_PREFIX)
    child.kill()  # SIGKILL: no cleanup code runs
    child.wait()
    assert scratch.is_dir()
    live = tmp_path / f"{SCRATCH_PREFIX}live"  # another run's, still going: kept
    live.mkdir()
    (live / ".owner").write_text(str(os.getpid()))
    with atomic_output_dir(tmp_path / "out") as fresh:
        (fresh / "r.txt").write_text("r")
    assert not scratch.exists() and live.is_dir()
    assert sorted(os.listdir(tmp_path)) == sorted(["out", live.name])


def test_terminated_run_cleans_up(tmp_path: Path) -> None:
    """SIGTERM (a plain `kill`) unwinds the CLI's context managers like Ctrl-C."""
    child = _python(
        f"""
        import time
        from sparsim.io import atomic_output_dir
        from sparsim.cli import exit_on_terminate
        exit_on_terminate()
        with atomic_output_dir({str(tmp_path / "out")!r}) as scratch:
            print(scratch, flush=True)
            time.sleep(60)
        """
    )
    scratch = Path(child.stdout.readline().strip())
    child.send_signal(signal.SIGTERM)
    assert child.wait() == 128 + signal.SIGTERM
    assert not scratch.exists() and os.listdir(tmp_path) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_a_killed_parent() -> None:
    child = _python(
        """
        import os, time
        from sparsim.processes import worker_pool
        pool = worker_pool(2)
        futures = [pool.submit(os.getpid) for _ in range(8)]
        print(" ".join(map(str, {f.result() for f in futures})), flush=True)
        time.sleep(60)
        """
    )
    _kill_and_check_workers(child)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_sweep_workers_die_with_a_killed_sweep() -> None:
    """The sweep's (and the studies') local backend: its workers go with a killed run."""
    child = _python(
        """
        import os, time
        from sparsim.sweep.backends import run_processes

        def pid(task):
            time.sleep(0.2)
            return os.getpid()

        finished = run_processes([[] for _ in range(100)], 2, pid)
        print(" ".join(str(next(finished)[1]) for _ in range(6)), flush=True)
        time.sleep(60)
        """
    )
    _kill_and_check_workers(child)


def test_output_mode_follows_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "spec.yaml", "x\n")
    finally:
        os.umask(previous)
    assert (tmp_path / "spec.yaml").stat().st_mode & 0o777 == 0o640


def test_a_symlink_is_written_through_and_stays_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real.yaml").write_text("old\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    atomic_write_text(tmp_path / "link.yaml", "new\n")
    assert (tmp_path / "link.yaml").is_symlink()
    assert (tmp_path / "real.yaml").read_text() == "new\n"
    assert sorted(os.listdir(tmp_path)) == ["link.yaml", "real.yaml"]


def test_dash_is_standard_output(capsys) -> None:
    atomic_write_text("-", "on stdout\n")
    assert capsys.readouterr().out == "on stdout\n"


@pytest.mark.skipif(not Path("/proc/self/fd/1").exists(), reason="no /proc")
def test_save_spec_onto_a_link_to_standard_output_is_refused(tmp_path: Path) -> None:
    """The link names this run's stdout (a pipe): refused, and the link left as it was."""
    link = tmp_path / "out.yaml"
    link.symlink_to("/proc/self/fd/1")
    child = subprocess.run(
        [sys.executable, "-m", "sparsim", "evaluate", "--design", "stc",
         "--gemm", "M=8,K=8,N=8", "--save-spec", str(link)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)},
    )  # fmt: skip
    assert child.returncode == 2 and child.stdout == ""
    assert "FIFO" in child.stderr and len(child.stderr.strip().splitlines()) == 1
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"
