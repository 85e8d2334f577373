"""Layer tables of well-known networks, computed from their architecture (no torch needed).

Layer names follow the reference implementations (torchvision's ResNet, Hugging Face's
BERT), so a table extracted from the real model lines up with the built-in one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sparsim.errors import SparsimError, SpecError
from sparsim.spec.workload import Conv, Gemm
from sparsim.workload.table import LayerTable, LayerWorkload

RESNET50_STAGES = ((64, 3), (128, 4), (256, 6), (512, 3))  # (bottleneck width, blocks)
BOTTLENECK_EXPANSION = 4


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def resnet50(batch: int = 1, image_size: int = 224, num_classes: int = 1000) -> LayerTable:
    """ResNet-50 v1.5: 53 convolutions (with the 4 downsample projections) and the FC.

    v1.5 puts the stride of a down-sampling bottleneck on its 3x3 conv (v1 put it on the
    first 1x1), which is what torchvision and most deployed ResNet-50s use.
    """
    if batch < 1:
        raise SpecError(f"must be a positive integer, got {batch}", "batch")
    if image_size < 32:
        raise SpecError(f"image size must be at least 32, got {image_size}", "image_size")
    layers: list[LayerWorkload] = []

    def conv(name: str, c: int, k: int, size_in: int, kernel: int, stride: int) -> int:
        size = _conv_out(size_in, kernel, stride, kernel // 2)
        spec = Conv(
            name=name,
            batch=batch,
            C=c,
            out_channels=k,
            P=size,
            Q=size,
            R=kernel,
            S=kernel,
            stride=stride,
        )
        layers.append(LayerWorkload(spec, "conv2d"))
        return size

    size = conv("conv1", 3, 64, image_size, 7, 2)
    size = _conv_out(size, 3, 2, 1)  # max pool
    channels = 64
    for stage, (width, blocks) in enumerate(RESNET50_STAGES, start=1):
        out_channels = width * BOTTLENECK_EXPANSION
        for block in range(blocks):
            prefix = f"layer{stage}.{block}"
            stride = 2 if block == 0 and stage > 1 else 1
            size_in = size
            conv(f"{prefix}.conv1", channels, width, size_in, 1, 1)
            size = conv(f"{prefix}.conv2", width, width, size_in, 3, stride)
            conv(f"{prefix}.conv3", width, out_channels, size, 1, 1)
            if block == 0:
                conv(f"{prefix}.downsample.0", channels, out_channels, size_in, 1, stride)
            channels = out_channels
    fc = Gemm(name="fc", M=num_classes, K=channels, N=batch)
    layers.append(LayerWorkload(fc, "linear"))
    return LayerTable(tuple(layers), f"resnet50 (batch {batch}, {image_size}x{image_size})")


def bert(
    seq_len: int = 128,
    batch: int = 1,
    *,
    layers: int = 12,
    hidden: int = 768,
    heads: int = 12,
    intermediate: int = 3072,
    attention_matmuls: bool = False,
    name: str = "bert",
) -> LayerTable:
    """A BERT encoder, per block: Q, K, V projections, attention output, FFN1, FFN2.

    Every token of every sequence is one column of B, so ``N = batch * seq_len``. With
    ``attention_matmuls`` each block also lists its two activation-by-activation products
    (``op = "matmul"``, one GEMM per sequence and head): ``scores = Q K^T`` (A = Q,
    B = K) and ``context = P V`` (A = V^T, B = the attention probabilities P).
    """
    for key, value in (("seq_len", seq_len), ("batch", batch), ("layers", layers)):
        if value < 1:
            raise SpecError(f"must be a positive integer, got {value}", key)
    if hidden % heads:
        raise SparsimError(f"heads={heads} must divide hidden={hidden}", "heads")
    tokens = batch * seq_len
    head_dim = hidden // heads
    rows: list[LayerWorkload] = []
    for index in range(layers):
        prefix = f"encoder.layer.{index}"
        linears = (
            ("attention.self.query", hidden, hidden),
            ("attention.self.key", hidden, hidden),
            ("attention.self.value", hidden, hidden),
            ("attention.output.dense", hidden, hidden),
            ("intermediate.dense", intermediate, hidden),
            ("output.dense", hidden, intermediate),
        )
        for suffix, m, k in linears:
            rows.append(
                LayerWorkload(Gemm(name=f"{prefix}.{suffix}", M=m, K=k, N=tokens), "linear")
            )
        if attention_matmuls:
            per_head = batch * heads
            scores = Gemm(
                name=f"{prefix}.attention.self.scores",
                M=seq_len,
                K=head_dim,
                N=seq_len,
                count=per_head,
            )
            context = Gemm(
                name=f"{prefix}.attention.self.context",
                M=head_dim,
                K=seq_len,
                N=seq_len,
                count=per_head,
            )
            # Keep the projections first, then the two matmuls, in execution order.
            rows[-3:-3] = [LayerWorkload(scores, "matmul"), LayerWorkload(context, "matmul")]
    return LayerTable(tuple(rows), f"{name} (batch {batch}, sequence {seq_len})")


def bert_base(seq_len: int = 128, batch: int = 1, attention_matmuls: bool = False) -> LayerTable:
    """BERT-base: 12 blocks, hidden 768, 12 heads, FFN 3072."""
    return bert(seq_len, batch, attention_matmuls=attention_matmuls, name="bert-base")


def minilm_l6(seq_len: int = 128, batch: int = 1, attention_matmuls: bool = False) -> LayerTable:
    """all-MiniLM-L6-v2: 6 blocks, hidden 384, 12 heads, FFN 1536."""
    return bert(
        seq_len,
        batch,
        layers=6,
        hidden=384,
        heads=12,
        intermediate=1536,
        attention_matmuls=attention_matmuls,
        name="all-MiniLM-L6-v2",
    )


BUILTIN_TABLES: dict[str, Callable[..., LayerTable]] = {
    "resnet50": resnet50,
    "bert-base": bert_base,
    "minilm-l6": minilm_l6,
}


def builtin_table(name: str, **options: Any) -> LayerTable:
    """A built-in table by name (``resnet50``, ``bert-base``, ``minilm-l6``)."""
    if name not in BUILTIN_TABLES:
        known = ", ".join(BUILTIN_TABLES)
        raise SparsimError(f"unknown built-in network {name!r}; expected one of {known}")
    return BUILTIN_TABLES[name](**options)
