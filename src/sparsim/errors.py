"""One exception type for bad input, so the CLI can turn any of them into one clear line."""

from __future__ import annotations


class SparsimError(Exception):
    """Bad input or an impossible request; the message names the offending file, key or value.

    ``where`` is a location such as ``"case/map.yaml: mapping[3].factors"``; it is printed
    before the message so the user knows exactly what to fix.
    """

    def __init__(self, message: str, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)

    def located(self, where: str) -> SparsimError:
        """The same error with an outer location (e.g. a file name) prepended."""
        inner = f"{where}: {self.where}" if self.where else where
        return type(self)(self.message, inner)
