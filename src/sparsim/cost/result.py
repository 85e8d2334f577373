"""What an evaluation returns: totals, computes, and per level and tensor the action counts
and energy split into data and metadata, per level its area, plus what it was evaluated on.

Area is Timeloop's: a level's area is its area per instance (Accelergy's ART) times its
instances, the design's the sum over the storage levels and the compute; it depends on the
hardware only (not the layer or the mapping). A level without a given area makes the total
unknown (``None``), never a silent 0.

One results schema for every command: ``Result.to_row`` is the tidy row (one per design,
layer, densities, memory configuration and mapping objective) that ``evaluate --json``,
``compare --json``, ``tasder cost --json`` and ``sparsim sweep`` write; ``to_dict`` /
``from_dict`` are the lossless JSON form; :func:`results_frame` makes a DataFrame of rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, astuple, dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# The identity columns of a row, then its totals; per-level columns follow
# (``<level>.data_uJ``, ``<level>.metadata_uJ``, ``<level>.cycles``, ``<level>.area_um2``
# over its instances, innermost first).
KEY_COLUMNS = ("design", "layer", "density_A", "density_B", "memory", "objective")
TOTAL_COLUMNS = (
    "energy_uJ",
    "cycles",
    "edp_J_cycles",
    "area_um2",
    "edap_J_cycles_mm2",
    "utilization",
    "computes_algorithmic",
    "computes_actual",
    "computes_gated",
    "computes_skipped",
    "bounding_level",
)


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


def total_area(per_instance: float | None, instances: float) -> float | None:
    return None if per_instance is None else per_instance * instances


@dataclass(frozen=True)
class LevelResult:
    name: str
    cycles: float  # bandwidth-limited cycles of this level
    tensors: dict[str, TensorLevelResult] = field(default_factory=dict)
    instances: int = 1
    area_um2: float | None = None  # per instance

    @property
    def area_total_um2(self) -> float | None:
        return total_area(self.area_um2, self.instances)

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
        return replace(
            self,
            cycles=self.cycles * count,
            tensors={name: tensor.times(count) for name, tensor in self.tensors.items()},
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
    area_um2: float | None = None  # per instance

    @property
    def area_total_um2(self) -> float | None:
        return total_area(self.area_um2, self.instances)


@dataclass(frozen=True)
class Result:
    """``name`` is the workload (layer) evaluated; ``design``, ``densities`` (as the user gave
    them, e.g. ``{"A": "2:4"}``), ``memory`` (a resized-buffer label) and ``objective`` (the
    mapping objective) say what it ran on, so a row of results stands on its own."""

    name: str
    cycles: float
    computes: Computes
    compute: ComputeResult
    levels: tuple[LevelResult, ...]  # outermost first
    design: str = ""
    densities: dict[str, str] = field(default_factory=dict)
    memory: str = ""
    objective: str = ""

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
    def area_um2(self) -> float | None:
        """Area of the design (every storage level and the compute, over their instances);
        None when a level's area is not given."""
        areas = [self.compute.area_total_um2, *(level.area_total_um2 for level in self.levels)]
        return None if None in areas else sum(areas)

    @property
    def area_mm2(self) -> float | None:
        area = self.area_um2
        return None if area is None else area * 1e-6

    @property
    def edap(self) -> float | None:
        """Energy x delay x area in J x cycles x mm^2 (None without an area)."""
        area = self.area_mm2
        return None if area is None else self.edp * area

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

    @property
    def bounding_level(self) -> str:
        """The level (or the compute) whose cycles set the total: the bottleneck."""
        candidates = [(self.compute.cycles, self.compute.name)]
        candidates += [(level.cycles, level.name) for level in reversed(self.levels)]
        return max(candidates, key=lambda c: c[0])[1]

    def to_row(self) -> dict[str, Any]:
        """The tidy row of the results schema: identity, totals, per-level energy split."""
        row: dict[str, Any] = {
            "design": self.design,
            "layer": self.name,
            "density_A": self.densities.get("A", "dense"),
            "density_B": self.densities.get("B", "dense"),
            "memory": self.memory,
            "objective": self.objective,
            "energy_uJ": self.energy_uJ,
            "cycles": self.cycles,
            "edp_J_cycles": self.edp,
            "area_um2": self.area_um2,
            "edap_J_cycles_mm2": self.edap,
            "utilization": self.utilization,
            **{f"computes_{key}": value for key, value in asdict(self.computes).items()},
            "bounding_level": self.bounding_level,
        }
        row[f"{self.compute.name}.data_uJ"] = self.compute.energy_pJ * 1e-6
        row[f"{self.compute.name}.metadata_uJ"] = 0.0
        row[f"{self.compute.name}.cycles"] = self.compute.cycles
        row[f"{self.compute.name}.area_um2"] = self.compute.area_total_um2
        for level in reversed(self.levels):
            row[f"{level.name}.data_uJ"] = level.data_energy_pJ * 1e-6
            row[f"{level.name}.metadata_uJ"] = level.metadata_energy_pJ * 1e-6
            row[f"{level.name}.cycles"] = level.cycles
            row[f"{level.name}.area_um2"] = level.area_total_um2
        return row

    def to_dict(self) -> dict[str, Any]:
        """The row's identity and totals plus every level and tensor: the JSON form, lossless
        (``Result.from_dict(r.to_dict()) == r``)."""
        levels: list[dict[str, Any]] = [
            {
                "name": self.compute.name,
                "energy_pJ": self.compute.energy_pJ,
                "data_energy_pJ": self.compute.energy_pJ,
                "metadata_energy_pJ": 0.0,
                "cycles": self.compute.cycles,
                "instances": self.compute.instances,
                "utilized_instances": self.compute.utilized_instances,
                "area_um2": self.compute.area_um2,
                "area_total_um2": self.compute.area_total_um2,
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
                    "instances": level.instances,
                    "area_um2": level.area_um2,
                    "area_total_um2": level.area_total_um2,
                    "tensors": {
                        name: {**asdict(t), "energy_pJ": t.energy_pJ}
                        for name, t in level.tensors.items()
                    },
                }
            )
        row = self.to_row()
        return {
            **{key: row[key] for key in (*KEY_COLUMNS, *TOTAL_COLUMNS)},
            "name": self.name,
            "densities": dict(self.densities),
            "computes": asdict(self.computes),
            "levels": levels,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """The result :meth:`to_dict` described (derived totals are recomputed, not read)."""
        compute, *inner_first = data["levels"]
        return cls(
            name=data["name"],
            cycles=data["cycles"],
            computes=Computes(**data["computes"]),
            compute=ComputeResult(
                name=compute["name"],
                instances=compute["instances"],
                utilized_instances=compute["utilized_instances"],
                cycles=compute["cycles"],
                energy_pJ=compute["energy_pJ"],
                area_um2=compute.get("area_um2"),
            ),
            levels=tuple(
                LevelResult(
                    level["name"],
                    level["cycles"],
                    {name: _tensor_from_dict(t) for name, t in level["tensors"].items()},
                    instances=level.get("instances", 1),
                    area_um2=level.get("area_um2"),
                )
                for level in reversed(inner_first)
            ),
            design=data.get("design", ""),
            densities=dict(data.get("densities", {})),
            memory=data.get("memory", ""),
            objective=data.get("objective", ""),
        )

    @staticmethod
    def frame(results: Iterable[Result]) -> pd.DataFrame:
        return results_frame(results)


_ACTION_FIELDS = (
    "reads",
    "fills",
    "updates",
    "metadata_reads",
    "metadata_fills",
    "metadata_updates",
)


def _tensor_from_dict(data: dict[str, Any]) -> TensorLevelResult:
    values = {key: value for key, value in data.items() if key != "energy_pJ"}
    for key in _ACTION_FIELDS:
        values[key] = ActionCount(**values[key])
    return TensorLevelResult(**values)


def results_frame(results: Iterable[Result | dict[str, Any]]) -> pd.DataFrame:
    """A DataFrame with one row per result (or per row dict), schema columns first."""
    import pandas as pd

    from sparsim.errors import SpecError

    if isinstance(results, str | bytes | dict) or not isinstance(results, Iterable):
        raise SpecError(
            f"expected a list of sparsim.Result (or row dicts), got {type(results).__name__}",
            "results",
        )
    rows = [r.to_row() if isinstance(r, Result) else r for r in results]
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise SpecError(
                f"expected a sparsim.Result or a row dict, got {type(row).__name__}",
                f"results[{i}]",
            )
    frame = pd.DataFrame(rows)
    leading = [c for c in (*KEY_COLUMNS, *TOTAL_COLUMNS) if c in frame.columns]
    return frame[leading + [c for c in frame.columns if c not in leading]]
