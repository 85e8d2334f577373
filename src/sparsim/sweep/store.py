"""The results store: a directory of Parquet chunks, one row per point, keyed by point.

A chunk is written to a hidden temporary file and renamed into place, so a reader (or a
rerun after ``kill -9``) sees whole chunks or nothing; leftovers of a killed write are
hidden files, removed by the next run. A point is done once a chunk holds its key, so a
rerun computes exactly the missing points and no row is ever written twice.

Read it with pandas (``pd.read_parquet(out)``) or :func:`read_store`.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sparsim.errors import SparsimError

CHUNK_PREFIX = "part-"
KEY = "point_key"


def _chunks(out: Path) -> list[Path]:
    return sorted(out.glob(f"{CHUNK_PREFIX}*.parquet"))


def stored_keys(out: Path) -> set[str]:
    """Keys of the points already in the store (only the key column is read)."""
    keys: set[str] = set()
    for chunk in _chunks(out):
        try:
            keys.update(pq.read_table(chunk, columns=[KEY]).column(KEY).to_pylist())
        except (pa.ArrowInvalid, OSError, KeyError) as exc:
            raise SparsimError(f"not a sweep results chunk ({exc})", str(chunk)) from None
    return keys


def read_store(out: str | os.PathLike[str], keys: Iterable[str] | None = None) -> pd.DataFrame:
    """Every row in the store (or only the given points', in that order)."""
    out = Path(out)
    frames = [pq.read_table(chunk).to_pandas() for chunk in _chunks(out)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({KEY: []})
    if keys is None:
        return frame
    positions = pd.Index(frame[KEY]).get_indexer(list(keys))
    return frame.iloc[positions[positions >= 0]].reset_index(drop=True)


def check_writable(out: Path) -> None:
    """Fail before any work when the store cannot be created or written."""
    if out.exists() and not out.is_dir():
        raise SparsimError("expected a directory for the results store", str(out))
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SparsimError("cannot write here (permission denied)", str(out))


class ChunkWriter:
    """Buffers finished rows and writes them as a chunk every ``chunk_rows`` rows or
    ``interval`` seconds, whichever comes first (and on :meth:`flush`)."""

    def __init__(self, out: Path, chunk_rows: int, interval: float = 10.0):
        self.out = out
        self.chunk_rows = chunk_rows
        self.interval = interval
        self.rows: list[dict[str, Any]] = []
        self.last = time.monotonic()
        self.written = 0
        for leftover in out.glob(f".{CHUNK_PREFIX}*"):  # a write killed before its rename
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()

    def add(self, rows: list[dict[str, Any]]) -> None:
        self.rows.extend(rows)
        if len(self.rows) >= self.chunk_rows or time.monotonic() - self.last >= self.interval:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if not self.rows:
            return
        try:
            self.out.mkdir(parents=True, exist_ok=True)  # only once there is a row to keep
        except OSError as exc:
            raise SparsimError(f"cannot write here ({exc.strerror})", str(self.out)) from None
        name = f"{CHUNK_PREFIX}{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        temporary = self.out / f".{name}"
        table = pa.Table.from_pandas(pd.DataFrame(self.rows), preserve_index=False)
        try:
            pq.write_table(table, temporary)
            os.replace(temporary, self.out / name)
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise SparsimError(f"cannot write the store ({exc})", str(self.out)) from None
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise
        self.written += len(self.rows)
        self.rows = []
