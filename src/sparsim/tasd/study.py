"""The synthetic TASD study of the TASD paper (Section 3.2), reproduced.

Part 1: random ``size x size`` matrices with a Bernoulli(d) nonzero mask and values from
N(0, 1/3) (variance 1/3, i.e. the variance of U(-1, 1)) or U(0, 1); for each series, the
dropped nonzeros and the dropped magnitude, averaged over seeds. Both are ratios, so they
do not depend on the scale of the values: "1/3 is the variance" and "1/3 is the standard
deviation" give the same figures.

Part 2: a ``256 x 256`` A at 20% and 80% sparsity times a dense B; one-term N:4 and N:8
approximations of A along its reduction axis; relative matmul error ||(A - A*) B|| / ||A B||
against the sparsity of the pattern, 1 - N/M.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from sparsim.tasd import _plots
from sparsim.tasd.decompose import decompose
from sparsim.tasd.metrics import expected_dropped_nonzeros
from sparsim.tasd.series import Pattern, Series, parse_series

NORMAL_VARIANCE = 1 / 3

DISTRIBUTIONS: dict[str, Callable[[np.random.Generator, tuple[int, int]], np.ndarray]] = {
    "normal": lambda rng, shape: rng.normal(0.0, math.sqrt(NORMAL_VARIANCE), shape),
    "uniform": lambda rng, shape: rng.uniform(0.0, 1.0, shape),
}
DISTRIBUTION_LABELS = {"normal": "N(0, 1/3)", "uniform": "U(0, 1)"}

# The TASD paper's figures: 128x128, N(0, 1/3), Bernoulli(d), mean of 20 seeds:
# (density, series) -> (dropped nonzeros %, kept magnitude %).
REFERENCE_FIGURES: dict[tuple[float, str], tuple[float, float]] = {
    (0.1, "2:4"): (0.96, 99.62),
    (0.5, "2:4"): (18.91, 91.44),
    (0.5, "2:4+2:8"): (1.00, 99.78),
    (0.75, "2:4"): (35.22, 83.27),
    (0.75, "2:4+2:8"): (7.81, 98.21),
    (0.75, "2:4+2:8+2:16"): (0.61, 99.93),
    (1.0, "2:4"): (50.00, 74.41),
    (1.0, "2:4+2:8"): (25.00, 93.27),
    (1.0, "2:4+2:8+2:16"): (12.50, 98.25),
}
REFERENCE_TOLERANCE = 0.5  # percentage points


@dataclass(frozen=True)
class StudyConfig:
    size: int = 128
    densities: tuple[float, ...] = (0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 1.0)
    series: tuple[str, ...] = ("2:4", "2:4+2:8", "2:4+2:8+2:16")
    distributions: tuple[str, ...] = ("normal", "uniform")
    seeds: int = 20
    matmul_size: int = 256
    matmul_sparsities: tuple[float, ...] = (0.2, 0.8)
    matmul_block_sizes: tuple[int, ...] = (4, 8)

    @property
    def parsed_series(self) -> tuple[Series, ...]:
        return tuple(parse_series(s) for s in self.series)


@dataclass(frozen=True)
class StudyResult:
    dropped: pd.DataFrame  # part 1, one row per (distribution, density, series)
    matmul: pd.DataFrame  # part 2, one row per (A sparsity, pattern)
    reference: pd.DataFrame  # part 1 next to the TASD paper's figures


def _random_matrix(
    rng: np.random.Generator, shape: tuple[int, int], density: float, distribution: str
) -> np.ndarray:
    mask = rng.random(shape) < density
    return np.where(mask, DISTRIBUTIONS[distribution](rng, shape), 0.0)


def _std(values: np.ndarray) -> float:
    """Sample standard deviation over seeds (0 for a single seed)."""
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _dropped_rows(config: StudyConfig, progress: tqdm) -> pd.DataFrame:
    records = []
    shape = (config.size, config.size)
    series_list = config.parsed_series
    for dist_index, distribution in enumerate(config.distributions):
        for density in config.densities:
            # [seed, series, (dropped nonzeros %, dropped magnitude %)]
            dropped = np.zeros((config.seeds, len(series_list), 2))
            for seed in range(config.seeds):
                rng = np.random.default_rng([seed, dist_index, round(density * 10_000)])
                a = _random_matrix(rng, shape, density, distribution)
                nonzeros, magnitude = np.count_nonzero(a), np.abs(a).sum()
                for index, series in enumerate(series_list):
                    residual = decompose(a, series).residual
                    if nonzeros:
                        dropped[seed, index] = (
                            100 * np.count_nonzero(residual) / nonzeros,
                            100 * np.abs(residual).sum() / magnitude,
                        )
                progress.update()
            for index, series in enumerate(series_list):
                nonzeros_pct, magnitude_pct = dropped[:, index, 0], dropped[:, index, 1]
                records.append(
                    {
                        "distribution": distribution,
                        "density": density,
                        "series": str(series),
                        "effective_density": series.density,
                        "dropped_nonzeros_pct": nonzeros_pct.mean(),
                        "dropped_nonzeros_std": _std(nonzeros_pct),
                        "expected_dropped_nonzeros_pct": 100
                        * expected_dropped_nonzeros(density, series),
                        "dropped_magnitude_pct": magnitude_pct.mean(),
                        "kept_magnitude_pct": 100 - magnitude_pct.mean(),
                        "seeds": config.seeds,
                    }
                )
    return pd.DataFrame.from_records(records)


def _matmul_rows(config: StudyConfig, progress: tqdm) -> pd.DataFrame:
    records = []
    n = config.matmul_size
    patterns = [Pattern(kept, m) for m in config.matmul_block_sizes for kept in range(1, m + 1)]
    for sparsity in config.matmul_sparsities:
        errors = np.empty((config.seeds, len(patterns)))
        for seed in range(config.seeds):
            rng = np.random.default_rng([seed, 99, round(sparsity * 10_000)])
            a = _random_matrix(rng, (n, n), 1 - sparsity, "normal")
            b = DISTRIBUTIONS["normal"](rng, (n, n))
            # ||(A - A*) B|| / ||A B|| for every pattern, with one stacked GEMM.
            differences = np.stack([a - decompose(a, Series((p,))).terms[0] for p in patterns])
            products = (differences.reshape(-1, n) @ b).reshape(len(patterns), -1)
            errors[seed] = np.linalg.norm(products, axis=1) / np.linalg.norm(a @ b)
            progress.update()
        for pattern, values in zip(patterns, errors.T, strict=True):
            records.append(
                {
                    "a_sparsity": sparsity,
                    "pattern": str(pattern),
                    "m": pattern.m,
                    "pattern_sparsity": 1 - pattern.density,
                    "relative_matmul_error_pct": 100 * values.mean(),
                    "relative_matmul_error_std": 100 * _std(values),
                    "seeds": len(values),
                }
            )
    return pd.DataFrame.from_records(records)


def compare_with_reference(dropped: pd.DataFrame) -> pd.DataFrame:
    """The reference figures next to ours (N(0, 1/3) rows), with the differences."""
    normal = dropped[dropped["distribution"] == "normal"]
    records = []
    for (density, series), (ref_dropped, ref_kept) in REFERENCE_FIGURES.items():
        row = normal[np.isclose(normal["density"], density) & (normal["series"] == series)]
        if row.empty:
            continue
        ours_dropped = float(row["dropped_nonzeros_pct"].iloc[0])
        ours_kept = float(row["kept_magnitude_pct"].iloc[0])
        records.append(
            {
                "density": density,
                "series": series,
                "reference_dropped_nonzeros_pct": ref_dropped,
                "dropped_nonzeros_pct": ours_dropped,
                "reference_kept_magnitude_pct": ref_kept,
                "kept_magnitude_pct": ours_kept,
                "max_abs_difference": max(
                    abs(ours_dropped - ref_dropped), abs(ours_kept - ref_kept)
                ),
            }
        )
    table = pd.DataFrame.from_records(records)
    if not table.empty:
        table["within_tolerance"] = table["max_abs_difference"] <= REFERENCE_TOLERANCE
    return table


def run_study(config: StudyConfig | None = None, progress: bool = True) -> StudyResult:
    config = config or StudyConfig()
    steps = len(config.distributions) * len(config.densities) * config.seeds
    steps += len(config.matmul_sparsities) * config.seeds
    with tqdm(total=steps, desc="TASD study", unit="matrix", disable=not progress) as bar:
        dropped = _dropped_rows(config, bar)
        matmul = _matmul_rows(config, bar)
    return StudyResult(dropped, matmul, compare_with_reference(dropped))


def write_study(result: StudyResult, out_dir: Path) -> list[Path]:
    """CSV tables and PNG plots into ``out_dir`` (the caller makes it atomic)."""
    paths = []
    for name, table in (
        ("dropped.csv", result.dropped),
        ("matmul_error.csv", result.matmul),
        ("reference_comparison.csv", result.reference),
    ):
        path = out_dir / name
        table.to_csv(path, index=False, float_format="%.6g")
        paths.append(path)
    paths.append(_plots.plot_dropped(result.dropped, out_dir / "dropped.png", DISTRIBUTION_LABELS))
    paths.append(_plots.plot_matmul_error(result.matmul, out_dir / "matmul_error.png"))
    return paths
