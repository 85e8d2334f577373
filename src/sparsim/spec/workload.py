"""Workloads by name: a GEMM and a 2-D convolution, the two layers people describe most.

Each is a friendly front for a :class:`~sparsim.spec.problem.Problem` of a built-in shape
(``problem()``): a :class:`Gemm` is the ``gemm`` shape (Sparseloop's ``gemm-ABZ``: weights
``A[M, K]``, input activations ``B[N, K]``, outputs ``Z[M, N]``); a :class:`Conv` is
Timeloop's 7-D ``cnn-layer`` (or ``grouped-cnn-layer``, ``depthwise-cnn-layer``), so a
convolution's sliding-window reuse is modelled as such. A design that runs convolutions as
GEMMs lowers a Conv with :meth:`Conv.as_gemm` (im2col: ``M`` = output channels,
``K = C*R*S``, ``N = batch*P*Q``; a grouped convolution is ``groups`` GEMMs, recorded in
:attr:`Gemm.count`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from sparsim.errors import SparsimError, SpecError
from sparsim.limits import MAX_DIMENSION, MAX_MACS
from sparsim.spec.problem import Problem, builtin_shape
from sparsim.spec.validation import Checked, Dimension, resource_limit

PositiveInt = Dimension


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

    def as_conv(self) -> Conv:
        """The GEMM as a 1x1 convolution, how a design that runs convolutions natively runs
        it: ``K`` input channels, ``M`` output channels, ``N`` output positions in one row
        (``Q``); ``count`` groups. Its :meth:`Conv.as_gemm` is this GEMM again."""
        return Conv(
            name=self.name,
            C=self.K * self.count,
            out_channels=self.M * self.count,
            P=1,
            Q=self.N,
            groups=self.count,
        )

    def problem(self) -> Problem:
        return _gemm_problem(self.name, self.M, self.N, self.K, self.count)


@lru_cache(maxsize=4096)
def _gemm_problem(name: str, M: int, N: int, K: int, count: int) -> Problem:
    return Problem(
        name=name, shape=builtin_shape("gemm"), instance={"M": M, "N": N, "K": K}, count=count
    )


class Conv(Checked):
    """A 2-D convolution (see the module docstring); ``stride`` and ``dilation`` apply to
    both axes."""

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

    def im2col(self) -> Conv:
        """The im2col lowering on the same output grid: a 1x1 convolution over the input
        expanded to ``C*R*S`` channels (each activation copied once per filter position it
        meets), stride 1. Its :meth:`as_gemm` is this convolution's; as a convolution it
        keeps the output rows and columns, so a CNN accelerator's constraints on them
        still apply to the lowered layer."""
        return Conv(
            name=self.name,
            batch=self.batch,
            C=self.C * self.R * self.S,
            out_channels=self.out_channels,
            P=self.P,
            Q=self.Q,
            groups=self.groups,
        )

    @property
    def macs(self) -> int:
        return self.as_gemm().macs

    def problem(self) -> Problem:
        """The convolution as a convolution: ``cnn-layer`` (``M`` output channels, ``N``
        batch), ``depthwise-cnn-layer`` when every group has one input and one output
        channel, else ``grouped-cnn-layer`` (``G`` groups of ``C/G`` and ``M/G``)."""
        return _conv_problem(self)


@lru_cache(maxsize=4096)
def _conv_problem(conv: Conv) -> Problem:
    size = {"R": conv.R, "S": conv.S, "N": conv.batch, "P": conv.P, "Q": conv.Q}
    coefficients = {"Wstride": conv.stride, "Hstride": conv.stride}
    coefficients |= {"Wdilation": conv.dilation, "Hdilation": conv.dilation}
    channels, outputs = conv.C // conv.groups, conv.out_channels // conv.groups
    if conv.groups == 1:
        shape, size = "cnn-layer", {"C": conv.C, "M": conv.out_channels, **size}
    elif channels == 1 and outputs == 1:
        shape, size = "depthwise-cnn-layer", {"C": conv.C, **size}
    else:
        shape, size = "grouped-cnn-layer", {"G": conv.groups, "C": channels, "M": outputs, **size}
    return Problem(
        name=conv.name, shape=builtin_shape(shape), instance=size, coefficients=coefficients
    )


Workload = Annotated[Gemm | Conv | Problem, Field(discriminator="kind")]


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
