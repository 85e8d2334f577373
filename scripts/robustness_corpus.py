"""Run a bad-input corpus through the real ``sparsim`` command (and the Python API in a fresh
interpreter) and count the outcomes: clean one-line errors, tracebacks, hangs, answers
given to bad input, and cases that changed or left files.

``--corpus bad-inputs`` is tests/robustness/corpus.py; ``--corpus hostile`` is
tests/robustness/hostile.py (printed per class). Each case runs in its own process with a
timeout, so a hang is counted, not suffered. ``--src`` runs another checkout's sparsim (its
``src`` folder) on the same corpus, e.g. to count what an older version did.
Usage: ``python scripts/robustness_corpus.py [--corpus hostile] [--timeout 20] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.robustness import corpus, hostile  # noqa: E402
from tests.robustness.conftest import tree  # noqa: E402

# The API snippet's outcome, in the child: exit 2 and one line for a typed error.
API_RUNNER = """\
import sys
code = sys.stdin.read()
try:
    exec(compile(code, "case", "exec"), {})
except Exception as exc:
    from sparsim.errors import SparsimError
    if not isinstance(exc, SparsimError):
        raise
    print(f"sparsim: error: {exc}", file=sys.stderr)
    sys.exit(2)
print("answered")
"""


def _environment(src: Path) -> dict[str, str]:
    return {
        "PYTHONPATH": str(src),
        "PATH": "/usr/bin:/bin",
        "OMP_NUM_THREADS": "1",
        "HOME": os.environ.get("HOME", "/tmp"),
    }


def _run(
    command: list[str], src: Path, timeout: float, cwd: Path, stdin: str = ""
) -> tuple[str, str]:
    """The case's outcome. It runs in ``cwd`` (what it writes by a relative or empty name
    lands there, not in this checkout) and in a session of its own: on a timeout the whole
    session is killed, and processes it leaves behind (orphaned workers) are counted."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(src),
        errors="replace",
        start_new_session=True,
        cwd=cwd,
    )
    try:
        out, err_text = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_session(process.pid)
        process.communicate()
        return "hang", f"no answer in {timeout:g} s"
    if _kill_session(process.pid):
        return "left processes", "processes of the run outlived it"
    err = err_text.strip().splitlines()
    if "Traceback" in err_text:
        return "traceback", err[-1] if err else ""
    if process.returncode == 0:
        return "answered", (out.strip().splitlines() or [""])[0][:100]
    if process.returncode == 2 and len(err) == 1 and err[0].startswith("sparsim: error:"):
        return "clean", err[0]
    return "other", f"exit {process.returncode}: {' | '.join(err)[:200]}"


def _kill_session(session: int) -> bool:
    """Kill what is left of a session; whether anything was alive (zombies, exited and
    waiting for their new parent to reap them, do not count)."""
    alive = False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session and fields[0] != "Z":  # fields[3]: process group
            alive = True
    with contextlib.suppress(ProcessLookupError):
        os.killpg(session, signal.SIGKILL)
    return alive


def classify_bad_input(case: corpus.Case, tmp: Path, src: Path, timeout: float) -> tuple[str, str]:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "sparsim", *case.resolved(tmp)]
        return _run(command, src, timeout, Path(folder))


def classify_hostile(
    case: hostile.Case, tmp: Path, src: Path, timeout: float
) -> tuple[str, str, bool]:
    """(outcome, detail, whether the case changed the inputs or left files behind)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        before = tree(tmp)
        if case.argv:
            command = [sys.executable, "-m", "sparsim", *case.resolved_argv(tmp, out)]
            kind, detail = _run(command, src, timeout, out)
        else:
            code = hostile.PRELUDE + case.resolved_code(tmp, out)
            runner = [sys.executable, "-c", API_RUNNER]
            kind, detail = _run(runner, src, timeout, out, stdin=code)
        changed = tree(tmp) != before or bool(os.listdir(out))
    return kind, detail, changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", choices=("bad-inputs", "hostile"), default="bad-inputs")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="sparsim's src folder")
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args()
    src = args.src.resolve()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if args.corpus == "bad-inputs":
            corpus.materialise(tmp)
            cases = corpus.CASES
            with ThreadPoolExecutor(args.jobs) as pool:
                outcomes = [
                    (*o, False)
                    for o in pool.map(
                        lambda c: classify_bad_input(c, tmp, src, args.timeout), cases
                    )
                ]
        else:
            hostile.materialise(tmp)
            cases = hostile.CASES
            with ThreadPoolExecutor(args.jobs) as pool:
                outcomes = list(
                    pool.map(lambda c: classify_hostile(c, tmp, src, args.timeout), cases)
                )
    for case, (kind, detail, changed) in zip(cases, outcomes, strict=True):
        if args.verbose or kind != "clean" or changed:
            print(f"{kind:9s} {'CHANGED ' if changed else ''}{case.name}: {detail}")
    by_class: dict[str, Counter] = {}
    for case, (kind, _, changed) in zip(cases, outcomes, strict=True):
        counts = by_class.setdefault(getattr(case, "klass", "bad inputs"), Counter())
        counts[kind] += 1
        counts["changed"] += changed
    print()
    for klass, counts in [*by_class.items(), ("all", sum(by_class.values(), Counter()))]:
        kinds = ("clean", "traceback", "hang", "answered", "left processes", "other")
        total = sum(counts[k] for k in kinds)
        print(
            f"{klass}: {total} cases, {counts['clean']} clean, {counts['traceback']} "
            f"tracebacks, {counts['hang']} hangs, {counts['answered']} answered (exit 0), "
            f"{counts['left processes']} left processes, {counts['other']} other, "
            f"{counts['changed']} changed or left files"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
