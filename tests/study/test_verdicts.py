"""The numbers behind each claim of the quick study, recomputed from its tables apart from
the checks' own code, so a claim's number (and so its verdict) can never be other than the
tables say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sparsim.report.model import VERDICTS


def _diag(totals: pd.DataFrame, strategy: str, s: float, dual: bool) -> pd.Series:
    rows = totals[
        (totals["layer_set"] == "fig15")
        & (totals["strategy"] == strategy)
        & np.isclose(totals["weight_sparsity"], s)
        & np.isclose(totals["activation_sparsity"], s if dual else 0.0)
    ]
    assert len(rows) == 1
    return rows.iloc[0]


PAIRS = (("struct-flexible", "unstruct-single", False), ("struct-dual", "unstruct-dual", True))


def test_every_verdict_is_known_and_every_claim_but_area_free_ones_has_a_section(quick_study):
    checks = quick_study[1]
    assert all(c.verdict in VERDICTS and c.section for c in checks.values())


def test_structured_twice_is_the_geometric_mean_below_70_percent(quick_study):
    tables, checks = quick_study[0], quick_study[1]
    ratios = [
        _diag(tables.totals, u, s, dual)["energy_uJ"]
        / _diag(tables.totals, st, s, dual)["energy_uJ"]
        for st, u, dual in PAIRS
        for s in (0.5, 2 / 3)
    ]
    claim = checks["structured-twice"]
    assert claim.evidence.ours == pytest.approx(np.exp(np.mean(np.log(ratios))), rel=1e-12)
    assert f"arithmetic {np.mean(ratios):.2f}x" in claim.sparsim
    cheaper = checks["structured-cheaper"].evidence
    every = [
        _diag(tables.totals, u, s, dual)["energy_uJ"]
        / _diag(tables.totals, st, s, dual)["energy_uJ"]
        for st, u, dual in PAIRS
        for s in (0.5, 2 / 3, 0.75)
    ]
    assert (cheaper.held, cheaper.cases) == (sum(r > 1 for r in every), len(every))


def test_breakeven_is_the_interpolated_crossing(quick_study):
    tables, checks = quick_study[0], quick_study[1]
    fine = tables.fine[tables.fine["layer"] == "total"]
    for strategy, key in (
        ("unstruct-single", "breakeven-single"),
        ("unstruct-dual", "breakeven-dual"),
    ):
        rows = fine[fine["strategy"] == strategy].sort_values("sweep_sparsity")
        x, y = rows["sweep_sparsity"].to_numpy(), rows["energy_vs_dense"].to_numpy()
        i = int(np.argmax(y <= 1.0))
        assert y[i] <= 1.0 < y[i - 1]
        found = np.interp(1.0, [y[i], y[i - 1]], [x[i], x[i - 1]])
        assert checks[key].evidence.ours == pytest.approx(found, rel=1e-12)


def test_same_computes_counts_layer_points_skipping_alike(quick_study):
    """MACs skipped of the layer's own: its MACs less those performed on it (a padded
    shape's performed MACs spread evenly over it, the padding's share aside)."""
    tables, checks = quick_study[0], quick_study[1]
    layers = tables.layers
    equal = total = 0
    for single, unstructured, dual in PAIRS:
        for s in (0.5, 2 / 3, 0.75):
            at = layers[
                layers["strategy"].isin((single, unstructured))
                & np.isclose(layers["weight_sparsity"], s)
                & np.isclose(layers["activation_sparsity"], s if dual else 0.0)
            ]
            for _, pair in at.groupby("layer"):
                rows = pair.set_index("strategy")
                on_layer = (
                    rows["computes_actual"] * rows["dense_macs"] / rows["computes_algorithmic"]
                )
                skipped = rows["dense_macs"] - on_layer
                total += 1
                equal += abs(skipped[unstructured] / skipped[single] - 1) <= 1e-3
    evidence = checks["same-computes"].evidence
    assert (evidence.held, evidence.cases) == (equal, total)


def test_memory_claims_count_their_cases(quick_study):
    tables, checks = quick_study[0], quick_study[1]
    memory = tables.memory
    for key, parameter, above in (
        ("smem-larger", "data_capacity", True),
        ("smem-smaller", "data_capacity", False),
    ):
        rows = memory[(memory["role"] == "shared-buffer") & (memory["parameter"] == parameter)]
        rows = rows[rows["scale"] > 1] if above else rows[rows["scale"] < 1]
        change = rows["energy_vs_baseline"] - 1
        evidence = checks[key].evidence
        assert (evidence.held, evidence.cases) == (int((change.abs() < 0.005).sum()), len(rows))


def test_low_sparsity_claims_read_the_low_sweep(quick_study):
    tables, checks = quick_study[0], quick_study[1]
    low = tables.low.set_index(["strategy", "sweep_sparsity"])["energy_uJ"]
    cheaper = [
        low[(dual, s)] < low[(single, s)]
        for single, dual in (("struct-nm", "struct-nm-dual"), ("unstruct-single", "unstruct-dual"))
        for s in low[single].index
    ]
    assert len(cheaper) == 7
    poster = checks["poster-dual-overhead"].evidence
    assert (poster.held, poster.cases) == (len(cheaper) - sum(cheaper), 7)


def test_dual_after_adjusting_is_quantified(quick_study):
    tables, checks = quick_study[0], quick_study[1]
    adjusted = tables.adjusted
    both = adjusted[(adjusted["weight_sparsity"] > 0) & (adjusted["activation_sparsity"] > 0)]
    for dual, single in (("struct-dual", "struct-flexible"), ("unstruct-dual", "unstruct-single")):
        rows = both[both["strategy"] == dual]
        adjusted_median = float(np.median(rows[f"energy_vs_{single}"]))
        raw = [
            r.energy_uJ
            / tables.totals[
                (tables.totals["strategy"] == single)
                & np.isclose(tables.totals["weight_sparsity"], r.weight_sparsity)
                & (tables.totals["activation_sparsity"] == 0)
            ]["energy_uJ"].iloc[0]
            for r in rows.itertuples()
        ]
        assert f"{np.median(raw):.2f}x -> {adjusted_median:.2f}x" in checks["dual-adjusted"].sparsim


def test_dual_unstructured_against_single_structured_above_half(quick_study):
    tables, checks = quick_study[0], quick_study[1]
    ratios = [
        _diag(tables.totals, "unstruct-dual", s, True)["energy_uJ"]
        / _diag(tables.totals, "struct-flexible", s, False)["energy_uJ"]
        for s in (2 / 3, 0.75)
    ]
    evidence = checks["dual-unstructured-matches"].evidence
    assert (evidence.held, evidence.cases) == (sum(r <= 1.1 for r in ratios), 2)
    for ratio in ratios:
        assert f"{ratio:.2f}x" in checks["dual-unstructured-matches"].sparsim
