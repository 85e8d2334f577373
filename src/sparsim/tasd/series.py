"""The TASD series language: ``"2:4+2:8"``, ``"dense"``, ``"none"``.

In ``N:M``, N is the number of elements KEPT in every block of M consecutive elements
(2:4 keeps half). Some tools write the number of zeros first; sparsim never does, and its
error messages repeat the convention.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

from sparsim.errors import SparsimError, SpecError

DEFAULT_MAX_TERMS = 3

_PATTERN_RE = re.compile(r"^\s*(-?\d+)\s*:\s*(-?\d+)\s*$")


@dataclass(frozen=True, order=True)
class Pattern:
    """An N:M structured-sparsity pattern: at most ``n`` nonzeros in every block of ``m``."""

    n: int
    m: int

    def __post_init__(self) -> None:
        _check_pattern(self.n, self.m, f"pattern '{self.n}:{self.m}'")

    @classmethod
    def parse(cls, text: str) -> Pattern:
        return _parse_pattern(text, f"pattern {text.strip()!r}")

    @property
    def density(self) -> float:
        return self.n / self.m

    def __str__(self) -> str:
        return f"{self.n}:{self.m}"


def _parse_pattern(text: str, where: str) -> Pattern:
    match = _PATTERN_RE.match(text)
    if not match:
        raise SpecError(
            f"{text.strip()!r} is not N:M; expected integers N <= M (N = elements kept per "
            "block of M), e.g. 2:4",
            where,
        )
    n, m = int(match.group(1)), int(match.group(2))
    _check_pattern(n, m, where)
    return Pattern(n, m)


def _check_pattern(n: int, m: int, where: str) -> None:
    if m < 1:
        raise SpecError(f"block size M must be >= 1, got M={m}", where)
    if n < 1:
        raise SpecError(
            f"N (elements kept per block of M) must be >= 1, got N={n}; "
            "use the series 'none' to keep nothing",
            where,
        )
    if n > m:
        raise SpecError(
            f"N:M keeps N elements of every block of M, so N <= M is required; got N={n} > M={m}",
            where,
        )


@dataclass(frozen=True)
class Series:
    """A sum of N:M terms, applied greedily in order (``2:4+2:8``: first 2:4, then 2:8).

    ``Series(())`` is ``"none"`` (nothing kept); ``Series.dense()`` keeps everything in one
    term.
    """

    patterns: tuple[Pattern, ...] = ()
    is_dense: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "patterns", tuple(self.patterns))
        if self.is_dense and self.patterns:
            raise SparsimError("a dense series has no N:M terms", "series")

    @classmethod
    def dense(cls) -> Series:
        return cls((), is_dense=True)

    @classmethod
    def parse(cls, text: str, max_terms: int | None = DEFAULT_MAX_TERMS) -> Series:
        return parse_series(text, max_terms)

    @property
    def kernel_patterns(self) -> tuple[Pattern, ...]:
        """The terms the decomposition runs; a dense series is one 1:1 term."""
        return (Pattern(1, 1),) if self.is_dense else self.patterns

    @property
    def n_terms(self) -> int:
        return len(self.kernel_patterns)

    @property
    def density(self) -> float:
        """Effective density: the fraction of dense MACs the structured terms execute."""
        return sum((p.density for p in self.kernel_patterns), 0.0)

    @property
    def block_lcm(self) -> int:
        """Least common multiple of the block sizes: the period of the whole series."""
        return math.lcm(*(p.m for p in self.kernel_patterns)) if self.kernel_patterns else 1

    @property
    def is_nested(self) -> bool:
        """Each block size divides the next one, so every block of a later term is a union
        of whole blocks of the earlier terms (2:4+2:8+2:16 is nested, 2:8+2:4 is not)."""
        sizes = [p.m for p in self.kernel_patterns]
        return all(b % a == 0 for a, b in itertools.pairwise(sizes))

    def __str__(self) -> str:
        if self.is_dense:
            return "dense"
        return "+".join(map(str, self.patterns)) if self.patterns else "none"


def parse_series(text: str, max_terms: int | None = DEFAULT_MAX_TERMS) -> Series:
    """Parse ``"2:4+2:8"``, ``"dense"`` or ``"none"`` (case and spaces do not matter).

    ``max_terms=None`` lifts the limit on the number of terms.
    """
    if not isinstance(text, str):
        raise SparsimError(f"expected a string such as '2:4+2:8', got {type(text).__name__}")
    where = f"series {text.strip()!r}"
    words = text.strip().lower()
    if words == "dense":
        return Series.dense()
    if words == "none":
        return Series()
    if not words:
        raise SparsimError(
            "empty; write N:M terms joined by '+' (e.g. 2:4+2:8), 'dense' or 'none'", "series"
        )
    parts = words.split("+")
    patterns = []
    for position, part in enumerate(parts, start=1):
        if not part.strip():
            raise SparsimError(
                f"term {position} of {len(parts)} is empty; write N:M terms joined by '+', "
                "e.g. 2:4+2:8",
                where,
            )
        if part.strip() in ("dense", "none"):
            raise SparsimError(
                f"{part.strip()!r} stands alone and cannot be a term of a sum", where
            )
        term_where = where if len(parts) == 1 else f"{where}: term {position} {part.strip()!r}"
        patterns.append(_parse_pattern(part, term_where))
    if max_terms is not None and len(patterns) > max_terms:
        raise SparsimError(
            f"{len(patterns)} terms, but at most {max_terms} are allowed (max_terms={max_terms})",
            where,
        )
    return Series(tuple(patterns))


def as_series(series: Series | Pattern | str, max_terms: int | None = DEFAULT_MAX_TERMS) -> Series:
    """Accept a Series, a single Pattern or the text form."""
    if isinstance(series, Series):
        if max_terms is not None and series.n_terms > max_terms:
            raise SparsimError(
                f"{series.n_terms} terms, but at most {max_terms} are allowed", f"series '{series}'"
            )
        return series
    if isinstance(series, Pattern):
        return Series((series,))
    return parse_series(series, max_terms)
