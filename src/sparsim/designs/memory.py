"""How a buffer's energy per access changes with its size, and resized designs.

The model (see ``docs/memory-model.md``): an SRAM of ``depth`` words of ``width`` bits,
read or written one word at a time, costs per access

    E(depth, width) = E_anchor x (depth / depth_anchor) ** CAPACITY_EXPONENT
                                x (width / width_anchor)

relative to an anchor of known energy. At a fixed width the capacity ratio is the depth
ratio, so energy grows with the square root of capacity: CACTI 7 at 45 nm gives depth
slopes of 0.41-0.73 (mean 0.54) for the artifact's buffer widths around their sizes, and
energy nearly linear in width at a fixed depth (word lines and sense amplifiers per bit).
Anchored at the artifact's own sizes, the model reproduces its energy tables exactly there.

Gated (idle) energies scale with their parent action. DRAM (a level of unbounded capacity)
is not modelled: its energy per access is set by the device interface, not its size.

Area: a level's area per instance follows its storage bits (data and metadata together,
as the artifact's area tables give one area per level),

    A(bits) = A_anchor x (bits / bits_anchor) ** AREA_CAPACITY_EXPONENT

relative to its own area, so the artifact's tables come back exactly at their sizes. The
exponent, 0.93, is the log-log slope through the artifact's three CACTI-estimated buffers
(the STC's 16 Kb RF, 23,384 um^2; the DSTC's 18 Kb RF with metadata, 25,439.68 um^2; the
2.5 Mb SMEM with metadata, 2,604,256 um^2): area nearly proportional to capacity, a little
less for the periphery a bigger array shares. DRAM (unbounded) keeps its area.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sparsim.errors import SparsimError
from sparsim.spec.architecture import Architecture, StorageEnergy, StorageLevel
from sparsim.spec.validation import validate

CAPACITY_EXPONENT = 0.5
AREA_CAPACITY_EXPONENT = 0.93

# Every ERT action name a storage level can carry, split by the array it accesses.
METADATA_ACTIONS = tuple(name for name in StorageEnergy.model_fields if "metadata" in name)
DATA_ACTIONS = tuple(name for name in StorageEnergy.model_fields if "metadata" not in name)


def access_energy(
    anchor_pJ: float, anchor_depth: float, anchor_width_bits: float, depth: float, width_bits: float
) -> float:
    """pJ per access of a ``depth`` x ``width_bits`` SRAM, from an anchor of known energy."""
    return (
        anchor_pJ * (depth / anchor_depth) ** CAPACITY_EXPONENT * (width_bits / anchor_width_bits)
    )


@dataclass(frozen=True)
class Anchor:
    """One buffer of the artifact's 45 nm energy tables: pJ per access of one word."""

    level: str
    storage: Literal["data", "metadata"]
    designs: tuple[str, ...]  # built-in designs whose hardware has this buffer
    depth: int
    width_bits: int
    read_pJ: float
    write_pJ: float
    estimator: str  # what Accelergy used for it in the artifact

    def energies(self, depth: float, width_bits: float) -> tuple[float, float]:
        """(read, write) pJ per access at another size."""
        return (
            access_energy(self.read_pJ, self.depth, self.width_bits, depth, width_bits),
            access_energy(self.write_pJ, self.depth, self.width_bits, depth, width_bits),
        )


# The fig15 int8 designs' ERT (STC family and DSTC, 45 nm). The TC design's tables are at
# 65 nm; resize() scales every level from its own energies, so it needs no anchor here.
_STC, _DSTC, _BOTH = ("stc",), ("dstc",), ("stc", "dstc")
ARTIFACT_ANCHORS = (
    Anchor("SMEM", "data", _BOTH, 4096, 512, 285.71464, 316.96744, "CACTI"),
    Anchor("SMEM", "metadata", _BOTH, 8192, 64, 25.8695, 19.6486, "CACTI"),
    Anchor("RF", "data", _BOTH, 2048, 8, 1.65889, 1.67589, "CACTI"),
    Anchor("RF", "metadata", _DSTC, 128, 16, 0.95642, 0.95642, "Aladdin table"),
    Anchor("LRF", "data", _STC, 1, 8, 0.072, 0.072, "Aladdin table"),
    Anchor("LRF", "metadata", _STC, 1, 8, 0.072, 0.072, "Aladdin table"),
    Anchor("LRF", "data", _DSTC, 64, 16, 0.49218, 0.49218, "Aladdin table"),
    Anchor("LRF", "metadata", _DSTC, 32, 4, 0.18108, 0.18108, "Aladdin table"),
)


def data_shape(level: StorageLevel) -> tuple[float, int] | None:
    """(depth, width in bits) of a level's data SRAM; ``None`` when unbounded (DRAM)."""
    if level.data_capacity is None:
        return None
    return level.data_capacity / level.block_size, level.block_size * level.word_bits


def metadata_shape(level: StorageLevel) -> tuple[float, int] | None:
    """(depth, width in bits) of a level's metadata SRAM; ``None`` when it has none."""
    if level.metadata_capacity_bits is None or not level.metadata_word_bits:
        return None
    return level.metadata_capacity_bits / level.metadata_word_bits, level.metadata_word_bits


def storage_bits(level: StorageLevel) -> float | None:
    """Bits one instance stores, data and metadata; ``None`` when unbounded (DRAM)."""
    if level.data_capacity is None:
        return None
    return level.data_capacity * level.word_bits + (level.metadata_capacity_bits or 0)


def resized_area(level: StorageLevel, new: StorageLevel) -> float | None:
    """Area per instance of ``new``, ``level`` resized, from ``level``'s own area."""
    old_bits, new_bits = storage_bits(level), storage_bits(new)
    if level.area is None or not old_bits or new_bits is None:
        return level.area  # nothing to scale: no area, unbounded, or holding nothing
    return level.area * (new_bits / old_bits) ** AREA_CAPACITY_EXPONENT


def _positive(name: str, value: int | None, where: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SparsimError(f"{name} must be a positive integer, got {value!r}", where)


def _scaled(energy: StorageEnergy, actions: tuple[str, ...], factor: float) -> StorageEnergy:
    values = energy.model_dump()
    for action in actions:
        if values[action] is not None:
            values[action] *= factor
    return StorageEnergy(**values)


def _metadata_sizes(
    level: StorageLevel, capacity_bits: int | None, word_bits: int | None, where: str
) -> dict[str, int | None]:
    """New metadata capacity and word width; a new width alone keeps the depth."""
    word_bits = word_bits or level.metadata_word_bits
    old_shape = metadata_shape(level)
    if capacity_bits is None and old_shape is not None:
        capacity_bits = round(old_shape[0] * word_bits)
    if capacity_bits is not None and word_bits and capacity_bits < word_bits:
        raise SparsimError(
            f"metadata_capacity_bits={capacity_bits} holds less than one "
            f"{word_bits}-bit metadata word",
            where,
        )
    return {"metadata_capacity_bits": capacity_bits, "metadata_word_bits": word_bits}


def _size_factor(old: tuple[float, int] | None, new: tuple[float, int] | None) -> float:
    if old is None or new is None:
        return 1.0  # nothing to scale from: DRAM, or a level without such storage
    return access_energy(1.0, *old, *new)


def resize(
    architecture: Architecture,
    level: str,
    *,
    data_capacity: int | None = None,
    metadata_capacity_bits: int | None = None,
    metadata_word_bits: int | None = None,
) -> Architecture:
    """``architecture`` with one level's buffers resized and their energies and area
    rescaled.

    ``data_capacity`` (words per instance) keeps the access width (``block_size`` words),
    so the data SRAM gets deeper or shallower. ``metadata_word_bits`` alone keeps the
    metadata depth (its capacity changes with the width); with ``metadata_capacity_bits``
    both are set. An unbounded level (DRAM) or one without metadata storage takes the new
    sizes with its energies unchanged. Every other level is left as it is.
    """
    if level not in architecture.level_names:
        raise SparsimError(
            f"unknown level {level!r} (levels: {', '.join(architecture.level_names)})", "resize"
        )
    where = f"resize {level}"
    for name, value in (
        ("data_capacity", data_capacity),
        ("metadata_capacity_bits", metadata_capacity_bits),
        ("metadata_word_bits", metadata_word_bits),
    ):
        _positive(name, value, where)

    old = architecture.level(level)
    sizes: dict[str, int | None] = {}
    if data_capacity is not None:
        sizes["data_capacity"] = data_capacity
    if metadata_capacity_bits is not None or metadata_word_bits is not None:
        sizes.update(_metadata_sizes(old, metadata_capacity_bits, metadata_word_bits, where))
    new = old.model_copy(update=sizes)
    energy = _scaled(old.energy, DATA_ACTIONS, _size_factor(data_shape(old), data_shape(new)))
    metadata_factor = _size_factor(metadata_shape(old), metadata_shape(new))
    energy = _scaled(energy, METADATA_ACTIONS, metadata_factor)
    resized = {**new.model_dump(), "energy": energy.model_dump(), "area": resized_area(old, new)}

    levels = [
        resized if candidate.name == level else candidate.model_dump()
        for candidate in architecture.levels
    ]
    return validate(Architecture, {**architecture.model_dump(), "levels": levels}, where)
