"""``sparsim compare``: every built-in design on one GEMM, side by side, against TC."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from sparsim.cli.options import add_density_option, parse_density_items
from sparsim.cost.result import Result
from sparsim.designs import design_names, get_design, scheme_for
from sparsim.designs.build import build_with_result
from sparsim.errors import SpecError
from sparsim.evaluate import density_label
from sparsim.report.tables import by_process, process_text
from sparsim.spec.workload import parse_gemm_shape

# ResNet50 layer of the fig15 study (conv as GEMM) with 2:4 weights and 82% dense inputs.
DEFAULT_GEMM = "M=512,K=256,N=1024"
DEFAULT_DENSITIES = {"A": "2:4", "B": "0.82"}
BASELINE = "tc"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare the built-in designs on one layer",
        description=(
            "Evaluate the built-in designs (dense tensor core TC, 2:4 sparse tensor core STC, "
            "flexible N:M STCs, TASD tensor cores TTC, dual-side sparse tensor core DSTC) on "
            "one GEMM and print cycles, energy, EDP (energy-delay product), computes, area (um^2 "
            "from the designs' area tables), throughput per mm^2 (the layer's MACs per cycle "
            "per mm^2, dense-equivalent; MAC: multiply-accumulate) and EDAP (energy x delay x area), with speedup, "
            "energy and area relative to the dense tensor core. Default: the ResNet50 layer "
            "M=512,K=256,N=1024 with 2:4 weights (A) and input activations (B) of density 0.82."
        ),
        epilog=(
            "examples:\n"
            "  sparsim compare\n"
            "  sparsim compare --gemm M=128,K=1152,N=1024 --density A=0.5 --density B=0.5 "
            "--designs tc,dstc --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--gemm", default=DEFAULT_GEMM, help=f"GEMM shape M=..,K=..,N=.. (default {DEFAULT_GEMM})"
    )
    add_density_option(parser, "A=2:4, B=0.82")
    parser.add_argument(
        "--designs",
        default=",".join(design_names()),
        help=(
            "comma-separated built-in designs or design files (docs/designs.md); "
            f"default all: {','.join(design_names())}"
        ),
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per design: the results schema (as evaluate --json) plus "
        "what the design ran the tensors as, throughput per mm^2 and the ratios against TC",
    )
    parser.set_defaults(func=run)


def _densities(items: list[str]) -> dict[str, str]:
    return parse_density_items(items) if items else dict(DEFAULT_DENSITIES)


def compare(gemm_text: str, density_items: list[str], design_text: str) -> list[dict]:
    """One row per design in the results schema (:meth:`sparsim.Result.to_dict`), with what
    the design ran the tensors as and ratios against TC (when TC is included)."""
    gemm = parse_gemm_shape(gemm_text)
    densities = _densities(density_items)
    chosen = [get_design(n) for n in filter(None, (s.strip() for s in design_text.split(",")))]
    if not chosen:
        raise SpecError("no design given", "--designs")
    twice = [design.name for i, design in enumerate(chosen) if design in chosen[:i]]
    if twice:
        raise SpecError(f"{twice[0]} is listed twice", "--designs")
    rows = []
    for design in chosen:
        spec, result = build_with_result(design, gemm, densities)
        result = replace(result, design=design.name, densities=densities)
        scheme = scheme_for(design, densities)
        rows.append(
            {
                **result.to_dict(),
                "description": design.description,
                "workload": spec.workload.name,
                "weights_as": density_label(scheme.weights),
                "activations_as": density_label(scheme.activations),
                "throughput_per_mm2": throughput_per_mm2(result),
                "technology": spec.architecture.technology,
            }
        )
    baseline = next((r for r in rows if r["design"] == BASELINE), None)
    for row in rows:
        if baseline:
            row["speedup_vs_tc"] = baseline["cycles"] / row["cycles"]
            row["energy_vs_tc"] = row["energy_uJ"] / baseline["energy_uJ"]
            row["area_vs_tc"] = _ratio(row["area_um2"], baseline["area_um2"])
    return rows


def throughput_per_mm2(result: Result) -> float | None:
    """The layer's MACs (algorithmic: dense-equivalent work) per cycle per mm^2."""
    area = result.area_mm2
    if not area or not result.cycles:
        return None
    return result.computes.algorithmic / result.cycles / area


def _ratio(value: float | None, baseline: float | None) -> float | None:
    return None if value is None or not baseline else value / baseline


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _table(rows: list[dict]) -> str:
    headers = ["design", "A as", "B as", "cycles", "energy uJ", "EDP (J*cyc)", "actual MACs"]
    headers += ["area mm2", "MAC/cyc/mm2", "EDAP"]
    with_ratios = "speedup_vs_tc" in rows[0]
    if with_ratios:
        headers += ["speedup", "energy/TC", "area/TC"]
    lines = []
    for row in rows:
        cells = [
            row["design"],
            row["weights_as"],
            row["activations_as"],
            f"{row['cycles']:,.0f}",
            f"{row['energy_uJ']:.2f}",
            f"{row['edp_J_cycles']:.3e}",
            f"{row['computes']['actual']:,.0f}",
            _number(row["area_um2"] and row["area_um2"] * 1e-6, ".3f"),
            _number(row["throughput_per_mm2"], ",.1f"),
            _number(row["edap_J_cycles_mm2"], ".3e"),
        ]
        if with_ratios:
            cells += [
                f"{row['speedup_vs_tc']:.2f}x",
                f"{row['energy_vs_tc']:.3f}",
                _number(row["area_vs_tc"], ".3f"),
            ]
        lines.append(cells)
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 3 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *(fmt(line) for line in lines)])


def run(args: argparse.Namespace) -> int:
    rows = compare(args.gemm, args.density, args.designs)
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    densities = _densities(args.density)
    print(
        f"GEMM {rows[0]['workload'].split(' ')[0]}, densities "
        + ", ".join(f"{t}={v}" for t, v in densities.items())
    )
    print(_table(rows))
    padded = {r["design"]: r["workload"] for r in rows if "padded" in r["workload"]}
    for name, workload in padded.items():
        print(f"note: {name} runs {workload}")
    processes = by_process((row["design"], row["technology"]) for row in rows)
    if len(processes) > 1:
        print(
            "note: the designs' area and energy tables come from different processes "
            f"({process_text(processes)}): their areas do not compare directly"
        )
    return 0
