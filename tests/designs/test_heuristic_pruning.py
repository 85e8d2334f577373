"""The heuristic skips candidates without evaluating them only where the engine would
reject them anyway: shared-buffer tiles over capacity at their fullest, every candidate
whose inner choice already overflowed a level inside the shared buffer, and every candidate
whose shared-buffer tiles already overflowed it under another order of the DRAM loops."""

from __future__ import annotations

import importlib
from itertools import islice

import pytest

from sparsim.designs import get_design, resize, scheme_for
from sparsim.designs.schemes import sparse_optimizations
from sparsim.errors import CapacityError
from sparsim.evaluate import evaluate
from sparsim.spec.workload import Gemm

build_module = importlib.import_module("sparsim.designs.build")

GEMM = Gemm(name="g", M=128, K=1152, N=784)
CASES = [
    ("stc-flexible", Gemm(name="g", M=512, K=2304, N=196), {"A": "2:8"}),
    ("stc-flexible-dual", Gemm(name="g", M=128, K=1152, N=784), {"A": "2:4", "B": 0.4}),
    ("dstc", Gemm(name="g", M=256, K=1152, N=784), {"A": 0.5, "B": 0.3}),
    ("dstc", Gemm(name="g", M=64, K=576, N=3136), {"A": 0.25, "B": 0.8}),
]


def _setting(name, gemm, densities, register_metadata_bits=None):
    design = get_design(name)
    scheme = scheme_for(design, densities)
    optimizations = sparse_optimizations(design, scheme)
    arch = design.architecture
    if register_metadata_bits:  # narrower PE-register metadata: inner tiles overflow it
        register = design.level_name("pe-register")
        arch = resize(arch, register, metadata_word_bits=register_metadata_bits)
    candidates = build_module._candidates(design, arch, gemm, scheme)
    return design, arch, scheme, optimizations, candidates


def _outcome(design, arch, gemm, scheme, optimizations, candidate):
    spec = build_module._spec(design, arch, gemm, scheme, optimizations, candidate)
    try:
        return evaluate(spec)
    except CapacityError as error:
        return error


@pytest.mark.parametrize(("name", "gemm", "densities"), CASES)
def test_skipped_shared_buffer_tiles_are_over_capacity_in_the_engine(name, gemm, densities):
    design, arch, scheme, optimizations, candidates = _setting(name, gemm, densities)
    over = build_module._shared_buffer_check(design, arch, scheme, optimizations)
    flagged = [c for c in candidates if over(c)]
    for candidate in islice(flagged, 0, None, max(1, len(flagged) // 12)):
        outcome = _outcome(design, arch, gemm, scheme, optimizations, candidate)
        assert isinstance(outcome, CapacityError), (
            candidate.key if hasattr(candidate, "key") else candidate
        )
        assert outcome.level == design.level_name("shared-buffer")


INNER_CASES = [
    ("dstc", GEMM, {"A": 0.5, "B": 0.5}, 1),
    ("dstc", GEMM, {"A": "2:8", "B": 0.25}, 2),
    ("stc-flexible-dual", GEMM, {"A": "2:8", "B": 0.25}, 1),
]


@pytest.mark.parametrize(("name", "gemm", "densities", "bits"), INNER_CASES)
def test_an_inner_choice_that_overflows_inside_overflows_with_every_outer_choice(
    name, gemm, densities, bits
):
    design, arch, scheme, optimizations, candidates = _setting(name, gemm, densities, bits)
    outer = {design.level_name("backing-store"), design.level_name("shared-buffer")}
    by_inner: dict[int, list] = {}
    for candidate in candidates:
        by_inner.setdefault(id(candidate.inner), []).append(candidate)
    checked, seen = 0, set()
    for candidate in candidates[:600]:
        if id(candidate.inner) in seen:
            continue
        first = _outcome(design, arch, gemm, scheme, optimizations, candidate)
        if not (isinstance(first, CapacityError) and first.level not in outer):
            continue
        seen.add(id(candidate.inner))
        others = [c for c in by_inner[id(candidate.inner)] if c is not candidate]
        for other in others[:: max(1, len(others) // 3)]:
            outcome = _outcome(design, arch, gemm, scheme, optimizations, other)
            # rejected too (the engine may name an outer level it checks first)
            assert isinstance(outcome, CapacityError)
            checked += 1
    assert checked > 0


@pytest.mark.parametrize(("name", "gemm", "densities"), [c for c in CASES if c[0] == "dstc"])
def test_shared_buffer_tiles_that_overflow_do_so_whatever_the_dram_loop_order(
    name, gemm, densities
):
    design, arch, scheme, optimizations, candidates = _setting(name, gemm, densities)
    shared = design.level_name("shared-buffer")
    orders: dict[tuple, list] = {}
    for candidate in candidates:
        key = (id(candidate.inner), candidate.smem_tiles, candidate.smem_keep)
        orders.setdefault(key, []).append(candidate)
    checked = 0
    for same_tiles in list(orders.values())[:300]:
        outcomes = [_outcome(design, arch, gemm, scheme, optimizations, c) for c in same_tiles[:2]]
        over = [isinstance(o, CapacityError) and o.level == shared for o in outcomes]
        assert len(set(over)) == 1, [c.dram_permutation for c in same_tiles[:2]]
        checked += over[0] and len(outcomes) == 2
    assert checked > 0  # some tiles overflow the shared buffer
