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
    "Compressed formats name how the nonzeros of a tensor's innermost ranks are found: "
    "coordinates (each nonzero's offset), a bitmask (one bit per position) or run lengths; "
    "the outer ranks of a tile stay uncompressed. Skipping: the access or MAC is not made "
    "(and takes no cycle); gating: it takes its cycle at idle energy; the PE array compacts "
    "skipped work when the design says so."
)
# Sparseloop's rank formats in words.
FORMAT_WORDS = {
    "CP": "coordinates",
    "B": "bitmask",
    "RLE": "run lengths",
    "UB": "uncompressed bitmask",
    "UOP": "uncompressed",
}
# Sparseloop's sparse actions in words.
ACTION_WORDS = {
    "skipping": "skips",
    "skipping-spatial": "skips, compacting the PE array,",
    "position-skipping": "maps only the nonzero positions of",
    "gating": "gates",
}


ROLE_WORDS = {"weights": "weights", "inputs": "input activations", "outputs": "outputs"}


def _tensor(spec: Spec, name: str) -> str:
    """``A`` -> ``weights``: the tensor's role in the problem (its name when it has none)."""
    role = spec.problem.shape.data_space(name).role
    return ROLE_WORDS[role] if role else name


def _formats(ranks) -> str:
    """A tensor's compressed format in words: its compressed ranks (the uncompressed outer
    ranks of a tile are left unsaid)."""
    compressed = list(dict.fromkeys(FORMAT_WORDS.get(rank.format, rank.format) for rank in ranks))
    compressed = [name for name in compressed if name != "uncompressed"]
    return " and ".join(compressed) if compressed else "uncompressed"


def sparse_features(spec: Spec) -> str:
    """The spec's sparse optimizations in words: per level, each tensor's compressed
    format and what is skipped or gated on whose zeros."""
    levels: dict[str, list[str]] = {}
    for optimization in spec.sparse_optimizations:
        items = levels.setdefault(optimization.level, [])
        for tensor, ranks in optimization.formats.items():
            items.append(f"{_tensor(spec, tensor)} as {_formats(ranks)}")
        for action in optimization.actions:
            whose = (
                "when " + " or ".join(_tensor(spec, t) for t in action.condition_on) + " are zero"
                if action.condition_on
                else ""
            )
            verb = ACTION_WORDS.get(action.type, action.type)
            items.append(f"{verb} {_tensor(spec, action.target)} {whose}".rstrip())
    parts = [f"{level}: {', '.join(items)}" for level, items in levels.items() if items]
    return "; ".join(parts) if parts else "none (dense)"


def design_table(specs: Mapping[str, tuple[Spec, str]]) -> pd.DataFrame:
    """One row per design: ``specs`` maps a design's title to (a spec built from it, its
    dataflow)."""
    return pd.DataFrame(
        [
            {
                "design": title,
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
    return {f"Hardware of {', '.join(users[name])}": tables[name] for name in tables}
