"""``sparsim sweep``: a design-space sweep from a config file into a resumable Parquet store."""

from __future__ import annotations

import argparse
import textwrap

from sparsim.cli.options import path_value, show_progress

EXAMPLE = """\
config (sweep.yaml):
  designs: [tc, stc, stc-flexible, dstc]
  workloads: [{builtin: resnet50}, {gemm: "M=512,K=256,N=1024"}]
  densities: {A: [1.0, 0.5, "2:4"], B: [1.0, 0.8]}

examples:
  sparsim sweep sweep.yaml --out runs/a                 # local worker processes
  sparsim sweep sweep.yaml --out runs/a --workers 1     # in this process
  sparsim sweep sweep.yaml --out runs/a --backend dask --workers 4   # local Dask cluster
  sparsim sweep sweep.yaml --out runs/a --scheduler tcp://10.0.0.5:8786

See docs/sweep.md for every key (memories, zip, mapping, objectives, workload files).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="evaluate a design-space sweep into a resumable Parquet store",
        description=textwrap.fill(
            "Evaluate every point of a sweep config (designs x memories x workload layers x "
            "densities of A and B x mapping objectives; lists named under 'zip' advance "
            "together) and write one row per point (design, layer, density_A, density_B, "
            "energy_uJ, cycles, EDP (energy-delay product), computes, per-level energy...) as Parquet files under "
            "--out. Points already in --out are not evaluated again: rerun the same command "
            "after an interruption (even kill -9) to finish the sweep.",
            width=88,
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", type=path_value, metavar="CONFIG.yaml", help="the sweep config")
    parser.add_argument(
        "--out",
        required=True,
        type=path_value,
        metavar="DIR",
        help="results store (created if absent)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes (default: the available cores; 1 runs in this process)",
    )
    parser.add_argument(
        "--backend",
        choices=("processes", "dask"),
        help="local worker processes (default) or a local Dask cluster of --workers workers",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on the Dask cluster of this scheduler (its workers need sparsim installed)",
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=2000,
        metavar="N",
        help="rows per Parquet file written (default 2000; an interruption loses at most "
        "the rows not yet written, which a rerun computes)",
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="add this config's points to a store that holds another config's results "
        "(without it such a store is refused, so that no run mixes two configs' rows)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (there is none when standard error is not a terminal)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sparsim.sweep import sweep

    frame = sweep(
        args.config,
        args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        backend=args.backend,
        progress=show_progress(args),
        chunk_rows=args.chunk_rows,
        append=args.append,
    )
    failed = int((frame["error"] != "").sum()) if "error" in frame else 0
    note = f" ({failed} with no mapping that fits: see the error column)" if failed else ""
    print(f"{len(frame)} points in {args.out}{note}")
    return 0
