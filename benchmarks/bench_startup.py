"""One case per process, as people script Timeloop: whole-process CPU time (user + system,
from ``os.wait4``) of ``sparsim evaluate CASE`` against ``timeloop-model`` on the same five
fig15 cases of the MICRO'22 artifact, runs alternating, medians per case; and of
``sparsim --help``.

Goals (issue 22): the median over the cases of sparsim's CPU / timeloop-model's CPU at most
2.0; ``sparsim --help`` under 0.1 s CPU. The five cases are the four designs the public
Timeloop runs (TC, STC, STC-flexible, STC-flexible with RLE; it has no DSTC skipping and
takes minutes on the dual-compress cases), on four layers and four weight densities, TC
twice. With ``../shared/tools/timeloop`` absent, sparsim's times are set against
timeloop-model's committed figures (``benchmarks/fixtures/timeloop_model_cpu.json``,
written by ``--record``, which needs the tool).

sparsim is timed as installed: its modules compiled to bytecode first (an editable install
under ``PYTHONDONTWRITEBYTECODE=1`` would otherwise compile them from source in every
process, ~0.09 s more; ``--from-source`` times that).

    python benchmarks/bench_startup.py [--runs N] [--record] [--from-source]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import sparsim

ROOT = Path(__file__).resolve().parents[1]
CASES_ROOT = ROOT.parent / "shared" / "reference" / "sparseloop-micro22" / "fig15" / "cases"
TIMELOOP = ROOT.parent / "shared" / "tools" / "timeloop" / "timeloop-model"
FIXTURE = ROOT / "benchmarks" / "fixtures" / "timeloop_model_cpu.json"
CASES = (
    "WD-0.5/M512-K256-N1024-IAD0.82-WD0.5/TC-RF2x-24-bandwidth",
    "WD-0.5/M512-K256-N1024-IAD0.82-WD0.5/STC-RF2x-24-bandwidth",
    "WD-0.3333/M128-K1152-N1024-IAD0.44-WD0.3333/STC_flexible-RF2x-24-bandwidth",
    "WD-0.25/M512-K1024-N256-IAD0.27-WD0.25/STC_flexible-RF2x-24-bandwidth-RLE",
    "WD-1.0/M512-K128-N1024-IAD0.56-WD1.0/TC-RF2x-24-bandwidth",
)
TIMELOOP_INPUTS = ("aggregated_input.yaml", "ERT.yaml", "ART.yaml", "map.yaml")


def sparsim_command() -> list[str]:
    """The ``sparsim`` console script of this environment (what users type)."""
    script = Path(sys.executable).with_name("sparsim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sparsim"]


def process_cpu(command: list[str], cwd: Path | None = None) -> float:
    """User + system CPU seconds of one run of ``command`` (the process alone)."""
    child = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {child.stderr.read() if child.stderr else ''}")
    return usage.ru_utime + usage.ru_stime


def timeloop_command(case: Path) -> list[str]:
    return [str(TIMELOOP), *(str(case / name) for name in TIMELOOP_INPUTS)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per case and tool")
    parser.add_argument(
        "--record", action="store_true", help="write timeloop-model's times to the fixture"
    )
    parser.add_argument(
        "--from-source", action="store_true", help="do not compile sparsim to bytecode first"
    )
    args = parser.parse_args()
    cases = [CASES_ROOT / case for case in CASES]
    if not all(case.is_dir() for case in cases):
        sys.exit(f"the fig15 cases are not under {CASES_ROOT}")
    have_timeloop = TIMELOOP.exists()
    if args.record and not have_timeloop:
        sys.exit(f"--record needs {TIMELOOP}")
    if not args.from_source:
        compileall.compile_dir(Path(sparsim.__file__).parent, quiet=1)
    recorded = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else None
    if not have_timeloop and recorded is None:
        sys.exit(f"neither {TIMELOOP} nor {FIXTURE}")
    command = sparsim_command()
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before; median of "
        f"{args.runs} runs per case; timeloop-model "
        + ("run here, alternating with sparsim" if have_timeloop else f"from {FIXTURE.name}")
    )
    print(f"{'case':<76} {'sparsim s':>9} {'timeloop s':>10} {'ratio':>6}")
    ratios, timeloop_times = [], {}
    with tempfile.TemporaryDirectory() as scratch:  # timeloop-model writes its outputs here
        for name, case in zip(CASES, cases, strict=True):
            ours, theirs = [], []
            process_cpu([*command, "evaluate", str(case)])  # warm the file cache
            for _ in range(args.runs):
                ours.append(process_cpu([*command, "evaluate", str(case)]))
                if have_timeloop:
                    theirs.append(process_cpu(timeloop_command(case), cwd=Path(scratch)))
            mine = statistics.median(ours)
            if have_timeloop:
                timeloop_times[name] = statistics.median(theirs)
            reference = timeloop_times[name] if have_timeloop else recorded["cpu_s"][name]
            ratios.append(mine / reference)
            print(f"{name:<76} {mine:>9.3f} {reference:>10.3f} {ratios[-1]:>6.2f}")
    help_cpu = statistics.median(process_cpu([*command, "--help"]) for _ in range(args.runs))
    print(f"median ratio sparsim / timeloop-model: {statistics.median(ratios):.2f} (goal <= 2.0)")
    print(f"sparsim --help: {help_cpu:.3f} s CPU (goal < 0.1 s)")
    print(f"load average after {os.getloadavg()[0]:.2f}")
    if args.record:
        FIXTURE.write_text(
            json.dumps(
                {
                    "tool": "timeloop-model (public Timeloop 788bb30, ../shared/tools/timeloop)",
                    "measure": f"user+system CPU seconds per process, median of {args.runs}",
                    "load_average": round(os.getloadavg()[0], 2),
                    "cpu_s": {name: round(t, 4) for name, t in timeloop_times.items()},
                },
                indent=1,
            )
            + "\n"
        )
        print(f"wrote {FIXTURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
