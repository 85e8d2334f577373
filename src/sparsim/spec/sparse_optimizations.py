"""Sparse acceleration features per storage level, in Sparseloop's vocabulary.

* Formats: one entry per rank of a tensor's tile at that level, listed **outermost rank
  first**. ``UOP`` (uncompressed offset pairs: fiber shape + 1 offsets), ``CP``
  (coordinate-payload: one coordinate per nonzero), ``RLE`` (run lengths: one per nonzero),
  ``B`` (bitmask: one bit per coordinate), ``UB`` (uncompressed bitmask-free, i.e. dense).
* Action optimizations: ``gating`` (ineffectual accesses still take their cycle and cost the
  idle energy), ``skipping`` (ineffectual accesses are not made), ``skipping-spatial`` (as
  skipping, and the spatial fan-out below the level is compacted so idle PEs are reused),
  ``position-skipping`` (only nonzero positions are mapped onto the spatial array; PEs idle
  when a tile's nonzeros do not fill it). ``condition_on`` lists the leader tensors whose
  emptiness makes the target's access ineffectual (empty = self-conditioned).
* Rank order: how a tile's loops become its ranks. ``outer-to-inner`` (Timeloop's default)
  gives the outermost rank the outermost loop and leaves spare inner ranks empty;
  ``inner-to-outer`` gives the innermost rank the innermost loop. A rank with flattening
  rules takes one loop and the loops next to it over the rule's dimensions.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RankFormatName = Literal["UOP", "CP", "RLE", "B", "UB"]
RankOrder = Literal["outer-to-inner", "inner-to-outer"]
ComputeOptimization = Literal["gating", "skipping"]
ActionType = Literal["gating", "skipping", "skipping-spatial", "position-skipping"]


class RankFormat(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: RankFormatName
    metadata_word_bits: Annotated[int, Field(ge=0)] | None = Field(
        None, description="bits per metadata unit (default: enough for the fiber's coordinates)"
    )
    payload_word_bits: Annotated[int, Field(ge=0)] | None = None
    flattened_ranks: list[list[str]] | None = Field(
        None,
        description="flattening rules: lists of problem dimensions whose loops this rank "
        "flattens into one (e.g. [[M, K]]); a plain list is one rule",
    )

    @field_validator("flattened_ranks", mode="before")
    @classmethod
    def _one_rule(cls, value):
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return [value]
        return value


class Conditioned(BaseModel):
    """A target tensor and the leaders its accesses are conditioned on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str
    condition_on: list[str] = []


class ActionOptimization(BaseModel):
    """``options`` (Timeloop's ``options:`` form) lists alternatives to ``target`` /
    ``condition_on``: the analysis keeps the one that saves the most read energy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ActionType
    target: str
    condition_on: list[str] = []
    options: list[Conditioned] = []

    @model_validator(mode="after")
    def _options_only_for_gating_and_skipping(self) -> ActionOptimization:
        if self.options and self.type not in ("gating", "skipping"):
            raise ValueError(f"options are only for gating and skipping, not {self.type}")
        return self


class LevelSparseOptimization(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    level: str
    formats: dict[str, list[RankFormat]] = {}
    rank_order: dict[str, RankOrder] = Field(
        {},
        description="per tensor with a format, how its loops become ranks "
        "(default outer-to-inner, as in Timeloop)",
    )
    actions: list[ActionOptimization] = []

    @model_validator(mode="after")
    def _ordered_tensors_have_formats(self) -> LevelSparseOptimization:
        for tensor in self.rank_order:
            if tensor not in self.formats:
                raise ValueError(f"rank_order for {tensor!r}, which has no format here")
        return self

    def inner_to_outer(self, tensor: str) -> bool:
        return self.rank_order.get(tensor) == "inner-to-outer"
