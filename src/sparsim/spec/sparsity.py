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

import re
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sparsim.errors import SparsimError

Distribution = Literal["dense", "fixed-structured", "hypergeometric", "uniform", "measured"]
_NM = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")


class TensorDensity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    distribution: Distribution = "dense"
    density: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    n: int | None = Field(None, description="kept elements per block (N of N:M)")
    m: int | None = Field(None, description="block size (M of N:M)")
    measured: str | None = Field(None, description=".npy file of the real tensor")

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
        """The measured tensor's nonzero mask (only for ``measured``)."""
        assert self.measured is not None
        try:
            return np.load(Path(self.measured)) != 0
        except (OSError, ValueError) as exc:
            raise SparsimError(f"cannot load tensor ({exc})", self.measured) from None


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
            raise SparsimError(f"N:M needs 1 <= N <= M (N = kept elements), got {text!r}", key)
        return TensorDensity(distribution="fixed-structured", density=n / m, n=n, m=m)
    if text.endswith(".npy"):
        mask = TensorDensity(distribution="measured", density=0.0, measured=text).load_mask()
        return TensorDensity(distribution="measured", density=float(mask.mean()), measured=text)
    dist, _, value = text.rpartition(":")
    try:
        density = float(value)
    except ValueError:
        raise SparsimError(
            f"expected N:M, a density in [0, 1], 'dense' or a .npy file, got {text!r}", key
        ) from None
    if not 0.0 <= density <= 1.0:
        raise SparsimError(f"density must be in [0, 1], got {density}", key)
    if density == 1.0:
        return TensorDensity()
    distribution = dist or "hypergeometric"
    if distribution not in ("hypergeometric", "uniform", "fixed-structured"):
        raise SparsimError(f"unknown distribution {distribution!r}", key)
    return TensorDensity(distribution=distribution, density=density)
