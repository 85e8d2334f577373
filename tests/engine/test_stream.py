"""``stream``: a tensor a level does not keep but streams is charged one write and one read
per word crossing it (the MICRO'22 artifact's Timeloop build), counted by hand here."""

from __future__ import annotations

import pytest

from sparsim.errors import SparsimError
from sparsim.evaluate import evaluate, load
from sparsim.spec.mapping import Mapping
from sparsim.spec.model import check_references
from tests.engine.conftest import FIG15, tiny_spec


def _with_buffer(spec, *, keep, stream, block_size=None):
    """The tiny spec with the buffer's keep/stream lists (and block size) replaced."""
    dram, buffer = spec.mapping.levels
    mapping = Mapping(levels=[dram, buffer.model_copy(update={"keep": keep, "stream": stream})])
    architecture = spec.architecture
    if block_size is not None:
        levels = list(architecture.levels)
        levels[1] = levels[1].model_copy(update={"block_size": block_size})
        architecture = architecture.model_copy(update={"levels": levels})
    return check_references(
        spec.model_copy(update={"mapping": mapping, "architecture": architecture})
    )


def _two_level():
    """M=2, N=3, K=4, DRAM loops over N: as in test_two_level_gemm."""
    return tiny_spec(2, 3, 4, buffer_temporal={"M": 2, "K": 4}, dram_temporal={"N": 3})


def test_streamed_input_is_charged_per_word_crossing():
    """A bypasses the buffer: DRAM sends every one of the 24 A operands straight to the MAC.
    Streamed, each also costs a buffer write (3 pJ) and read (2 pJ): 24 x 5 = 120 pJ more,
    with no capacity used and the DRAM side unchanged."""
    bypassed = evaluate(_with_buffer(_two_level(), keep=["B", "Z"], stream=[]))
    streamed = evaluate(_with_buffer(_two_level(), keep=["B", "Z"], stream=["A"]))
    assert bypassed.levels[0].tensors["A"].reads.actual == 24
    assert "A" not in bypassed.levels[1].tensors
    a = streamed.levels[1].tensors["A"]
    assert (a.fills.actual, a.reads.actual, a.updates.actual) == (24, 24, 0)
    assert a.data_capacity_used == 0 and a.energy_pJ == 120
    assert streamed.levels[0].energy_pJ == bypassed.levels[0].energy_pJ
    assert streamed.energy_pJ == bypassed.energy_pJ + 120
    assert streamed.cycles == bypassed.cycles


def test_streamed_output_carries_updates_up_and_read_backs_down():
    """Z bypasses the buffer: 24 partial sums go up to DRAM, which holds 6 outputs and reads
    18 of them back. Streamed, 24 + 18 = 42 words cross the buffer: 42 x (3 + 2) = 210 pJ."""
    streamed = evaluate(_with_buffer(_two_level(), keep=["A", "B"], stream=["Z"]))
    dram_z = streamed.levels[0].tensors["Z"]
    assert (dram_z.updates.actual, dram_z.reads.actual) == (24, 18)
    z = streamed.levels[1].tensors["Z"]
    assert (z.fills.actual, z.reads.actual) == (42, 42)
    assert z.energy_pJ == 210


def test_streamed_words_are_vector_rounded_by_block_size():
    """With 16-word vectors the 24 streamed words are 2 vector writes and 2 vector reads
    (ceil(24 / 16)): 2 x 3 + 2 x 2 = 10 pJ, and they count against the buffer's bandwidth."""
    spec = _with_buffer(_two_level(), keep=["B", "Z"], stream=["A"], block_size=16)
    a = evaluate(spec).levels[1].tensors["A"]
    assert a.energy_pJ == 10
    assert (a.read_words, a.write_words) == (24, 24)


def test_stream_on_a_kept_tensor_changes_nothing():
    plain = evaluate(_with_buffer(_two_level(), keep=["A", "B", "Z"], stream=[]))
    streamed = evaluate(_with_buffer(_two_level(), keep=["A", "B", "Z"], stream=["A", "Z"]))
    assert streamed == plain


def test_unknown_streamed_tensor_is_a_spec_error():
    """The tensors of the problem (A, B, Z of the GEMM) are the ones a level may stream."""
    with pytest.raises(SparsimError, match=r"levels\[1\]\.stream: unknown tensor 'Q'"):
        _with_buffer(_two_level(), keep=["B", "Z"], stream=["Q"])


STREAM_CASE = "WD-1.0/M512-K1024-N256-IAD0.27-WD1.0/TC-RF2x-24-bandwidth"


@pytest.mark.skipif(not (FIG15 / STREAM_CASE).is_dir(), reason=f"fig15 cases not found at {FIG15}")
def test_fig15_streamed_weights_cost_smem_one_write_and_read_per_dram_read():
    """SMEM bypasses A but streams it: the 1,048,576 A words DRAM reads each cost SMEM a
    write (599.806 pJ) and a read (536.05005 pJ) per 64-word vector; cycles unchanged."""
    result = evaluate(load(FIG15 / STREAM_CASE))
    dram, smem = result.levels[0], result.levels[1]
    a = smem.tensors["A"]
    assert a.reads.actual == a.fills.actual == dram.tensors["A"].reads.actual == 1048576
    assert a.energy_pJ == pytest.approx(1048576 / 64 * (599.806 + 536.05005), rel=1e-12)
    assert result.cycles == 131072
