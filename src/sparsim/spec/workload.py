"""Workloads as GEMMs, the unit every other part of sparsim reasons about.

Tensor naming follows Sparseloop's ``gemm-ABZ`` problem:

* ``A[M, K]``: weights (for a conv: output channels x C*R*S, the im2col'ed filter bank);
* ``B[N, K]``: input activations (for a conv: one im2col row per output pixel, so
  ``N = batch * P * Q``);
* ``Z[M, N]``: outputs (read-write, accumulated over K).

A grouped convolution (``groups > 1``, depthwise when ``groups == C``) is ``groups``
independent GEMMs of ``M/groups x K/groups``; :attr:`Gemm.count` records the repetition.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from sparsim.errors import SparsimError, SpecError
from sparsim.limits import MAX_DIMENSION, MAX_MACS
from sparsim.spec.validation import Checked, Dimension, resource_limit

PositiveInt = Dimension

TENSOR_ROLES = {"A": "weights", "B": "input activations", "Z": "outputs"}


class Gemm(Checked):
    """``Z[M, N] += A[M, K] * B[N, K]``, repeated ``count`` times (groups of a conv)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["gemm"] = "gemm"
    name: str = "gemm"
    M: PositiveInt
    N: PositiveInt
    K: PositiveInt
    count: PositiveInt = 1

    @model_validator(mode="after")
    def _within_mac_limit(self) -> Gemm:
        if self.macs > MAX_MACS:
            raise resource_limit(
                f"M*N*K*count = {self.macs:,} multiply-accumulates is beyond sparsim's limit "
                f"of {MAX_MACS:,} (see 'Bad input and size limits' in the README)"
            )
        return self

    @property
    def macs(self) -> int:
        """Dense multiply-accumulates of all repetitions."""
        return self.M * self.N * self.K * self.count

    @property
    def dims(self) -> dict[str, int]:
        return {"M": self.M, "N": self.N, "K": self.K}

    def as_gemm(self) -> Gemm:
        return self


class Conv(Checked):
    """A 2-D convolution, lowered to a GEMM by im2col (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["conv"] = "conv"
    name: str = "conv"
    batch: PositiveInt = 1
    C: PositiveInt = Field(description="input channels")
    out_channels: PositiveInt
    P: PositiveInt = Field(description="output height")
    Q: PositiveInt = Field(description="output width")
    R: PositiveInt = Field(1, description="filter height")
    S: PositiveInt = Field(1, description="filter width")
    stride: PositiveInt = 1
    dilation: PositiveInt = 1
    groups: PositiveInt = 1

    @model_validator(mode="after")
    def _groups_divide_channels(self) -> Conv:
        if self.C % self.groups or self.out_channels % self.groups:
            raise ValueError(
                f"groups={self.groups} must divide C={self.C} and out_channels={self.out_channels}"
            )
        if self.batch * self.P * self.Q > MAX_DIMENSION or self.C * self.R * self.S > MAX_DIMENSION:
            raise resource_limit(
                "its GEMM (N = batch*P*Q, K = C*R*S) has a dimension beyond sparsim's limit of "
                f"{MAX_DIMENSION:,} (see 'Bad input and size limits' in the README)"
            )
        self.as_gemm()  # the MAC limit
        return self

    def as_gemm(self) -> Gemm:
        per_group_c = self.C // self.groups
        return Gemm(
            name=self.name,
            M=self.out_channels // self.groups,
            K=per_group_c * self.R * self.S,
            N=self.batch * self.P * self.Q,
            count=self.groups,
        )

    @property
    def macs(self) -> int:
        return self.as_gemm().macs


Workload = Annotated[Gemm | Conv, Field(discriminator="kind")]


def shape_name(M: int, K: int, N: int) -> str:
    """The name sparsim gives a GEMM by its shape (``M512-K256-N1024``), as the artifact does."""
    return f"M{M}-K{K}-N{N}"


def parse_gemm_shape(text: str) -> Gemm:
    """Parse ``"M=512,K=256,N=1024"`` (the CLI's ``--gemm``)."""
    dims: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip().upper()
        if not sep or key not in ("M", "N", "K"):
            raise SpecError(f"expected M=..,K=..,N=.., got {part!r}", "--gemm")
        if key in dims:
            raise SpecError(f"{key} given twice in {text!r}", "--gemm")
        try:
            dims[key] = int(value)
        except ValueError:
            raise SpecError(f"{key} must be a positive integer, got {value!r}", "--gemm") from None
        if dims[key] <= 0:
            raise SpecError(f"{key} must be a positive integer, got {value!r}", "--gemm")
    missing = [d for d in ("M", "N", "K") if d not in dims]
    if missing:
        raise SpecError(f"missing {', '.join(missing)}", "--gemm")
    try:
        return Gemm(name=shape_name(**dims), **dims)
    except SparsimError as exc:
        raise exc.located("--gemm") from None
