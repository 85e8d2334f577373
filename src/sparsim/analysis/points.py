"""Numbers at density points: a float for one point, a numpy array (one entry per point)
for many. The sparse analysis and the cost model are written once over these: a single
evaluation stays in Python floats (numpy's per-call overhead on one-element arrays would
make it several times slower), a density sweep on one mapping runs as whole arrays.

Arithmetic works on both as is; these are the few other operations the model needs.
"""

from __future__ import annotations

import math

import numpy as np

Points = float | np.ndarray


def ones(count: int) -> Points:
    """1.0 at each of ``count`` points (a plain 1.0 for a single point)."""
    return 1.0 if count == 1 else np.ones(count)


def count(x: Points) -> int:
    """How many points ``x`` holds."""
    return x.size if isinstance(x, np.ndarray) else 1


def ceil(x: Points) -> Points:
    return np.ceil(x) if isinstance(x, np.ndarray) else math.ceil(x)


def floor(x: Points) -> Points:
    return np.floor(x) if isinstance(x, np.ndarray) else math.floor(x)


def minimum(a: Points, b: Points) -> Points:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.minimum(a, b)
    return min(a, b)


def maximum(a: Points, b: Points) -> Points:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.maximum(a, b)
    return max(a, b)


def where(condition, a: Points, b: Points) -> Points:
    """``a`` where ``condition`` holds, else ``b`` (both already computed)."""
    if isinstance(condition, np.ndarray):
        return np.where(condition, a, b)
    return a if condition else b


def nonzero(x: Points):
    """Whether ``x`` is nonzero at any point."""
    return x.any() if type(x) is np.ndarray else x != 0


def indices(condition) -> list[int]:
    """The points where ``condition`` holds."""
    if isinstance(condition, np.ndarray):
        return np.flatnonzero(condition).tolist()
    return [0] if condition else []


def at(x: Points, point: int) -> float:
    """``x`` at one point."""
    return x[point] if isinstance(x, np.ndarray) else x


def per_point(columns: list[Points], count: int) -> list[list[float]]:
    """Rows of values, one per point, from columns of numbers at the points."""
    if count == 1:  # plain numbers already
        return [list(columns)]
    zero = np.zeros(count)
    return np.stack([column + zero for column in columns]).T.tolist()
