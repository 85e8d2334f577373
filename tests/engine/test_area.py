"""Area in the model: Timeloop's rules on small hand-written cases (issue 20)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from sparsim.cost.result import Result
from sparsim.errors import SpecError
from sparsim.evaluate import evaluate
from sparsim.spec.sparseloop import load_sparseloop_case
from tests.engine.conftest import tiny_spec

CASE = Path(__file__).resolve().parent / "timeloop_cases" / "gate-a-on-b-lrf"


def _with_areas(spec, buffer: float | None, dram: float | None, mac: float | None):
    dram_level, buffer_level = spec.architecture.levels
    architecture = spec.architecture.model_copy(
        update={
            "levels": [
                dram_level.model_copy(update={"area": dram}),
                buffer_level.model_copy(update={"area": buffer}),
            ],
            "compute": spec.architecture.compute.model_copy(update={"area": mac}),
        }
    )
    return spec.model_copy(update={"architecture": architecture})


def test_area_is_per_instance_times_instances_summed_over_levels():
    """Two MACs of 10 um^2 under a 300 um^2 buffer and a 0 um^2 DRAM: 320 um^2."""
    spec = _with_areas(
        tiny_spec(1, 1, 2, buffer_temporal={"M": 1, "N": 1}, spatial={"K": 2}), 300.0, 0.0, 10.0
    )
    result = evaluate(spec)
    assert result.compute.area_total_um2 == 20.0
    assert [level.area_total_um2 for level in result.levels] == [0.0, 300.0]
    assert result.area_um2 == 320.0
    assert result.area_mm2 == pytest.approx(320e-6)
    assert result.edap == pytest.approx(result.edp * 320e-6)
    row = result.to_row()
    assert (row["area_um2"], row["MAC.area_um2"], row["Buffer.area_um2"]) == (320.0, 20.0, 300.0)
    assert Result.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_a_level_without_area_leaves_the_total_unknown_not_zero():
    result = evaluate(_with_areas(tiny_spec(1, 1, 4), None, 0.0, 5.0))
    assert result.levels[1].area_total_um2 is None
    assert result.area_um2 is None and result.edap is None
    assert result.to_row()["area_um2"] is None


def test_repeated_runs_keep_the_area():
    result = evaluate(_with_areas(tiny_spec(1, 1, 4), 300.0, 0.0, 5.0))
    assert result.times(3).area_um2 == result.area_um2 == 305.0


def _case(tmp_path: Path, art: dict | None, **attributes) -> Path:
    """The reference case with another ART (or none) and extra storage/compute attributes."""
    folder = tmp_path / "case"
    shutil.copytree(CASE, folder)
    (folder / "timeloop.json").unlink()
    if art is None:
        (folder / "ART.yaml").unlink()
    else:
        (folder / "ART.yaml").write_text(yaml.safe_dump({"ART": {"version": 0.3, "tables": art}}))
    if attributes:
        inputs = yaml.safe_load((folder / "aggregated_input.yaml").read_text())
        _set_attributes(inputs["architecture"], attributes)
        (folder / "aggregated_input.yaml").write_text(yaml.safe_dump(inputs))
    return folder


def _set_attributes(node: dict, attributes: dict) -> None:
    for local in node.get("local") or []:
        name = local["name"].split("[")[0]
        if name in attributes:
            local.setdefault("attributes", {}).update(attributes[name])
    for child in node.get("subtree") or []:
        _set_attributes(child, attributes)


def test_importer_reads_the_art_by_leaf_name_the_last_table_winning(tmp_path):
    spec = load_sparseloop_case(CASE)
    names = [level.name for level in spec.architecture.levels]
    shipped = yaml.safe_load((CASE / "ART.yaml").read_text())["ART"]["tables"]
    art = {entry["name"].split(".")[-1].split("[")[0]: entry["area"] for entry in shipped}
    assert [level.area for level in spec.architecture.levels] == [art[n] for n in names]
    tables = [*shipped, {"name": f"system.X[0..3].{names[-1]}[0..7]", "area": 12.5}]
    again = load_sparseloop_case(_case(tmp_path, tables))
    assert again.architecture.levels[-1].area == 12.5


def test_without_an_art_timeloops_area_attributes_or_zero(tmp_path):
    spec = load_sparseloop_case(CASE)
    buffer, compute = spec.architecture.levels[-1].name, spec.architecture.compute.name
    bare = load_sparseloop_case(_case(tmp_path / "bare", None))
    assert all(level.area == 0.0 for level in bare.architecture.levels)
    assert bare.architecture.compute.area == 0.0
    given = load_sparseloop_case(
        _case(
            tmp_path / "given",
            None,
            **{buffer: {"cluster-area": 800.0}, compute: {"area": 7.0}},
        )
    )
    assert given.architecture.levels[-1].area == 800.0
    assert given.architecture.compute.area == 7.0


def test_a_malformed_art_names_its_file(tmp_path):
    folder = _case(tmp_path, [{"name": "system.DRAM", "area": "big"}])
    with pytest.raises(SpecError, match=r"ART\.yaml"):
        load_sparseloop_case(folder)


def test_result_from_an_older_json_has_no_area():
    result = evaluate(tiny_spec(1, 1, 4))
    document = result.to_dict()
    compute, *storage = document["levels"]
    for level in (compute, *storage):
        del level["area_um2"], level["area_total_um2"]
    for level in storage:
        del level["instances"]
    old = Result.from_dict(document)
    assert old.area_um2 is None
    assert replace(old, design="x").energy_pJ == result.energy_pJ


def test_the_architectures_area_is_the_results():
    spec = _with_areas(tiny_spec(1, 1, 4), 300.0, 0.0, 5.0)
    assert spec.architecture.area_um2 == evaluate(spec).area_um2 == 305.0
    assert _with_areas(tiny_spec(1, 1, 4), 300.0, None, 5.0).architecture.area_um2 is None
