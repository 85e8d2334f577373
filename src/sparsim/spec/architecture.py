"""The accelerator: a chain of storage levels (outermost first) above an array of MACs.

Energies are per *vector* access as in Accelergy's ERT (a vector is ``block_size`` words);
the cost model divides by ``block_size`` to charge scalar accesses. Actions without their own
energy take it through Timeloop's fallback chains; none is ever assumed to cost 0 pJ. Bandwidths are in words
per cycle per instance; ``None`` means unlimited. Capacities are in words (data) and bits
(metadata); ``None`` means unbounded (e.g. DRAM). Areas are um^2 per instance as in
Accelergy's area table (ART); ``None`` means not given (the result then has no total area).
"""

from __future__ import annotations

import functools
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sparsim.errors import MissingEnergyError

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(gt=0)]
Energy = NonNegative | None
Area = Annotated[
    NonNegative | None,
    Field(description="um^2 per instance (Accelergy's ART); None: not given"),
]

# Each storage action sparsim counts, and the ERT action names whose energy it takes, first
# given first: Timeloop's own fallback chains (include/model/topology.hpp).
STORAGE_ACTION_FALLBACKS: dict[str, tuple[str, ...]] = {
    "random_read": ("random_read", "read"),
    "random_fill": ("random_fill", "write"),
    "random_update": ("random_update", "random_fill", "write"),
    "gated_read": ("gated_read", "idle", "read"),
    "gated_fill": ("gated_fill", "gated_write", "idle", "write"),
    "gated_update": ("gated_update", "gated_write", "idle", "write"),
    "skipped_read": ("skipped_read", "gated_read", "idle", "read"),
    "skipped_fill": ("skipped_fill", "skipped_write", "gated_write", "idle", "write"),
    "skipped_update": ("skipped_update", "skipped_write", "gated_write", "idle", "write"),
    "random_metadata_read": ("random_metadata_read", "metadata_read", "metadata_idle", "idle"),
    "gated_metadata_read": ("gated_metadata_read", "metadata_idle", "metadata_read"),
    "skipped_metadata_read": ("skipped_metadata_read", "metadata_idle", "metadata_read"),
    "random_metadata_fill": ("random_metadata_fill", "metadata_write", "metadata_idle", "idle"),
    "gated_metadata_fill": ("gated_metadata_fill", "gated_metadata_write", "metadata_idle", "metadata_write"),
    "skipped_metadata_fill": ("skipped_metadata_fill", "skipped_metadata_write", "metadata_idle", "metadata_write"),
    "random_metadata_update": ("random_metadata_update", "metadata_write", "metadata_idle", "idle"),
    "gated_metadata_update": ("gated_metadata_update", "gated_metadata_write", "metadata_idle", "metadata_write"),
    "skipped_metadata_update": ("skipped_metadata_update", "skipped_metadata_write", "metadata_idle", "metadata_write"),
}  # fmt: skip

# The same for the MACs, over Accelergy's compute action names.
COMPUTE_ACTION_FALLBACKS: dict[str, tuple[str, ...]] = {
    "random": ("mac_random", "mult_random", "mac", "mult", "compute"),
    "gated": ("mac_gated", "mult_gated", "compute_gated", "mac", "mult", "compute"),
    "skipped": ("mac_skipped", "mult_skipped", "compute_skipped", "mac_gated", "mult_gated",
                "compute_gated", "mac", "mult", "compute"),
}  # fmt: skip


class StorageEnergy(BaseModel):
    """pJ per vector access, under the ERT's action names (all optional).

    An action sparsim counts (``STORAGE_ACTION_FALLBACKS``' keys) costs the first of its
    fallback names that is given, e.g. a skipped read costs ``gated_read`` when there is no
    ``skipped_read``; an action that occurs and has none is a MissingEnergyError.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    read: Energy = None
    write: Energy = None
    idle: Energy = None
    random_read: Energy = None
    random_fill: Energy = None
    random_update: Energy = None
    gated_read: Energy = None
    gated_write: Energy = None
    gated_fill: Energy = None
    gated_update: Energy = None
    skipped_read: Energy = None
    skipped_write: Energy = None
    skipped_fill: Energy = None
    skipped_update: Energy = None
    metadata_read: Energy = None
    metadata_write: Energy = None
    metadata_idle: Energy = None
    random_metadata_read: Energy = None
    random_metadata_fill: Energy = None
    random_metadata_update: Energy = None
    gated_metadata_read: Energy = None
    gated_metadata_write: Energy = None
    gated_metadata_fill: Energy = None
    gated_metadata_update: Energy = None
    skipped_metadata_read: Energy = None
    skipped_metadata_write: Energy = None
    skipped_metadata_fill: Energy = None
    skipped_metadata_update: Energy = None

    @property
    def resolved(self) -> dict[str, float | None]:
        """Energy of every counted action after the fallbacks (None: no ERT name given)."""
        return _resolved_storage(self)

    def of(self, action: str, level: str) -> float:
        """pJ per vector access of a counted action, or a MissingEnergyError naming it."""
        value = self.resolved[action]
        if value is None:
            chain = ", ".join(STORAGE_ACTION_FALLBACKS[action])
            raise MissingEnergyError(
                f"no energy for {action} (the energy table gives none of: {chain})",
                f"architecture.{level}.energy",
            )
        return value


class ComputeEnergy(BaseModel):
    """pJ per MAC: an effectual one, one gated on a zero operand, one skipped.

    ``gated`` and ``skipped`` are optional: a skipped MAC falls back to the gated energy
    (``COMPUTE_ACTION_FALLBACKS``); a gated one that occurs without energy is an error.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    random: NonNegative
    gated: Energy = None
    skipped: Energy = None


@functools.lru_cache(maxsize=4096)
def _resolved_storage(energy: StorageEnergy) -> dict[str, float | None]:
    # Cached by value (frozen models hash by their fields): sweeps share a few tables.
    given = energy.model_dump(exclude_none=True)
    return {action: first_given(given, chain) for action, chain in STORAGE_ACTION_FALLBACKS.items()}


def first_given(given: dict[str, float], chain: tuple[str, ...]) -> float | None:
    """The energy of the first name of a fallback chain that ``given`` holds."""
    return next((given[name] for name in chain if name in given), None)


class StorageLevel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    instances: PositiveInt = 1
    mesh_x: PositiveInt | None = None
    data_capacity: Annotated[int, Field(ge=0)] | None = Field(
        None, description="words per instance (0: holds nothing, any kept tile overflows)"
    )
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
    cluster_size: PositiveInt = Field(
        1,
        description="instances sharing each access (Timeloop's cluster-size): an access "
        "is charged once per cluster of used instances",
    )
    decompression: bool = Field(
        False,
        description="decompresses a tensor its parent holds compressed (Timeloop's "
        "decompression_supported)",
    )
    compression: bool = Field(
        False,
        description="compresses outputs it sends to a compressed parent (Timeloop's "
        "compression_supported)",
    )
    energy: StorageEnergy = StorageEnergy()
    area: Area = None

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
    area: Area = None


class Architecture(BaseModel):
    """Storage levels from the outermost (e.g. DRAM) to the innermost, then the compute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "accelerator"
    levels: Annotated[list[StorageLevel], Field(min_length=1)]
    compute: ComputeLevel
    technology: str | None = Field(
        None,
        description="process the energy and area tables were estimated for (e.g. 45nm): "
        "areas and energies of designs from different processes do not compare directly",
    )

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

    @property
    def area_um2(self) -> float | None:
        """Every storage level's and the compute's area over their instances (Timeloop's
        total); None when one is not given."""
        parts = [self.compute, *self.levels]
        if any(part.area is None for part in parts):
            return None
        return sum(part.area * part.instances for part in parts)

    def level(self, name: str) -> StorageLevel:
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(name)

    @property
    def level_names(self) -> list[str]:
        return [level.name for level in self.levels]

    def mesh_fanout(self, level: int, axis: str) -> int | None:
        """Instances of the next level inward one instance of level ``level`` feeds along
        mesh axis ``axis`` ("X" or "Y", Timeloop's fan-out X / Y); None when the spec gives
        no mesh for them."""
        outer = self.levels[level]
        inner = [*self.levels, self.compute][level + 1]
        if inner.mesh_x is None or (outer.mesh_x is None and outer.instances > 1):
            return None
        outer_x = outer.mesh_x or 1
        if axis == "X":
            return inner.mesh_x // outer_x
        return (inner.instances // inner.mesh_x) // (outer.instances // outer_x)
