"""Applying TASD to a model, in the style of ``torch.ao.pruning``'s sparsifiers.

* :class:`WeightTasd` (TASD-W, offline): ``prepare(model)`` remembers the original
  weights of the configured layers, ``step()`` replaces them by the sum of their TASD
  terms, ``restore()`` puts the originals back and ``squash_mask()`` forgets them (the
  model keeps the structured weights for good). ``set(layer, series)`` changes one layer,
  which is what the greedy search does. Which weights a term keeps: the largest
  magnitudes (``keep="magnitude"``) or the largest output impact (``keep="output"``:
  ``|w_oc|`` times the L2 norm of input channel ``c`` over calibration inputs, measured
  by :func:`input_channel_norms`; a feature-based score in the spirit of pruning by
  weights and activations, which needs calibration data).
* :class:`ActivationTasd` (TASD-A, at run time): ``prepare(model)`` registers forward
  pre-hooks that replace the inputs of the configured layers by their TASD approximation;
  ``set(layer, series)`` changes one layer (the greedy search), ``remove()`` takes the
  hooks away. Which entries a term keeps: the largest magnitudes (``keep="magnitude"``,
  the TASD paper) or the largest output impact (``keep="output"``: ``|x_c|`` times the
  norm of the weights that input channel ``c`` feeds).
* :func:`apply_config` does both from a :class:`~sparsim.tasder.config.TasderConfig` and
  returns a handle that undoes it; as a context manager it undoes on exit.

Unknown layer names and series a given hardware cannot run are one-line errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from sparsim.errors import SparsimError
from sparsim.tasd import Series, parse_series
from sparsim.tasder.config import KEEP_SCORES, MAX_TERMS, TasderConfig
from sparsim.tasder.overrides import check_forward, weight_overrides
from sparsim.tasder.structured import (
    BlockRanks,
    approximate,
    block_axis,
    check_activation_layer,
    keep_largest,
    kept_per_block,
    single_block_size,
)
from sparsim.workload.probe import find_layers, inference, run_model


def _series_map(series: Mapping[str, str | Series | None]) -> dict[str, Series]:
    parsed = {}
    for name, value in series.items():
        if value is None:
            continue
        try:
            parsed[name] = value if isinstance(value, Series) else parse_series(value, MAX_TERMS)
        except SparsimError as exc:
            raise exc.located(f"layers.{name}") from None
    return parsed


class WeightTasd:
    """Replace layer weights by their TASD approximation; the originals can come back."""

    def __init__(
        self,
        series: Mapping[str, str | Series | None] | None = None,
        *,
        keep: str = "magnitude",
        input_norms: Mapping[str, torch.Tensor] | None = None,
    ):
        self.series = _series_map(series or {})
        self.keep = check_keep(keep)
        self.input_norms = dict(input_norms or {})
        self.layers: dict[str, nn.Module] = {}
        self.originals: dict[str, torch.Tensor] = {}
        # Where the forward pass takes each weight from (a pruned layer's weight_orig, which
        # its mask then keeps as it is: TASD-W keeps a subset of the masked nonzeros), and
        # what was there before.
        self._targets: dict[str, torch.Tensor] = {}
        self._saved: dict[str, torch.Tensor] = {}
        self._ranks: dict[tuple[str, int], BlockRanks] = {}

    def prepare(self, model: nn.Module, layers: list[str] | None = None) -> WeightTasd:
        """Remember the weights of the configured layers (and of ``layers``, which the
        greedy search may set later)."""
        names = sorted(set(self.series) | set(layers or []))
        self.layers = find_layers(model, names)
        if self.keep == "output":
            missing = [name for name in self.layers if name not in self.input_norms]
            if missing:
                raise SparsimError(
                    f"keep='output' ranks weights by their inputs' norms; none for layer "
                    f"{missing[0]!r} (measure them with input_channel_norms on calibration "
                    "data)",
                    "keep",
                )
        pruned = set()
        for override in weight_overrides(model, list(self.layers)):
            if override.kind != "prune":
                raise override.error()
            pruned.add(override.layer)
        self._targets, self._saved, self.originals = {}, {}, {}
        for name, module in self.layers.items():
            if name in pruned:
                target = module.weight_orig
                self.originals[name] = (target * module.weight_mask).detach().clone()
                self._saved[name] = target.detach().clone()
            else:
                target = module.weight
                self.originals[name] = self._saved[name] = target.detach().clone()
            self._targets[name] = target
        return self

    def approximation(self, name: str, series: Series) -> torch.Tensor:
        """The TASD approximation of a layer's original weights (block ranks are cached
        per layer, so every series of one block size costs one sort)."""
        axis = block_axis(self._layer(name))
        m = single_block_size(series)
        if m is None or series.is_dense or not series.patterns:
            return approximate(self.originals[name], series, axis)
        if (name, m) not in self._ranks:
            key = self._impact(name) if self.keep == "output" else None
            self._ranks[(name, m)] = BlockRanks.of(self.originals[name], axis, m, key)
        return self._ranks[(name, m)].keep(kept_per_block(series))

    def _impact(self, name: str) -> torch.Tensor:
        """``|w|`` times the norm of the input channel each weight multiplies."""
        module, weight = self._layer(name), self.originals[name]
        norms = self.input_norms[name].to(weight.dtype)
        if isinstance(module, nn.Conv2d):
            groups = module.groups
            per_group = norms.view(groups, -1)  # [groups, C / groups]
            rows = per_group.repeat_interleave(weight.shape[0] // groups, dim=0)
            return weight.abs() * rows.view(*rows.shape, *[1] * (weight.dim() - 2))
        return weight.abs() * norms

    def set(self, name: str, series: Series | str | None) -> None:
        """Give one layer the approximation for ``series`` (None: its original weights)."""
        self._layer(name)
        if series is None:
            self.series.pop(name, None)
            value = self._saved[name]
        else:
            series = _series_map({name: series})[name]
            self.series[name] = series
            value = self.approximation(name, series)
        with torch.no_grad():
            self._targets[name].copy_(value)

    def step(self) -> None:
        for name, series in self.series.items():
            self.set(name, series)

    def restore(self) -> None:
        for name in self.layers:
            with torch.no_grad():
                self._targets[name].copy_(self._saved[name])

    def squash_mask(self) -> None:
        """Keep the structured weights for good and free the originals and the cache."""
        self.originals.clear()
        self._saved.clear()
        self._targets.clear()
        self._ranks.clear()
        self.layers.clear()

    def _layer(self, name: str) -> nn.Module:
        if name not in self.layers:
            if not self.originals and not self.layers:
                raise SparsimError("call prepare(model) first", "WeightTasd")
            raise SparsimError(f"layer {name!r} was not prepared", "layers")
        return self.layers[name]


def input_channel_norms(
    model: nn.Module, batches: Iterable[Any], layers: list[str] | None = None
) -> dict[str, torch.Tensor]:
    """Per layer, the L2 norm of each input channel over ``batches`` (every sample and
    position): how strongly a weight's input drives it, for ``keep="output"``."""
    modules = find_layers(model, layers)
    sums: dict[str, torch.Tensor] = {}

    def observe(name: str, module: nn.Module) -> Any:
        axis = block_axis(module)

        def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
            x = args[0].detach().double()
            dims = [d for d in range(x.dim()) if d != axis % x.dim()]
            squares = x.square().sum(dims)
            sums[name] = squares if name not in sums else sums[name] + squares

        return hook

    handles = [m.register_forward_pre_hook(observe(n, m)) for n, m in modules.items()]
    try:
        with inference(model):
            for batch in batches:
                run_model(model, batch)
    finally:
        for handle in handles:
            handle.remove()
    if not sums:
        raise SparsimError("no calibration batches; keep='output' needs them", "calibration")
    return {name: sums[name].sqrt().float() for name in modules if name in sums}


def check_keep(keep: str) -> str:
    if keep not in KEEP_SCORES:
        raise SparsimError(
            f"unknown score {keep!r}; expected one of {', '.join(KEEP_SCORES)}", "keep"
        )
    return keep


def output_impact_scale(module: nn.Module) -> torch.Tensor:
    """Per input channel, the L2 norm of the weights it feeds (over outputs and filter
    positions): ``|x_c|`` times it bounds how much dropping ``x_c`` moves the outputs."""
    weight = module.weight.detach()
    channel = 1 if isinstance(module, nn.Conv2d) else weight.dim() - 1
    return weight.float().pow(2).sum([d for d in range(weight.dim()) if d != channel]).sqrt()


class ActivationTasd:
    """Replace the inputs of chosen layers by their TASD approximation while prepared."""

    def __init__(
        self, series: Mapping[str, str | Series | None] | None = None, *, keep: str = "magnitude"
    ):
        self.series = _series_map(series or {})
        self.keep = check_keep(keep)
        self._handles: list[Any] = []

    def prepare(self, model: nn.Module, layers: list[str] | None = None) -> ActivationTasd:
        """Hook the configured layers (and ``layers``, which :meth:`set` may configure
        later; a hooked layer without a series passes its input through)."""
        self.remove()
        modules = find_layers(model, sorted(set(self.series) | set(layers or [])))
        for name, module in modules.items():
            check_activation_layer(name, module)
        try:
            for name, module in modules.items():
                self._handles.append(module.register_forward_pre_hook(self._hook(name, module)))
        except BaseException:
            self.remove()
            raise
        return self

    def set(self, name: str, series: Series | str | None) -> None:
        """Give one hooked layer ``series`` (None: its inputs pass unchanged)."""
        if series is None:
            self.series.pop(name, None)
        else:
            self.series[name] = _series_map({name: series})[name]

    def _hook(self, name: str, module: nn.Module) -> Any:
        axis = block_axis(module)
        scale = output_impact_scale(module) if self.keep == "output" else None

        def hook(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
            series = self.series.get(name)
            if series is None:
                return args
            x = args[0]
            m = single_block_size(series)
            if scale is None or m is None or series.is_dense or not series.patterns:
                return (approximate(x, series, axis), *args[1:])
            shape = [1] * x.dim()
            shape[axis] = -1
            key = x.abs() * scale.to(x.dtype).view(shape)
            return (keep_largest(x, kept_per_block(series), m, axis, key), *args[1:])

        return hook

    def remove(self) -> None:
        while self._handles:
            self._handles.pop().remove()

    @property
    def active(self) -> bool:
        return bool(self._handles)


class AppliedConfig(contextlib.AbstractContextManager["AppliedConfig"]):
    """A configuration applied to a model; ``undo()`` (or leaving the ``with``) restores the
    original weights and removes the activation hooks."""

    def __init__(self, weights: WeightTasd, activations: ActivationTasd):
        self.weights = weights
        self.activations = activations

    def undo(self) -> None:
        self.activations.remove()
        if self.weights.originals:
            self.weights.restore()

    def __exit__(self, *exc_info: object) -> None:
        self.undo()


def apply_config(
    model: nn.Module,
    config: TasderConfig,
    *,
    keep_originals: bool = True,
    calibration: Iterable[Any] | None = None,
    example: Any = None,
) -> AppliedConfig:
    """Transform ``model`` for inference as ``config`` says.

    With ``keep_originals=False`` the weights are replaced for good (less memory); the
    activation hooks can still be removed. A configuration whose TASD-W terms keep
    weights by output impact (``keep: output``) needs the ``calibration`` batches it was
    found with, to measure the inputs' norms again. A layer pruned by
    ``torch.nn.utils.prune`` is changed through its ``weight_orig`` (its mask keeps the
    TASD terms as they are); a parametrized weight, a hook on a TASD-W layer or a tied
    weight is an error (:mod:`sparsim.tasder.overrides`). With an ``example`` batch, the
    weights and inputs the forward pass really uses are checked against the series
    (:func:`~sparsim.tasder.overrides.check_forward`); a failed check undoes the change.
    """
    find_layers(model, list(config.layers))  # every name must exist before anything changes
    norms: dict[str, torch.Tensor] = {}
    if config.keep == "output" and config.weight_series:
        if calibration is None:
            raise SparsimError(
                "TASD-W with keep: output ranks weights by their inputs' norms: give the "
                "calibration batches",
                "calibration",
            )
        norms = input_channel_norms(model, calibration, list(config.weight_series))
    weights = WeightTasd(config.weight_series, keep=config.keep, input_norms=norms).prepare(model)
    activations = ActivationTasd(config.activation_series, keep=config.keep)
    try:
        weights.step()
        activations.prepare(model)
        if example is not None:
            check_forward(model, weights.series, activations.series, example)
    except BaseException:
        activations.remove()
        weights.restore()
        raise
    if not keep_originals:
        weights.squash_mask()
    return AppliedConfig(weights, activations)
