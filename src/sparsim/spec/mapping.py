"""Mappings: how the GEMM's loops are tiled over the storage levels and spread in space.

Per storage level (outermost first): the temporal loop bounds and their order, the spatial
loop bounds over the level's fan-out (the instances of the next level inward) and which
tensors the level keeps (``keep``) or only streams through (``stream``). Permutations are written **innermost loop first**, as in Timeloop
(``"NMK"``: N is the innermost loop). ``split`` says how many of the spatial permutation's
dimensions (from the start) run along mesh X; the rest run along mesh Y.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

PositiveInt = Annotated[int, Field(gt=0)]


class LevelMapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    level: str
    temporal: dict[str, PositiveInt] = {}
    temporal_permutation: str = ""
    spatial: dict[str, PositiveInt] = {}
    spatial_permutation: str = ""
    split: Annotated[int, Field(ge=0)] | None = None
    keep: list[str] | None = Field(None, description="tensors stored here; None = all")
    stream: list[str] = Field(
        [],
        description="tensors that pass through without being kept: no capacity, but one "
        "write and one read per word crossing the level",
    )
    no_link_transfer: list[str] = Field(
        [], description="tensors the level's spatial children never take from a neighbour"
    )
    no_multicast: list[str] = Field(
        [],
        description="tensors the level sends to each child separately (no multicast "
        "or spatial reduction; Timeloop's no_multicast_no_reduction)",
    )
    no_temporal_reuse: list[str] = Field(
        [], description="tensors the level refetches whole at every visit"
    )

    def streams(self, tensor: str) -> bool:
        """Whether ``tensor`` only passes through this level (streamed, not kept)."""
        return tensor in self.stream and self.keep is not None and tensor not in self.keep

    def temporal_order(self, dims: tuple[str, ...]) -> list[str]:
        """Dimensions innermost first: the permutation, then any it leaves out."""
        order = [d for d in self.temporal_permutation if d in dims]
        return order + [d for d in dims if d not in order]

    def spatial_order(self, dims: tuple[str, ...]) -> list[str]:
        order = [d for d in self.spatial_permutation if d in dims]
        return order + [d for d in dims if d not in order]


class Mapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    levels: list[LevelMapping]

    def for_level(self, name: str) -> LevelMapping:
        for level in self.levels:
            if level.level == name:
                return level
        return LevelMapping(level=name)
