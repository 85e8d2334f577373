"""Which N:M patterns a structured-sparse tensor core runs natively, and which series of
native patterns realise the others (tables of the TASD paper).

A series realises ``N:M`` when its terms share the block size M and their Ns add up to
N: then every N:M-sparse tensor decomposes into it without loss, and the effective
density is N/M. With at most two terms, VEGETA-M8 (native 1:8, 2:8, 4:8) realises
3:8 = 2:8+1:8, 5:8 = 4:8+1:8 and 6:8 = 4:8+2:8, but not 7:8 (that needs 4:8+2:8+1:8).

The hardware is read from design files (:mod:`sparsim.designs.catalog`): the native
patterns are the file's ``weights.patterns``. The built-in TASD tensor cores are the
catalog's designs titled ``TTC-...`` (``ttc-vegeta-m8.yaml``: TTC-VEGETA-M8, also known
by the name of the core it is built on, ``VEGETA-M8``); any design with N:M weight
patterns of one block size works too, a user's design file given by its path.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from sparsim.designs.catalog import Design, design_names, designs, get_design
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
    """A structured-sparse tensor core: its native N:M patterns, all with one block size,
    and the design whose passes run them."""

    name: str
    ttc_name: str
    native: tuple[Pattern, ...]
    description: str
    design: Design = field(repr=False)

    def __post_init__(self) -> None:
        if not self.native or len({p.m for p in self.native}) != 1:
            raise SparsimError("native patterns must share one block size M", self.name)

    @classmethod
    def from_design(cls, design: Design) -> Hardware:
        """The TASD tensor core of a design: its N:M weight patterns run as series terms."""
        where = design.source or design.name
        patterns = design.weight_patterns
        if patterns is None or patterns == "any":
            runs = "dense weights" if patterns is None else "unstructured weights"
            raise SparsimError(
                f"design {design.name} runs {runs}; a TASD tensor core needs N:M patterns "
                "(weights.patterns)",
                where,
            )
        sizes = sorted({m for _, m in patterns})
        if len(sizes) != 1:
            raise SparsimError(
                f"design {design.name} runs N:M patterns of block sizes "
                f"{', '.join(map(str, sizes))}; a TASD tensor core's terms share one M",
                f"{where}: weights.patterns",
            )
        title = design.title.strip()
        base = title[len(TTC_PREFIX) :] if title.upper().startswith(TTC_PREFIX) else title
        return cls(
            name=base,
            ttc_name=title,
            native=tuple(sorted(Pattern(n, m) for n, m in patterns)),
            description=design.description,
            design=design,
        )

    @property
    def key(self) -> str:
        """How a configuration names this hardware: a built-in's TTC name, a design file's
        absolute path."""
        if self.design.name in design_names() and get_design(self.design.name) == self.design:
            return self.ttc_name
        return str(Path(self.design.source).resolve())

    @property
    def block_size(self) -> int:
        return self.native[0].m

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


TTC_PREFIX = "TTC-"


def builtin_hardware() -> list[Hardware]:
    """The catalog's TASD tensor cores (its designs titled ``TTC-...``)."""
    return [
        Hardware.from_design(design)
        for design in designs()
        if design.title.upper().startswith(TTC_PREFIX)
    ]


def hardware_names() -> list[str]:
    """Every built-in name, for help texts and error messages."""
    return [name for hw in builtin_hardware() for name in (hw.name, hw.ttc_name)]


def get_hardware(name: str | Path | Design | Hardware) -> Hardware:
    """A TASD tensor core: a built-in by its TTC name or the name of its base core
    (case-insensitive), any catalog design or design file (``.yaml``) with N:M weight
    patterns of one block size."""
    if isinstance(name, Hardware):
        return name
    if isinstance(name, Design | Path) or str(name).strip().lower().endswith((".yaml", ".yml")):
        return Hardware.from_design(get_design(name))
    wanted = str(name).strip().upper()
    for hw in builtin_hardware():
        if wanted in (hw.name.upper(), hw.ttc_name.upper()):
            return hw
    if wanted.lower() in design_names():
        return Hardware.from_design(get_design(wanted))
    raise UnknownNameError(
        f"unknown hardware {str(name)!r}; valid: {', '.join(hardware_names())}, or a design "
        "file (.yaml) with N:M weight patterns",
        "hardware",
    )
