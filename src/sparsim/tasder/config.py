"""The per-layer TASD configuration TASDER finds, as a file that can be re-applied.

.. code-block:: yaml

    hardware: TTC-VEGETA-M8          # optional: every series must run on it
    layers:
      layers.1.0.conv1: {weights: 2:8+1:8}
      layers.2.0.conv2: {activations: '4:8'}
    result: {metric: accuracy, original_quality: 0.905, quality: 0.899, ...}   # optional

A layer transforms either its weights (TASD-W) or its input activations (TASD-A): a TASD
tensor core runs one structured operand. ``dense`` leaves the operand alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sparsim.errors import SparsimError
from sparsim.io import atomic_write_text, load_yaml
from sparsim.spec.validation import validate
from sparsim.tasd import Series, get_hardware, parse_series

MAX_TERMS = 3
# Which entries a term keeps in each block: the largest magnitudes, or the largest output
# impact (TASD-A: |x_c| times the norm of the weights input channel c feeds; TASD-W: |w_oc|
# times the norm of input channel c on calibration data).
KEEP_SCORES = ("magnitude", "output")


def normalise_series(text: str) -> str:
    """Canonical text of a series (``'2:8 + 1:8'`` -> ``'2:8+1:8'``)."""
    return str(parse_series(str(text), MAX_TERMS))


class LayerConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    weights: str | None = Field(None, description="TASD series for the weights (TASD-W)")
    activations: str | None = Field(None, description="TASD series for the inputs (TASD-A)")

    @field_validator("weights", "activations", mode="before")
    @classmethod
    def _series(cls, value: Any) -> str | None:
        if value is None:
            return None
        try:
            return normalise_series(value)
        except SparsimError as exc:
            raise ValueError(exc.message) from None

    @model_validator(mode="after")
    def _one_operand(self) -> LayerConfig:
        if self.weights not in (None, "dense") and self.activations not in (None, "dense"):
            raise ValueError(
                "a TASD tensor core runs one structured operand per layer: "
                "set weights or activations, not both"
            )
        return self

    @property
    def series(self) -> Series:
        """The structured operand's series (``dense`` when none)."""
        return parse_series(self.weights or self.activations or "dense", MAX_TERMS)


class CostSummary(BaseModel):
    """A configuration's whole-model cost on its TASD tensor core (TTC), on the dense tensor
    core (TC) and on the TTC's hardware running every layer dense (the plain design)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hardware: str
    energy_uJ: float
    cycles: float
    tc_energy_uJ: float
    tc_cycles: float
    plain_energy_uJ: float
    plain_cycles: float
    # um^2 of the TTC's hardware (the plain design's too: TASD adds no table of its own) and
    # of the TC, from their area tables; None when a table gives none (or an older file).
    area_um2: float | None = None
    tc_area_um2: float | None = None

    def energy_reduction(self, baseline: str = "tc") -> float:
        """Fraction of the baseline's energy saved (``tc`` or ``plain``)."""
        return 1 - self.energy_uJ / self._baseline(baseline)[0]

    def cycle_reduction(self, baseline: str = "tc") -> float:
        return 1 - self.cycles / self._baseline(baseline)[1]

    def edp_reduction(self, baseline: str = "tc") -> float:
        energy, cycles = self._baseline(baseline)
        return 1 - self.energy_uJ * self.cycles / (energy * cycles)

    def edap_reduction(self, baseline: str = "tc") -> float | None:
        """Energy x delay x area saved against the baseline; None without both areas."""
        area = self.tc_area_um2 if baseline == "tc" else self.area_um2
        if self.area_um2 is None or not area:
            return None
        energy, cycles = self._baseline(baseline)
        return 1 - self.energy_uJ * self.cycles * self.area_um2 / (energy * cycles * area)

    def _baseline(self, name: str) -> tuple[float, float]:
        if name == "tc":
            return self.tc_energy_uJ, self.tc_cycles
        if name == "plain":
            return self.plain_energy_uJ, self.plain_cycles
        raise SparsimError(f"unknown baseline {name!r}; expected tc or plain", "baseline")


class SplitReport(BaseModel):
    """A configuration against the target on one split of labelled data: its quality and
    the original's on the same inputs, and the paired margin ``quality - target *
    original`` with its interval (``margin_low``, ``margin_high``, at ``confidence``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    split: str
    n: int
    original_quality: float
    quality: float
    target: float
    margin: float
    margin_low: float
    margin_high: float
    confidence: float

    @property
    def ratio(self) -> float:
        """Quality over the original's (0.99: 99% of the original)."""
        return self.quality / self.original_quality if self.original_quality else 0.0

    @property
    def meets_target(self) -> bool:
        """The point estimate at the target (``ratio >= target``)."""
        return self.margin >= 0

    def describe(self) -> str:
        return (
            f"{100 * self.ratio:.2f}% of the original ({self.quality:.4f} vs "
            f"{self.original_quality:.4f}), margin {self.margin:+.4f} "
            f"[{self.margin_low:+.4f}, {self.margin_high:+.4f}] (n={self.n:,})"
        )


class SearchResult(BaseModel):
    """What the search measured; informative, not needed to re-apply the configuration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str
    metric: str
    target: float
    original_quality: float
    quality: float
    dense_macs: int
    macs: int
    evaluations: int = 0
    alpha: float | None = None
    objective: str = Field("macs", description="what the search minimised: macs, energy, edp")
    seconds: float | None = Field(None, description="search time, quality evaluations included")
    evaluation_seconds: float | None = Field(None, description="time in quality evaluations")
    cost: CostSummary | None = Field(None, description="engine cost (sparsim.tasder.cost_config)")
    rule: Literal["bound", "point"] = Field(
        "point",
        description="how a configuration was accepted: bound (the lower end of the paired "
        "margin's interval at or above zero) or point (the point estimate)",
    )
    selection: SplitReport | None = Field(
        None, description="the configuration on the split the search chose on"
    )
    test: SplitReport | None = Field(None, description="the configuration on the test split")

    @property
    def mac_reduction(self) -> float:
        """Fraction of the dense MACs removed (0.4 = 40% fewer MACs)."""
        return 1 - self.macs / self.dense_macs if self.dense_macs else 0.0

    @property
    def search_seconds(self) -> float | None:
        """Search time without the quality evaluations."""
        if self.seconds is None or self.evaluation_seconds is None:
            return None
        return self.seconds - self.evaluation_seconds

    @property
    def relative_quality(self) -> float:
        return self.quality / self.original_quality if self.original_quality else 0.0


class TasderConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hardware: str | None = Field(
        None, description="a built-in TASD tensor core or the path of a TTC design file"
    )
    model: str | None = Field(None, description="the model it was found for (informative)")
    layers: dict[str, LayerConfig] = Field(default_factory=dict)
    keep: Literal["magnitude", "output"] = Field(
        "magnitude",
        description="which entries a term keeps (largest magnitude or output impact)",
    )
    result: SearchResult | None = None

    @field_validator("hardware")
    @classmethod
    def _known_hardware(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                get_hardware(value)
            except SparsimError as exc:
                raise ValueError(exc.message) from None
        return value

    @model_validator(mode="after")
    def _hardware_runs_every_series(self) -> TasderConfig:
        if self.hardware is None:
            return self
        hardware = get_hardware(self.hardware)
        for name, layer in self.layers.items():
            for operand in ("weights", "activations"):
                series = getattr(layer, operand)
                if series not in (None, "dense") and not hardware.supports(series):
                    raise ValueError(
                        f"layers.{name}.{operand}: series {series!r} does not run on "
                        f"{hardware.ttc_name} (native patterns "
                        f"{', '.join(map(str, hardware.native))}, at most 2 terms)"
                    )
        return self

    @property
    def weight_series(self) -> dict[str, str]:
        return {n: c.weights for n, c in self.layers.items() if c.weights not in (None, "dense")}

    @property
    def activation_series(self) -> dict[str, str]:
        return {
            n: c.activations for n, c in self.layers.items() if c.activations not in (None, "dense")
        }

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(exclude_none=True)
        if self.keep == "magnitude":
            del data["keep"]  # the default; files stay as they were
        data["layers"] = {
            name: layer.model_dump(exclude_none=True) for name, layer in self.layers.items()
        }
        return data

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``.json`` or ``.yaml``/``.yml``."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".json":
            text = json.dumps(self.to_dict(), indent=2) + "\n"
        elif suffix in (".yaml", ".yml"):
            text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        else:
            raise SparsimError("expected a .json, .yaml or .yml file name", str(path))
        atomic_write_text(path, text)
        return path


def load_config(path: str | os.PathLike[str]) -> TasderConfig:
    """Read a configuration written by :meth:`TasderConfig.save` (JSON is YAML too)."""
    path = Path(path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise SparsimError("expected a mapping with 'layers'", str(path))
    hardware = data.get("hardware")
    if isinstance(hardware, str) and hardware.strip().lower().endswith((".yaml", ".yml")):
        # A design file named by a relative path is found beside the configuration.
        beside = path.parent / hardware.strip()
        if not Path(hardware.strip()).is_absolute() and beside.is_file():
            data = {**data, "hardware": str(beside.resolve())}
    return validate(TasderConfig, data, str(path))
