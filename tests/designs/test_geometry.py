"""The mapping heuristic reads the PE array's geometry from the design's architecture: a
tensor core with twice the artifact's MACs (8 subpartitions of 16 x 16) runs at full
utilisation, as the built-in 1,024-MAC one does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import sparsim
from sparsim.designs import build
from sparsim.designs.catalog import builtin_architecture, get_design
from sparsim.designs.heuristic import (
    ACCUMULATOR,
    PE_REGISTER,
    SHARED_BUFFER,
    array_geometry,
)
from sparsim.errors import SparsimError
from sparsim.spec.workload import Gemm

LAYER = Gemm(M=512, K=256, N=1024)


def _roles(design):
    names = design.architecture.level_names
    return {role: names.index(name) for role, name in design.roles}


@pytest.mark.parametrize(
    ("name", "geometry"),
    [("tc", (16, 16, (4, 1))), ("stc", (16, 16, (4, 1))), ("dstc", (16, 16, (2, 2)))],
)
def test_the_artifacts_arrays_read_from_their_architectures(name, geometry):
    design = get_design(name)
    found = array_geometry(design.architecture, _roles(design), design.dataflow)
    assert (found.rows, found.columns, found.subpartitions) == geometry


def _doubled_tc(tmp_path: Path, subpartitions: int = 8) -> Path:
    """The TC design file on an architecture with ``subpartitions`` RFs of 16 x 16 PEs."""
    architecture = builtin_architecture("tc").model_dump(mode="json", exclude_none=True)
    levels = {level["name"]: level for level in architecture["levels"]}
    macs = 256 * subpartitions
    levels["RF"]["instances"] = subpartitions
    levels["LRF"]["instances"] = macs
    architecture["compute"]["instances"] = macs
    architecture["name"] = f"tc-{macs}"
    design = yaml.safe_load(
        (Path(sparsim.__file__).parent / "designs" / "builtin" / "tc.yaml").read_text()
    )
    design.update(architecture=architecture, title=f"TC ({macs} MACs)")
    path = tmp_path / f"tc-{macs}.yaml"
    path.write_text(yaml.safe_dump(design))
    return path


@pytest.mark.parametrize("subpartitions", [4, 8])
def test_a_bigger_tensor_core_maps_at_full_utilisation(tmp_path, subpartitions):
    spec = build(str(_doubled_tc(tmp_path, subpartitions)), LAYER)
    result = sparsim.evaluate(spec)
    macs = 256 * subpartitions
    assert result.compute.instances == macs
    assert result.utilization == pytest.approx(1.0)
    assert result.cycles == LAYER.M * LAYER.N * LAYER.K // macs


def test_the_sweep_maps_it_at_full_utilisation_too(tmp_path):
    rows = sparsim.sweep(
        {
            "designs": [str(_doubled_tc(tmp_path))],
            "workloads": [{"gemm": "M=512,K=256,N=1024"}],
        },
        out=tmp_path / "store",
    )
    assert list(rows.utilization) == pytest.approx([1.0])
    assert list(rows.cycles) == [LAYER.M * LAYER.N * LAYER.K // 2048]


def test_the_heuristic_needs_the_arrays_mesh():
    design = get_design("tc")
    architecture = design.architecture
    levels = [
        level.model_copy(update={"mesh_x": None}) if level.name == "LRF" else level
        for level in architecture.levels
    ]
    unmeshed = architecture.model_copy(update={"levels": levels})
    roles = _roles(design)
    assert {SHARED_BUFFER, ACCUMULATOR, PE_REGISTER} <= roles.keys()
    with pytest.raises(SparsimError, match="mesh_x"):
        array_geometry(unmeshed, roles, design.dataflow)
