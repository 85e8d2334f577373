"""Verdicts computed from numbers, never written by hand: a claim's evidence is one of the
kinds below, and its verdict follows from the evidence's numbers by the kind's stated rule,
the same in every study (so a verdict means the same everywhere).

* :class:`Close` (a published number): **agree** when sparsim's number is within the
  tolerance of the published one; **partly** when further off but on the same side of the
  reference (both below or both above it: a saving, a ratio above 1, a threshold inside
  the range); **disagree** otherwise (the other side, or at the reference where the paper
  is not, or the reverse).
* :class:`Holds` (a statement tested case by case): **agree** when it holds in every case
  sparsim tested, **partly** in more than half of them, **disagree** in half or fewer (a
  statement that fails as often as it holds is contradicted, not half true).
* :class:`NotModelled`: sparsim has no model of what the claim is about.

Evidence without a number (a NaN, no case to test) is **not testable**.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sparsim.errors import SparsimError

AGREE_WITHIN = 0.10  # a relative change: ten percentage points
SHORT_UNITS = {" percentage points": " pts", " points of sparsity": " pts"}
NO_CHANGE = 0.01  # closer to the reference than this is "at the reference"
RULES = {
    "close": "agree within the stated tolerance of the published number; partly when "
    "further off but on the same side of the stated reference; disagree otherwise",
    "holds": "agree when the statement holds in every case tested; partly in more than half; "
    "disagree in half or fewer",
    "not modelled": "sparsim has no model of what the claim is about",
}


def _side(value: float, reference: float) -> int:
    return 0 if abs(value - reference) < NO_CHANGE else (1 if value > reference else -1)


@dataclass(frozen=True)
class Close:
    """A published number against sparsim's; ``ours`` NaN when the run has none
    (``inf`` is allowed: e.g. "never breaks even"). ``scale`` and ``unit`` say how a
    reader reads a difference (100 and " percentage points" for a relative change)."""

    published: float
    ours: float
    tolerance: float
    reference: float = 0.0
    scale: float = 1.0
    unit: str = ""
    reference_text: str = ""  # the reference in words ("no change")

    rule = "close"

    def __post_init__(self) -> None:
        if not self.tolerance >= 0:
            raise SparsimError(f"must be >= 0, got {self.tolerance}", "tolerance")

    def amount(self, value: float, short: bool = False) -> str:
        unit = SHORT_UNITS.get(self.unit, self.unit) if short else self.unit
        return f"{value * self.scale:.3g}{unit}"

    @property
    def verdict(self) -> str:
        return close_verdict(self.published, self.ours, self.tolerance, self.reference)

    @property
    def short(self) -> str:
        """How far sparsim is from the published number, against the tolerance."""
        tolerance = self.amount(self.tolerance, short=True)
        if math.isnan(self.ours):
            return f"tolerance ±{tolerance}"
        if math.isinf(self.ours):
            return f"none found (±{tolerance})"
        return f"{self.amount(abs(self.ours - self.published), short=True)} off (±{tolerance})"

    @property
    def rule_text(self) -> str:
        reference = self.reference_text or f"{self.reference:g}"
        return (
            f"agree within {self.amount(self.tolerance)} of the published number; partly "
            f"when further off on the same side of {reference}; disagree otherwise"
        )


@dataclass(frozen=True)
class Holds:
    """A statement that held in ``held`` of the ``cases`` sparsim tested."""

    held: int
    cases: int
    case_text: str = "cases"  # what a case is ("layer sets x sidedness x sparsity")

    rule = "holds"

    def __post_init__(self) -> None:
        if not 0 <= self.held <= self.cases:
            raise SparsimError(f"held {self.held} of {self.cases} cases", "holds")

    @property
    def verdict(self) -> str:
        return holds_verdict(self.held, self.cases)

    @property
    def short(self) -> str:
        return f"{self.held} of {self.cases}"

    @property
    def rule_text(self) -> str:
        return f"holds in {self.held} of {self.cases} {self.case_text}"


@dataclass(frozen=True)
class NotModelled:
    """sparsim has no model of what the claim is about (``reason`` says what is missing)."""

    reason: str

    rule = "not modelled"
    verdict = "not modelled"
    short = "not modelled"

    @property
    def rule_text(self) -> str:
        return self.reason


Evidence = Close | Holds | NotModelled


def close_verdict(published: float, ours: float, tolerance: float, reference: float = 0.0) -> str:
    """:class:`Close`'s rule."""
    if ours is None or math.isnan(ours):
        return "not testable"
    if abs(ours - published) <= tolerance:
        return "agree"
    side = _side(ours, reference)
    return "partly" if side != 0 and side == _side(published, reference) else "disagree"


def holds_verdict(held: int, cases: int) -> str:
    """:class:`Holds`'s rule."""
    if cases == 0:
        return "not testable"
    return "agree" if held == cases else ("partly" if 2 * held > cases else "disagree")


def change_verdict(paper: float, ours: float | None, tolerance: float = AGREE_WITHIN) -> str:
    """The verdict on a published relative change ``paper`` (``-0.58``: 58% lower) given
    sparsim's ``ours``: :func:`close_verdict` around no change."""
    if tolerance < 0:
        raise SparsimError(f"must be >= 0, got {tolerance}", "tolerance")
    return close_verdict(paper, float("nan") if ours is None else ours, tolerance, 0.0)


def change_text(change: float) -> str:
    """``-0.58`` -> ``58% lower``; ``0.12`` -> ``12% higher``."""
    if abs(change) < 0.0005:
        return "no change"
    return f"{abs(change):.0%} {'lower' if change < 0 else 'higher'}"


def change(published: float, ours: float, tolerance: float = AGREE_WITHIN) -> Close:
    """A relative change (``-0.58``: 58% lower) against sparsim's."""
    return Close(published, ours, tolerance, 0.0, 100.0, " percentage points", "no change")


def geometric_mean_change(ratios) -> float:
    """The change of the geometric mean of ratios (``[0.42, 0.39]`` -> ``-0.595``)."""
    values = [float(r) for r in ratios]
    if not values or any(v <= 0 for v in values):
        raise SparsimError("needs positive ratios", "geometric mean")
    return math.exp(sum(math.log(v) for v in values) / len(values)) - 1.0


def arithmetic_mean_change(ratios) -> float:
    """The arithmetic mean of the changes (``[0.42, 0.39]`` -> ``-0.595``)."""
    values = [float(r) - 1.0 for r in ratios]
    if not values:
        raise SparsimError("needs at least one ratio", "arithmetic mean")
    return sum(values) / len(values)
