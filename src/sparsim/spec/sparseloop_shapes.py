"""The shape of a Sparseloop case's YAML, checked before the importer reads it.

Timeloop's inputs are loose YAML: a scalar where a list belongs, a list where a mapping
belongs, ``.inf`` or ``true`` where a count belongs, ``keep: null``. The importer reads
them with plain lookups, so it first checks every key it will read against the schema
below and reports the first mismatch with its file and key path. Keys the importer never
reads (component libraries, ``arguments``, ...) are not checked.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from sparsim.errors import SpecError

_INTEGER_TEXT = re.compile(r"^\s*\d+\s*$")


class Leaf:
    """A value the importer converts (a name, an integer, a finite number, a list of names),
    described by ``kind`` in errors; only ``nullable`` ones may be null (read as absent)."""

    def __init__(self, kind: str, nullable: bool = False):
        self.kind = kind
        self.nullable = nullable


NAME = Leaf("name")
INTEGER = Leaf("integer")
NUMBER = Leaf("number")
ENERGY = Leaf("non-negative number")
TENSOR_NAMES = Leaf("tensor names")
NAME_LIST = Leaf("name list", nullable=True)
PERMUTATION = Leaf("permutation")
DENSITY = Leaf("density: a number, or a mapping with distribution and density")

_ATTRIBUTES = {
    key: INTEGER
    for key in (
        "datawidth",
        "word-bits",
        "data_storage_width",
        "width",
        "block_size",
        "block-size",
        "data_storage_depth",
        "depth",
        "metadata_storage_width",
        "metadata_storage_depth",
        "meshX",
        "meshY",
        "instances",
        "entries",
        "memory_depth",
        "sizeKB",
        "word_width",
        "n_words",
        "memory_width",
        "cluster-size",
        "metadata_datawidth",
    )
} | {
    key: NUMBER
    for key in (
        "read_bandwidth",
        "write_bandwidth",
        "shared_bandwidth",
        "bandwidth",
        "multiple-buffering",
        "vector-access-energy",
    )
}
_NODE: dict[str, Any] = {
    "name": NAME,
    "local": [{"name": NAME, "class": NAME, "attributes": _ATTRIBUTES}],
}
_NODE["subtree"] = [_NODE]
# Lists the importer requires are one-item tuples; the others ([...]) may be null or absent.

_RANKS = (
    {
        "format": NAME,
        "metadata-word-bits": INTEGER,
        "payload-word-bits": INTEGER,
        "flattened_rankIDs": [NAME_LIST],
        "flattened-rankIDs": [NAME_LIST],
    },
)
_CONDITIONED = {"target": NAME, "condition-on": NAME_LIST}
INPUTS_SCHEMA: dict[str, Any] = {
    "architecture": {"subtree": (_NODE,)},
    "problem": {
        "instance": {"densities": {"*": DENSITY}},
    },
    "sparse_optimizations": {
        "targets": [
            {
                "name": NAME,
                "representation-format": {"data-spaces": [{"name": NAME, "ranks": _RANKS}]},
                "action-optimization": [{"type": NAME, **_CONDITIONED, "options": [_CONDITIONED]}],
            }
        ]
    },
}
MAPPING_SCHEMA: dict[str, Any] = {
    "mapping": (
        {
            "target": NAME,
            "type": NAME,
            "factors": NAME,
            "permutation": PERMUTATION,
            "split": INTEGER,
            "keep": TENSOR_NAMES,
            "bypass": TENSOR_NAMES,
            "stream": TENSOR_NAMES,
        },
    )
}
ERT_SCHEMA: dict[str, Any] = {
    "ERT": {"tables": ({"name": NAME, "actions": ({"name": NAME, "energy": ENERGY},)},)}
}
ART_SCHEMA: dict[str, Any] = {"ART": {"tables": ({"name": NAME, "area": ENERGY},)}}


def check_shape(data: Any, schema: Any, where: Path, path: str = "") -> None:
    """Raise a SpecError at ``where: path`` for the first value that does not fit ``schema``:
    a dict of keys, a one-item list for "a list of" (null reads as empty), a one-item tuple
    for a list that must be there, or a :class:`Leaf`."""
    location = f"{where}: {path}" if path else str(where)
    if isinstance(schema, Leaf):
        _check_leaf(data, schema, location)
    elif isinstance(schema, list | tuple):
        if data is None and isinstance(schema, list):
            return  # the importer reads a missing or null list as empty
        if not isinstance(data, list):
            raise SpecError(f"expected a list, got {_describe(data)}", location)
        for i, item in enumerate(data):
            if item is None:
                raise SpecError("expected an entry, got null", f"{location}[{i}]")
            check_shape(item, schema[0], where, f"{path}[{i}]")
    elif data is not None:
        if not isinstance(data, dict):
            raise SpecError(f"expected a mapping of keys, got {_describe(data)}", location)
        for key, value in data.items():
            child = schema.get(key, schema.get("*"))
            if child is not None:
                check_shape(value, child, where, f"{path}.{key}" if path else str(key))


def _check_leaf(value: Any, leaf: Leaf, location: str) -> None:
    if value is None:
        if leaf.nullable:
            return
        raise SpecError(f"expected {leaf.kind}, got null", location)
    if isinstance(value, bool):
        raise SpecError(f"expected {leaf.kind}, got the boolean {str(value).lower()}", location)
    if leaf is NAME and not isinstance(value, str):
        raise SpecError(f"expected a name, got {_describe(value)}", location)
    if leaf is INTEGER and not (
        isinstance(value, int) or (isinstance(value, str) and _INTEGER_TEXT.match(value))
    ):
        raise SpecError(f"expected a non-negative integer, got {_describe(value)}", location)
    if leaf in (NUMBER, ENERGY):
        number = _number(value)
        if number is None or not math.isfinite(number) or (leaf is ENERGY and number < 0):
            raise SpecError(f"expected a finite {leaf.kind}, got {_describe(value)}", location)
    if leaf in (TENSOR_NAMES, NAME_LIST) and (
        not isinstance(value, list) or not all(isinstance(v, str) for v in value)
    ):
        raise SpecError(f"expected a list of names, got {_describe(value)}", location)
    if leaf is DENSITY:
        if isinstance(value, dict):
            check_shape(value, {"distribution": NAME, "density": NUMBER}, Path(location), "")
            return
        number = _number(value)
        if number is None or not math.isfinite(number):
            raise SpecError(f"expected {leaf.kind}, got {_describe(value)}", location)
    if leaf is PERMUTATION and not isinstance(value, str):
        raise SpecError(f"expected dimension letters such as MNK, got {_describe(value)}", location)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"
