"""Models as users leave them: what can override the weights or inputs TASDER changes.

A model pruned with ``torch.nn.utils.prune`` keeps ``weight_orig``, ``weight_mask`` and a
forward pre-hook that rebuilds ``weight`` on every forward pass; one under
``torch.nn.utils.parametrize`` computes ``weight`` from its parametrizations; a forward
hook may rewrite weights or inputs; a weight tied to another module changes both. A change
written into ``weight`` would then be thrown away, or reach another layer, and the search
would score a model that is not the one it claims.

* :func:`weight_overrides` finds, per layer, what overrides its weight;
* :func:`plain_model` returns a copy with the masks and parametrizations folded into the
  weights (the forward pass then uses the weights TASD-W writes), which the search works
  on; hooks and tied weights it cannot fold are one-line errors naming the layer;
* :func:`check_forward` runs one batch and checks that the weights (TASD-W) and inputs
  (TASD-A) each configured layer's forward pass really uses follow the N:M pattern the
  configuration claims.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize, prune
from torch.overrides import TorchFunctionMode

from sparsim.errors import SparsimError
from sparsim.tasd import Series
from sparsim.tasder.structured import block_axis, kept_per_block, nonzeros_per_block
from sparsim.workload.probe import find_layers, inference, run_model

LAYER_FUNCTIONS = ("linear", "conv1d", "conv2d", "conv3d")


@dataclass(frozen=True)
class Override:
    """What overrides one layer's weight: ``kind`` is ``prune``, ``parametrize``, ``hook``
    or ``tied``; ``foldable`` when :func:`plain_model` can fold it."""

    layer: str
    kind: str
    detail: str

    @property
    def foldable(self) -> bool:
        return self.kind in ("prune", "parametrize")

    def error(self) -> SparsimError:
        advice = {
            "hook": "remove the hook (handle.remove()) or fold what it does into the weights "
            "before the search",
            "tied": "give each layer its own copy of the weight, or leave this layer out (layers=)",
            "prune": "fold the mask first (torch.nn.utils.prune.remove(module, 'weight'), "
            "or sparsim.tasder.plain_model(model))",
            "parametrize": "fold it first (torch.nn.utils.parametrize.remove_parametrizations"
            "(module, 'weight'), or sparsim.tasder.plain_model(model))",
        }[self.kind]
        return SparsimError(
            f"{self.detail}, so a change TASD-W writes into its weight would not be what its "
            f"forward pass uses; {advice}",
            f"layers.{self.layer}",
        )


def _hook_name(hook: Any) -> str:
    return getattr(hook, "__qualname__", None) or type(hook).__name__


def _pruned(module: nn.Module) -> bool:
    return any(isinstance(h, prune.BasePruningMethod) for h in module._forward_pre_hooks.values())


def weight_overrides(model: nn.Module, layers: list[str] | None = None) -> list[Override]:
    """Everything that overrides the weight of ``layers`` (default every Conv2d/Linear):
    prune reparametrisations, parametrizations, forward and forward-pre hooks (the
    module's own and global ones) and weights shared with another module."""
    found = []
    # Who holds each parameter's data (a module called twice under two names is one owner).
    owners: dict[tuple[int, tuple[int, ...]], dict[int, str]] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        for key, value in module._parameters.items():
            if value is not None:
                held = owners.setdefault((value.data_ptr(), tuple(value.shape)), {})
                held.setdefault(id(module), f"{name}.{key}")
    global_hooks = [
        *nn.modules.module._global_forward_pre_hooks.values(),
        *nn.modules.module._global_forward_hooks.values(),
    ]
    for name, module in find_layers(model, layers).items():
        if _pruned(module):
            found.append(Override(name, "prune", f"layer {name!r} is pruned by torch.nn.utils."
                                  "prune (weight_orig, weight_mask and a forward pre-hook)"))  # fmt: skip
        elif parametrize.is_parametrized(module, "weight"):
            found.append(Override(name, "parametrize", f"layer {name!r} computes its weight "
                                  "through torch.nn.utils.parametrize"))  # fmt: skip
        hooks = [
            *(h for h in module._forward_pre_hooks.values()
              if not isinstance(h, prune.BasePruningMethod)),
            *module._forward_hooks.values(),
        ]  # fmt: skip
        if hooks or global_hooks:
            where = "its forward hook" if hooks else "a global forward hook"
            found.append(Override(name, "hook", f"layer {name!r} runs {where} "
                                  f"{_hook_name((hooks or global_hooks)[0])!r}, which may "
                                  "rewrite its weights or inputs"))  # fmt: skip
        weight = module._parameters.get("weight")
        if weight is not None:
            shared = owners.get((weight.data_ptr(), tuple(weight.shape)), {})
            others = [owner for key, owner in shared.items() if key != id(module)]
            if others:
                found.append(Override(name, "tied", f"layer {name!r} shares its weight with "
                                      f"{others[0]!r}"))  # fmt: skip
    return found


def plain_model(model: nn.Module, layers: list[str] | None = None) -> nn.Module:
    """``model`` itself when nothing overrides the weights of ``layers``; else a copy with
    every prune mask and parametrization of those layers folded into a plain weight (the
    same outputs). Hooks and tied weights are errors naming the layer and what to do."""
    overrides = weight_overrides(model, layers)
    for override in overrides:
        if not override.foldable:
            raise override.error()
    if not overrides:
        return model
    # A pruned module's weight is computed (not a graph leaf), which deepcopy refuses: the
    # copy gets it detached, and rebuilds it from weight_orig and the mask below.
    memo: dict[int, Any] = {}
    for module in model.modules():
        for value in vars(module).values():
            if isinstance(value, torch.Tensor) and not value.is_leaf:
                memo[id(value)] = value.detach().clone()
    folded = copy.deepcopy(model, memo)
    modules = find_layers(folded, [o.layer for o in overrides])
    for override in overrides:
        module = modules[override.layer]
        if override.kind == "prune":
            for hook in list(module._forward_pre_hooks.values()):
                if isinstance(hook, prune.BasePruningMethod):
                    names = [h._tensor_name for h in getattr(hook, "_pruning_methods", [hook])]
                    for tensor in dict.fromkeys(names):
                        prune.remove(module, tensor)
        else:
            _fold_parametrizations(module)
    return folded


def _fold_parametrizations(module: nn.Module) -> None:
    """Every parametrized tensor of ``module`` (a copy) as a plain parameter holding its
    parametrized value. (``remove_parametrizations`` would delete the properties from the
    class that the copy shares with the original, breaking the original.)"""
    values = {name: getattr(module, name).detach().clone() for name in module.parametrizations}
    module.__class__ = module.__class__.__bases__[0]
    del module._modules["parametrizations"]
    for name, value in values.items():
        module.register_parameter(name, nn.Parameter(value))


class _LayerCalls(TorchFunctionMode):
    """Records the input and weight of every linear/conv call made inside a watched
    module's forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.calls: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.stack and getattr(func, "__name__", "") in LAYER_FUNCTIONS:
            inputs = args[0] if args else kwargs.get("input")
            weight = args[1] if len(args) > 1 else kwargs.get("weight")
            self.calls.setdefault(self.stack[-1], []).append(
                (inputs.detach().clone(), weight.detach().clone())
            )
        return func(*args, **kwargs)


def _breaks(x: torch.Tensor, axis: int, series: Series) -> bool:
    """Whether some block of ``x`` holds more nonzeros than ``series`` keeps."""
    histogram = nonzeros_per_block(x, axis, series.patterns[0].m)
    return bool(histogram[kept_per_block(series) + 1 :].any())


def check_forward(
    model: nn.Module,
    weights: Mapping[str, Series],
    activations: Mapping[str, Series],
    batch: Any,
) -> None:
    """Run ``batch`` and check that each layer's forward pass used weights (``weights``)
    or inputs (``activations``) that follow its series' N:M pattern; an error names the
    first layer whose forward pass did not."""
    names = [n for n, s in {**weights, **activations}.items() if s.patterns and not s.is_dense]
    if not names:
        return
    modules = find_layers(model, names)
    recorder = _LayerCalls()

    def enter(name: str):
        return lambda module, args: recorder.stack.append(name)

    def leave(module: nn.Module, args: Any, output: Any) -> None:
        recorder.stack.pop()

    handles = []
    try:
        for name, module in modules.items():
            handles.append(module.register_forward_pre_hook(enter(name)))
            handles.append(module.register_forward_hook(leave))
        with inference(model), recorder:
            run_model(model, batch)
    finally:
        for handle in handles:
            handle.remove()
    for name, module in modules.items():
        calls = recorder.calls.get(name)
        if not calls:
            raise SparsimError(
                f"layer {name!r} ran no linear or convolution in its forward pass on the "
                "example batch; its TASD configuration cannot be checked",
                f"layers.{name}",
            )
        axis = block_axis(module)
        for inputs, weight in calls:
            checks = (
                ("weights", weight, weights, "something (a hook, a parametrization, a mask) "
                 "rebuilt them; fold it into the weights before applying TASD-W"),
                ("inputs", inputs, activations, "a forward pre-hook registered after "
                 "TASD-A's rewrote them; remove it"),
            )  # fmt: skip
            for what, used, chosen, cause in checks:
                if name in chosen and _breaks(used, axis, chosen[name]):
                    raise SparsimError(
                        f"the {what} layer {name!r} used in its forward pass do not follow "
                        f"{chosen[name]}: {cause}",
                        f"layers.{name}",
                    )
