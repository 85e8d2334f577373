"""TASD tensor cores (TTC): a layer whose structured operand is a TASD series
``T1 + T2 (+ ...)`` runs as one structured GEMM pass per term on the underlying
structured tensor core, every pass accumulating into the same outputs.

* **One pass per term.** Each term is evaluated as a GEMM on the catalog's TTC design
  (``ttc-stc-m4``, ``ttc-stc-m8``, ``ttc-vegeta-m4``, ``ttc-vegeta-m8``: the fig15 STC
  hardware with the TASD design's native N:M patterns), mapped by the heuristic of
  :mod:`sparsim.designs.mapper`. Energies, cycles and computes of the passes add up (the
  passes run one after another; each re-reads the dense operand).
* **Partial sums.** A pass after the first must read back the outputs the previous passes
  left and add to them. In the tensor-core dataflow the whole reduction stays in the RF, so
  Z returns to DRAM after each pass; the extra traffic is a DRAM read of every output word
  the pass writes (Timeloop's read-modify-write reads, ``(passes - 1) x`` the Z partition,
  exactly what the engine counts when a reduction loop sits above the RF). The RF's initial
  fill of its accumulators is already charged in every pass by the engine's semantics. The
  reads cost the DRAM's read energy per vector and share its read bandwidth with the pass's
  own reads: the pass's cycles become the larger of its cycles and the DRAM's
  bandwidth-limited cycles with the reads added.
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
from dataclasses import asdict, dataclass
from functools import lru_cache

from sparsim.cost.result import Computes, LevelResult, Result
from sparsim.designs.build import build
from sparsim.designs.catalog import get_design
from sparsim.designs.schemes import parse_densities
from sparsim.errors import SparsimError
from sparsim.evaluate import evaluate
from sparsim.spec.architecture import StorageLevel
from sparsim.spec.model import Spec
from sparsim.spec.sparsity import TensorDensity
from sparsim.spec.workload import Conv, Gemm
from sparsim.tasd.hardware import Hardware, get_hardware
from sparsim.tasd.series import Pattern, Series, parse_series

OPERANDS = ("weights", "activations")
OUTPUT = "Z"
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

    @property
    def energy_pJ(self) -> float:
        return sum(term.energy_pJ for term in self.terms)

    @property
    def energy_uJ(self) -> float:
        return self.energy_pJ * 1e-6

    @property
    def cycles(self) -> float:
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
            "gemm": self.gemm.dims | {"count": self.gemm.count},
            "energy_uJ": self.energy_uJ,
            "cycles": self.cycles,
            "edp_J_cycles": self.edp,
            "computes": asdict(self.computes),
            "partial_sum_energy_uJ": self.partial_sum_energy_pJ * 1e-6,
            "terms": [term.to_dict() for term in self.terms],
        }


def ttc_hardware(hardware: str | Hardware) -> Hardware:
    return hardware if isinstance(hardware, Hardware) else get_hardware(hardware)


def ttc_design_name(hardware: str | Hardware) -> str:
    """The catalog design of a TASD hardware (``VEGETA-M8`` -> ``ttc-vegeta-m8``)."""
    return get_design(ttc_hardware(hardware).ttc_name).name


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
    return Gemm(name=f"M{m}-K{k}-N{n}", M=m, N=n, K=k, count=gemm.count)


@lru_cache(maxsize=PASS_CACHE_SIZE)
def evaluate_pass(
    design: str, gemm: Gemm, pattern: Pattern | None, other: TensorDensity
) -> tuple[Spec, Result]:
    """One pass of ``design`` (weights run as ``pattern``, None: dense), mapped and
    evaluated; cached, as networks repeat their layer shapes."""
    densities: dict = {"B": other}
    if pattern is not None:
        densities["A"] = str(pattern)
    spec = build(design, gemm, densities)
    return spec, evaluate(spec)


def level_words(level: StorageLevel, result: LevelResult, runs: int) -> tuple[float, float]:
    """Read and write words per instance and run, as the engine's bandwidth model counts
    them (metadata in data words)."""
    width = level.metadata_word_bits or level.word_bits * level.block_size
    reads = writes = 0.0
    for t in result.tensors.values():
        share = runs * (t.instances or 1.0)
        reads += (t.reads.actual + t.reads.gated) / share
        reads += (
            (t.metadata_reads.actual + t.metadata_reads.gated) * width / level.word_bits / share
        )
        writes += (t.fills.actual + t.fills.gated + t.updates.actual + t.updates.gated) / share
        writes += (
            (t.metadata_fills.actual + t.metadata_updates.actual) * width / level.word_bits / share
        )
    return reads, writes


def level_cycles(level: StorageLevel, reads: float, writes: float) -> float:
    """Bandwidth-limited cycles of one instance for one run."""
    cycles = 0.0
    for words, bandwidth in (
        (reads, level.read_bandwidth),
        (writes, level.write_bandwidth),
        (reads + writes, level.shared_bandwidth),
    ):
        if bandwidth:
            cycles = max(cycles, math.ceil(words / bandwidth - EPSILON))
    return cycles


def partial_sums(spec: Spec, result: Result) -> PartialSums:
    """The read-back of a pass after the first, at the outermost level that keeps Z."""
    index = next(i for i, level in enumerate(result.levels) if OUTPUT in level.tensors)
    level, level_result = spec.architecture.levels[index], result.levels[index]
    z = level_result.tensors[OUTPUT]
    runs = spec.workload.as_gemm().count
    instances = z.instances or 1.0
    per_instance = z.updates.actual / runs / instances
    vectors = math.ceil(per_instance / level.block_size - EPSILON) * instances
    reads, writes = level_words(level, level_result, runs)
    cycles = level_cycles(level, reads + per_instance, writes) * runs
    return PartialSums(
        level=level.name,
        words=z.updates.actual,
        energy_pJ=vectors * level.energy.read * runs,
        cycles=max(result.cycles, cycles),
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
    hardware: str | Hardware,
    workload: Gemm | Conv,
    series: str | Series,
    densities: dict | None = None,
    operand: str = "weights",
) -> SeriesResult:
    """``workload`` on the TASD tensor core of ``hardware`` with its ``operand`` (weights or
    activations) approximated by ``series``; ``densities`` may give the other operand's
    density (``{"B": 0.6}`` for TASD-W), used by designs that exploit it."""
    if operand not in OPERANDS:
        raise SparsimError(
            f"unknown operand {operand!r}; expected weights or activations", "operand"
        )
    hardware = ttc_hardware(hardware)
    parsed = _series(series, hardware)
    other = _operand_densities(densities, operand)
    design = ttc_design_name(hardware)
    terms: list[TermResult] = []
    gemm = structured_gemm(workload, None if parsed.is_dense else hardware.block_size, operand)
    for pattern in parsed.patterns or (None,):
        spec, result = evaluate_pass(design, gemm, pattern, other)
        read_back = partial_sums(spec, result) if terms else None
        terms.append(TermResult(str(pattern) if pattern else "dense", result, read_back))
    return SeriesResult(
        hardware=hardware.ttc_name,
        design=design,
        workload=workload.name,
        series=str(parsed),
        operand=operand,
        gemm=gemm,
        terms=tuple(terms),
    )
