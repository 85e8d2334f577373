"""The accelerator: a chain of storage levels (outermost first) above an array of MACs.

Energies are per *vector* access as in Accelergy's ERT (a vector is ``block_size`` words);
the cost model divides by ``block_size`` to charge scalar accesses. Bandwidths are in words
per cycle per instance; ``None`` means unlimited. Capacities are in words (data) and bits
(metadata); ``None`` means unbounded (e.g. DRAM).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

NonNegative = Annotated[float, Field(ge=0)]
PositiveInt = Annotated[int, Field(gt=0)]


class StorageEnergy(BaseModel):
    """pJ per vector access; gated accesses cost the idle energy, skipped ones nothing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    read: NonNegative = 0.0
    write: NonNegative = 0.0
    update: NonNegative | None = Field(None, description="defaults to write")
    gated_read: NonNegative = 0.0
    gated_write: NonNegative = 0.0
    metadata_read: NonNegative = 0.0
    metadata_write: NonNegative = 0.0
    gated_metadata_read: NonNegative = 0.0
    gated_metadata_write: NonNegative = 0.0

    @property
    def update_energy(self) -> float:
        return self.write if self.update is None else self.update


class ComputeEnergy(BaseModel):
    """pJ per MAC: an effectual one, one gated on a zero operand, one skipped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    random: NonNegative
    gated: NonNegative = 0.0
    skipped: NonNegative = 0.0


class StorageLevel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    instances: PositiveInt = 1
    mesh_x: PositiveInt | None = None
    data_capacity: PositiveInt | None = Field(None, description="words per instance")
    word_bits: PositiveInt = 8
    block_size: PositiveInt = Field(1, description="words per vector access")
    metadata_capacity_bits: Annotated[int, Field(ge=0)] | None = None
    metadata_word_bits: Annotated[int, Field(ge=0)] = Field(
        0, description="width of one metadata storage access (bits)"
    )
    read_bandwidth: Annotated[float, Field(gt=0)] | None = None
    write_bandwidth: Annotated[float, Field(gt=0)] | None = None
    shared_bandwidth: Annotated[float, Field(gt=0)] | None = None
    multiple_buffering: Annotated[float, Field(ge=1)] = 1.0
    energy: StorageEnergy = StorageEnergy()

    @model_validator(mode="after")
    def _mesh_divides_instances(self) -> StorageLevel:
        if self.mesh_x is not None and self.instances % self.mesh_x:
            raise ValueError(f"mesh_x={self.mesh_x} must divide instances={self.instances}")
        return self

    @property
    def mesh(self) -> tuple[int, int]:
        """(X, Y) extent of the instance array."""
        mesh_x = self.mesh_x or 1
        return mesh_x, self.instances // mesh_x


class ComputeLevel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "MAC"
    instances: PositiveInt
    mesh_x: PositiveInt | None = None
    word_bits: PositiveInt = 8
    energy: ComputeEnergy


class Architecture(BaseModel):
    """Storage levels from the outermost (e.g. DRAM) to the innermost, then the compute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "accelerator"
    levels: Annotated[list[StorageLevel], Field(min_length=1)]
    compute: ComputeLevel

    @model_validator(mode="after")
    def _consistent_fanouts(self) -> Architecture:
        names = [level.name for level in self.levels]
        duplicated = {n for n in names if names.count(n) > 1}
        if duplicated or self.compute.name in names:
            raise ValueError(
                f"level names must be unique, repeated: {sorted(duplicated) or [self.compute.name]}"
            )
        counts = [level.instances for level in self.levels] + [self.compute.instances]
        for outer, inner, name in zip(
            counts[:-1], counts[1:], [*names[1:], self.compute.name], strict=True
        ):
            if inner % outer:
                raise ValueError(
                    f"{name} has {inner} instances, not a multiple of the {outer} of the level above"
                )
        return self

    def level(self, name: str) -> StorageLevel:
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(name)

    @property
    def level_names(self) -> list[str]:
        return [level.name for level in self.levels]
