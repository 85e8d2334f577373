"""The results store: a directory of Parquet chunks, one row per point, keyed by point.

A chunk is written to a hidden temporary file and renamed into place, so a reader (or a
rerun after ``kill -9``) sees whole chunks or nothing; leftovers of a killed write are
hidden files, removed by the next run. A point is done once a chunk holds its key, so a
rerun computes exactly the missing points, and a key already stored is never written again.

The store belongs to the sweep configs recorded in its ``_sparsim_store.json`` (each by
the hash of its point keys: two configs are the same when they define the same points, files
by content): a run of another config is refused unless asked to ``append``. One run at a
time writes a store (a lock the kernel releases when the run dies, however it dies).
:func:`read_store` checks every chunk and that no point is stored twice.

Read it with pandas (``pd.read_parquet(out)``) or :func:`read_store`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sparsim.errors import OutputError, StoreError
from sparsim.io import atomic_write_text, read_text

CHUNK_PREFIX = "part-"
KEY = "point_key"
MANIFEST = "_sparsim_store.json"  # "_": pandas and pyarrow skip it when reading the folder
LOCK = ".sparsim-store.lock"
FORMAT = 1


def _chunks(out: Path) -> list[Path]:
    return sorted(out.glob(f"{CHUNK_PREFIX}*.parquet"))


def config_hash(keys: Iterable[str]) -> str:
    """A sweep config's identity in a store: the hash of the set of its point keys."""
    return hashlib.sha256("\n".join(sorted(set(keys))).encode()).hexdigest()[:24]


def stored_keys(out: Path) -> set[str]:
    """Keys of the points already in the store (only the key column is read)."""
    keys: set[str] = set()
    for chunk in _chunks(out):
        try:
            keys.update(pq.read_table(chunk, columns=[KEY]).column(KEY).to_pylist())
        except (pa.ArrowInvalid, OSError, KeyError) as exc:
            raise StoreError(f"not a sweep results chunk ({exc})", str(chunk)) from None
    return keys


def read_store(out: str | os.PathLike[str], keys: Iterable[str] | None = None) -> pd.DataFrame:
    """Every row in the store (or only the given points', in that order), after checking
    that every chunk is readable and no point is stored twice."""
    out = Path(out)
    if not out.is_dir():
        raise StoreError("no results store here (not a directory)", str(out))
    frames, names = [], []
    for chunk in _chunks(out):
        try:
            frame = pq.read_table(chunk).to_pandas()
        except (pa.ArrowInvalid, OSError) as exc:
            raise StoreError(f"damaged chunk ({exc})", str(chunk)) from None
        if KEY not in frame:
            raise StoreError(f"not a sweep results chunk (no {KEY} column)", str(chunk))
        frames.append(frame)
        names += [chunk.name] * len(frame)
    if not frames:
        return pd.DataFrame({KEY: []})
    frame = pd.concat(frames, ignore_index=True)
    twice = frame[KEY].duplicated(keep=False)
    if twice.any():
        key = frame.loc[twice, KEY].iloc[0]
        where = sorted({name for name, k in zip(names, frame[KEY], strict=True) if k == key})
        raise StoreError(
            f"point {key} is stored twice (chunks {', '.join(where)}): the store is damaged",
            str(out),
        )
    if keys is None:
        return frame
    positions = pd.Index(frame[KEY]).get_indexer(list(keys))
    return frame.iloc[positions[positions >= 0]].reset_index(drop=True)


def check_writable(out: Path) -> None:
    """Fail before any work when the store cannot be created or written."""
    if not str(out).strip():
        raise OutputError("empty folder name", str(out))
    if out.exists() and not out.is_dir():
        raise OutputError("expected a directory for the results store", str(out))
    existing = next(p for p in (out.absolute(), *out.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise OutputError(f"{existing} is not a directory", str(out))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError("cannot write here (permission denied)", str(out))


def _lock(out: Path) -> int:
    """Hold the store's lock (a file descriptor), or refuse: another run writes it."""
    path = out / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror})", str(out)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise StoreError(
                "another sparsim sweep is writing this store now: wait for it to finish, "
                "or use another --out",
                str(out),
            ) from None
        raise OutputError(f"cannot lock the store ({exc.strerror})", str(out)) from None
    try:
        same = os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        same = False
    if not same:  # the run before us removed the lock file as we opened it: try again
        os.close(fd)
        return _lock(out)
    return fd


def _manifest(out: Path) -> dict[str, Any] | None:
    path = out / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(read_text(path))
        if data.get("format") != FORMAT or not isinstance(data.get("configs"), list):
            raise ValueError("unknown format")
        hashes = [config["hash"] for config in data["configs"]]
        if not all(isinstance(h, str) for h in hashes):
            raise ValueError("unknown format")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StoreError(f"not a sparsim store record ({exc})", str(path)) from None
    return data


def _admit(out: Path, owner: dict[str, Any], keys: set[str], append: bool) -> None:
    """Check that the store belongs to this config (or record that it does)."""
    manifest = _manifest(out)
    if manifest is None:
        manifest = {"format": FORMAT, "configs": []}
        held = stored_keys(out)
        if held and not held <= keys and not append:  # a store of an older sparsim
            raise StoreError(
                "holds results of another sweep config: use another --out, or --append to "
                "add this config's points to it",
                str(out),
            )
    elif owner["hash"] in {config["hash"] for config in manifest["configs"]}:
        return
    elif not append:
        first = manifest["configs"][0] if manifest["configs"] else {}
        raise StoreError(
            f"holds the results of another sweep config ({first.get('points', '?')} points "
            f"from {first.get('source', '?')}): use another --out, or --append to add this "
            "config's points to the same store",
            str(out),
        )
    manifest["configs"].append(owner)
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")


@contextlib.contextmanager
def open_store(
    out: Path, keys: Iterable[str], source: str, append: bool = False
) -> Iterator[set[str]]:
    """Hold ``out`` for one run of the config whose points are ``keys``: locked, checked to
    belong to that config (or, with ``append``, recorded as one more of its configs), and
    yield the keys it holds already. A store that this run created and left without a row
    is removed again."""
    keys = set(keys)
    check_writable(out)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror})", str(out)) from None
    fd = _lock(out)
    try:
        try:
            owner = {"hash": config_hash(keys), "points": len(keys), "source": source}
            _admit(out, owner, keys, append)
            yield stored_keys(out)
        finally:
            if created and not _chunks(out):
                shutil.rmtree(out, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    (out / LOCK).unlink()  # while held: a run starting now sees it gone
    finally:
        os.close(fd)


class ChunkWriter:
    """Buffers finished rows and writes them as a chunk every ``chunk_rows`` rows or
    ``interval`` seconds, whichever comes first (and on :meth:`flush`). A row whose point
    is stored already (``stored``) is never written again."""

    def __init__(
        self, out: Path, chunk_rows: int, interval: float = 10.0, stored: set[str] | None = None
    ):
        self.out = out
        self.chunk_rows = chunk_rows
        self.interval = interval
        self.rows: list[dict[str, Any]] = []
        self.last = time.monotonic()
        self.written = 0
        self.stored = set(stored or ())
        for leftover in out.glob(f".{CHUNK_PREFIX}*"):  # a write killed before its rename
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()

    def add(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if row[KEY] not in self.stored:
                self.stored.add(row[KEY])
                self.rows.append(row)
        if len(self.rows) >= self.chunk_rows or time.monotonic() - self.last >= self.interval:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if not self.rows:
            return
        try:
            self.out.mkdir(parents=True, exist_ok=True)  # only once there is a row to keep
        except OSError as exc:
            raise OutputError(f"cannot write here ({exc.strerror})", str(self.out)) from None
        name = f"{CHUNK_PREFIX}{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        temporary = self.out / f".{name}"
        table = pa.Table.from_pandas(pd.DataFrame(self.rows), preserve_index=False)
        try:
            pq.write_table(table, temporary)
            os.replace(temporary, self.out / name)
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise OutputError(f"cannot write the store ({exc})", str(self.out)) from None
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise
        self.written += len(self.rows)
        self.rows = []
