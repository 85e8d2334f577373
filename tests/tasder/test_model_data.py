"""The real models' data and the pruned MobileNetV2's tools, on small data made here
(default run: no model package or data set needed)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsim.errors import SparsimError
from sparsim.tasder.models.data import SUPERSENSES, WORDNET_DIR_VARIABLE, wordnet_glosses
from sparsim.tasder.models.mobilenet import MobileNetV2
from sparsim.tasder.models.mobilenet_fmnist import (
    _refit,
    _unpack,
    prunable,
    save_checkpoint,
    weight_sparsity,
)


def _data_noun(per_class: int) -> str:
    lines = ["  1 This software and database is being provided ... (licence header)"]
    offset = 100
    for number, name in SUPERSENSES.items():
        for index in range(per_class):
            lines.append(
                f"{offset:08d} {number:02d} n 01 word{index} 0 000 | a {name} thing number "
                f'{index}; "an example that is dropped"'
            )
            offset += 1
    lines.append(f"{offset:08d} 03 n 01 entity 0 000 | that which is perceived to exist")
    return "\n".join(lines) + "\n"


def test_wordnet_glosses_are_balanced_labelled_and_without_examples(tmp_path, monkeypatch):
    (tmp_path / "data.noun").write_text(_data_noun(5))
    monkeypatch.setenv(WORDNET_DIR_VARIABLE, str(tmp_path))
    sentences, labels, names = wordnet_glosses(3)
    assert len(sentences) == 30 and names[1] == "noun.animal"
    # Interleaved: every prefix of len(classes) holds each class once.
    assert labels[:10].tolist() == list(range(10)) and labels[10:20].tolist() == list(range(10))
    for sentence, label in zip(sentences, labels, strict=True):
        assert sentence.startswith(f"a {names[label].split('.')[1]} thing number ")
        assert "example" not in sentence
    again = wordnet_glosses(3)
    assert again[0] == sentences and torch.equal(again[1], labels)  # a fixed draw
    with pytest.raises(SparsimError, match=r"wordnet: 5 glosses of noun\.act, 6 asked"):
        wordnet_glosses(6)


def test_missing_wordnet_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(WORDNET_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(SparsimError, match="apt-get install wordnet-base") as info:
        wordnet_glosses(1)
    assert "\n" not in str(info.value)


@settings(max_examples=10, deadline=None)
@given(st.integers(2, 8), st.integers(1, 6), st.floats(0.2, 0.8))
def test_refit_never_does_worse_than_masking(inputs, outputs, share):
    """Undamped, the refitted kept weights reproduce the dense layer's output at least as
    well as the same weights merely masked (least squares over the same support)."""
    generator = torch.Generator().manual_seed(inputs * 100 + outputs)
    dense_in = torch.randn(inputs, 200, generator=generator, dtype=torch.float64)
    sparse_in = dense_in + 0.1 * torch.randn(inputs, 200, generator=generator, dtype=torch.float64)
    weight = torch.randn(outputs, inputs, generator=generator, dtype=torch.float64)
    keep = torch.rand(outputs, inputs, generator=generator) < share
    target = weight @ dense_in
    refitted = _refit(weight, keep, sparse_in @ sparse_in.T, sparse_in @ dense_in.T, 0.0)
    assert torch.all(refitted[~keep] == 0)
    refit_error = (refitted @ sparse_in - target).square().sum()
    masked_error = ((weight * keep) @ sparse_in - target).square().sum()
    assert refit_error <= masked_error * (1 + 1e-6) + 1e-9


def test_refit_keeping_everything_returns_the_dense_weights():
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(6, 500, generator=generator, dtype=torch.float64)
    weight = torch.randn(4, 6, generator=generator, dtype=torch.float64)
    keep = torch.ones(4, 6, dtype=torch.bool)
    assert torch.allclose(_refit(weight, keep, inputs @ inputs.T, inputs @ inputs.T, 0.0), weight)
    # Damping shrinks the weights towards zero.
    damped = _refit(weight, keep, inputs @ inputs.T, inputs @ inputs.T, 0.05)
    assert damped.norm() < weight.norm()


def test_pruned_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = MobileNetV2(10).eval()
    with torch.no_grad():
        for _, module in prunable(model):
            module.weight.mul_(torch.rand_like(module.weight) < 0.3)
    save_checkpoint(model, {"layer_sparsity": 0.7}, tmp_path / "m.pt")
    saved = torch.load(tmp_path / "m.pt", weights_only=True)
    loaded = MobileNetV2(10)
    loaded.load_state_dict(dict(_unpack(saved["state"])))
    assert saved["info"] == {"layer_sparsity": 0.7}
    assert weight_sparsity(loaded) == pytest.approx(weight_sparsity(model))
    for (name, original), (_, restored) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert torch.allclose(original.float(), restored.float(), rtol=1e-3, atol=1e-4), name
    assert (tmp_path / "m.pt").stat().st_size < 5e6
