"""The ``sparsim`` command line: one subcommand per module in this package.

Every subcommand module exposes ``register(subparsers)`` which adds its parser and sets
``func`` to a function taking the parsed arguments and returning an exit code. Bad input
raises :class:`sparsim.errors.SparsimError`; here it becomes one line on stderr and exit
code 2 (``--debug`` shows the traceback instead).

Start-up is lazy: only the subcommand named on the command line is imported (with numpy,
pydantic and the rest it needs); the others appear in ``--help`` through their one-line
summaries in :data:`SUBCOMMANDS`, so ``sparsim --help`` imports nothing heavy.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import os
import signal
import sys
import threading
import types
from typing import NoReturn

from sparsim import __version__
from sparsim.errors import FULL_DISK_ERRNOS, SparsimError

# sparsim's command line runs no pydantic plugin, and looking for them (importlib.metadata
# over every installed package) is a tenth of a one-case run's CPU. Set the variable to
# an empty string to have pydantic load them anyway.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
PYDANTIC_PLUGIN_LOADER = "pydantic.plugin._loader"


def skip_plugin_loader() -> None:
    """With every pydantic plugin disabled, pydantic's plugin loader finds none, yet
    importing it imports ``importlib.metadata`` (with ``email``, ``zipfile``, ``csv``):
    ~25 ms, a tenth of a one-case run. Stand in for it with a loader that returns none
    (what pydantic's own returns then), unless plugins are wanted or it is loaded already."""
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") != "__all__":
        return
    if PYDANTIC_PLUGIN_LOADER in sys.modules:
        return
    loader = types.ModuleType(PYDANTIC_PLUGIN_LOADER, "every pydantic plugin is disabled")
    loader.get_plugins = tuple  # type: ignore[attr-defined]  # no plugins: ()
    sys.modules[PYDANTIC_PLUGIN_LOADER] = loader


# Subcommand modules and their --help summaries (each module registers the same summary;
# a test checks they agree), in the order they appear in --help. A module that is not
# there yet (work in progress on another issue) is skipped.
SUBCOMMANDS = {
    "evaluate": "energy, cycles and computes of a workload on an accelerator",
    "map": "find the best mapping of a workload on an accelerator (sparse-aware mapper)",
    "compare": "compare the built-in designs on one layer",
    "sweep": "evaluate a design-space sweep into a resumable Parquet store",
    "tasd": "structured decomposition of tensors into N:M series (TASD)",
    "tasder": "search per-layer TASD configurations for real models (TASDER)",
    "study": "run a study and write its tables, figures and report",
}

EXIT_BAD_INPUT = 2


# Options that take one value: given twice, argparse would keep the last silently.
_SINGLE = (argparse._StoreAction, argparse._StoreConstAction)


class _OneLineParser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors are one line and exit code 2 like sparsim's,
    and which refuses an option of one value given twice (``--out a --out b``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"sparsim: error: {message} (see {self.prog} --help)\n")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        for action in self._actions:
            if (
                action.option_strings
                and isinstance(action, _SINGLE)
                and not getattr(action, "once", False)
            ):
                action.__class__ = _once(type(action))
        return super().parse_known_args(args, namespace)


def _once(kind: type[argparse.Action]) -> type[argparse.Action]:
    """``kind`` refusing a second occurrence of its option."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        given = namespace.__dict__.setdefault("_given_options", set())
        if self.dest in given:
            raise argparse.ArgumentError(self, "given twice (each option once)")
        given.add(self.dest)
        kind.__call__(self, parser, namespace, values, option_string)

    return type(f"Once{kind.__name__}", (kind,), {"__call__": __call__, "once": True})


def _command(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option), if any."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in SUBCOMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with ``command``'s module registered in full (every module when ``None``)
    and the other subcommands as one-line entries for ``--help``."""
    parser = _OneLineParser(
        prog="sparsim",
        description=(
            "Which kind of sparsity pays off on which accelerator? sparsim models sparse "
            "tensor accelerators (Sparseloop-compatible), decomposes tensors into structured "
            "N:M series (TASD, tensor approximation via structured decomposition) and searches "
            "per-layer TASD configurations for real models (TASDER)."
        ),
        epilog=(
            "examples:\n"
            "  sparsim compare\n"
            "  sparsim evaluate --design stc --gemm M=512,K=256,N=1024 --density A=2:4\n"
            "  sparsim COMMAND --help        (each command's options and examples)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when an error occurs"
    )
    parser.add_argument("--version", action="version", version=f"sparsim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in SUBCOMMANDS.items():
        if command is not None and name != command:
            if importlib.util.find_spec(f"sparsim.cli.{name}") is not None:
                subparsers.add_parser(name, help=summary)
            continue
        try:
            module = importlib.import_module(f"sparsim.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"sparsim.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def exit_on_terminate() -> None:
    """Turn SIGTERM into ``SystemExit`` so that ``finally`` blocks and context managers
    (worker pools, scratch folders) clean up, as they do on Ctrl-C."""

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():  # only it may set handlers
        signal.signal(signal.SIGTERM, terminate)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    skip_plugin_loader()
    parser = build_parser(_command(argv) or "")
    args = parser.parse_args(argv)
    # Everything imported so far lives until exit; keeping it out of the garbage collector's
    # full passes saves ~30 ms per pass on long evaluation runs.
    gc.freeze()
    exit_on_terminate()  # a `kill` cleans up like Ctrl-C: no scratch folders, no workers
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args.func(args) or 0)
    except SparsimError as exc:
        if args.debug:
            raise
        print(f"sparsim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader (e.g. `| head`) stopped listening: not an error of ours.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except OSError as exc:
        if exc.errno not in FULL_DISK_ERRNOS or args.debug:
            raise
        # A write outside sparsim's outputs (standard output redirected to a full disk).
        print(f"sparsim: error: {exc.filename or 'output'}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("sparsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
