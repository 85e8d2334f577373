"""The mapper on 7-D convolutions (targets: a ResNet-50 layer mapped on eyeriss-like in under
2 s, median of several runs; EDP at most timeloop-mapper's on five AlexNet / ResNet-50
layers).

1. Speed: ResNet-50 layers as 7-D convolutions (strides included) on the library design
   ``src/sparsim/designs/library/eyeriss-like.yaml`` under its own constraints (the
   Timeloop exercises' eyeriss_like constraints), cold cache, median of ``--runs`` runs
   per layer.
2. Quality: five layers on the exercises' eyeriss_like itself (its architecture,
   constraints and Accelergy energy table, tests/mapper/eyeriss_like), sparsim's mapper
   (objective EDP) against timeloop-mapper (random-pruned, victory condition 500, the
   exercise's other mapper settings, 2 threads: this machine's cores). Both mappings are
   evaluated by timeloop-model when ../shared/tools/timeloop is there (else sparsim's
   mapping by sparsim's engine, which agrees with it, and said so). timeloop-mapper's
   results are a committed fixture (benchmarks/fixtures/timeloop_mapper_conv.json);
   ``--run-timeloop`` recomputes them.

    python benchmarks/bench_mapper_conv.py [--run-timeloop] [--runs N] [--all-layers]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from sparsim.designs.mapper import _CACHE, load_problem, map_spec
from sparsim.spec.timeloop_export import timeloop_mapping, timeloop_problem
from sparsim.spec.workload import Conv
from sparsim.workload import resnet50

ROOT = Path(__file__).resolve().parents[1]
EYERISS = ROOT / "tests" / "mapper" / "eyeriss_like"
LIBRARY = ROOT / "src" / "sparsim" / "designs" / "library" / "eyeriss-like.yaml"
TIMELOOP = ROOT.parent / "shared" / "tools" / "timeloop"
FIXTURE = ROOT / "benchmarks" / "fixtures" / "timeloop_mapper_conv.json"
SPEED_LAYERS = ("layer1.0.conv2", "layer2.0.conv2", "layer3.0.downsample.0")
QUALITY_LAYERS = {
    # The exercises' AlexNet layer shapes (layer_shapes/AlexNet), and ResNet-50 layers.
    "AlexNet layer1": Conv(
        name="AlexNet layer1", C=3, out_channels=96, P=55, Q=55, R=11, S=11, stride=4
    ),
    "AlexNet layer2": Conv(name="AlexNet layer2", C=96, out_channels=256, P=27, Q=27, R=5, S=5),
    "ResNet-50 conv1": "conv1",
    "ResNet-50 layer2.0.conv2": "layer2.0.conv2",
    "ResNet-50 layer3.0.downsample.0": "layer3.0.downsample.0",
}
VICTORY = 500
THREADS = 2


def resnet_layer(name: str) -> Conv:
    return next(row.workload for row in resnet50() if row.name == name)


def quality_layer(label: str) -> Conv:
    layer = QUALITY_LAYERS[label]
    return resnet_layer(layer) if isinstance(layer, str) else layer


def write_case(conv: Conv, folder: Path) -> Path:
    """The exercise's eyeriss_like folder with ``conv`` as its problem."""
    shutil.copytree(EYERISS, folder, ignore=shutil.ignore_patterns("README.md"))
    (folder / "prob").mkdir()
    (folder / "prob" / "layer.yaml").write_text(yaml.safe_dump(timeloop_problem(conv.problem())))
    return folder


def _tool(name: str, arguments: list[Path], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(TIMELOOP / name), *map(str, arguments)],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={"LD_LIBRARY_PATH": str(TIMELOOP / "lib"), "PATH": "/usr/bin:/bin"},
    )
    return time.perf_counter() - started


def _stats(path: Path) -> tuple[float, float]:
    text = path.read_text()
    return float(text.split("Energy:")[1].split("uJ")[0]), float(
        text.split("Cycles:")[1].split()[0]
    )


def _inputs(case: Path) -> list[Path]:
    return [
        case / "arch" / "eyeriss_like.yaml",
        case / "prob" / "layer.yaml",
        case / "ERT.yaml",
        case / "ART.yaml",
    ]


def timeloop_model(case: Path, mapping: dict, work: Path) -> tuple[float, float]:
    """timeloop-model's (energy uJ, cycles) of ``mapping`` on ``case``."""
    work.mkdir()
    (work / "map.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    _tool("timeloop-model", [*_inputs(case), work / "map.yaml"], work)
    return _stats(work / "timeloop-model.stats.txt")


def run_timeloop_mapper(case: Path, work: Path) -> dict:
    settings = yaml.safe_load((EYERISS / "mapper" / "mapper.yaml").read_text())
    settings["mapper"].update({"victory-condition": VICTORY, "num-threads": THREADS})
    work.mkdir()
    (work / "mapper.yaml").write_text(yaml.safe_dump(settings))
    constraints = sorted((case / "constraints").glob("*.yaml"))
    seconds = _tool("timeloop-mapper", [*_inputs(case), *constraints, work / "mapper.yaml"], work)
    energy, cycles = _stats(work / "timeloop-mapper.stats.txt")
    return {
        "energy_uJ": energy,
        "cycles": cycles,
        "seconds": round(seconds, 2),
        "settings": settings["mapper"],
        "mapping": yaml.safe_load((work / "timeloop-mapper.map.yaml").read_text()),
    }


def distinct_layers() -> list[str]:
    """The first layer of each distinct ResNet-50 convolution."""
    first: dict[Conv, str] = {}
    for row in resnet50():
        if isinstance(row.workload, Conv):
            first.setdefault(row.workload.model_copy(update={"name": ""}), row.name)
    return list(first.values())


def speed(runs: int, layers: tuple[str, ...] | list[str]) -> list[tuple[str, float, float]]:
    problem, constraints = load_problem(LIBRARY)
    rows = []
    for name in layers:
        layer = problem.model_copy(update={"workload": resnet_layer(name)})
        times, result = [], None
        for _ in range(runs):
            _CACHE.clear()
            found = map_spec(layer, constraints, progress=False)
            times.append(found.seconds)
            result = found.result
        rows.append((name, statistics.median(times), result.energy_uJ * result.cycles))
    return rows


def quality(run: bool) -> list[dict]:
    fixture = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else {}
    oracle = (TIMELOOP / "timeloop-model").exists()
    rows = []
    for label in QUALITY_LAYERS:
        conv = quality_layer(label)
        with tempfile.TemporaryDirectory() as scratch:
            case = write_case(conv, Path(scratch) / "case")
            if run and (TIMELOOP / "timeloop-mapper").exists():
                fixture[label] = run_timeloop_mapper(case, Path(scratch) / "mapper")
                FIXTURE.write_text(json.dumps(fixture, indent=1, sort_keys=True) + "\n")
            if label not in fixture:
                continue
            problem, constraints = load_problem(case)
            _CACHE.clear()
            found = map_spec(problem, constraints, progress=False)
            energy, cycles = found.result.energy_uJ, found.result.cycles
            model = "sparsim"
            if oracle:
                energy, cycles = timeloop_model(
                    case, timeloop_mapping(found.spec), Path(scratch) / "model"
                )
                model = "timeloop-model"
        peer = fixture[label]
        rows.append(
            {
                "layer": label,
                "ratio": energy * cycles / (peer["energy_uJ"] * peer["cycles"]),
                "energy_uJ": energy,
                "cycles": cycles,
                "peer_energy_uJ": peer["energy_uJ"],
                "peer_cycles": peer["cycles"],
                "seconds": found.seconds,
                "peer_seconds": peer["seconds"],
                "model": model,
                "engine_agrees": abs(found.result.energy_uJ - energy) <= 1e-3 * energy
                and found.result.cycles == cycles,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-timeloop", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip", nargs="*", default=[], choices=["speed", "quality"])
    parser.add_argument(
        "--all-layers",
        action="store_true",
        help="time every distinct ResNet-50 convolution (23), not three",
    )
    args = parser.parse_args()
    if "speed" not in args.skip:
        print(f"speed: ResNet-50 layers (7-D) on {LIBRARY.name}, median of {args.runs} cold runs")
        rows = speed(args.runs, distinct_layers() if args.all_layers else SPEED_LAYERS)
        for name, seconds, edp in rows:
            print(f"  {name:28s} {seconds:6.3f} s   EDP {edp:.4g} uJ x cycles")
        times = [seconds for _, seconds, _ in rows]
        print(
            f"  {len(rows)} layers: median {statistics.median(times):.3f} s, "
            f"max {max(times):.3f} s per layer"
        )
    if "quality" not in args.skip:
        print(
            f"\nquality: sparsim's mapper (EDP) vs timeloop-mapper (random-pruned, victory "
            f"{VICTORY}, {THREADS} threads) on the exercises' eyeriss_like"
        )
        print(
            f"  {'layer':32s} {'EDP ratio':>9s}  {'sparsim uJ':>10s} {'cycles':>10s}  "
            f"{'timeloop uJ':>11s} {'cycles':>10s}  {'sparsim s':>9s} {'timeloop s':>10s}  model"
        )
        for row in quality(args.run_timeloop):
            agrees = "" if row["engine_agrees"] else "  (sparsim's engine differs)"
            print(
                f"  {row['layer']:32s} {row['ratio']:9.4f}  {row['energy_uJ']:10.2f} "
                f"{row['cycles']:10.0f}  {row['peer_energy_uJ']:11.2f} {row['peer_cycles']:10.0f}"
                f"  {row['seconds']:9.3f} {row['peer_seconds']:10.1f}  {row['model']}{agrees}"
            )


if __name__ == "__main__":
    main()
