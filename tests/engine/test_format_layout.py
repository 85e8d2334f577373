"""How a tile's loops become its format's ranks (Timeloop's metadata subnests), counted by
hand on the DRAM -> Buffer -> MAC architecture of ``tiny_spec``."""

from __future__ import annotations

import pytest

from sparsim.analysis.dense import analyse_dense
from sparsim.analysis.density import DensityPoints
from sparsim.analysis.formats import RankLayout, rank_units, tensor_layouts
from sparsim.analysis.nest import build_nest
from sparsim.errors import MappingError
from sparsim.evaluate import evaluate
from sparsim.spec.sparse_optimizations import LevelSparseOptimization, RankFormat
from sparsim.spec.sparsity import TensorDensity
from tests.engine.conftest import tiny_spec

CP = RankFormat(format="CP", metadata_word_bits=8)
UOP = RankFormat(format="UOP", payload_word_bits=0)


def _spec(dram_ranks, buffer_ranks, *, orders=None):
    """A is M8 x K8; the buffer's loops over it are K2 (M1 outside it), DRAM's M8 then K4."""
    spec = tiny_spec(8, 4, 8, buffer_temporal={"N": 4, "K": 2}, dram_temporal={"M": 8, "K": 4})
    orders = orders or {}
    sparse = [
        LevelSparseOptimization(
            level=level,
            formats={"A": ranks} if ranks else {},
            rank_order={"A": orders[level]} if level in orders and ranks else {},
        )
        for level, ranks in (("DRAM", dram_ranks), ("Buffer", buffer_ranks))
    ]
    return spec.model_copy(update={"sparse_optimizations": sparse})


def _layouts(spec):
    dense = analyse_dense(spec, build_nest(spec))
    formats = {
        index: opt.formats.get("A", []) for index, opt in enumerate(spec.sparse_optimizations)
    }
    orders = {
        index: opt.inner_to_outer("A") if "A" in opt.formats else False
        for index, opt in enumerate(spec.sparse_optimizations)
    }
    return tensor_layouts(dense.nest, "A", [0, 1], formats, orders, {0: "DRAM", 1: "Buffer"})


def test_a_compressed_tile_is_stored_as_its_childs_tiles():
    """DRAM pre-tiles: its inner rank is the buffer's (K2), its outer rank flattens the
    rest (K4 then M8) by its rule, 32 coordinates of 2-element sub-tiles."""
    tiles = RankFormat(format="UOP", payload_word_bits=0, flattened_ranks=["M", "K"])
    layouts = _layouts(_spec([tiles, CP], [CP]))
    assert layouts[1].loops == ((("K", 2),),)
    assert layouts[0].loops == ((("K", 2),), (("K", 4), ("M", 8)))
    assert layouts[0].fiber_shapes == (2, 32)
    assert layouts[0].subtiles == ((1, 1), (1, 2), (8, 8))


def test_a_pretiled_level_needs_a_rank_more_than_its_child():
    with pytest.raises(MappingError, match="more compression ranks needed"):
        evaluate(_spec([CP], [CP]))


def test_pretiled_formats_must_agree_with_the_childs():
    bitmask = RankFormat(format="B", metadata_word_bits=1)
    with pytest.raises(MappingError, match="formats of their inner ranks differ"):
        evaluate(_spec([UOP, UOP, bitmask], [CP]))


def test_without_pretiling_each_dimension_spans_the_loops_below_the_child():
    """An uncompressed DRAM tile of two UOP ranks: DRAM's M8 and K4 also span the buffer's
    M1 and K2, so its ranks are K8 (outer) and M8."""
    layouts = _layouts(_spec([UOP, UOP], [CP]))
    assert layouts[0].loops == ((("M", 8),), (("K", 8),))


def test_spare_ranks_are_inner_or_outer_by_the_rank_order():
    outer_first = _layouts(_spec([], [CP, CP]))
    inner_first = _layouts(_spec([], [CP, CP], orders={"Buffer": "inner-to-outer"}))
    assert outer_first[1].fiber_shapes == (1, 2)
    assert inner_first[1].fiber_shapes == (2, 1)


def test_rank_units_weigh_each_occupancy():
    """Two CP ranks of 2 over a tile of 4 at fixed-structured density 0.3: the tile holds 1
    nonzero (p 0.8) or 2 (p 0.2), spread evenly. One nonzero: the outer rank keeps 1 of
    its 2 halves (share 1/2 each), the inner 1 coordinate in 1 fiber. Two: 2 halves, and 1
    coordinate in each of 2 fibers. Expected metadata 1.2 per rank; the outer rank's payload
    (pointers) too; the inner rank's payload is the data."""
    layout = RankLayout(
        (CP, CP), ((("K", 2),), (("K", 2),)), (2, 2), ((1, 1), (1, 2), (1, 4)), False
    )
    density = DensityPoints([TensorDensity(distribution="fixed-structured", density=0.3)], (1, 8))
    inner, outer = rank_units(layout, density, (1, 4))
    assert inner.metadata_units == pytest.approx(1.2)
    assert inner.payload_units == 0.0
    assert outer.metadata_units == pytest.approx(1.2)
    assert outer.payload_units == pytest.approx(1.2)
    assert (inner.metadata_capacity, outer.metadata_capacity) == (2.0, 2.0)
