"""Record the area Timeloop reports for every fig15 case of the MICRO'22 artifact, as the
fixture ``tests/oracle/area/fig15.json``.

Two sources per case: public ``timeloop-model`` run on the case (every design but DSTC,
whose inputs it refuses), and, where the artifact ships its own run
(``output/timeloop-model.stats.txt``, the calibration layer), the artifact's build's
figures, which cover DSTC. Area is Timeloop's spec-time figure: per storage level its area
per instance (the ART) and over its instances, the compute's total, and their sum.

    python scripts/oracle/fig15_areas.py --work /tmp/fig15-area --jobs 2

``--work`` keeps the scratch copies and Timeloop's outputs, so a second run only runs the
cases without an outcome yet (``--collect`` runs none: it writes what is there).
Hypergeometric dual-compress cases can take Timeloop many minutes; a case over
``--timeout`` is left without public Timeloop's figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURE = REPO / "tests" / "oracle" / "area" / "fig15.json"
SHIPPED_STATS = Path("output") / "timeloop-model.stats.txt"


def _runner():
    spec = importlib.util.spec_from_file_location("run_oracle", HERE / "run_oracle.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def case_id(case: Path, cases: Path) -> str:
    """``WD-0.5/M512-K256-N1024-IAD0.82-WD0.5/TC-RF2x-24-bandwidth`` for a case folder."""
    return case.relative_to(cases).as_posix()


def areas(stats: dict) -> dict:
    """The area part of a ``timeloop.json`` document."""
    return {
        "compute": {
            "name": stats["compute"]["name"],
            "instances": stats["compute"]["instances"],
            "area_total_um2": stats["compute"]["area_total_um2"],
        },
        "levels": {
            name: {key: level[key] for key in ("instances", "area_um2", "area_total_um2")}
            for name, level in stats["levels"].items()
        },
        "area_um2": stats["area_um2"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_fig15 = REPO.parent / "shared" / "reference" / "sparseloop-micro22" / "fig15"
    parser.add_argument("--fig15", type=Path, default=default_fig15, help="the fig15 folder")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (kept)")
    parser.add_argument("--out", type=Path, default=FIXTURE, help="the JSON to write")
    parser.add_argument("--jobs", type=int, default=2, choices=(1, 2))
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per case")
    parser.add_argument("--collect", action="store_true", help="run nothing, write the JSON")
    args = parser.parse_args()
    run = _runner()
    cases_root = args.fig15 / "cases"
    cases = sorted(p.parent for p in cases_root.glob("*/*/*/ART.yaml"))
    scratch = {}
    for case in cases:
        folder = args.work / case_id(case, cases_root).replace("/", "--")
        folder.mkdir(parents=True, exist_ok=True)
        for name in run.CASE_FILES:
            shutil.copyfile(case / name, folder / name)
        scratch[case] = folder
    pending = [
        f
        for f in scratch.values()
        if not (f / run.RESULT_FILE).exists() and not (f / run.ERROR_FILE).exists()
    ]
    if args.collect:
        pending = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for folder, outcome, detail in pool.map(
            lambda f: run.run_case(f, run.TIMELOOP, args.timeout), pending
        ):
            print(f"{outcome:9} {folder.name} {detail}", flush=True)
    document = {}
    for case, folder in scratch.items():
        entry = {"timeloop": None, "published": None}
        if (folder / run.RESULT_FILE).exists():
            entry["timeloop"] = areas(json.loads((folder / run.RESULT_FILE).read_text()))
        if (case / SHIPPED_STATS).exists():
            inputs = yaml.safe_load((case / "aggregated_input.yaml").read_text())
            shipped = run.parse_stats((case / SHIPPED_STATS).read_text(), inputs)
            entry["published"] = areas(shipped)
        document[case_id(case, cases_root)] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    ran = sum(e["timeloop"] is not None for e in document.values())
    shipped = sum(e["published"] is not None for e in document.values())
    print(f"{len(document)} cases: {ran} run by public Timeloop, {shipped} with shipped stats")


if __name__ == "__main__":
    main()
