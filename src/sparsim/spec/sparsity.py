"""Per-tensor density models: how many nonzeros a tile of a given size holds.

* ``dense``: every element is nonzero;
* ``fixed-structured``: N:M structure, every tile of at least M elements holds exactly
  ``density`` of them (Sparseloop's fixed-structured model);
* ``hypergeometric``: ``ceil(density * size)`` nonzeros spread uniformly over the tensor
  (tiles drawn without replacement);
* ``uniform``: every element independently nonzero with probability ``density`` (binomial);
* ``measured``: the nonzero mask of a real tensor (a ``.npy`` file or an array), whose tile
  occupancies are counted directly.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from sparsim.errors import SpecError
from sparsim.io import input_file
from sparsim.limits import MAX_FILE_BYTES, check_elements
from sparsim.spec.validation import Checked, Count

Distribution = Literal["dense", "fixed-structured", "hypergeometric", "uniform", "measured"]
_NM = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")


class TensorDensity(Checked):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    distribution: Distribution = "dense"
    density: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    n: Count | None = Field(None, description="kept elements per block (N of N:M)")
    m: Count | None = Field(None, description="block size (M of N:M)")
    measured: str | None = Field(
        None,
        description=".npy file of the real tensor, or a .txt of Timeloop's real-data mask (one "
        "0/1 per element, the first rank fastest)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> TensorDensity:
        if self.distribution == "dense" and self.density != 1.0:
            raise ValueError("a dense tensor has density 1.0")
        if (self.n is None) != (self.m is None):
            raise ValueError("give both n and m of an N:M pattern")
        if self.n is not None:
            if not 1 <= self.n <= self.m:  # type: ignore[operator]
                raise ValueError(f"N:M needs 1 <= N <= M (N = kept), got {self.n}:{self.m}")
            if abs(self.n / self.m - self.density) > 1e-9:  # type: ignore[operator]
                raise ValueError(f"density {self.density} differs from {self.n}:{self.m}")
        if self.distribution == "measured" and self.measured is None:
            raise ValueError("a measured density needs 'measured': path to a .npy tensor")
        return self

    def load_mask(self) -> np.ndarray:
        """The measured tensor's nonzero mask (only for ``measured``); read once per file
        version, as every candidate mapping of a search checks it."""
        assert self.measured is not None
        path = Path(self.measured)
        try:
            input_file(path, MAX_FILE_BYTES)  # a FIFO or device is never opened
        except SpecError as exc:
            raise SpecError(f"cannot load tensor ({exc.message})", self.measured) from None
        stat = path.stat()
        return _nonzero_mask(path, stat.st_mtime_ns, stat.st_size)


TIMELOOP_MASK_SUFFIX = ".txt"


def in_timeloop_order(path: str) -> bool:
    """Whether a measured tensor is a Timeloop real-data mask (one 0/1 character per element,
    the first rank fastest) rather than a row-major ``.npy`` tensor."""
    return path.endswith(TIMELOOP_MASK_SUFFIX)


@functools.lru_cache(maxsize=16)
def _nonzero_mask(path: Path, mtime_ns: int, size: int) -> np.ndarray:
    """A real tensor's nonzero mask, read-only; ``mtime_ns`` and ``size`` key the cache."""
    where = str(path)
    if in_timeloop_order(where):
        characters = np.frombuffer(path.read_bytes(), dtype=np.uint8)
        characters = characters[~np.isin(characters, list(b" \t\r\n"))]
        if characters.size == 0 or not np.isin(characters, list(b"01")).all():
            raise SpecError("expected one 0 or 1 per element (Timeloop's real-data mask)", where)
        mask = characters == ord("1")
        mask.flags.writeable = False
        return mask
    try:
        tensor = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise SpecError(f"cannot load tensor ({exc})", where) from None
    if not isinstance(tensor, np.ndarray):
        raise SpecError("holds several arrays (.npz), expected one .npy tensor", where)
    if tensor.dtype.kind not in "biuf":
        raise SpecError(f"expected a numeric tensor, got dtype {tensor.dtype}", where)
    if tensor.ndim < 1 or tensor.size == 0:
        raise SpecError(f"expected a tensor with elements, got shape {tensor.shape}", where)
    check_elements(tensor.shape, where)
    if tensor.dtype.kind == "f" and not np.isfinite(tensor).all():
        raise SpecError("holds NaN or infinite values", where)
    mask = np.asarray(tensor != 0)
    mask.flags.writeable = False
    return mask


def parse_density(text: str | float, key: str = "density") -> TensorDensity:
    """CLI shorthand: ``"2:4"`` (N:M kept of block), ``"0.82"`` (hypergeometric), ``"dense"``,
    ``"uniform:0.3"``, or a ``.npy`` path (measured)."""
    if isinstance(text, int | float):
        text = str(text)
    text = text.strip()
    if text.lower() == "dense" or text == "1" or text == "1.0":
        return TensorDensity()
    if match := _NM.match(text):
        n, m = int(match.group(1)), int(match.group(2))
        if not (1 <= n <= m):
            raise SpecError(f"N:M needs 1 <= N <= M (N = kept elements), got {text!r}", key)
        return TensorDensity(distribution="fixed-structured", density=n / m, n=n, m=m)
    if text.endswith(".npy"):
        mask = TensorDensity(distribution="measured", density=0.0, measured=text).load_mask()
        return TensorDensity(distribution="measured", density=float(mask.mean()), measured=text)
    dist, _, value = text.rpartition(":")
    try:
        density = float(value)
    except ValueError:
        raise SpecError(
            f"expected N:M, a density in [0, 1], 'dense' or a .npy file, got {text!r}", key
        ) from None
    if not 0.0 <= density <= 1.0:
        raise SpecError(f"density must be in [0, 1], got {density}", key)
    if density == 1.0:
        return TensorDensity()
    distribution = dist or "hypergeometric"
    if distribution not in ("hypergeometric", "uniform", "fixed-structured"):
        raise SpecError(f"unknown distribution {distribution!r}", key)
    return TensorDensity(distribution=distribution, density=density)
