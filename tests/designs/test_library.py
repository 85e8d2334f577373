"""The library designs (Eyeriss-like, Simba-like): design files only, running Timeloop's
7-D convolution layer natively under constraints in its own dimension names (the Timeloop
exercises' constraints for those architectures), mapped by the mapper; a GEMM runs as
its 1x1 convolution; dense and with zero-gating on input activations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sparsim.cli import main
from sparsim.designs import build
from sparsim.designs.build import design_problem
from sparsim.designs.catalog import get_design, tensor_of
from sparsim.designs.mapper import load_problem, map_spec
from sparsim.errors import SpecError
from sparsim.evaluate import evaluate
from sparsim.spec.sparse_optimizations import LevelSparseOptimization
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.workload import Conv, Gemm
from sparsim.workload import resnet50

LIBRARY = Path(__file__).resolve().parents[2] / "src" / "sparsim" / "designs" / "library"
DESIGNS = ("eyeriss-like", "simba-like")
# Where each design gates: the innermost weight holder and the accumulator, on zero inputs.
GATED = {
    "eyeriss-like": ("weights_spad", "psum_spad"),
    "simba-like": ("PEWeightRegs", "PEAccuBuffer"),
}
SMALL = Gemm(name="small", M=8, K=16, N=8)
CONV3X3 = Conv(name="3x3", C=8, out_channels=16, P=8, Q=8, R=3, S=3)
STRIDED = Conv(name="strided", C=8, out_channels=16, P=7, Q=7, R=3, S=3, stride=2)


def _path(name: str) -> str:
    return str(LIBRARY / f"{name}.yaml")


def _obeys(spec, constraints) -> None:
    """Every loop factor, keep and bypass the constraints fix, in the mapping."""
    instance = spec.workload.problem().instance
    for level in spec.mapping.levels:
        rules = constraints.for_level(level.level)
        for kind in ("temporal", "spatial"):
            for dim, value in getattr(rules, kind).exact.items():
                expected = instance[dim] if value == 0 else value
                if expected <= instance[dim]:  # larger: ignored, as Timeloop does
                    assert getattr(level, kind).get(dim, 1) == expected, (level.level, dim)
        if rules.keep is not None:
            assert set(rules.keep) <= set(level.keep)
        if rules.bypass is not None:
            assert not set(rules.bypass) & set(level.keep)


def _gated(problem, levels):
    shape = problem.workload.problem().shape
    inputs = tensor_of("inputs", shape)
    targets = (tensor_of("weights", shape), tensor_of("outputs", shape))
    optimizations = [
        LevelSparseOptimization.model_validate(
            {"level": level, "actions": [{"type": "gating", "target": t, "condition_on": [inputs]}]}
        )
        for level, t in zip(levels, targets, strict=True)
    ]
    return problem.model_copy(
        update={
            "densities": {inputs: TensorDensity(distribution="hypergeometric", density=0.5)},
            "sparse_optimizations": optimizations,
        }
    )


@pytest.mark.parametrize("name", DESIGNS)
def test_library_design_is_a_native_design_file(name):
    design = get_design(_path(name))
    assert design.convolutions == "native"
    # Its constraints name the convolution layer's dimensions and tensors.
    shape = CONV3X3.problem().shape
    design.constraints.check(design.architecture.level_names, shape.dimensions, shape.tensor_names)
    # `sparsim map FILE` maps the layer the file names, as a 7-D convolution.
    problem, constraints = load_problem(_path(name))
    assert problem.workload.problem().shape.name == "cnn-layer"
    assert constraints == design.constraints


@pytest.mark.parametrize("layer", [CONV3X3, STRIDED], ids=["3x3", "strided"])
@pytest.mark.parametrize("name", DESIGNS)
def test_library_design_maps_a_convolution_as_a_convolution(name, layer):
    spec = build(_path(name), layer)
    assert spec.workload == layer  # not its im2col GEMM
    _obeys(spec, get_design(_path(name)).constraints)
    result = evaluate(spec)
    assert result.computes.actual == layer.macs
    # The sliding window: the backing store sends each input activation fewer times than
    # the im2col GEMM (every activation once per filter position it meets) has entries.
    inputs = result.levels[0].tensors[tensor_of("inputs", layer.problem().shape)]
    assert inputs.reads.actual < layer.as_gemm().N * layer.as_gemm().K


@pytest.mark.parametrize("name", DESIGNS)
def test_a_gemm_runs_as_its_1x1_convolution(name):
    spec = build(_path(name), SMALL)
    assert spec.workload == SMALL.as_conv()
    assert spec.workload.as_gemm() == SMALL
    _obeys(spec, get_design(_path(name)).constraints)
    assert evaluate(spec).computes.actual == SMALL.macs


@pytest.mark.parametrize("name", DESIGNS)
def test_library_design_maps_dense_and_gated_under_its_constraints(name):
    design = get_design(_path(name))
    problem = design_problem(design, SMALL)
    dense = map_spec(problem, design.constraints)
    gated = map_spec(_gated(problem, GATED[name]), design.constraints)
    for found in (dense, gated):
        _obeys(found.spec, design.constraints)
    # Gating on zero activations: half the weight reads and partial-sum updates cost the
    # idle energy instead.
    macs = SMALL.M * SMALL.K * SMALL.N
    mac = problem.architecture.compute.energy
    # Timeloop's combiner: the MACs a gated operand would have fed never happen (reported
    # as skipped, free); gating a storage access never gates a MAC.
    assert gated.result.computes.skipped == pytest.approx(0.5 * macs)
    assert gated.result.compute.energy_pJ == pytest.approx(0.5 * macs * mac.random)
    assert gated.result.energy_pJ < dense.result.energy_pJ


def _resnet_layer(name: str) -> Conv:
    return resnet50()[name].workload


@pytest.mark.parametrize(
    "name",
    ["eyeriss-like", pytest.param("simba-like", marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("layer", ["layer1.0.conv2", "layer2.0.conv2"])
def test_resnet50_layers_as_7d_convolutions(name, layer):
    """ResNet-50's first 3x3 conv and its first strided one (3x3, stride 2), full size."""
    conv = _resnet_layer(layer)
    spec = build(_path(name), conv)
    assert spec.workload == conv
    _obeys(spec, get_design(_path(name)).constraints)
    result = evaluate(spec)
    assert result.computes.actual == conv.macs
    assert result.utilization == pytest.approx(1.0)  # both arrays fully used on these


def test_sparsim_map_on_a_design_file_maps_its_layer(tmp_path, capsys):
    path = tmp_path / "small-eyeriss.yaml"
    data = yaml.safe_load((LIBRARY / "eyeriss-like.yaml").read_text())
    data["workload"] = STRIDED.model_dump()
    path.write_text(yaml.safe_dump(data))
    assert main(["map", str(path), "--json"]) == 0
    mapped = json.loads(capsys.readouterr().out)
    assert mapped["computes"]["algorithmic"] == STRIDED.macs
    levels = {level["level"]: level for level in mapped["mapping"]["levels"]}
    assert levels["weights_spad"]["temporal"]["R"] == STRIDED.R  # a whole filter row
    # Without a workload, a design file is no mapping problem: one line, exit 2.
    del data["workload"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match="workload"):
        load_problem(path)
    assert main(["map", str(path)]) == 2
    assert "workload" in capsys.readouterr().err
    assert build(str(path), CONV3X3).workload == CONV3X3  # build() is given its layer
