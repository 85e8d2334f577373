"""Models as users leave them: prune reparametrisations, parametrizations, hooks and tied
weights are worked through or refused, never silently ignored."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize, prune

from sparsim.errors import SparsimError
from sparsim.tasd import parse_series
from sparsim.tasder import Tasder, TasderConfig, Top1Agreement, WeightTasd, apply_config
from sparsim.tasder.overrides import check_forward, plain_model, weight_overrides
from tests.tasder.conftest import TinyCNN

LAYERS = ("stem", "conv", "depthwise", "fc")


def _dense() -> TinyCNN:
    torch.manual_seed(0)
    return TinyCNN().eval()


def _pruned_with_hooks() -> TinyCNN:
    """80% magnitude-pruned per layer, as torch.nn.utils.prune leaves it."""
    model = _dense()
    for name in LAYERS:
        prune.l1_unstructured(getattr(model, name), "weight", amount=0.8)
    return model


class Mask(nn.Module):
    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, weight):
        return weight * self.mask


def _parametrized() -> TinyCNN:
    """The same 80% masks, as a parametrization."""
    pruned, model = _pruned_with_hooks(), _dense()
    for name in LAYERS:
        parametrize.register_parametrization(
            getattr(model, name), "weight", Mask(getattr(pruned, name).weight_mask.clone())
        )
    return model


def _folded() -> TinyCNN:
    model = _pruned_with_hooks()
    for name in LAYERS:
        prune.remove(getattr(model, name), "weight")
    return model


def _search(model: nn.Module, images) -> Tasder:
    evaluator = Top1Agreement(images)
    return Tasder("TTC-VEGETA-M8", evaluator, target=0.8, patience=None).fit(model, images)


@pytest.mark.parametrize("build", [_pruned_with_hooks, _parametrized], ids=["prune", "parametrize"])
def test_search_on_a_reparametrised_model_is_the_search_on_its_folded_weights(build, images):
    model, folded = build(), _folded()
    kinds = {o.kind for o in weight_overrides(model)}
    assert kinds == {"prune" if build is _pruned_with_hooks else "parametrize"}
    before = copy.deepcopy(model.state_dict())
    on_model, on_folded = _search(model, images), _search(folded, images)
    assert on_folded.config_.layers  # the search changes something
    assert on_model.config_.layers == on_folded.config_.layers
    assert on_model.result_.quality == on_folded.result_.quality
    assert [r["quality"] for r in on_model.trace_.rows] == [
        r["quality"] for r in on_folded.trace_.rows
    ]
    # The model itself is left as it was, hooks and all.
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert {o.kind for o in weight_overrides(model)} == kinds


def test_apply_config_changes_what_a_pruned_models_forward_pass_uses(images):
    model, folded = _pruned_with_hooks(), _folded()
    config = TasderConfig(layers={"conv": {"weights": "1:8"}, "fc": {"weights": "2:8"}})
    batch = images[0]
    with apply_config(folded, config):
        expected = folded(batch)
    dense = model(batch)
    with apply_config(model, config, example=batch):
        assert torch.equal(model(batch), expected)
        assert not torch.equal(model(batch), dense)
    assert torch.equal(model(batch), dense)  # undone: weight_orig is back
    assert prune.is_pruned(model)


def test_apply_config_refuses_a_parametrized_weight_and_plain_model_folds_it(images):
    model = _parametrized()
    config = TasderConfig(layers={"conv": {"weights": "1:8"}})
    with pytest.raises(SparsimError) as info:
        apply_config(model, config)
    message = str(info.value)
    assert message.startswith("layers.conv: layer 'conv' computes its weight through")
    assert "remove_parametrizations" in message and "\n" not in message
    plain = plain_model(model)
    assert plain is not model and not parametrize.is_parametrized(plain.conv)
    assert torch.equal(plain(images[0]), model(images[0]))
    with apply_config(plain, config, example=images[0]):
        pass
    unchanged = _dense()
    assert plain_model(unchanged) is unchanged


def _restoring_hook(module: nn.Module):
    saved = module.weight.detach().clone()

    def hook(module, args):
        with torch.no_grad():
            module.weight.copy_(saved)

    return hook


def test_a_hook_that_rewrites_weights_is_refused_before_the_search(images):
    model = _dense()
    model.conv.register_forward_pre_hook(_restoring_hook(model.conv))
    with pytest.raises(SparsimError) as info:
        _search(model, images)
    message = str(info.value)
    assert message.startswith("layers.conv: layer 'conv' runs its forward hook")
    assert "handle.remove()" in message and "\n" not in message
    # Left out of the search, the hooked layer is no obstacle.
    search = Tasder("TTC-VEGETA-M8", Top1Agreement(images), target=0.8, layers=["fc", "stem"])
    search.fit(model, images)


def test_check_forward_sees_weights_and_inputs_the_forward_pass_rebuilt(images):
    model, batch = _dense(), images[0]
    series = parse_series("1:8")
    weights = WeightTasd({"conv": series}).prepare(model)
    weights.step()
    check_forward(model, {"conv": series}, {}, batch)  # as applied: fine
    weights.restore()
    handle = model.conv.register_forward_pre_hook(_restoring_hook(model.conv))
    weights.step()
    with pytest.raises(SparsimError, match=r"layers\.conv: the weights layer 'conv' used"):
        check_forward(model, {"conv": series}, {}, batch)
    handle.remove()
    weights.restore()
    applied = apply_config(model, TasderConfig(layers={"conv": {"activations": "1:8"}}))
    check_forward(model, {}, {"conv": series}, batch)
    dense_inputs = model.conv.register_forward_pre_hook(lambda m, args: (args[0].abs() + 1,))
    with pytest.raises(SparsimError, match=r"layers\.conv: the inputs layer 'conv' used"):
        check_forward(model, {}, {"conv": series}, batch)
    dense_inputs.remove()
    applied.undo()


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(16, 16)
        self.second = nn.Linear(16, 16)
        self.second.weight = self.first.weight
        self.shared = nn.Linear(16, 4)
        self.again = self.shared  # one module under two names: one layer, called twice

    def forward(self, x):
        x = torch.relu(self.second(torch.relu(self.first(x))))
        return self.again(x) + self.shared(x)


def test_tied_weights_are_refused_and_a_reused_module_is_not(vectors):
    torch.manual_seed(0)
    model = Tied().eval()
    overrides = weight_overrides(model)
    assert [(o.layer, o.kind) for o in overrides] == [("first", "tied"), ("second", "tied")]
    with pytest.raises(SparsimError, match=r"layers\.first: layer 'first' shares its weight with"):
        Tasder("TTC-VEGETA-M8", Top1Agreement(vectors), target=0.8).fit(model, vectors)
    search = Tasder("TTC-VEGETA-M8", Top1Agreement(vectors), target=0.8, layers=["shared"])
    search.fit(model, vectors)
