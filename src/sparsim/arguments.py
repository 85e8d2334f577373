"""Checks of the Python API's arguments at the door: a wrong type or value is a typed
:class:`~sparsim.errors.SparsimError` naming the argument, never an AttributeError or
TypeError from deep inside.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sparsim.errors import SpecError


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def path_argument(value: Any, name: str) -> Path:
    """A file or folder name: ``str`` or ``os.PathLike`` only, not empty."""
    if not isinstance(value, str | os.PathLike):
        raise SpecError(f"expected a file name (str or os.PathLike), got {_kind(value)}", name)
    text = os.fspath(value)
    if not isinstance(text, str) or not text.strip():
        raise SpecError(f"expected a file name, got {text!r}", name)
    if "\0" in text:
        raise SpecError("a file name cannot hold a NUL character", name)
    return Path(text)


def integer_argument(value: Any, name: str, minimum: int | None = None) -> int:
    """An integer (not a bool, not a float), at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"expected an integer, got {value!r}", name)
    if minimum is not None and value < minimum:
        raise SpecError(f"must be at least {minimum}, got {value}", name)
    return value


def number_argument(
    value: Any, name: str, *, positive: bool = False, optional: bool = False
) -> float | None:
    """A finite real number (not a bool), positive if asked; None where ``optional``."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"expected a number, got {value!r}", name)
    if not math.isfinite(value) or (positive and value <= 0):
        raise SpecError(
            f"expected a {'positive ' if positive else ''}finite number, got {value}", name
        )
    return float(value)


def bool_argument(value: Any, name: str, optional: bool = False) -> bool | None:
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        raise SpecError(f"expected True or False, got {value!r}", name)
    return value


def text_argument(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"expected a non-empty string, got {value!r}", name)
    return value


def mapping_argument(value: Any, name: str, example: str) -> Mapping[Any, Any]:
    """A mapping (``dict``); None is an empty one."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(f"expected a mapping such as {example}, got {_kind(value)}", name)
    return value
