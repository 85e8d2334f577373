"""Which N:M patterns a structured-sparse tensor core runs natively, and which series of
native patterns realise the others (tables of the TASD seed paper).

A series realises ``N:M`` when its terms share the block size M and their Ns add up to
N: then every N:M-sparse tensor decomposes into it without loss, and the effective
density is N/M. With at most two terms, VEGETA-M8 (native 1:8, 2:8, 4:8) realises
3:8 = 2:8+1:8, 5:8 = 4:8+1:8 and 6:8 = 4:8+2:8, but not 7:8 (that needs 4:8+2:8+1:8).

Each design is known by its own name (``STC``) and by the name of the TASD tensor core
built on it (``TTC-STC-M4``); lookups ignore case.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sparsim.errors import SparsimError, UnknownNameError
from sparsim.tasd.series import Pattern, Series, as_series

DEFAULT_MAX_TERMS = 2


@dataclass(frozen=True)
class RealisedSeries:
    """A series of native patterns and the N:M pattern it realises."""

    series: Series
    pattern: Pattern

    @property
    def effective_density(self) -> float:
        return self.series.density

    @property
    def n_terms(self) -> int:
        return self.series.n_terms


@dataclass(frozen=True)
class Hardware:
    """A structured-sparse tensor core: its native N:M patterns, all with one block size."""

    name: str
    ttc_name: str
    native: tuple[Pattern, ...]
    description: str
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len({p.m for p in self.native}) != 1:
            raise SparsimError("native patterns must share one block size M", self.name)

    @property
    def block_size(self) -> int:
        return self.native[0].m

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, self.ttc_name, *self.aliases)

    def realisable_series(self, max_terms: int = DEFAULT_MAX_TERMS) -> list[RealisedSeries]:
        """Every series of at most ``max_terms`` native patterns that fits in one block
        (sum of N <= M), terms in descending N, sorted by realised density then terms."""
        m = self.block_size
        found = []
        for count in range(1, max_terms + 1):
            for combo in itertools.combinations_with_replacement(
                sorted(self.native, reverse=True), count
            ):
                kept = sum(p.n for p in combo)
                if kept <= m:
                    found.append(RealisedSeries(Series(combo), Pattern(kept, m)))
        return sorted(found, key=lambda r: (r.pattern.n, r.n_terms))

    def realise(self, pattern: Pattern | str, max_terms: int = DEFAULT_MAX_TERMS) -> Series:
        """The series with the fewest terms that realises ``pattern``; an error if none."""
        if isinstance(pattern, str):
            pattern = Pattern.parse(pattern)
        if pattern.m != self.block_size:
            raise SparsimError(
                f"{self.name} works on blocks of M={self.block_size}, not M={pattern.m}",
                f"pattern {pattern}",
            )
        for option in self.realisable_series(max_terms):
            if option.pattern == pattern:
                return option.series
        raise SparsimError(
            f"not realisable on {self.name} with at most {max_terms} terms of "
            f"{', '.join(map(str, self.native))}",
            f"pattern {pattern}",
        )

    def pattern_table(self, max_terms: int = DEFAULT_MAX_TERMS) -> dict[Pattern, Series | None]:
        """For every N:M with this block size: the cheapest realising series, or None."""
        best: dict[Pattern, Series | None] = {
            Pattern(n, self.block_size): None for n in range(1, self.block_size + 1)
        }
        for option in self.realisable_series(max_terms):
            if best[option.pattern] is None:
                best[option.pattern] = option.series
        return best

    def supports(self, series: Series | str, max_terms: int = DEFAULT_MAX_TERMS) -> bool:
        """Whether every term is native and there are at most ``max_terms`` of them."""
        series = as_series(series, max_terms=None)
        return (
            not series.is_dense
            and len(series.patterns) <= max_terms
            and all(p in self.native for p in series.patterns)
        )


HARDWARE: tuple[Hardware, ...] = (
    Hardware(
        "STC",
        "TTC-STC-M4",
        (Pattern(2, 4),),
        "NVIDIA sparse tensor core (Ampere): 2:4",
        aliases=("STC-M4",),
    ),
    Hardware("STC-M8", "TTC-STC-M8", (Pattern(4, 8),), "sparse tensor core with 8-blocks: 4:8"),
    Hardware("VEGETA-M4", "TTC-VEGETA-M4", (Pattern(1, 4), Pattern(2, 4)), "VEGETA, M=4: 1:4, 2:4"),
    Hardware(
        "VEGETA-M8",
        "TTC-VEGETA-M8",
        (Pattern(1, 8), Pattern(2, 8), Pattern(4, 8)),
        "VEGETA, M=8: 1:8, 2:8, 4:8",
    ),
)


def hardware_names() -> list[str]:
    """Every accepted name, for help texts and error messages."""
    return [name for hw in HARDWARE for name in (hw.name, hw.ttc_name)]


def get_hardware(name: str) -> Hardware:
    """Look up a design by its name or its TASD tensor core name (case-insensitive)."""
    wanted = name.strip().upper()
    for hw in HARDWARE:
        if wanted in (n.upper() for n in hw.names):
            return hw
    raise UnknownNameError(
        f"unknown hardware {name!r}; valid: {', '.join(hardware_names())}", "hardware"
    )
