"""sparsim against Sparseloop's published outputs (the MICRO'22 artifact's calibration subset)."""

from __future__ import annotations

import pytest

from sparsim.calibration import parse_stats
from sparsim.evaluate import evaluate, load
from tests.engine.conftest import FIG15

CALIBRATED = sorted(FIG15.glob("*/*/*/output/timeloop-model.stats.txt")) if FIG15.is_dir() else []


@pytest.mark.skipif(
    not CALIBRATED, reason=f"no Sparseloop outputs under {FIG15} (../shared absent)"
)
@pytest.mark.parametrize(
    "stats_path", CALIBRATED, ids=lambda p: f"{p.parents[2].name}/{p.parents[1].name}"
)
def test_matches_sparseloop(stats_path):
    reference = parse_stats(stats_path)
    result = evaluate(load(stats_path.parents[1]))
    assert result.cycles == pytest.approx(reference.cycles, rel=0.01)
    assert result.energy_uJ == pytest.approx(reference.energy_uJ, rel=0.01)
    for level in result.levels:
        assert level.energy_pJ == pytest.approx(reference.levels[level.name].energy_pJ, rel=0.03), (
            level.name
        )
    mac = reference.compute.fields
    actual = mac.get("Actual Computes (total)", mac.get("Computes (total)"))
    assert result.computes.actual == pytest.approx(actual, rel=0.005)
    assert result.compute.energy_pJ == pytest.approx(reference.levels["MAC"].energy_pJ, rel=0.03)


def test_calibration_set_is_complete():
    if not FIG15.is_dir():
        pytest.skip(f"Sparseloop reference data not found at {FIG15} (../shared absent)")
    assert len(CALIBRATED) == 12


def test_every_fig15_case_evaluates(fig15_cases):
    assert len(fig15_cases) == 96
    for case in fig15_cases:
        result = evaluate(load(case))
        assert 0 < result.computes.actual <= result.computes.algorithmic
        assert result.cycles > 0 and result.energy_pJ > 0


def test_fig13_dstc_normalised_latency_tracks_the_dstc_paper():
    """DSTC's measured latencies (A density x B density), normalised to dense; Sparseloop
    reports about 7.5% mean error on them. The split-file Timeloop layout is read as is."""
    import yaml

    from sparsim.spec.sparsity import TensorDensity

    root = FIG15.parents[1] / "fig13-dstc"
    if not root.is_dir():
        pytest.skip(f"DSTC validation data not found at {root} (../shared absent)")
    spec = load(root / "input_specs")
    measured = yaml.safe_load((root / "baseline.yaml").read_text())

    def cycles(da: float, db: float) -> float:
        densities = {
            t: TensorDensity()
            if d == 1
            else TensorDensity(distribution="hypergeometric", density=d)
            for t, d in (("A", da), ("B", db))
        }
        return evaluate(spec.model_copy(update={"densities": densities})).cycles

    dense = cycles(1.0, 1.0)
    errors = [
        abs(cycles(float(da), float(db)) / dense - value / measured[1.0][1.0])
        / (value / measured[1.0][1.0])
        for da, row in measured.items()
        for db, value in row.items()
    ]
    assert len(errors) == 10
    assert sum(errors) / len(errors) < 0.10
