"""Capacity-dependent buffer energies, resized designs, and re-mapping on resized hardware."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparsim.designs import build, get_design, resize
from sparsim.designs.heuristic import smem_tile_limit
from sparsim.designs.memory import (
    AREA_CAPACITY_EXPONENT,
    ARTIFACT_ANCHORS,
    data_shape,
    metadata_shape,
    storage_bits,
)
from sparsim.errors import SparsimError
from sparsim.evaluate import evaluate
from sparsim.spec.workload import Gemm

ERT = (
    Path(__file__).resolve().parents[3]
    / "shared/reference/sparseloop-micro22/fig15/architecture_templates/HW_systems/ert_art/int8"
)
ARTIFACT_DESIGNS = {"stc": "STC-RF2x-24-bandwidth", "dstc": "DSTC-RF2x-24-bandwidth"}
SMEM_WORDS = 262144  # the artifact's 256 KB shared memory
LAYER = Gemm(M=128, K=1152, N=1024)  # fig15 ResNet50 layer
DESIGNS = ("tc", "stc", "dstc")


def _ert_actions(design: str, level: str) -> dict[str, float]:
    path = ERT / ARTIFACT_DESIGNS[design] / "ERT_summary.yaml"
    if not path.is_file():
        pytest.skip(f"reference data absent: {path} (../shared not checked out)")
    tables = yaml.safe_load(path.read_text())["ERT_summary"]["table_summary"]
    (table,) = [t for t in tables if t["name"].rsplit(".", 1)[-1] == level]
    return {action["name"]: action["energy"] for action in table["actions"]}


@pytest.mark.parametrize("anchor", ARTIFACT_ANCHORS, ids=lambda a: f"{a.level}-{a.storage}")
def test_anchors_are_the_artifact_energy_tables(anchor):
    prefix = "metadata_" if anchor.storage == "metadata" else ""
    for design in anchor.designs:
        actions = _ert_actions(design, anchor.level)
        assert (actions[f"{prefix}read"], actions[f"{prefix}write"]) == (
            anchor.read_pJ,
            anchor.write_pJ,
        )


@pytest.mark.parametrize("anchor", ARTIFACT_ANCHORS, ids=lambda a: f"{a.level}-{a.storage}")
def test_the_model_reproduces_the_builtin_designs_exactly_at_the_artifact_sizes(anchor):
    assert anchor.energies(anchor.depth, anchor.width_bits) == (anchor.read_pJ, anchor.write_pJ)
    for design in anchor.designs:
        level = get_design(design).architecture.level(anchor.level)
        shape = data_shape(level) if anchor.storage == "data" else metadata_shape(level)
        assert shape == (anchor.depth, anchor.width_bits)
        prefix = "metadata_" if anchor.storage == "metadata" else ""
        energy = level.energy
        assert anchor.energies(*shape) == (
            getattr(energy, f"{prefix}read"),
            getattr(energy, f"{prefix}write"),
        )


def test_four_times_the_smem_costs_twice_per_access():
    """sqrt(4) = 2 at a fixed access width; gated energies follow; metadata stays."""
    stc = get_design("stc").architecture
    smem = resize(stc, "SMEM", data_capacity=4 * SMEM_WORDS).level("SMEM")
    assert smem.data_capacity == 4 * SMEM_WORDS and smem.block_size == 64
    assert smem.energy.read == pytest.approx(2 * 285.71464)
    assert smem.energy.write == pytest.approx(2 * 316.96744)
    assert smem.energy.gated_read == pytest.approx(2 * 0.03325)
    assert (smem.energy.metadata_read, smem.metadata_capacity_bits) == (25.8695, 524288)
    quarter = resize(stc, "SMEM", data_capacity=SMEM_WORDS // 4).level("SMEM")
    assert quarter.energy.read == pytest.approx(285.71464 / 2)


def test_metadata_capacity_and_width():
    stc = get_design("stc").architecture
    smem = resize(stc, "SMEM", metadata_capacity_bits=4 * 524288).level("SMEM")
    assert smem.energy.metadata_read == pytest.approx(2 * 25.8695)
    assert smem.energy.gated_metadata_write == pytest.approx(2 * 0.00276)
    assert (smem.energy.read, smem.data_capacity) == (285.71464, SMEM_WORDS)
    # LRF metadata: one word of 4 / 16 bits instead of 8 (depth kept, linear in width).
    for bits, pj in ((4, 0.036), (16, 0.144)):
        lrf = resize(stc, "LRF", metadata_word_bits=bits).level("LRF")
        assert (lrf.metadata_word_bits, lrf.metadata_capacity_bits) == (bits, bits)
        assert lrf.energy.metadata_read == pytest.approx(pj)
        assert lrf.energy.gated_metadata_read == pytest.approx(0.00296 * bits / 8)
        assert lrf.energy.read == 0.072
    # Width and capacity together: 16-bit words, 4 of them (depth 4, width x2).
    lrf = resize(stc, "LRF", metadata_word_bits=16, metadata_capacity_bits=64).level("LRF")
    assert lrf.energy.metadata_write == pytest.approx(0.072 * 2 * 2)


def test_unbounded_and_absent_storage_keep_their_energies():
    tc = get_design("tc").architecture
    dram = resize(tc, "DRAM", data_capacity=1 << 30).level("DRAM")
    assert dram.data_capacity == 1 << 30 and dram.energy == tc.level("DRAM").energy
    smem = resize(tc, "SMEM", metadata_capacity_bits=4096, metadata_word_bits=64).level("SMEM")
    assert (smem.metadata_capacity_bits, smem.metadata_word_bits) == (4096, 64)
    assert smem.energy == tc.level("SMEM").energy


@pytest.mark.parametrize("design", DESIGNS)
def test_resizing_to_the_same_size_is_the_identity(design):
    arch = get_design(design).architecture
    for level in arch.levels:
        same = resize(
            arch,
            level.name,
            data_capacity=level.data_capacity,
            metadata_capacity_bits=level.metadata_capacity_bits or None,
            metadata_word_bits=level.metadata_word_bits or None,
        )
        assert same == arch


LEVELS = st.sampled_from([(d, lv) for d in DESIGNS for lv in ("SMEM", "RF", "LRF")])
SCALES = st.floats(1 / 64, 64)


@given(where=LEVELS, small=SCALES, large=SCALES)
def test_energy_per_access_never_falls_as_capacity_grows(where, small, large):
    small, large = sorted((small, large))
    arch = get_design(where[0]).architecture
    level = arch.level(where[1])
    sizes = [max(1, round(level.data_capacity * s)) for s in (small, large)]
    energies = [resize(arch, where[1], data_capacity=c).level(where[1]).energy for c in sizes]
    assert energies[0].read <= energies[1].read and energies[0].write <= energies[1].write
    assert energies[0].gated_read <= energies[1].gated_read
    if level.metadata_capacity_bits:
        bits = [max(64, round(level.metadata_capacity_bits * s)) for s in (small, large)]
        md = [
            resize(arch, where[1], metadata_capacity_bits=b, metadata_word_bits=4)
            .level(where[1])
            .energy
            for b in bits
        ]
        assert md[0].metadata_read <= md[1].metadata_read


@given(where=LEVELS, scale=SCALES, width=st.sampled_from([2, 4, 8, 16, 32]))
def test_resize_touches_nothing_else_and_round_trips(where, scale, width):
    arch = get_design(where[0]).architecture
    level = arch.level(where[1])
    capacity = max(1, round(level.data_capacity * scale))
    resized = resize(arch, where[1], data_capacity=capacity, metadata_word_bits=width)
    assert resized.compute == arch.compute and resized.name == arch.name
    assert [lv for lv in resized.levels if lv.name != where[1]] == [
        lv for lv in arch.levels if lv.name != where[1]
    ]
    changed = resized.level(where[1])
    sized = {"energy", "area", "data_capacity", "metadata_capacity_bits", "metadata_word_bits"}
    assert changed.model_dump(exclude=sized) == level.model_dump(exclude=sized)
    back = resize(
        resized,
        where[1],
        data_capacity=level.data_capacity,
        metadata_capacity_bits=level.metadata_capacity_bits or None,
        metadata_word_bits=level.metadata_word_bits or None,
    ).level(where[1])
    assert back.area == pytest.approx(level.area, rel=1e-12)
    for action, value in level.energy.model_dump().items():
        if value is None:  # an optional energy (update defaults to write) stays unset
            assert getattr(back.energy, action) is None
        else:
            assert getattr(back.energy, action) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"level": "L2"}, "unknown level 'L2' (levels: DRAM, SMEM, RF, LRF)"),
        ({"level": "SMEM", "data_capacity": 0}, "data_capacity must be a positive integer, got 0"),
        ({"level": "RF", "data_capacity": -8}, "data_capacity must be a positive integer, got -8"),
        ({"level": "RF", "data_capacity": 2.5}, "positive integer, got 2.5"),
        ({"level": "LRF", "metadata_word_bits": 0}, "metadata_word_bits must be a positive"),
        ({"level": "SMEM", "metadata_capacity_bits": True}, "got True"),
        ({"level": "SMEM", "metadata_capacity_bits": 32}, "holds less than one 64-bit"),
    ],
)
def test_bad_resize_is_a_one_line_error(kwargs, message):
    with pytest.raises(SparsimError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resize(get_design("stc").architecture, **kwargs)


def test_build_on_the_designs_own_hardware_is_unchanged():
    densities = {"A": "2:4", "B": 0.44}
    for design in DESIGNS:
        own = build(design, LAYER, densities, architecture=get_design(design).architecture)
        assert own == build(design, LAYER, densities)
    tc = get_design("tc").architecture
    no_lrf = tc.model_copy(update={"levels": tc.levels[:3]})
    with pytest.raises(SparsimError, match=r"has levels .* design tc needs"):
        build("tc", LAYER, densities, architecture=no_lrf)


def test_the_smem_tile_cap_grows_with_the_smem():
    """The tensor cores' constraints cap the SMEM's temporal M and N at 8 for its own SMEM."""
    assert smem_tile_limit(8, SMEM_WORDS, SMEM_WORDS) == 8
    assert smem_tile_limit(8, SMEM_WORDS, SMEM_WORDS // 4) == 8  # capacity bounds smaller
    assert smem_tile_limit(8, SMEM_WORDS, 4 * SMEM_WORDS) == 32
    assert smem_tile_limit(None, SMEM_WORDS, 4 * SMEM_WORDS) is None  # no cap to scale


def _dram_words(design: str, densities: dict, smem_words: int) -> float:
    arch = resize(get_design(design).architecture, "SMEM", data_capacity=smem_words)
    dram = evaluate(build(design, LAYER, densities, architecture=arch)).level("DRAM")
    return sum(
        t.reads.actual + t.reads.gated + t.updates.actual + t.updates.gated
        for t in dram.tensors.values()
    )


@pytest.mark.parametrize(
    "design, densities, a_density, b_density",
    [
        ("tc", {"A": "2:4", "B": 0.44}, 1.0, 1.0),
        ("stc", {"A": "2:4"}, 0.5, 1.0),
        ("dstc", {"A": 0.5, "B": 0.5}, 0.5, 0.5),
    ],
)
def test_bigger_smem_never_moves_more_dram_words_on_the_fig15_layer(
    design, densities, a_density, b_density
):
    """Every operand word crosses DRAM at least once and every output leaves it once; the
    heuristic reaches that floor with the artifact's SMEM, so 4x cannot move fewer words,
    and a quarter of the SMEM no longer holds a whole operand tile and moves more."""
    floor = 128 * 1152 * a_density + 1024 * 1152 * b_density + 128 * 1024
    words = {f: _dram_words(design, densities, int(SMEM_WORDS * f)) for f in (0.25, 1, 4)}
    assert words[1] == pytest.approx(floor)
    assert words[4] == pytest.approx(floor)
    assert words[0.25] > 1.1 * floor


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    design=st.sampled_from(DESIGNS),
    m=st.integers(1, 600),
    n=st.integers(1, 1200),
    k=st.integers(1, 1200),
)
def test_a_mapping_that_fits_still_fits_in_a_bigger_smem(design, m, n, k):
    """By construction: more capacity never invalidates a tile, so the mapping chosen for
    the artifact's SMEM runs on the 4x one, moving the same words at twice the SMEM cost."""
    densities = {"A": "2:4", "B": 0.5}
    bigger = resize(get_design(design).architecture, "SMEM", data_capacity=4 * SMEM_WORDS)
    chosen = build(design, Gemm(M=m, N=n, K=k), densities)
    before = evaluate(chosen)
    after = evaluate(chosen.model_copy(update={"architecture": bigger}))
    assert after.level("DRAM") == before.level("DRAM")
    smem_before, smem_after = before.level("SMEM"), after.level("SMEM")
    assert smem_after.data_energy_pJ == pytest.approx(2 * smem_before.data_energy_pJ)
    assert smem_after.metadata_energy_pJ == pytest.approx(smem_before.metadata_energy_pJ)
    remapped = build(design, Gemm(M=m, N=n, K=k), densities, architecture=bigger)
    assert remapped.architecture == bigger


def _art_areas(design: str) -> dict[str, float]:
    path = ERT / ARTIFACT_DESIGNS[design] / "ART_summary.yaml"
    if not path.is_file():
        pytest.skip(f"reference data absent: {path} (../shared not checked out)")
    tables = yaml.safe_load(path.read_text())["ART_summary"]["table_summary"]
    return {re.sub(r"\[\d+\.\.\d+\]", "", t["name"]).rsplit(".", 1)[-1]: t["area"] for t in tables}


@pytest.mark.parametrize("design", ARTIFACT_DESIGNS)
def test_area_anchors_are_the_artifact_area_tables_and_come_back_unchanged(design):
    """The built-in designs' areas are the artifact's ART, and resizing a level to its own
    size (or there and back) returns them exactly."""
    arch = get_design(design).architecture
    art = _art_areas(design)
    assert {lv.name: lv.area for lv in arch.levels} | {"MAC": arch.compute.area} == art
    for level in arch.levels:
        if level.data_capacity is None:
            continue
        same = resize(arch, level.name, data_capacity=level.data_capacity)
        assert same.level(level.name).area == level.area
        there = resize(arch, level.name, data_capacity=3 * level.data_capacity)
        back = resize(there, level.name, data_capacity=level.data_capacity)
        assert back.level(level.name).area == pytest.approx(level.area, rel=1e-12)


@pytest.mark.parametrize("design", DESIGNS)
def test_area_follows_the_stored_bits(design):
    """A(bits) = A_anchor x (bits / bits_anchor) ** 0.93: 4x the SMEM's data is
    (4 x data + metadata) / (data + metadata) more bits; DRAM keeps its area."""
    arch = get_design(design).architecture
    smem = arch.level("SMEM")
    bigger = resize(arch, "SMEM", data_capacity=4 * SMEM_WORDS)
    ratio = storage_bits(bigger.level("SMEM")) / storage_bits(smem)
    metadata = smem.metadata_capacity_bits or 0
    assert ratio == (4 * SMEM_WORDS * 8 + metadata) / (SMEM_WORDS * 8 + metadata)
    assert bigger.level("SMEM").area == pytest.approx(smem.area * ratio**AREA_CAPACITY_EXPONENT)
    assert bigger.area_um2 - arch.area_um2 == pytest.approx(bigger.level("SMEM").area - smem.area)
    dram = resize(arch, "DRAM", data_capacity=1 << 30)
    assert dram.level("DRAM").area == arch.level("DRAM").area
