"""Hardware pattern tables: native patterns, realisable series, name lookup."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsim.errors import SparsimError
from sparsim.tasd import (
    Pattern,
    builtin_hardware,
    decompose,
    get_hardware,
    hardware_names,
    nm_prune,
)

HARDWARE = builtin_hardware()


def test_native_patterns():
    native = {hw.name: [str(p) for p in hw.native] for hw in HARDWARE}
    assert native == {
        "STC-M4": ["2:4"],
        "STC-M8": ["4:8"],
        "VEGETA-M4": ["1:4", "2:4"],
        "VEGETA-M8": ["1:8", "2:8", "4:8"],
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("TTC-STC-M4", "STC-M4"),
        ("ttc-stc-m8", "STC-M8"),
        ("Ttc-Vegeta-M4", "VEGETA-M4"),
        ("TTC-VEGETA-M8", "VEGETA-M8"),
        ("vegeta-m8", "VEGETA-M8"),
        ("stc", "STC"),  # the catalog's STC design: 2:4 terms on the same hardware
        (" STC-M4 ", "STC-M4"),
    ],
)
def test_lookup_is_case_insensitive(name, expected):
    assert get_hardware(name).name == expected


def test_unknown_hardware_lists_valid_names():
    with pytest.raises(SparsimError) as info:
        get_hardware("TTC-FOO")
    message = str(info.value)
    assert "unknown hardware 'TTC-FOO'" in message
    for name in ("TTC-STC-M4", "TTC-STC-M8", "TTC-VEGETA-M4", "TTC-VEGETA-M8"):
        assert name in message
    assert set(hardware_names()) >= {"STC-M4", "TTC-VEGETA-M8"}
    assert "design file" in message


def test_a_design_without_nm_patterns_is_no_tasd_tensor_core():
    with pytest.raises(SparsimError, match="design tc runs dense weights"):
        get_hardware("tc")
    with pytest.raises(SparsimError, match="design dstc runs unstructured weights"):
        get_hardware("dstc")


def test_vegeta_m8_table_from_the_seed_paper():
    table = {
        str(p): (str(s) if s else None)
        for p, s in get_hardware("VEGETA-M8").pattern_table().items()
    }
    assert table == {
        "1:8": "1:8",
        "2:8": "2:8",
        "3:8": "2:8+1:8",
        "4:8": "4:8",
        "5:8": "4:8+1:8",
        "6:8": "4:8+2:8",
        "7:8": None,
        "8:8": "4:8+4:8",
    }


def test_vegeta_m4_realises_3_4():
    assert str(get_hardware("TTC-VEGETA-M4").realise("3:4")) == "2:4+1:4"


def test_seven_eighths_needs_three_terms():
    vegeta = get_hardware("VEGETA-M8")
    with pytest.raises(
        SparsimError, match="pattern 7:8: not realisable on VEGETA-M8 with at most 2 terms"
    ):
        vegeta.realise("7:8")
    assert str(vegeta.realise("7:8", max_terms=3)) == "4:8+2:8+1:8"
    with pytest.raises(SparsimError, match="blocks of M=8, not M=4"):
        vegeta.realise("2:4")


def test_realisable_series_with_effective_density():
    options = get_hardware("STC").realisable_series()
    assert [(str(o.series), str(o.pattern), o.effective_density) for o in options] == [
        ("2:4", "2:4", 0.5),
        ("2:4+2:4", "4:4", 1.0),
    ]
    densities = {
        str(o.series): o.effective_density for o in get_hardware("VEGETA-M8").realisable_series()
    }
    assert densities["4:8+1:8"] == 0.625
    assert densities["2:8+1:8"] == 0.375


def test_supports():
    vegeta = get_hardware("VEGETA-M8")
    assert vegeta.supports("4:8+1:8")
    assert not vegeta.supports("2:4")
    assert not vegeta.supports("4:8+2:8+1:8")
    assert vegeta.supports("4:8+2:8+1:8", max_terms=3)
    assert not vegeta.supports("dense")


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(HARDWARE),
    st.integers(1, 8),
    st.integers(0, 2**32 - 1),
)
def test_realising_series_is_lossless_on_its_pattern(hw, n, seed):
    """Any N:M-sparse tensor decomposes without loss into the series that realises N:M."""
    pattern = Pattern(min(n, hw.block_size), hw.block_size)
    series = hw.pattern_table()[pattern]
    if series is None:
        return
    x = np.random.default_rng(seed).standard_normal((4, 4 * hw.block_size))
    structured = nm_prune(x, pattern).pruned
    d = decompose(structured, series)
    assert np.count_nonzero(d.residual) == 0
    np.testing.assert_array_equal(d.approximation, structured)
