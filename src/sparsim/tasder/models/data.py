"""Offline data for the real models: photos shipped with scikit-image and sentences shipped
with scikit-learn.

* Photos: scikit-image's bundled sample images (grey ones repeated to three channels),
  whole and as random square crops, resized to the network's input size. Calibration and
  evaluation use different crops (different seeds).
* Sentences: the prose of Python's own language reference, shipped with every Python in
  ``pydoc_data.topics`` (about 2,500 sentences), for calibration and embedding
  similarity; and the prose of scikit-learn's bundled dataset descriptions
  (``descr/*.rst``), labelled by the dataset each sentence describes, a 12-class topic
  task.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from sparsim.errors import SparsimError
from sparsim.tasder.models._packages import require

# Files bundled inside scikit-image (the other samples are downloaded on demand).
PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "cell.png",
    "chelsea.png",
    "clock_motion.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "microaneurysms.png",
    "moon.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "page.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
)
IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
MIN_WORDS, MAX_WORDS = 6, 60


def _photos() -> list[torch.Tensor]:
    """The bundled photos as ``[3, H, W]`` float tensors in [0, 1]."""
    skimage_data = require("skimage.data", "scikit-image")
    skimage_io = require("skimage.io", "scikit-image")
    folder = Path(skimage_data.data_dir)
    images = []
    for name in PHOTOS:
        path = folder / name
        if not path.is_file():
            raise SparsimError(
                f"scikit-image sample {name} is missing; reinstall scikit-image", "photos"
            )
        pixels = np.asarray(skimage_io.imread(path))
        if pixels.dtype == np.bool_:
            pixels = pixels.astype(np.uint8) * 255
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[..., None], 3, axis=2)
        scale = 65535.0 if pixels.dtype == np.uint16 else 255.0
        images.append(torch.from_numpy(pixels[..., :3].astype(np.float32) / scale).permute(2, 0, 1))
    return images


def photo_crops(count: int, size: int = 224, seed: int = 0) -> torch.Tensor:
    """``count`` RGB images ``[count, 3, size, size]`` in [0, 1]: the whole photos first
    (centre square), then random crops of 30-100% of the short side, cycling through the
    photos. Bilinear resizing with antialiasing."""
    photos = _photos()
    generator = torch.Generator().manual_seed(seed)
    out = torch.empty(count, 3, size, size)
    for index in range(count):
        photo = photos[index % len(photos)]
        height, width = photo.shape[1:]
        short = min(height, width)
        if index < len(photos) and seed == 0:
            side, top, left = short, (height - short) // 2, (width - short) // 2
        else:
            side = int(short * (0.3 + 0.7 * torch.rand(1, generator=generator).item()))
            top = int(torch.randint(0, height - side + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - side + 1, (1,), generator=generator))
        crop = photo[:, top : top + side, left : left + side].unsqueeze(0)
        out[index] = torch.nn.functional.interpolate(
            crop, size=(size, size), mode="bilinear", align_corners=False, antialias=True
        )[0]
    return out


def imagenet_normalise(images: torch.Tensor) -> torch.Tensor:
    return (images - IMAGENET_MEAN) / IMAGENET_STD


def _prose_sentences(text: str) -> list[str]:
    """Sentences of running text, without reStructuredText tables, headings and code."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.splitlines()]
        if any(re.match(r"^(=|-|\.\.|:|\*|\||>>>|\+)", line) for line in lines if line):
            continue
        paragraphs.append(" ".join(line for line in lines if line))
    sentences = []
    for paragraph in paragraphs:
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z])", paragraph):
            sentence = re.sub(r"[`*_]+", "", sentence).strip()
            words = sentence.split()
            letters = sum(ch.isalpha() for ch in sentence)
            if MIN_WORDS <= len(words) <= MAX_WORDS and letters >= 0.6 * len(sentence):
                sentences.append(sentence)
    return sentences


def reference_sentences() -> list[str]:
    """Sentences of the Python language reference (``pydoc_data.topics``), in topic order."""
    from pydoc_data.topics import topics

    return [sentence for name in sorted(topics) for sentence in _prose_sentences(topics[name])]


def labelled_sentences() -> tuple[list[str], torch.Tensor, list[str]]:
    """scikit-learn's dataset-description sentences, their labels (the dataset described)
    and the label names."""
    datasets = require("sklearn.datasets", "scikit-learn")
    folder = Path(datasets.__file__).parent / "descr"
    files = sorted(folder.glob("*.rst"))
    if not files:
        raise SparsimError(
            "scikit-learn's dataset descriptions are missing; reinstall it", str(folder)
        )
    sentences, labels, names = [], [], []
    for path in files:
        found = _prose_sentences(path.read_text())
        if len(found) < 4:
            continue
        names.append(path.stem)
        sentences += found
        labels += [len(names) - 1] * len(found)
    return sentences, torch.tensor(labels), names


# WordNet's lexicographer files (supersenses) used as classes: ten noun categories with
# over 2,000 synsets each.
WORDNET_DIR_VARIABLE = "SPARSIM_WORDNET"
DEFAULT_WORDNET_DIR = Path("/usr/share/wordnet")
SUPERSENSES = {
    4: "act",
    5: "animal",
    6: "artifact",
    8: "body",
    10: "communication",
    13: "food",
    15: "location",
    18: "person",
    20: "plant",
    27: "substance",
}


def wordnet_glosses(per_class: int, seed: int = 0) -> tuple[list[str], torch.Tensor, list[str]]:
    """``per_class`` noun glosses (definitions, without their quoted examples) of each of
    WordNet's ten supersenses in :data:`SUPERSENSES`, drawn at random (fixed ``seed``), with
    their labels and the label names. From Debian's ``wordnet-base`` (``data.noun``)."""
    import os

    path = Path(os.environ.get(WORDNET_DIR_VARIABLE, DEFAULT_WORDNET_DIR)) / "data.noun"
    if not path.is_file():
        raise SparsimError(
            f"WordNet not found ({path} is missing); install it with 'apt-get install "
            f"wordnet-base' or set {WORDNET_DIR_VARIABLE} to a folder holding data.noun",
            "wordnet",
        )
    by_class: dict[int, list[str]] = {number: [] for number in SUPERSENSES}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(" ") or "| " not in line:
            continue
        number = int(line.split(" ", 2)[1])
        if number in by_class:
            gloss = line.split("| ", 1)[1].split('; "')[0].strip()
            if len(gloss.split()) >= 3:
                by_class[number].append(gloss)
    generator = torch.Generator().manual_seed(seed)
    sentences: list[str] = []
    labels: list[int] = []
    for label, number in enumerate(SUPERSENSES):
        found = by_class[number]
        if len(found) < per_class:
            raise SparsimError(
                f"{len(found)} glosses of noun.{SUPERSENSES[number]}, {per_class} asked", "wordnet"
            )
        chosen = torch.randperm(len(found), generator=generator)[:per_class]
        sentences += [found[index] for index in chosen]
        labels += [label] * per_class
    # Interleave the classes so that any prefix of the list is balanced.
    order = torch.arange(len(labels)).view(len(SUPERSENSES), per_class).T.flatten()
    return (
        [sentences[index] for index in order],
        torch.tensor(labels)[order],
        [f"noun.{name}" for name in SUPERSENSES.values()],
    )
