"""File input/output that fails cleanly: inputs are regular files of bounded size, YAML is
parsed with bounds, errors name the file, and outputs are never half-written nor swapped in
for what is not theirs.

Inputs: :func:`input_file` refuses what is not a regular file (a FIFO would block forever,
``/dev/zero`` never ends) and files beyond the size limit, before anything is read;
:func:`load_yaml` refuses alias bombs ("billion laughs"), self-referencing documents and
nesting beyond :data:`sparsim.limits.MAX_YAML_DEPTH`.

Outputs: :func:`atomic_write_text` and :func:`atomic_output_dir` write beside their
destination and rename into place, so a reader, a full disk or a kill never leaves half a
file. They replace only a regular file (or nothing): a directory, device, FIFO or socket at
the path is refused, a symlink is followed to the file it names, and ``-`` is standard
output. Scratch files and folders carry their owner's process id, so any later run that
writes into the same folder removes those of runs that died.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import yaml

from sparsim.errors import FULL_DISK_ERRNOS, OutputError, SpecError
from sparsim.limits import (
    MAX_TEXT_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    check_at_most,
)

# libyaml's parser is about ten times faster; fall back to the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_shipped_yaml(text: str) -> Any:
    """YAML shipped inside the package (no user error to locate), with the fast loader."""
    return yaml.load(text, Loader=_YAML_LOADER)


# --- inputs ------------------------------------------------------------------------------


def _kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "special file"


def input_file(
    path: str | os.PathLike[str], limit: int = MAX_TEXT_BYTES, where: str | None = None
) -> Path:
    """``path``, checked to be a readable regular file of at most ``limit`` bytes, before
    anything reads it (a FIFO or device is refused, never opened)."""
    where = where or os.fspath(path)
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise SpecError("file not found", where) from None
    except OSError as exc:  # e.g. a name over the file system's 255 characters
        raise SpecError(f"cannot read file ({exc.strerror})", where) from None
    if stat.S_ISDIR(info.st_mode):
        raise SpecError("is a directory, expected a file", where)
    if not stat.S_ISREG(info.st_mode):
        raise SpecError(
            f"is a {_kind(info.st_mode)}, not a regular file (sparsim reads regular files only)",
            where,
        )
    check_at_most(info.st_size, limit, "file size in bytes", where)
    return Path(path)


def read_bytes(
    path: str | os.PathLike[str], limit: int = MAX_TEXT_BYTES, where: str | None = None
) -> bytes:
    """A regular file's content, at most ``limit`` bytes (see :func:`input_file`)."""
    where = where or os.fspath(path)
    input_file(path, limit, where)
    try:
        # O_NONBLOCK: a FIFO put in the file's place since the check must not block.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise SpecError("is not a regular file (sparsim reads regular files only)", where)
            data = handle.read(limit + 1)
    except OSError as exc:
        raise SpecError(f"cannot read file ({exc.strerror})", where) from None
    check_at_most(len(data), limit, "file size in bytes", where)  # it grew since the check
    return data


def read_text(path: str | os.PathLike[str], where: str | None = None) -> str:
    """A UTF-8 text file's content; a missing, unreadable, special or binary file is a
    SpecError, one over the size limit a ResourceLimitError."""
    where = where or os.fspath(path)
    data = read_bytes(path, MAX_TEXT_BYTES, where)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"not a UTF-8 text file (byte {exc.start}: {exc.object[exc.start : exc.start + 1]!r})",
            where,
        ) from None


class _Unbounded(Exception):
    """A YAML document beyond the bounds (not a yaml.YAMLError: never taken for a syntax
    error)."""

    def __init__(self, message: str, limit: bool):
        super().__init__(message)
        self.limit = limit


def _check_graph(root: yaml.Node) -> None:
    """Refuse a node graph that expands (aliases followed) to more than MAX_YAML_NODES
    nodes, nests deeper than MAX_YAML_DEPTH, refers to itself or gives a key twice in one
    mapping, before anything is constructed from it: the graph is walked once per distinct
    node."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            depths[key] = 1 + max((depths[id(c)] for c in children), default=0)
            if sizes[key] > MAX_YAML_NODES:
                raise _Unbounded(
                    f"expands to more than {MAX_YAML_NODES:,} values (aliases followed), "
                    "sparsim's limit",
                    limit=True,
                )
            if depths[key] > MAX_YAML_DEPTH:
                raise _Unbounded(
                    f"nests deeper than {MAX_YAML_DEPTH} levels, sparsim's limit", limit=True
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _Unbounded("an alias refers to a value that contains it", limit=False)
        if isinstance(node, yaml.MappingNode):
            _check_unique_keys(node)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _check_unique_keys(node: yaml.MappingNode) -> None:
    """A key given twice in one mapping (YAML would keep the last silently)."""
    seen: set[str] = set()
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
            if key.value in seen:
                raise _Unbounded(
                    f"key {key.value!r} is given twice in one mapping (line "
                    f"{key.start_mark.line + 1})",
                    limit=False,
                )
            seen.add(key.value)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class _BoundedLoader(_YAML_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader, which checks the document's node graph before constructing it."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_graph(node)
        return self.construct_document(node)


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text from the user with the bounds of :func:`load_yaml`."""
    from sparsim.errors import ResourceLimitError

    try:
        return yaml.load(text, Loader=_BoundedLoader)
    except _Unbounded as exc:
        raise (ResourceLimitError if exc.limit else SpecError)(str(exc), where) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{where}:{mark.line + 1}" if mark is not None else where
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise SpecError(f"malformed YAML: {problem}", line) from None
    except RecursionError:  # only a construction past the bounds could get here
        raise SpecError("nested too deeply", where) from None


def load_yaml(path: str | os.PathLike[str], only_keys: Collection[str] | None = None) -> Any:
    """Parse a YAML file; a missing, special, unreadable or non-UTF-8 file or a syntax error
    becomes a one-line SpecError naming the file, a file over the size, expansion or depth
    bounds a ResourceLimitError.

    ``only_keys`` skips the other top-level blocks of a block-style mapping before parsing
    (Sparseloop's aggregated inputs spend most of their lines on component libraries that
    the model never reads); if the cut text does not parse, the whole file is parsed.
    """
    where = os.fspath(path)
    text = read_text(path, where)
    if only_keys is not None:
        with contextlib.suppress(SpecError):
            return parse_yaml(_top_level_blocks(text, only_keys), where)
    return parse_yaml(text, where)


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


# --- outputs -----------------------------------------------------------------------------

SCRATCH_PREFIX = ".sparsim-partial-"
_OWNER = ".owner"  # scratch folders of older versions: the owner's process id inside


def _process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot; Linux), to tell a reused pid
    from the owner; "" where unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _owner_token() -> str:
    pid = os.getpid()
    return f"{pid}.{_process_start(pid)}"


def _scratch_prefix() -> str:
    """Prefix of this process's scratch names: ``.sparsim-partial-PID.START-``."""
    return f"{SCRATCH_PREFIX}{_owner_token()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_alive(scratch: Path) -> bool | None:
    """Whether the run that made ``scratch`` still runs (None: not a scratch we know)."""
    token = scratch.name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
    pid, _, start = token.partition(".")
    if pid.isdigit():
        if not _alive(int(pid)):
            return False
        now = _process_start(int(pid))
        return not (start and now and now != start)  # a new process with the same pid
    try:  # an older version's folder: the owner's pid in a file
        return _alive(int((scratch / _OWNER).read_text()))
    except (OSError, ValueError):
        return None


def remove_stale_scratch(home: str | os.PathLike[str]) -> None:
    """Remove the scratch files and folders in ``home`` of runs that no longer run."""
    with contextlib.suppress(OSError):
        for stale in Path(home).glob(f"{SCRATCH_PREFIX}*"):
            if _owner_alive(stale) is False:
                if stale.is_dir() and not stale.is_symlink():
                    shutil.rmtree(stale, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        stale.unlink()


@contextlib.contextmanager
def _cannot_write(path: Path | str) -> Iterator[None]:
    """An output location we cannot create or write is an OutputError named by its path."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror or exc})", str(path)) from None


def _file_mode() -> int:
    """The mode a new file gets from this process's umask (as ``open`` would give it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def output_file(path: str | os.PathLike[str], where: str | None = None) -> Path | None:
    """The regular file an output will replace (a symlink followed to the file it names), or
    None for ``-`` (standard output). An empty name, or a directory, device, FIFO or socket
    at the path, is an OutputError: sparsim never swaps out what is not its output."""
    try:
        text = os.fspath(path)
    except TypeError:
        raise OutputError(f"expected a file name, got {path!r}", where or "output") from None
    where = where or str(text)
    if not isinstance(text, str) or not text.strip():
        raise OutputError("empty file name", where or "output")
    if text == "-":
        return None
    target = Path(text)
    with _cannot_write(where):
        try:
            info = os.stat(target)  # what a symlink names
        except (FileNotFoundError, NotADirectoryError):
            if target.is_symlink():  # written through, into a folder that must exist
                target = Path(os.path.realpath(target))
                if not target.parent.is_dir():
                    raise OutputError(
                        f"is a symlink to {target}, in no existing folder", where
                    ) from None
                return target
            existing = next(p for p in target.absolute().parents if p.exists())
            if not existing.is_dir():
                raise OutputError(
                    f"cannot write here ({existing} is not a directory)", where
                ) from None
            return target
    if stat.S_ISDIR(info.st_mode):
        raise OutputError("is a directory, expected a file name", where)
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(
            f"is a {_kind(info.st_mode)}: sparsim replaces only regular files (use - for "
            "standard output)",
            where,
        )
    return Path(os.path.realpath(target)) if target.is_symlink() else target  # written through


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, where: str | None = None) -> None:
    """Write a file via a temporary file beside it and rename, so readers never see half of
    it (beside it: the rename stays on one file system); the file gets the umask's mode.
    ``-`` writes to standard output; see :func:`output_file` for what is refused."""
    where = where or os.fspath(path)
    target = output_file(path, where)
    if target is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    with _cannot_write(where):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_scratch(target.parent)
        fd, tmp = tempfile.mkstemp(
            prefix=_scratch_prefix(), suffix=f"-{target.name[:100]}", dir=target.parent
        )
    try:
        with _cannot_write(where), os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _file_mode())
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with _cannot_write(where):
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, where: str | None = None) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"), where)


def check_output_dir(out_dir: str | os.PathLike[str], where: str | None = None) -> Path:
    """An output folder that can be created or replaced: named, not a file or device, not
    under a file. Checked before a long run, so that it fails at once."""
    text = os.fspath(out_dir)
    where = where or str(text) or "output folder"
    if not str(text).strip():
        raise OutputError("empty folder name", where)
    path = Path(text)
    with _cannot_write(where):
        if path.exists() and not path.is_dir():
            raise OutputError("exists and is not a directory", where)
        existing = next(p for p in (path.absolute(), *path.absolute().parents) if p.exists())
        if not existing.is_dir():
            raise OutputError(f"cannot write here ({existing} is not a directory)", where)
    return path


@contextlib.contextmanager
def atomic_output_dir(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a scratch directory whose files land in ``out_dir`` only if the block succeeds.

    Files already in ``out_dir`` that the block does not write are kept. The scratch lives
    beside ``out_dir`` (inside it when it is a mount point), so the final renames never
    cross devices and nothing partial appears among the outputs. A full disk inside the
    block is an OutputError naming ``out_dir``. A run killed outright leaves at most one
    ``.sparsim-partial-*`` folder, which any later run writing into that folder removes.
    """
    out_dir = check_output_dir(out_dir)
    where = str(out_dir)
    with _cannot_write(out_dir):
        mounted = out_dir.is_dir() and os.path.ismount(out_dir)
        home = out_dir if mounted else out_dir.absolute().parent
        home.mkdir(parents=True, exist_ok=True)
        remove_stale_scratch(home)
        scratch = Path(tempfile.mkdtemp(prefix=_scratch_prefix(), dir=home))
    try:
        try:
            yield scratch
        except OSError as exc:
            if exc.errno in FULL_DISK_ERRNOS:
                raise OutputError(f"cannot write ({os.strerror(exc.errno)})", where) from None
            raise
        with _cannot_write(out_dir):
            if not out_dir.exists():
                os.rename(scratch, out_dir)  # the whole folder appears at once
                return
            items = list(scratch.iterdir())
            for item in items:  # refuse before anything is replaced
                _check_replaceable(out_dir / item.name, item.is_dir())
            for item in items:
                target = out_dir / item.name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                os.replace(item, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check_replaceable(target: Path, is_dir: bool) -> None:
    """An output inside an existing folder replaces only what an earlier run could have
    written there: a regular file, or a folder by a folder."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISREG(info.st_mode) or (is_dir and stat.S_ISDIR(info.st_mode)):
        return
    kind = "symlink" if stat.S_ISLNK(info.st_mode) else _kind(info.st_mode)
    raise OutputError(f"is a {kind}: sparsim replaces only its own outputs", str(target))
