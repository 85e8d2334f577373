"""Run the bad-input corpus (tests/robustness/corpus.py) through the real ``sparsim`` command
and count the outcomes: clean one-line errors, tracebacks, hangs, answers given to bad input.

Each case runs in its own process with a timeout, so a hang is counted, not suffered.
Usage: ``python scripts/robustness_corpus.py [--timeout 20] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.robustness.corpus import CASES, Case, materialise  # noqa: E402


def classify(case: Case, tmp: Path, timeout: float) -> tuple[str, str]:
    env_path = str(ROOT / "src")
    command = [sys.executable, "-m", "sparsim", *case.resolved(tmp)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
            errors="replace",
        )
    except subprocess.TimeoutExpired:
        return "hang", f"no answer in {timeout:g} s"
    err = done.stderr.strip().splitlines()
    if "Traceback" in done.stderr:
        return "traceback", err[-1] if err else ""
    if done.returncode == 0:
        return "answered", (done.stdout.strip().splitlines() or [""])[0][:100]
    if done.returncode == 2 and len(err) == 1 and err[0].startswith("sparsim: error:"):
        return "clean", err[0]
    return "other", f"exit {done.returncode}: {' | '.join(err)[:200]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        materialise(tmp)
        with ThreadPoolExecutor(args.jobs) as pool:
            outcomes = list(pool.map(lambda c: classify(c, tmp, args.timeout), CASES))
    counts = Counter(kind for kind, _ in outcomes)
    for case, (kind, detail) in zip(CASES, outcomes, strict=True):
        if args.verbose or kind != "clean":
            print(f"{kind:9s} {case.name}: {detail}")
    print(
        f"{len(CASES)} bad inputs: {counts['clean']} clean, {counts['traceback']} tracebacks, "
        f"{counts['hang']} hangs, {counts['answered']} answered (exit 0), "
        f"{counts['other']} other"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
