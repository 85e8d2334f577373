"""A design says how it runs a convolution: as its im2col GEMM (the tensor-core dataflows)
or as the convolution itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import sparsim
from sparsim.designs.build import design_problem
from sparsim.errors import SpecError
from sparsim.spec.workload import Conv

LAYER = Conv(name="conv3x3", C=64, out_channels=128, P=28, Q=28, R=3, S=3, stride=2)
BUILTIN = Path(sparsim.__file__).parent / "designs" / "builtin"


def _design(tmp_path: Path, **changes) -> str:
    design = yaml.safe_load((BUILTIN / "stc.yaml").read_text())
    design.update(changes)
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump(design))
    return str(path)


def test_a_tensor_core_runs_a_convolution_as_its_gemm():
    problem = design_problem("stc", LAYER, {"weights": "2:4"})
    assert problem.workload == LAYER.as_gemm()
    assert set(problem.densities) == {"A", "B"}


def test_a_native_design_keeps_the_convolution_and_names_its_tensors(tmp_path):
    path = _design(tmp_path, dataflow="weight-stationary", convolutions="native")
    problem = design_problem(path, LAYER, {"weights": "2:4"})
    assert problem.workload == LAYER
    assert problem.densities["Weights"].n == 2
    formats = {t for opt in problem.sparse_optimizations for t in opt.formats}
    actions = {a.target for opt in problem.sparse_optimizations for a in opt.actions}
    assert formats == {"Weights"} and actions == {"Inputs", "Outputs"}


def test_a_heuristic_dataflow_cannot_run_convolutions_natively(tmp_path):
    with pytest.raises(SpecError, match="convolutions: im2col"):
        sparsim.designs.get_design(_design(tmp_path, convolutions="native"))
