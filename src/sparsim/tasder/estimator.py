"""A scikit-learn-style front end: ``Tasder(...).fit(model, calibration)``, then
``transform(model)`` to run the model with the configuration found."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from torch import nn

from sparsim.errors import SparsimError
from sparsim.tasd import get_hardware
from sparsim.tasder.apply import (
    ActivationTasd,
    AppliedConfig,
    WeightTasd,
    apply_config,
    check_keep,
    input_channel_norms,
)
from sparsim.tasder.config import SearchResult, TasderConfig
from sparsim.tasder.costing import OBJECTIVES, ConfigCost, LayerCosts, cost_config, pareto_front
from sparsim.tasder.overrides import check_forward, plain_model
from sparsim.tasder.quality import DEFAULT_CONFIDENCE, RULES, Evaluator, Gate
from sparsim.tasder.search import (
    DEFAULT_TARGET,
    Trace,
    activation_layers,
    hardware_series,
    search_activations,
    search_activations_layerwise,
    search_weights_layerwise,
    search_weights_network,
    select_layers,
    split_report,
)
from sparsim.tasder.structured import module_name
from sparsim.workload.extract import extract_workloads
from sparsim.workload.probe import find_layers

METHODS = ("layer-wise", "network-wise", "activations", "activations-layer-wise")
ACTIVATION_METHODS = ("activations", "activations-layer-wise")


class Tasder:
    """Search a per-layer TASD configuration for one hardware design (a built-in TASD
    tensor core or a TTC design file, see :func:`sparsim.tasd.get_hardware`).

    ``method`` is ``layer-wise`` or ``network-wise`` (TASD-W), ``activations`` (TASD-A,
    the TASD paper's rule with an ``alphas`` sweep; ``pseudo`` uses pseudo-density, for
    GELU/Swish models) or ``activations-layer-wise`` (TASD-A, greedy per layer).
    ``layers`` takes names, shell-style patterns (``*.attention.*``) or layer types
    (``Linear``, ``Conv2d``). ``objective`` (``macs``, ``energy``, ``edp``) is what the
    search saves: layer-wise methods rank candidates by its saving per unit of quality
    lost, on the accelerator model (the TTC, ``schedule``) for energy and EDP. ``keep``:
    which entries a term keeps, the largest ``magnitude`` or ``output`` impact (TASD-A:
    ``|x_c|`` times the norm of the weights channel ``c`` feeds; TASD-W: ``|w_oc|`` times
    the norm of input channel ``c`` on the calibration batches, which it then needs).
    ``evaluator`` measures quality on the selection split (what the search chooses on); it
    is fitted on the original model if it is not yet. ``rule`` decides when a configuration
    meets the target there: ``bound`` (default), when the lower end of the paired margin's
    ``confidence`` interval (``score - target * original``, per input) is at or above zero,
    so the target holds with one-sided confidence ``(1 + confidence) / 2``; ``point``, when
    the point estimate is. ``test``, an evaluator on an untouched test split, reports the
    configuration found there (``result_.test``: ratio, paired margin with its interval, n;
    ``test_`` the gate); the search never sees it.
    After :meth:`fit`: ``config_`` (re-appliable, with ``result``), ``trace_`` (every
    evaluation, with energy, cycles and EDP reduction when costed), ``table_`` (the
    model's workloads and calibration statistics), ``seconds_`` (search time) and
    ``evaluation_seconds_`` (its part in quality evaluations), ``pareto_`` (quality
    against EDP reduction, the non-dominated configurations evaluated); with ``cost``
    (default) also ``cost_``, the configuration's per-layer energy and cycles on the TASD
    tensor core, the dense TC and the plain design (``result_.cost`` holds the totals).
    """

    def __init__(
        self,
        hardware: str | Path,
        evaluator: Evaluator,
        *,
        method: str = "layer-wise",
        target: float = DEFAULT_TARGET,
        layers: list[str] | None = None,
        alphas: Sequence[float] = (0.0,),
        pseudo: bool = False,
        mass: float = 0.99,
        patience: int | None = 1,
        objective: str = "macs",
        keep: str = "magnitude",
        schedule: str = "fused",
        cost: bool = True,
        rule: str = "bound",
        confidence: float = DEFAULT_CONFIDENCE,
        test: Evaluator | None = None,
        progress: bool = False,
    ):
        if method not in METHODS:
            raise SparsimError(
                f"unknown method {method!r}; expected one of {', '.join(METHODS)}", "method"
            )
        if objective not in OBJECTIVES:
            raise SparsimError(
                f"unknown objective {objective!r}; expected one of {', '.join(OBJECTIVES)}",
                "objective",
            )
        check_keep(keep)
        if rule not in RULES:
            raise SparsimError(f"unknown rule {rule!r}; expected {' or '.join(RULES)}", "rule")
        if not 0 < confidence < 1:
            raise SparsimError(f"must be in (0, 1), got {confidence}", "confidence")
        if test is not None and test is evaluator:
            raise SparsimError(
                "the test split must not be the one the search chooses on; give another evaluator",
                "test",
            )
        self.hardware = get_hardware(hardware).key
        self.evaluator = evaluator
        self.method = method
        self.target = target
        self.layers = layers
        self.alphas = tuple(alphas)
        self.pseudo = pseudo
        self.mass = mass
        self.patience = patience
        self.objective = objective
        self.keep = keep
        self.schedule = schedule
        self.cost = cost
        self.rule = rule
        self.confidence = confidence
        self.test = test
        self.progress = progress

    def fit(
        self, model: nn.Module, calibration: Sequence[Any] | None = None, *, example: Any = None
    ) -> Tasder:
        """Search on ``model`` (left unchanged). TASD-A needs ``calibration`` batches; TASD-W
        needs one ``example`` batch (or the first calibration batch) for the shapes, and
        measures the input densities the accelerator model gates on ``calibration`` when
        given. TASD-W works on a copy with ``torch.nn.utils.prune`` masks and
        ``parametrize`` parametrizations folded into the weights; a hook on a layer it
        changes, or a tied weight, is an error (:mod:`sparsim.tasder.overrides`). Before
        the search, one batch checks that the forward pass uses what TASD changes."""
        activations = self.method in ACTIVATION_METHODS
        self.calibration_ = list(calibration) if calibration is not None else None
        layers = select_layers(model, self.layers, activations=activations)
        if activations and not calibration:
            raise SparsimError(
                "no calibration batches; TASD-A needs calibration data", "calibration"
            )
        if example is None:
            if not calibration:
                raise SparsimError("give an example batch or calibration data", "calibration")
            example = calibration[0]
        self.example_ = example
        if not activations:
            model = plain_model(model, layers)
        if calibration:
            self.table_ = extract_workloads(
                model, example, calibration, mass=self.mass, progress=self.progress
            )
        else:
            self.table_ = extract_workloads(model, example)
        self._check_forward(model, layers, activations)
        self._searched = model
        if self.evaluator.quality_ is None:
            self.evaluator.fit(model)
        original = float(self.evaluator.quality_)  # type: ignore[arg-type]
        costs = None
        if self.cost or self.objective != "macs":
            operand = "activations" if activations else "weights"
            costs = LayerCosts(self.table_, self.hardware, operand, schedule=self.schedule)
        common: dict[str, Any] = {
            "hardware": self.hardware,
            "target": self.target,
            "metric": self.evaluator.metric,
            "objective": self.objective,
            "costs": costs,
            "progress": self.progress,
        }

        def score(candidate: nn.Module) -> Gate:
            return self.evaluator.gate(
                candidate, self.target, rule=self.rule, confidence=self.confidence
            )

        if not activations:
            common["keep"] = self.keep
            if self.keep == "output":
                if not calibration:
                    raise SparsimError(
                        "keep='output' ranks weights by their inputs' norms: give "
                        "calibration batches",
                        "calibration",
                    )
                common["input_norms"] = input_channel_norms(model, calibration, layers)
        if self.method == "network-wise":
            outcome = search_weights_network(
                model, self.table_, score, original, layers=layers, **common
            )
        elif self.method == "layer-wise":
            outcome = search_weights_layerwise(
                model, self.table_, score, original, layers=layers, patience=self.patience,
                **common,
            )  # fmt: skip
        elif self.method == "activations":
            outcome = search_activations(
                model,
                self.table_,
                score,
                original,
                layers=layers if layers is not None else activation_layers(model),
                alphas=self.alphas,
                pseudo=self.pseudo,
                keep=self.keep,
                **common,
            )
        else:
            outcome = search_activations_layerwise(
                model,
                self.table_,
                score,
                original,
                layers=layers if layers is not None else activation_layers(model),
                calibration=calibration or [],
                patience=self.patience,
                keep=self.keep,
                **common,
            )
        self.config_: TasderConfig = outcome.config
        self.trace_: Trace = outcome.trace
        self.seconds_: float = outcome.seconds
        self.evaluation_seconds_: float = outcome.evaluation_seconds
        if costs is not None:
            points = pd.DataFrame(self.trace_.rows)
            dense = {"quality": original, "edp_reduction": costs.edp_reduction({})}
            points = pd.concat([pd.DataFrame([{**dense, "accepted": True}]), points])
            self.points_ = points.reset_index(drop=True)
            self.pareto_: pd.DataFrame = pareto_front(self.points_)
        if self.test is not None:
            self._report_test(self._searched)
        if self.cost:
            self.cost_: ConfigCost = cost_config(
                self.table_, self.config_, schedule=self.schedule, progress=self.progress
            )
            result = self.result_.model_copy(update={"cost": self.cost_.summary()})
            self.config_ = self.config_.model_copy(update={"result": result})
        return self

    def _check_forward(self, model: nn.Module, layers: list[str] | None, activations: bool):
        """The most aggressive series on every layer the search may change, one batch: the
        forward pass must use weights or inputs that follow it."""
        called = {module_name(row.name) for row in self.table_}
        if activations:
            names = layers if layers is not None else activation_layers(model)
        else:
            names = layers if layers is not None else list(find_layers(model))
        names = [name for name in names if name in called]
        series = hardware_series(self.hardware)[0]
        chosen = dict.fromkeys(names, series)
        if activations:
            hooks = ActivationTasd(chosen).prepare(model)
            try:
                check_forward(model, {}, hooks.series, self.example_)
            finally:
                hooks.remove()
            return
        weights = WeightTasd(chosen).prepare(model)
        try:
            weights.step()
            check_forward(model, weights.series, {}, self.example_)
        finally:
            weights.restore()

    def _report_test(self, model: nn.Module) -> None:
        """The configuration found on the test split, beside the selection's figures."""
        if self.test.quality_ is None:  # type: ignore[union-attr]
            self.test.fit(model)  # type: ignore[union-attr]
        with self.transform(model):
            self.test_: Gate = self.test.gate(  # type: ignore[union-attr]
                model, self.target, rule=self.rule, confidence=self.confidence
            )
        report = split_report(self.test_).model_copy(update={"split": self.test_.split or "test"})
        result = self.result_.model_copy(update={"test": report})
        self.config_ = self.config_.model_copy(update={"result": result})

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
        return apply_config(
            model, self.config_, calibration=self.calibration_, example=self.example_
        )
