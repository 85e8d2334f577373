"""Options shared by subcommands that run a built-in design on one GEMM."""

from __future__ import annotations

import argparse
import sys

from sparsim.errors import SpecError

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
    """``["A=2:4", "B=0.82"]`` -> ``{"A": "2:4", "B": "0.82"}``; values are checked later."""
    densities = {}
    for item in items:
        tensor, sep, value = item.partition("=")
        if not sep or not value.strip():
            raise SpecError(f"expected TENSOR=VALUE such as A=2:4, got {item!r}", "--density")
        densities[tensor.strip().upper()] = value.strip()
    return densities


def show_progress(args: argparse.Namespace) -> bool:
    """A progress bar unless ``--no-progress`` or standard error is not a terminal (a log
    file would fill with its redraws)."""
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()
