#!/usr/bin/env python3
"""Recompute Sparseloop's sparse quantities for the fig15 calibration cases and print them next to the stats.

Standalone research check (numpy/scipy/yaml + sparsim.calibration.parse_stats for reading stats).
Run from /work/main:  python scripts/research/check_sparse_semantics.py
Rules implemented here are documented in docs/sparseloop-semantics-sparse.md.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import yaml
from scipy.stats import hypergeom

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from sparsim.calibration import parse_stats

ROOT = Path("/work/shared/reference/sparseloop-micro22/fig15/cases")
LAYER = "M512-K256-N1024-IAD0.82"
LEVELS = ["LRF", "RF", "SMEM", "DRAM"]  # storage levels, inner -> outer
PROJ = {"A": {"M", "K"}, "B": {"N", "K"}, "Z": {"M", "N"}}
SIZES = {"M": 512, "K": 256, "N": 1024}


# ----------------------------------------------------------------------------- density models
class Density:
    def __init__(self, spec, tensor):
        self.kind = spec["distribution"]
        self.d = float(spec["density"])
        self.N = math.prod(SIZES[x] for x in PROJ[tensor])
        self.r = math.ceil(self.d * self.N)  # hypergeometric: total nnz = ceil(d*N)

    def pmf(self, n):
        """P(tile of n elements holds k nonzeros), k = 0..n."""
        k = np.arange(n + 1)
        if self.kind == "fixed-structured":
            exact = n * self.d
            p = np.zeros(n + 1)
            lo, hi = math.floor(exact), math.ceil(exact)
            pc = exact - lo
            p[lo] += 1 - pc
            if hi <= n:
                p[hi] += pc
            return k, p
        return k, hypergeom(self.N, self.r, n).pmf(k)

    def p_empty(self, n):
        return float(self.pmf(n)[1][0]) if n > 0 else 1.0

    def density(self):  # expected occupancy / shape
        return self.d if self.kind == "fixed-structured" else self.r / self.N


def load_yaml(path: Path):
    with path.open() as fh:
        return yaml.safe_load(fh)


# ----------------------------------------------------------------------------- mapping
def loop_nest(case: Path):
    """[(level, dim, factor, spatial)] innermost first; within a level: spatial-X, spatial-Y, temporal."""
    m = load_yaml(case / "map.yaml")["mapping"]
    nest = []
    for lvl in LEVELS:
        sp = [e for e in m if e["target"] == lvl and e["type"] == "spatial"]
        tp = [e for e in m if e["target"] == lvl and e["type"] == "temporal"]
        for e in sp:
            f = dict((t[0], int(t[1:])) for t in e["factors"].split())
            perm = list(e["permutation"])
            split = e.get("split", len(perm))
            for i, d in enumerate(perm):  # X dims (perm[:split]) are inner to Y dims
                nest.append((lvl, d, f[d], "X" if i < split else "Y"))
        for e in tp:
            f = dict((t[0], int(t[1:])) for t in e["factors"].split())
            for d in e["permutation"]:
                nest.append((lvl, d, f[d], None))
    return nest


def rank_loops(nest, level, tensor, fmts=None):
    """Loops per rank (rank 0 = innermost), as a list of loops-or-None (None = dummy rank).

    Without a compressed child: the non-trivial loops projecting to `tensor` at or below `level`
    go to ranks 0,1,... innermost first; extra outer ranks are dummies.
    Pre-tiling (compressed child level with >= 1 non-trivial loop): ranks 0..nC-1 mirror the
    child's ranks (including its dummy outer ranks); this level's own loops start at rank nC.
    """
    upto = LEVELS.index(level)

    def rel(lv):
        return [loop for loop in nest if loop[0] == lv and loop[1] in PROJ[tensor] and loop[2] > 1]

    nranks = len(fmts[(level, tensor)]) if fmts else None
    child = None
    if fmts:
        for lv in reversed(LEVELS[:upto]):
            if (lv, tensor) in fmts:
                child = lv
                break
    if child is not None and any(rel(lv) for lv in LEVELS[: LEVELS.index(child) + 1]):
        inner = rank_loops(nest, child, tensor, fmts)
        own = [loop for lv in LEVELS[LEVELS.index(child) + 1 : upto + 1] for loop in rel(lv)]
        ranks = inner + own
    else:
        ranks = [loop for lv in LEVELS[: upto + 1] for loop in rel(lv)]
    if nranks is not None:
        ranks = ranks + [None] * (nranks - len(ranks))
    return ranks


# ----------------------------------------------------------------------------- format model
def format_units(fmt_ranks, loops, dens: Density):
    """fmt_ranks: list innermost-first of (format, md_bits, pl_bits).  Returns [(md_units, pl_units)] per rank."""
    out = []

    def loop_factor(loop):
        return 1 if loop is None else loop[2]

    if not any(loops):  # scalar tile: single dummy inner rank of shape 1
        fmt = fmt_ranks[0][0]
        md = 0.0 if fmt == "UOP" else dens.density()
        return [(md, 0.0)] + [(0.0, 0.0)] * (len(fmt_ranks) - 1)
    for i, (fmt, _, _) in enumerate(fmt_ranks):
        if loops[i] is None:  # dummy rank (more ranks than loops)
            out.append((0.0, 0.0))
            continue
        shape = loops[i][2]  # fiber shape of this rank
        max_fibers = math.prod(loop_factor(loop) for loop in loops[i + 1 :])
        # coord tile covered by one fiber, and by one fiber element
        cur_tile = math.prod(loop_factor(loop) for loop in loops[: i + 1])
        child_tile = math.prod(loop_factor(loop) for loop in loops[:i])
        fibers_ne = max_fibers * (1 - dens.p_empty(cur_tile))
        nz_per_fiber = shape * (1 - dens.p_empty(child_tile))
        if fmt == "UOP":
            md, pl = 0.0, max_fibers * (shape + 1.0)
        elif fmt == "B":
            md, pl = fibers_ne * shape, fibers_ne * math.ceil(nz_per_fiber - 1e-9)
        elif fmt == "CP":
            md = fibers_ne * math.ceil(nz_per_fiber - 1e-9)
            pl = md
        elif fmt == "RLE":
            md = fibers_ne * nz_per_fiber
            pl = md
        else:
            raise ValueError(fmt)
        if i == 0 and fmt != "UOP":
            pl = 0.0  # innermost payload = the data itself
        out.append((md, pl))
    return out


def parse_formats(agg):
    res = {}
    for t in agg["sparse_optimizations"]["targets"]:
        for ds in t.get("representation-format", {}).get("data-spaces", []):
            ranks = [
                (r["format"].upper(), r.get("metadata-word-bits", 0), r.get("payload-word-bits", 0))
                for r in ds["ranks"]
            ]
            res[(t["name"], ds["name"])] = ranks[::-1]  # YAML lists outermost first
    return res


def stats_block_ranks(text, level, tensor, key):
    lv = text.split(f"=== {level} ===")[1].split("\nLevel ")[0].split("\nNetworks")[0]
    tb = re.split(r"\n    (\w):\n", lv)
    blk = dict(zip(tb[1::2], tb[2::2], strict=False)).get(tensor, "")
    m = re.search(re.escape(key) + r"[^\n]*\n((?:\s+Rank .*\n)+)", blk)
    if not m:
        return None
    return sorted(
        (int(a), float(b), float(c))
        for a, b, c in re.findall(
            r"Rank (\d+) \(metadata, payload\): \(\s*([\d.]+),\s*([\d.]+)\)", m.group(1)
        )
    )


# ----------------------------------------------------------------------------- checks
def fmt_row(ranks):
    return " ".join(f"({md:.0f},{pl:.0f})" for md, pl in ranks)


def check_case(wd: str, design: str):
    case = ROOT / f"WD-{wd}" / f"{LAYER}-WD{wd}" / design
    agg = load_yaml(case / "aggregated_input.yaml")
    text = (case / "output/timeloop-model.stats.txt").read_text()
    st = parse_stats(case / "output/timeloop-model.stats.txt")
    nest = loop_nest(case)
    dens = {t: Density(s, t) for t, s in agg["problem"]["instance"]["densities"].items()}
    dens.setdefault("Z", None)
    fmts = parse_formats(agg)
    print(f"\n=== WD {wd}  {design}")
    ok = True
    for (lvl, t), ranks in sorted(fmts.items()):
        loops = rank_loops(nest, lvl, t, fmts)
        units = format_units(ranks, loops, dens[t])
        ts = st.levels[lvl].tensors[t].fields
        shape = ts["Data tile shape"]
        cap = stats_block_ranks(text, lvl, t, "Max utilized Repr format storage capacity")
        got = [(b, c) for _, b, c in cap]
        ratio_r = ts["Algorithmic scalar reads (per-instance)"] / shape
        # format reads: ceil(units * algorithmic_reads / tile_shape); LRF per-instance values are
        # rescaled by logical/effective instances when spatial skipping shrinks the fanout (see doc)
        # LRF under spatial skipping: stats report per-instance *actual* counts per utilized
        # instance = per-logical-instance value x logical/utilized (algorithmic stays per logical)
        scale = 1.0
        if lvl == "LRF" and "skipping-spatial" in str(agg["sparse_optimizations"]):
            logical = (
                st.compute.fields["Algorithmic Computes (total)"]
                / ts["Algorithmic scalar reads (per-instance)"]
            )
            scale = logical / ts["Utilized instances (max)"]
        fr = [
            (math.ceil(md * ratio_r * scale - 1e-6), math.ceil(pl * ratio_r * scale - 1e-6))
            for md, pl in units
        ]
        fr_st = stats_block_ranks(text, lvl, t, "Actual scalar format reads")
        fr_got = [(b, c) for _, b, c in fr_st] if fr_st else None
        capm = [(math.ceil(md - 1e-9), math.ceil(pl - 1e-9)) for md, pl in units]
        if lvl == "LRF" and not any(loops):
            # max occupancy of a scalar tile = 1
            capm = [(1 if ranks[0][0] != "UOP" else 0, 0), *capm[1:]]
        cap_ok = all(
            abs(a - b) <= 1
            for x, y in zip(capm, got, strict=False)
            for a, b in zip(x, y, strict=False)
        )
        fr_ok = fr_got is None or all(
            abs(a - b) <= 1
            for x, y in zip(fr, fr_got, strict=False)
            for a, b in zip(x, y, strict=False)
        )
        ok &= cap_ok and fr_ok
        print(
            f"  {lvl:4s} {t} ranks(inner->outer) {[r[0] for r in ranks]} loops {[(loop[1], loop[2]) if loop else '-' for loop in loops]}"
        )
        print(
            f"     capacity  model {fmt_row(capm)}\n               stats {fmt_row(got)}  {'OK' if cap_ok else 'DIFF'}"
        )
        if fr_got:
            print(
                f"     fmt reads model {fmt_row(fr)}\n               stats {fmt_row(fr_got)}  {'OK' if fr_ok else 'DIFF'}"
            )
        # data actual reads/fills on a level with metadata: x - floor(x * (1 - density))
        if lvl != "LRF":
            for kind in ("reads", "fills"):
                alg = ts[f"Algorithmic scalar {kind} (per-instance)"]
                act = alg - math.floor(alg * (1 - dens[t].density()))
                s = ts[f"Actual scalar {kind} (per-instance)"]
                ok &= act == s
                print(
                    f"     actual {kind:5s} model {act:.0f} stats {s:.0f} {'OK' if act == s else 'DIFF'}"
                )
    return ok, st, agg, dens, nest


def metadata_energy_check(wd, design, level, tensor):
    """Energy = data actions + metadata actions; metadata words = md_units * eff_bits / md_storage_width."""
    case = ROOT / f"WD-{wd}" / f"{LAYER}-WD{wd}" / design
    agg = load_yaml(case / "aggregated_input.yaml")
    ert = {
        x["name"].split(".")[-1]: {a["name"]: a["energy"] for a in x["actions"]}
        for x in load_yaml(case / "ERT.yaml")["ERT"]["tables"]
    }
    st = parse_stats(case / "output/timeloop-model.stats.txt")
    text = (case / "output/timeloop-model.stats.txt").read_text()
    ts = st.levels[level].tensors[tensor].fields
    lvl_attr = {}

    def walk(node):
        for comp in node.get("local", []):
            lvl_attr[comp["name"].split("[")[0]] = comp.get("attributes", {})
        for s in node.get("subtree", []):
            walk(s)

    walk(agg["architecture"]["subtree"][0])
    a = lvl_attr[level]
    block = (
        a.get("data_storage_width", a.get("width", 8)) // 8 if level != "DRAM" else a["width"] // 8
    )
    md_width = a.get("metadata_storage_width", 8)
    e = ert[level]
    ranks = parse_formats(agg)[(level, tensor)]
    data = (
        ts["Actual scalar reads (per-instance)"] * e["read"] / block
        + ts["Actual scalar fills (per-instance)"] * e["write"] / block
    )
    md = 0.0

    def eff(b):
        return 0 if b == 0 else 2 ** math.ceil(math.log2(b))  # 3 -> 4 bits (see doc)

    for kind, action in (("reads", "metadata_read"), ("fills", "metadata_write")):
        rows = stats_block_ranks(text, level, tensor, f"Actual scalar format {kind}") or []
        for r, mu, pu in rows:
            _, mdb, plb = ranks[r]
            md += (mu * eff(mdb) + pu * eff(plb)) / md_width * e.get(action, 0.0)
    model = data + md
    s = ts["Energy (per-instance)"]
    print(
        f"  energy {wd} {design:45s} {level:4s} {tensor}: model {model:.2f} stats {s:.2f}  rel {abs(model - s) / s:.1e}"
    )


def stc_spatial_skip(st, agg, dens, nest):
    """skipping-spatial at RF conditioned on A: per spatial loop over a dim of A,
    ratio = 1 - P(A subtile below that loop is empty); effective fanout = ceil(prod(ratio) * fanout)."""
    rf_sp = [loop for loop in nest if loop[0] == "RF" and loop[3]]
    eff = 1.0
    ratios = {}
    for i, loop in enumerate(rf_sp):
        if loop[1] in PROJ["A"] and loop[2] > 1:
            below = [x for x in nest if LEVELS.index(x[0]) < LEVELS.index("RF")] + rf_sp[:i]
            a_tile = math.prod(x[2] for x in below if x[1] in PROJ["A"])
            # map keyed by dim: later loop overwrites
            ratios[loop[1]] = 1 - dens["A"].p_empty(a_tile)
    for v in ratios.values():
        eff *= v
    fan = math.prod(loop[2] for loop in rf_sp)
    inst = math.ceil(eff * fan)
    util = inst * 4
    alg = st.compute.fields["Algorithmic Computes (total)"]
    act = alg - math.floor(alg * (1 - inst / fan))
    print(
        f"  spatial skip: RF fanout {fan} -> {inst} per RF (x4 = {util}); stats LRF utilized "
        f"{st.levels['LRF'].tensors['A'].fields['Utilized instances (max)']:.0f}"
    )
    print(
        f"  computes: actual model {act} stats {st.compute.fields['Actual Computes (total)']:.0f}; "
        f"cycles model {act / util:.0f} stats MAC {st.compute.fields['Cycles']:.0f}"
    )


def dstc_checks(st, dens):
    A, B = dens["A"], dens["B"]
    alg = st.compute.fields["Algorithmic Computes (total)"]
    dA, dB = A.density(), B.density()
    # scalar densities as Sparseloop gets them: expected occupancy of a 1-element tile (pmf(1))
    pA, pB = float(A.pmf(1)[1][1]), float(B.pmf(1)[1][1])
    act_f = alg * dA * dB
    # per-class counts are floored separately, actual = total - floor(skipped) - floor(nonexistent)
    skipped = alg * (pA * (1 - pB) + (1 - pA) * pB)
    nonexistent = alg * (1 - pA) * (1 - pB)
    act = alg - math.floor(skipped) - math.floor(nonexistent)
    print(
        f"  computes: total*dA*dB = {act_f:.4f} -> total - floor(skip) - floor(nonexist) = {act}; "
        f"stats {st.compute.fields['Actual Computes (total)']:.0f}  (dB = ceil(0.82*262144)/262144)"
    )

    def util(d, n, S):
        k, p = d.pmf(n)
        slots = np.maximum(np.ceil(k / S) * S, 1)
        return float((k / slots * p).sum()), float((np.ceil(k / S) * p).sum())

    uA, passA = util(A, 64, 16)  # LRF tile of A: M16(spatial) x M4; spatial fanout on M = 16
    uB, passB = util(B, 32, 16)  # LRF tile of B: N16(spatial) x N2
    cyc = act_f / (1024 * uA * uB)
    print(
        f"  position skipping: utilA {uA:.6f} utilB {uB:.6f}; avg utilized instances "
        f"{1024 * uA * uB:.2f} (stats {st.compute.fields['Utilized instances (average)']:.2f})"
    )
    print(
        f"  cycles = total*dA*dB/(1024*uA*uB) = {cyc:.3f} -> ceil {math.ceil(cyc)}; stats {st.compute.fields['Cycles']:.0f}"
    )
    lrf = st.levels["LRF"].tensors
    ra = lrf["A"].fields["Algorithmic scalar reads (per-instance)"] * dA * passB / 2
    rb = lrf["B"].fields["Algorithmic scalar reads (per-instance)"] * dB * passA / 4
    print(
        f"  LRF actual reads (approx rule alg*d_self*E[passes_other]/dense_passes): "
        f"A {ra:.1f} (stats {lrf['A'].fields['Actual scalar reads (per-instance)']:.0f}), "
        f"B {rb:.1f} (stats {lrf['B'].fields['Actual scalar reads (per-instance)']:.0f})"
    )
    rfz = st.levels["RF"].tensors["Z"].fields
    p = 1 - dA * dB
    print(
        f"  RF Z skipping (cond. on A,B scalars) p = 1 - dA*dB = {p:.6f}: skipped reads model "
        f"{math.ceil(rfz['Algorithmic scalar reads (per-instance)'] * p)} stats {rfz['Skipped scalar reads (per-instance)']:.0f}; "
        f"skipped updates model {math.floor(rfz['Algorithmic scalar updates (per-instance)'] * p)} "
        f"stats {rfz['Skipped scalar updates (per-instance)']:.0f}"
    )


def main():
    designs = [
        "STC-RF2x-24-bandwidth",
        "STC_flexible-RF2x-24-bandwidth",
        "STC_flexible-RF2x-24-bandwidth-RLE",
        "STC_flexible_dualCompress-RF2x-24-bandwidth-RLE",
        "DSTC-RF2x-24-bandwidth",
    ]
    all_ok = True
    for wd in ("0.5", "0.25"):
        for d in designs:
            ok, st, agg, dens, nest = check_case(wd, d)
            all_ok &= ok
            if d.startswith("STC"):
                stc_spatial_skip(st, agg, dens, nest)
            else:
                dstc_checks(st, dens)
    print("\n=== energy (data + metadata) per instance")
    for wd in ("0.5", "0.25"):
        for d in designs[:4]:
            for lvl in ("LRF", "SMEM", "DRAM"):
                metadata_energy_check(wd, d, lvl, "A")
    print("\nformat capacity / format reads / actual data accesses all matched:", all_ok)


if __name__ == "__main__":
    main()
