"""The exercise and artifact corpora (tests/oracle/exercises/README.md): sparsim against
public Timeloop's committed figures on every case it runs, and refusing every case it
refuses. Where the public Timeloop build and the source mirrors are present, the committed
figures and inputs are also checked to still regenerate.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

import sparsim
from tests.oracle.exercises.corpus import (
    ERROR_FILE,
    PUBLISHED_FILE,
    RESULT_FILE,
    TOLERANCE,
    accepted_cases,
    area_errors,
    artifact_cases,
    case_name,
    inputs,
    meta,
    rejected_cases,
    relative_error,
)

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "oracle"
ACCEPTED = accepted_cases()
REJECTED = rejected_cases()
ARTIFACT = artifact_cases()
# sparsim agrees with public Timeloop within this on energy and cycles...
AGREEMENT = 0.001
# ...except where a documented divergence moves it further (docs/sparse-semantics.md).
DIVERGENCES = {
    # Timeloop rounds each rank's metadata accesses per tile up to whole units; sparsim keeps
    # their expectation: +0.15% on an 8x8x8 spMspM with hypergeometric A.
    "isca-02.2.1-spmspm-hypergeometric": 0.002,
}
# Area (per level and in total) within this of Timeloop's on every case (issue 20).
AREA_AGREEMENT = 0.001


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"oracle_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _ids(cases: list[Path]) -> list[str]:
    return [case_name(c) for c in cases]


def _agrees(case: Path) -> None:
    result = sparsim.evaluate(sparsim.load(inputs(case)))
    oracle = json.loads((case / RESULT_FILE).read_text())
    bound = DIVERGENCES.get(case.name, AGREEMENT)
    assert relative_error(result.energy_pJ, oracle["energy_pJ"]) <= bound, (
        result.energy_pJ,
        oracle["energy_pJ"],
    )
    assert relative_error(result.cycles, oracle["cycles"]) <= bound, (
        result.cycles,
        oracle["cycles"],
    )
    worst = max(area_errors(result, oracle).items(), key=lambda item: item[1])
    assert worst[1] <= AREA_AGREEMENT, worst


@pytest.mark.parametrize("case", ACCEPTED, ids=_ids(ACCEPTED))
def test_sparsim_agrees_with_timeloop(case):
    _agrees(case)


@pytest.mark.parametrize("case", REJECTED, ids=_ids(REJECTED))
def test_sparsim_refuses_what_timeloop_refuses(case):
    with pytest.raises(sparsim.SparsimError):
        sparsim.evaluate(sparsim.load(inputs(case)))


RUN_BY_TIMELOOP = [c for c in ARTIFACT if (c / RESULT_FILE).exists()]
REFUSED_BY_TIMELOOP = [c for c in ARTIFACT if not (c / RESULT_FILE).exists()]


@pytest.mark.parametrize("case", RUN_BY_TIMELOOP, ids=_ids(RUN_BY_TIMELOOP))
def test_sparsim_agrees_with_timeloop_on_the_artifact(case):
    _agrees(case)


@pytest.mark.parametrize("case", REFUSED_BY_TIMELOOP, ids=_ids(REFUSED_BY_TIMELOOP))
def test_the_artifacts_real_data_layers_agree_with_its_published_figures(case):
    """The fig12 'actual data' layers read per-element masks that public Timeloop cannot
    load; sparsim reads them as measured densities (their element order and the real
    overlap of the two operands' nonzeros: docs/sparseloop-semantics-sparse.md §1) and
    agrees with the artifact's own build within 0.1% on energy, exactly on cycles."""
    result = sparsim.evaluate(sparsim.load(inputs(case)))
    published = json.loads((case / PUBLISHED_FILE).read_text())
    assert relative_error(result.energy_pJ, published["energy_pJ"]) <= AGREEMENT
    assert relative_error(result.cycles, published["cycles"]) <= AGREEMENT
    assert abs(result.computes.actual - published["computes"]["actual"]) <= 1
    assert max(area_errors(result, published).values()) <= AREA_AGREEMENT


@pytest.mark.parametrize("case", RUN_BY_TIMELOOP, ids=_ids(RUN_BY_TIMELOOP))
def test_sparsim_is_as_close_to_the_published_figures_as_timeloop(case):
    """The artifact's published stats come from its own Timeloop build: where public
    Timeloop reproduces them within TOLERANCE, sparsim does too."""
    published = json.loads((case / PUBLISHED_FILE).read_text())
    oracle = json.loads((case / RESULT_FILE).read_text())
    if relative_error(oracle["energy_pJ"], published["energy_pJ"]) > TOLERANCE:
        pytest.skip("public Timeloop differs from the published figures too")
    result = sparsim.evaluate(sparsim.load(inputs(case)))
    assert relative_error(result.energy_pJ, published["energy_pJ"]) <= TOLERANCE


def _figures_ok(document: dict) -> bool:
    return document["energy_pJ"] > 0 and document["cycles"] > 0 and bool(document["levels"])


def test_exercise_fixtures_are_well_formed():
    assert len(ACCEPTED) >= 60, len(ACCEPTED)
    assert len(REJECTED) >= 12, len(REJECTED)
    for case in ACCEPTED:
        info = meta(case)
        files = [p.relative_to(case).as_posix() for p in inputs(case)]
        assert files == info["timeloop_inputs"], case.name
        assert (case / info["ert"]["file"]).exists(), case.name
        assert not (case / ERROR_FILE).exists(), case.name
        assert _figures_ok(json.loads((case / RESULT_FILE).read_text())), case.name
        for name in info["source"]["files"]:
            assert (case / name).exists(), (case.name, name)
    for case in REJECTED:
        assert (case / ERROR_FILE).read_text().startswith("exit "), case.name
        assert not (case / RESULT_FILE).exists(), case.name
        assert meta(case)["base"] in {c.name for c in ACCEPTED}, case.name


def test_exercise_corpus_covers_what_the_issue_asks():
    """Strided 7-D layers on three or more architectures, conv1d, dot products, spMspM, and
    the sparse exercises' features."""
    infos = [meta(case) for case in ACCEPTED]
    strided = {m["architecture"] for m in infos if m["covers"]["strides"]}
    assert len(strided) >= 3, strided
    shapes = {m["covers"]["shape"] for m in infos}
    assert {"cnn-layer", "conv1d", "dot-product", "matmul"} <= shapes, shapes
    features = {f for m in infos for f in m["covers"]["features"]}
    assert {"gating", "skipping", "compressed", "spatial", "bypass", "strided"} <= features


def test_artifact_fixtures_are_well_formed():
    workspaces = {case.parent.name for case in ARTIFACT}
    assert workspaces == {
        "table7_eyeriss_setup",
        "fig12_eyerissv2_pe_setup",
        "fig1_format_comparison_setup",
    }
    for case in ARTIFACT:
        assert inputs(case), case
        assert _figures_ok(json.loads((case / PUBLISHED_FILE).read_text())), case
        ran = (case / RESULT_FILE).exists()
        assert ran != (case / ERROR_FILE).exists(), case
        if ran:
            assert _figures_ok(json.loads((case / RESULT_FILE).read_text())), case


def _timeloop() -> Path | None:
    run = _script("run_oracle")
    return run.TIMELOOP if run.TIMELOOP.exists() else None


@pytest.mark.skipif(_timeloop() is None, reason="public Timeloop (../shared/tools) absent")
def test_timeloop_still_gives_the_committed_figures(tmp_path):
    """Every committed figure and refusal is what public Timeloop says today (about 0.1 s a
    case: the corpus holds no slow hypergeometric case)."""
    import shutil

    run = _script("run_oracle")
    for case in [*ACCEPTED, *REJECTED, *ARTIFACT]:
        scratch = tmp_path / case_name(case).replace("/", "--")
        shutil.copytree(case, scratch)
        for name in (RESULT_FILE, ERROR_FILE):
            (scratch / name).unlink(missing_ok=True)
        _, outcome, detail = run.run_case(scratch, run.TIMELOOP, timeout=120)
        if (case / RESULT_FILE).exists():
            assert outcome == "ok", (case.name, detail)
            fresh = json.loads((scratch / RESULT_FILE).read_text())
            assert fresh == json.loads((case / RESULT_FILE).read_text()), case.name
        else:
            assert outcome == "rejected", (case.name, detail)
            assert (scratch / ERROR_FILE).read_text() == (case / ERROR_FILE).read_text()


def _mirrors_present() -> bool:
    builder = _script("build_exercise_cases")
    return all(
        builder.find_mirror(name)
        for name in (builder.EXERCISES, "Accelergy-Project/micro22-sparseloop-artifact")
    )


@pytest.mark.skipif(not _mirrors_present(), reason="source mirrors (.mirror/) absent")
def test_corpus_rebuilds_byte_for_byte(tmp_path):
    """The builders regenerate every committed input and meta.yaml from the mirrors."""
    import subprocess

    for script, committed in (
        ("build_exercise_cases", [*ACCEPTED, *REJECTED]),
        ("build_artifact_cases", ARTIFACT),
    ):
        out = tmp_path / script
        subprocess.run(
            [sys.executable, str(SCRIPTS / f"{script}.py"), "--out", str(out)],
            check=True,
            capture_output=True,
        )
        for case in committed:
            rebuilt = out / case.parent.name / case.name  # cases/, rejected/ or a workspace
            names = sorted(
                p.relative_to(case)
                for p in case.rglob("*")
                if p.is_file() and p.name not in (RESULT_FILE, ERROR_FILE)
            )
            for name in names:
                assert (rebuilt / name).read_bytes() == (case / name).read_bytes(), (case, name)
            assert yaml.safe_load((rebuilt / "meta.yaml").read_text()) == meta(case)
