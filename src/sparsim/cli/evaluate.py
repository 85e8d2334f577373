"""``sparsim evaluate``: run the accelerator model on Sparseloop case directories or sparsim specs."""

from __future__ import annotations

import argparse
import json
import sys

from sparsim.evaluate import evaluate, load
from sparsim.report.tables import result_table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="energy, cycles and computes of a workload on an accelerator",
        description=(
            "Evaluate Sparseloop case directories (each holding aggregated_input.yaml, "
            "ERT.yaml and map.yaml) or sparsim spec YAML files. All inputs are evaluated in "
            "one process; the first bad input stops the run with a one-line error."
        ),
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="CASE_DIR_OR_SPEC", help="Sparseloop case directory or sparsim spec .yaml"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per input and line (case, cycles, energy_uJ, computes, levels)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Validate and evaluate everything first: nothing is printed for a run that fails.
    results = [(path, evaluate(load(path))) for path in args.inputs]
    for path, result in results:
        if args.json:
            print(json.dumps({"case": path, **result.to_dict()}))
        else:
            print(result_table(result).replace(result.name, f"{path} ({result.name})", 1))
            print()
    sys.stdout.flush()
    return 0
