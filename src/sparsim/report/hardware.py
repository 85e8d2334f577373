"""'What was modelled', generated from the specs a study evaluated, never written by hand:
one table per distinct architecture (levels outermost first, then the MACs) and one row
per design with its dataflow and sparse features."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from sparsim.spec.architecture import Architecture, StorageLevel
from sparsim.spec.model import Spec


def _capacity(level: StorageLevel) -> str:
    if level.data_capacity is None:
        return "unbounded"
    size = level.data_capacity * level.word_bits / 8
    words = f"{level.data_capacity:,} word{'s' if level.data_capacity != 1 else ''}"
    return f"{words} ({size / 1024:,.3g} KiB)" if size >= 1024 else f"{words} ({size:g} B)"


def _bandwidth(value: float | None) -> str:
    return "unbounded" if value is None else f"{value:g}"


def level_table(architecture: Architecture) -> pd.DataFrame:
    """One row per storage level (outermost first) and one for the MACs: instances,
    capacity per instance, words per access, bandwidths (words per cycle per instance) and
    energies (pJ per access of one block)."""
    rows = []
    for level in architecture.levels:
        energy = level.energy
        rows.append(
            {
                "level": level.name,
                "instances": level.instances,
                "capacity per instance": _capacity(level),
                "words per access": level.block_size,
                "read bandwidth (words/cycle)": _bandwidth(level.read_bandwidth),
                "write bandwidth (words/cycle)": _bandwidth(level.write_bandwidth),
                "read pJ": energy.resolved["random_read"],
                "write pJ": energy.resolved["random_fill"],
                "metadata read pJ": energy.resolved["random_metadata_read"],
            }
        )
    compute = architecture.compute
    rows.append(
        {
            "level": compute.name,
            "instances": compute.instances,
            "capacity per instance": "-",
            "words per access": 1,
            "read bandwidth (words/cycle)": "1 MAC/cycle",
            "write bandwidth (words/cycle)": "-",
            "read pJ": compute.energy.random,
            "write pJ": float("nan"),
            "metadata read pJ": float("nan"),
        }
    )
    return pd.DataFrame(rows)


FORMATS_NOTE = (
    "Formats per rank, outermost first (Sparseloop's names): UOP uncompressed offset pairs, "
    "CP coordinate payload, B bitmask, RLE run lengths, UB uncompressed; (xN): N such ranks. "
    "Skipping: the access is not made; skipping-spatial: also compacts the PEs below; "
    "position-skipping: only nonzero positions are mapped onto the array; gating: the "
    "access takes its cycle at idle energy."
)


ROLE_WORDS = {"weights": "weights", "inputs": "input activations", "outputs": "outputs"}


def _tensor(spec: Spec, name: str) -> str:
    """``A`` -> ``weights (A)``: the tensor's role in the problem, then its name."""
    role = spec.problem.shape.data_space(name).role
    return f"{ROLE_WORDS[role]} ({name})" if role else name


def _formats(ranks) -> str:
    """Rank formats outermost first, runs folded: ``UOP-UOP-UOP-CP`` -> ``UOP(x3)-CP``."""
    runs: list[list] = []
    for rank in ranks:
        if runs and runs[-1][0] == rank.format:
            runs[-1][1] += 1
        else:
            runs.append([rank.format, 1])
    return "-".join(f"{name}(x{count})" if count > 1 else name for name, count in runs)


def sparse_features(spec: Spec) -> str:
    """The spec's sparse optimizations in words: per level, each tensor's compressed
    format (rank formats, outermost first) and what is skipped or gated on whose zeros."""
    parts = []
    for optimization in spec.sparse_optimizations:
        for tensor, ranks in optimization.formats.items():
            parts.append(f"{optimization.level}: {_tensor(spec, tensor)} in {_formats(ranks)}")
        for action in optimization.actions:
            whose = (
                "zeros of " + " and ".join(_tensor(spec, t) for t in action.condition_on)
                if action.condition_on
                else "its own zeros"
            )
            target = _tensor(spec, action.target)
            parts.append(f"{optimization.level}: {action.type} {target} on {whose}")
    return "; ".join(parts) if parts else "none (dense)"


def design_table(specs: Mapping[str, tuple[Spec, str]]) -> pd.DataFrame:
    """One row per design: ``specs`` maps a design's title to (a spec built from it, its
    dataflow)."""
    return pd.DataFrame(
        [
            {
                "design": title,
                "hardware": spec.architecture.name,
                "MACs": spec.architecture.compute.instances,
                "dataflow": dataflow,
                "sparse features (as built on a sparse layer)": sparse_features(spec),
            }
            for title, (spec, dataflow) in specs.items()
        ]
    )


def architectures(specs: Mapping[str, tuple[Spec, str]]) -> dict[str, pd.DataFrame]:
    """Each distinct architecture once, titled by the designs that use it."""
    users: dict[str, list[str]] = {}
    tables: dict[str, pd.DataFrame] = {}
    for title, (spec, _) in specs.items():
        name = spec.architecture.name
        users.setdefault(name, []).append(title)
        tables.setdefault(name, level_table(spec.architecture))
    return {f"{name} hardware ({', '.join(users[name])})": tables[name] for name in tables}
