"""Run the public Timeloop/Sparseloop ``timeloop-model`` on case directories and record its
figures as ``timeloop.json`` beside each case's inputs.

Each case runs in its own scratch folder (Timeloop writes its outputs into the current
folder) under a time limit; hypergeometric dual-compress cases can take minutes in
Timeloop, so a case over the limit is reported (and with ``--drop-failed`` removed, like
cases Timeloop rejects).

    python scripts/oracle/run_oracle.py tests/oracle/cases --jobs 2 --timeout 20

A case is a folder with ``aggregated_input.yaml``, ``ERT.yaml``, ``ART.yaml`` and
``map.yaml`` (the fig15-derived cases), or any set of Timeloop YAML files as people write
them (``arch/``, ``prob/``, ``map/`` ... with a ``meta.yaml`` beside them, as the exercise
corpus has): then every ``*.yaml`` in the folder but ``meta.yaml`` goes to Timeloop, in path
order.

The JSON holds, as Timeloop reports them: summary cycles and energy, the compute level's
computes (algorithmic/actual/gated/skipped), and per storage level its cycles, energy and
instances and per tensor the per-instance actual/gated/skipped reads, fills and updates,
the per-rank format (metadata, payload) units, the metadata storage accesses they amount
to, the utilised instances and the tensor's energy; the area of every level (per instance
and over its instances) and the total area, in um^2.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
TIMELOOP = next(
    (
        parent / "shared" / "tools" / "timeloop" / "timeloop-model"
        for parent in REPO.parents
        if (parent / "shared" / "tools" / "timeloop").is_dir()
    ),
    REPO.parent / "shared" / "tools" / "timeloop" / "timeloop-model",
)
CASE_FILES = ("aggregated_input.yaml", "ERT.yaml", "ART.yaml", "map.yaml")
META_FILE = "meta.yaml"
RESULT_FILE = "timeloop.json"
ERROR_FILE = "timeloop-error.txt"
KINDS = ("reads", "fills", "updates")
OUTCOMES = ("actual", "gated", "skipped")

_LEVEL = re.compile(r"^Level \d+\n-+\n=== (\S+) ===\n", re.M)
_VALUE = re.compile(r"^ *([A-Za-z(][^:\n]*?) *: *(-?[\d.]+(?:e[-+]?\d+)?)(?: \S+)?$", re.M)
_RANK = re.compile(r"Rank (\d+) \(metadata, payload\): \( *([\d.e+]+), *([\d.e+]+)\)")


def case_inputs(case: Path) -> list[Path]:
    """The files of a case that go to Timeloop: the four files of an aggregated case (its
    mapping may be inside ``aggregated_input.yaml``), else
    every YAML file in the folder but ``meta.yaml``, in path order."""
    if (case / CASE_FILES[0]).exists():
        return [case / name for name in CASE_FILES if (case / name).exists()]
    return sorted(
        p
        for p in case.rglob("*.yaml")
        if p.is_file() and p.name != META_FILE and not p.name.startswith(".")
    )


def merged_inputs(files: list[Path]) -> dict:
    """The top-level sections of a case's input files as one document. Timeloop reads the
    files concatenated; the first file giving a section gives it here."""
    merged: dict = {}
    for path in files:
        document = yaml.safe_load(path.read_text()) or {}
        if not isinstance(document, dict):
            raise ValueError(f"{path}: not a YAML mapping")
        for key, value in document.items():
            merged.setdefault(key, value)
    return merged


def _values(text: str) -> dict[str, float]:
    return {key: float(value) for key, value in _VALUE.findall(text)}


def _dense_names(values: dict[str, float]) -> dict[str, float]:
    """Timeloop prints a shorter, dense report when a case has no sparse optimisations
    ("Computes (total)", "Scalar reads (per-instance)", ...): name those figures as the
    sparse report does (every access actual, none gated or skipped)."""
    if "Computes (total)" in values:
        values["Algorithmic Computes (total)"] = values["Computes (total)"]
        values["Actual Computes (total)"] = values["Computes (total)"]
        values["Gated Computes (total)"] = values["Skipped Computes (total)"] = 0.0
    if "Utilized instances" in values:
        values["Utilized instances (max)"] = values["Utilized instances"]
    if "Utilized capacity" in values:
        values["Max utilized data storage capacity"] = values["Utilized capacity"]
    for kind in KINDS:
        dense = values.get(f"Scalar {kind} (per-instance)")
        if dense is not None:
            values[f"Algorithmic scalar {kind} (per-instance)"] = dense
            values[f"Actual scalar {kind} (per-instance)"] = dense
            values[f"Gated scalar {kind} (per-instance)"] = 0.0
            values[f"Skipped scalar {kind} (per-instance)"] = 0.0
    values.setdefault("Utilized instances (average)", values.get("Utilized instances (max)"))
    return values


def _tensor_blocks(stats: str) -> dict[str, str]:
    """Per-tensor text blocks of a storage level's STATS section (4-space indented names)."""
    heads = list(re.finditer(r"^    (\w+):\n", stats, re.M))
    if not heads:  # a level that keeps no tensor
        return {}
    return {
        head.group(1): stats[head.end() : nxt.start() if nxt else len(stats)]
        for head, nxt in zip(heads, [*heads[1:], None], strict=True)
    }


def _format_units(block: str, label: str) -> list[list[float]]:
    """``[[metadata, payload], ...]`` per rank (rank 0 innermost) for one format row; a row
    printed as a bare ``: 0`` means no accesses at all."""
    match = re.search(
        rf"^ *{label} \(per-instance\) *(?::.*)?\n((?: {{12}}Rank .*\n)*)", block, re.M
    )
    if not match:
        return []
    ranks = sorted((int(r), float(m), float(p)) for r, m, p in _RANK.findall(match.group(1)))
    return [[m, p] for _, m, p in ranks]


def _adjusted_word_bits(specified: int | None, default: int, storage_width: int) -> int:
    """The word bits Timeloop uses for one rank: the level's default when unspecified, else
    the smallest value from the specified one up that divides the metadata storage width
    (it widens words so they never straddle a storage word), giving up at twice the value."""
    if specified is None:
        return default
    if specified == 0 or storage_width % specified == 0:
        return specified
    bits = specified
    while bits < 2 * specified and storage_width % bits:
        bits += 1
    return bits


def _storage_attributes(inputs: dict) -> dict[str, dict]:
    found: dict[str, dict] = {}

    def walk(node: dict) -> None:
        for local in node.get("local") or []:
            found[re.sub(r"\[.*\]$", "", local["name"])] = local.get("attributes") or {}
        for child in node.get("subtree") or []:
            walk(child)

    for top in inputs["architecture"]["subtree"]:
        walk(top)
    return found


def _rank_word_bits(inputs: dict) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """(level, tensor) -> [(metadata bits, payload bits)] per rank, rank 0 innermost."""
    attributes = _storage_attributes(inputs)
    out = {}
    for target in (inputs.get("sparse_optimizations") or {}).get("targets") or []:
        attrs = attributes.get(target["name"], {})
        width = int(attrs.get("metadata_storage_width", 0) or 0)
        default = int(attrs.get("metadata_datawidth", attrs.get("metadata_word_bits", 0)) or 0)
        for space in (target.get("representation-format") or {}).get("data-spaces") or []:
            bits = [
                (
                    _adjusted_word_bits(rank.get("metadata-word-bits"), default, width),
                    _adjusted_word_bits(rank.get("payload-word-bits"), default, width),
                )
                for rank in space["ranks"]
            ]
            out[(target["name"], space["name"])] = bits[::-1]
    return out


def _metadata_accesses(
    units: list[list[float]], bits: list[tuple[int, int]], storage_width: int
) -> float:
    """Metadata storage words one instance accesses: ceil(sum units x word bits / width)."""
    if not units or not storage_width:
        return 0.0
    total = sum(
        m * md_bits + p * pl_bits for (m, p), (md_bits, pl_bits) in zip(units, bits, strict=False)
    )
    return float(math.ceil(total / storage_width))


def parse_stats(text: str, inputs: dict) -> dict:
    """Timeloop's ``timeloop-model.stats.txt`` (and the case's inputs, for the metadata word
    widths) as the JSON document described in the module docstring."""
    body, _, summary = text.partition("Summary Stats")
    body, _, networks = body.partition("\nNetworks\n")
    heads = list(_LEVEL.finditer(body))
    if not heads or not summary:
        raise ValueError("not a timeloop-model stats file")
    attributes = _storage_attributes(inputs)
    word_bits = _rank_word_bits(inputs)
    result: dict = {"levels": {}}
    for head, nxt in zip(heads, [*heads[1:], None], strict=True):
        name = head.group(1)
        chunk = body[head.end() : nxt.start() if nxt else len(body)]
        specs_text, _, stats = chunk.partition("    STATS\n")
        specs = _values(specs_text)
        if head is heads[0]:
            values = _dense_names(_values(stats))
            result["compute"] = {
                "name": name,
                "instances": specs["Instances"],
                "utilized_instances_max": values["Utilized instances (max)"],
                "utilized_instances_average": values["Utilized instances (average)"],
                "cycles": values["Cycles"],
                "energy_pJ": values["Energy (total)"],
                "area_total_um2": values.get("Area (total)"),
            }
            result["computes"] = {
                "algorithmic": values["Algorithmic Computes (total)"],
                **{o: values[f"{o.capitalize()} Computes (total)"] for o in OUTCOMES},
            }
            continue
        level_values = _values(re.split(r"^    \w+:\n", stats, maxsplit=1, flags=re.M)[0])
        width = int(attributes.get(name, {}).get("metadata_storage_width", 0) or 0)
        tensors = {}
        for tensor, block in _tensor_blocks(stats).items():
            values = _dense_names(_values(block))
            entry: dict = {
                "utilized_instances_max": values["Utilized instances (max)"],
                "utilized_instances_average": values["Utilized instances (average)"],
                "energy_pJ": values["Energy (total)"],
                "energy_per_instance_pJ": values["Energy (per-instance)"],
                "data_capacity_used": values["Max utilized data storage capacity"],
            }
            bits = word_bits.get((name, tensor), [])
            for kind in KINDS:
                entry[kind] = {
                    o: values[f"{o.capitalize()} scalar {kind} (per-instance)"] for o in OUTCOMES
                }
                formats = {
                    o: _format_units(block, f"{o.capitalize()} scalar format {kind}")
                    for o in OUTCOMES
                }
                entry[f"format_{kind}_units"] = formats
                entry[f"metadata_{kind}"] = {
                    o: _metadata_accesses(formats[o], bits, width) for o in OUTCOMES
                }
            tensors[tensor] = entry
        area = specs.get("Area")
        result["levels"][name] = {
            "instances": specs["Instances"],
            "area_um2": area,
            "area_total_um2": None if area is None else area * specs["Instances"],
            "cycles": level_values.get("Cycles"),
            "energy_pJ": sum(t["energy_pJ"] for t in tensors.values()),
            "tensors": tensors,
        }
    totals = dict(re.findall(r"^(Cycles|Energy): ([\d.e+]+)", summary, re.M))
    result["network_energy_pJ"] = sum(
        float(v) for v in re.findall(r"^ {8}Energy \(total\) *: *([\d.e+]+) pJ", networks, re.M)
    )
    result["cycles"] = float(totals["Cycles"])
    areas = [result["compute"]["area_total_um2"]]
    areas += [level["area_total_um2"] for level in result["levels"].values()]
    result["area_um2"] = None if None in areas else sum(areas)
    summary_area = re.search(r"^Area: ([\d.e+]+) mm\^2", summary, re.M)
    result["summary_area_mm2"] = float(summary_area.group(1)) if summary_area else None
    result["summary_energy_uJ"] = float(totals["Energy"])
    result["energy_pJ"] = result["compute"]["energy_pJ"] + sum(
        level["energy_pJ"] for level in result["levels"].values()
    )
    return result


_RUNNING: set[subprocess.Popen] = set()
_LOCK = threading.Lock()


def _stop_running(signum: int, _frame) -> None:
    """Kill the Timeloop runs in flight so an interrupted runner leaves no orphans."""
    with _LOCK:
        for proc in _RUNNING:
            proc.kill()
    raise SystemExit(128 + signum)


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.parent / f".{path.name}.tmp"
    temporary.write_text(text)
    os.replace(temporary, path)


def run_case(case: Path, timeloop: Path, timeout: float) -> tuple[Path, str, str]:
    """Run Timeloop on one case and record the outcome in the case folder: ``timeloop.json``
    when it ran, ``timeloop-error.txt`` when it rejected the case. Returns (case, outcome,
    detail) with outcome ``ok``, ``rejected`` or ``timeout`` (which records nothing)."""
    with tempfile.TemporaryDirectory(prefix="oracle-") as scratch:
        # TL_NOTE_VEC64 makes the oracle build say when it used its extrapolated
        # block-size-64 row of the vector-width table (see its patches/ and README).
        inputs = case_inputs(case)
        start = time.monotonic()
        proc = subprocess.Popen(
            [str(timeloop), *map(str, inputs)],
            cwd=scratch,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TL_NOTE_VEC64": "1"},
        )
        with _LOCK:
            _RUNNING.add(proc)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return case, "timeout", f"over {timeout:g} s"
        finally:
            with _LOCK:
                _RUNNING.discard(proc)
        seconds = time.monotonic() - start
        stats = Path(scratch) / "timeloop-model.stats.txt"
        if proc.returncode != 0 or not stats.exists():
            lines = [ln.strip() for ln in (stdout + stderr).splitlines() if ln.strip()]
            reason = next((ln for ln in lines if "ERROR" in ln), lines[-1] if lines else "")
            _write_atomic(case / ERROR_FILE, f"exit {proc.returncode}: {reason}\n")
            return case, "rejected", reason
        document = parse_stats(stats.read_text(), merged_inputs(inputs))
    document["oracle"] = "public timeloop-model (NVlabs/timeloop 788bb30)"
    document["notes"] = sorted({ln.strip() for ln in stderr.splitlines() if ln.startswith("NOTE")})
    _write_atomic(case / RESULT_FILE, json.dumps(document, indent=1, sort_keys=True) + "\n")
    return case, "ok", f"{seconds:.2f} s"


def reuse_outcome(case: Path, earlier: Path) -> str | None:
    """Copy an earlier run's outcome for the same case id if its inputs are byte-identical."""
    old = earlier / case.name
    if not old.is_dir():
        return None
    names = [p.relative_to(case) for p in case_inputs(case)]
    if names != [p.relative_to(old) for p in case_inputs(old)]:
        return None
    names.append(Path(META_FILE))
    if not all(
        (old / name).exists() and (old / name).read_bytes() == (case / name).read_bytes()
        for name in names
    ):
        return None
    for name, outcome in ((RESULT_FILE, "ok"), (ERROR_FILE, "rejected")):
        if (old / name).exists():
            shutil.copyfile(old / name, case / name)
            return outcome
    return None


def _is_case(path: Path) -> bool:
    return (path / "map.yaml").exists() or (path / META_FILE).exists()


def case_dirs(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        if _is_case(path):
            found.append(path)
        else:
            found.extend(sorted(p for p in path.iterdir() if p.is_dir() and _is_case(p)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="case folders or folders of cases")
    parser.add_argument("--jobs", type=int, default=2, choices=(1, 2), help="parallel runs")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per case")
    parser.add_argument("--timeloop", type=Path, default=TIMELOOP, help="timeloop-model binary")
    parser.add_argument(
        "--reuse",
        type=Path,
        action="append",
        default=[],
        help="folder of earlier outcomes to copy for unchanged cases (repeatable)",
    )
    parser.add_argument(
        "--rejected-dir", type=Path, help="move cases Timeloop rejects into this folder"
    )
    parser.add_argument(
        "--drop-timeouts", action="store_true", help="delete the folders of cases over time"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop_running)
    signal.signal(signal.SIGINT, _stop_running)
    if not args.timeloop.exists():
        sys.exit(f"timeloop-model not found at {args.timeloop} (it lives in ../shared/tools)")
    to_run, outcomes = [], []
    for case in case_dirs(args.paths):
        reused = next(filter(None, (reuse_outcome(case, e) for e in args.reuse)), None)
        if reused:
            outcomes.append((case, reused, "reused"))
        else:
            to_run.append(case)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        ran = pool.map(lambda c: run_case(c, args.timeloop, args.timeout), to_run)
        done = []
        for case, outcome, detail in itertools.chain(outcomes, ran):
            print(f"{outcome:9} {case.name} {detail}", flush=True)
            if outcome == "rejected" and args.rejected_dir:
                args.rejected_dir.mkdir(parents=True, exist_ok=True)
                shutil.rmtree(args.rejected_dir / case.name, ignore_errors=True)
                shutil.move(case, args.rejected_dir / case.name)
            elif outcome == "timeout" and args.drop_timeouts:
                shutil.rmtree(case)
            done.append(outcome)
    counts = {o: done.count(o) for o in ("ok", "rejected", "timeout")}
    print(f"{len(done)} cases: {counts}", flush=True)


if __name__ == "__main__":
    main()
