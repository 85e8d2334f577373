"""Count what mutated inputs do to sparsim: clean typed errors, finite results, tracebacks
(any other exception), non-finite or negative results, and hangs.

Each mutation changes one value of the example spec, of the small Sparseloop case in
tests/robustness/data or of a fig15 case from ../shared (when present): replaced by an odd
value (tests/robustness/corpus.py: ODD_SCALARS), deleted, or joined by an unknown key.
Mutations are numbered and reproducible (mutation i uses random.Random(i)).
Usage: ``python scripts/robustness_fuzz.py [--count 1000] [--verbose]``; run it with
``PYTHONPATH=<another tree>/src`` to count an older sparsim on the same mutations.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sparsim.errors import SparsimError  # noqa: E402
from sparsim.evaluate import evaluate, load  # noqa: E402
from tests.robustness.corpus import EXAMPLE, ODD_SCALARS, key_paths  # noqa: E402

SMALL_CASE = ROOT / "tests" / "robustness" / "data" / "small-case"
FIG15_CASE = (
    ROOT.parent
    / "shared/reference/sparseloop-micro22/fig15/cases/WD-0.5"
    / "M512-K256-N1024-IAD0.82-WD0.5/STC-RF2x-24-bandwidth"
)
CASE_FILES = ("aggregated_input.yaml", "ERT.yaml", "map.yaml")
TIMEOUT_S = 10


class Hang(Exception):
    pass


def _mutate(rng: random.Random, document: Any) -> Any:
    copy = yaml.safe_load(yaml.safe_dump(document))
    path = rng.choice(key_paths(copy))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    action = rng.choice(["replace", "replace", "replace", "delete", "add key"])
    if action == "delete":
        del parent[path[-1]]
    elif action == "add key" and isinstance(parent[path[-1]], dict):
        parent[path[-1]][rng.choice(["extra", "levels", "keep", "name"])] = rng.choice(ODD_SCALARS)
    else:
        parent[path[-1]] = rng.choice(ODD_SCALARS)
    return copy


def _finite(node: Any) -> bool:
    if isinstance(node, dict):
        return all(_finite(v) for v in node.values())
    if isinstance(node, list):
        return all(_finite(v) for v in node)
    if isinstance(node, int | float) and not isinstance(node, bool):
        return math.isfinite(node) and node >= 0
    return True


def _outcome(path: Path) -> tuple[str, str]:
    def expire(signum: int, frame: object) -> None:
        raise Hang

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(TIMEOUT_S)
    try:
        result = evaluate(load(path))
    except SparsimError as exc:
        return "clean error", str(exc)[:120]
    except Hang:
        return "hang", ""
    except Exception as exc:  # what this script counts: anything but a typed error
        return "traceback", f"{type(exc).__name__}: {exc}"[:160]
    finally:
        signal.alarm(0)
    if not _finite(result.to_dict()):
        return "non-finite result", f"energy {result.energy_pJ} pJ, cycles {result.cycles}"
    return "result", ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    sources: list[tuple[str, Path | None]] = [("spec", None), ("small case", SMALL_CASE)]
    if FIG15_CASE.is_dir():
        sources.append(("fig15 case", FIG15_CASE))
    example = yaml.safe_load(EXAMPLE.read_text())
    counts: Counter[str] = Counter()
    by_source: Counter[tuple[str, str]] = Counter()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for i in range(args.count):
            rng = random.Random(i)
            label, case = sources[i % len(sources)]
            if case is None:
                target = tmp / f"spec-{i}.yaml"
                target.write_text(yaml.safe_dump(_mutate(rng, example), sort_keys=False))
            else:
                target = tmp / f"case-{i}"
                shutil.copytree(case, target, ignore=shutil.ignore_patterns("output"))
                name = rng.choice(CASE_FILES)
                document = yaml.safe_load((case / name).read_text())
                (target / name).write_text(yaml.safe_dump(_mutate(rng, document)))
            kind, detail = _outcome(target)
            counts[kind] += 1
            by_source[(label, kind)] += 1
            if args.verbose or kind in ("traceback", "hang", "non-finite result"):
                print(f"{i:5d} {label:10s} {kind}: {detail}")
    for label, _ in sources:
        row = {k: n for (src, k), n in by_source.items() if src == label}
        print(f"{label}: {sum(row.values())} mutations, {row}")
    print(
        f"{args.count} mutated inputs: {counts['clean error']} clean errors, "
        f"{counts['result']} finite results, {counts['traceback']} tracebacks, "
        f"{counts['non-finite result']} non-finite/negative results, {counts['hang']} hangs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
