"""sparsim's typed errors: one small hierarchy, so callers catch exactly what they mean.

Every error carries ``where`` (a file and key path such as ``"case/map.yaml:
mapping[3].factors"``, or a CLI option), printed before the message so the user knows
exactly what to fix; the CLI turns any of them into one line and exit code 2.
"""

from __future__ import annotations

import errno

# Write errors that mean "the disk (or the quota, or the file size limit) is full": never
# an error of the input, so anywhere inside an output they are the output's error.
FULL_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class SparsimError(Exception):
    """Bad input or an impossible request; the message names the offending file, key or value."""

    def __init__(self, message: str, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)

    def located(self, where: str) -> SparsimError:
        """The same error (same type) with an outer location (e.g. a file name) prepended."""
        inner = f"{where}: {self.where}" if self.where else where
        return type(self)(self.message, inner)


class SpecError(SparsimError):
    """Malformed input: unreadable file, wrong type, missing key, value out of range."""


class UnknownNameError(SpecError):
    """A name that does not exist: design, level, tensor, dimension, action, option value."""


class MissingEnergyError(SpecError):
    """A level or action has no energy (and no documented fallback gives one)."""


class OutputError(SpecError):
    """An output that cannot be written where asked: a directory, device, FIFO or socket at
    the path, no permission, a full disk."""


class MappingError(SparsimError):
    """A mapping that is invalid for its architecture or workload (factors, fan-out)."""


class CapacityError(MappingError):
    """Tiles do not fit a level's data or metadata capacity: "does not fit".

    Searches that skip candidates which do not fit catch exactly this, never a
    :class:`SparsimError`, so a bad input is never mistaken for a candidate that does not fit.
    ``level`` names the level that overflows (a search can drop every candidate sharing
    the tiles that overflowed it).
    """

    def __init__(self, message: str, where: str | None = None, level: str | None = None):
        super().__init__(message, where)
        self.level = level


class NoValidMappingError(MappingError):
    """A mapspace (after its constraints) holds no mapping that fits."""


class ResourceLimitError(SparsimError):
    """A valid input beyond sparsim's documented size limits (dimensions, bits, memory)."""


class StoreError(SparsimError):
    """A results store that belongs to another sweep config or run, or that is damaged."""


class WorkerLostError(SparsimError):
    """A worker process, or a Dask scheduler or worker, was lost mid-run: what was written
    is kept (a sweep's store resumes on a rerun)."""
