"""Wall time of ``sparsim study tasd-hardware`` end to end (target: under 60 s on 2 idle
cores), in a fresh process each time so no cache is warm.

    python benchmarks/bench_tasd_hardware.py [--repeat 1] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\\n\\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    walls, cpus = [], []
    load_before = os.getloadavg()[0]  # the machine's load says how much wall time means
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as out:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sparsim",
                    "study",
                    "tasd-hardware",
                    "--out",
                    out,
                    "--no-progress",
                    "--jobs",
                    str(args.jobs),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    load_after = os.getloadavg()[0]
    print(
        f"tasd-hardware: wall {statistics.median(walls):.1f} s (median of {args.repeat}; "
        f"target < 60 s on 2 idle cores), CPU {statistics.median(cpus):.1f} s, "
        f"jobs {args.jobs}, load average {load_before:.1f} before, {load_after:.1f} after"
    )


if __name__ == "__main__":
    main()
