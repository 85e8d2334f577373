"""Quality evaluators on hand-made models with known answers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sparsim.errors import SparsimError
from sparsim.tasder import Accuracy, CosineSimilarity, ScoreAgreement, Top1Agreement, centroid_head


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
