"""The search's decision: a configuration meets the target when the lower end of the
paired margin's interval is at or above zero (``bound``, the default) or on the point
estimate (``point``); the untouched test split is reported beside it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sparsim.errors import SparsimError
from sparsim.tasder import Accuracy, Tasder, Top1Agreement


class Answers(nn.Module):
    """Answers fixed per input: an input is its own index, the output one-hot of the
    class ``answers[index]``."""

    def __init__(self, answers: torch.Tensor):
        super().__init__()
        self.answers = answers

    def forward(self, x):
        return nn.functional.one_hot(self.answers[x.long().flatten()], 2).float()


N = 1000
LABELS = torch.zeros(N, dtype=torch.long)
BATCHES = list(torch.arange(N).float().view(-1, 1).split(250))


def _answers(wrong: int) -> torch.Tensor:
    answers = torch.zeros(N, dtype=torch.long)
    answers[:wrong] = 1
    return answers


@pytest.mark.parametrize(
    ("flips", "point", "bound"),
    [(0, True, True), (3, True, True), (8, True, False), (12, False, False)],
)
def test_bound_rule_needs_the_margin_interval_above_zero(flips, point, bound):
    # The original answers 900 of 1,000 right; the 99% target allows 9 fewer. Flipping 8
    # right answers keeps the point estimate at the target but not the interval's low end.
    accuracy = Accuracy(BATCHES, LABELS).fit(Answers(_answers(100)))
    changed = Answers(_answers(100 + flips))
    by_point = accuracy.gate(changed, 0.99, rule="point")
    by_bound = accuracy.gate(changed, 0.99)
    assert by_point.margin.value == pytest.approx(0.009 - flips / N)
    assert (by_point.passes, by_bound.passes) == (point, bound)
    assert by_bound.passes == (by_bound.margin.low >= 0)
    assert by_bound.ratio == pytest.approx((900 - flips) / 900)
    # A wider interval (more confidence) is never easier to pass.
    strict = accuracy.gate(changed, 0.99, confidence=0.99)
    assert strict.margin.low <= by_bound.margin.low and (not strict.passes or bound)


def test_gate_rejects_unknown_rules_and_levels():
    accuracy = Accuracy(BATCHES, LABELS).fit(Answers(_answers(100)))
    with pytest.raises(SparsimError, match="rule: unknown rule 'mean'"):
        accuracy.gate(Answers(_answers(100)), rule="mean")
    with pytest.raises(SparsimError, match=r"confidence: must be in \(0, 1\)"):
        accuracy.gate(Answers(_answers(100)), confidence=1.0)


def _split(images: list[torch.Tensor], seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(image.shape, generator=generator) for image in images]


@pytest.mark.parametrize("method", ["layer-wise", "network-wise", "activations"])
def test_search_accepts_by_the_rule_and_reports_the_test_split(method, pruned_cnn, images):
    selection, test = Top1Agreement(images), Top1Agreement(_split(images, 7), split="test")
    options = {"alphas": (-0.2, 0.0, 0.3)} if method == "activations" else {"patience": None}
    if method == "network-wise":
        options = {}
    bound = Tasder("TTC-VEGETA-M8", selection, method=method, target=0.9, test=test, **options)
    bound.fit(pruned_cnn, images)
    rows = bound.trace_.rows
    assert rows and all("margin_low" in row for row in rows)
    for row in rows:
        if row["margin_low"] is None:  # taken unevaluated: it changes no weight
            assert row["dropped_fraction"] == 0 and row["accepted"]
        else:
            assert row["accepted"] == (row["margin_low"] >= 0), row
    result = bound.result_
    assert result.rule == "bound"
    if bound.config_.layers:
        assert result.selection is not None and result.selection.margin_low >= 0
        assert result.selection.n == 24 and result.selection.quality == result.quality
    report = result.test
    assert report is not None and report.split == "test" and report.n == 24
    with bound.transform(pruned_cnn):
        assert report.quality == pytest.approx(test.score(pruned_cnn))
    assert report.ratio == pytest.approx(report.quality / report.original_quality)
    assert report.margin_low <= report.margin <= report.margin_high
    assert bound.test_.estimate.n == 24

    point = Tasder("TTC-VEGETA-M8", selection, method=method, target=0.9, rule="point", **options)
    point.fit(pruned_cnn, images)
    original = selection.quality_
    for row in point.trace_.rows:
        assert row["accepted"] == (row["quality"] >= 0.9 * original), row
    # Every configuration the bound accepts, the point rule accepts: it goes at least as far.
    assert point.result_.macs <= bound.result_.macs or method == "layer-wise"
    assert point.result_.rule == "point" and point.result_.test is None


def test_the_test_split_must_be_another_evaluator(images):
    selection = Top1Agreement(images)
    with pytest.raises(SparsimError, match="test: the test split must not be the one"):
        Tasder("TTC-VEGETA-M8", selection, test=selection)
    with pytest.raises(SparsimError, match="rule: unknown rule"):
        Tasder("TTC-VEGETA-M8", selection, rule="mean")
