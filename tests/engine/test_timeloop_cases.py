"""sparsim against the public Timeloop on cases built to isolate one rule each.

The case directories and Timeloop's figures (``timeloop.json``) are committed under
``timeloop_cases/`` (rebuilt by its ``regenerate.py``), so these tests need no oracle; the
last one re-runs ``timeloop-model`` when ../shared has it, to check the figures are current.
Every number here is discussed in docs/sparseloop-semantics-*.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sparsim.errors import MappingError
from sparsim.evaluate import evaluate, load

CASES = Path(__file__).parent / "timeloop_cases"


def _timeloop(name: str) -> dict:
    return json.loads((CASES / name / "timeloop.json").read_text())


def _assert_matches(result, timeloop: dict, *, skip_levels=(), rel=1e-4) -> None:
    assert result.cycles == pytest.approx(timeloop["cycles"], rel=1e-9)
    assert result.computes.actual == pytest.approx(timeloop["actual_computes"], abs=1.5)
    for level in result.levels:
        if level.name not in skip_levels:
            expected = timeloop["levels_pJ"][level.name]
            assert level.energy_pJ == pytest.approx(expected, rel=rel), level.name
    assert result.compute.energy_pJ == pytest.approx(timeloop["levels_pJ"]["MAC"], rel=rel)


@pytest.mark.parametrize(
    "name",
    [
        # Spatial skipping with unstructured weights: every MAC can be busy (group 1),
        # CP rounds whole coordinates per fiber (group 3).
        "spatial-skip-hyper0.3-k16",
        "spatial-skip-hyper0.4-k16",
        "spatial-skip-fixed-k16",
        # A skipping leader without a format: no compaction, every compute actual (group 2).
        "no-format-fixed0.5",
        "no-format-hyper0.3",
        # Storage gating or skipping of an operand removes the computes it would feed (gated
        # or skipped alike); of the output, none.
        "skip-a-on-b-lrf",
        "gate-a-on-b-lrf",
        "skip-z-on-a-rf",
        "gate-z-on-a-rf",
    ],
)
def test_agrees_with_timeloop(name):
    _assert_matches(evaluate(load(CASES / name)), _timeloop(name))


def test_group_1_cycles_use_every_mac():
    """Unstructured 0.3 weights on a K16 x M16 array: a 16-wide K fiber can be full, so all
    1024 MACs stay allocated: cycles = actual computes / 1024, not / (1024 x 0.3)."""
    result = evaluate(load(CASES / "spatial-skip-hyper0.3-k16"))
    actual = result.computes.actual
    assert actual == pytest.approx(0.3 * 512 * 256 * 1024, rel=1e-4)
    assert result.compute.cycles == pytest.approx(actual / 1024, abs=1)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("stc-k-at-smem", "more compression ranks needed"),
        ("spatial-skip-hyper0.5-k32", "2048 MAC instances"),
    ],
)
def test_rejects_what_timeloop_rejects(name, message):
    assert "error" in _timeloop(name)
    with pytest.raises(MappingError, match=message):
        evaluate(load(CASES / name))


def test_exact_half_density_does_not_round_up_on_noise():
    """Hypergeometric 0.5: a 16-wide CP fiber holds 8 coordinates on average. Timeloop's
    ceil(16 x (1 - P(empty))) sees 8.000000x and charges 9 (SMEM +0.42 %, cycles +0.6 %);
    sparsim charges 8. Everything else agrees; the cycles are actual computes / 1024."""
    name = "spatial-skip-hyper0.5-k16"
    result, timeloop = evaluate(load(CASES / name)), _timeloop(name)
    smem = next(level for level in result.levels if level.name == "SMEM")
    assert smem.energy_pJ / timeloop["levels_pJ"]["SMEM"] == pytest.approx(1 - 0.00419, abs=2e-5)
    assert result.cycles == 65536 and timeloop["cycles"] == 65927
    for level in result.levels:
        if level.name != "SMEM":
            assert level.energy_pJ == pytest.approx(timeloop["levels_pJ"][level.name], rel=1e-4)


def test_hypergeometric_density_one_keeps_its_reads():
    """At density exactly 1.0 Timeloop's hypergeometric model gives the LRF no actual A
    reads or fills (0 pJ) while every compute happens; sparsim charges them."""
    name = "hyper1.0-k16"
    result, timeloop = evaluate(load(CASES / name)), _timeloop(name)
    lrf = next(level for level in result.levels if level.name == "LRF")
    assert lrf.tensors["A"].reads.actual == 512 * 256 * 1024
    assert result.energy_pJ - lrf.tensors["A"].energy_pJ == pytest.approx(
        timeloop["energy_pJ"], rel=1e-6
    )


def test_stream_is_all_the_public_build_misses():
    """The public build ignores `stream`: it equals sparsim minus SMEM's streamed A."""
    name = "stream-tc-smem"
    result, timeloop = evaluate(load(CASES / name)), _timeloop(name)
    streamed = next(level for level in result.levels if level.name == "SMEM").tensors["A"]
    assert streamed.format == "stream"
    assert result.energy_pJ - streamed.energy_pJ == pytest.approx(timeloop["energy_pJ"], rel=1e-9)


def test_committed_figures_are_timeloops(tmp_path):
    """Re-run timeloop-model on every committed case (about 0.2 s each)."""
    # The regeneration script reads the fig15 inputs as it is imported: check first.
    shared = Path(__file__).resolve().parents[2].parent / "shared"
    timeloop = shared / "tools" / "timeloop" / "timeloop-model"
    fig15 = shared / "reference" / "sparseloop-micro22" / "fig15"
    if not (timeloop.exists() and fig15.is_dir()):
        pytest.skip(
            f"timeloop-model or the fig15 inputs not found under {shared} (../shared absent)"
        )
    from tests.engine.timeloop_cases import regenerate

    for name in regenerate.CASES:
        fresh = regenerate.run_timeloop(CASES / name)
        committed = _timeloop(name)
        if "error" in committed:
            assert fresh["error"] == committed["error"], name
        else:
            assert fresh["cycles"] == committed["cycles"], name
            assert fresh["energy_pJ"] == pytest.approx(committed["energy_pJ"], rel=1e-12), name
