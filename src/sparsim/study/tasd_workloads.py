"""The models of the ``tasd-hardware`` study and the TASDER configurations it runs.

* **Dense models**: ResNet-50 v1.5 and BERT-base (sparsim's built-in layer tables) with
  dense weights and the activation densities committed in ``data/tasd_activations.yaml``
  (measured on real ReLU and GELU models by ``scripts/measure_tasd_activations.py``; the
  study reads the file, so it runs on a default install without torch).
* **Sparse models**: the same layers with weights drawn from a normal distribution and
  magnitude-pruned to 95% layer by layer (stand-in for SparseZoo's 95%-pruned models,
  which are not in any package here): the zeros fall where magnitude pruning puts them.

TASDER's choices, numpy only (TASDER proper needs torch and the model's data):

* TASD-A on the dense models, the sparsity-degree rule of the TASD paper as
  :func:`sparsim.tasder.choose_series` applies it: per layer, the most aggressive series of
  the hardware whose sparsity is at most the measured input sparsity plus ``alpha``
  (ReLU: ``1 - density``; GELU: ``1 - pseudo-density``);
* TASD-W on the sparse models, the quality target stood in by the weights: per layer, the
  most aggressive series that keeps at least 99% of the layer's weight magnitude (the
  mass TASDER's pseudo-density keeps).

A layer is left dense when no series fits or the chosen one saves no MACs on it (too few
channels per block).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import yaml

from sparsim.errors import SparsimError
from sparsim.spec.workload import Conv, Gemm
from sparsim.tasd import Series, get_hardware
from sparsim.workload import LayerTable, bert_base, resnet50

MODELS = ("resnet50", "bert-base")
MODEL_TITLES = {"resnet50": "ResNet-50", "bert-base": "BERT-base"}
VARIANTS = ("dense", "sparse")
WEIGHT_SPARSITY = 0.95
KEPT_MAGNITUDE = 0.99
# TASD-A alpha per model: ResNet-50 takes the rule as published (0); BERT-base takes the
# alpha TASDER's search chose on all-MiniLM-L6-v2 at 99% cosine similarity on
# TTC-VEGETA-M8 (docs/tasder.md): a quality-checked figure, not a free knob.
ALPHA = {"resnet50": 0.0, "bert-base": 0.20}
# Which layers TASD-A targets (TASDER's defaults): every layer of a CNN but the first,
# the FFN2 layers (fed by GELU) of a transformer.
FFN2 = "output.dense"
EPSILON = 1e-12
WEIGHT_DRAWS = 20240311  # the fixed random state of the stand-in weights


@cache
def layer_table(model: str) -> LayerTable:
    if model == "resnet50":
        return resnet50()
    if model == "bert-base":
        return bert_base()
    raise SparsimError(f"unknown model {model!r}; expected {' or '.join(MODELS)}", "model")


@cache
def activation_data() -> dict:
    """The committed measurements and their provenance."""
    text = resources.files("sparsim.study").joinpath("data", "tasd_activations.yaml").read_text()
    return yaml.safe_load(text)


@dataclass(frozen=True)
class Activation:
    """One layer's input: its density (share of nonzeros: what DSTC skips) and the
    sparsity TASDER's rule reads (``1 - density``, or ``1 - pseudo-density`` for GELU)."""

    density: float
    rule_sparsity: float | None  # None: not a TASD-A target
    source: str


def activations(model: str) -> dict[str, Activation]:
    """Per layer of ``model``; layers without a measurement take dense inputs."""
    measured = {row["layer"]: row for row in activation_data()["layers"] if row["model"] == model}
    out = {}
    for index, row in enumerate(layer_table(model)):
        found = measured.get(row.name)
        if found is None:
            out[row.name] = Activation(1.0, None, "not measured: dense")
            continue
        source = f"{found['source_model']}:{found['source_layer']}"
        if model == "bert-base":
            target = row.name.endswith(FFN2) and "attention" not in row.name
            sparsity = 1.0 - found["pseudo_density"] if target else None
        else:
            sparsity = 1.0 - found["density"] if index > 0 else None
        out[row.name] = Activation(found["density"], sparsity, source)
    return out


def hardware_options(hardware: str, max_terms: int = 2) -> list[Series]:
    """Every series below M:M the hardware realises with at most ``max_terms`` terms (the
    cheapest per N:M), most aggressive first; as :func:`sparsim.tasder.hardware_series`."""
    table = get_hardware(hardware).pattern_table(max_terms)
    options = [s for s in table.values() if s is not None and s.density < 1]
    return sorted(options, key=lambda s: (s.density, s.n_terms))


def series_macs(workload: Gemm | Conv, series: Series) -> int:
    """MACs under ``series``: N kept per block of M channels, a conv's channels padded to
    whole blocks per filter position (as TASDER counts them)."""
    block = series.patterns[0].m
    kept = sum(p.n for p in series.patterns)
    if isinstance(workload, Conv):
        per_group = math.ceil(workload.C // workload.groups / block) * block
        gemm = workload.as_gemm()
        return gemm.M * gemm.N * gemm.count * workload.R * workload.S * per_group * kept // block
    return workload.M * workload.N * workload.count * math.ceil(workload.K / block) * kept


def most_aggressive(options: list[Series], fits) -> Series | None:
    """The first (most aggressive) option ``fits`` accepts."""
    return next((s for s in options if fits(s)), None)


def activation_series(model: str, hardware: str, max_terms: int = 2) -> dict[str, Series]:
    """TASD-A: the sparsity-degree rule on each target layer of ``model``."""
    options = hardware_options(hardware, max_terms)
    alpha = ALPHA[model]
    chosen = {}
    for row in layer_table(model):
        sparsity = activations(model)[row.name].rule_sparsity
        if sparsity is None:
            continue
        series = most_aggressive(
            options, lambda s, bound=sparsity + alpha: 1 - s.density <= bound + EPSILON
        )
        if series is not None and series_macs(row.workload, series) < row.macs:
            chosen[row.name] = series
    return chosen


def _weight_matrix(workload: Gemm | Conv, rng: np.random.Generator) -> np.ndarray:
    """Normal weights, magnitude-pruned to :data:`WEIGHT_SPARSITY`, as ``[rows, channels]``
    with the channels of one filter position contiguous (the N:M block axis)."""
    if isinstance(workload, Conv):
        rows = workload.out_channels * workload.R * workload.S
        channels = workload.C // workload.groups
    else:
        rows, channels = workload.M, workload.K
    weights = np.abs(rng.standard_normal((rows, channels), dtype=np.float32))
    keep = round((1 - WEIGHT_SPARSITY) * weights.size)
    threshold = np.partition(weights, weights.size - keep, axis=None)[weights.size - keep]
    weights[weights < threshold] = 0.0
    return weights


def kept_magnitude_by_n(magnitudes: np.ndarray, block: int) -> np.ndarray:
    """Share of the total magnitude kept when every block of ``block`` channels (along the
    last axis, zero-padded) keeps its ``n`` largest entries, for n = 0..block.

    Blocks with at most one nonzero keep everything from n = 1 on; only the others (a few
    percent of a 95%-sparse tensor) are sorted."""
    rows, channels = magnitudes.shape
    padded = math.ceil(channels / block) * block
    blocks = np.zeros((rows, padded), dtype=np.float64)
    blocks[:, :channels] = magnitudes
    blocks = blocks.reshape(-1, block)
    crowded = np.count_nonzero(blocks, axis=1) > 1
    ranked = -np.sort(-blocks[crowded], axis=1)
    by_rank = ranked.sum(axis=0)
    by_rank[0] += blocks[~crowded].sum()
    kept = np.concatenate([[0.0], np.cumsum(by_rank)])
    return kept / kept[-1] if kept[-1] > 0 else np.ones_like(kept)


@dataclass(frozen=True)
class PrunedLayer:
    density: float  # nonzero share after pruning
    kept: dict[int, np.ndarray]  # block size -> kept magnitude share by n
    kept_nonzeros: dict[int, np.ndarray]  # block size -> kept nonzero share by n


@cache
def pruned_weights(model: str) -> dict[str, PrunedLayer]:
    """Per layer: the stand-in weights' density and what N:M series keep of them."""
    rng = np.random.default_rng(WEIGHT_DRAWS)
    out = {}
    for row in layer_table(model):
        weights = _weight_matrix(row.workload, rng)
        nonzero = (weights > 0).astype(np.float32)
        out[row.name] = PrunedLayer(
            density=float(nonzero.mean()),
            kept={m: kept_magnitude_by_n(weights, m) for m in (4, 8)},
            kept_nonzeros={m: kept_magnitude_by_n(nonzero, m) for m in (4, 8)},
        )
    return out


def _kept(layer: PrunedLayer, series: Series, table: str = "kept") -> float:
    block = series.patterns[0].m
    return float(getattr(layer, table)[block][min(block, sum(p.n for p in series.patterns))])


def weight_series(model: str, hardware: str, max_terms: int = 2) -> dict[str, Series]:
    """TASD-W on the pruned stand-in: per layer, the most aggressive series keeping at
    least :data:`KEPT_MAGNITUDE` of the weights' magnitude."""
    options = hardware_options(hardware, max_terms)
    layers = pruned_weights(model)
    chosen = {}
    for row in layer_table(model):
        layer = layers[row.name]
        series = most_aggressive(
            options, lambda s, layer=layer: _kept(layer, s) >= KEPT_MAGNITUDE - EPSILON
        )
        if series is not None and series_macs(row.workload, series) < row.macs:
            chosen[row.name] = series
    return chosen


def kept_weight_density(model: str, layer: str, series: Series | None) -> float:
    """Nonzero share of a sparse layer's weights as the design runs them."""
    pruned = pruned_weights(model)[layer]
    if series is None:
        return pruned.density
    return pruned.density * _kept(pruned, series, "kept_nonzeros")
