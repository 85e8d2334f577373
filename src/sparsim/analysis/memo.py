"""A bounded memo for the analysis's pure functions: a mapping search or a sweep asks for
the same tile, layout or mapping many times in a row (candidates share their inner
levels, density points share their mapping). Full, it forgets everything at once: the
candidates of long ago share little with the next ones, and a clear costs nothing."""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Values by key, at most ``size`` of them."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def put(self, key: K, value: V) -> V:
        """Remember ``value`` (emptying the memo first when it is full); returns it."""
        if len(self._values) >= self._size:
            self._values.clear()
        self._values[key] = value
        return value

    def clear(self) -> None:
        self._values.clear()
