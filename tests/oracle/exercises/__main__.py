"""sparsim on the exercise and artifact corpora, case by case.

    PYTHONPATH=$PWD/src python -m tests.oracle.exercises [--quiet]

Prints the corpus (cases by architecture, problem shape and feature), then per case whether
sparsim loaded it or refused it (with its error), its energy and cycles beside the
reference (public Timeloop for the exercises; the artifact's published stats for the
artifact's workspaces) and its worst area error over the levels, and how many agree within
0.1% and 1%; for the cases Timeloop
refuses, whether sparsim refuses them too.
"""

from __future__ import annotations

import argparse

from tests.oracle.exercises.corpus import (
    ERROR_FILE,
    Outcome,
    accepted_cases,
    artifact_cases,
    case_name,
    describe_counts,
    meta,
    reference,
    rejected_cases,
    relative_error,
    run_sparsim,
)

WITHIN = (1e-3, 1e-2)


def _table(title: str, counts: dict[str, int]) -> None:
    print(f"  {title}:")
    for value, count in counts.items():
        print(f"    {count:4d}  {value}")


def corpus_table() -> None:
    cases = accepted_cases()
    print(f"Exercise corpus: {len(cases)} cases Timeloop runs, {len(rejected_cases())} it refuses")
    _table("by architecture", describe_counts(cases, lambda m: [m["architecture"]]))
    _table("by problem shape", describe_counts(cases, lambda m: [m["covers"]["shape"]]))
    _table(
        "by feature",
        describe_counts(cases, lambda m: m["covers"]["features"] or ["dense, temporal only"]),
    )
    artifact = artifact_cases()
    with_published = [c for c in artifact if (c / "published.json").exists()]
    with_timeloop = [c for c in artifact if (c / "timeloop.json").exists()]
    print(
        f"Artifact workspaces: {len(artifact)} cases, {len(with_published)} with published "
        f"stats, {len(with_timeloop)} that public Timeloop runs"
    )
    _table("by workspace", describe_counts(artifact, lambda m: [m["architecture"]]))


def _compare(outcomes: list[Outcome], verbose: bool) -> None:
    within = {(figure, tol): 0 for figure in ("energy", "cycles", "area") for tol in WITHIN}
    worst_area = 0.0
    loaded = refused = crashed = 0
    for outcome in outcomes:
        label, ref = reference(outcome.case) or ("none", None)
        name = case_name(outcome.case)
        if not outcome.loaded:
            crashed += outcome.crashed
            refused += not outcome.crashed
            if verbose:
                kind = "CRASHED" if outcome.crashed else "refused"
                print(f"  {kind:8} {name}: {outcome.error.splitlines()[0][:160]}")
            continue
        loaded += 1
        if ref is None:
            if verbose:
                print(f"  loaded   {name}: no reference figures")
            continue
        energy = relative_error(outcome.energy_pJ, ref["energy_pJ"])
        cycles = relative_error(outcome.cycles, ref["cycles"])
        for tol in WITHIN:
            within[("energy", tol)] += energy <= tol
            within[("cycles", tol)] += cycles <= tol
        area = max(outcome.area_errors.values())
        worst_area = max(worst_area, area)
        for tol in WITHIN:
            within[("area", tol)] += area <= tol
        if verbose:
            print(
                f"  loaded   {name}: energy {outcome.energy_pJ:.6g} pJ vs {label} "
                f"{ref['energy_pJ']:.6g} ({energy:+.2%}), cycles {outcome.cycles:.6g} vs "
                f"{ref['cycles']:.6g} ({cycles:+.2%}), area (every level) within {area:.2%}"
            )
    total = len(outcomes)
    print(f"  {loaded}/{total} loaded, {refused} refused, {crashed} crashed")
    for (figure, tol), count in within.items():
        print(f"  {figure} within {tol:.1%}: {count}/{total}")
    print(f"  area: largest relative error over every level and total {worst_area:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quiet", action="store_true", help="counts only, no per-case lines")
    args = parser.parse_args()
    corpus_table()
    print("\nExercise cases Timeloop runs (sparsim vs public Timeloop):")
    _compare([run_sparsim(case) for case in accepted_cases()], not args.quiet)
    print("\nExercise cases Timeloop refuses (sparsim should refuse them too):")
    agree = 0
    rejected = rejected_cases()
    for case in rejected:
        outcome = run_sparsim(case)
        timeloop = (case / ERROR_FILE).read_text().strip()
        agree += not outcome.loaded and not outcome.crashed
        if not args.quiet:
            mine = (
                f"sparsim accepts it (energy {outcome.energy_pJ:.6g} pJ)"
                if outcome.loaded
                else f"sparsim {'CRASHES' if outcome.crashed else 'refuses'}: "
                f"{outcome.error.splitlines()[0][:120]}"
            )
            print(f"  {case.name} [{meta(case)['rejected_because']}]")
            print(f"      Timeloop: {timeloop[:140]}")
            print(f"      {mine}")
    print(f"  sparsim refuses {agree}/{len(rejected)}")
    print("\nArtifact workspaces (sparsim vs the artifact's published stats):")
    _compare([run_sparsim(case) for case in artifact_cases()], not args.quiet)


if __name__ == "__main__":
    main()
