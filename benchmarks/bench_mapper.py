"""The mapper's quality and speed (targets: EDP at most the artifact's own mapping's and at
most timeloop-mapper's on every fig15 case; under 0.5 s per layer x design; the 54 ResNet-50
layers x six fig15 designs mapped and evaluated in under 15 s on 2 cores).

1. fig15: every case of the MICRO'22 artifact (../shared), mapped under its design's
   constraints (sparsim/designs/constraints/), against the artifact's own map.yaml, both
   evaluated by sparsim's engine: EDP ratio (mapper / artifact) and time per design.
2. timeloop-mapper (public Timeloop, random-pruned, victory-condition 500, 2 threads) on one
   case per design (DSTC excluded: position skipping is not in public Timeloop). Its results
   are a committed fixture (benchmarks/fixtures/timeloop_mapper.json); ``--run-timeloop``
   recomputes them (~20 s per case). Its mapping is evaluated by sparsim's engine too, so the
   ratio compares mappings, not models.
3. ResNet-50: the 54 layers x the six fig15 designs (weights 2:4, activations 0.5), each
   padded to its design's array and mapped, from a cold cache.

    python benchmarks/bench_mapper.py [--run-timeloop] [--max-evaluations N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from sparsim.designs import get_design
from sparsim.designs.build import design_problem
from sparsim.designs.mapper import (
    _CACHE,
    DEFAULT_EVALUATIONS,
    load_problem,
    map_spec,
    padded_problem,
)
from sparsim.evaluate import evaluate, load
from sparsim.spec.sparseloop import load_sparseloop_case
from sparsim.workload import resnet50

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIG15 = SHARED / "reference" / "sparseloop-micro22" / "fig15" / "cases"
TIMELOOP = SHARED / "tools" / "timeloop"
FIXTURE = ROOT / "benchmarks" / "fixtures" / "timeloop_mapper.json"
DESIGNS = {  # artifact design -> sparsim design
    "TC-RF2x-24-bandwidth": "tc",
    "STC-RF2x-24-bandwidth": "stc",
    "STC_flexible-RF2x-24-bandwidth": "stc-flexible",
    "STC_flexible-RF2x-24-bandwidth-RLE": "stc-flexible-rle",
    "STC_flexible_dualCompress-RF2x-24-bandwidth-RLE": "stc-flexible-dual",
    "DSTC-RF2x-24-bandwidth": "dstc",
}
TIMELOOP_LAYER = "WD-0.5/M512-K256-N1024-IAD0.82-WD0.5"
MAPPER_SETTINGS = {
    "mapper": {
        "optimization-metrics": ["delay", "energy"],
        "live-status": False,
        "num-threads": 2,
        "algorithm": "random-pruned",
        "victory-condition": 500,
        "timeout": 0,
    }
}


def _edp(result) -> float:
    return result.energy_uJ * result.cycles


def fig15(max_evaluations: int) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for case in sorted(p for p in FIG15.glob("*/*/*") if p.is_dir()):
        design = get_design(DESIGNS[case.name])
        problem, _ = load_problem(case)
        _CACHE.clear()
        found = map_spec(problem, design.constraints, max_evaluations=max_evaluations)
        artifact = evaluate(load(case))
        rows.setdefault(case.name, []).append(
            {
                "case": f"{case.parent.name}",
                "ratio": _edp(found.result) / _edp(artifact),
                "seconds": found.seconds,
                "rank": found.best_rank,
                "evaluated": found.evaluated,
                "considered": found.considered,
            }
        )
    return rows


def run_timeloop(case: Path) -> dict:
    """timeloop-mapper on one case with the design's constraints; its best mapping and stats."""
    constraints = ROOT / "src" / get_design(DESIGNS[case.name]).constraints.source
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "mapper.yaml").write_text(yaml.safe_dump(MAPPER_SETTINGS))
        started = time.perf_counter()
        subprocess.run(
            [
                str(TIMELOOP / "timeloop-mapper"),
                str(case / "aggregated_input.yaml"),
                str(case / "ERT.yaml"),
                str(case / "ART.yaml"),
                str(constraints),
                str(work / "mapper.yaml"),
            ],
            cwd=work,
            check=True,
            capture_output=True,
            env={"LD_LIBRARY_PATH": str(TIMELOOP / "lib"), "PATH": "/usr/bin:/bin"},
        )
        seconds = time.perf_counter() - started
        stats = (work / "timeloop-mapper.stats.txt").read_text()
        energy = float(stats.split("Energy:")[1].split("uJ")[0])
        cycles = float(stats.split("Cycles:")[1].split()[0])
        # Evaluate its mapping with sparsim's engine: same model on both sides.
        mapped = work / "case"
        mapped.mkdir()
        for name in ("aggregated_input.yaml", "ERT.yaml", "ART.yaml"):
            shutil.copy(case / name, mapped / name)
        shutil.copy(work / "timeloop-mapper.map.yaml", mapped / "map.yaml")
        result = evaluate(load_sparseloop_case(mapped))
    return {
        "timeloop_energy_uJ": energy,
        "timeloop_cycles": cycles,
        "timeloop_seconds": seconds,
        "sparsim_energy_uJ": result.energy_uJ,
        "sparsim_cycles": result.cycles,
    }


def timeloop_comparison(run: bool, max_evaluations: int) -> list[dict]:
    fixture = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else {}
    rows = []
    for artifact_name, name in DESIGNS.items():
        if name == "dstc":
            continue
        case = FIG15 / TIMELOOP_LAYER / artifact_name
        key = f"{TIMELOOP_LAYER}/{artifact_name}"
        if run:  # without --run-timeloop, only the committed figures
            if not (TIMELOOP / "timeloop-mapper").exists():
                continue
            fixture[key] = run_timeloop(case)
            FIXTURE.write_text(json.dumps(fixture, indent=1, sort_keys=True) + "\n")
        if key not in fixture:
            continue
        peer = fixture[key]
        problem, _ = load_problem(case)
        _CACHE.clear()
        found = map_spec(problem, get_design(name).constraints, max_evaluations=max_evaluations)
        rows.append(
            {
                "design": artifact_name,
                "ratio": _edp(found.result) / (peer["sparsim_energy_uJ"] * peer["sparsim_cycles"]),
                "ratio_own_model": _edp(found.result)
                / (peer["timeloop_energy_uJ"] * peer["timeloop_cycles"]),
                "speedup": peer["timeloop_seconds"] / found.seconds,
                "seconds": found.seconds,
                "timeloop_seconds": peer["timeloop_seconds"],
            }
        )
    return rows


def resnet(max_evaluations: int) -> tuple[float, int, int]:
    table = resnet50()
    _CACHE.clear()
    started = time.perf_counter()
    mapped = 0
    for name in DESIGNS.values():
        design = get_design(name)
        for row in table:
            problem = design_problem(design, row.workload, {"A": "2:4", "B": 0.5})
            problem = padded_problem(problem, design.constraints)
            map_spec(problem, design.constraints, max_evaluations=max_evaluations, progress=False)
            mapped += 1
    return time.perf_counter() - started, mapped, len(_CACHE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-timeloop", action="store_true")
    parser.add_argument("--max-evaluations", type=int, default=DEFAULT_EVALUATIONS)
    parser.add_argument("--skip", nargs="*", default=[], choices=["fig15", "timeloop", "resnet"])
    args = parser.parse_args()
    if not FIG15.is_dir():
        raise SystemExit(f"fig15 cases not found at {FIG15}")
    if "fig15" not in args.skip:
        print("fig15: mapper EDP / artifact mapping EDP (both on sparsim's engine), per design")
        print(
            f"{'design':48s} cases  ratio min / median / max   time median / max s  winner rank max"
        )
        everything = []
        for design, rows in fig15(args.max_evaluations).items():
            ratios = [r["ratio"] for r in rows]
            times = [r["seconds"] for r in rows]
            everything += times
            print(
                f"{design:48s} {len(rows):5d}  {min(ratios):.4f} / {statistics.median(ratios):.4f}"
                f" / {max(ratios):.4f}   {statistics.median(times):.3f} / {max(times):.3f}"
                f"          {max(r['rank'] for r in rows)}"
            )
        print(
            f"all {len(everything)} cases: time median {statistics.median(everything):.3f} s, "
            f"max {max(everything):.3f} s"
        )
    if "timeloop" not in args.skip:
        print("\ntimeloop-mapper (random-pruned, victory 500, 2 threads) on " + TIMELOOP_LAYER)
        print(
            f"{'design':48s} EDP ratio (sparsim model / Timeloop's)  mapper s  timeloop s  speed-up"
        )
        for row in timeloop_comparison(args.run_timeloop, args.max_evaluations):
            print(
                f"{row['design']:48s} {row['ratio']:.4f} / {row['ratio_own_model']:.4f}"
                f"                  {row['seconds']:.3f}   {row['timeloop_seconds']:9.1f}"
                f"  {row['speedup']:8.0f}x"
            )
    if "resnet" not in args.skip:
        seconds, mapped, shapes = resnet(args.max_evaluations)
        print(
            f"\nResNet-50: {mapped} layer x design mappings ({shapes} distinct searches, the "
            f"rest cached) mapped and evaluated in {seconds:.2f} s"
        )


if __name__ == "__main__":
    main()
