"""``sparsim evaluate``: run the accelerator model on Sparseloop case directories, sparsim
specs, or a built-in design on one GEMM."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from sparsim.cli.options import (
    add_density_option,
    check_output,
    only_with,
    parse_density_items,
)
from sparsim.errors import SpecError

if TYPE_CHECKING:
    from sparsim.spec.model import Spec


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="energy, cycles and computes of a workload on an accelerator",
        description=(
            "Evaluate Sparseloop case directories (each holding aggregated_input.yaml, "
            "ERT.yaml (energy reference table) and map.yaml), sparsim spec YAML files, or a built-in design on one "
            "GEMM (--design with --gemm and --density; the design's mapping heuristic picks "
            "the mapping). All inputs are evaluated in one process; the first bad input stops "
            "the run with a one-line error."
        ),
        epilog=(
            "examples:\n"
            "  sparsim evaluate case_dir/ other_case/ --json\n"
            "  find cases/ -name map.yaml -printf '%h\\n' | sparsim evaluate - --json\n"
            "  sparsim evaluate --design stc --gemm M=512,K=256,N=1024 "
            "--density A=2:4 --density B=0.82\n"
            "  sparsim evaluate --design dstc --gemm M=128,K=1152,N=1024 "
            "--density A=0.5 --save-spec dstc.yaml"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="CASE_DIR_OR_SPEC",
        help="Sparseloop case directory or sparsim spec .yaml; - reads them from standard "
        "input, one per line (many cases in one process: start-up is paid once)",
    )
    parser.add_argument(
        "--design",
        metavar="NAME",
        help="built-in design (tc, stc, stc-flexible, dstc, ...; `sparsim compare --help` lists them) or a design file, evaluated on --gemm",
    )
    parser.add_argument("--gemm", metavar="M=..,K=..,N=..", help="GEMM shape for --design")
    add_density_option(parser, "dense")
    parser.add_argument(
        "--save-spec",
        metavar="FILE.yaml",
        help="with --design: also write the built spec (mapping included) as sparsim YAML, "
        "ready to edit and evaluate again (- writes it to standard output)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per input and line: case, then the results schema (design, "
        "layer, density_A, density_B, energy_uJ, cycles, EDP (energy-delay product), computes, levels...)",
    )
    parser.set_defaults(func=run)


def _design_spec(args: argparse.Namespace) -> Spec:
    if not args.gemm:
        raise SpecError("--design needs a GEMM shape such as M=512,K=256,N=1024", "--gemm")
    from sparsim.designs import build  # only here: a spec or case needs no design catalog
    from sparsim.spec.workload import parse_gemm_shape

    return build(args.design, parse_gemm_shape(args.gemm), parse_density_items(args.density))


def _specs(args: argparse.Namespace) -> list[tuple[str, Spec]]:
    from sparsim.evaluate import load

    if args.design is None:
        only_with(
            "--design NAME",
            {"--gemm": args.gemm, "--density": args.density, "--save-spec": args.save_spec},
        )
        if not args.inputs:
            raise SpecError(
                "give case directories or spec files, or --design with --gemm", "evaluate"
            )
        return [(path, load(path)) for path in _input_names(args.inputs)]
    if args.inputs:
        raise SpecError(
            f"evaluates a built-in design or design file on --gemm; give either it or spec "
            f"files and case directories ({args.inputs[0]!r})",
            "--design",
        )
    check_output(args.save_spec, "--save-spec")
    return [(args.design, _design_spec(args))]


def _input_names(inputs: list[str]) -> list[str]:
    """The inputs, ``-`` replaced by the names on standard input (one per line)."""
    names = []
    for name in inputs:
        if name == "-":
            names += [line.strip() for line in sys.stdin if line.strip()]
        else:
            names.append(name)
    if not names:
        raise SpecError("no case directories or spec files on standard input", "-")
    return names


def run(args: argparse.Namespace) -> int:
    # The model does no linear algebra: numpy's OpenBLAS need not start a thread per core
    # (~30 ms of CPU in a one-case process). Only before numpy loads (a caller that has
    # numpy keeps its setting, as its child processes do); a user's value stays.
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from sparsim.evaluate import evaluate
    from sparsim.report.tables import result_table

    # Validate and evaluate everything first: nothing is printed for a run that fails.
    specs = _specs(args)
    results = [(label, evaluate(spec)) for label, spec in specs]
    if args.design is not None:  # the row says what the user asked for, not the spec's name
        label, result = results[-1]
        given = parse_density_items(args.density)
        from sparsim.designs import get_design

        results[-1] = (label, replace(result, design=get_design(args.design).name, densities=given))
    if args.save_spec is not None:
        import yaml

        from sparsim.io import atomic_write_text

        text = yaml.safe_dump(
            specs[-1][1].model_dump(mode="json", exclude_none=True), sort_keys=False
        )
        atomic_write_text(args.save_spec, text)
    for label, result in results:
        if args.json:
            print(json.dumps({"case": label, **result.to_dict()}))
        else:
            print(result_table(result).replace(result.name, f"{label} ({result.name})", 1))
            print()
    sys.stdout.flush()
    return 0
