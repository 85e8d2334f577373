"""Faults around a run: two runs into one store, a store of another config, a full disk,
kill -9 of the parent or of a worker, a Dask scheduler killed mid-run, the mapper on the
largest admitted dimension. Each either ends cleanly (one line, exit 2, nothing that looks
complete) or finishes, and a rerun resumes without losing or mixing a row."""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import sparsim
from sparsim.designs.heuristic import divisors
from sparsim.designs.mapper import _completions, _sampled_factorisations
from sparsim.errors import OutputError, StoreError, WorkerLostError
from sparsim.io import SCRATCH_PREFIX, atomic_output_dir, atomic_write_text
from sparsim.sweep import backends, plan, read_store
from sparsim.sweep.store import MANIFEST, stored_keys
from tests.robustness.conftest import deadline
from tests.robustness.hostile import EYERISS
from tests.sweep.test_resume_and_dask import POINTS as SMALL_POINTS
from tests.sweep.test_resume_and_dask import SMALL

SRC = Path(sparsim.__file__).resolve().parents[1]
LINUX = sys.platform.startswith("linux")
GONE_WITHIN_S = 5

# Long enough to be caught mid-run: every layer of ResNet-50 at twelve density points.
LONG = {
    "designs": ["dstc", "stc-flexible-dual", "stc", "tc"],
    "workloads": [{"builtin": "resnet50"}],
    "densities": {"A": [1.0, 0.8, 0.6, 0.5, 0.4, "2:4"], "B": [1.0, 0.7, 0.4]},
    "mapping": "remap",
}


def _config(folder: Path, data: dict, name: str = "sweep.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data))
    return path


def _sparsim(*argv: str, **popen) -> subprocess.Popen:
    """``sparsim ARGV`` in a child process of this tree's sparsim."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "sparsim", *argv],
        env=env,
        stdout=popen.pop("stdout", subprocess.PIPE),
        stderr=popen.pop("stderr", subprocess.PIPE),
        text=True,
        **popen,
    )


def _wait_for(condition, timeout: float = 120.0, process: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out waiting"
        if process is not None:
            assert process.poll() is None, f"ended early: {process.communicate()}"
        time.sleep(0.02)


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for its new parent to reap it has exited too)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state == "Z"


def _all_gone(pids: set[int], within: float = GONE_WITHIN_S) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if all(_gone(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def _one_line_error(process: subprocess.Popen, timeout: float = 60) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sparsim: error:"), err
    return lines[0]


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("point_key").reset_index(drop=True)


# --- the store ---------------------------------------------------------------------------


def test_two_sweeps_into_one_store_at_once(tmp_path: Path) -> None:
    """The second is refused while the first runs; the first finishes; no key twice."""
    config = _config(tmp_path, SMALL)
    out = tmp_path / "store"
    first = _sparsim("sweep", str(config), "--out", str(out), "--workers", "1", "--chunk-rows", "2")
    try:
        _wait_for(lambda: any(out.glob("part-*.parquet")), process=first)
        second = _sparsim("sweep", str(config), "--out", str(out), "--workers", "1")
        assert "another sparsim sweep is writing this store" in _one_line_error(second)
        first.communicate(timeout=300)
    finally:
        first.kill()
    assert first.returncode == 0
    stored = read_store(out)
    assert len(stored) == SMALL_POINTS and stored["point_key"].is_unique


def test_a_store_of_another_config_is_refused_unless_appended(tmp_path: Path) -> None:
    out = tmp_path / "store"
    one = {**SMALL, "designs": ["dstc"], "mapping": "fixed"}
    other = {**one, "designs": ["tc"]}
    first = sparsim.sweep(one, out, workers=1, progress=False)
    with pytest.raises(StoreError, match="holds the results of another sweep config") as info:
        sparsim.sweep(other, out, workers=1, progress=False)
    assert info.value.where == str(out)
    assert _sorted(read_store(out)).equals(_sorted(first))  # untouched
    edited = {**one, "densities": {**one["densities"], "B": [1.0, 0.5]}}
    with pytest.raises(StoreError):  # an edited config is another config
        sparsim.sweep(edited, out, workers=1, progress=False)
    appended = sparsim.sweep(other, out, workers=1, progress=False, append=True)
    assert set(appended["design"]) == {"tc"}  # a run returns its own config's rows only
    assert set(sparsim.sweep(one, out, workers=1, progress=False)["design"]) == {"dstc"}
    stored = read_store(out)
    assert len(stored) == len(first) + len(appended) and stored["point_key"].is_unique
    assert len(yaml.safe_load((out / MANIFEST).read_text())["configs"]) == 2


def test_reading_a_store_verifies_it(tmp_path: Path) -> None:
    out = tmp_path / "store"
    sparsim.sweep({**SMALL, "mapping": "fixed"}, out, workers=1, progress=False, chunk_rows=10)
    chunk = sorted(out.glob("part-*.parquet"))[0]
    shutil.copy(chunk, out / "part-99999999999999999999-copy.parquet")  # a point twice
    with pytest.raises(StoreError, match="stored twice"):
        read_store(out)
    (out / "part-99999999999999999999-copy.parquet").write_bytes(b"half a chunk")
    with pytest.raises(StoreError, match="damaged chunk"):
        read_store(out)


def test_a_failed_first_run_leaves_no_store(tmp_path: Path, monkeypatch) -> None:
    def lost(task):
        raise WorkerLostError("the workers are gone", "workers")

    monkeypatch.setattr(backends, "evaluate_task", lost)
    out = tmp_path / "store"
    with pytest.raises(WorkerLostError):
        sparsim.sweep(SMALL, out, workers=1, progress=False)
    assert not out.exists()


# --- full disks ----------------------------------------------------------------------------


@contextlib.contextmanager
def _small_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``folder`` (root only; the test is skipped otherwise)."""
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root (the RLIMIT_FSIZE tests cover full disks)")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path, leave: int = 0) -> None:
    """Fill the file system of ``folder`` but ``leave`` bytes."""
    with open(folder / "ballast", "wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 4096)
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    if leave:
        size = (folder / "ballast").stat().st_size
        os.truncate(folder / "ballast", max(0, size + free - leave))


FULL_DISK_RUNS = {
    "evaluate --save-spec": ["evaluate", "--design", "stc", "--gemm", "M=64,K=64,N=64",
                             "--save-spec", "{out}/spec.yaml"],
    "tasder workloads": ["tasder", "workloads", "--builtin", "bert-base", "--out", "{out}/w.csv"],
    "tasd decompose": ["tasd", "decompose", "--random", "256x256", "--series", "2:4+2:8",
                       "--out", "{out}/d"],
    "sweep": ["sweep", "{config}", "--out", "{out}/s", "--workers", "1"],
}  # fmt: skip


def _check_full_disk_run(argv: list[str], out: Path, preexec=None) -> None:
    before = sorted(os.listdir(out))
    process = _sparsim(*argv, preexec_fn=preexec)
    error = _one_line_error(process, timeout=120)
    assert any(word in error for word in ("No space", "too large", "quota")), error
    left = sorted(set(os.listdir(out)) - set(before))
    # Nothing that looks complete: no output file, no scratch; a sweep keeps an empty
    # store only if a chunk made it (whole chunks only).
    assert not [name for name in left if name.startswith((SCRATCH_PREFIX, "."))], left
    for name in left:
        assert name == "s", left
        assert read_store(out / "s")["point_key"].is_unique


@pytest.mark.skipif(not LINUX, reason="RLIMIT_FSIZE and SIGXFSZ as on Linux")
@pytest.mark.parametrize("name", FULL_DISK_RUNS)
def test_a_write_beyond_the_file_size_limit_is_one_line(tmp_path: Path, name: str) -> None:
    """The kernel refuses every write beyond 1 KiB (EFBIG), as a full disk would (no root
    needed): one line, exit 2, nothing half-written."""
    config = _config(tmp_path, {**SMALL, "mapping": "fixed"})
    out = tmp_path / "out"
    out.mkdir()

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    argv = [
        a.replace("{out}", str(out)).replace("{config}", str(config)) for a in FULL_DISK_RUNS[name]
    ]
    _check_full_disk_run(argv, out, preexec=limit)


@pytest.mark.parametrize("name", FULL_DISK_RUNS)
def test_a_full_tmpfs_is_one_line(tmp_path: Path, name: str) -> None:
    config = _config(tmp_path, {**SMALL, "mapping": "fixed"})
    with _small_tmpfs(tmp_path / "disk", "64k") as disk:
        _fill(disk, leave=2048)
        argv = [
            a.replace("{out}", str(disk)).replace("{config}", str(config))
            for a in FULL_DISK_RUNS[name]
        ]
        _check_full_disk_run(argv, disk)


def test_no_scratch_left_with_zero_bytes_free(tmp_path: Path) -> None:
    with _small_tmpfs(tmp_path / "disk", "64k") as disk:
        _fill(disk)
        with pytest.raises(OutputError), atomic_output_dir(disk / "study") as scratch:
            (scratch / "table.csv").write_text("x" * 100_000)
        assert sorted(os.listdir(disk)) == ["ballast"]


# --- scratch of dead runs ------------------------------------------------------------------


def test_any_later_write_in_the_folder_removes_dead_runs_scratch(tmp_path: Path) -> None:
    """A killed run's scratch folder and temporary file (named by their dead owner) go with
    the next write of any output into the same folder."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    (tmp_path / f"{SCRATCH_PREFIX}{dead}.1-abc").mkdir()
    (tmp_path / f"{SCRATCH_PREFIX}{dead}.1-def-spec.yaml").write_text("half")
    live = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}.-ghi"
    live.mkdir()
    atomic_write_text(tmp_path / "spec.yaml", "whole\n")
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, "spec.yaml"])


# --- killed runs ---------------------------------------------------------------------------


def _started_workers(process: subprocess.Popen, count: int) -> set[int]:
    workers: set[int] = set()

    def enough() -> bool:
        workers.update(_children(process.pid))
        return len(workers) >= count

    _wait_for(enough, process=process)
    return workers


@pytest.mark.skipif(not LINUX, reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("command", ["sweep", "study"])
def test_kill_9_of_the_parent_leaves_no_process_and_closes_its_pipes(
    tmp_path: Path, command: str
) -> None:
    if command == "sweep":
        argv = [
            "sweep",
            str(_config(tmp_path, LONG)),
            "--out",
            str(tmp_path / "s"),
            "--workers",
            "2",
        ]
    else:
        argv = ["study", "sparsity-types", "--quick", "--jobs", "2", "--out", str(tmp_path / "s")]
    process = _sparsim(*argv)
    workers = _started_workers(process, 2)
    process.kill()
    process.wait()
    assert _all_gone(workers), [pid for pid in workers if not _gone(pid)]
    with deadline(GONE_WITHIN_S):  # every writer of its pipes is gone: end of file at once
        process.stdout.read()
        process.stderr.read()


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_ctrl_c_ends_a_run_and_its_workers_at_once(tmp_path: Path) -> None:
    """SIGINT to the whole process group, as a terminal sends it."""
    argv = ["sweep", str(_config(tmp_path, LONG)), "--out", str(tmp_path / "s"), "--workers", "2"]
    process = _sparsim(*argv, start_new_session=True)
    workers = _started_workers(process, 2)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=GONE_WITHIN_S + 10)
    assert process.returncode == 130 and err.strip() == "sparsim: interrupted", err
    assert _all_gone(workers)
    if (tmp_path / "s").exists():  # a store without a row yet is removed
        assert read_store(tmp_path / "s")["point_key"].is_unique  # whole chunks only


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_kill_9_of_a_worker_ends_the_run_cleanly_and_a_rerun_finishes(tmp_path: Path) -> None:
    config = _config(tmp_path, SMALL)
    out = tmp_path / "s"
    argv = ["sweep", str(config), "--out", str(out), "--workers", "2", "--chunk-rows", "2"]
    process = _sparsim(*argv)
    workers = _started_workers(process, 2)
    _wait_for(lambda: any(out.glob("part-*.parquet")), process=process)
    os.kill(min(workers), signal.SIGKILL)
    error = _one_line_error(process, timeout=GONE_WITHIN_S + 10)
    assert "a worker process died" in error
    assert _all_gone(workers)
    kept = read_store(out)
    assert len(kept) > 0 and kept["point_key"].is_unique
    rerun = _sparsim(*argv)
    rerun.communicate(timeout=600)
    assert rerun.returncode == 0
    stored = read_store(out)
    assert stored["point_key"].is_unique and set(kept["point_key"]) <= set(stored["point_key"])
    assert len(stored) == len(plan(str(config))[0])


# --- Dask ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _dask(*argv: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_" + argv[0], *argv[1:]],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_a_dask_scheduler_killed_mid_run_is_one_line_and_a_rerun_resumes(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
    worker = _dask("worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                   "--host", "127.0.0.1")  # fmt: skip
    try:
        config = _config(tmp_path, SMALL)
        out = tmp_path / "s"
        _wait_for(lambda: _reachable(port), timeout=60)
        run = _sparsim("sweep", str(config), "--out", str(out), "--scheduler", address,
                       "--chunk-rows", "2")  # fmt: skip
        _wait_for(lambda: any(out.glob("part-*.parquet")), timeout=180, process=run)
        scheduler.kill()
        error = _one_line_error(run, timeout=120)
        assert "lost the Dask cluster" in error and "--scheduler" in error
    finally:
        for process in (scheduler, worker):
            process.kill()
            process.wait()
    kept = read_store(out)
    assert len(kept) > 0 and kept["point_key"].is_unique
    resumed = sparsim.sweep(config, out, workers=2, progress=False)
    whole = sparsim.sweep(config, tmp_path / "whole", workers=2, progress=False)
    assert _sorted(resumed).equals(_sorted(whole))
    assert len(stored_keys(out)) == len(whole)


def _reachable(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


# --- the largest dimensions ----------------------------------------------------------------


@pytest.mark.parametrize("m", [2**31 - 1, pytest.param(1_102_701_600, marks=pytest.mark.slow)])
def test_the_mapper_on_the_largest_dimensions_answers(tmp_path: Path, m: int) -> None:
    """A prime near 2^31 (the divisor loop was O(n): no answer after 400 s) and a size with
    1,536 divisors (trillions of factorisations over eyeriss-like's loop slots: sampled)."""
    data = yaml.safe_load(EYERISS.read_text())
    data["workload"] = {"kind": "gemm", "name": "big", "M": m, "K": 1, "N": 1}
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(data))
    with deadline(60):
        found = sparsim.map(str(path), top_k=1)
    assert found.result.computes.actual == m
    assert _factor_product(found.spec, "M") == m


def _factor_product(spec: sparsim.Spec, dim: str) -> int:
    product = 1
    for level in spec.mapping.levels:
        product *= level.temporal.get(dim, 1) * level.spatial.get(dim, 1)
    return product


@given(st.integers(1, 720), st.lists(st.integers(1, 12), min_size=1, max_size=4), st.integers(0, 9))
def test_completion_counts_and_samples_match_brute_force(size, caps, seed) -> None:
    """The mapper's exact counts of factorisations over slots (each slot's values capped),
    and its uniform samples: every sample multiplies to the size within the options."""
    divisor_list = np.array(divisors(size), dtype=np.int64)
    options = [[d for d in divisors(size) if d <= cap * seed + cap] for cap in caps]
    every = [combo for combo in itertools.product(*options) if math.prod(combo) == size]
    ways = _completions(divisor_list, options)
    assert ways[0][-1] == len(every)
    if every:
        sampled = _sampled_factorisations(divisor_list, options, ways, 50)
        assert {tuple(row) for row in sampled.tolist()} <= set(every)
