"""Verdict rules for a published relative change (``-0.58``: 58% lower) set against
sparsim's: the rule is the same in every study, so a verdict means the same everywhere.

* **agree**: sparsim's change is within ``tolerance`` (absolute, in fractions: 0.10 is
  ten percentage points) of the published one;
* **partly**: further off, but in the same direction (both lower, or both higher);
* **disagree**: the opposite direction, or no change where one was published (or a
  change where none was);
* **not testable**: sparsim has no number for it.
"""

from __future__ import annotations

import math

from sparsim.errors import SparsimError

AGREE_WITHIN = 0.10  # ten percentage points of the relative change
NO_CHANGE = 0.01  # a change under one percent is no change


def change_verdict(paper: float, ours: float | None, tolerance: float = AGREE_WITHIN) -> str:
    """The verdict on a published relative change ``paper`` given sparsim's ``ours``."""
    if tolerance < 0:
        raise SparsimError(f"must be >= 0, got {tolerance}", "tolerance")
    if ours is None or math.isnan(ours):
        return "not testable"
    if abs(ours - paper) <= tolerance:
        return "agree"
    moved = abs(ours) >= NO_CHANGE and abs(paper) >= NO_CHANGE
    if moved and (ours > 0) == (paper > 0):
        return "partly"
    return "disagree"


def change_text(change: float) -> str:
    """``-0.58`` -> ``58% lower``; ``0.12`` -> ``12% higher``."""
    if abs(change) < 0.0005:
        return "no change"
    return f"{abs(change):.0%} {'lower' if change < 0 else 'higher'}"
