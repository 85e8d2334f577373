"""Forward hooks that measure what flows into a model's Conv2d and Linear layers.

The hooks live only inside a ``with InputProbe(...)`` block: they are removed on exit,
also when the forward pass raises, so the model is left exactly as it was found.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from sparsim.errors import SparsimError

LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)
# Pseudo-density sorts each sample's magnitudes. Above this many entries per sample it is
# estimated on a fixed random subset of them (standard error below 0.2 percentage points),
# which keeps calibration of ImageNet-sized CNNs to seconds.
PSEUDO_DENSITY_ENTRIES = 1 << 16
# Samples are processed in chunks of at most this many entries (64 MiB of float64 sums).
_SORT_CHUNK = 1 << 23


def check_mass(mass: float) -> float:
    if not 0.0 < mass <= 1.0:
        raise SparsimError(f"must be in (0, 1], got {mass}", "pseudo-density mass")
    return float(mass)


def run_model(model: nn.Module, batch: Any) -> Any:
    """Call the model on one batch: a mapping is passed as keywords, a tuple/list as
    positional arguments, anything else as the single input."""
    if isinstance(batch, Mapping):
        return model(**batch)
    if isinstance(batch, tuple | list):
        return model(*batch)
    return model(batch)


def find_layers(
    model: nn.Module,
    names: list[str] | None = None,
    types: tuple[type[nn.Module], ...] = LAYER_TYPES,
) -> dict[str, nn.Module]:
    """The model's layers of ``types`` by qualified name, all of them or the ``names`` given.

    An unknown name, or a name of a module of another type, is a one-line error.
    """
    modules = dict(model.named_modules())
    layers = {
        name or type(model).__name__: m for name, m in modules.items() if isinstance(m, types)
    }
    if names is None:
        return layers
    wanted = {}
    for name in names:
        if name not in layers:
            kinds = "/".join(t.__name__ for t in types)
            if name in modules:
                found = type(modules[name]).__name__
                raise SparsimError(f"{name!r} is a {found}, not a {kinds} layer", "layers")
            known = ", ".join(list(layers)[:8]) + (", ..." if len(layers) > 8 else "")
            raise SparsimError(f"unknown layer name {name!r} (the model has: {known})", "layers")
        wanted[name] = layers[name]
    return wanted


def flatten_samples(x: torch.Tensor) -> torch.Tensor:
    """View a batch as ``[samples, entries]``; a tensor without batch dim is one sample."""
    if x.dim() <= 1:
        return x.reshape(1, -1)
    return x.reshape(x.shape[0], -1)


def sample_density(x: torch.Tensor) -> torch.Tensor:
    """Fraction of nonzero entries of each sample."""
    flat = flatten_samples(x)
    return torch.count_nonzero(flat, dim=1).to(torch.float64) / max(flat.shape[1], 1)


@functools.lru_cache(maxsize=64)
def _entry_subset(entries: int) -> torch.Tensor:
    return torch.randperm(entries, generator=torch.Generator().manual_seed(entries))[
        :PSEUDO_DENSITY_ENTRIES
    ]


def sample_pseudo_density(x: torch.Tensor, mass: float = 0.99) -> torch.Tensor:
    """Smallest fraction of each sample's entries whose magnitudes sum to ``mass`` of the
    sample's total magnitude (0 for an all-zero sample).

    For a tensor with exact zeros it is at most the density; for GELU or Swish outputs,
    which are almost never exactly zero, it measures how concentrated they are.
    """
    flat = flatten_samples(x).detach()
    if flat.shape[1] > PSEUDO_DENSITY_ENTRIES:
        flat = flat[:, _entry_subset(flat.shape[1])]
    samples, entries = flat.shape
    out = torch.empty(samples, dtype=torch.float64)
    step = max(1, _SORT_CHUNK // max(entries, 1))
    for start in range(0, samples, step):
        magnitudes = flat[start : start + step].abs().float()
        cumulative = (
            torch.sort(magnitudes, dim=1, descending=True).values.to(torch.float64).cumsum(dim=1)
        )
        total = cumulative[:, -1:]
        needed = torch.searchsorted(cumulative, total * mass) + 1
        needed = torch.where(total > 0, needed.clamp(max=entries), torch.zeros_like(needed))
        out[start : start + step] = needed[:, 0].to(torch.float64) / entries
    return out


@dataclass
class LayerCall:
    """What one call of one layer saw: shapes (first batch) and per-sample statistics."""

    module: nn.Module
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    density: list[np.ndarray] = field(default_factory=list)
    pseudo_density: list[np.ndarray] = field(default_factory=list)

    def summary(self) -> dict[str, float | int | None]:
        """Mean and 99th percentile over all samples seen."""
        if not self.density:
            return {"samples": 0}
        density = np.concatenate(self.density)
        pseudo = np.concatenate(self.pseudo_density)
        return {
            "input_density": float(density.mean()),
            "input_density_p99": float(np.percentile(density, 99)),
            "input_pseudo_density": float(pseudo.mean()),
            "input_pseudo_density_p99": float(np.percentile(pseudo, 99)),
            "samples": int(density.size),
        }


class InputProbe(contextlib.AbstractContextManager["InputProbe"]):
    """Record the input of every call of the given layers while the block runs.

    A layer called several times in one forward pass (shared weights) gets one record per
    call: ``name``, ``name#2``, ``name#3``... Statistics are recorded when ``measure`` is
    set (it can be switched between batches).
    """

    def __init__(self, model: nn.Module, layers: Mapping[str, nn.Module], mass: float = 0.99):
        self.model = model
        self.layers = dict(layers)
        self.mass = check_mass(mass)
        self.measure = True
        self.calls: dict[str, LayerCall] = {}
        self._counts: dict[str, int] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def __enter__(self) -> InputProbe:
        try:
            self._handles.append(self.model.register_forward_pre_hook(self._new_pass))
            for name, module in self.layers.items():
                self._handles.append(module.register_forward_hook(self._recorder(name)))
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def remove(self) -> None:
        while self._handles:
            self._handles.pop().remove()

    def _new_pass(self, module: nn.Module, args: Any) -> None:
        self._counts.clear()

    def _recorder(self, name: str) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            self._counts[name] = self._counts.get(name, 0) + 1
            call_name = name if self._counts[name] == 1 else f"{name}#{self._counts[name]}"
            x = args[0]
            call = self.calls.get(call_name)
            if call is None:
                call = LayerCall(module, tuple(x.shape), tuple(output.shape))
                self.calls[call_name] = call
            if self.measure:
                call.density.append(sample_density(x).numpy())
                call.pseudo_density.append(sample_pseudo_density(x, self.mass).numpy())

        return hook

    def clear_statistics(self) -> None:
        for call in self.calls.values():
            call.density.clear()
            call.pseudo_density.clear()

    def __iter__(self) -> Iterator[tuple[str, LayerCall]]:
        return iter(self.calls.items())


@contextlib.contextmanager
def inference(model: nn.Module) -> Iterator[nn.Module]:
    """Evaluation mode without gradients; the model's training flag is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)
