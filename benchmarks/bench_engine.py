"""Evaluate all 96 fig15 Sparseloop cases in one process; print total and per-case times,
the evaluation's CPU time (steadier than wall time on a shared machine), and each case's
mapping evaluated at a 20 x 15 grid of densities in one ``evaluate_densities`` call.

Goal (issue 2): under 1 s in total on 2 cores (imports excluded), no case over 20 ms.
Usage: python benchmarks/bench_engine.py [PATH_TO_fig15/cases]
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

from sparsim.evaluate import evaluate, evaluate_densities, load

DEFAULT = (
    Path(__file__).resolve().parents[1].parent / "shared/reference/sparseloop-micro22/fig15/cases"
)


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    cases = sorted(p for p in root.glob("*/*/*") if p.is_dir())
    if not cases:
        sys.exit(f"no cases under {root}")
    rows = []
    gc.freeze()  # as the CLI does: module objects never become garbage, skip them in GC passes
    start = time.perf_counter()
    cpu = 0.0
    for case in cases:
        t0 = time.perf_counter()
        spec = load(case)
        t1 = time.perf_counter()
        c1 = time.process_time()
        result = evaluate(spec)
        cpu += time.process_time() - c1
        t2 = time.perf_counter()
        rows.append((case.relative_to(root), t1 - t0, t2 - t1, result, spec))
    total = time.perf_counter() - start
    for name, t_load, t_eval, result, _ in rows:
        print(
            f"{name!s:80s} load {t_load * 1e3:6.2f} ms  eval {t_eval * 1e3:6.2f} ms  "
            f"{result.cycles:>9,.0f} cycles {result.energy_uJ:9.2f} uJ"
        )
    loads = [r[1] for r in rows]
    evals = [r[2] for r in rows]
    per_case = [a + b for a, b in zip(loads, evals, strict=True)]
    print(
        f"\n{len(rows)} cases: total {total:.3f} s (YAML loading {sum(loads):.3f} s, "
        f"evaluation {sum(evals):.3f} s); slowest case {max(per_case) * 1e3:.1f} ms "
        f"(evaluation alone {max(evals) * 1e3:.1f} ms); evaluation CPU {cpu:.3f} s"
    )
    grid = [
        {"A": str(round(0.05 * a, 2)), "B": str(round(0.1 + 0.06 * b, 2))}
        for a in range(1, 21)
        for b in range(15)
    ]
    start = time.process_time()
    for *_, spec in rows:
        evaluate_densities(spec, grid)
    batch = time.process_time() - start
    points = len(rows) * len(grid)
    print(
        f"each case's mapping at a 20 x 15 density grid: {points:,} points in "
        f"{batch:.2f} CPU s ({1e6 * batch / points:.0f} us per point, "
        f"{points / batch:,.0f} points per CPU s)"
    )


if __name__ == "__main__":
    main()
