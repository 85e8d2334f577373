"""Reading Sparseloop's ``timeloop-model.stats.txt`` so sparsim's numbers can be checked against it.

Only what calibration needs is parsed: the summary (cycles, energy), the compute level's
computes and, per storage level and tensor, the action counts and energy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sparsim.errors import SparsimError

_LEVEL_HEADER = re.compile(r"^Level \d+\n-+\n=== (\S+) ===", re.M)
_FIELD = re.compile(r"^\s+([A-Za-z][^:\n]*?)\s*:\s*([-\d.e+]+)", re.M)
_TENSOR_BLOCK = re.compile(r"^    (\w+):\n((?:        .*\n|            .*\n)+)", re.M)
_FORMAT_RANK = re.compile(r"Rank (\d+) \(metadata, payload\): \(\s*([\d.]+),\s*([\d.]+)\)")


@dataclass(frozen=True)
class TensorStats:
    fields: dict[str, float]
    # Per-rank (metadata, payload) units for the "Actual scalar format reads/fills/updates" rows.
    format_actions: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    @property
    def energy_pJ(self) -> float:
        return self.fields.get("Energy (total)", 0.0)


@dataclass(frozen=True)
class LevelStats:
    name: str
    fields: dict[str, float]
    tensors: dict[str, TensorStats]

    @property
    def energy_pJ(self) -> float:
        if self.tensors:
            return sum(t.energy_pJ for t in self.tensors.values())
        return self.fields.get("Energy (total)", 0.0)


@dataclass(frozen=True)
class SparseloopStats:
    cycles: float
    energy_uJ: float
    levels: dict[str, LevelStats]

    @property
    def compute(self) -> LevelStats:
        return next(iter(self.levels.values()))


def _format_actions(block: str) -> dict[str, list[tuple[float, float]]]:
    actions: dict[str, list[tuple[float, float]]] = {}
    for kind in ("reads", "fills", "updates"):
        match = re.search(
            rf"Actual scalar format {kind} \(per-instance\)\s*\n((?:\s+Rank .*\n)+)", block
        )
        if match:
            ranks = sorted(
                (int(r), float(m), float(p)) for r, m, p in _FORMAT_RANK.findall(match.group(1))
            )
            actions[kind] = [(m, p) for _, m, p in ranks]
    return actions


def parse_stats(path: str | Path) -> SparseloopStats:
    """Parse a Sparseloop/Timeloop model stats file."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SparsimError("file not found", str(path)) from None
    body, _, summary = text.partition("Summary Stats")
    body = body.split("\nNetworks\n")[0]
    headers = list(_LEVEL_HEADER.finditer(body))
    if not headers or not summary:
        raise SparsimError("not a Timeloop model stats file", str(path))
    levels: dict[str, LevelStats] = {}
    for header, nxt in zip(headers, [*headers[1:], None], strict=True):
        chunk = body[header.end() : nxt.start() if nxt else len(body)]
        stats_part = chunk.split("STATS\n", 1)[-1]
        tensors = {}
        for match in _TENSOR_BLOCK.finditer(stats_part):
            block = match.group(2)
            tensors[match.group(1)] = TensorStats(
                fields={k: float(v) for k, v in _FIELD.findall(block)},
                format_actions=_format_actions(block),
            )
        level_fields = {k: float(v) for k, v in _FIELD.findall(stats_part.split("\n    A:")[0])}
        levels[header.group(1)] = LevelStats(header.group(1), level_fields, tensors)
    summary_fields = dict(re.findall(r"^(Cycles|Energy): ([\d.e+]+)", summary, re.M))
    return SparseloopStats(
        cycles=float(summary_fields["Cycles"]),
        energy_uJ=float(summary_fields["Energy"]),
        levels=levels,
    )
