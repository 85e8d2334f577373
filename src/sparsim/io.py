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

from sparsim.errors import SpecError

# libyaml's parser is about ten times faster; fall back to the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_shipped_yaml(text: str) -> Any:
    """YAML shipped inside the package (no user error to locate), with the fast loader."""
    return yaml.load(text, Loader=_YAML_LOADER)


def load_yaml(path: str | os.PathLike[str], only_keys: Collection[str] | None = None) -> Any:
    """Parse a YAML file; a missing, unreadable or non-UTF-8 file or a syntax error becomes a
    one-line SpecError naming the file.

    ``only_keys`` skips the other top-level blocks of a block-style mapping before parsing
    (Sparseloop's aggregated inputs spend most of their lines on component libraries that
    the model never reads); if the cut text does not parse, the whole file is parsed.
    """
    path = Path(path)
    text = read_text(path)
    if only_keys is not None:
        with contextlib.suppress(yaml.YAMLError):
            return yaml.load(_top_level_blocks(text, only_keys), Loader=_YAML_LOADER)
    try:
        return yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise SpecError(f"malformed YAML: {problem}", where) from None


def read_text(path: str | os.PathLike[str]) -> str:
    """A UTF-8 text file's content; a missing, unreadable or binary file is a SpecError."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("file not found", str(path)) from None
    except IsADirectoryError:
        raise SpecError("is a directory, expected a file", str(path)) from None
    except OSError as exc:
        raise SpecError(f"cannot read file ({exc.strerror})", str(path)) from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"not a UTF-8 text file (byte {exc.start}: {exc.object[exc.start : exc.start + 1]!r})",
            str(path),
        ) from None


_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:", re.MULTILINE)


def _top_level_blocks(text: str, keys: Collection[str]) -> str:
    """The lines of the wanted top-level keys' blocks (a block runs to the next key)."""
    starts = [(m.start(), m.group(1)) for m in _TOP_LEVEL_KEY.finditer(text)]
    if not starts:
        return text
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
        raise SpecError(f"cannot write here ({exc.strerror})", str(path)) from None


SCRATCH_PREFIX = ".sparsim-partial-"
_OWNER = ".owner"  # the process id of the run writing a scratch folder


@contextlib.contextmanager
def atomic_output_dir(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a scratch directory whose files land in ``out_dir`` only if the block succeeds.

    Files already in ``out_dir`` that the block does not write are kept. The scratch lives
    on the same file system as its destination (inside ``out_dir`` when it exists, which may
    be a mount point; beside it otherwise), so the final renames never cross devices. A run
    killed outright leaves at most one ``.sparsim-partial-*`` folder, which the next run
    into the same place removes.
    """
    out_dir = Path(out_dir)
    with _cannot_write(out_dir):
        if out_dir.exists() and not out_dir.is_dir():
            raise SpecError("exists and is not a directory", str(out_dir))
        home = out_dir if out_dir.is_dir() else out_dir.parent
        home.mkdir(parents=True, exist_ok=True)
        _remove_stale_scratch(home)
        scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=home))
        (scratch / _OWNER).write_text(str(os.getpid()))
    try:
        yield scratch
        with _cannot_write(out_dir):
            (scratch / _OWNER).unlink()
            if not out_dir.exists():
                os.rename(scratch, out_dir)  # the whole folder appears at once
                return
            for item in scratch.iterdir():
                target = out_dir / item.name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                os.replace(item, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _remove_stale_scratch(home: Path) -> None:
    """Scratch folders of killed runs: their owner process no longer exists."""
    for stale in home.glob(f"{SCRATCH_PREFIX}*"):
        try:
            pid = int((stale / _OWNER).read_text())
        except (OSError, ValueError):
            continue  # not ours, or being created right now
        if not _alive(pid):
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a text file via a temporary file beside it and rename, so readers never see half
    of it (beside it: the rename stays on one file system)."""
    path = Path(path)
    with _cannot_write(path):
        if path.is_dir():
            raise SpecError("is a directory, expected a file name", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:200]}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        with _cannot_write(path):
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
