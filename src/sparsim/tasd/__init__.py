"""TASD: approximate a tensor by a series of N:M structured tensors plus a residual.

``x = term_1[N1:M1] + term_2[N2:M2] + ... + residual``; in N:M, N is the number of
elements KEPT in every block of M. See ``docs/tasd.md``.

>>> import numpy as np
>>> from sparsim.tasd import decompose
>>> d = decompose(np.array([[4.0, -1.0, 3.0, 2.0]]), "2:4+1:4")
>>> [t.tolist() for t in d.terms], d.residual.tolist()
([[[4.0, 0.0, 3.0, 0.0]], [[0.0, 0.0, 0.0, 2.0]]], [[0.0, -1.0, 0.0, 0.0]])
"""

from sparsim.tasd.decompose import (
    BlockLayout,
    CompressedTerm,
    Decomposition,
    decompose,
)
from sparsim.tasd.hardware import (
    Hardware,
    RealisedSeries,
    builtin_hardware,
    get_hardware,
    hardware_names,
)
from sparsim.tasd.metrics import (
    TasdMetrics,
    dropped_nonzeros,
    effective_density,
    evaluate,
    expected_dropped_nonzeros,
    kept_magnitude,
    mac_reduction_vs_dense,
    mac_reduction_vs_unstructured,
    mse,
    nonzero_density,
    relative_error,
    relative_matmul_error,
)
from sparsim.tasd.prune import (
    PruneResult,
    block_prune,
    channel_prune,
    global_magnitude_prune,
    magnitude_prune,
    nm_prune,
)
from sparsim.tasd.series import DEFAULT_MAX_TERMS, Pattern, Series, parse_series

__all__ = [
    "DEFAULT_MAX_TERMS",
    "BlockLayout",
    "CompressedTerm",
    "Decomposition",
    "Hardware",
    "Pattern",
    "PruneResult",
    "RealisedSeries",
    "Series",
    "TasdMetrics",
    "block_prune",
    "builtin_hardware",
    "channel_prune",
    "decompose",
    "dropped_nonzeros",
    "effective_density",
    "evaluate",
    "expected_dropped_nonzeros",
    "get_hardware",
    "global_magnitude_prune",
    "hardware_names",
    "kept_magnitude",
    "mac_reduction_vs_dense",
    "mac_reduction_vs_unstructured",
    "magnitude_prune",
    "mse",
    "nm_prune",
    "nonzero_density",
    "parse_series",
    "relative_error",
    "relative_matmul_error",
]
