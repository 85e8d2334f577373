"""PNG plots of the TASD study (matplotlib's Agg canvas, no global pyplot state)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=120)
    return path


def plot_dropped(dropped: pd.DataFrame, path: Path, labels: dict[str, str]) -> Path:
    """Dropped nonzeros and dropped magnitude vs density, one panel per distribution
    (``labels``: distribution name -> how to print it)."""
    distributions = list(dict.fromkeys(dropped["distribution"]))
    figure = Figure(figsize=(5 * len(distributions), 8), layout="constrained")
    axes = figure.subplots(2, len(distributions), squeeze=False)
    for column, distribution in enumerate(distributions):
        rows = dropped[dropped["distribution"] == distribution]
        for series, group in rows.groupby("series", sort=False):
            group = group.sort_values("density")
            density_pct = 100 * group["density"]
            line = axes[0, column].plot(
                density_pct, group["dropped_nonzeros_pct"], marker="o", label=f"{series} (measured)"
            )[0]
            axes[0, column].plot(
                density_pct,
                group["expected_dropped_nonzeros_pct"],
                linestyle="--",
                color=line.get_color(),
                label=f"{series} (closed form)",
            )
            axes[1, column].plot(
                density_pct, group["dropped_magnitude_pct"], marker="o", label=str(series)
            )
        label = labels.get(distribution, distribution)
        axes[0, column].set_title(f"Dropped nonzeros, values {label}")
        axes[1, column].set_title(f"Dropped magnitude, values {label}")
        axes[0, column].set_ylabel("dropped nonzeros [% of nonzeros]")
        axes[1, column].set_ylabel("dropped magnitude [% of sum |A|]")
        for row in range(2):
            axes[row, column].set_xlabel("density of A [% nonzeros]")
            axes[row, column].grid(alpha=0.3)
            axes[row, column].legend(fontsize="small")
    return _save(figure, path)


def plot_matmul_error(matmul: pd.DataFrame, path: Path) -> Path:
    """Relative matmul error vs pattern sparsity, one line per (A sparsity, block size)."""
    figure = Figure(figsize=(7, 5), layout="constrained")
    ax = figure.subplots()
    for (sparsity, m), group in matmul.groupby(["a_sparsity", "m"], sort=True):
        group = group.sort_values("pattern_sparsity")
        ax.plot(
            100 * group["pattern_sparsity"],
            group["relative_matmul_error_pct"],
            marker="o",
            label=f"N:{m}, A {100 * sparsity:.0f}% sparse",
        )
    ax.set_xlabel("approximated sparsity 1 - N/M [%]")
    ax.set_ylabel("relative matmul error ||(A - A*) B|| / ||A B|| [%]")
    ax.set_title("One-term N:M approximation of A in A @ B")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(figure, path)
