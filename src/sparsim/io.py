"""File input/output that fails cleanly: YAML errors name the file, outputs are never half-written."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import yaml

from sparsim.errors import SparsimError

# libyaml's parser is about ten times faster; fall back to the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: str | os.PathLike[str], only_keys: Collection[str] | None = None) -> Any:
    """Parse a YAML file; a missing file or a syntax error becomes a one-line SparsimError.

    ``only_keys`` skips the other top-level blocks of a block-style mapping before parsing
    (Sparseloop's aggregated inputs spend most of their lines on component libraries that
    the model never reads); if the cut text does not parse, the whole file is parsed.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SparsimError("file not found", str(path)) from None
    except OSError as exc:
        raise SparsimError(f"cannot read file ({exc.strerror})", str(path)) from None
    if only_keys is not None:
        with contextlib.suppress(yaml.YAMLError):
            return yaml.load(_top_level_blocks(text, only_keys), Loader=_YAML_LOADER)
    try:
        return yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise SparsimError(f"malformed YAML: {problem}", where) from None


_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:", re.MULTILINE)


def _top_level_blocks(text: str, keys: Collection[str]) -> str:
    """The lines of the wanted top-level keys' blocks (a block runs to the next key)."""
    starts = [(m.start(), m.group(1)) for m in _TOP_LEVEL_KEY.finditer(text)]
    preface = text[: starts[0][0]] if starts else text
    if any(line.strip() and not line.lstrip().startswith("#") for line in preface.splitlines()):
        return text  # not a plain block mapping (a document marker, flow style...): keep all
    ends = [start for start, _ in starts[1:]] + [len(text)]
    return "".join(
        text[start:end] for (start, key), end in zip(starts, ends, strict=True) if key in keys
    )


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
