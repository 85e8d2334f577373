"""Exact small cases: density rules, the cache key, the dual-sided skipping variant,
aggregation and break-even interpolation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsim.errors import SparsimError
from sparsim.study.checks import breakeven_sparsity
from sparsim.study.config import load_definition
from sparsim.study.report import computes_parts, crossings
from sparsim.study.runner import evaluate_points, point_for
from sparsim.study.sparsity_types import aggregate
from sparsim.study.strategies import structured_density, unstructured_density

BY_NAME = load_definition().by_name


def test_structured_density_is_two_of_m_else_the_smallest_block():
    def pattern(density):
        found = structured_density(density, "A")
        return found.n, found.m

    assert pattern(0.25) == (2, 8)
    assert pattern(1 / 3) == (2, 6)
    assert pattern(0.5) == (2, 4)
    assert pattern(15 / 16) == (15, 16)
    assert pattern(7 / 8) == (7, 8)
    assert pattern(0.75) == (3, 4)
    assert structured_density(1.0, "A").distribution == "dense"
    with pytest.raises(SparsimError, match="density of the weights"):
        structured_density(0.31, "A")
    with pytest.raises(SparsimError, match="density of the input activations"):
        unstructured_density(0.0, "B")


def test_points_the_hardware_cannot_tell_apart_are_one():
    shape = (64, 128, 64)
    assert point_for(BY_NAME["struct-2:4"], shape, 0.5, 1.0) == point_for(
        BY_NAME["struct-flexible"], shape, 0.5, 0.25
    )
    # a 2:8-only core runs 2:4 weights dense, like STC-flexible on dense weights
    assert point_for(BY_NAME["struct-2:8"], shape, 0.5, 1.0) == point_for(
        BY_NAME["struct-flexible"], shape, 1.0, 1.0
    )
    assert point_for(BY_NAME["unstruct-single"], shape, 0.5, 0.5) == point_for(
        BY_NAME["unstruct-dual"], shape, 0.5, 1.0
    )
    assert point_for(BY_NAME["struct-dual"], shape, 0.5, 0.5) != point_for(
        BY_NAME["struct-flexible"], shape, 0.5, 0.5
    )


def test_dual_structured_skips_a_quarter_of_the_macs_at_2_of_4_each():
    m, k, n = 64, 256, 128
    dual = point_for(BY_NAME["struct-dual"], (m, k, n), 0.5, 0.5)
    single = point_for(BY_NAME["struct-flexible"], (m, k, n), 0.5, 0.5)
    outcomes = evaluate_points([dual, single], jobs=1, progress=False)
    metrics = outcomes[dual].metrics
    assert metrics["computes_algorithmic"] == m * k * n
    assert metrics["computes_actual"] == m * k * n / 4
    # skipped MACs take no cycle: 1024 MACs do the effectual quarter
    assert metrics["MAC.cycles"] == m * k * n / 4 / 1024
    assert outcomes[single].metrics["computes_actual"] == m * k * n / 2


def test_breakeven_interpolates_the_first_crossing():
    fine = pd.DataFrame(
        {
            "strategy": "s",
            "layer": "l",
            "sweep_sparsity": [0.5, 0.6, 0.7, 0.8],
            "energy_vs_dense": [1.5, 1.2, 0.8, 0.9],
        }
    )
    assert breakeven_sparsity(fine, "s", "l") == pytest.approx(0.65)
    never = fine.assign(energy_vs_dense=2.0)
    assert np.isnan(breakeven_sparsity(never, "s", "l"))


def test_crossings_interpolate_each_sign_change():
    x = np.array([0.0, 0.5, 0.6, 0.8, 1.0])
    y = np.array([1.2, 1.1, 0.9, 1.0, 1.4])
    # 1.1 -> 0.9 crosses at 0.55; 0.9 -> 1.0 touches at 0.8 (a point on the line)
    assert crossings(x, y) == pytest.approx([0.55, 0.8])
    assert crossings(x, y + 1) == []
    assert crossings(np.array([0.0, 1.0]), np.array([2.0, 0.0])) == pytest.approx([0.5])


def test_computes_parts_hand_counted():
    # 100 MACs padded to 120; 30 performed, spread evenly: 5 of them on the padding
    parts = computes_parts(dense=100, algorithmic=120, performed=30, effectual=24)
    assert parts == pytest.approx(
        {
            "effectual": 24,
            "performed, ineffectual": 1,
            "skipped": 75,
            "performed on padding": 5,
        }
    )
    unpadded = computes_parts(dense=100, algorithmic=100, performed=50, effectual=50)
    assert unpadded["performed on padding"] == 0 and unpadded["skipped"] == 50


def _layer_frame(energy, cycles, occurrences, errors) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": ["g"] * len(energy),
            "energy_uJ": energy,
            "cycles": cycles,
            "occurrences": occurrences,
            "dense_macs": [10] * len(energy),
            "bounding_level": ["ALU"] * len(energy),
            "ALU.cycles": cycles,
            "Buffer.cycles": [c / 2 for c in cycles],
            "error": errors,
        }
    )


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.1, 1e3), st.integers(1, 10**6), st.integers(1, 6)),
        min_size=1,
        max_size=6,
    )
)
def test_aggregate_weights_layers_by_occurrences(layers):
    energy, cycles, occurrences = (list(column) for column in zip(*layers, strict=True))
    total = aggregate(_layer_frame(energy, cycles, occurrences, [""] * len(layers)), ["group"])
    row = total.iloc[0]
    assert row["energy_uJ"] == pytest.approx(np.dot(energy, occurrences))
    assert row["cycles"] == np.dot(cycles, occurrences)
    assert row["edp_J_cycles"] == pytest.approx(
        np.dot(energy, occurrences) * 1e-6 * np.dot(cycles, occurrences)
    )
    assert row["layers"] == sum(occurrences) and row["complete"]
    # the bound is named as the results name it (here a compute called ALU)
    assert row["bounding_level"] == "ALU" and row["bound_share"] == pytest.approx(1.0)


def test_aggregate_leaves_a_set_with_an_unmapped_layer_empty():
    frame = _layer_frame([1.0, 2.0], [10, 20], [1, 1], ["", "no mapping"])
    row = aggregate(frame, ["group"]).iloc[0]
    assert not row["complete"] and np.isnan(row["energy_uJ"]) and np.isnan(row["edp_J_cycles"])
