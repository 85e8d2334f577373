"""``sparsim map``: find the best mapping of a workload on an accelerator, under Timeloop
v0.3 mapspace constraints, with the full sparse model."""

from __future__ import annotations

import argparse
import json
import sys

import yaml

from sparsim.cli.options import at_least, check_output, within
from sparsim.designs.mapper import DEFAULT_EVALUATIONS, MapResult, load_problem, map_spec
from sparsim.errors import SpecError
from sparsim.io import atomic_write_text
from sparsim.report.tables import format_table, result_table
from sparsim.spec.constraints import load_constraints

MAX_TIME_BUDGET_S = 86_400  # a day: beyond it a budget is no budget


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "map",
        help="find the best mapping of a workload on an accelerator (sparse-aware mapper)",
        description=(
            "Map each input anew and evaluate the best mapping with the full sparse model, "
            "for any problem shape (a GEMM, a 7-D convolution with strides, a depthwise "
            "layer, ...). An input is a Sparseloop/Timeloop v0.3 case directory (its files "
            "in any layout, e.g. arch/, prob/, constraints/ subfolders; a mapping in it is "
            "ignored), a sparsim spec YAML file (workload, architecture, densities, "
            "sparse_optimizations; a mapping in it is ignored; Timeloop "
            "architecture_constraints / mapspace_constraints sections in it are used), or a "
            "design file (title, architecture, constraints, ...) on the layer its workload "
            "names, such as src/sparsim/designs/library/eyeriss-like.yaml. "
            "Constraints name the problem's own dimensions and tensors."
        ),
        epilog=(
            "examples:\n"
            "  sparsim map case_dir/ --constraints dataflow-constraints.yaml\n"
            "  sparsim map conv_case/ --constraints arch_constraints.yaml map_constraints.yaml\n"
            "  sparsim map my_accelerator.yaml --objective energy --top-k 5\n"
            "  sparsim map my_accelerator.yaml --save-spec mapped.yaml && "
            "sparsim evaluate mapped.yaml"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="CASE_DIR_OR_SPEC",
        help="case directory, spec .yaml or design file",
    )
    parser.add_argument(
        "--constraints",
        nargs="+",
        metavar="FILE.yaml",
        help="Timeloop v0.3 mapspace constraints (architecture_constraints: targets: [...]), "
        "one file or several (an architecture's and a mapspace's); they replace any "
        "constraints the inputs carry",
    )
    parser.add_argument(
        "--objective",
        default="edp",
        metavar="edp|edap|energy|cycles",
        help="what to minimise: edp (default), edap (energy x delay x area: the same "
        "mapping as edp, as the area is the hardware's; reported to compare designs), "
        "energy, cycles, or weights such as energy=1,cycles=2 (energy^1 x cycles^2)",
    )
    parser.add_argument(
        "--top-k", type=int, default=3, metavar="K", help="runners-up to report (default 3)"
    )
    parser.add_argument(
        "--max-evaluations",
        type=int,
        default=DEFAULT_EVALUATIONS,
        metavar="N",
        help=f"candidates scored with the full model, best-ranked first (default "
        f"{DEFAULT_EVALUATIONS})",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="stop scoring candidates after this long (per input)",
    )
    parser.add_argument(
        "--save-spec",
        metavar="FILE.yaml",
        help="write the mapped spec (one input only); `sparsim evaluate FILE.yaml` gives the "
        "same numbers",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per input and line: the keys of `sparsim evaluate --json` "
        "(case, cycles, energy_uJ, computes, levels) plus mapping and search",
    )
    parser.set_defaults(func=run)


def _check_options(args: argparse.Namespace) -> None:
    at_least(args.top_k, 1, "--top-k")
    at_least(args.max_evaluations, 1, "--max-evaluations")
    within(args.time_budget, 0, MAX_TIME_BUDGET_S, "--time-budget", open_low=True)
    if args.save_spec is not None and len(args.inputs) > 1:
        raise SpecError("writes one spec: give one input", "--save-spec")
    check_output(args.save_spec, "--save-spec")


def _search_summary(found: MapResult) -> dict:
    return {
        **found.stats(),
        "notes": list(found.notes),
        "alternatives": [
            {
                "energy_uJ": alt.result.energy_uJ,
                "cycles": alt.result.cycles,
                "score": alt.score,
                "mapping": alt.spec.mapping.model_dump(mode="json", exclude_none=True),
            }
            for alt in found.alternatives
        ],
    }


def _text(label: str, found: MapResult) -> str:
    problem = found.spec.problem
    sizes = " ".join(f"{dim}={size}" for dim, size in problem.instance.items())
    lines = [
        result_table(found.result).replace(found.result.name, f"{label} ({found.result.name})", 1),
        f"problem: {problem.shape.name}, {sizes}",
    ]
    rows = []
    for level in found.spec.mapping.levels:
        rows.append(
            [
                level.level,
                " ".join(f"{d}{f}" for d, f in level.temporal.items()) or "-",
                level.temporal_permutation or "-",
                " ".join(f"{d}{f}" for d, f in level.spatial.items()) or "-",
                ",".join(level.keep or []) or "-",
            ]
        )
    lines.append(format_table(rows, ["level", "temporal", "order", "spatial", "keeps"]))
    for rank, alt in enumerate(found.alternatives, start=2):
        lines.append(
            f"#{rank}: {alt.result.energy_uJ:.2f} uJ, {alt.result.cycles:.0f} cycles "
            f"({found.objective} {alt.score / found.score:.3f}x the best)"
        )
    pruned = ", ".join(f"{reason} {count}" for reason, count in found.pruned.items())
    lines.append(
        f"mapspace: {found.considered} mappings considered, {found.evaluated} scored with "
        f"the full model in {found.seconds:.2f} s; pruned: {pruned or 'none'}"
    )
    lines.extend(f"note: {note}" for note in found.notes)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    _check_options(args)
    constraints = load_constraints(*args.constraints) if args.constraints else None
    problems = [(path, *load_problem(path)) for path in args.inputs]
    # Map everything first: nothing is printed or written for a run that fails.
    found = [
        (
            path,
            map_spec(
                problem,
                constraints or own,
                objective=args.objective,
                top_k=args.top_k,
                max_evaluations=args.max_evaluations,
                time_budget=args.time_budget,
                progress=None if sys.stderr.isatty() else False,  # no bar in a log file
            ),
        )
        for path, problem, own in problems
    ]
    if args.save_spec is not None:
        spec = found[0][1].spec
        text = yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True), sort_keys=False)
        atomic_write_text(args.save_spec, text)
    for label, result in found:
        if args.json:
            print(
                json.dumps(
                    {
                        "case": label,
                        **result.result.to_dict(),
                        "mapping": result.spec.mapping.model_dump(mode="json", exclude_none=True),
                        "search": _search_summary(result),
                    }
                )
            )
        else:
            print(_text(label, result))
            print()
    sys.stdout.flush()
    return 0
