"""The series language: parse, validate, print back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsim.errors import SparsimError
from sparsim.tasd import Pattern, Series, parse_series


def test_parse_and_print_back():
    series = parse_series(" 2:4 + 2:8 ")
    assert series.patterns == (Pattern(2, 4), Pattern(2, 8))
    assert str(series) == "2:4+2:8"
    assert series.density == 0.75
    assert series.block_lcm == 8
    assert series.is_nested


def test_keywords():
    assert parse_series("DENSE").is_dense
    assert str(parse_series("dense")) == "dense"
    assert parse_series("dense").density == 1.0
    none = parse_series("none")
    assert none.patterns == () and not none.is_dense
    assert str(none) == "none"
    assert none.density == 0.0


def test_non_nested_series():
    assert not parse_series("2:8+2:4").is_nested
    assert parse_series("4:8+1:8").is_nested
    assert parse_series("1:3+1:4").block_lcm == 12


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3:2", r"series '3:2': .*N <= M is required; got N=3 > M=2"),
        ("0:4", r"series '0:4': N \(elements kept per block of M\) must be >= 1"),
        ("2:4+", r"series '2:4\+': term 2 of 2 is empty"),
        ("+2:4", r"term 1 of 2 is empty"),
        ("", r"series: empty"),
        ("2-4", r"'2-4' is not N:M"),
        ("2:0", r"block size M must be >= 1"),
        ("2:4+3:2", r"term 2 '3:2': .*N=3 > M=2"),
        ("dense+2:4", r"'dense' stands alone"),
        ("1:4+1:4+1:4+1:4", r"4 terms, but at most 3 are allowed"),
    ],
)
def test_bad_series_is_one_clear_line(text, message):
    with pytest.raises(SparsimError, match=message) as info:
        parse_series(text)
    assert "\n" not in str(info.value)


def test_max_terms_is_configurable():
    assert len(parse_series("1:4+1:4+1:4+1:4", max_terms=4).patterns) == 4
    assert len(parse_series("1:4+1:4+1:4+1:4", max_terms=None).patterns) == 4
    with pytest.raises(SparsimError, match="at most 1"):
        parse_series("2:4+2:8", max_terms=1)


def test_pattern_validates_on_construction():
    with pytest.raises(SparsimError, match="N <= M"):
        Pattern(5, 4)
    with pytest.raises(SparsimError, match="dense series has no N:M terms"):
        Series((Pattern(2, 4),), is_dense=True)


patterns = st.integers(1, 16).flatmap(lambda m: st.builds(Pattern, st.integers(1, m), st.just(m)))


@settings(max_examples=100, deadline=None)
@given(st.lists(patterns, min_size=1, max_size=3))
def test_print_parse_round_trip(terms):
    series = Series(tuple(terms))
    assert parse_series(str(series)) == series
    assert series.density == pytest.approx(sum(p.n / p.m for p in terms))
