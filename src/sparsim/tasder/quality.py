"""Quality of a (transformed) model, measured against the original on fixed data.

Every evaluator follows scikit-learn's pattern: ``fit(original)`` measures what the
original model does (its outputs, or its accuracy), ``score(model)`` returns the quality of
any model on the same data, and ``quality_`` holds the original's own score. TASDER keeps a
configuration while ``score(model) >= target * quality_``.

A figure alone says little: ``estimate(model)`` returns it with its 95% interval and sample
size (Wilson for shares, bootstrap for means of continuous values), ``gate(model, target)``
also the paired interval of the margin ``score - target * quality_`` (same inputs for both
models) and the decision: under the ``bound`` rule (TASDER's default) a model meets the
target only when the lower end of that interval is at or above zero, so the target holds
with one-sided confidence ``(1 + confidence) / 2`` (97.5% for the 95% interval) on the data
the evaluator holds; the ``point`` rule compares the point estimates alone. ``chance_`` is
the best score a model with one constant output reaches on the data, so a measure that a
collapsed model could pass is visible (``collapse_margin``).

* :class:`Accuracy`: fraction of correct labels (optionally through a fixed head on the
  model's outputs, e.g. nearest class centroids of sentence embeddings);
* :class:`Top1Agreement`: fraction of inputs whose top-1 class is the original's;
* :class:`CosineSimilarity`: mean cosine similarity of each output row to the original's
  (sentence embeddings);
* :class:`ScoreAgreement`: fraction of inputs whose score (a probability) stays within a
  tolerance of the original's (a constant model can pass it: see ``chance_``);
* :func:`linear_head`, :func:`centroid_head`: frozen downstream heads for :class:`Accuracy`
  on a model's outputs (embeddings, or logits of another label set).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from sparsim.errors import SparsimError
from sparsim.workload.probe import inference, run_model

Head = Callable[[torch.Tensor], torch.Tensor]

BOOTSTRAP_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95  # the level of every interval reported
RULES = ("bound", "point")  # how gate() decides: the margin's lower bound, or its value


def _z(confidence: float) -> float:
    """The two-sided normal quantile of ``confidence`` (1.96 at 0.95)."""
    if not 0 < confidence < 1:
        raise SparsimError(f"must be in (0, 1), got {confidence}", "confidence")
    return NormalDist().inv_cdf((1 + confidence) / 2)


@dataclass(frozen=True)
class Estimate:
    """A quality figure with its 95% confidence interval and the inputs it counts."""

    value: float
    low: float
    high: float
    n: int
    method: str  # "Wilson" (a share of inputs) or "bootstrap" (a mean of per-input values)

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def __str__(self) -> str:
        return f"{self.value:.4f} [{self.low:.4f}, {self.high:.4f}] (n={self.n:,}, {self.method})"


@dataclass(frozen=True)
class Gate:
    """A model against the target: its estimate, and the paired bootstrap interval of
    ``score - target * original`` over the same inputs. ``passes`` is the decision under
    ``rule``: ``bound``, the interval's lower end at or above zero (the target holds with
    confidence); ``point``, the margin's value alone. ``certain`` says the interval lies on
    one side of zero."""

    estimate: Estimate
    original: float
    target: float
    margin: Estimate
    rule: str = "bound"
    confidence: float = DEFAULT_CONFIDENCE
    split: str | None = None  # the evaluator's data (validation, test), when it says

    @property
    def passes(self) -> bool:
        return (self.margin.low if self.rule == "bound" else self.margin.value) >= 0

    @property
    def ratio(self) -> float:
        """The model's quality over the original's (0.99 = 99% of the original)."""
        return self.estimate.value / self.original if self.original else 0.0

    @property
    def certain(self) -> bool:
        return self.margin.low >= 0 or self.margin.high < 0


def wilson_interval(
    successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """Wilson's score interval of a binomial share (sound at 0 and 1, unlike Wald's)."""
    if n < 1:
        raise SparsimError("an interval needs at least one input", "n")
    z = _z(confidence)
    share = successes / n
    denominator = 1 + z**2 / n
    centre = (share + z**2 / (2 * n)) / denominator
    spread = z * math.sqrt(share * (1 - share) / n + z**2 / (4 * n * n)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def bootstrap_interval(
    values: torch.Tensor,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
) -> tuple[float, float]:
    """Percentile interval of the mean of ``values`` over ``resamples`` resamples (a fixed
    generator: the same values give the same interval)."""
    tail = (1 - confidence) / 2
    _z(confidence)
    values = values.double().flatten()
    if not len(values):
        raise SparsimError("an interval needs at least one input", "n")
    generator = torch.Generator().manual_seed(len(values))
    means = torch.empty(resamples, dtype=torch.float64)
    chunk = max(1, 2_000_000 // len(values))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        index = torch.randint(len(values), (stop - start, len(values)), generator=generator)
        means[start:stop] = values[index].mean(1)
    quantiles = torch.tensor([tail, 1 - tail], dtype=torch.float64)
    low, high = torch.quantile(means, quantiles)
    return float(low), float(high)


def estimate(
    values: torch.Tensor, binary: bool, confidence: float = DEFAULT_CONFIDENCE
) -> Estimate:
    """The mean of per-input values with its interval (Wilson when they are 0/1)."""
    values = values.double().flatten()
    mean = float(values.mean())
    if binary:
        low, high = wilson_interval(int(values.sum().round()), len(values), confidence)
        return Estimate(mean, low, high, len(values), "Wilson")
    low, high = bootstrap_interval(values, confidence=confidence)
    return Estimate(mean, low, high, len(values), "bootstrap")


class Evaluator:
    """Run a model over fixed batches and compare its outputs with the original's."""

    metric = "quality"
    needs_reference = True
    binary = True  # per-input values are 0/1 (a share); False: a mean of continuous values

    def __init__(self, batches: Sequence[Any], *, progress: bool = False, split: str | None = None):
        if not len(batches):
            raise SparsimError("no batches to evaluate quality on", "evaluation data")
        self.batches = list(batches)
        self.progress = progress
        self.split = split
        self.quality_: float | None = None
        self.estimate_: Estimate | None = None
        self.chance_: float | None = None

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
        self.original_values_ = self._values(outputs)
        self.estimate_ = estimate(self.original_values_, self.binary)
        self.quality_ = self.estimate_.value
        self.chance_ = self._chance()
        return self

    def score(self, model: nn.Module) -> float:
        return float(self.values(model).mean())

    def values(self, model: nn.Module) -> torch.Tensor:
        """Per-input quality values of ``model`` (their mean is the score)."""
        if self.needs_reference and self.quality_ is None:
            raise SparsimError("call fit(original_model) before score()", type(self).__name__)
        return self._values(self.outputs(model))

    def estimate(self, model: nn.Module) -> Estimate:
        """``score(model)`` with its 95% interval and sample size."""
        return estimate(self.values(model), self.binary)

    def gate(
        self,
        model: nn.Module,
        target: float = 0.99,
        *,
        rule: str = "bound",
        confidence: float = DEFAULT_CONFIDENCE,
    ) -> Gate:
        """``model`` against ``target`` times the original's quality, on the same inputs;
        intervals at ``confidence``, the decision by ``rule`` (``bound`` or ``point``)."""
        if rule not in RULES:
            raise SparsimError(f"unknown rule {rule!r}; expected {' or '.join(RULES)}", "rule")
        values = self.values(model)
        self._require_fitted()
        margin = values.double() - target * self.original_values_.double()
        return Gate(
            estimate(values, self.binary, confidence),
            float(self.quality_),  # type: ignore[arg-type]
            target,
            estimate(margin, binary=False, confidence=confidence),
            rule,
            confidence,
            self.split,
        )

    def collapse_margin(self, target: float = 0.99) -> float:
        """``target * quality_ - chance_``: positive when every constant-output model fails
        the target (the larger, the safer)."""
        self._require_fitted()
        return target * float(self.quality_) - float(self.chance_)  # type: ignore[arg-type]

    def _require_fitted(self) -> None:
        if self.quality_ is None:
            raise SparsimError("call fit(original_model) first", type(self).__name__)

    def relative(self, model: nn.Module) -> float:
        """``score(model) / quality_``: 1.0 means as good as the original."""
        if not self.quality_:
            raise SparsimError("the original model scores 0; relative quality is undefined")
        return self.score(model) / self.quality_

    def _fit_reference(self, outputs: torch.Tensor) -> None:
        self.reference_ = outputs

    def _values(self, outputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _chance(self) -> float:
        """The best score of a model whose output is the same for every input."""
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
        split: str | None = None,
    ):
        super().__init__(batches, progress=progress, split=split)
        self.labels = torch.as_tensor(labels).long()
        self.head = head

    def _fit_reference(self, outputs: torch.Tensor) -> None:
        if len(outputs) != len(self.labels):
            raise SparsimError(f"{len(outputs)} outputs but {len(self.labels)} labels", "labels")

    def _values(self, outputs: torch.Tensor) -> torch.Tensor:
        logits = self.head(outputs) if self.head is not None else outputs
        return (logits.argmax(-1) == self.labels).double()

    def _chance(self) -> float:
        # A constant output gives one class for every input: at best the commonest label.
        return _majority_share(self.labels)


class Top1Agreement(Evaluator):
    """With ``min_confidence``, only inputs on which the original's top-1 softmax
    probability reaches it count (the rest say little about the model, but then a model
    can change its answer on most inputs unnoticed: prefer all inputs)."""

    metric = "top-1 agreement"

    def __init__(
        self,
        batches: Sequence[Any],
        *,
        min_confidence: float | None = None,
        progress: bool = False,
        split: str | None = None,
    ):
        super().__init__(batches, progress=progress, split=split)
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

    def _values(self, outputs: torch.Tensor) -> torch.Tensor:
        return (outputs.argmax(-1) == self.reference_)[self.counted_].double()

    def _chance(self) -> float:
        return _majority_share(self.reference_[self.counted_])


class CosineSimilarity(Evaluator):
    metric = "cosine similarity"
    binary = False

    def _values(self, outputs: torch.Tensor) -> torch.Tensor:
        return nn.functional.cosine_similarity(
            outputs.flatten(1).double(), self.reference_.flatten(1).double(), dim=1
        )

    def _chance(self) -> float:
        # The mean cosine of a constant vector c is c . mean(unit rows) / |c|: at best the
        # length of the mean unit row.
        rows = nn.functional.normalize(self.reference_.flatten(1).double(), dim=1)
        return float(rows.mean(0).norm())


class ScoreAgreement(Evaluator):
    """Share of inputs whose score moves less than ``tolerance``. A network whose scores
    hardly vary passes it with a constant output (see ``chance_``): prefer a labelled task."""

    metric = "score agreement"

    def __init__(
        self,
        batches: Sequence[Any],
        *,
        column: int = -1,
        tolerance: float = 0.02,
        progress: bool = False,
        split: str | None = None,
    ):
        super().__init__(batches, progress=progress, split=split)
        self.column = column
        self.tolerance = tolerance

    def _fit_reference(self, outputs: torch.Tensor) -> None:
        self.reference_ = outputs[:, self.column]

    def _values(self, outputs: torch.Tensor) -> torch.Tensor:
        moved = (outputs[:, self.column] - self.reference_).abs()
        return (moved <= self.tolerance).double()

    def _chance(self) -> float:
        # The constant c = r_i + tolerance covers the scores in [r_i, r_i + 2 tolerance];
        # the best constant is one of these.
        ordered = self.reference_.double().sort().values
        ends = torch.searchsorted(ordered, ordered + 2 * self.tolerance, right=True)
        covered = ends - torch.arange(len(ordered))
        return float(covered.max()) / len(ordered)


def _majority_share(classes: torch.Tensor) -> float:
    return float(torch.bincount(classes.long()).max()) / len(classes)


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


def linear_head(features: torch.Tensor, labels: torch.Tensor, *, ridge: float = 1.0) -> Head:
    """A frozen linear classifier on standardised features: ridge regression onto one-hot
    labels, in closed form (deterministic, one solve). Fit it on the original model's
    outputs on one split and score on another: a head scored on its own training data
    overstates the task."""
    features = features.flatten(1).double()
    labels = torch.as_tensor(labels).long()
    if len(features) != len(labels):
        raise SparsimError(f"{len(features)} feature rows but {len(labels)} labels", "labels")
    mean, scale = features.mean(0), features.std(0).clamp(min=1e-6)
    standard = (features - mean) / scale
    targets = nn.functional.one_hot(labels).double()
    targets = targets - targets.mean(0)
    gram = standard.T @ standard + ridge * torch.eye(standard.shape[1], dtype=torch.float64)
    weight = torch.linalg.solve(gram, standard.T @ targets)

    def head(outputs: torch.Tensor) -> torch.Tensor:
        return ((outputs.flatten(1).double() - mean) / scale) @ weight

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
