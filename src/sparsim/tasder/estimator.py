"""A scikit-learn-style front end: ``Tasder(...).fit(model, calibration)``, then
``transform(model)`` to run the model with the configuration found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from sparsim.errors import SparsimError
from sparsim.tasd import get_hardware
from sparsim.tasder.apply import AppliedConfig, apply_config
from sparsim.tasder.config import SearchResult, TasderConfig
from sparsim.tasder.costing import ConfigCost, cost_config
from sparsim.tasder.quality import Evaluator
from sparsim.tasder.search import (
    DEFAULT_TARGET,
    Trace,
    activation_layers,
    calibrate,
    search_activations,
    search_weights_layerwise,
    search_weights_network,
)
from sparsim.workload.extract import extract_workloads
from sparsim.workload.probe import find_layers

METHODS = ("layer-wise", "network-wise", "activations")


class Tasder:
    """Search a per-layer TASD configuration for one hardware design.

    ``method`` is ``layer-wise`` or ``network-wise`` (TASD-W) or ``activations`` (TASD-A,
    with an ``alphas`` sweep; ``pseudo`` uses pseudo-density, for GELU/Swish models).
    ``evaluator`` measures quality; it is fitted on the original model if it is not yet.
    After :meth:`fit`: ``config_`` (re-appliable, with ``result``), ``trace_``,
    ``table_`` (the model's workloads and calibration statistics) and ``seconds_``; with
    ``cost`` (default) also ``cost_``, the configuration's per-layer energy and cycles on
    the TASD tensor core, the dense TC and the plain design (``result_.cost`` holds the
    totals).
    """

    def __init__(
        self,
        hardware: str,
        evaluator: Evaluator,
        *,
        method: str = "layer-wise",
        target: float = DEFAULT_TARGET,
        layers: list[str] | None = None,
        alphas: Sequence[float] = (0.0,),
        pseudo: bool = False,
        mass: float = 0.99,
        patience: int | None = 1,
        cost: bool = True,
        progress: bool = False,
    ):
        if method not in METHODS:
            raise SparsimError(
                f"unknown method {method!r}; expected one of {', '.join(METHODS)}", "method"
            )
        get_hardware(hardware)
        self.hardware = hardware
        self.evaluator = evaluator
        self.method = method
        self.target = target
        self.layers = layers
        self.alphas = tuple(alphas)
        self.pseudo = pseudo
        self.mass = mass
        self.patience = patience
        self.cost = cost
        self.progress = progress

    def fit(
        self, model: nn.Module, calibration: Sequence[Any] | None = None, *, example: Any = None
    ) -> Tasder:
        """Search on ``model`` (left unchanged). TASD-A needs ``calibration`` batches; TASD-W
        needs one ``example`` batch (or the first calibration batch) for the shapes."""
        if self.layers is not None:
            find_layers(model, self.layers)
        if self.method == "activations":
            self.table_ = calibrate(
                model, calibration or [], layers=None, mass=self.mass, progress=self.progress
            )
        else:
            if example is None:
                if not calibration:
                    raise SparsimError("give an example batch or calibration data", "calibration")
                example = calibration[0]
            self.table_ = extract_workloads(model, example)
        if self.evaluator.quality_ is None:
            self.evaluator.fit(model)
        original = float(self.evaluator.quality_)  # type: ignore[arg-type]
        common = {
            "hardware": self.hardware,
            "target": self.target,
            "metric": self.evaluator.metric,
            "progress": self.progress,
        }
        score = self.evaluator.score
        if self.method == "network-wise":
            outcome = search_weights_network(
                model, self.table_, score, original, layers=self.layers, **common
            )
        elif self.method == "layer-wise":
            outcome = search_weights_layerwise(
                model,
                self.table_,
                score,
                original,
                layers=self.layers,
                patience=self.patience,
                **common,
            )
        else:
            layers = self.layers if self.layers is not None else activation_layers(model)
            outcome = search_activations(
                model,
                self.table_,
                score,
                original,
                layers=layers,
                alphas=self.alphas,
                pseudo=self.pseudo,
                **common,
            )
        self.config_: TasderConfig = outcome.config
        self.trace_: Trace = outcome.trace
        self.seconds_: float = outcome.seconds
        if self.cost:
            self.cost_: ConfigCost = cost_config(self.table_, self.config_, progress=self.progress)
            result = self.result_.model_copy(update={"cost": self.cost_.summary()})
            self.config_ = self.config_.model_copy(update={"result": result})
        return self

    @property
    def result_(self) -> SearchResult:
        if not hasattr(self, "config_"):
            raise SparsimError("call fit() first", "Tasder")
        assert self.config_.result is not None
        return self.config_.result

    def transform(self, model: nn.Module) -> AppliedConfig:
        """Apply the configuration found (undo with ``.undo()`` or a ``with`` block)."""
        if not hasattr(self, "config_"):
            raise SparsimError("call fit() first", "Tasder")
        return apply_config(model, self.config_)
