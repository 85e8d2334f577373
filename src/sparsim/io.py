"""File input/output that fails cleanly: YAML errors name the file, outputs are never half-written."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from sparsim.errors import SparsimError

# libyaml's parser is about ten times faster; fall back to the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: str | os.PathLike[str]) -> Any:
    """Parse a YAML file; a missing file or a syntax error becomes a one-line SparsimError."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SparsimError("file not found", str(path)) from None
    except OSError as exc:
        raise SparsimError(f"cannot read file ({exc.strerror})", str(path)) from None
    try:
        return yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise SparsimError(f"malformed YAML: {problem}", where) from None


@contextlib.contextmanager
def _cannot_write(path: Path) -> Iterator[None]:
    """An output location we cannot create is bad input, named by its path."""
    try:
        yield
    except OSError as exc:
        raise SparsimError(f"cannot write here ({exc.strerror})", str(path)) from None


@contextlib.contextmanager
def atomic_output_dir(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a scratch directory that replaces ``out_dir`` only if the block succeeds.

    Files already in ``out_dir`` that the block does not write are kept.
    """
    out_dir = Path(out_dir)
    with _cannot_write(out_dir):
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        yield scratch
        out_dir.mkdir(exist_ok=True)
        for item in scratch.iterdir():
            target = out_dir / item.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a text file via a temporary file and rename, so readers never see half of it."""
    path = Path(path)
    with _cannot_write(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
