"""Build the exercise corpus: Timeloop v0.3 cases taken from the public Timeloop/Accelergy
exercises (Accelergy-Project/timeloop-accelergy-exercises at 3263d52, the last commit in the
v0.3 input format), in the layout and spellings the exercises use.

Each case folder holds the YAML files a user hands to ``timeloop-model`` (``arch/``,
``prob/``, ``map/``, ``sparse-opt/`` ... as the exercise ships them, byte for byte unless the
case varies them), the energy and area tables under the names the exercise ships them with
(``timeloop-model.ERT.yaml``, ``timeloop-mapper.ART.yaml``, ...), and a ``meta.yaml`` saying
where every file came from, what was varied, and what the case exercises. The inputs of a
case are every ``*.yaml`` file in its folder except ``meta.yaml``.

Where an exercise ships no mapping (the mapper exercises, the baseline designs on a layer),
``timeloop-mapper`` is run once with the exercise's constraints and mapper settings, capped
(one thread, so the search is deterministic, and a lower victory condition where noted), and
the mapping it finds is committed as ``map/timeloop-mapper.map.yaml``. Rebuilding reuses the
committed mapping of every case unless ``--remap`` is given, so the output is deterministic.

``rejected/`` cases are small edits to accepted cases that public Timeloop refuses.

    python scripts/oracle/build_exercise_cases.py --out /tmp/exercise-corpus
    python scripts/oracle/run_oracle.py /tmp/exercise-corpus/cases /tmp/exercise-corpus/rejected

writes ``cases/<id>/`` and ``rejected/<id>/`` under ``--out``; ``run_oracle.py`` then adds
Timeloop's figures (``timeloop.json``) or its error (``timeloop-error.txt``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_oracle import case_inputs, merged_inputs

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "oracle" / "exercises"
EXERCISES = "Accelergy-Project/timeloop-accelergy-exercises"
EXERCISES_COMMIT = "3263d52ef2212af8481decf0d7c02f5a4fe197e4"
MAPPING_FILE = "map/timeloop-mapper.map.yaml"
META_FILE = "meta.yaml"

ISPASS = "workspace/exercises/2020.ispass/timeloop"
ISCA = "workspace/exercises/2021.isca/designs"
BASELINE = "workspace/baseline_designs/example_designs"
LAYERS = "workspace/baseline_designs/layer_shapes"


def find_timeloop_dir() -> Path:
    """``shared/tools/timeloop`` beside the project (or beside a folder above it, for a
    worktree)."""
    for parent in REPO.parents:
        candidate = parent / "shared" / "tools" / "timeloop"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "tools" / "timeloop"


def find_mirror(name: str) -> Path | None:
    """The bare git mirror ``.mirror/<owner>+<name>/repo`` in a folder above the project."""
    for parent in REPO.parents:
        candidate = parent / ".mirror" / name.replace("/", "+") / "repo"
        if candidate.is_dir():
            return candidate
    return None


@dataclass(frozen=True)
class Source:
    """Files of one commit of a bare git mirror."""

    git_dir: Path
    commit: str

    def read(self, path: str) -> bytes:
        try:
            return subprocess.run(
                ["git", "--git-dir", str(self.git_dir), "show", f"{self.commit}:{path}"],
                check=True,
                capture_output=True,
            ).stdout
        except subprocess.CalledProcessError as exc:
            raise SystemExit(
                f"{path} not in {self.git_dir} at {self.commit}: {exc.stderr}"
            ) from None


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` by ``new`` in one case file (``old`` must occur exactly once)."""

    file: str
    old: str
    new: str


@dataclass(frozen=True)
class MapperRun:
    """How a missing mapping is found: the exercise's constraints and mapper settings (source
    paths), with ``overrides`` applied to the settings."""

    constraints: tuple[str, ...]
    settings: str
    overrides: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    id: str
    architecture: str
    summary: str
    files: dict[str, str]  # case path -> source path in the exercises repo
    ert: str  # source path; copied to the case root under its own name
    art: str | None
    mapper: MapperRun | None = None
    edits: tuple[Edit, ...] = ()
    varied: str | None = None
    ert_note: str = "shipped by the exercise (Accelergy's output in its reference outputs)"
    shipped_stats: str | None = None  # the exercise's own stats for exactly these inputs

    @property
    def inputs(self) -> dict[str, str]:
        out = dict(self.files)
        out[Path(self.ert).name] = self.ert
        if self.art:
            out[Path(self.art).name] = self.art
        return out


@dataclass(frozen=True)
class Rejected:
    """An accepted case with edits that public Timeloop refuses."""

    id: str
    base: str
    edits: tuple[Edit, ...]
    why: str


def _ispass(
    number: str, folder: str, name: str, arch: str, prob: str, mapping: str, out: str = "", **kw
) -> Case:
    base = f"{ISPASS}/{folder}"
    out_dir = f"{base}/ref-output{'/' + out if out else ''}"
    return Case(
        id=f"ispass-{number}-{name}",
        architecture=Path(arch).name.split(".")[0],
        files={f"arch/{arch}": f"{base}/arch/{arch}", f"prob/{prob}": f"{base}/prob/{prob}"}
        | ({f"map/{mapping}": f"{base}/map/{mapping}"} if mapping else {}),
        ert=f"{out_dir}/timeloop-{'mapper' if not mapping else 'model'}.ERT.yaml",
        art=f"{out_dir}/timeloop-{'mapper' if not mapping else 'model'}.ART.yaml",
        shipped_stats=f"{out_dir}/timeloop-model.stats.txt" if mapping else None,
        **kw,
    )


def _isca(
    folder: str,
    name: str,
    files: list[str],
    out: str = "ref-output",
    tool: str = "model",
    architecture: str = "",
    **kw,
) -> Case:
    base = f"{ISCA}/{folder}"
    number = folder.split("-")[0]
    kw.setdefault("shipped_stats", f"{base}/{out}/timeloop-{tool}.stats.txt")
    return Case(
        id=f"isca-{number}-{name}",
        architecture=architecture or Path(files[0]).name.split(".")[0],
        files={path: f"{base}/{path}" for path in files},
        ert=f"{base}/{out}/timeloop-{tool}.ERT.yaml",
        art=f"{base}/{out}/timeloop-{tool}.ART.yaml",
        **kw,
    )


# The baseline designs' mapper settings ask for victory after 3000 suboptimal mappings with 8
# threads; one thread and 500 keep each search under a minute on 2 shared cores.
BASELINE_CAP = {"num-threads": 1, "victory-condition": 500}
BASELINE_ARCHS = {
    "eyeriss_like": "eyeriss_like.yaml",
    "simba_like": "simba_like.yaml",
    "simple_weight_stationary": "simple_weight_stationary.yaml",
    "simple_output_stationary": "simple_output_stationary.yaml",
}


def _baseline(design: str, network: str, layer: int, **kw) -> Case:
    base = f"{BASELINE}/{design}"
    prob = f"{network}_layer{layer}.yaml"
    outputs = f"{base}/example_AlexNet_layer1_outputs"
    return Case(
        id=f"{design}-{network.lower()}-layer{layer}",
        architecture=design,
        files={
            f"arch/{BASELINE_ARCHS[design]}": f"{base}/arch/{BASELINE_ARCHS[design]}",
            f"prob/{prob}": f"{LAYERS}/{network}/{prob}",
        },
        ert=f"{outputs}/timeloop-mapper.ERT.yaml",
        art=f"{outputs}/timeloop-mapper.ART.yaml",
        ert_note="shipped with the design's AlexNet layer 1 example outputs (Accelergy's "
        "output for this architecture; it does not depend on the layer)",
        mapper=MapperRun(
            constraints=(
                f"{base}/constraints/{design}_arch_constraints.yaml",
                f"{base}/constraints/{design}_map_constraints.yaml",
            ),
            settings=f"{base}/mapper/mapper.yaml",
            overrides=BASELINE_CAP,
        ),
        **kw,
    )


def _cases() -> list[Case]:
    one_thread = {"num-threads": 1}
    cases = [
        _ispass(
            "00",
            "00-model-conv1d-1level",
            "conv1d-1level",
            "1level.arch.yaml",
            "conv1d.prob.yaml",
            "conv1d-1level.map.yaml",
            summary="conv1d (R=3, P=16) on one register file and a MAC",
        ),
        *(
            _ispass(
                "01",
                "01-model-conv1d-2level",
                f"conv1d-2level-{df}",
                "2level.arch.yaml",
                "conv1d.prob.yaml",
                f"conv1d-2level-{df}.map.yaml",
                out=df,
                summary=f"conv1d on DRAM + register file, {label} loop order",
            )
            for df, label in (("os", "output-stationary"), ("ws", "weight-stationary"))
        ),
        _ispass(
            "02",
            "02-model-conv1d+oc-2level",
            "conv1d+oc-2level-os",
            "2level.arch.yaml",
            "conv1d+oc.prob.yaml",
            "conv1d+oc-2level-os.map.yaml",
            out="untiled",
            summary="conv1d with output channels (K=32), two levels, untiled",
        ),
        _ispass(
            "02",
            "02-model-conv1d+oc-2level",
            "conv1d+oc-2level-os-tiled",
            "2level.arch.yaml",
            "conv1d+oc.prob.yaml",
            "conv1d+oc-2level-os-tiled.map.yaml",
            out="tiled",
            summary="conv1d with output channels, two levels, K tiled across them",
        ),
        _ispass(
            "03",
            "03-model-conv1d+oc-3level",
            "conv1d+oc-3level",
            "3level.arch.yaml",
            "conv1d+oc.prob.yaml",
            "conv1d+oc-3level.map.yaml",
            out="no-bypass",
            summary="conv1d with output channels on DRAM, global buffer and register file",
        ),
        _ispass(
            "03",
            "03-model-conv1d+oc-3level",
            "conv1d+oc-3level-bypass",
            "3level.arch.yaml",
            "conv1d+oc.prob.yaml",
            "conv1d+oc-3level-bypass.map.yaml",
            out="bypass",
            summary="three levels with bypass entries (tensors skipping the global buffer)",
        ),
        *(
            _ispass(
                "04",
                "04-model-conv1d+oc-3levelspatial",
                f"conv1d+oc+ic-3levelspatial-{p}-ws",
                "3levelspatial.arch.yaml",
                "conv1d+oc+ic.prob.yaml",
                f"conv1d+oc+ic-3levelspatial-{p}-ws.map.yaml",
                out=p,
                summary=f"conv1d with input and output channels on 16 PEs, {dim} spread "
                "spatially, weight-stationary",
            )
            for p, dim in (("cp", "C"), ("kp", "K"))
        ),
        *(
            _ispass(
                "05",
                "05-mapper-conv1d+oc-3level",
                f"mapper-{c}",
                "3level.arch.yaml",
                "conv1d+oc.prob.yaml",
                "",
                out=c,
                summary=f"conv1d with output channels, mapping from timeloop-mapper ({what})",
                mapper=MapperRun(
                    constraints=(
                        f"{ISPASS}/05-mapper-conv1d+oc-3level/constraints/"
                        f"conv1d+oc-3level-{c}.constraints.yaml"
                        if c != "null"
                        else f"{ISPASS}/05-mapper-conv1d+oc-3level/constraints/"
                        "null.constraints.yaml",
                    ),
                    settings=f"{ISPASS}/05-mapper-conv1d+oc-3level/mapper/exhaustive.mapper.yaml",
                ),
            )
            for c, what in (
                ("1mapping", "constraints that leave one mapping"),
                ("freebypass", "only bypass choices free"),
                ("null", "no constraints, exhaustive search"),
            )
        ),
    ]
    eyeriss06 = f"{ISPASS}/06-mapper-convlayer-eyeriss"
    cases.append(
        Case(
            id="ispass-06-mapper-eyeriss-vgg02-layer5",
            architecture="eyeriss_like",
            summary="VGG02 layer 5 (3x3, C=128, M=256, 56x56) on the Eyeriss-like array, "
            "row-stationary constraints, mapping from timeloop-mapper",
            files={
                "arch/eyeriss_like.yaml": f"{eyeriss06}/arch/eyeriss_like.yaml",
                "prob/VGG02_layer5.yaml": f"{eyeriss06}/prob/VGG02_layer5.yaml",
            },
            ert=f"{eyeriss06}/ref-output/timeloop-mapper.ERT.yaml",
            art=f"{eyeriss06}/ref-output/timeloop-mapper.ART.yaml",
            mapper=MapperRun(
                constraints=(
                    f"{eyeriss06}/constraints/eyeriss_like_arch_constraints.yaml",
                    f"{eyeriss06}/constraints/eyeriss_like_map_constraints.yaml",
                ),
                settings=f"{eyeriss06}/mapper/mapper.yaml",
                overrides=one_thread,
            ),
        )
    )
    cases.append(
        Case(
            id="ispass-06-mapper-eyeriss-alexnet-layer2",
            architecture="eyeriss_like",
            summary="AlexNet layer 2 (5x5, C=48, M=256, 27x27) on the exercise 06 Eyeriss-like "
            "array with its row-stationary constraints, mapping from timeloop-mapper",
            files={
                "arch/eyeriss_like.yaml": f"{eyeriss06}/arch/eyeriss_like.yaml",
                "prob/AlexNet_layer2.yaml": f"{LAYERS}/AlexNet/AlexNet_layer2.yaml",
            },
            ert=f"{eyeriss06}/ref-output/timeloop-mapper.ERT.yaml",
            art=f"{eyeriss06}/ref-output/timeloop-mapper.ART.yaml",
            mapper=MapperRun(
                constraints=(
                    f"{eyeriss06}/constraints/eyeriss_like_arch_constraints.yaml",
                    f"{eyeriss06}/constraints/eyeriss_like_map_constraints.yaml",
                ),
                settings=f"{eyeriss06}/mapper/mapper.yaml",
                overrides=one_thread,
            ),
            varied="the layer: AlexNet layer 2 from the baseline layer shapes instead of "
            "VGG02 layer 5",
        )
    )
    tla = "workspace/exercises/2020.ispass/timeloop+accelergy"
    for precision in ("float32", "int16"):
        cases.append(
            Case(
                id=f"ispass-timeloop+accelergy-eyeriss-{precision}",
                architecture=f"eyeriss_like-{precision}",
                summary=f"the timeloop+accelergy exercise's layer on the {precision} "
                "Eyeriss-like array, mapping from timeloop-mapper",
                files={
                    f"arch/eyeriss_like-{precision}.yaml": f"{tla}/arch/eyeriss_like-{precision}.yaml",
                    "prob/prob.yaml": f"{tla}/prob/prob.yaml",
                },
                ert=f"{tla}/ref-output/{precision}/timeloop-mapper.ERT.yaml",
                art=f"{tla}/ref-output/{precision}/timeloop-mapper.ART.yaml",
                mapper=MapperRun(
                    constraints=(
                        f"{tla}/constraints/eyeriss_like_arch_constraints.yaml",
                        f"{tla}/constraints/eyeriss_like_map_constraints.yaml",
                    ),
                    settings=f"{tla}/mapper/mapper.yaml",
                    overrides=one_thread,
                ),
            )
        )
    dot = "arch/1level.arch.yaml", "map/dot-product-1level.yaml", "prob/dot-product.prob.yaml"
    cases += [
        _isca(
            "01.2.1-DUDU-dot-product",
            "dudu-dot-product",
            list(dot),
            summary="dense dot product (K=16) on one buffer and a MAC",
        ),
        _isca(
            "01.2.2-SUDU-dot-product",
            "sudu-dot-product",
            list(dot),
            out="ref-output/no-optimization",
            summary="dot product, A 25% dense (fixed-structured), no sparse optimisation",
        ),
        _isca(
            "01.2.2-SUDU-dot-product",
            "sudu-dot-product-gating",
            [*dot, "sparse-opt/gateBZ.yaml"],
            out="ref-output/gating",
            summary="dot product, A 25% dense, reads of B and Z gated on A",
        ),
        _isca(
            "01.2.2-SUDU-dot-product",
            "sudu-dot-product-gating-density0.5",
            [*dot, "sparse-opt/gateBZ.yaml"],
            out="ref-output/gating",
            shipped_stats=None,
            edits=(Edit("prob/dot-product.prob.yaml", "density: 0.25", "density: 0.5"),),
            varied="A's density 0.25 -> 0.5",
            summary="dot product, A 50% dense, reads of B and Z gated on A",
        ),
        _isca(
            "01.2.3-SCDU-dot-product",
            "scdu-dot-product",
            [*dot, "sparse-opt/cpA.skipBZ.yaml"],
            summary="dot product, A 25% dense in coordinate-payload format, B and Z skipped on A",
        ),
        _isca(
            "01.2.3-SCDU-dot-product",
            "scdu-dot-product-hypergeometric",
            [*dot, "sparse-opt/cpA.skipBZ.yaml"],
            shipped_stats=None,
            edits=(
                Edit(
                    "prob/dot-product.prob.yaml",
                    "distribution: fixed-structured",
                    "distribution: hypergeometric",
                ),
                Edit("prob/dot-product.prob.yaml", "density: 0.25", "density: 0.4"),
            ),
            varied="A's density model fixed-structured 0.25 -> hypergeometric 0.4",
            summary="dot product, A hypergeometric 40% dense in CP format, B and Z skipped on A",
        ),
    ]
    spmspm = "arch/2level.arch.yaml", "prob/spmspm.prob.yaml"
    cases += [
        _isca(
            "02.2.1-spMspM",
            "spmspm",
            [*spmspm, "map/mm-2level.yaml", "sparse-opt/compress-AB-skippingZ.yaml"],
            summary="spMspM 8x8x8, A 25% and B 50% dense, UOP-CP compressed, skipping",
        ),
        _isca(
            "02.2.1-spMspM",
            "spmspm-hypergeometric",
            [*spmspm, "map/mm-2level.yaml", "sparse-opt/compress-AB-skippingZ.yaml"],
            shipped_stats=None,
            edits=(
                Edit(
                    "prob/spmspm.prob.yaml",
                    "A:\n        distribution: fixed-structured\n        density: 0.25",
                    "A:\n        distribution: hypergeometric\n        density: 0.3",
                ),
            ),
            varied="A: fixed-structured 0.25 -> hypergeometric 0.3",
            summary="spMspM 8x8x8, A hypergeometric 30%, B 50%, UOP-CP compressed, skipping",
        ),
        _isca(
            "02.2.2-spMspM-tiled",
            "spmspm-tiled",
            [
                *spmspm,
                "map/mm.2level.tiled.yaml",
                "sparse-opt/compress-A-pretiled-B-skippingZ.yaml",
            ],
            summary="spMspM with N tiled at the backing store (B pre-tiled, three ranks)",
        ),
        _isca(
            "02.2.2-spMspM-tiled",
            "spmspm-tiled-density",
            [
                *spmspm,
                "map/mm.2level.tiled.yaml",
                "sparse-opt/compress-A-pretiled-B-skippingZ.yaml",
            ],
            shipped_stats=None,
            edits=(
                Edit("prob/spmspm.prob.yaml", "density: 0.25", "density: 0.125"),
                Edit("prob/spmspm.prob.yaml", "density: 0.5", "density: 0.75"),
            ),
            varied="densities A 0.25 -> 0.125, B 0.5 -> 0.75",
            summary="tiled spMspM, A 12.5% and B 75% dense",
        ),
        _isca(
            "03.2.1-conv1d",
            "conv1d",
            [
                "arch/2level.arch.yaml",
                "map/conv1d.map.yaml",
                "prob/conv1d.prob.yaml",
                "sparse-opt/compressW.skipIO.yaml",
            ],
            summary="conv1d (S=3, Q=9), weights 33% dense in RLE, inputs/outputs skipped",
        ),
        _isca(
            "03.2.1-conv1d",
            "conv1d-density0.67",
            [
                "arch/2level.arch.yaml",
                "map/conv1d.map.yaml",
                "prob/conv1d.prob.yaml",
                "sparse-opt/compressW.skipIO.yaml",
            ],
            shipped_stats=None,
            edits=(Edit("prob/conv1d.prob.yaml", "density: 0.33", "density: 0.67"),),
            varied="weights' density 0.33 -> 0.67",
            summary="conv1d, weights 67% dense in RLE, inputs/outputs skipped",
        ),
        _isca(
            "03.2.2-conv1d+oc",
            "conv1d+oc",
            [
                "arch/2level.arch.yaml",
                "map/compressW.skipIO.yaml",
                "prob/conv1d+oc.prob.yaml",
                "sparse-opt/compress-weights.yaml",
            ],
            summary="conv1d with output channels, compressed weights",
        ),
        _isca(
            "03.2.3-conv1d+oc-spatial",
            "conv1d+oc-spatial",
            [
                "arch/2level.arch.spatial.yaml",
                "map/2level.spatial.conv1d+oc.yaml",
                "prob/conv1d+oc.prob.yaml",
                "sparse-opt/compress-weights.yaml",
            ],
            summary="conv1d with output channels over spatial PEs, compressed weights",
        ),
        _isca(
            "04.2.1-eyeriss-like-gating",
            "eyeriss-like-gating",
            [
                "arch/arch.yaml",
                "mapping/layer3.yaml",
                "prob/layer3.yaml",
                "sparse_opt/eyeriss_like.yaml",
            ],
            architecture="eyeriss_like-sparse",
            summary="AlexNet layer 3 on a sparse Eyeriss-like array: gating of weights and "
            "outputs on zero input activations, compressed activations off-chip",
        ),
    ]
    for folder, name, settings in (
        (
            "04.2.2-eyeriss-like-gating-mapspace-search",
            "eyeriss-like-gating-mapper",
            "eyeriss_like",
        ),
        (
            "04.2.3-eyeriss-like-onchip-compression",
            "eyeriss-like-onchip-compression-mapper",
            "eyeriss.onchip.compress",
        ),
    ):
        base = f"{ISCA}/{folder}"
        cases.append(
            _isca(
                folder,
                name,
                ["arch/arch.yaml", "prob/layer3.yaml", f"sparse_opt/{settings}.yaml"],
                tool="mapper",
                architecture="eyeriss_like-sparse",
                shipped_stats=None,
                mapper=MapperRun(
                    constraints=(
                        f"{base}/constraints/eyeriss_like_arch_constraints.yaml",
                        f"{base}/constraints/eyeriss_like_map_constraints.yaml",
                    ),
                    settings=f"{base}/mapper/mapper.yaml",
                    overrides=one_thread,
                ),
                summary="AlexNet layer 3 on the sparse Eyeriss-like array, "
                + ("gating" if "gating" in name else "on-chip compression of activations")
                + ", mapping from timeloop-mapper",
            )
        )
    for density in ("0.2", "0.8"):
        base = f"{ISCA}/04.2.1-eyeriss-like-gating"
        cases.append(
            _isca(
                "04.2.1-eyeriss-like-gating",
                f"eyeriss-like-gating-inputs{density}",
                [
                    "arch/arch.yaml",
                    "mapping/layer3.yaml",
                    "prob/layer3.yaml",
                    "sparse_opt/eyeriss_like.yaml",
                ],
                architecture="eyeriss_like-sparse",
                shipped_stats=None,
                edits=(Edit("prob/layer3.yaml", "Inputs: 0.275", f"Inputs: {density}"),),
                varied=f"the input activations' density 0.275 -> {density}",
                summary=f"AlexNet layer 3, input activations {density} dense, on the sparse "
                "Eyeriss-like array with gating",
            )
        )
    for design in BASELINE_ARCHS:
        for layer in range(1, 6):
            stride = " (11x11, stride 4)" if layer == 1 else ""
            cases.append(
                _baseline(
                    design,
                    "AlexNet",
                    layer,
                    summary=f"AlexNet layer {layer}{stride} on the {design} example design, "
                    "mapping from timeloop-mapper",
                )
            )
        # On the two simple arrays the capped search over VGG02 layer 9 (C=M=512, 14x14)
        # ran past 400 s on two shared cores, so they take layer 1 only.
        for layer in (1, 9) if design in ("eyeriss_like", "simba_like") else (1,):
            cases.append(
                _baseline(
                    design,
                    "VGG02",
                    layer,
                    summary=f"VGG02 layer {layer} on the {design} example design, mapping "
                    "from timeloop-mapper",
                )
            )
    gating = f"{BASELINE}/eyeriss_like_w_gating"
    cases.append(
        Case(
            id="eyeriss_like_w_gating-layer3",
            architecture="eyeriss_like_w_gating",
            summary="the baseline sparse Eyeriss-like design with gating, on its layer 3 and "
            "shipped mapping",
            files={
                "arch/arch.yaml": f"{gating}/arch/arch.yaml",
                "mapping/layer3.yaml": f"{gating}/mapping/layer3.yaml",
                "prob/layer3.yaml": f"{gating}/prob/layer3.yaml",
                "sparse_opt/eyeriss_v1_like.yaml": f"{gating}/sparse_opt/eyeriss_v1_like.yaml",
            },
            ert=f"{gating}/ref-output/timeloop-model.ERT.yaml",
            art=f"{gating}/ref-output/timeloop-model.ART.yaml",
            shipped_stats=f"{gating}/ref-output/timeloop-model.stats.txt",
        )
    )
    compression = f"{BASELINE}/eyeriss_like_onchip_compression"
    cases.append(
        Case(
            id="eyeriss_like_onchip_compression-layer3-mapper",
            architecture="eyeriss_like_onchip_compression",
            summary="the baseline Eyeriss-like design with on-chip compression on layer 3, "
            "mapping from timeloop-mapper",
            files={
                "arch/arch.yaml": f"{compression}/arch/arch.yaml",
                "prob/layer3.yaml": f"{compression}/prob/layer3.yaml",
                "sparse_opt/eyeriss_v1.onchip.compress.yaml": (
                    f"{compression}/sparse_opt/eyeriss_v1.onchip.compress.yaml"
                ),
            },
            ert=f"{compression}/ref-output/timeloop-mapper.ERT.yaml",
            art=f"{compression}/ref-output/timeloop-mapper.ART.yaml",
            mapper=MapperRun(
                constraints=(
                    f"{compression}/constraints/eyeriss_like_arch_constraints.yaml",
                    f"{compression}/constraints/eyeriss_like_map_constraints.yaml",
                ),
                settings=f"{compression}/mapper/mapper.yaml",
                overrides=one_thread,
            ),
        )
    )
    stc = f"{BASELINE}/sparse_tensor_core_like"
    stc_files = {
        "arch/arch.yaml": f"{stc}/arch/arch.yaml",
        "prob/prob.yaml": f"{stc}/prob/prob.yaml",
        "sparse-opt/sparse-opt.yaml": f"{stc}/sparse-opt/sparse-opt.yaml",
    }
    cases.append(
        Case(
            id="sparse_tensor_core_like",
            architecture="sparse_tensor_core_like",
            summary="GEMM 512x256x1024 with A 2:4 structured (fixed-structured 0.5) on the "
            "sparse-tensor-core-like design, its shipped mapper output as the mapping",
            files=stc_files
            | {"map/timeloop-mapper.map.yaml": f"{stc}/ref-output/timeloop-mapper.map.yaml"},
            ert=f"{stc}/ref-output/timeloop-mapper.ERT.yaml",
            art=f"{stc}/ref-output/timeloop-mapper.ART.yaml",
            shipped_stats=f"{stc}/ref-output/timeloop-mapper.stats.txt",
        )
    )
    cases.append(
        Case(
            id="sparse_tensor_core_like-B-hypergeometric",
            architecture="sparse_tensor_core_like",
            summary="the sparse-tensor-core-like GEMM with B hypergeometric 60% dense too",
            files=stc_files
            | {"map/timeloop-mapper.map.yaml": f"{stc}/ref-output/timeloop-mapper.map.yaml"},
            ert=f"{stc}/ref-output/timeloop-mapper.ERT.yaml",
            art=f"{stc}/ref-output/timeloop-mapper.ART.yaml",
            edits=(
                Edit(
                    "prob/prob.yaml",
                    "        distribution: fixed-structured\n",
                    "        distribution: fixed-structured\n"
                    "      B:\n        density: 0.6\n        distribution: hypergeometric\n",
                ),
            ),
            varied="B given a hypergeometric density of 0.6 (dense in the exercise)",
        )
    )
    return cases


def _rejected() -> list[Rejected]:
    return [
        Rejected(
            "ispass-00-buffer-too-small",
            "ispass-00-conv1d-1level",
            (Edit("arch/1level.arch.yaml", "depth: 64", "depth: 16"),),
            "the single buffer holds 16 words, the mapping keeps 37",
        ),
        Rejected(
            "ispass-01-factors-do-not-multiply",
            "ispass-01-conv1d-2level-os",
            (Edit("map/conv1d-2level-os.map.yaml", "P=16", "P=8"),),
            "P's factors multiply to 8, the problem has P=16",
        ),
        Rejected(
            "ispass-01-unknown-dimension",
            "ispass-01-conv1d-2level-ws",
            (Edit("map/conv1d-2level-ws.map.yaml", "R=3", "X=3"),),
            "a factor names a dimension the problem does not have",
        ),
        Rejected(
            "ispass-02-unknown-level",
            "ispass-02-conv1d+oc-2level-os",
            (Edit("map/conv1d+oc-2level-os.map.yaml", "target: Buffer", "target: Bufer"),),
            "a mapping target names no level of the architecture",
        ),
        Rejected(
            "ispass-03-register-file-too-small",
            "ispass-03-conv1d+oc-3level",
            (Edit("arch/3level.arch.yaml", "depth: 64", "depth: 8"),),
            "the register file shrunk below the mapping's tile",
        ),
        Rejected(
            "ispass-04-fanout-over-mesh",
            "ispass-04-conv1d+oc+ic-3levelspatial-kp-ws",
            (
                Edit("map/conv1d+oc+ic-3levelspatial-kp-ws.map.yaml", "K=2 C=32", "K=1 C=32"),
                Edit("map/conv1d+oc+ic-3levelspatial-kp-ws.map.yaml", "K=16 C=1", "K=32 C=1"),
            ),
            "32 PEs along K on a 16-PE array",
        ),
        Rejected(
            "isca-01.2.3-scdu-density-above-one",
            "isca-01.2.3-scdu-dot-product",
            (Edit("prob/dot-product.prob.yaml", "density: 0.25", "density: 1.5"),),
            "a density above 1",
        ),
        Rejected(
            "isca-02.2.2-spmspm-tiled-too-few-ranks",
            "isca-02.2.2-spmspm-tiled",
            (
                Edit(
                    "sparse-opt/compress-A-pretiled-B-skippingZ.yaml",
                    "          - name: B          # pretiling is required, so B's is represented "
                    "with 3 ranks\n            ranks:\n              - format: UOP\n"
                    "              - format: UOP\n              - format: CP\n",
                    "          - name: B          # pretiling is required, so B's is represented "
                    "with 3 ranks\n            ranks:\n              - format: UOP\n"
                    "              - format: CP\n",
                ),
            ),
            "B tiled in N at the backing store but given two ranks (the exercise's point)",
        ),
        Rejected(
            "isca-02.2.1-spmspm-buffer-too-small",
            "isca-02.2.1-spmspm",
            (
                Edit(
                    "arch/2level.arch.yaml",
                    "data_storage_depth: 128\n              data_storage_width: 8",
                    "data_storage_depth: 16\n              data_storage_width: 8",
                ),
            ),
            "the PE buffer's data storage shrunk below the compressed tiles",
        ),
        Rejected(
            "isca-03.2.3-conv1d+oc-spatial-fanout",
            "isca-03.2.3-conv1d+oc-spatial",
            (Edit("arch/2level.arch.spatial.yaml", "PE[0..3]", "PE[0..1]"),),
            "the mapping spreads over more PEs than the array has",
        ),
        Rejected(
            "isca-04.2.1-eyeriss-glb-too-small",
            "isca-04.2.1-eyeriss-like-gating",
            (Edit("arch/arch.yaml", "data_storage_depth: 12800", "data_storage_depth: 256"),),
            "the global buffer shrunk below the mapping's tiles",
        ),
        Rejected(
            "eyeriss_like-alexnet-layer1-spatial-over-mesh",
            "eyeriss_like-alexnet-layer1",
            (Edit("arch/eyeriss_like.yaml", "PE[0..167]", "PE[0..83]"),),
            "the PE array halved under the mapper's 168-PE mapping",
        ),
        Rejected(
            "simba_like-alexnet-layer2-weights-over-capacity",
            "simba_like-alexnet-layer2",
            (Edit("arch/simba_like.yaml", "memory_depth: 4096", "memory_depth: 64"),),
            "a buffer shrunk below the mapper's tile",
        ),
        Rejected(
            "simple_weight_stationary-alexnet-layer3-factor-mismatch",
            "simple_weight_stationary-alexnet-layer3",
            (Edit("prob/AlexNet_layer3.yaml", "M: 384", "M: 192"),),
            "the layer's M halved under a mapping whose factors multiply to 384",
        ),
        Rejected(
            "sparse_tensor_core_like-rf-too-small",
            "sparse_tensor_core_like",
            (Edit("arch/arch.yaml", "data_storage_depth: 2048", "data_storage_depth: 64"),),
            "the RF shrunk below the mapping's Z tile",
        ),
    ]


def _apply(case_dir: Path, edits: tuple[Edit, ...]) -> None:
    for edit in edits:
        path = case_dir / edit.file
        text = path.read_text()
        if text.count(edit.old) != 1:
            raise SystemExit(
                f"{case_dir.name}: {edit.old!r} occurs {text.count(edit.old)} times in {edit.file}"
            )
        path.write_text(text.replace(edit.old, edit.new))


def _run_mapper(
    case: Case, case_dir: Path, source: Source, mapper: Path, timeout: float
) -> tuple[str, float]:
    """Run timeloop-mapper on the case's inputs with the exercise's constraints; returns the
    mapping it found (YAML text) and the seconds it took."""
    assert case.mapper is not None
    with tempfile.TemporaryDirectory(prefix="exercise-mapper-") as scratch:
        work = Path(scratch)
        extra = []
        for index, path in enumerate(case.mapper.constraints):
            target = work / f"constraints-{index}-{Path(path).name}"
            target.write_bytes(source.read(path))
            extra.append(target)
        settings = yaml.safe_load(source.read(case.mapper.settings))
        settings["mapper"].update(case.mapper.overrides)
        settings_file = work / "mapper.yaml"
        settings_file.write_text(yaml.safe_dump(settings, sort_keys=False))
        inputs = [p for p in case_inputs(case_dir) if not p.is_relative_to(case_dir / "map")]
        start = time.monotonic()
        proc = subprocess.run(
            [str(mapper), *map(str, inputs), *map(str, extra), str(settings_file)],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        seconds = time.monotonic() - start
        found = work / "timeloop-mapper.map.yaml"
        if proc.returncode != 0 or not found.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            raise SystemExit(f"{case.id}: timeloop-mapper failed: {' | '.join(tail)}")
        return found.read_text(), seconds


def _shipped_figures(text: str) -> dict:
    """Cycles and energy of an exercise's own stats file (its Timeloop build's report)."""
    import re

    cycles = re.search(r"^Cycles: (\d+)", text, re.M)
    energy = re.search(r"^Energy: ([\d.e+]+) uJ", text, re.M)
    out = {}
    if cycles:
        out["cycles"] = int(cycles.group(1))
    if energy:
        out["energy_uJ"] = float(energy.group(1))
    return out


def describe(inputs: dict, mapping: list | None = None) -> dict:
    """What a case exercises, from its inputs: the problem shape, strides, densities, sparse
    optimisations, spatial fan-out and bypassing."""
    problem = inputs["problem"]
    shape = problem["shape"]
    instance = problem.get("instance") or {}
    dims = [str(d) for d in shape["dimensions"]]
    spaces = shape["data-spaces"]
    # a rank projected from a sum of dimensions (a sliding window), e.g. [[R], [P]]
    sliding = max(
        sum(isinstance(rank, list) and len(rank) > 1 for rank in space["projection"])
        for space in spaces
    )
    coefficients = {
        c["name"]: instance.get(c["name"], c.get("default", 1))
        for c in shape.get("coefficients") or []
    }
    strided = {k: v for k, v in coefficients.items() if "stride" in k.lower() and v != 1}
    dilated = {k: v for k, v in coefficients.items() if "dilation" in k.lower() and v != 1}
    if sliding >= 2:
        kind = "cnn-layer" if len(dims) == 7 else f"conv2d-{len(dims)}d"
    elif sliding:
        kind = "conv1d"
    elif {s["name"] for s in spaces} == {"A", "B", "Z"} and len(dims) == 3:
        kind = "matmul"
    elif len(dims) <= 2 and any(len(s["projection"]) == 1 for s in spaces):
        kind = "dot-product"
    else:
        kind = "other"
    densities = {}
    for tensor, spec in (instance.get("densities") or {}).items():
        if isinstance(spec, dict) and "density" in spec:
            densities[tensor] = f"{spec.get('distribution', '?')} {spec['density']}"
        elif isinstance(spec, dict):
            densities[tensor] = str(spec.get("distribution"))
        else:
            densities[tensor] = str(spec)
    sparse = []
    for target in (inputs.get("sparse_optimizations") or {}).get("targets") or []:
        formats = (target.get("representation-format") or {}).get("data-spaces") or []
        for space in formats:
            ranks = "-".join(str(r.get("format")) for r in space.get("ranks") or [])
            sparse.append(f"{target['name']}: {space['name']} {ranks}")
        for action in target.get("action-optimization") or []:
            for option in action.get("options") or [action]:
                conditions = ",".join(option.get("condition-on") or [])
                sparse.append(
                    f"{target['name']}: {action['type']} {option.get('target')} on {conditions}"
                )
    features = []
    if strided:
        features.append("strided")
    if dilated:
        features.append("dilated")
    if densities:
        features.append("sparse-data")
    if any(": gating" in s for s in sparse):
        features.append("gating")
    if any(": skipping" in s for s in sparse):
        features.append("skipping")
    if any(
        s.split(": ")[1].split()[0] not in ("gating", "skipping", "skipping-spatial")
        for s in sparse
    ):
        features.append("compressed")
    if any("skipping-spatial" in s for s in sparse):
        features.append("spatial-skipping")
    directives = mapping or inputs.get("mapping") or []
    if any(
        d.get("type") == "spatial" and _factor_product(d.get("factors")) > 1 for d in directives
    ):
        features.append("spatial")
    if any(d.get("type") in ("bypass", "datatype") and d.get("bypass") for d in directives):
        features.append("bypass")
    return {
        "shape": kind,
        "problem": str(shape.get("name", "")),
        "dimensions": {d: instance.get(d) for d in dims},
        "strides": strided or None,
        "dilations": dilated or None,
        "densities": densities or None,
        "sparse_optimizations": sparse or None,
        "features": features,
    }


def _factor_product(factors) -> int:
    import re

    if not factors:
        return 1
    product = 1
    for value in re.findall(r"[A-Za-z]+\s*=?\s*(\d+)", str(factors)):
        product *= int(value)
    return product


def build_case(
    case: Case,
    out: Path,
    source: Source,
    mappings: Path | None,
    mapper: Path,
    mapper_timeout: float,
    remap: bool = False,
) -> Path:
    case_dir = out / case.id
    shutil.rmtree(case_dir, ignore_errors=True)
    for name, path in case.inputs.items():
        target = case_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read(path))
    _apply(case_dir, case.edits)
    meta: dict = {
        "id": case.id,
        "summary": case.summary,
        "architecture": case.architecture,
        "source": {
            "repo": EXERCISES,
            "commit": EXERCISES_COMMIT,
            "files": {name: path for name, path in case.inputs.items()},
        },
        "ert": {"file": Path(case.ert).name, "from": case.ert_note},
        "varied": case.varied,
        "edits": [{"file": e.file, "from": e.old, "to": e.new} for e in case.edits] or None,
    }
    if case.mapper is None:
        meta["mapping"] = "shipped by the exercise"
    else:
        committed = mappings / case.id / MAPPING_FILE if mappings else None
        target = case_dir / MAPPING_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        if not remap and committed is not None and committed.exists():
            target.write_text(committed.read_text())
            seconds = _committed_seconds(mappings / case.id)
        elif mapper is not None and mapper.exists():
            text, seconds = _run_mapper(case, case_dir, source, mapper, mapper_timeout)
            target.write_text(text)
        else:
            raise SystemExit(f"{case.id}: no committed mapping and no timeloop-mapper at {mapper}")
        meta["mapping"] = {
            "from": "timeloop-mapper (NVlabs/timeloop 788bb30) on the case's other inputs",
            "constraints": list(case.mapper.constraints),
            "mapper_settings": case.mapper.settings,
            "overrides": dict(case.mapper.overrides) or None,
            "mapper_seconds": None if seconds is None else round(seconds, 1),
        }
    if case.shipped_stats:
        meta["shipped_stats"] = {
            "file": case.shipped_stats,
            **_shipped_figures(source.read(case.shipped_stats).decode()),
            "note": "the exercise's own Timeloop build's output for these inputs",
        }
    inputs = merged_inputs(case_inputs(case_dir))
    meta["covers"] = describe(inputs)
    meta["timeloop_inputs"] = [str(p.relative_to(case_dir)) for p in case_inputs(case_dir)]
    (case_dir / META_FILE).write_text(yaml.safe_dump(meta, sort_keys=False, width=100))
    return case_dir


def _committed_seconds(case_dir: Path) -> float | None:
    meta = case_dir / META_FILE
    if not meta.exists():
        return None
    mapping = (yaml.safe_load(meta.read_text()) or {}).get("mapping")
    return mapping.get("mapper_seconds") if isinstance(mapping, dict) else None


def build_rejected(rejected: Rejected, cases_dir: Path, out: Path) -> Path:
    case_dir = out / rejected.id
    shutil.rmtree(case_dir, ignore_errors=True)
    shutil.copytree(cases_dir / rejected.base, case_dir)
    for name in ("timeloop.json", "timeloop-error.txt"):
        (case_dir / name).unlink(missing_ok=True)
    _apply(case_dir, rejected.edits)
    meta = yaml.safe_load((case_dir / META_FILE).read_text())
    meta.update(
        {
            "id": rejected.id,
            "base": rejected.base,
            "rejected_because": rejected.why,
            "edits": (meta.get("edits") or [])
            + [{"file": e.file, "from": e.old, "to": e.new} for e in rejected.edits],
        }
    )
    (case_dir / META_FILE).write_text(yaml.safe_dump(meta, sort_keys=False, width=100))
    return case_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for cases/ and rejected/")
    parser.add_argument("--exercises", type=Path, help="bare git mirror of the exercises repo")
    parser.add_argument(
        "--mappings",
        type=Path,
        default=CORPUS / "cases",
        help="corpus whose committed mapper mappings are reused",
    )
    parser.add_argument(
        "--remap",
        action="store_true",
        help="run timeloop-mapper for every mapper case (by default only where no mapping "
        "is committed)",
    )
    parser.add_argument("--only", nargs="*", help="build only these case ids")
    parser.add_argument("--mapper-timeout", type=float, default=600.0)
    args = parser.parse_args()
    git_dir = args.exercises or find_mirror(EXERCISES)
    if git_dir is None:
        sys.exit(f"no mirror of {EXERCISES} found: fetch it or pass --exercises")
    source = Source(git_dir, EXERCISES_COMMIT)
    mapper = find_timeloop_dir() / "timeloop-mapper"
    if args.remap and not mapper.exists():
        sys.exit(f"timeloop-mapper not found at {mapper}")
    cases_dir = args.out / "cases"
    rejected_dir = args.out / "rejected"
    cases_dir.mkdir(parents=True, exist_ok=True)
    rejected_dir.mkdir(parents=True, exist_ok=True)
    all_cases = _cases()
    ids = [c.id for c in all_cases]
    if len(set(ids)) != len(ids):
        sys.exit("duplicate case ids")
    for case in all_cases:
        if args.only and case.id not in args.only:
            continue
        built = build_case(
            case, cases_dir, source, args.mappings, mapper, args.mapper_timeout, args.remap
        )
        print(f"case     {built.name}", flush=True)
    for rejected in _rejected():
        if args.only and rejected.base not in args.only and rejected.id not in args.only:
            continue
        built = build_rejected(rejected, cases_dir, rejected_dir)
        print(f"rejected {built.name}", flush=True)


if __name__ == "__main__":
    main()
