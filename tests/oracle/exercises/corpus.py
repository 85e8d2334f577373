"""The exercise and artifact corpora: where their cases are and how sparsim is compared.

``cases/<id>/``: Timeloop v0.3 inputs from the public Timeloop/Accelergy exercises, as the
exercises lay them out, with public Timeloop's figures (``timeloop.json``).
``rejected/<id>/``: small edits of those that public Timeloop refuses
(``timeloop-error.txt``). ``../artifact/<workspace>/<case>/``: the MICRO'22 artifact's
table 7, fig 12 and fig 1 inputs with the artifact's shipped figures (``published.json``)
and, where it runs them, public Timeloop's (``timeloop.json``). See README.md here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
REJECTED = HERE / "rejected"
ARTIFACT = HERE.parent / "artifact"
TOLERANCE = 0.01
META_FILE = "meta.yaml"
RESULT_FILE = "timeloop.json"
ERROR_FILE = "timeloop-error.txt"
PUBLISHED_FILE = "published.json"


def _cases(root: Path, marker: str) -> list[Path]:
    return sorted(p.parent for p in root.glob(f"*/{marker}")) if root.is_dir() else []


def accepted_cases() -> list[Path]:
    """Exercise cases Timeloop runs (``timeloop.json`` holds its figures)."""
    return _cases(CASES, META_FILE)


def rejected_cases() -> list[Path]:
    """Exercise cases Timeloop refuses (``timeloop-error.txt`` says why)."""
    return _cases(REJECTED, META_FILE)


def artifact_cases() -> list[Path]:
    """The artifact's workspaces' cases, each with the artifact's published figures."""
    return sorted(p.parent for p in ARTIFACT.glob(f"*/*/{META_FILE}")) if ARTIFACT.is_dir() else []


def case_name(case: Path) -> str:
    return f"{case.parent.name}/{case.name}" if case.parent.parent == ARTIFACT else case.name


def meta(case: Path) -> dict:
    return yaml.safe_load((case / META_FILE).read_text())


def inputs(case: Path) -> list[Path]:
    """The files a case hands to Timeloop: every YAML file in it but ``meta.yaml``."""
    return sorted(p for p in case.rglob("*.yaml") if p.name != META_FILE)


def reference(case: Path) -> tuple[str, dict] | None:
    """The figures a case is checked against: the artifact's published stats where it ships
    them, else public Timeloop's; None when neither exists."""
    for name, label in ((PUBLISHED_FILE, "published"), (RESULT_FILE, "timeloop")):
        if (case / name).exists():
            return label, json.loads((case / name).read_text())
    return None


@dataclass(frozen=True)
class Outcome:
    """sparsim on one case: its figures, or the error it raised (``crashed`` when that error
    is not a SparsimError, i.e. a bug rather than a refusal)."""

    case: Path
    energy_pJ: float | None = None
    cycles: float | None = None
    area_errors: dict[str, float] | None = None
    error: str | None = None
    crashed: bool = False

    @property
    def loaded(self) -> bool:
        return self.error is None


def run_sparsim(case: Path) -> Outcome:
    import sparsim
    from sparsim.errors import SparsimError

    try:
        result = sparsim.evaluate(sparsim.load(inputs(case)))
    except SparsimError as error:
        return Outcome(case, error=f"{type(error).__name__}: {error}")
    except Exception as error:  # the report counts crashes apart from refusals
        return Outcome(case, error=f"{type(error).__name__}: {error}", crashed=True)
    found = reference(case)
    return Outcome(
        case,
        energy_pJ=result.energy_pJ,
        cycles=result.cycles,
        area_errors=area_errors(result, found[1]) if found else None,
    )


def relative_error(mine: float, theirs: float) -> float:
    return abs(mine - theirs) / max(abs(theirs), 1e-12)


def area_errors(result, oracle: dict) -> dict[str, float]:
    """Relative error of each area Timeloop reports (a ``timeloop.json`` document): per
    storage level per instance (``<level>``) and over its instances (``<level> total``), the
    compute's total and the design's (``total``). A level either side lacks is infinite."""
    errors: dict[str, float] = {}
    mine = {level.name: level for level in result.levels}
    for name in set(mine) | set(oracle["levels"]):
        if name not in mine or name not in oracle["levels"]:
            errors[name] = float("inf")
            continue
        theirs = oracle["levels"][name]
        errors[name] = relative_error(mine[name].area_um2, theirs["area_um2"])
        errors[f"{name} total"] = relative_error(
            mine[name].area_total_um2, theirs["area_total_um2"]
        )
    compute = oracle["compute"]["area_total_um2"]
    errors[f"{result.compute.name} total"] = relative_error(result.compute.area_total_um2, compute)
    errors["total"] = relative_error(result.area_um2, oracle["area_um2"])
    return errors


def describe_counts(cases: list[Path], key: Callable[[dict], list[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for case in cases:
        for value in key(meta(case)):
            counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
