"""A sweep killed with SIGKILL and rerun equals an uninterrupted one, row for row; a real
Dask LocalCluster (two workers, loopback) gives the same rows as local evaluation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sparsim
from sparsim.sweep import read_store
from sparsim.sweep.store import stored_keys

SMALL = {
    "designs": ["dstc", "stc-flexible-dual"],
    "workloads": [{"gemm": f"M={m},K=64,N=32"} for m in (32, 48, 64, 80)],
    "densities": {"A": [1.0, 0.8, 0.6, "2:4"], "B": [1.0, 0.7, 0.4]},
    "mapping": "remap",
}
POINTS = 2 * 4 * 4 * 3


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("point_key").reset_index(drop=True)


def test_kill_9_halfway_then_rerun_equals_an_uninterrupted_run(tmp_path):
    config = tmp_path / "sweep.yaml"
    config.write_text(yaml.safe_dump(SMALL))
    out = tmp_path / "killed"
    src = str(Path(sparsim.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    argv = [sys.executable, "-m", "sparsim", "sweep", str(config), "--out", str(out)]
    argv += ["--workers", "1", "--chunk-rows", "4", "--no-progress"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("part-*.parquet"))) < 2 and time.monotonic() < deadline:
            assert process.poll() is None, "the sweep finished before it could be killed"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    partial = read_store(out)
    assert 0 < len(partial) < POINTS and partial["point_key"].is_unique

    resumed = sparsim.sweep(config, out, workers=1, progress=False)
    uninterrupted = sparsim.sweep(config, tmp_path / "whole", workers=1, progress=False)
    assert len(resumed) == POINTS
    assert _sorted(resumed).equals(_sorted(uninterrupted))
    stored = read_store(out)
    assert len(stored) == POINTS and stored["point_key"].is_unique
    assert set(partial["point_key"]) <= stored_keys(out)


def test_dask_local_cluster_gives_identical_rows_and_store(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    config = {**SMALL, "mapping": "fixed"}
    half = {**config, "designs": ["dstc"]}
    local = sparsim.sweep(config, tmp_path / "local", workers=1, progress=False)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        first = sparsim.sweep(
            half, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False
        )
    assert len(first) == POINTS // 2
    # The rest of the sweep goes into the same store (another config: only with append) on
    # an in-process LocalCluster.
    on_dask = sparsim.sweep(
        config, tmp_path / "dask", backend="dask", workers=2, progress=False, append=True
    )
    assert _sorted(on_dask).equals(_sorted(local))
    assert _sorted(read_store(tmp_path / "dask")).equals(_sorted(read_store(tmp_path / "local")))
