"""Build the MICRO'22 artifact fixtures: the Sparseloop artifact's table 7 (Eyeriss on
AlexNet conv1-5), fig 12 (Eyeriss V2 PE on MobileNet0.5 layers, uniform and real-data
densities) and fig 1 (bitmask vs coordinate list on a 128^3 spMspM) workspaces, from a
mirror of Accelergy-Project/micro22-sparseloop-artifact, with the artifact's shipped stats
parsed into ``published.json`` (the same schema as ``timeloop.json``).

Each case folder holds the YAML files the artifact's scripts hand to Timeloop, under the
paths the artifact uses, plus ``meta.yaml`` (where each file came from, what the case
covers, edits). ``run_oracle.py`` then adds public Timeloop's figures (``timeloop.json``),
or its refusal (``timeloop-error.txt``: the real-data density model never reached public
Timeloop).

    python scripts/oracle/build_artifact_cases.py --out /tmp/artifact-corpus
    python scripts/oracle/run_oracle.py /tmp/artifact-corpus/* --timeout 600
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ARTIFACT = "Accelergy-Project/micro22-sparseloop-artifact"
ARTIFACT_COMMIT = "de0374aa00fdf23c1fe5b0715ceb1cbada6d9661"
SETUPS = "workspace/2022.micro.artifact/evaluation_setups"
EXERCISES = "Accelergy-Project/timeloop-accelergy-exercises"
EXERCISES_COMMIT = "3263d52ef2212af8481decf0d7c02f5a4fe197e4"
SPMSPM_PROB = "workspace/exercises/2021.isca/designs/02.2.1-spMspM/prob/spmspm.prob.yaml"
FIG12_LAYERS = ("L07", "L09", "L13", "L19", "L21", "L23", "L25", "L27")
FIG12_PUBLISHED_REAL = ("L07", "L21", "L27")
FIG1_DENSITIES = ("0.01", "0.02", "0.04", "0.08", "0.1", "0.2", "0.4", "0.8")
FIG1_FORMATS = ("bitmask", "coordinate_list")


def _load(name: str):
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"oracle_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


ORACLE = _load("run_oracle")
EXERCISE_BUILDER = _load("build_exercise_cases")


def _write_case(
    case_dir: Path,
    files: dict[str, bytes],
    meta: dict,
    published: str | None,
) -> None:
    shutil.rmtree(case_dir, ignore_errors=True)
    for name, data in files.items():
        target = case_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    inputs = ORACLE.merged_inputs(ORACLE.case_inputs(case_dir))
    meta["covers"] = EXERCISE_BUILDER.describe(inputs)
    meta["timeloop_inputs"] = [str(p.relative_to(case_dir)) for p in ORACLE.case_inputs(case_dir)]
    if published is not None:
        document = ORACLE.parse_stats(published, inputs)
        document["source"] = "the artifact's shipped stats (its own Timeloop/Sparseloop build)"
        (case_dir / "published.json").write_text(
            json.dumps(document, indent=1, sort_keys=True) + "\n"
        )
    (case_dir / "meta.yaml").write_text(yaml.safe_dump(meta, sort_keys=False, width=100))


def _source(files: dict[str, str], **extra) -> dict:
    return {"repo": ARTIFACT, "commit": ARTIFACT_COMMIT, "files": files, **extra}


def table7(mirror, out: Path) -> list[Path]:
    """AlexNet conv1-5 on Eyeriss as the artifact ran them: ``ref_outputs`` (sparse input
    activations compressed off-chip, gating) and ``dense_outputs`` (no sparse optimisation)."""
    setup = f"{SETUPS}/table7_eyeriss_setup"
    made = []
    for runs, suffix, what in (
        ("ref_outputs", "", "RLE-compressed inputs and outputs in DRAM, weight gating"),
        ("dense_outputs", "-dense", "no sparse optimisation (the dense baseline)"),
    ):
        for layer in range(1, 6):
            base = f"{setup}/{runs}/alexnet_conv{layer}"
            names = ("aggregated_input.yaml", "ERT.yaml", "ART.yaml")
            case_dir = out / "table7_eyeriss_setup" / f"alexnet_conv{layer}{suffix}"
            _write_case(
                case_dir,
                {name: mirror.read(f"{base}/{name}") for name in names},
                {
                    "id": case_dir.name,
                    "summary": f"AlexNet conv{layer} on the artifact's Eyeriss, {what}",
                    "architecture": "eyeriss (table 7)",
                    "source": _source({name: f"{base}/{name}" for name in names}),
                    "published": f"{base}/output/timeloop-model.stats.txt",
                    "edits": None,
                },
                mirror.read(f"{base}/output/timeloop-model.stats.txt").decode(),
            )
            made.append(case_dir)
    return made


def _relative_mask_paths(text: str, layer: str) -> tuple[str, list[dict]]:
    """The real-data workloads ship absolute ``data_file_path`` values from the artifact
    authors' container; point them at the masks beside the workload file instead."""
    edits = []

    def replace(match: re.Match) -> str:
        new = f"data_file_path: actual_data_masks/{Path(match.group(1)).name}"
        edits.append({"file": "workload", "from": match.group(0).strip(), "to": new})
        return match.group(0).replace(match.group(0).strip(), new)

    return re.sub(r"data_file_path: (\S+)", replace, text), edits


def fig12(mirror, out: Path) -> list[Path]:
    """MobileNet0.5 layers on the Eyeriss V2 PE with the artifact's perfect-factor mappings:
    every layer with hypergeometric ("uniform") densities, and the layers whose real-data
    runs the artifact publishes, with their per-element masks."""
    setup = f"{SETUPS}/fig12_eyerissv2_pe_setup"
    workload = "workload/mobilenet0.5-sparse"
    made = []
    common = {
        "hardware-specs/designs/arch.yaml": f"{setup}/hardware-specs/designs/arch.yaml",
        "hardware-specs/configurations/SI-SW.yaml": (
            f"{setup}/hardware-specs/configurations/SI-SW.yaml"
        ),
        "ert_art/ERT.yaml": f"{setup}/ert_art/ERT.yaml",
        "ert_art/ART.yaml": f"{setup}/ert_art/ART.yaml",
    }
    for layer in FIG12_LAYERS:
        for density in ("uniform", "actual_data"):
            if density == "actual_data" and layer not in FIG12_PUBLISHED_REAL:
                continue
            files = dict(common)
            files[f"{workload}/{density}/{layer}.yaml"] = (
                f"{setup}/{workload}/{density}/{layer}.yaml"
            )
            files[f"mappings/mobilenet0.5-sparse/{layer}-perfect_factor.yaml"] = (
                f"{setup}/mappings/mobilenet0.5-sparse/{layer}-perfect_factor.yaml"
            )
            data = {name: mirror.read(path) for name, path in files.items()}
            edits = None
            if density == "actual_data":
                key = f"{workload}/{density}/{layer}.yaml"
                text, edits = _relative_mask_paths(data[key].decode(), layer)
                for edit in edits:
                    edit["file"] = key
                data[key] = text.encode()
                for kind in ("iacts", "weights"):
                    mask = f"{workload}/{density}/actual_data_masks/{layer}_{kind}.txt"
                    files[mask] = f"{setup}/{mask}"
                    data[mask] = mirror.read(f"{setup}/{mask}")
                runs = f"{setup}/ref_outputs/uniform_actual/{layer}/actual_data"
            elif layer in FIG12_PUBLISHED_REAL:
                runs = f"{setup}/ref_outputs/uniform_actual/{layer}/uniform"
            else:
                runs = f"{setup}/ref_outputs/uniform_only/{layer}/uniform"
            stats = f"{runs}/output/timeloop-model.stats.txt"
            case_dir = out / "fig12_eyerissv2_pe_setup" / f"{layer}-{density}"
            meta = {
                "id": case_dir.name,
                "summary": f"MobileNet0.5 {layer} on the Eyeriss V2 PE (SI-SW), "
                + (
                    "real-data densities (per-element masks of the layer's weights and "
                    "input activations)"
                    if density == "actual_data"
                    else "hypergeometric densities (the artifact's 'uniform')"
                ),
                "architecture": "eyeriss v2 PE (fig 12)",
                "source": _source(files),
                "published": stats,
                "edits": edits,
            }
            if density == "actual_data":
                meta["masks"] = (
                    "one character per element ('1' nonzero), as the artifact ships them, in "
                    "Timeloop's point order (the projection's first rank varies fastest: the "
                    "inputs' channel C innermost, then the two spatial axes; the weights' C "
                    "before M). sparsim reads them as measured densities. The order is the one "
                    "under which the exact count of nonzero weight-activation pairs equals the "
                    "artifact's actual computes (within 1) on all three layers; with C outermost "
                    "in either mask the count misses by 4-7%."
                )
            _write_case(case_dir, data, meta, mirror.read(stats).decode())
            made.append(case_dir)
    return made


def fig1(mirror, exercises, out: Path) -> list[Path]:
    """128^3 spMspM, A and B at one density, bitmask vs coordinate-list formats, with the
    mapping the artifact's mapper found. The artifact's repository lacks the workload files
    its sweep reads; each is written here from the exercises' spMspM problem with the
    dimensions and fixed-structured densities the shipped stats report."""
    setup = f"{SETUPS}/fig1_format_comparison_setup"
    if exercises is None:
        raise SystemExit(f"fig 1 needs the {EXERCISES} mirror for its problem shape")
    template = exercises.read(SPMSPM_PROB).decode()
    made = []
    for density in FIG1_DENSITIES:
        prob = template
        for dim in ("M", "K", "N"):
            prob = re.sub(rf"(\n    {dim}): 8\n", r"\1: 128\n", prob)
        prob = prob.replace("density: 0.25", f"density: {density}")
        prob = prob.replace("density: 0.5", f"density: {density}")
        if prob.count(f"density: {density}") != 2 or ": 128" not in prob:
            raise SystemExit("the exercises' spMspM problem changed: cannot write fig 1's")
        for fmt in FIG1_FORMATS:
            runs = f"{setup}/ref_outputs/output_{density}_{fmt}"
            files = {
                "arch/arch.yaml": f"{setup}/arch/arch.yaml",
                f"sparse-opt/{fmt}.yaml": f"{setup}/sparse-opt/{fmt}.yaml",
                "ert_art/ERT.yaml": f"{setup}/ert_art/ERT.yaml",
                "ert_art/ART.yaml": f"{setup}/ert_art/ART.yaml",
                "map/timeloop-mapper.map.yaml": f"{runs}/timeloop-mapper.map.yaml",
            }
            data = {name: mirror.read(path) for name, path in files.items()}
            data[f"workload/spmspm.prob.{density}.yaml"] = prob.encode()
            case_dir = out / "fig1_format_comparison_setup" / f"{fmt}-{density}"
            meta = {
                "id": case_dir.name,
                "summary": f"128x128x128 spMspM, A and B fixed-structured {density} dense, "
                f"{fmt.replace('_', ' ')} format, the artifact mapper's mapping",
                "architecture": "fig 1 two-level spMspM (BackingStorage, Buffer, Reg)",
                "source": _source(files),
                "workload": {
                    "written_here": f"workload/spmspm.prob.{density}.yaml",
                    "from": {"repo": EXERCISES, "commit": EXERCISES_COMMIT, "path": SPMSPM_PROB},
                    "changes": f"M, K, N 8 -> 128; A's and B's density -> {density} "
                    "(the artifact's sweep reads workload/spmspm.prob.<d>.yaml, which its "
                    "repository does not ship; the shipped stats report 2,097,152 algorithmic "
                    "computes and fixed-structured tile densities)",
                },
                "published": f"{runs}/timeloop-mapper.stats.txt",
                "edits": None,
            }
            _write_case(
                case_dir, data, meta, mirror.read(f"{runs}/timeloop-mapper.stats.txt").decode()
            )
            made.append(case_dir)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the workspaces")
    parser.add_argument("--artifact", type=Path, help="bare git mirror of the artifact")
    parser.add_argument("--exercises", type=Path, help="bare git mirror of the exercises")
    args = parser.parse_args()
    git_dir = args.artifact or EXERCISE_BUILDER.find_mirror(ARTIFACT)
    if git_dir is None:
        sys.exit(f"no mirror of {ARTIFACT}: fetch it or pass --artifact")
    exercises_dir = args.exercises or EXERCISE_BUILDER.find_mirror(EXERCISES)
    mirror = EXERCISE_BUILDER.Source(git_dir, ARTIFACT_COMMIT)
    exercises = EXERCISE_BUILDER.Source(exercises_dir, EXERCISES_COMMIT) if exercises_dir else None
    made = table7(mirror, args.out) + fig12(mirror, args.out) + fig1(mirror, exercises, args.out)
    for case in made:
        print(f"case {case.relative_to(args.out)}", flush=True)


if __name__ == "__main__":
    main()
