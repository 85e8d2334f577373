"""Area per level and in total against Timeloop's (issue 20), within 0.1%.

``area/fig15.json`` (``scripts/oracle/fig15_areas.py``) holds what Timeloop reports for the
MICRO'22 artifact's 96 fig15 cases: public ``timeloop-model``'s figures for the 80 it runs,
the artifact's own build's for the 12 it shipped stats of (which cover DSTC; 14 DSTC cases
have neither, and are held to the same design's other cases through the built-in design). The built-in
fig15 designs must report those areas with no ``../shared`` present; the importer must on
the cases themselves when ``../shared`` holds them. The exercise and artifact corpora's
areas are checked beside their energy in ``test_exercises.py``.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

import sparsim
from sparsim.designs.catalog import get_design

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURE = HERE / "area" / "fig15.json"
FIG15 = REPO.parent / "shared" / "reference" / "sparseloop-micro22" / "fig15" / "cases"
AGREEMENT = 0.001
# The built-in designs of the six fig15 designs, by the artifact's design name.
FIG15_NAMES = ("tc", "stc", "stc-flexible", "stc-flexible-rle", "stc-flexible-dual", "dstc")
FIG15_DESIGNS = {get_design(name).artifact: name for name in FIG15_NAMES}
DOCUMENT = json.loads(FIXTURE.read_text())


def close(mine: float, theirs: float) -> bool:
    return abs(mine - theirs) <= AGREEMENT * max(abs(theirs), 1e-9)


def assert_same_area(result: sparsim.Result, oracle: dict) -> None:
    """Every storage level's area per instance and in total, the compute's total and the
    design's total equal the oracle's."""
    assert {level.name for level in result.levels} == set(oracle["levels"])
    for level in result.levels:
        theirs = oracle["levels"][level.name]
        assert level.instances == theirs["instances"], level.name
        assert close(level.area_um2, theirs["area_um2"]), (level.name, level.area_um2, theirs)
        assert close(level.area_total_um2, theirs["area_total_um2"]), level.name
    assert result.compute.instances == oracle["compute"]["instances"]
    assert close(result.compute.area_total_um2, oracle["compute"]["area_total_um2"])
    assert close(result.area_um2, oracle["area_um2"]), (result.area_um2, oracle["area_um2"])


def _design(case: str) -> str:
    return case.rsplit("/", 1)[1]


def _oracles(case: str) -> list[dict]:
    return [a for a in DOCUMENT[case].values() if a is not None]


def test_fixture_covers_every_fig15_design():
    """Public Timeloop runs the 80 non-DSTC cases; the artifact's shipped stats (12: one
    layer at two weight densities) cover DSTC; the other 14 DSTC cases have neither."""
    dstc = "DSTC-RF2x-24-bandwidth"
    assert len(DOCUMENT) == 96
    ran = {case for case, entry in DOCUMENT.items() if entry["timeloop"]}
    assert ran == {case for case in DOCUMENT if _design(case) != dstc}
    shipped = {case for case, entry in DOCUMENT.items() if entry["published"]}
    assert len(shipped) == 12 and {_design(case) for case in shipped} == set(FIG15_DESIGNS)
    assert all(_design(case) == dstc for case in DOCUMENT if not _oracles(case))


@pytest.fixture(scope="module")
def builtin_results() -> dict[str, sparsim.Result]:
    """Each fig15 built-in design on a small layer (its area does not depend on the layer)."""
    gemm = sparsim.Gemm(name="area", M=64, K=64, N=64)
    return {
        artifact: sparsim.evaluate(sparsim.build(name, gemm))
        for artifact, name in FIG15_DESIGNS.items()
    }


@pytest.mark.parametrize("case", sorted(DOCUMENT))
def test_builtin_design_has_the_artifacts_area(case, builtin_results):
    for oracle in _oracles(case):
        assert_same_area(builtin_results[_design(case)], oracle)


@pytest.mark.skipif(not FIG15.is_dir(), reason="../shared fig15 inputs absent")
@pytest.mark.parametrize("case", sorted(DOCUMENT))
def test_imported_case_has_timeloops_area(case):
    spec = sparsim.load(FIG15 / case)
    architecture = spec.architecture
    result = sparsim.evaluate(spec)
    assert [level.area for level in architecture.levels] == [
        level.area_um2 for level in result.levels
    ]
    for oracle in _oracles(case):
        assert_same_area(result, oracle)


def _runner():
    path = REPO / "scripts" / "oracle" / "run_oracle.py"
    spec = importlib.util.spec_from_file_location("oracle_run_oracle", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


LIVE = [
    "WD-0.5/M512-K256-N1024-IAD0.82-WD0.5/TC-RF2x-24-bandwidth",
    "WD-1.0/M128-K1152-N1024-IAD0.44-WD1.0/STC-RF2x-24-bandwidth",
]


@pytest.mark.skipif(
    not (FIG15.is_dir() and _runner().TIMELOOP.exists()),
    reason="public Timeloop or the fig15 inputs (../shared) absent",
)
@pytest.mark.parametrize("case", LIVE)
def test_timeloop_still_reports_the_committed_area(case, tmp_path):
    run = _runner()
    for name in run.CASE_FILES:
        shutil.copyfile(FIG15 / case / name, tmp_path / name)
    _, outcome, detail = run.run_case(tmp_path, run.TIMELOOP, timeout=120)
    assert outcome == "ok", detail
    fresh = json.loads((tmp_path / run.RESULT_FILE).read_text())
    committed = DOCUMENT[case]["timeloop"]
    assert fresh["area_um2"] == committed["area_um2"]
    assert {n: lv["area_um2"] for n, lv in fresh["levels"].items()} == {
        n: lv["area_um2"] for n, lv in committed["levels"].items()
    }
    assert_same_area(sparsim.evaluate(sparsim.load(tmp_path)), fresh)
