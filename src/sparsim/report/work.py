"""Effectual and ineffectual work: why a design is faster or more efficient.

Following the decomposition of Sze, Chen, Yang and Emer (*Efficient Processing of Deep
Neural Networks*, 2020; MIT 6.5940's "operations per second" and "per joule" breakdowns),
the dense-equivalent throughput of a design on a workload splits into three factors::

    algorithmic / cycle = performed / cycle  x  effectual / performed  x  1 / (effectual / algorithmic)
    algorithmic / joule = performed / joule  x  effectual / performed  x  1 / (effectual / algorithmic)

* *algorithmic*: the MACs of the dense computation (what a dense core performs);
* *effectual*: the MACs whose operands are both nonzero in the tensors the design runs;
* *performed*: the MACs the hardware spends a cycle on (skipped ones excluded; padded and
  zero-valued ones included).

The first factor is how fast (or cheaply) a design does any operation, the second how
little ineffectual work it does, the third is the workload's own sparsity (the same for
every design that runs the same tensors). A design wins by skipping more (second factor)
or by doing each operation faster or cheaper (first factor); the table says which.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sparsim.errors import SparsimError

INPUTS = ("algorithmic", "effectual", "performed", "cycles", "energy_uJ")
OUTPUTS = (
    "performed_per_cycle",
    "performed_per_nJ",
    "effectual_per_performed",
    "effectual_per_algorithmic",
    "algorithmic_per_cycle",
    "algorithmic_per_nJ",
)


def work_decomposition(frame: pd.DataFrame, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """``frame`` with the factors of the decomposition added (:data:`OUTPUTS`).

    ``columns`` maps the inputs (:data:`INPUTS`: MAC counts, cycles, energy in uJ) to
    ``frame``'s column names when they differ. Every row needs positive counts."""
    names = {key: key for key in INPUTS} | (columns or {})
    missing = [names[key] for key in INPUTS if names[key] not in frame.columns]
    if missing:
        raise SparsimError(f"no column {missing[0]!r}", "work decomposition")
    values = {key: frame[names[key]].to_numpy(dtype=float) for key in INPUTS}
    bad = [key for key, column in values.items() if not np.all(column > 0)]
    if bad:
        raise SparsimError(f"needs positive values in {names[bad[0]]!r}", "work decomposition")
    nanojoules = values["energy_uJ"] * 1e3
    out = frame.copy()
    out["performed_per_cycle"] = values["performed"] / values["cycles"]
    out["performed_per_nJ"] = values["performed"] / nanojoules
    out["effectual_per_performed"] = values["effectual"] / values["performed"]
    out["effectual_per_algorithmic"] = values["effectual"] / values["algorithmic"]
    out["algorithmic_per_cycle"] = values["algorithmic"] / values["cycles"]
    out["algorithmic_per_nJ"] = values["algorithmic"] / nanojoules
    return out
