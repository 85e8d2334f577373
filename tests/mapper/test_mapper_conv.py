"""The mapper on 7-D convolutions: a strided layer on the Eyeriss-like design file under
the Timeloop exercises' constraints (valid, evaluates, obeys them); the mapper's mappings
re-evaluated by public timeloop-model (its figures committed, so the default run checks
sparsim's engine against them without the oracle); the pre-score's fill counting against
the engine's on random candidates."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from sparsim.analysis.dense import analyse_dense
from sparsim.analysis.nest import build_nest
from sparsim.designs import mapper as mapper_module
from sparsim.designs.mapper import Problem, load_problem, map_spec
from sparsim.evaluate import evaluate
from sparsim.spec.constraints import parse_constraints
from sparsim.spec.sparseloop import load_sparseloop_case
from sparsim.spec.timeloop_export import timeloop_mapping, timeloop_problem
from sparsim.spec.workload import Conv

from .conftest import REPO

EYERISS = Path(__file__).resolve().parent / "eyeriss_like"
LIBRARY = REPO / "src" / "sparsim" / "designs" / "library" / "eyeriss-like.yaml"
TIMELOOP = REPO.parent / "shared" / "tools" / "timeloop"
FIGURES = Path(__file__).resolve().parent / "timeloop_conv_figures.json"
STRIDED = Conv(name="strided", C=16, out_channels=32, P=14, Q=14, R=3, S=3, stride=2)
TENSORS = ("Weights", "Inputs", "Outputs")
CASES = {
    "AlexNet layer1": Conv(
        name="AlexNet layer1", C=3, out_channels=96, P=55, Q=55, R=11, S=11, stride=4
    ),
    "ResNet-50 layer2.0.conv2": Conv(
        name="layer2.0.conv2", C=128, out_channels=128, P=28, Q=28, R=3, S=3, stride=2
    ),
}


def exercise_constraints(tmp_path: Path, conv: Conv):
    _, constraints = load_problem(case_dir(tmp_path, conv))
    return constraints


def case_dir(tmp_path: Path, conv: Conv) -> Path:
    """The exercise's eyeriss_like folder with ``conv`` as its problem."""
    case = tmp_path / "case"
    if not case.exists():
        shutil.copytree(EYERISS, case, ignore=shutil.ignore_patterns("README.md"))
        (case / "prob").mkdir()
    (case / "prob" / "layer.yaml").write_text(yaml.safe_dump(timeloop_problem(conv.problem())))
    return case


def test_strided_layer_on_the_design_file_is_valid_and_evaluates(tmp_path):
    problem, _ = load_problem(LIBRARY)
    constraints = exercise_constraints(tmp_path, STRIDED)
    layer = problem.model_copy(update={"workload": STRIDED})
    found = map_spec(layer, constraints, top_k=2)
    assert set(found.spec.mapping.levels[0].temporal) <= set("CMRSNPQ")
    for spec in [found.spec, *(alt.spec for alt in found.alternatives)]:
        for level in spec.mapping.levels:
            rules = constraints.for_level(level.level)
            for kind in ("temporal", "spatial"):
                for dim, value in getattr(rules, kind).exact.items():
                    size = STRIDED.problem().instance[dim]
                    expected = size if value == 0 else value
                    if expected <= size:
                        assert getattr(level, kind).get(dim, 1) == expected, (level.level, dim)
            if rules.keep is not None:
                assert set(rules.keep) <= set(level.keep)
            if rules.bypass is not None:
                assert not set(rules.bypass) & set(level.keep)
            rule = rules.temporal_permutation
            if rule is not None:
                assert level.temporal_permutation.startswith(rule.inner)
                assert level.temporal_permutation.endswith(rule.outer)
        again = evaluate(spec)  # the engine accepts it: capacities, fan-outs, mesh
        assert again.energy_pJ > 0
    again = evaluate(found.spec)
    assert (again.energy_pJ, again.cycles) == (found.result.energy_pJ, found.result.cycles)
    # The layer's MACs all run: 16 x 32 x 3 x 3 x 14 x 14.
    assert found.result.computes.algorithmic == 16 * 32 * 9 * 196


def _timeloop_model(case: Path, mapping: dict, work: Path) -> tuple[float, float]:
    work.mkdir()
    (work / "map.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    inputs = [
        case / "arch" / "eyeriss_like.yaml",
        case / "prob" / "layer.yaml",
        case / "ERT.yaml",
        case / "ART.yaml",
        work / "map.yaml",
    ]
    subprocess.run(
        [str(TIMELOOP / "timeloop-model"), *map(str, inputs)],
        cwd=work,
        check=True,
        capture_output=True,
        env={"LD_LIBRARY_PATH": str(TIMELOOP / "lib"), "PATH": "/usr/bin:/bin"},
    )
    stats = (work / "timeloop-model.stats.txt").read_text()
    energy = float(stats.split("Energy:")[1].split("uJ")[0])
    return energy, float(stats.split("Cycles:")[1].split()[0])


@pytest.mark.parametrize("label", sorted(CASES))
def test_mapped_layer_matches_timeloop_model(tmp_path, label):
    """With the oracle: the mapper's mapping, written as a Timeloop mapping, costs the same
    in timeloop-model as in sparsim. Without it: sparsim's engine on the committed mapping
    gives the committed timeloop-model figures."""
    case = case_dir(tmp_path, CASES[label])
    figures = json.loads(FIGURES.read_text())
    if (TIMELOOP / "timeloop-model").exists():
        problem, constraints = load_problem(case)
        found = map_spec(problem, constraints)
        mapping = timeloop_mapping(found.spec)
        energy, cycles = _timeloop_model(case, mapping, tmp_path / "model")
        assert found.result.energy_uJ == pytest.approx(energy, rel=1e-5, abs=0.01)
        assert found.result.cycles == cycles
        if mapping != figures[label]["mapping"]:
            # The mapper changed its choice: check the committed mapping too.
            energy, cycles = _timeloop_model(case, figures[label]["mapping"], tmp_path / "old")
            assert (energy, cycles) == (figures[label]["energy_uJ"], figures[label]["cycles"])
    (case / "map.yaml").write_text(yaml.safe_dump(figures[label]["mapping"], sort_keys=False))
    result = evaluate(load_sparseloop_case(case))
    assert result.energy_uJ == pytest.approx(figures[label]["energy_uJ"], rel=1e-5, abs=0.01)
    assert result.cycles == figures[label]["cycles"]


@pytest.mark.parametrize(("stride", "dilation"), [(2, 1), (1, 2)])
def test_prescore_counts_fills_as_the_engine_does(stride, dilation):
    """On random candidates and loop orders of a strided layer (no constraints but the
    exercise's keep/bypass), the pre-score's fills of every kept tile equal the engine's:
    stationary runs across levels, sliding windows, whole refetches."""
    problem, _ = load_problem(LIBRARY)
    keep_only = parse_constraints(
        {
            "architecture_constraints": [
                entry
                for entry in yaml.safe_load(
                    (EYERISS / "constraints" / "eyeriss_like_arch_constraints.yaml").read_text()
                )["architecture_constraints"]["targets"]
                if entry["type"] == "bypass"
            ]
            # Link transfers move fills between neighbours: the pre-score leaves them out.
            + [
                {"target": level, "type": "spatial", "no_link_transfer": list(TENSORS)}
                for level in ("shared_glb", "DummyBuffer")
            ]
        },
        "bypass only",
    )
    conv = Conv(
        name="small", C=4, out_channels=4, P=6, Q=4, R=3, S=2, stride=stride, dilation=dilation
    )
    layer = Problem.of(problem.model_copy(update={"workload": conv}))
    space = mapper_module._space(layer, keep_only)
    temporal, spatial = mapper_module._joined(
        space, {"sampled out": 0, "spatial fan-out": 0, "capacity": 0}
    )
    rng = np.random.default_rng(7)
    count = 40
    rows = rng.choice(len(temporal), size=count, replace=False)
    keep = mapper_module._keep_options(space)[0]
    classes = [mapper_module._order_classes(space, level) for level in range(len(space.levels))]
    candidates = mapper_module._Candidates(
        temporal[rows],
        spatial[rows],
        np.ones((count, len(space.levels))),
        np.zeros((count, len(space.levels)), dtype=int),
    )
    computes = {"busy": 1.0, "energy": 0.0}
    prescore = mapper_module._PreScore(space, candidates, keep, computes, (1.0, 1.0), classes)
    choice = np.stack([rng.integers(0, len(c), size=count) for c in classes], axis=1)
    estimates = {
        (tensor.name, level): prescore._fills(index, tensor, level, tile, choice)
        for index, (tensor, entries) in enumerate(prescore.entries)
        for level, _, _, _, tile, _ in entries
        if tile is not None
    }
    assert len(estimates) >= 4
    layout = np.zeros(len(space.levels), dtype=int)
    for i, row in enumerate(rows):
        mapping = mapper_module._mapping(
            space, temporal[row], spatial[row], keep, choice[i], layout, classes
        )
        spec = layer.with_mapping(mapping)
        dense = analyse_dense(spec, build_nest(spec))
        for key, estimate in estimates.items():
            assert estimate[i] == dense.tensors[key].fills, (key, i)


def test_map_cli_on_an_exercise_case_directory(tmp_path, capsys):
    """``sparsim map`` on a Timeloop exercise's folder (arch/, prob/, constraints/, mapper/
    subfolders, its energy table): the output names the convolution's dimensions, the JSON
    mapping obeys the folder's constraints, and the saved spec evaluates to the same."""
    from sparsim.cli import main

    case = case_dir(tmp_path, STRIDED)
    assert main(["map", str(case)]) == 0
    out = capsys.readouterr().out
    assert "problem: cnn-layer, C=16 M=32 R=3 S=3 N=1 P=14 Q=14" in out
    saved = tmp_path / "mapped.yaml"
    assert main(["map", str(case), "--json", "--save-spec", str(saved)]) == 0
    mapped = json.loads(capsys.readouterr().out)
    levels = {lm["level"]: lm for lm in mapped["mapping"]["levels"]}
    assert levels["weights_spad"]["temporal"].get("R") == 3  # R=0: the whole filter row
    assert levels["shared_glb"]["temporal"].get("P") == 14  # P=0 at the global buffer
    assert levels["psum_spad"]["keep"] == ["Outputs"]
    assert main(["evaluate", str(saved), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert (evaluated["energy_uJ"], evaluated["cycles"]) == (mapped["energy_uJ"], mapped["cycles"])


def test_padding_a_convolution_to_fixed_factors():
    """A convolution padded to the constraints' exact factors stays a 7-D problem; its
    padded dimensions are real work, the others and the strides unchanged."""
    from sparsim.designs.mapper import padded_problem

    problem, _ = load_problem(LIBRARY)
    layer = problem.model_copy(update={"workload": STRIDED})
    constraints = parse_constraints(
        {"mapspace_constraints": [{"target": "shared_glb", "type": "spatial", "factors": "M=12"}]},
        "c.yaml",
    )
    padded = padded_problem(layer, constraints).workload
    assert padded.instance == {**STRIDED.problem().instance, "M": 36}
    assert padded.coefficients == STRIDED.problem().coefficients
    assert "padded" in padded.name
    found = map_spec(padded_problem(layer, constraints), constraints)
    assert found.spec.mapping.for_level("shared_glb").spatial["M"] == 12
