"""What a TASDER configuration costs on the accelerator model, layer by layer.

Every layer call of a model's :class:`~sparsim.workload.table.LayerTable` is evaluated
three times by the engine:

* on the TASD tensor core (TTC) of the configuration's hardware: the layer's series, one
  structured pass per term (:func:`sparsim.designs.ttc.evaluate_series`; fused by default:
  the terms share the dense operand's tiles and the accumulators), its weights or its
  input activations (transposed GEMM) as the structured operand; a layer the
  configuration leaves out runs dense on the same hardware. The other operand runs at
  its measured density (the table's input density for TASD-W and dense layers, its
  weight density for TASD-A), which a design that exploits it uses: the built-in TTCs
  gate zero activations, as the TASD paper costs its sparse models (Sec. 5.3); a table
  without measured densities is costed dense;
* on the dense tensor core (``tc``): every layer dense;
* on the plain design: the TTC's hardware with every layer dense (what the chip costs
  without TASD).

The model's energy and cycles are the sums over its layer calls (they run one after
another), its EDP their product; the areas are the TTC's hardware's and the TC's, from
their area tables (the TASD paper puts its TASD units at up to 2% of the PE area, Sec. 5.6;
no area table has them, so they are not added). Shapes repeat in real networks, and the passes are
cached (:func:`sparsim.designs.ttc.evaluate_pass`), so a ResNet-50 costs well under 2 s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from sparsim.designs.catalog import INPUTS, WEIGHTS, get_design
from sparsim.designs.ttc import evaluate_pass, evaluate_series, structured_gemm, ttc_hardware
from sparsim.errors import SparsimError
from sparsim.spec.sparsity import TensorDensity
from sparsim.tasd import Hardware, Series
from sparsim.tasder.config import CostSummary, LayerConfig, TasderConfig
from sparsim.tasder.structured import module_name, structured_macs
from sparsim.workload.table import LayerTable, LayerWorkload

DENSE = TensorDensity()


@dataclass(frozen=True)
class LayerCost:
    """One layer call: its series and its energy (uJ) and cycles on the three designs."""

    layer: str
    op: str
    operand: str | None  # weights, activations, or None (dense)
    series: str
    M: int
    N: int
    K: int
    count: int
    dense_macs: int
    macs: int  # as TASDER counts them (sparsim.tasder.structured.structured_macs)
    computes: float  # effectual MACs the engine charges on the TTC (padding included)
    energy_uJ: float
    cycles: float
    partial_sum_energy_uJ: float
    shared_energy_saved_uJ: float
    tc_energy_uJ: float
    tc_cycles: float
    plain_energy_uJ: float
    plain_cycles: float


COLUMNS = tuple(f.name for f in fields(LayerCost))


@dataclass(frozen=True)
class ConfigCost:
    """Per-layer costs of a configuration and the model's totals."""

    hardware: str
    layers: tuple[LayerCost, ...]
    area_um2: float | None = None  # the TTC's hardware
    tc_area_um2: float | None = None

    def total(self, column: str) -> float:
        if column not in COLUMNS:
            raise SparsimError(f"unknown column {column!r}", "column")
        return sum(getattr(layer, column) for layer in self.layers)

    def summary(self) -> CostSummary:
        return CostSummary(
            hardware=self.hardware,
            energy_uJ=self.total("energy_uJ"),
            cycles=self.total("cycles"),
            tc_energy_uJ=self.total("tc_energy_uJ"),
            tc_cycles=self.total("tc_cycles"),
            plain_energy_uJ=self.total("plain_energy_uJ"),
            plain_cycles=self.total("plain_cycles"),
            area_um2=self.area_um2,
            tc_area_um2=self.tc_area_um2,
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(layer) for layer in self.layers], columns=list(COLUMNS))

    def to_dict(self) -> dict:
        summary = self.summary()
        return {
            **summary.model_dump(),
            "energy_reduction_vs_tc": summary.energy_reduction("tc"),
            "cycle_reduction_vs_tc": summary.cycle_reduction("tc"),
            "edp_reduction_vs_tc": summary.edp_reduction("tc"),
            "energy_reduction_vs_plain": summary.energy_reduction("plain"),
            "cycle_reduction_vs_plain": summary.cycle_reduction("plain"),
            "edp_reduction_vs_plain": summary.edp_reduction("plain"),
            "edap_reduction_vs_tc": summary.edap_reduction("tc"),
            "layers": [asdict(layer) for layer in self.layers],
        }


def _operand(entry: LayerConfig | None) -> str | None:
    if entry is None:
        return None
    if entry.activations not in (None, "dense"):
        return "activations"
    return "weights" if entry.weights not in (None, "dense") else None


def other_operand(row: LayerWorkload, operand: str) -> dict[str, float]:
    """The measured density of the operand a layer's series leaves alone (the inputs when
    the weights are structured or the layer dense, the weights under TASD-A), as
    :func:`~sparsim.designs.ttc.evaluate_series` takes it; none when not measured."""
    density = row.weight_density if operand == "activations" else row.input_density
    if density is None or density >= 1.0:
        return {}
    return {WEIGHTS if operand == "activations" else INPUTS: density}


def _layer_cost(
    row: LayerWorkload, entry: LayerConfig | None, hardware: Hardware, schedule: str
) -> LayerCost:
    operand = _operand(entry)
    series = entry.series if operand is not None else None  # type: ignore[union-attr]
    on_ttc = evaluate_series(
        hardware, row.workload, series or "dense", other_operand(row, operand or "weights"),
        operand=operand or "weights", schedule=schedule,
    )  # fmt: skip
    plain = (
        on_ttc
        if series is None
        else evaluate_series(hardware, row.workload, "dense", other_operand(row, "weights"))
    )
    _, tc = evaluate_pass("tc", structured_gemm(row.workload, None, "weights"), None, DENSE)
    gemm = row.gemm
    return LayerCost(
        layer=row.name,
        op=row.op,
        operand=operand,
        series=str(series) if series is not None else "dense",
        M=gemm.M,
        N=gemm.N,
        K=gemm.K,
        count=gemm.count,
        dense_macs=row.macs,
        macs=row.macs if series is None else structured_macs(row.workload, series),
        computes=on_ttc.computes.actual,
        energy_uJ=on_ttc.energy_uJ,
        cycles=on_ttc.cycles,
        partial_sum_energy_uJ=on_ttc.partial_sum_energy_pJ * 1e-6,
        shared_energy_saved_uJ=on_ttc.shared_energy_saved_pJ * 1e-6,
        tc_energy_uJ=tc.energy_uJ,
        tc_cycles=tc.cycles,
        plain_energy_uJ=plain.energy_uJ,
        plain_cycles=plain.cycles,
    )


def _check_layers(table: LayerTable, config: TasderConfig) -> None:
    called = {module_name(row.name) for row in table}
    missing = [name for name in config.layers if name not in called]
    if missing:
        raise SparsimError(
            f"not in the workload table ({len(table)} layer calls, e.g. "
            f"{', '.join(table.names[:3])})",
            f"layers.{missing[0]}",
        )


def cost_config(
    table: LayerTable,
    config: TasderConfig,
    hardware: str | None = None,
    *,
    schedule: str = "fused",
    progress: bool = False,
) -> ConfigCost:
    """Energy and cycles of ``config`` on the model's layers (``table``), on the TTC of
    ``hardware`` (default: the configuration's), the dense TC and the plain design;
    ``schedule`` is how the TTC runs a series' terms (see :mod:`sparsim.designs.ttc`)."""
    name = hardware or config.hardware
    if name is None:
        raise SparsimError("the configuration names no hardware; give one", "hardware")
    ttc = ttc_hardware(name)
    _check_layers(table, config)
    rows: Iterable[LayerWorkload] = tqdm(table, desc="costing", disable=not progress)
    layers = []
    for row in rows:
        module = module_name(row.name)
        try:
            layers.append(_layer_cost(row, config.layers.get(module), ttc, schedule))
        except SparsimError as exc:
            raise exc.located(f"layers.{module}") from None
    return ConfigCost(
        ttc.ttc_name,
        tuple(layers),
        area_um2=ttc.design.architecture.area_um2,
        tc_area_um2=get_design("tc").architecture.area_um2,
    )


OBJECTIVES = ("macs", "energy", "edp")


class LayerCosts:
    """Energy (uJ) and cycles of every (layer, series) on a TTC, summed over the layer's
    calls and cached, so a search can rank its candidates and cost each configuration it
    tries by the accelerator model without re-evaluating a layer it has seen."""

    def __init__(
        self, table: LayerTable, hardware: str | Hardware, operand: str, *, schedule: str = "fused"
    ):
        self.ttc = ttc_hardware(hardware)
        self.hardware = self.ttc.ttc_name
        self.operand = operand
        self.schedule = schedule
        self.calls: dict[str, list[LayerWorkload]] = {}
        for row in table:
            self.calls.setdefault(module_name(row.name), []).append(row)
        self._cache: dict[tuple[str, str], tuple[float, float]] = {}
        self._dense: tuple[float, float] | None = None
        self._tc: tuple[float, float] | None = None

    def layer(self, name: str, series: Series | None) -> tuple[float, float]:
        """Energy and cycles of all calls of ``name`` under ``series`` (None: dense, run
        as :func:`cost_config` runs a layer left out: not transposed, whatever the
        operand)."""
        key = (name, "dense" if series is None else str(series))
        if key not in self._cache:
            try:
                operand = self.operand if series is not None else "weights"
                results = [
                    evaluate_series(
                        self.ttc,
                        row.workload,
                        key[1],
                        other_operand(row, operand),
                        operand=operand,
                        schedule=self.schedule,
                    )
                    for row in self.calls[name]
                ]
            except SparsimError as exc:
                raise exc.located(f"layers.{name}") from None
            self._cache[key] = (
                sum(r.energy_uJ for r in results),
                sum(r.cycles for r in results),
            )
        return self._cache[key]

    def totals(self, series: Mapping[str, Series]) -> tuple[float, float]:
        """The model's energy and cycles on the TTC with ``series`` (other layers dense)."""
        if self._dense is None:
            dense = [self.layer(name, None) for name in self.calls]
            self._dense = (sum(e for e, _ in dense), sum(c for _, c in dense))
        energy, cycles = self._dense
        for name, chosen in series.items():
            (e0, c0), (e1, c1) = self.layer(name, None), self.layer(name, chosen)
            energy, cycles = energy - e0 + e1, cycles - c0 + c1
        return energy, cycles

    def tc_totals(self) -> tuple[float, float]:
        """Energy and cycles of every layer call dense on the dense TC (the baseline)."""
        if self._tc is None:
            results = [
                evaluate_pass("tc", structured_gemm(row.workload, None, "weights"), None, DENSE)[1]
                for rows in self.calls.values()
                for row in rows
            ]
            self._tc = (sum(r.energy_uJ for r in results), sum(r.cycles for r in results))
        return self._tc

    def edp_reduction(self, series: Mapping[str, Series]) -> float:
        """EDP saved against the dense TC (as :meth:`CostSummary.edp_reduction`)."""
        energy, cycles = self.totals(series)
        tc_energy, tc_cycles = self.tc_totals()
        return 1 - energy * cycles / (tc_energy * tc_cycles)


def pareto_front(points: pd.DataFrame) -> pd.DataFrame:
    """The rows no other row beats on both quality (higher) and ``edp_reduction`` (higher),
    by increasing EDP reduction; duplicates collapse to one."""
    ordered = points.sort_values(["edp_reduction", "quality"], ascending=[False, False])
    front, best = [], -float("inf")
    for index, row in ordered.iterrows():
        if row["quality"] > best:
            front.append(index)
            best = row["quality"]
    return points.loc[front].iloc[::-1].reset_index(drop=True)


def plot_pareto(points: pd.DataFrame, front: pd.DataFrame, path: str | Path, title: str) -> Path:
    """Quality against EDP reduction (PNG): every configuration evaluated, the accepted
    ones, and the front as a line. Written where the caller says (the CLI writes into its
    all-or-nothing output folder)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.scatter(100 * points["edp_reduction"], points["quality"], s=14, c="0.6", label="evaluated")
    accepted = points[points["accepted"].astype(bool)]
    axes.scatter(
        100 * accepted["edp_reduction"], accepted["quality"], s=14, c="tab:blue", label="kept"
    )
    axes.plot(
        100 * front["edp_reduction"], front["quality"], "-o", c="tab:red", ms=4, label="front"
    )
    axes.set_xlabel("EDP reduction vs the dense TC (%)")
    axes.set_ylabel("quality")
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=8)
    figure.savefig(path, dpi=120)
    return Path(path)
