"""Offline labelled data for the real models.

* Images: Fashion-MNIST (:mod:`sparsim.tasder.models.fmnist`), resized and repeated to
  three channels for the ImageNet networks (ImageNet normalisation here).
* Sentences: WordNet's noun glosses (Debian's ``wordnet-base``), labelled by the
  supersense (lexicographer file) of their synset: a 10-class topic task.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from sparsim.errors import SparsimError

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def imagenet_normalise(images: torch.Tensor) -> torch.Tensor:
    return (images - IMAGENET_MEAN) / IMAGENET_STD


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
