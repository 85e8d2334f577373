"""Each verdict recomputed from the quick study's tables by its stated rule, independently
of the check's own code path, so a verdict can never be stronger than the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def _levels(found: int, total: int) -> str:
    return "agree" if found == total else ("partly" if found else "disagree")


def test_every_verdict_is_known_and_every_claim_has_a_section(quick_study):
    checks = quick_study[1]
    assert all(c.verdict in VERDICTS and c.section for c in checks.values())


def test_structured_energy_verdict(quick_study):
    tables, checks = quick_study[0], quick_study[1]
    ratios = [
        _diag(tables.totals, u, s, dual)["energy_uJ"]
        / _diag(tables.totals, st, s, dual)["energy_uJ"]
        for st, u, dual in (
            ("struct-flexible", "unstruct-single", False),
            ("struct-dual", "unstruct-dual", True),
        )
        for s in (0.5, 2 / 3)
    ]
    expected = (
        "agree"
        if all(1.5 <= r <= 2.5 for r in ratios)
        else ("partly" if all(r > 1 for r in ratios) else "disagree")
    )
    assert checks["structured-energy"].verdict == expected
    assert f"{min(ratios):.2f}x" in checks["structured-energy"].sparsim


def test_breakeven_verdict(quick_study):
    tables, checks = quick_study[0], quick_study[1]
    fine = tables.fine[tables.fine["layer"] == "fig15 total"]
    found = {}
    for strategy in ("unstruct-single", "unstruct-dual"):
        rows = fine[fine["strategy"] == strategy].sort_values("sweep_sparsity")
        x, y = rows["sweep_sparsity"].to_numpy(), rows["energy_vs_dense"].to_numpy()
        i = int(np.argmax(y <= 1.0))
        assert y[i] <= 1.0 < y[i - 1]
        found[strategy] = np.interp(1.0, [y[i], y[i - 1]], [x[i], x[i - 1]])
    close = abs(found["unstruct-single"] - 0.75) <= 0.1 and abs(found["unstruct-dual"] - 0.4) <= 0.1
    ordered = found["unstruct-dual"] < found["unstruct-single"]
    expected = "agree" if close else ("partly" if ordered else "disagree")
    assert checks["breakeven"].verdict == expected


def test_same_computes_verdict_separates_padding(quick_study):
    tables, checks = quick_study[0], quick_study[1]
    layers = tables.layers
    clean, padded = [], []
    for single, dual_ in (("struct-flexible", "unstruct-single"), ("struct-dual", "unstruct-dual")):
        for s in tables.sparsities:
            sa = s if single == "struct-dual" else 0.0
            at = layers[
                layers["strategy"].isin((single, dual_))
                & np.isclose(layers["weight_sparsity"], s)
                & np.isclose(layers["activation_sparsity"], sa)
            ]
            for _, pair in at.groupby("layer"):
                macs = pair.set_index("strategy")["computes_actual"]
                ratio = macs[dual_] / macs[single] - 1
                (padded if pair["padded"].any() else clean).append(abs(ratio))
    assert max(clean) <= 1e-3  # equal where nothing is padded
    expected = "partly" if max(padded) > 1e-3 else "agree"
    assert checks["same-computes"].verdict == expected


def test_memory_verdict_is_taken_under_both_energy_models(quick_study):
    tables, checks = quick_study[0], quick_study[1]
    memory = tables.memory
    held = 0
    for suffix in ("", "-fixed-energy"):
        changes = []
        for level in ("smem", "rf"):
            rows = memory[(memory["sweep"] == f"{level}-data{suffix}") & (memory["scale"] == 4.0)]
            change = rows.set_index("strategy")["energy_vs_baseline"] - 1
            changes += [
                (change["struct-flexible"], change["unstruct-single"]),
                (change["struct-dual"], change["unstruct-dual"]),
            ]
        equal = all(
            (abs(s) < 0.005 and abs(u) < 0.005) or abs(s - u) <= 0.25 * max(abs(s), abs(u))
            for s, u in changes
        )
        held += equal and all(s < 0 and u < 0 for s, u in changes)
    assert checks["more-memory"].verdict == _levels(held, 2)


def test_dual_at_low_sparsity_verdict(quick_study):
    tables, checks = quick_study[0], quick_study[1]
    low = tables.low.set_index(["strategy", "sweep_sparsity"])["energy_uJ"]
    wins = [
        low[(dual, s)] < low[(single, s)]
        for single, dual in (("struct-nm", "struct-nm-dual"), ("unstruct-single", "unstruct-dual"))
        for s in low[single].index
    ]
    assert len(wins) == 7
    assert checks["dual-low-sparsity"].verdict == _levels(sum(wins), len(wins))


def test_dual_after_adjusting_is_quantified(quick_study):
    tables, checks = quick_study[0], quick_study[1]
    adjusted = tables.adjusted
    both = adjusted[(adjusted["weight_sparsity"] > 0) & (adjusted["activation_sparsity"] > 0)]
    holds = []
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
        raw_median = float(np.median(raw))
        assert f"{raw_median:.2f}x -> {adjusted_median:.2f}x" in checks["dual-adjusted"].sparsim
        holds.append(adjusted_median < 1 and raw_median < adjusted_median)
    assert checks["dual-adjusted"].verdict == _levels(sum(holds), len(holds))
