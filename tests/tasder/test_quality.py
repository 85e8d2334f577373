"""Quality evaluators on hand-made models with known answers."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from sparsim.errors import SparsimError
from sparsim.tasder import (
    Accuracy,
    CosineSimilarity,
    Estimate,
    ScoreAgreement,
    Top1Agreement,
    centroid_head,
    linear_head,
)
from sparsim.tasder.quality import bootstrap_interval, wilson_interval


class Fixed(nn.Module):
    """Returns ``x @ matrix``: outputs fully under the test's control."""

    def __init__(self, matrix):
        super().__init__()
        self.matrix = torch.as_tensor(matrix, dtype=torch.float32)

    def forward(self, x):
        return x @ self.matrix


IDENTITY = Fixed(torch.eye(3))
SWAP_FIRST_TWO = Fixed(torch.tensor([[0.0, 1, 0], [1, 0, 0], [0, 0, 1]]))
BATCHES = [torch.eye(3)[[0, 1]], torch.eye(3)[[2, 2]]]  # classes 0, 1, 2, 2


def test_accuracy_counts_correct_labels():
    accuracy = Accuracy(BATCHES, torch.tensor([0, 1, 2, 0])).fit(IDENTITY)
    assert accuracy.quality_ == 0.75
    assert accuracy.score(SWAP_FIRST_TWO) == 0.25
    assert accuracy.relative(SWAP_FIRST_TWO) == pytest.approx(1 / 3)


def test_top1_agreement_with_the_original():
    agreement = Top1Agreement(BATCHES).fit(IDENTITY)
    assert agreement.quality_ == 1.0
    assert agreement.score(SWAP_FIRST_TWO) == 0.5


def test_cosine_similarity_ignores_scale_and_sees_rotation():
    similarity = CosineSimilarity(BATCHES).fit(IDENTITY)
    assert similarity.score(Fixed(3 * torch.eye(3))) == pytest.approx(1.0)
    # Rows e0, e1 map to e1, e0 (cosine 0); e2 rows are unchanged (cosine 1).
    assert similarity.score(SWAP_FIRST_TWO) == pytest.approx(0.5)


def test_score_agreement_within_tolerance():
    probabilities = [torch.tensor([[0.9, 0.1], [0.5, 0.5]])]
    agreement = ScoreAgreement(probabilities, tolerance=0.06).fit(nn.Identity())
    shifted = Fixed(torch.tensor([[1.0, 0.0], [0.0, 1.1]]))  # p_1 * 1.1: +0.01 and +0.05
    assert agreement.score(shifted) == 1.0
    assert ScoreAgreement(probabilities, tolerance=0.02).fit(nn.Identity()).score(shifted) == 0.5


def test_centroid_head_classifies_by_nearest_class_mean():
    embeddings = torch.tensor([[1.0, 0.1], [0.9, -0.1], [0.0, 1.0], [0.1, 0.8]])
    head = centroid_head(embeddings, torch.tensor([0, 0, 1, 1]))
    assert head(torch.tensor([[2.0, 0.0], [0.0, 5.0]])).argmax(-1).tolist() == [0, 1]


def test_evaluator_errors_are_one_line():
    with pytest.raises(SparsimError, match="evaluation data: no batches"):
        Top1Agreement([])
    with pytest.raises(SparsimError, match=r"Top1Agreement: call fit\(original_model\)"):
        Top1Agreement(BATCHES).score(IDENTITY)
    with pytest.raises(SparsimError, match="labels: 4 outputs but 3 labels"):
        Accuracy(BATCHES, torch.tensor([0, 1, 2])).fit(IDENTITY)
    with pytest.raises(SparsimError, match="quality evaluators need a tensor"):
        Top1Agreement(BATCHES).fit(ReturnsDict())


class ReturnsDict(nn.Module):
    def forward(self, x):
        return {"logits": x}


# --- intervals, gates and collapsed models ---------------------------------------------


def test_wilson_interval_hand_computed():
    # 0/10: upper bound z^2 / (n + z^2); 10/10 mirrors it; 5/10 is symmetric about 1/2.
    z2 = 1.959963984540054**2
    assert wilson_interval(0, 10) == pytest.approx((0.0, z2 / (10 + z2)))
    assert wilson_interval(10, 10) == pytest.approx((10 / (10 + z2), 1.0))
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.236593, abs=1e-6) and high == pytest.approx(1 - low)
    with pytest.raises(SparsimError, match="n: an interval needs at least one input"):
        wilson_interval(0, 0)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=2, max_size=60))
def test_bootstrap_interval_holds_the_mean_and_is_reproducible(values):
    values = torch.tensor(values, dtype=torch.float64)
    low, high = bootstrap_interval(values)
    assert values.min() - 1e-12 <= low <= float(values.mean()) + 1e-9
    assert float(values.mean()) - 1e-9 <= high <= values.max() + 1e-12
    assert bootstrap_interval(values) == (low, high)


def test_estimate_reports_interval_and_size():
    accuracy = Accuracy(BATCHES, torch.tensor([0, 1, 2, 0]), split="test").fit(IDENTITY)
    assert accuracy.estimate_ == Estimate(0.75, *wilson_interval(3, 4), 4, "Wilson")
    assert accuracy.split == "test"
    assert str(accuracy.estimate(SWAP_FIRST_TWO)).startswith("0.2500 [0.0456, 0.6994] (n=4,")
    similarity = CosineSimilarity(BATCHES).fit(IDENTITY)
    swapped = similarity.estimate(SWAP_FIRST_TWO)
    assert swapped.method == "bootstrap" and swapped.n == 4
    assert swapped.low <= 0.5 <= swapped.high


class Constant(nn.Module):
    """A collapsed network: the same output row for every input."""

    def __init__(self, row):
        super().__init__()
        self.row = torch.as_tensor(row, dtype=torch.float32)

    def forward(self, x):
        return self.row.expand(len(x), -1)


def _prototype_task(classes=5, features=12, per_class=40, noise=0.3):
    """Noisy copies of one prototype per class, and a linear model that scores them
    against the prototypes (accurate, but not perfect)."""
    generator = torch.Generator().manual_seed(3)
    prototypes = torch.randn(classes, features, generator=generator)
    labels = torch.arange(classes).repeat(per_class)
    inputs = prototypes[labels] + noise * torch.randn(len(labels), features, generator=generator)
    return list(inputs.split(25)), labels, Fixed(prototypes.T)


@pytest.mark.parametrize("row", [torch.zeros(5), torch.tensor([3.0, -1, 0, 2, 0.5])])
def test_a_collapsed_model_fails_every_quality_gate(row):
    batches, labels, model = _prototype_task()
    half = len(labels) // 2
    inputs = torch.cat(batches)
    with torch.no_grad():
        outputs = model(inputs)
    head = linear_head(outputs[:half], labels[:half])  # fitted on one split, scored on the other
    evaluators = [
        Accuracy(batches, labels),
        Top1Agreement(batches),
        CosineSimilarity(batches),
        Accuracy(list(inputs[half:].split(25)), labels[half:], head=head),
        Accuracy(batches, labels, head=centroid_head(outputs, labels)),
    ]
    collapsed = Constant(row)
    for evaluator in evaluators:
        evaluator.fit(model)
        assert evaluator.quality_ > 0.8, evaluator.metric
        assert evaluator.collapse_margin(0.99) > 0.5, evaluator.metric
        gate = evaluator.gate(collapsed, 0.99)
        assert not gate.passes and gate.certain, (evaluator.metric, gate)
        assert gate.estimate.value <= evaluator.chance_ + 1e-12, evaluator.metric
        assert evaluator.gate(model, 0.99).passes


def test_gate_margin_is_paired_on_the_same_inputs():
    batches, labels, model = _prototype_task()
    evaluator = Top1Agreement(batches).fit(model)
    same = evaluator.gate(model, 0.99)
    # Every input agrees with itself: the margin is exactly 1 - 0.99 with no spread.
    assert same.margin.value == pytest.approx(0.01)
    assert same.margin.low == pytest.approx(0.01) and same.margin.high == pytest.approx(0.01)
    assert same.estimate.n == len(labels) and same.passes and same.certain


def test_score_agreement_on_flat_scores_is_flagged_as_passable_by_a_constant():
    # Scores that hardly vary (a classifier sure of every input): a constant passes.
    flat = [torch.tensor([[0.998, 0.002], [0.99, 0.01], [0.999, 0.001], [0.97, 0.03]])]
    agreement = ScoreAgreement(flat, tolerance=0.02).fit(nn.Identity())
    assert agreement.chance_ == 1.0 and agreement.collapse_margin(0.99) < 0
    assert agreement.gate(Constant([0.99, 0.011]), 0.99).passes


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=30),
    st.lists(st.integers(0, 64), min_size=1, max_size=30),
)
def test_chance_is_the_best_constant_score(classes, steps):
    """chance_ against brute force: every constant output a model could give (scores on a
    binary grid, so that the tolerance's edges are exact)."""
    one_hot = torch.eye(4)[classes]
    agreement = Top1Agreement([one_hot]).fit(nn.Identity())
    best = max(agreement.score(Constant(torch.eye(4)[c] + 0.0)) for c in range(4))
    assert agreement.chance_ == best
    probabilities = torch.tensor(steps, dtype=torch.float32) / 64
    table = [torch.stack([1 - probabilities, probabilities], 1)]
    moved = ScoreAgreement(table, tolerance=1 / 16).fit(nn.Identity())
    candidates = [float(p) + shift for p in probabilities for shift in (-1 / 16, 1 / 16)]
    brute = max(moved.score(Constant([0.0, c])) for c in candidates)
    assert moved.chance_ == pytest.approx(brute)


def test_cosine_chance_is_reached_by_the_mean_direction():
    rows = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    similarity = CosineSimilarity([rows]).fit(nn.Identity())
    mean_direction = nn.functional.normalize(rows, dim=1).mean(0)
    assert similarity.score(Constant(mean_direction)) == pytest.approx(similarity.chance_)
    for angle in torch.linspace(0, 6.28, 50):
        other = Constant(torch.stack([angle.cos(), angle.sin()]))
        assert similarity.score(other) <= similarity.chance_ + 1e-9
