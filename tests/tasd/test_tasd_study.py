"""The synthetic study on a tiny configuration (the full one runs from the CLI)."""

from __future__ import annotations

import numpy as np
import pytest

from sparsim.tasd import decompose, relative_matmul_error
from sparsim.tasd.study import (
    REFERENCE_FIGURES,
    StudyConfig,
    _random_matrix,
    compare_with_reference,
    run_study,
    write_study,
)

TINY = StudyConfig(size=32, densities=(0.5, 1.0), seeds=3, matmul_size=32, matmul_sparsities=(0.2,))


@pytest.fixture(scope="module")
def tiny_result():
    return run_study(TINY, progress=False)


def test_dense_matrices_drop_exactly_the_structural_share(tiny_result):
    dense = tiny_result.dropped.query("density == 1.0 and distribution == 'normal'")
    assert dict(zip(dense["series"], dense["dropped_nonzeros_pct"], strict=True)) == {
        "2:4": 50.0,
        "2:4+2:8": 25.0,
        "2:4+2:8+2:16": 12.5,
    }
    assert np.allclose(dense["expected_dropped_nonzeros_pct"], [50.0, 25.0, 12.5])


def test_rows_and_ranges(tiny_result):
    dropped = tiny_result.dropped
    assert len(dropped) == 2 * 2 * 3  # distributions x densities x series
    assert (dropped["seeds"] == 3).all()
    assert dropped["dropped_magnitude_pct"].between(0, 100).all()
    np.testing.assert_allclose(
        dropped["dropped_magnitude_pct"] + dropped["kept_magnitude_pct"], 100.0
    )
    # More terms never drop more, for every distribution and density.
    for _, group in dropped.groupby(["distribution", "density"]):
        assert group["dropped_nonzeros_pct"].is_monotonic_decreasing


def test_matmul_part_matches_the_metric(tiny_result):
    matmul = tiny_result.matmul
    assert sorted(matmul["pattern"]) == sorted(
        [f"{n}:4" for n in range(1, 5)] + [f"{n}:8" for n in range(1, 9)]
    )
    full = matmul[matmul["pattern_sparsity"] == 0]
    assert (full["relative_matmul_error_pct"] == 0).all()
    # Recompute one point with the public metric (same seeds as the study: A 20% sparse).
    errors = []
    for seed in range(3):
        rng = np.random.default_rng([seed, 99, 2000])
        a = _random_matrix(rng, (32, 32), 0.8, "normal")
        b = rng.normal(0.0, np.sqrt(1 / 3), (32, 32))
        errors.append(relative_matmul_error(a, decompose(a, "2:4").terms[0], b))
    row = matmul[matmul["pattern"] == "2:4"]
    assert float(row["relative_matmul_error_pct"].iloc[0]) == pytest.approx(100 * np.mean(errors))


def test_reference_comparison_rows(tiny_result):
    table = tiny_result.reference
    # Only the reference points the tiny configuration has: d = 0.5 and d = 1.0.
    expected = {key for key in REFERENCE_FIGURES if key[0] in (0.5, 1.0)}
    assert set(zip(table["density"], table["series"], strict=True)) == expected
    assert table.loc[table["density"] == 1.0, "reference_dropped_nonzeros_pct"].tolist() == [
        50.0,
        25.0,
        12.5,
    ]
    assert compare_with_reference(tiny_result.dropped.iloc[0:0]).empty


def test_write_study(tiny_result, tmp_path):
    paths = write_study(tiny_result, tmp_path)
    assert sorted(p.name for p in paths) == [
        "dropped.csv",
        "dropped.png",
        "matmul_error.csv",
        "matmul_error.png",
        "reference_comparison.csv",
    ]
    assert (tmp_path / "dropped.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    header = (tmp_path / "dropped.csv").read_text().splitlines()[0]
    assert "expected_dropped_nonzeros_pct" in header and "kept_magnitude_pct" in header
