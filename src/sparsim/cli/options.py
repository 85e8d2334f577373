"""Options shared by subcommands that run a built-in design on one GEMM."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from sparsim.errors import SpecError
from sparsim.io import output_file

DENSITY_HELP = (
    "density of A (weights) or B (input activations): N:M such as 2:4, a fraction such as "
    "0.82 (unstructured), 'uniform:0.3', 'dense', or a .npy tensor; repeat for each tensor"
)


def add_density_option(parser: argparse.ArgumentParser, default_text: str) -> None:
    parser.add_argument(
        "--density",
        action="append",
        default=[],
        metavar="TENSOR=VALUE",
        help=f"{DENSITY_HELP} (default {default_text})",
    )


def parse_density_items(items: list[str]) -> dict[str, str]:
    """``["A=2:4", "B=0.82"]`` -> ``{"A": "2:4", "B": "0.82"}``; values are checked later.
    A tensor given twice is refused (which of the two would count?)."""
    densities = {}
    for item in items:
        tensor, sep, value = item.partition("=")
        if not sep or not value.strip():
            raise SpecError(f"expected TENSOR=VALUE such as A=2:4, got {item!r}", "--density")
        tensor = tensor.strip().upper()
        if tensor in densities:
            raise SpecError(f"density of {tensor} given twice ({item!r})", "--density")
        densities[tensor] = value.strip()
    return densities


def at_least(value: int | float | None, minimum: int, option: str) -> None:
    """``value >= minimum`` (finite) or a SpecError naming the option; None passes."""
    if value is None:
        return
    if not math.isfinite(value) or value < minimum:
        raise SpecError(f"must be at least {minimum}, got {value}", option)


def within(value: float | None, low: float, high: float, option: str, *, open_low=False) -> None:
    """``low <= value <= high`` (``low < value`` with ``open_low``), finite, or a SpecError
    naming the option; None passes."""
    if value is None:
        return
    below = value <= low if open_low else value < low
    if not math.isfinite(value) or below or value > high:
        bracket = "(" if open_low else "["
        raise SpecError(f"must be in {bracket}{low:g}, {high:g}], got {value}", option)


def check_output(path: object, option: str) -> None:
    """Fail before any work when an output file cannot be written where asked (a directory,
    device or FIFO at the path, an empty name)."""
    if path is not None:
        output_file(os.fspath(path), option if not str(path).strip() else None)


def only_with(needed: str, options: dict[str, object]) -> None:
    """Options that mean something only with ``needed``: given without it, refused."""
    for option, value in options.items():
        if value not in (None, False, []):
            raise SpecError(f"only meaningful with {needed}", option)


def show_progress(args: argparse.Namespace) -> bool:
    """A progress bar unless ``--no-progress`` or standard error is not a terminal (a log
    file would fill with its redraws)."""
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


def path_value(text: str) -> Path:
    """argparse type of a file or folder option: an empty name is a usage error (``Path("")``
    would be the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file or folder name, got ''")
    return Path(text)
