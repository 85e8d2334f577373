"""What an evaluation returns: totals, computes, and per level and tensor the action counts
and energy split into data and metadata. ``to_dict`` gives the JSON form the CLI prints."""

from __future__ import annotations

from dataclasses import asdict, astuple, dataclass, field, replace


@dataclass(frozen=True)
class ActionCount:
    """Scalar accesses over the whole run (all instances): effectual, gated and skipped."""

    actual: float = 0.0
    gated: float = 0.0
    skipped: float = 0.0

    @property
    def algorithmic(self) -> float:
        return self.actual + self.gated + self.skipped

    def times(self, count: int) -> ActionCount:
        return ActionCount(self.actual * count, self.gated * count, self.skipped * count)


@dataclass(frozen=True)
class TensorLevelResult:
    tensor: str
    instances: float
    reads: ActionCount
    fills: ActionCount
    updates: ActionCount
    # Metadata in accesses of the level's metadata storage word.
    metadata_reads: ActionCount
    metadata_fills: ActionCount
    metadata_updates: ActionCount
    data_capacity_used: float  # words per instance (max over tiles)
    metadata_capacity_used_bits: float
    data_energy_pJ: float
    metadata_energy_pJ: float
    # Words one instance reads and writes (metadata in data words): its bandwidth demand.
    read_words: float = 0.0
    write_words: float = 0.0
    format: str = "none"

    @property
    def energy_pJ(self) -> float:
        return self.data_energy_pJ + self.metadata_energy_pJ

    def times(self, count: int) -> TensorLevelResult:
        """Accesses and energy of ``count`` back-to-back runs; capacities stay per run."""
        return replace(
            self,
            reads=self.reads.times(count),
            fills=self.fills.times(count),
            updates=self.updates.times(count),
            metadata_reads=self.metadata_reads.times(count),
            metadata_fills=self.metadata_fills.times(count),
            metadata_updates=self.metadata_updates.times(count),
            data_energy_pJ=self.data_energy_pJ * count,
            metadata_energy_pJ=self.metadata_energy_pJ * count,
            read_words=self.read_words * count,
            write_words=self.write_words * count,
        )


@dataclass(frozen=True)
class LevelResult:
    name: str
    cycles: float  # bandwidth-limited cycles of this level
    tensors: dict[str, TensorLevelResult] = field(default_factory=dict)

    @property
    def data_energy_pJ(self) -> float:
        return sum(t.data_energy_pJ for t in self.tensors.values())

    @property
    def metadata_energy_pJ(self) -> float:
        return sum(t.metadata_energy_pJ for t in self.tensors.values())

    @property
    def energy_pJ(self) -> float:
        return self.data_energy_pJ + self.metadata_energy_pJ

    def times(self, count: int) -> LevelResult:
        return LevelResult(
            self.name,
            self.cycles * count,
            {name: tensor.times(count) for name, tensor in self.tensors.items()},
        )


@dataclass(frozen=True)
class Computes:
    algorithmic: float
    actual: float
    gated: float
    skipped: float

    def times(self, count: int) -> Computes:
        return Computes(*(value * count for value in astuple(self)))


@dataclass(frozen=True)
class ComputeResult:
    name: str
    instances: int
    utilized_instances: float
    cycles: float
    energy_pJ: float


@dataclass(frozen=True)
class Result:
    name: str
    cycles: float
    computes: Computes
    compute: ComputeResult
    levels: tuple[LevelResult, ...]  # outermost first

    @property
    def energy_pJ(self) -> float:
        return self.compute.energy_pJ + sum(level.energy_pJ for level in self.levels)

    @property
    def energy_uJ(self) -> float:
        return self.energy_pJ * 1e-6

    @property
    def edp(self) -> float:
        """Energy-delay product in J x cycles."""
        return self.energy_pJ * 1e-12 * self.cycles

    @property
    def utilization(self) -> float:
        """Fraction of MAC-cycles doing effectual or gated work."""
        busy = self.computes.actual + self.computes.gated
        return busy / (self.compute.instances * self.cycles) if self.cycles else 0.0

    def times(self, count: int) -> Result:
        """``count`` independent runs one after the other (the groups of a grouped conv)."""
        if count == 1:
            return self
        return replace(
            self,
            cycles=self.cycles * count,
            computes=self.computes.times(count),
            compute=replace(
                self.compute,
                cycles=self.compute.cycles * count,
                energy_pJ=self.compute.energy_pJ * count,
            ),
            levels=tuple(level.times(count) for level in self.levels),
        )

    def level(self, name: str) -> LevelResult:
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(name)

    def to_dict(self) -> dict:
        levels = [
            {
                "name": self.compute.name,
                "energy_pJ": self.compute.energy_pJ,
                "data_energy_pJ": self.compute.energy_pJ,
                "metadata_energy_pJ": 0.0,
                "cycles": self.compute.cycles,
                "utilized_instances": self.compute.utilized_instances,
            }
        ]
        for level in reversed(self.levels):
            levels.append(
                {
                    "name": level.name,
                    "energy_pJ": level.energy_pJ,
                    "data_energy_pJ": level.data_energy_pJ,
                    "metadata_energy_pJ": level.metadata_energy_pJ,
                    "cycles": level.cycles,
                    "tensors": {
                        name: {**asdict(t), "energy_pJ": t.energy_pJ}
                        for name, t in level.tensors.items()
                    },
                }
            )
        return {
            "name": self.name,
            "cycles": self.cycles,
            "energy_uJ": self.energy_uJ,
            "edp_J_cycles": self.edp,
            "utilization": self.utilization,
            "computes": asdict(self.computes),
            "levels": levels,
        }
