"""The ``sparsim`` command line: one subcommand per module in this package.

Every subcommand module exposes ``register(subparsers)`` which adds its parser and sets
``func`` to a function taking the parsed arguments and returning an exit code. Bad input
raises :class:`sparsim.errors.SparsimError`; here it becomes one line on stderr and exit
code 2 (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from typing import NoReturn

from sparsim.errors import SparsimError
from sparsim.processes import exit_on_terminate

# Subcommand modules, in the order they appear in --help. A module that is not there yet
# (work in progress on another issue) is skipped.
SUBCOMMAND_MODULES = ("evaluate", "compare", "tasd", "tasder", "study")

EXIT_BAD_INPUT = 2


class _OneLineParser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors are one line and exit code 2 like sparsim's."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"sparsim: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="sparsim",
        description=(
            "Which kind of sparsity pays off on which accelerator? sparsim models sparse "
            "tensor accelerators (Sparseloop-compatible), decomposes tensors into structured "
            "N:M series (TASD) and searches per-layer TASD configurations for real models "
            "(TASDER)."
        ),
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when an error occurs"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"sparsim.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"sparsim.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
    except KeyboardInterrupt:
        print("sparsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
