"""sparsim against public Timeloop on the committed oracle cases (see README.md here).

Cases that differ for a documented reason are listed in ``divergences.yaml`` and marked
strict xfail: when the engine is fixed they pass, the suite turns red, and the entry must go.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from sparsim.errors import MappingError
from sparsim.evaluate import evaluate, load
from tests.oracle.differential import (
    CASES,
    GROUPS,
    evaluate_case,
    fixture_cases,
    known_divergences,
    mismatches,
    rejected_cases,
)

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "oracle"
SHARED = REPO.parent / "shared"
TIMELOOP = SHARED / "tools" / "timeloop" / "timeloop-model"
FIG15 = SHARED / "reference" / "sparseloop-micro22" / "fig15" / "cases"
FIXTURES = fixture_cases()
REJECTED = rejected_cases()
KNOWN = known_divergences()


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"oracle_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _script("generate_cases")
DESIGNS = set(GENERATOR.DESIGN_ABBREVIATIONS.values())
AXES = set(GENERATOR.ALL_AXES)


def _param(case: Path):
    entry = KNOWN.get(case.name)
    if entry is None:
        return pytest.param(case, id=case.name)
    first = entry["reason"].split("; ")[0]  # the full reason is in divergences.yaml
    reason = f"{'+'.join(entry['groups'])}: {first}"
    return pytest.param(case, id=case.name, marks=pytest.mark.xfail(strict=True, reason=reason))


def _meta(case: Path) -> dict:
    return yaml.safe_load((case / "meta.yaml").read_text())


@pytest.mark.skipif(not FIXTURES, reason=f"no oracle fixtures under {CASES}")
@pytest.mark.parametrize("case", [_param(c) for c in FIXTURES])
def test_agrees_with_timeloop(case):
    result, oracle = evaluate_case(case)
    bad = mismatches(result, oracle)
    assert not bad, "\n".join(str(m) for m in bad)


@pytest.mark.skipif(not REJECTED, reason="no rejected oracle fixtures")
@pytest.mark.parametrize("case", [_param(c) for c in REJECTED])
def test_rejects_what_timeloop_rejects(case):
    """A mapping that does not fit (capacity, fan-out, instances) is an error, never numbers."""
    with pytest.raises(MappingError):
        evaluate(load(case))


def test_fixtures_cover_every_design_and_axis():
    assert len(FIXTURES) >= 100
    designs = {_meta(case)["design"] for case in FIXTURES}
    assert designs == DESIGNS
    axes = {axis for case in FIXTURES for axis in _meta(case)["axes"]}
    assert axes == AXES


def test_every_known_divergence_is_a_fixture_in_a_documented_group():
    names = {case.name for case in [*FIXTURES, *REJECTED]}
    for name, entry in KNOWN.items():
        assert name in names, name
        assert entry["groups"] and set(entry["groups"]) <= set(GROUPS), (name, entry["groups"])
        assert entry["reason"].strip(), name


def _quick_cases() -> list[Path]:
    """One case per design whose inputs keep dense activations (Timeloop runs those in about a
    second; hypergeometric dual-compress cases can take minutes)."""
    chosen: dict[str, Path] = {}
    for case in FIXTURES:
        meta = _meta(case)
        design = meta["design"]
        if design in chosen or design == "STCF-DC" or "density" in meta["axes"]:
            continue
        chosen[design] = case
    return list(chosen.values())


@pytest.mark.skipif(
    not (TIMELOOP.exists() and FIG15.is_dir()),
    reason=f"Timeloop oracle ({TIMELOOP}) or fig15 inputs ({FIG15}) absent (they live in ../shared)",
)
@pytest.mark.parametrize("case", _quick_cases(), ids=lambda p: p.name)
def test_fixture_regenerates_and_timeloop_still_agrees(case, tmp_path):
    """The generator rebuilds the committed inputs byte for byte and Timeloop still gives the
    committed figures, so the fixtures stay honest."""
    meta = _meta(case)
    run = _script("run_oracle")
    (rebuilt,) = GENERATOR.generate(meta["seed"], 1, tmp_path, start=meta["index"])
    assert rebuilt.name == case.name
    for name in ("aggregated_input.yaml", "ERT.yaml", "ART.yaml", "map.yaml", "meta.yaml"):
        assert (rebuilt / name).read_text() == (case / name).read_text(), name
    _, outcome, detail = run.run_case(rebuilt, TIMELOOP, timeout=60)
    assert outcome == "ok", detail
    fresh = json.loads((rebuilt / "timeloop.json").read_text())
    assert _without_area(fresh) == json.loads((case / "timeloop.json").read_text())


def _without_area(document):
    """The runner records areas since these fixtures were made; they predate the field."""
    if isinstance(document, dict):
        return {k: _without_area(v) for k, v in document.items() if "area" not in k}
    return document
