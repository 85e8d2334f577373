"""Layer tables: a network as an ordered list of GEMM workloads plus what was measured on them.

A :class:`LayerTable` is what the rest of sparsim consumes: each row is one layer call,
its workload in sparsim's spec (``Conv`` or ``Gemm``, see :mod:`sparsim.spec.workload`)
and, when the table was extracted from a real model, the measured densities of its
weights (tensor ``A``) and input activations (tensor ``B``).

Two file formats:

* YAML: a plain list of workloads, exactly what :mod:`sparsim.spec.workload` validates
  (so any tool that reads sparsim workloads reads it); measurements are not in it.
* CSV: one row per layer with the workload's fields, its GEMM shape, dense MACs and the
  measurements; it loads back into the same table.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from sparsim.errors import SparsimError
from sparsim.io import atomic_write_text, load_yaml, read_text
from sparsim.spec.validation import validate
from sparsim.spec.workload import Conv, Gemm

Op = Literal["conv2d", "linear", "matmul"]
OPS: tuple[str, ...] = ("conv2d", "linear", "matmul")
SPEC_MODELS: dict[str, type[Conv] | type[Gemm]] = {"conv": Conv, "gemm": Gemm}


@dataclass(frozen=True)
class LayerWorkload:
    """One layer call: its workload and, when measured, the densities of A and B.

    ``op`` is ``conv2d`` or ``linear`` for layers with weights; ``matmul`` marks a product
    of two activations (attention scores and context), whose ``A`` is not a weight.
    Densities are fractions of nonzero entries; ``*_p99`` are the 99th percentile over the
    calibration samples (a provisioning figure: 1% of inputs are denser). The
    pseudo-density is the smallest fraction of entries that holds ``pseudo_density_mass``
    of the magnitude sum, for activations without exact zeros (GELU, Swish).
    """

    workload: Conv | Gemm
    op: Op
    weight_density: float | None = None
    input_density: float | None = None
    input_density_p99: float | None = None
    input_pseudo_density: float | None = None
    input_pseudo_density_p99: float | None = None
    samples: int = 0

    @property
    def name(self) -> str:
        return self.workload.name

    @property
    def gemm(self) -> Gemm:
        return self.workload.as_gemm()

    @property
    def macs(self) -> int:
        return self.workload.macs


MEASUREMENTS = tuple(f.name for f in fields(LayerWorkload) if f.name not in ("workload", "op"))
GEMM_COLUMNS = ("M", "N", "K", "count", "macs")
CONV_ONLY = tuple(f for f in Conv.model_fields if f not in ("kind", "name"))
CSV_COLUMNS = ("name", "op", "kind", *GEMM_COLUMNS, *CONV_ONLY, *MEASUREMENTS)


@dataclass(frozen=True)
class LayerTable(Sequence[LayerWorkload]):
    """An ordered, immutable list of layers; index by position or by layer name."""

    layers: tuple[LayerWorkload, ...]
    source: str = ""
    pseudo_density_mass: float = 0.99

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for layer in self.layers:
            if layer.name in seen:
                raise SparsimError(f"duplicate layer name {layer.name!r}", self.source or None)
            seen.add(layer.name)

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[LayerWorkload]:
        return iter(self.layers)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            for layer in self.layers:
                if layer.name == key:
                    return layer
            raise SparsimError(f"unknown layer name {key!r}", self.source or None)
        if isinstance(key, slice):
            return LayerTable(self.layers[key], self.source, self.pseudo_density_mass)
        return self.layers[key]

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    @property
    def macs(self) -> int:
        """Dense MACs of the whole table."""
        return sum(layer.macs for layer in self.layers)

    @property
    def workloads(self) -> list[Conv | Gemm]:
        return [layer.workload for layer in self.layers]

    def select(self, op: str) -> LayerTable:
        """Only the layers of one kind (``conv2d``, ``linear`` or ``matmul``)."""
        if op not in OPS:
            raise SparsimError(f"unknown op {op!r}; expected one of {', '.join(OPS)}")
        return LayerTable(
            tuple(layer for layer in self.layers if layer.op == op),
            self.source,
            self.pseudo_density_mass,
        )

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per layer with every CSV column (missing values are None)."""
        rows = []
        for layer in self.layers:
            gemm = layer.gemm
            row: dict[str, Any] = dict.fromkeys(CSV_COLUMNS)
            row.update(name=layer.name, op=layer.op, kind=layer.workload.kind)
            row.update(M=gemm.M, N=gemm.N, K=gemm.K, count=gemm.count, macs=gemm.macs)
            if isinstance(layer.workload, Conv):
                row.update({key: getattr(layer.workload, key) for key in CONV_ONLY})
            row.update({key: getattr(layer, key) for key in MEASUREMENTS})
            rows.append(row)
        return rows

    def to_yaml(self) -> str:
        return yaml.safe_dump(
            [w.model_dump() for w in self.workloads], sort_keys=False, default_flow_style=None
        )

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in self.rows():
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        return buffer.getvalue()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``.yaml``/``.yml`` (workload spec) or ``.csv`` (with measurements)."""
        path = Path(path)
        writers = {".yaml": self.to_yaml, ".yml": self.to_yaml, ".csv": self.to_csv}
        if path.suffix.lower() not in writers:
            raise SparsimError("expected a .yaml, .yml or .csv file name", str(path))
        atomic_write_text(path, writers[path.suffix.lower()]())
        return path


def load_table(path: str | os.PathLike[str]) -> LayerTable:
    """Read a table written by :meth:`LayerTable.save` (or a hand-written workload list)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _table_from_yaml(path)
    if suffix == ".csv":
        return _table_from_csv(path)
    raise SparsimError("expected a .yaml, .yml or .csv file", str(path))


def parse_workload(entry: Any, where: str, sep: str = ".") -> Conv | Gemm:
    """Validate one workload mapping; errors name ``where``, ``sep`` and the offending key."""
    if not isinstance(entry, dict):
        raise SparsimError("expected a mapping with kind: gemm or kind: conv", where)
    kind = entry.get("kind", "gemm")
    if kind not in SPEC_MODELS:
        raise SparsimError(f"unknown kind {kind!r}; expected gemm or conv", f"{where}{sep}kind")
    try:
        return validate(SPEC_MODELS[kind], entry)
    except SparsimError as exc:  # keep its type: a size limit stays a ResourceLimitError
        raise type(exc)(exc.message, f"{where}{sep}{exc.where}" if exc.where else where) from None


def _table_from_yaml(path: Path) -> LayerTable:
    data = load_yaml(path)
    if not isinstance(data, list) or not data:
        raise SparsimError("expected a non-empty list of workloads", str(path))
    workloads = [parse_workload(entry, f"{path}: [{i}]") for i, entry in enumerate(data)]
    layers = tuple(
        LayerWorkload(w, "conv2d" if isinstance(w, Conv) else "linear") for w in workloads
    )
    return LayerTable(layers, str(path))


def _table_from_csv(path: Path) -> LayerTable:
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c for c in ("name", "op", "kind", "M", "N", "K") if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise SparsimError(f"missing column {missing[0]!r}", str(path))
    layers = []
    for line, row in enumerate(reader, start=2):
        where = f"{path}:{line}"
        if row["op"] not in OPS:
            raise SparsimError(f"unknown op {row['op']!r}; expected one of {', '.join(OPS)}", where)
        keys = ("name", *CONV_ONLY) if row["kind"] == "conv" else ("name", "M", "N", "K", "count")
        entry = {k: row[k] for k in keys if row.get(k) not in (None, "")}
        workload = parse_workload({"kind": row["kind"], **entry}, where, ": ")
        gemm = workload.as_gemm()
        for dim in ("M", "N", "K") if row["kind"] == "conv" else ():
            if row[dim] != str(getattr(gemm, dim)):
                raise SparsimError(
                    f"{dim}={row[dim]!r} does not match the conv's lowering ({getattr(gemm, dim)})",
                    where,
                )
        measured = {k: _number(row.get(k), k, where) for k in MEASUREMENTS}
        measured["samples"] = int(measured["samples"] or 0)
        layers.append(LayerWorkload(workload, row["op"], **measured))  # type: ignore[arg-type]
    if not layers:
        raise SparsimError("no layers in the file", str(path))
    return LayerTable(tuple(layers), str(path))


def _number(text: str | None, key: str, where: str) -> float | None:
    if text in (None, ""):
        return None
    try:
        value = float(text)
    except ValueError:
        raise SparsimError(f"expected a number, got {text!r}", f"{where}: {key}") from None
    upper = math.inf if key == "samples" else 1.0
    if not 0.0 <= value <= upper:
        bounds = "a non-negative count" if key == "samples" else "a density in [0, 1]"
        raise SparsimError(f"expected {bounds}, got {text!r}", f"{where}: {key}")
    return value
