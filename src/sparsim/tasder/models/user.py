"""A user's own model and labelled data, ready for TASDER as the built-in models are.

Two ways in:

* **Files.** The model as a whole-module file (``torch.save(model, "model.pt")``): TASDER
  needs the module tree itself, to find the ``Conv2d``/``Linear`` layers, change their
  weights and hook their inputs, which a TorchScript archive (compiled modules, no
  ``nn.Conv2d`` left) or a ``torch.export`` program (one flat graph) does not keep.
  Loading such a file unpickles it, **which runs code from the file**: load only files you
  trust, or use a factory. The data as a file of tensors (``torch.save`` of a dict,
  loaded without running code) or a ``.npz`` (no pickled objects): either ``inputs`` and
  ``labels``, shuffled once with a fixed seed and cut into disjoint calibration,
  validation (selection) and test parts of the sizes asked for, or the splits given
  explicitly: ``calibration_inputs``, ``validation_inputs``, ``validation_labels``,
  ``test_inputs``, ``test_labels``. Quality is top-1 accuracy.
* **A factory**, ``package.module:function``, called with no arguments, returning a
  mapping (or an object with these attributes): ``model``; ``calibration`` (a tensor of
  inputs or a list of batches); ``validation`` and ``test``, each ``(inputs, labels)``
  (top-1 accuracy) or an :class:`~sparsim.tasder.quality.Evaluator` (the user's own
  metric); optionally ``name``, ``activation_layers`` (TASD-A's default layers) and
  ``pseudo_density`` (GELU/Swish models).

Either way the three splits must be disjoint: the search chooses on validation, the test
split only reports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sparsim.errors import SpecError
from sparsim.tasder.quality import Accuracy, Evaluator
from sparsim.tasder.search import activation_layers

MODEL_SUFFIXES = (".pt", ".pth")
DATA_SUFFIXES = (".pt", ".pth", ".npz")
SPLIT_KEYS = (
    "calibration_inputs",
    "validation_inputs",
    "validation_labels",
    "test_inputs",
    "test_labels",
)
SMOOTH_ACTIVATIONS = (nn.GELU, nn.SiLU, nn.Hardswish, nn.Mish)
SHUFFLE_SEED = 0
PICKLE_WARNING = (
    "sparsim: loading {path} unpickles it, which runs code from the file; load only model "
    "files you trust (or give a --factory)"
)


def is_model_file(text: str) -> bool:
    """Whether ``--model`` names a file rather than a built-in model."""
    return text.lower().endswith(MODEL_SUFFIXES) or Path(text).is_file()


def load_model_file(path: str | Path) -> nn.Module:
    """A whole-module file (``torch.save(model, path)``)."""
    path = Path(path)
    if not path.is_file():
        raise SpecError("model file not found", str(path))
    print(PICKLE_WARNING.format(path=path), file=sys.stderr)
    try:
        model = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # unpickling raises anything the file's code raises
        raise SpecError(f"cannot load the model: {type(exc).__name__}: {exc}", str(path)) from None
    if not isinstance(model, nn.Module):
        hint = (
            " (a state dict: save the module itself, torch.save(model, path))"
            if isinstance(model, Mapping)
            else ""
        )
        raise SpecError(
            f"holds {type(model).__name__!r}, not a torch.nn.Module{hint}; TorchScript and "
            "torch.export files are not taken: TASDER needs the module's Conv2d/Linear layers",
            str(path),
        )
    return model.eval()


def load_data_file(path: str | Path) -> dict[str, torch.Tensor]:
    """The arrays of a ``.pt`` file of tensors or a ``.npz``, by key (nothing runs)."""
    path = Path(path)
    if not path.is_file():
        raise SpecError("data file not found", str(path))
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise SpecError(f"expected a {', '.join(DATA_SUFFIXES)} file of tensors", str(path))
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                data = {key: torch.from_numpy(archive[key]) for key in archive.files}
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file: numpy and torch raise many kinds
        raise SpecError(f"cannot read the data: {type(exc).__name__}: {exc}", str(path)) from None
    if not isinstance(data, Mapping) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise SpecError("expected a mapping of names to tensors", str(path))
    return dict(data)


def _take(data: Mapping[str, torch.Tensor], key: str, where: str) -> torch.Tensor:
    if key not in data:
        raise SpecError(f"missing {key!r} (keys: {', '.join(data) or 'none'})", where)
    return data[key]


def data_splits(
    data: Mapping[str, torch.Tensor],
    where: str,
    *,
    calibration_size: int,
    evaluation_size: int,
    test_size: int | None,
) -> dict[str, torch.Tensor]:
    """Calibration inputs and the labelled validation and test splits, disjoint."""
    if any(key in data for key in SPLIT_KEYS):
        splits = {key: _take(data, key, where) for key in SPLIT_KEYS}
        for split in ("validation", "test"):
            inputs, labels = splits[f"{split}_inputs"], splits[f"{split}_labels"]
            if len(inputs) != len(labels):
                raise SpecError(
                    f"{len(inputs)} {split} inputs but {len(labels)} labels",
                    f"{where}: {split}_labels",
                )
        return splits
    inputs, labels = _take(data, "inputs", where), _take(data, "labels", where)
    if len(inputs) != len(labels):
        raise SpecError(f"{len(inputs)} inputs but {len(labels)} labels", f"{where}: labels")
    test_size = evaluation_size if test_size is None else test_size
    wanted = calibration_size + evaluation_size + test_size
    if wanted > len(inputs):
        raise SpecError(
            f"{len(inputs)} samples, but the splits ask for {wanted} (calibration "
            f"{calibration_size} + validation {evaluation_size} + test {test_size}); give "
            "smaller sizes",
            where,
        )
    order = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(SHUFFLE_SEED))
    ends = np.cumsum([calibration_size, evaluation_size, test_size])
    calibration, validation, test = (
        order[: ends[0]],
        order[ends[0] : ends[1]],
        order[ends[1] : ends[2]],
    )
    return {
        "calibration_inputs": inputs[calibration],
        "validation_inputs": inputs[validation],
        "validation_labels": labels[validation],
        "test_inputs": inputs[test],
        "test_labels": labels[test],
    }


def _get(task: Any, key: str, default: Any = ...) -> Any:
    value = task.get(key, default) if isinstance(task, Mapping) else getattr(task, key, default)
    if value is ...:
        raise SpecError(f"the factory's result has no {key!r}", "factory")
    return value


def _batches(inputs: Any, batch_size: int) -> list[Any]:
    if isinstance(inputs, torch.Tensor) and len(inputs):
        return list(inputs.split(batch_size))
    if isinstance(inputs, Sequence) and inputs:
        return list(inputs)
    raise SpecError("expected a tensor of inputs or a list of batches", "calibration")


def _evaluator(split: str, value: Any, batch_size: int, progress: bool) -> Evaluator:
    if isinstance(value, Evaluator):
        value.split = value.split or split
        return value
    if isinstance(value, tuple | list) and len(value) == 2:
        inputs, labels = value
        return Accuracy(
            _batches(torch.as_tensor(inputs), batch_size),
            torch.as_tensor(labels),
            split=split,
            progress=progress,
        )
    raise SpecError(f"expected (inputs, labels) or an Evaluator, got {type(value).__name__}", split)


def call_factory(spec: str) -> Any:
    """``package.module:function`` imported and called."""
    module_name, _, function = spec.partition(":")
    if not module_name or not function:
        raise SpecError(f"expected package.module:function, got {spec!r}", "--factory")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SpecError(f"cannot import {module_name!r}: {exc}", "--factory") from None
    factory = getattr(module, function, None)
    if not callable(factory):
        raise SpecError(f"{module_name!r} has no function {function!r}", "--factory")
    return factory()


def user_model(
    model: nn.Module,
    calibration: Any,
    validation: Any,
    test: Any,
    *,
    name: str,
    batch_size: int,
    progress: bool = False,
    layers: list[str] | None = None,
    pseudo_density: bool | None = None,
):
    """A user's model and splits as a :class:`~sparsim.tasder.models.RealModel`: the
    validation evaluator to choose on, the test evaluator to report (both fitted on the
    original)."""
    from sparsim.tasder.models import RealModel

    if not isinstance(model, nn.Module):
        raise SpecError(f"expected a torch.nn.Module, got {type(model).__name__}", "model")
    model = model.eval()
    calibration = _batches(calibration, batch_size)
    selection = _evaluator("validation", validation, batch_size, progress).fit(model)
    reported = _evaluator("test", test, batch_size, progress).fit(model)
    if pseudo_density is None:
        pseudo_density = any(isinstance(m, SMOOTH_ACTIVATIONS) for m in model.modules())
    return RealModel(
        name,
        model,
        calibration[0],
        calibration,
        selection,
        "gelu" if pseudo_density else "relu",
        layers if layers is not None else activation_layers(model)[1:],
        {f"{reported.metric}, test split": reported},
    )


def load_user_model(
    *,
    model: str | None,
    data: str | None,
    factory: str | None,
    calibration_size: int,
    evaluation_size: int,
    test_size: int | None,
    batch_size: int,
    progress: bool,
):
    """The CLI's ``--model FILE --data FILE`` or ``--factory package.module:function``."""
    if factory is not None:
        task = call_factory(factory)
        return user_model(
            _get(task, "model"),
            _get(task, "calibration"),
            _get(task, "validation"),
            _get(task, "test"),
            name=_get(task, "name", factory),
            batch_size=batch_size,
            progress=progress,
            layers=_get(task, "activation_layers", None),
            pseudo_density=_get(task, "pseudo_density", None),
        )
    if data is None:
        raise SpecError("a model file needs its labelled data: give --data FILE", "--data")
    loaded = load_model_file(model)  # type: ignore[arg-type]
    splits = data_splits(
        load_data_file(data),
        str(data),
        calibration_size=calibration_size,
        evaluation_size=evaluation_size,
        test_size=test_size,
    )
    return user_model(
        loaded,
        splits["calibration_inputs"],
        (splits["validation_inputs"], splits["validation_labels"]),
        (splits["test_inputs"], splits["test_labels"]),
        name=Path(model).stem,  # type: ignore[arg-type]
        batch_size=batch_size,
        progress=progress,
    )
