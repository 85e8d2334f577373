"""TASDER: per-layer TASD configurations for real PyTorch models under a quality target.

See ``docs/tasder.md``. The pieces, from data to decision:

* :mod:`~sparsim.tasder.quality`: evaluators (accuracy, top-1 agreement, cosine
  similarity, score agreement), fitted on the original model;
* :func:`calibrate`: per-layer workloads and input statistics (density, pseudo-density);
* :mod:`~sparsim.tasder.overrides`: what overrides the weights or inputs TASD changes
  (``torch.nn.utils.prune``, ``parametrize``, hooks, tied weights), folded or refused,
  and the check that the forward pass uses what a configuration claims;
* :mod:`~sparsim.tasder.apply`: ``WeightTasd`` / ``ActivationTasd`` (prepare / step /
  restore / squash_mask, forward pre-hooks) and :func:`apply_config`;
* :mod:`~sparsim.tasder.search`: TASD-W network-wise and layer-wise greedy, TASD-A with
  the sparsity-degree rule and an alpha sweep;
* :func:`cost_config`: a configuration's energy and cycles on the TASD tensor core
  (:mod:`sparsim.designs.ttc`), the dense TC and the plain design;
* :class:`Tasder`: the scikit-learn-style front end;
* :mod:`~sparsim.tasder.models`: the real models and their offline data.
"""

from sparsim.tasder.apply import (
    ActivationTasd,
    AppliedConfig,
    WeightTasd,
    apply_config,
    input_channel_norms,
)
from sparsim.tasder.config import (
    CostSummary,
    LayerConfig,
    SearchResult,
    TasderConfig,
    load_config,
)
from sparsim.tasder.costing import ConfigCost, LayerCost, cost_config
from sparsim.tasder.estimator import Tasder
from sparsim.tasder.overrides import check_forward, plain_model, weight_overrides
from sparsim.tasder.quality import (
    Accuracy,
    CosineSimilarity,
    Estimate,
    Evaluator,
    Gate,
    ScoreAgreement,
    Top1Agreement,
    centroid_head,
    linear_head,
)
from sparsim.tasder.search import (
    activation_config,
    calibrate,
    choose_series,
    count_macs,
    hardware_series,
    search_activations,
    search_weights_layerwise,
    search_weights_network,
    weight_candidates,
)

__all__ = [
    "Accuracy",
    "ActivationTasd",
    "AppliedConfig",
    "ConfigCost",
    "CosineSimilarity",
    "CostSummary",
    "Estimate",
    "Evaluator",
    "Gate",
    "LayerConfig",
    "LayerCost",
    "ScoreAgreement",
    "SearchResult",
    "Tasder",
    "TasderConfig",
    "Top1Agreement",
    "WeightTasd",
    "activation_config",
    "apply_config",
    "calibrate",
    "centroid_head",
    "check_forward",
    "choose_series",
    "cost_config",
    "count_macs",
    "hardware_series",
    "input_channel_norms",
    "linear_head",
    "load_config",
    "plain_model",
    "search_activations",
    "search_weights_layerwise",
    "search_weights_network",
    "weight_candidates",
    "weight_overrides",
]
