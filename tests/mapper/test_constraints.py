"""Timeloop v0.3 mapspace constraints: parsing, and the mapper honouring them."""

from __future__ import annotations

import pytest

from sparsim.designs.mapper import map_spec
from sparsim.errors import NoValidMappingError, SpecError, UnknownNameError
from sparsim.evaluate import evaluate as sparsim_evaluate
from sparsim.spec.constraints import parse_constraints

from .conftest import tiny_problem


def _constraints(*entries):
    return parse_constraints({"architecture_constraints": {"targets": list(entries)}}, "c.yaml")


def test_factor_forms_parse_as_timeloop_writes_them():
    c = _constraints(
        {
            "target": "Scratchpad",
            "type": "temporal",
            "factors": "M=2 N0 K<=4 # note",
            "permutation": "KM_N",
        },
        {"target": "Scratchpad", "type": "spatial", "factors": "M>=2", "split": 1},
        {"target": "PEBuffer", "type": "bypass", "keep": ["A"], "bypass": ["B", "Z"]},
    )
    level = c.for_level("Scratchpad")
    assert level.temporal.exact == {"M": 2, "N": 0}
    assert level.temporal.at_most == {"K": 4}
    assert level.spatial.at_least == {"M": 2}
    assert (level.temporal_permutation.inner, level.temporal_permutation.outer) == ("KM", "N")
    assert level.split == 1
    assert c.for_level("PEBuffer").keep == ("A",)
    assert level.temporal.bounds("N", 8) == (1, 8, 8)  # 0 = the whole dimension


@pytest.mark.parametrize(
    ("entry", "error", "words"),
    [
        ({"target": "X", "type": "sideways"}, UnknownNameError, "sideways"),
        ({"target": "X", "type": "temporal", "factors": "M=2 M=4"}, SpecError, "twice"),
        ({"target": "X", "type": "temporal", "factors": "M~2"}, SpecError, "cannot read"),
        ({"target": "X", "type": "bypass", "keep": ["A"], "bypass": ["A"]}, SpecError, "both"),
        ({"target": "X", "type": "temporal", "remainders": 2}, SpecError, "not supported"),
    ],
)
def test_bad_constraints_name_the_entry(entry, error, words):
    with pytest.raises(error, match=words) as caught:
        _constraints(entry)
    assert "architecture_constraints.targets[0]" in str(caught.value)


@pytest.mark.parametrize(
    ("entry", "words", "key"),
    [
        ({"target": "Scratchpad", "type": "temporal", "factors": "Q=2"}, "'Q'", "].factors"),
        ({"target": "Scratchpad", "type": "temporal", "permutation": "MQ"}, "'Q'", "permutation"),
        ({"target": "PEBuffer", "type": "bypass", "keep": ["Weights"]}, "'Weights'", "keep"),
        (
            {"target": "Scratchpad", "type": "spatial", "no_multicast_no_reduction": ["W"]},
            "'W'",
            "no_multicast_no_reduction",
        ),
    ],
)
def test_names_are_the_problems_own_checked_when_applied(entry, words, key):
    c = _constraints({"target": "Backing", "type": "temporal", "factors": "K=1"}, entry)
    with pytest.raises(UnknownNameError, match=words) as caught:
        map_spec(tiny_problem(), c)
    assert "c.yaml: architecture_constraints.targets[1]" in str(caught.value)
    assert key in str(caught.value)


def test_entries_of_one_level_merge_and_conflicts_are_errors():
    merged = parse_constraints(
        {
            "architecture_constraints": [
                {"target": "Scratchpad", "type": "temporal", "factors": "M=2"},
            ],
            "mapspace_constraints": [
                {"target": "Scratchpad", "type": "temporal", "permutation": "K N M"},
            ],
        },
        "c.yaml",
    ).for_level("Scratchpad")
    assert merged.temporal.exact == {"M": 2}
    assert (merged.temporal_permutation.inner, merged.temporal_permutation.outer) == ("KNM", "")
    with pytest.raises(SpecError, match="M= of level 'Scratchpad' given twice"):
        _constraints(
            {"target": "Scratchpad", "type": "temporal", "factors": "M=2"},
            {"target": "Scratchpad", "type": "temporal", "factors": "M=4"},
        )
    with pytest.raises(SpecError, match="no_temporal_reuse applies to temporal"):
        _constraints({"target": "Scratchpad", "type": "spatial", "no_temporal_reuse": ["A"]})


def test_reuse_switches_and_default_max_factor_reach_the_mapping():
    c = _constraints(
        {
            "target": "Scratchpad",
            "type": "spatial",
            "no_link_transfer": ["B"],
            "no_multicast_no_reduction": ["A"],
        },
        {
            "target": "Scratchpad",
            "type": "temporal",
            "no_temporal_reuse": ["Z"],
            "default_max_factor": 2,
            "factors": "K<=1",
        },
    )
    found = map_spec(tiny_problem((4, 4, 2)), c)
    level = found.spec.mapping.for_level("Scratchpad")
    assert (level.no_link_transfer, level.no_multicast, level.no_temporal_reuse) == (
        ["B"],
        ["A"],
        ["Z"],
    )
    assert all(v <= 2 for v in level.temporal.values()) and "K" not in level.temporal
    again = sparsim_evaluate(found.spec)
    assert again.energy_pJ == found.result.energy_pJ


def test_unknown_level_is_named():
    c = _constraints({"target": "SMEM", "type": "temporal", "factors": "M=1"})
    with pytest.raises(UnknownNameError, match=r"'SMEM'.*Backing, Scratchpad, PEBuffer"):
        map_spec(tiny_problem(), c)


def test_the_mapping_found_obeys_every_constraint():
    c = _constraints(
        {"target": "Backing", "type": "temporal", "factors": "K=1", "permutation": "NM"},
        {"target": "Scratchpad", "type": "spatial", "factors": "M=2"},
        {"target": "Scratchpad", "type": "bypass", "keep": ["B"], "bypass": ["Z"]},
        {"target": "PEBuffer", "type": "temporal", "factors": "N<=1"},
    )
    found = map_spec(tiny_problem((4, 4, 2)), c, top_k=4)
    for spec in [found.spec, *(alt.spec for alt in found.alternatives)]:
        levels = {lm.level: lm for lm in spec.mapping.levels}
        assert levels["Backing"].temporal.get("K", 1) == 1
        assert levels["Scratchpad"].spatial.get("M", 1) == 2
        assert "B" in levels["Scratchpad"].keep and "Z" not in levels["Scratchpad"].keep
        assert levels["PEBuffer"].temporal.get("N", 1) == 1
        order = [
            d
            for d in levels["Backing"].temporal_permutation
            if levels["Backing"].temporal.get(d, 1) > 1
        ]
        assert order == [d for d in "NM" if d in order]
    scores = [found.score, *(alt.score for alt in found.alternatives)]
    assert scores == sorted(scores)


def test_unsatisfiable_constraints_name_the_constraint():
    c = _constraints({"target": "Scratchpad", "type": "spatial", "factors": "M=3"})
    with pytest.raises(NoValidMappingError, match="Scratchpad spatial M=3"):
        map_spec(tiny_problem((6, 4, 2)), c)


def test_nothing_fits_names_the_level():
    c = _constraints(
        {"target": "PEBuffer", "type": "temporal", "factors": "M=4 N=4 K=2"},
        {"target": "PEBuffer", "type": "bypass", "keep": ["A", "B", "Z"]},
    )
    with pytest.raises(NoValidMappingError, match="capacity of level PEBuffer"):
        map_spec(tiny_problem((4, 4, 2)), c)


def test_exact_factor_larger_than_the_dimension_is_ignored_and_reported():
    c = _constraints({"target": "Scratchpad", "type": "spatial", "factors": "K=16"})
    found = map_spec(tiny_problem((4, 4, 2)), c)
    assert any("K=16 exceeds K=2" in note for note in found.notes)


def test_an_exact_factor_is_not_bound_by_default_max_factor():
    c = _constraints(
        {"target": "Backing", "type": "temporal", "factors": "M=4", "default_max_factor": 2}
    )
    found = map_spec(tiny_problem((4, 4, 2)), c)
    backing = found.spec.mapping.for_level("Backing")
    assert backing.temporal["M"] == 4 and all(
        v <= 2 for d, v in backing.temporal.items() if d != "M"
    )
