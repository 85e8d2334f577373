"""Numpy arrays and CPU torch tensors behind one interface.

The kernels see unsigned-integer views of the raw bits; results go back to the caller's
type without copies (``torch.from_numpy`` shares memory). torch is imported only when the
caller passes a tensor, so numpy users never pay for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sparsim.errors import SparsimError

SUPPORTED_DTYPES = "float16, bfloat16 (torch), float32, float64 or int8"

# value dtype -> (bits dtype, magnitude mask, two's-complement half or 0 for IEEE floats)
_FORMATS: dict[str, tuple[type[np.unsignedinteger], int, int]] = {
    "float16": (np.uint16, 0x7FFF, 0),
    "bfloat16": (np.uint16, 0x7FFF, 0),
    "float32": (np.uint32, 0x7FFF_FFFF, 0),
    "float64": (np.uint64, 0x7FFF_FFFF_FFFF_FFFF, 0),
    "int8": (np.uint8, 0xFF, 0x80),
}


def is_torch(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def check_array(x: Any, what: str = "x") -> None:
    if isinstance(x, np.ndarray) or is_torch(x):
        return
    raise SparsimError(
        f"expected a numpy array or a CPU torch tensor, got {type(x).__name__}", what
    )


def _torch_to_numpy(x: Any, what: str) -> np.ndarray:
    """A numpy view of a dense CPU tensor (bfloat16 as its uint16 bits)."""
    import torch

    if x.device.type != "cpu":
        raise SparsimError(f"tensor is on {x.device}; move it to the CPU first (.cpu())", what)
    if x.layout != torch.strided:
        raise SparsimError(
            f"sparse tensor layout {x.layout} is not supported; use .to_dense()", what
        )
    x = x.detach().resolve_conj().resolve_neg()
    if x.dtype == torch.bfloat16:
        return x.view(torch.int16).numpy().view(np.uint16)
    return x.numpy()


def _dtype_name(x: Any) -> str:
    return str(x.dtype).removeprefix("torch.")


@dataclass(frozen=True)
class BitView:
    """The raw bits of an array and how to turn result bits back into the caller's type."""

    bits: np.ndarray
    magnitude_mask: np.unsignedinteger
    twos_complement_half: int
    wrap: Callable[[np.ndarray], Any]


def bit_view(x: Any, what: str = "x") -> BitView:
    check_array(x, what)
    name = _dtype_name(x)
    if name not in _FORMATS:
        raise SparsimError(f"dtype {name} is not supported; use {SUPPORTED_DTYPES}", what)
    bits_dtype, mask, half = _FORMATS[name]
    if is_torch(x):
        import torch

        torch_dtype = x.dtype
        bits = _torch_to_numpy(x, what).view(bits_dtype)
        signed = np.dtype(bits_dtype.__name__.removeprefix("u"))

        def wrap(result: np.ndarray) -> Any:
            if torch_dtype == torch.bfloat16:
                return torch.from_numpy(result.view(signed)).view(torch.bfloat16)
            return torch.from_numpy(result.view(np.dtype(name)))

    else:
        bits = x.view(bits_dtype)

        def wrap(result: np.ndarray) -> Any:
            return result.view(np.dtype(name))

    return BitView(bits, bits_dtype(mask), half, wrap)


def as_float64(x: Any, what: str = "x") -> np.ndarray:
    """Values as a float64 numpy array, for metrics."""
    check_array(x, what)
    if is_torch(x):
        import torch

        return _torch_to_numpy(x.to(torch.float64), what)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise SparsimError(f"dtype {x.dtype} is not numeric", what)
    return np.asarray(x, dtype=np.float64)


def like(x: Any, array: np.ndarray) -> Any:
    """``array`` (e.g. a mask) in the framework of ``x``."""
    if is_torch(x):
        import torch

        return torch.from_numpy(np.ascontiguousarray(array))
    return array
