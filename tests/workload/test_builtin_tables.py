"""Built-in layer tables against published parameter counts and MACs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparsim.errors import SparsimError
from sparsim.spec.workload import Conv
from sparsim.workload import bert, bert_base, builtin_table, minilm_l6, resnet50

# torchvision's resnet50 has 25,557,032 parameters: conv and FC weights, the FC bias and
# two batch-norm parameters per conv output channel.
RESNET50_PARAMETERS = 25_557_032
# Hugging Face's BertLayer (base) has 7,087,872 parameters: 6 weight matrices, their
# biases (4*768 + 3072 + 768) and two LayerNorms (2 * 2 * 768).
BERT_BASE_LAYER_PARAMETERS = 7_087_872


def weights(layer) -> int:
    gemm = layer.gemm
    return gemm.M * gemm.K * gemm.count


def test_resnet50_has_53_convs_and_fc():
    table = resnet50()
    assert len(table.select("conv2d")) == 53
    assert [layer.name for layer in table.select("linear")] == ["fc"]
    assert sum(".downsample." in name for name in table.names) == 4


def test_resnet50_parameters_match_torchvision():
    table = resnet50()
    convs = table.select("conv2d")
    batch_norm = 2 * sum(layer.workload.out_channels for layer in convs)
    fc_bias = 1000
    assert sum(weights(layer) for layer in table) + batch_norm + fc_bias == RESNET50_PARAMETERS


def test_resnet50_total_macs_at_224():
    # ~4.09 GMACs is the standard figure for ResNet-50 at 224x224.
    assert resnet50().macs == pytest.approx(4.089e9, rel=1e-3)


def test_resnet50_v15_stride_on_3x3():
    table = resnet50()
    conv1, conv2, downsample = (
        table["layer2.0.conv1"].workload,
        table["layer2.0.conv2"].workload,
        table["layer2.0.downsample.0"].workload,
    )
    assert (conv1.P, conv1.stride) == (56, 1)
    assert (conv2.P, conv2.stride, conv2.R) == (28, 2, 3)
    assert (downsample.P, downsample.stride) == (28, 2)
    assert table["conv1"].macs == 64 * 3 * 7 * 7 * 112 * 112
    assert table["layer4.2.conv3"].workload.P == 7


@given(batch=st.integers(1, 8), size=st.sampled_from([64, 128, 224, 256]))
def test_resnet50_macs_scale_with_batch(batch, size):
    one = resnet50(1, size)
    many = resnet50(batch, size)
    assert many.macs == batch * one.macs
    assert all(isinstance(layer.workload, Conv) for layer in many.select("conv2d"))


def test_bert_base_layer_parameters():
    table = bert_base()
    first = [layer for layer in table if layer.name.startswith("encoder.layer.0.")]
    assert len(first) == 6
    biases = 4 * 768 + 3072 + 768
    layer_norms = 2 * 2 * 768
    assert (
        sum(weights(layer) for layer in first) + biases + layer_norms == BERT_BASE_LAYER_PARAMETERS
    )
    assert len(table) == 72


@given(seq=st.integers(1, 512), batch=st.integers(1, 4))
def test_bert_macs_per_token(seq, batch):
    per_token_weights = 12 * (4 * 768 * 768 + 2 * 768 * 3072)
    plain = bert_base(seq, batch)
    assert plain.macs == batch * seq * per_token_weights
    with_attention = bert_base(seq, batch, attention_matmuls=True)
    # QK^T and PV: 2 * seq^2 * hidden per block and sequence.
    assert with_attention.macs - plain.macs == 12 * batch * 2 * seq * seq * 768
    assert {layer.op for layer in with_attention.select("matmul")} == {"matmul"}


def test_bert_attention_matmuls_in_execution_order():
    names = bert_base(attention_matmuls=True).names[:8]
    suffixes = [name.removeprefix("encoder.layer.0.") for name in names]
    assert suffixes == [
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.self.scores",
        "attention.self.context",
        "attention.output.dense",
        "intermediate.dense",
        "output.dense",
    ]
    scores = bert_base(64, 2, attention_matmuls=True)["encoder.layer.3.attention.self.scores"]
    assert (scores.gemm.M, scores.gemm.K, scores.gemm.N, scores.gemm.count) == (64, 64, 64, 24)


def test_minilm_table_matches_its_size():
    # all-MiniLM-L6-v2: 6 layers of hidden 384 and FFN 1536.
    table = minilm_l6(seq_len=1)
    assert table.macs == 6 * (4 * 384 * 384 + 2 * 384 * 1536)


def test_unknown_table_and_bad_options_are_one_line():
    with pytest.raises(SparsimError, match="unknown built-in network 'vgg'"):
        builtin_table("vgg")
    with pytest.raises(SparsimError, match="heads: heads=5 must divide hidden=768"):
        bert(heads=5)
    with pytest.raises(SparsimError, match="seq_len"):
        bert_base(seq_len=0)
    with pytest.raises(SparsimError, match="unknown layer name 'nope'"):
        resnet50()["nope"]
