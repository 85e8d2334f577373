"""Rebuild the Timeloop-checked case directories of this folder and their Timeloop figures.

Each case is a fig15 case of the MICRO'22 artifact with one edit that isolates one rule of
docs/sparseloop-semantics-*.md; ``timeloop.json`` holds what the public ``timeloop-model``
(../shared/tools/timeloop) reports for it, or its error. Run from the repository root:

    PYTHONPATH=src python tests/engine/timeloop_cases/regenerate.py
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2].parent / "shared"
FIG15 = SHARED / "reference" / "sparseloop-micro22" / "fig15" / "cases"
TIMELOOP = SHARED / "tools" / "timeloop" / "timeloop-model"
LAYER = "M512-K256-N1024-IAD0.82"
STC_WD05 = f"WD-0.5/{LAYER}-WD0.5/STC-RF2x-24-bandwidth"
STC_WD10 = f"WD-1.0/{LAYER}-WD1.0/STC-RF2x-24-bandwidth"
TC_STREAM = "WD-1.0/M512-K1024-N256-IAD0.27-WD1.0/TC-RF2x-24-bandwidth"


def _weights(distribution: str, density: float):
    def edit(inputs: dict) -> None:
        inputs["problem"]["instance"]["densities"]["A"] = {
            "density": density,
            "distribution": distribution,
        }

    return edit


def _mapping_of(case: str):
    mapping = yaml.safe_load((FIG15 / case / "map.yaml").read_text())["mapping"]

    def edit(entries: list) -> None:
        entries[:] = copy.deepcopy(mapping)

    return edit


def _action(level: str, action: dict, activations: float | None = None):
    """Only ``action`` at ``level`` besides the formats (no skipping-spatial at the RF)."""

    def edit(inputs: dict) -> None:
        if activations is not None:
            inputs["problem"]["instance"]["densities"]["B"] = {
                "density": activations,
                "distribution": "hypergeometric",
            }
        targets = [t for t in inputs["sparse_optimizations"]["targets"] if t["name"] != "RF"]
        inputs["sparse_optimizations"]["targets"] = targets
        for target in targets:
            if target["name"] == level:
                target["action-optimization"] = [action]
                return
        targets.append({"name": level, "action-optimization": [action]})

    return edit


def _k_at_smem(entries: list) -> None:
    for entry in entries:
        if entry["type"] == "temporal" and entry["target"] == "RF":
            entry["factors"] = "M1 N1 K4"
        if entry["type"] == "temporal" and entry["target"] == "SMEM":
            entry["factors"] = "M8 N2 K2"


# name: (base case, edit of aggregated_input.yaml, edit of map.yaml, what it checks)
CASES = {
    "spatial-skip-fixed-k16": (STC_WD05, None, _mapping_of(STC_WD10), "control: 2:4 weights, spatial K16"),
    "spatial-skip-hyper0.3-k16": (STC_WD05, _weights("hypergeometric", 0.3), _mapping_of(STC_WD10), "group 1 and 3"),
    "spatial-skip-hyper0.4-k16": (STC_WD05, _weights("hypergeometric", 0.4), _mapping_of(STC_WD10), "group 1 and 3"),
    "spatial-skip-hyper0.5-k16": (STC_WD05, _weights("hypergeometric", 0.5), _mapping_of(STC_WD10), "group 3: Timeloop's rounding noise"),
    "spatial-skip-hyper0.5-k32": (STC_WD05, _weights("hypergeometric", 0.5), None, "group 1: K32 over 16 PEs rejected"),
    "no-format-fixed0.5": (STC_WD10, _weights("fixed-structured", 0.5), None, "group 2"),
    "no-format-hyper0.3": (STC_WD10, _weights("hypergeometric", 0.3), None, "group 2"),
    "stc-k-at-smem": (STC_WD05, None, _k_at_smem, "K loop at SMEM rejected"),
    "hyper1.0-k16": (STC_WD05, _weights("hypergeometric", 1.0), _mapping_of(STC_WD10), "Timeloop wrong: no LRF reads"),
    "stream-tc-smem": (TC_STREAM, None, None, "stream: public Timeloop ignores it"),
    "skip-a-on-b-lrf": (STC_WD05, _action("LRF", {"type": "skipping", "target": "A", "condition-on": ["B"]}, 0.6), _mapping_of(STC_WD10), "operand skipping removes computes"),
    "gate-a-on-b-lrf": (STC_WD05, _action("LRF", {"type": "gating", "target": "A", "condition-on": ["B"]}, 0.6), _mapping_of(STC_WD10), "operand gating removes computes too"),
    "skip-z-on-a-rf": (STC_WD05, _action("RF", {"type": "skipping", "target": "Z", "condition-on": ["A"]}), _mapping_of(STC_WD10), "output skipping removes none"),
    "gate-z-on-a-rf": (STC_WD05, _action("RF", {"type": "gating", "target": "Z", "condition-on": ["A"]}), _mapping_of(STC_WD10), "output gating removes none"),
}  # fmt: skip


def build(name: str) -> Path:
    base, edit_inputs, edit_mapping, _ = CASES[name]
    case = HERE / name
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir()
    for file in ("aggregated_input.yaml", "ERT.yaml", "ART.yaml", "map.yaml"):
        shutil.copy(FIG15 / base / file, case / file)
    for file, edit, key in (
        ("aggregated_input.yaml", edit_inputs, None),
        ("map.yaml", edit_mapping, "mapping"),
    ):
        if edit is not None:
            data = yaml.safe_load((case / file).read_text())
            edit(data[key] if key else data)
            (case / file).write_text(yaml.safe_dump(data, sort_keys=False))
    return case


def run_timeloop(case: Path) -> dict:
    """Timeloop's figures for a case: cycles, energy, actual computes, per-level energy."""
    from sparsim.calibration import parse_stats

    with tempfile.TemporaryDirectory() as scratch:
        files = [
            str(case / f) for f in ("aggregated_input.yaml", "ERT.yaml", "ART.yaml", "map.yaml")
        ]
        run = subprocess.run(
            [str(TIMELOOP), *files], cwd=scratch, capture_output=True, text=True, timeout=600
        )
        stats = Path(scratch) / "timeloop-model.stats.txt"
        if not stats.exists():
            errors = [
                line
                for line in run.stdout.splitlines() + run.stderr.splitlines()
                if "ERROR" in line
            ]
            return {"error": errors[-1] if errors else run.stderr[-300:]}
        # Unset fields print as "-" and 0/0 ratios as "-nan": not figures the reader takes.
        stats.write_text(re.sub(r":\s+-(?:nan)?(?:\s.*)?$", ": 0", stats.read_text(), flags=re.M))
        parsed = parse_stats(stats)
    mac = parsed.compute.fields
    return {
        "cycles": parsed.cycles,
        "energy_pJ": sum(level.energy_pJ for level in parsed.levels.values()),
        "actual_computes": mac.get("Actual Computes (total)", mac.get("Computes (total)")),
        "levels_pJ": {name: level.energy_pJ for name, level in parsed.levels.items()},
    }


def main() -> None:
    if not TIMELOOP.exists() or not FIG15.is_dir():
        sys.exit(f"needs {TIMELOOP} and {FIG15}")
    for name, (_, _, _, purpose) in CASES.items():
        case = build(name)
        figures = {"checks": purpose, **run_timeloop(case)}
        (case / "timeloop.json").write_text(json.dumps(figures, indent=1) + "\n")
        print(
            name,
            figures.get("error")
            or f"{figures['energy_pJ'] / 1e6:.3f} uJ, {figures['cycles']:.0f} cycles",
        )


if __name__ == "__main__":
    main()
