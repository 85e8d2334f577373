"""TASD tensor cores (TTC): a layer whose structured operand is a TASD series
``T1 + T2 (+ ...)`` runs as one structured GEMM pass per term on the underlying
structured tensor core, every pass accumulating into the same outputs.

* **One pass per term.** Each term is evaluated as a GEMM on the catalog's TTC design
  (``ttc-stc-m4``, ``ttc-stc-m8``, ``ttc-vegeta-m4``, ``ttc-vegeta-m8``: the fig15 STC
  hardware with the TASD design's native N:M patterns), mapped by the heuristic of
  :mod:`sparsim.designs.heuristic`. Compute and the structured operand's traffic of the
  passes add up; what happens to the dense operand and the outputs depends on the schedule.
* **Fused schedule (default), the TTC of the TASD paper.** The terms run back to back on
  each tile of the dense operand while the partial sums stay in the accumulators (the RF
  of the tensor-core dataflow): above the RF, the dense operand and the outputs move once,
  as in the pass that moves them most; at the RF and below every pass pays its own traffic.
  Cycles: the compute and RF/LRF cycles of the passes add up; DRAM and SMEM need the
  passes' structured-operand words plus one pass's dense-operand and output words at their
  bandwidth; the slowest sets the pace.
* **Sequential schedule**, a TTC without that fusion (or a GPU running one sparse GEMM per
  term): the passes run one after another, each re-reading the dense operand, and a pass
  after the first reads back the outputs the previous ones left. In the tensor-core
  dataflow the whole reduction stays in the RF, so Z returns to DRAM after each pass; the
  extra traffic is a DRAM read of every output word the pass writes (Timeloop's
  read-modify-write reads, ``(passes - 1) x`` the Z partition). The RF's initial fill of
  its accumulators is already charged in every pass by the engine's semantics. The reads
  share the DRAM's read bandwidth with the pass's own reads.
* **Activations** (TASD-A: the structured operand is B) run the transposed GEMM
  ``Z^T = B A^T``: M and N swap and B takes the place of the weights, the operand a
  structured tensor core skips.
* **Blocks along channels.** The N:M blocks of a convolution run along its input channels
  within one filter position (:mod:`sparsim.tasder.structured`), so a structured pass
  reduces over ``R*S*ceil(C_group / M) * M`` (each filter position's channels padded to
  whole blocks), as TASDER counts MACs.
* **Dense** (the series ``dense``): one pass on the same hardware with dense operands,
  as the TTC runs a layer it does not decompose (same cycles and computes as the TC; the
  energy is the STC hardware's, whose shared memory is cheaper per access than the TC's).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

from sparsim.cost.model import bandwidth_cycles
from sparsim.cost.result import Computes, LevelResult, Result
from sparsim.designs.build import build_with_result
from sparsim.designs.catalog import Design
from sparsim.designs.schemes import parse_densities
from sparsim.errors import SparsimError
from sparsim.spec.model import Spec
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.workload import Conv, Gemm, shape_name
from sparsim.tasd.hardware import Hardware, get_hardware
from sparsim.tasd.series import Pattern, Series, parse_series

OPERANDS = ("weights", "activations")
SCHEDULES = ("fused", "sequential")
STRUCTURED = "A"  # in the pass's GEMM (transposed for activations)
OUTPUT = "Z"
# Where a fused TTC keeps the partial sums of all terms (the tensor-core dataflow's RF).
EPSILON = 1e-9
PASS_CACHE_SIZE = 4096


@dataclass(frozen=True)
class PartialSums:
    """Reading back, before a pass, the outputs the previous passes left at ``level``."""

    level: str
    words: float  # all runs (``count``)
    energy_pJ: float
    cycles: float  # the pass's cycles with these reads sharing the level's bandwidth


@dataclass(frozen=True)
class TermResult:
    pattern: str  # "2:8", or "dense"
    result: Result
    partial_sums: PartialSums | None  # None for the first pass

    @property
    def energy_pJ(self) -> float:
        extra = self.partial_sums.energy_pJ if self.partial_sums else 0.0
        return self.result.energy_pJ + extra

    @property
    def cycles(self) -> float:
        return self.partial_sums.cycles if self.partial_sums else self.result.cycles

    def to_dict(self) -> dict:
        return {
            "pattern": self.pattern,
            "energy_uJ": self.energy_pJ * 1e-6,
            "cycles": self.cycles,
            "partial_sums": asdict(self.partial_sums) if self.partial_sums else None,
            "result": self.result.to_dict(),
        }


@dataclass(frozen=True)
class SeriesResult:
    """A layer on a TTC: one :class:`TermResult` per pass, and their totals."""

    hardware: str  # the TTC's name, e.g. TTC-VEGETA-M8
    design: str  # the catalog design each pass runs on
    workload: str
    series: str
    operand: str  # weights or activations
    gemm: Gemm  # the GEMM of the passes (transposed for activations)
    terms: tuple[TermResult, ...]
    schedule: str = "fused"
    # Fused schedule: dense-operand and output energy above the accumulators that the
    # passes after the first do not spend (in all, and per level: name, pJ), and the
    # series' cycles.
    shared_energy_saved_pJ: float = 0.0
    fused_cycles: float | None = None
    shared_saved_by_level: tuple[tuple[str, float], ...] = ()

    @property
    def energy_pJ(self) -> float:
        return sum(term.energy_pJ for term in self.terms) - self.shared_energy_saved_pJ

    @property
    def energy_uJ(self) -> float:
        return self.energy_pJ * 1e-6

    @property
    def cycles(self) -> float:
        if self.fused_cycles is not None:
            return self.fused_cycles
        return sum(term.cycles for term in self.terms)

    @property
    def edp(self) -> float:
        """Energy-delay product in J x cycles."""
        return self.energy_pJ * 1e-12 * self.cycles

    @property
    def computes(self) -> Computes:
        """Summed over the passes (each pass's algorithmic computes are a whole GEMM)."""
        parts = [term.result.computes for term in self.terms]
        return Computes(
            algorithmic=sum(c.algorithmic for c in parts),
            actual=sum(c.actual for c in parts),
            gated=sum(c.gated for c in parts),
            skipped=sum(c.skipped for c in parts),
        )

    @property
    def partial_sum_energy_pJ(self) -> float:
        return sum(t.partial_sums.energy_pJ for t in self.terms if t.partial_sums)

    def to_dict(self) -> dict:
        return {
            "hardware": self.hardware,
            "design": self.design,
            "workload": self.workload,
            "series": self.series,
            "operand": self.operand,
            "schedule": self.schedule,
            "gemm": self.gemm.dims | {"count": self.gemm.count},
            "energy_uJ": self.energy_uJ,
            "cycles": self.cycles,
            "edp_J_cycles": self.edp,
            "computes": asdict(self.computes),
            "partial_sum_energy_uJ": self.partial_sum_energy_pJ * 1e-6,
            "shared_energy_saved_uJ": self.shared_energy_saved_pJ * 1e-6,
            "terms": [term.to_dict() for term in self.terms],
        }


def ttc_hardware(hardware: str | Path | Design | Hardware) -> Hardware:
    """A TASD tensor core by name, design or design file (:func:`sparsim.tasd.get_hardware`)."""
    return get_hardware(hardware)


def ttc_design_name(hardware: str | Path | Design | Hardware) -> str:
    """The design of a TASD hardware (``VEGETA-M8`` -> ``ttc-vegeta-m8``)."""
    return ttc_hardware(hardware).design.name


def _series(series: str | Series, hardware: Hardware) -> Series:
    parsed = series if isinstance(series, Series) else parse_series(str(series), max_terms=None)
    if parsed.is_dense:
        return parsed
    if not parsed.patterns:
        raise SparsimError(
            "the series 'none' computes nothing; there is no layer to cost", "series"
        )
    if not hardware.supports(parsed):
        raise SparsimError(
            f"does not run on {hardware.ttc_name} (native patterns "
            f"{', '.join(map(str, hardware.native))}, at most 2 terms)",
            f"series {str(parsed)!r}",
        )
    return parsed


def structured_gemm(workload: Gemm | Conv, block: int | None, operand: str) -> Gemm:
    """The GEMM a pass runs: a conv's reduction padded to whole blocks of ``block`` channels
    per filter position (None: dense, no padding); M and N swapped for activations."""
    gemm = workload.as_gemm()
    k = gemm.K
    if block is not None and isinstance(workload, Conv):
        k = workload.R * workload.S * math.ceil(workload.C // workload.groups / block) * block
    m, n = (gemm.N, gemm.M) if operand == "activations" else (gemm.M, gemm.N)
    return Gemm(name=shape_name(m, k, n), M=m, N=n, K=k, count=gemm.count)


@lru_cache(maxsize=PASS_CACHE_SIZE)
def evaluate_pass(
    design: str | Design, gemm: Gemm, pattern: Pattern | None, other: TensorDensity
) -> tuple[Spec, Result]:
    """One pass of ``design`` (weights run as ``pattern``, None: dense), mapped and
    evaluated; cached, as networks repeat their layer shapes."""
    densities: dict = {"B": other}
    if pattern is not None:
        densities["A"] = str(pattern)
    return build_with_result(design, gemm, densities)


def level_words(
    result: LevelResult, runs: int, tensors: Iterable[str] | None = None
) -> tuple[float, float]:
    """Read and write words per instance and run of ``tensors`` (default all), as the
    engine's bandwidth model counts them."""
    chosen = [t for name, t in result.tensors.items() if tensors is None or name in tensors]
    return (
        sum(t.read_words for t in chosen) / runs,
        sum(t.write_words for t in chosen) / runs,
    )


def partial_sums(spec: Spec, result: Result) -> PartialSums:
    """The read-back of a pass after the first, at the outermost level that keeps Z."""
    index = next(i for i, level in enumerate(result.levels) if OUTPUT in level.tensors)
    level, level_result = spec.architecture.levels[index], result.levels[index]
    z = level_result.tensors[OUTPUT]
    runs = spec.workload.as_gemm().count
    instances = z.instances or 1.0
    per_instance = z.updates.actual / runs / instances
    vectors = math.ceil(per_instance / level.block_size - EPSILON) * instances
    reads, writes = level_words(level_result, runs)
    cycles = bandwidth_cycles(level, reads + per_instance, writes) * runs
    return PartialSums(
        level=level.name,
        words=z.updates.actual,
        energy_pJ=vectors * level.energy.of("random_read", level.name) * runs,
        cycles=max(result.cycles, cycles),
    )


def fused(series: SeriesResult, passes: list[tuple[Spec, Result]], design: Design) -> SeriesResult:
    """The fused schedule's totals from the passes (see the module docstring)."""
    if len(passes) < 2:
        return series
    spec = passes[0][0]
    names = [level.name for level in spec.architecture.levels]
    accumulator = design.level_name("accumulator")
    shared = range(names.index(accumulator) if accumulator in names else 0)
    dense_and_output = [t for t in ("A", "B", "Z") if t != STRUCTURED]

    def level_energy(result: Result, i: int) -> float:
        tensors = result.levels[i].tensors
        return sum(tensors[t].energy_pJ for t in dense_and_output if t in tensors)

    by_level = [[level_energy(result, i) for i in shared] for _, result in passes]
    energies = [sum(levels) for levels in by_level]
    kept = max(range(len(passes)), key=energies.__getitem__)
    runs = spec.workload.as_gemm().count
    cycles = [sum(result.compute.cycles for _, result in passes)]
    for i, level in enumerate(spec.architecture.levels):
        if i in shared:
            reads, writes = level_words(passes[kept][1].levels[i], runs, dense_and_output)
            for _, result in passes:
                more_reads, more_writes = level_words(result.levels[i], runs, STRUCTURED)
                reads, writes = reads + more_reads, writes + more_writes
            cycles.append(bandwidth_cycles(level, reads, writes) * runs)
        else:
            cycles.append(sum(result.levels[i].cycles for _, result in passes))
    return replace(
        series,
        shared_energy_saved_pJ=sum(energies) - energies[kept],
        fused_cycles=max(cycles),
        shared_saved_by_level=tuple(
            (names[i], sum(levels[j] for levels in by_level) - by_level[kept][j])
            for j, i in enumerate(shared)
        ),
    )


def _operand_densities(densities: dict | None, operand: str) -> TensorDensity:
    """The other operand's density (the structured one follows the terms)."""
    given = parse_densities(densities)
    structured, other = ("A", "B") if operand == "weights" else ("B", "A")
    if structured in given:
        raise SparsimError(
            f"the {operand} are the structured operand: their density follows the series' "
            "terms; give only the other operand's",
            f"density {structured}",
        )
    return given.get(other, TensorDensity())


def evaluate_series(
    hardware: str | Path | Design | Hardware,
    workload: Gemm | Conv,
    series: str | Series,
    densities: dict | None = None,
    operand: str = "weights",
    schedule: str = "fused",
) -> SeriesResult:
    """``workload`` on the TASD tensor core of ``hardware`` with its ``operand`` (weights or
    activations) approximated by ``series``; ``densities`` may give the other operand's
    density (``{"B": 0.6}`` for TASD-W), used by designs that exploit it. ``schedule``:
    ``fused`` (the terms share the dense operand's tiles and the accumulators) or
    ``sequential`` (one full pass per term, partial sums read back)."""
    if operand not in OPERANDS:
        raise SparsimError(
            f"unknown operand {operand!r}; expected weights or activations", "operand"
        )
    if schedule not in SCHEDULES:
        raise SparsimError(
            f"unknown schedule {schedule!r}; expected {' or '.join(SCHEDULES)}", "schedule"
        )
    hardware = ttc_hardware(hardware)
    parsed = _series(series, hardware)
    other = _operand_densities(densities, operand)
    design = hardware.design
    terms: list[TermResult] = []
    gemm = structured_gemm(workload, None if parsed.is_dense else hardware.block_size, operand)
    passes = [evaluate_pass(design, gemm, p, other) for p in parsed.patterns or (None,)]
    for index, (spec, result) in enumerate(passes):
        read_back = partial_sums(spec, result) if index and schedule == "sequential" else None
        pattern = parsed.patterns[index] if parsed.patterns else None
        terms.append(TermResult(str(pattern) if pattern else "dense", result, read_back))
    series_result = SeriesResult(
        hardware=hardware.ttc_name,
        design=design.name,
        workload=workload.name,
        series=str(parsed),
        operand=operand,
        gemm=gemm,
        terms=tuple(terms),
        schedule=schedule,
    )
    return fused(series_result, passes, design) if schedule == "fused" else series_result
