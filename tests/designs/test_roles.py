"""Built-in designs name their levels by role in the catalog; code asks for roles."""

from __future__ import annotations

import pytest

from sparsim.designs import build, designs, get_design
from sparsim.designs.catalog import ROLES
from sparsim.errors import UnknownNameError
from sparsim.spec.workload import Gemm


@pytest.mark.parametrize("design", designs(), ids=lambda d: d.name)
def test_every_role_names_a_level_of_the_design(design):
    names = design.architecture.level_names
    assert [design.level_name(role) for role in ROLES] == names
    assert set(design.constraints.levels) <= set(names)


def test_unknown_role_is_named():
    with pytest.raises(UnknownNameError, match="no register-file level"):
        get_design("tc").level_name("register-file")


def test_built_mappings_use_the_design_level_names():
    spec = build("dstc", Gemm(M=64, K=64, N=64), {"A": 0.5, "B": 0.5})
    levels = [level.level for level in spec.mapping.levels]
    assert set(levels) <= set(spec.architecture.level_names)
    accumulator = get_design("dstc").level_name("accumulator")
    assert spec.mapping.for_level(accumulator).keep == ["Z"]
