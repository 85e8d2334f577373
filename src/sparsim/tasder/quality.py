"""Quality of a (transformed) model, measured against the original on fixed data.

Every evaluator follows scikit-learn's pattern: ``fit(original)`` measures what the
original model does (its outputs, or its accuracy), ``score(model)`` returns the quality of
any model on the same data, and ``quality_`` holds the original's own score. TASDER keeps a
configuration while ``score(model) >= target * quality_``.

* :class:`Accuracy`: fraction of correct labels (optionally through a fixed head on the
  model's outputs, e.g. nearest class centroids of sentence embeddings);
* :class:`Top1Agreement`: fraction of inputs whose top-1 class is the original's;
* :class:`CosineSimilarity`: mean cosine similarity of each output row to the original's
  (sentence embeddings);
* :class:`ScoreAgreement`: fraction of inputs whose score (a probability) stays within a
  tolerance of the original's (for a classifier whose top-1 hardly ever changes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from sparsim.errors import SparsimError
from sparsim.workload.probe import inference, run_model

Head = Callable[[torch.Tensor], torch.Tensor]


class Evaluator:
    """Run a model over fixed batches and compare its outputs with the original's."""

    metric = "quality"
    needs_reference = True

    def __init__(self, batches: Sequence[Any], *, progress: bool = False):
        if not len(batches):
            raise SparsimError("no batches to evaluate quality on", "evaluation data")
        self.batches = list(batches)
        self.progress = progress
        self.quality_: float | None = None

    def outputs(self, model: nn.Module) -> torch.Tensor:
        """The model's outputs on all batches, concatenated along the first dim."""
        results = []
        with inference(model):
            for batch in tqdm(
                self.batches,
                desc=f"quality ({self.metric})",
                unit="batch",
                disable=not self.progress,
                leave=False,
            ):
                results.append(_as_tensor(run_model(model, batch)).float())
        return torch.cat(results)

    def fit(self, original: nn.Module) -> Evaluator:
        outputs = self.outputs(original)
        self._fit_reference(outputs)
        self.quality_ = self._compare(outputs)
        return self

    def score(self, model: nn.Module) -> float:
        if self.needs_reference and self.quality_ is None:
            raise SparsimError("call fit(original_model) before score()", type(self).__name__)
        return self._compare(self.outputs(model))

    def relative(self, model: nn.Module) -> float:
        """``score(model) / quality_``: 1.0 means as good as the original."""
        if not self.quality_:
            raise SparsimError("the original model scores 0; relative quality is undefined")
        return self.score(model) / self.quality_

    def _fit_reference(self, outputs: torch.Tensor) -> None:
        self.reference_ = outputs

    def _compare(self, outputs: torch.Tensor) -> float:
        raise NotImplementedError


class Accuracy(Evaluator):
    metric = "accuracy"
    needs_reference = False

    def __init__(
        self,
        batches: Sequence[Any],
        labels: torch.Tensor,
        *,
        head: Head | None = None,
        progress: bool = False,
    ):
        super().__init__(batches, progress=progress)
        self.labels = torch.as_tensor(labels).long()
        self.head = head

    def _fit_reference(self, outputs: torch.Tensor) -> None:
        if len(outputs) != len(self.labels):
            raise SparsimError(f"{len(outputs)} outputs but {len(self.labels)} labels", "labels")

    def _compare(self, outputs: torch.Tensor) -> float:
        logits = self.head(outputs) if self.head is not None else outputs
        return float((logits.argmax(-1) == self.labels).double().mean())


class Top1Agreement(Evaluator):
    """With ``min_confidence``, only inputs on which the original's top-1 softmax
    probability reaches it count: on photos of no particular class (textures, crops) the
    top logits nearly tie and their order says nothing about the model."""

    metric = "top-1 agreement"

    def __init__(
        self, batches: Sequence[Any], *, min_confidence: float | None = None, progress: bool = False
    ):
        super().__init__(batches, progress=progress)
        self.min_confidence = min_confidence
        if min_confidence is not None:
            self.metric = f"top-1 agreement (original confidence >= {min_confidence:g})"

    def _fit_reference(self, outputs: torch.Tensor) -> None:
        self.reference_ = outputs.argmax(-1)
        self.counted_ = torch.ones(len(outputs), dtype=torch.bool)
        if self.min_confidence is not None:
            self.counted_ = outputs.softmax(-1).amax(-1) >= self.min_confidence
            if not self.counted_.any():
                raise SparsimError(
                    f"no input reaches confidence {self.min_confidence}", "min_confidence"
                )

    def _compare(self, outputs: torch.Tensor) -> float:
        agree = outputs.argmax(-1) == self.reference_
        return float(agree[self.counted_].double().mean())


class CosineSimilarity(Evaluator):
    metric = "cosine similarity"

    def _compare(self, outputs: torch.Tensor) -> float:
        similarity = nn.functional.cosine_similarity(
            outputs.flatten(1).double(), self.reference_.flatten(1).double(), dim=1
        )
        return float(similarity.mean())


class ScoreAgreement(Evaluator):
    metric = "score agreement"

    def __init__(
        self,
        batches: Sequence[Any],
        *,
        column: int = -1,
        tolerance: float = 0.02,
        progress: bool = False,
    ):
        super().__init__(batches, progress=progress)
        self.column = column
        self.tolerance = tolerance

    def _fit_reference(self, outputs: torch.Tensor) -> None:
        self.reference_ = outputs[:, self.column]

    def _compare(self, outputs: torch.Tensor) -> float:
        moved = (outputs[:, self.column] - self.reference_).abs()
        return float((moved <= self.tolerance).double().mean())


def centroid_head(embeddings: torch.Tensor, labels: torch.Tensor) -> Head:
    """A frozen nearest-centroid classifier: cosine similarity to each class's mean
    embedding. Fitted once on the original model's embeddings, it checks that a transformed
    encoder still serves a downstream head trained for the original."""
    labels = torch.as_tensor(labels).long()
    classes = int(labels.max()) + 1
    normalised = nn.functional.normalize(embeddings.float(), dim=1)
    sums = torch.zeros(classes, normalised.shape[1]).index_add_(0, labels, normalised)
    centroids = nn.functional.normalize(sums, dim=1)

    def head(outputs: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(outputs.float(), dim=1) @ centroids.T

    return head


def _as_tensor(output: Any) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, tuple | list) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise SparsimError(
        f"the model returned a {type(output).__name__}; quality evaluators need a tensor "
        "(wrap the model so that it returns its logits or embeddings)"
    )
