#!/usr/bin/env python3
"""Research aid: recompute the DENSE and COST parts of Sparseloop/Timeloop (MICRO'22 artifact build)
from the case inputs and print them next to the artifact's timeloop-model.stats.txt.

Standalone (numpy + yaml only). Not engine code. See docs/sparseloop-semantics-dense.md.

Part 1 (counts, from aggregated_input.yaml + map.yaml only): tile shape, partition size,
    algorithmic reads / fills / updates / temporal reductions per instance, logical instances.
Part 2 (cost rules, applied to the *stats'* own actual/gated/format counts, so sparse cases can be
    used to check the rules): per-tensor energy, MAC energy, per-level bandwidth cycles, totals.
Part 3 (TC case only, fully from inputs): energy and cycles from the Part-1 counts.

Usage: python scripts/research/check_dense_semantics.py [--root DIR] [-v]
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import re

import numpy as np
import yaml

DEFAULT_ROOT = "/work/shared/reference/sparseloop-micro22"
PATTERN = "fig15/cases/WD-*/M512-K256-N1024-IAD0.82-WD*/*"


# ----------------------------------------------------------------------------- stats parser
def parse_stats(path):
    with open(path) as fh:
        text = fh.read()
    body, _, summary = text.partition("Summary Stats")
    body = body.split("\nNetworks\n")[0]
    out = {"levels": {}}
    heads = list(re.finditer(r"^Level \d+\n-+\n=== (\S+) ===", body, re.M))
    for h, n in zip(heads, [*heads[1:], None], strict=False):
        chunk = body[h.end() : n.start() if n else len(body)]
        specs, _, stats = chunk.partition("STATS\n")
        lvl = {
            "specs": dict(re.findall(r"^\s+(\S[^:\n]*?)\s*:\s*(\S+)", specs, re.M)),
            "tensors": {},
        }
        parts = re.split(r"^    (\w+):\n", stats, flags=re.M)
        lvl["fields"] = {
            k: float(v)
            for k, v in re.findall(r"^\s+([A-Za-z][^:\n]*?)\s*:\s*([-\d.e+]+)", parts[0], re.M)
        }
        for name, blk in zip(parts[1::2], parts[2::2], strict=False):
            f = {
                k: float(v)
                for k, v in re.findall(r"^\s+([A-Za-z][^:\n]*?)\s*:\s*([-\d.e+]+)", blk, re.M)
            }
            fmt = {}
            for kind in ("reads", "fills", "updates"):
                m = re.search(
                    rf"Actual scalar format {kind} \(per-instance\)\s*\n((?:\s+Rank .*\n)+)", blk
                )
                if m:
                    fmt[kind] = {
                        int(r): (float(a), float(b))
                        for r, a, b in re.findall(
                            r"Rank (\d+) \(metadata, payload\): \(\s*([\d.]+),\s*([\d.]+)\)",
                            m.group(1),
                        )
                    }
            lvl["tensors"][name] = {"f": f, "fmt": fmt}
        out["levels"][h.group(1)] = lvl
    out["cycles"] = float(re.search(r"^Cycles: (\S+)", summary, re.M).group(1))
    out["energy_uJ"] = float(re.search(r"^Energy: (\S+)", summary, re.M).group(1))
    return out


def sget(f, *keys, default=0.0):
    for k in keys:
        if k in f:
            return f[k]
    return default


def actual_count(f, kind):
    """Actual per-instance scalar count; stats without a sparse breakdown only have 'Scalar'."""
    return sget(f, f"Actual scalar {kind} (per-instance)", f"Scalar {kind} (per-instance)")


def gated_count(f, kind):
    return sget(f, f"Gated scalar {kind} (per-instance)")


def load_yaml(path):
    with open(path) as fh:
        return yaml.safe_load(fh)


# ----------------------------------------------------------------------------- case inputs
def flatten_arch(node, out):
    for loc in node.get("local", []):
        out.append(loc)
    for sub in node.get("subtree", []):
        flatten_arch(sub, out)
    return out


def load_case(d):
    inp = load_yaml(os.path.join(d, "aggregated_input.yaml"))
    mp = load_yaml(os.path.join(d, "map.yaml"))["mapping"]
    ert = load_yaml(os.path.join(d, "ERT.yaml"))["ERT"]["tables"]
    comps = flatten_arch(inp["architecture"], [])  # outer -> inner
    levels = []
    for c in comps:
        a = c.get("attributes", {})
        wb = a.get("datawidth", 8)
        width = a.get("data_storage_width", a.get("width"))
        block = a.get("block_size", (width // wb) if width else 1)
        levels.append(
            dict(
                name=c["name"].split("[")[0],
                compute=(c["class"] == "compute"),
                meshX=a.get("meshX", 1),
                meshY=a.get("meshY", 1),
                word_bits=wb,
                block=block,
                size=(a["data_storage_depth"] * block) if "data_storage_depth" in a else None,
                md_width=a.get("metadata_storage_width", 0),
                rbw=a.get("read_bandwidth"),
                wbw=a.get("write_bandwidth"),
            )
        )
    energy = {
        re.sub(r"\[.*?\]", "", t["name"]).split(".")[-1]: {
            x["name"]: x["energy"] for x in t["actions"]
        }
        for t in ert
    }
    prob = inp["problem"]
    dims = {k: prob["instance"][k] for k in prob["shape"]["dimensions"]}
    tensors = {}
    for ds in prob["shape"]["data-spaces"]:
        rel = {term[0] for rank in ds["projection"] for term in rank}
        tensors[ds["name"]] = dict(rel=rel, rw=bool(ds.get("read-write", False)))
    fmt = {}
    for tgt in (inp.get("sparse_optimizations") or {}).get("targets", []):
        for ds in tgt.get("representation-format", {}).get("data-spaces", []):
            fmt[(tgt["name"], ds["name"])] = ds["ranks"]  # list is outer -> inner
    return dict(levels=levels, mapping=mp, energy=energy, dims=dims, tensors=tensors, fmt=fmt)


def build_nest(case):
    """Loop nest outer->inner: (storage_level_index, dim, factor, spatial, axis)."""
    st = [i for i, level in enumerate(case["levels"]) if not level["compute"]]
    name2idx = {case["levels"][i]["name"]: k for k, i in enumerate(st)}
    temporal, spatial, keep = {}, {}, {}
    for d in case["mapping"]:
        k = name2idx[d["target"]]
        if d["type"] == "datatype":
            # 'stream' deliberately ignored (no numeric effect, see doc)
            keep[k] = set(d.get("keep", []))
            continue
        fac = {t[0]: int(t[1:]) for t in d["factors"].split()}
        (temporal if d["type"] == "temporal" else spatial)[k] = (
            fac,
            d["permutation"],
            d.get("split", 0),
        )
    nest = []
    for k in range(len(st)):
        if k in temporal:
            fac, perm, _ = temporal[k]
            for dim in reversed(perm):  # permutation string is innermost-first
                if fac.get(dim, 1) > 1:
                    nest.append((k, dim, fac[dim], False, "T"))
        if k in spatial:  # spatial loops sit below the level's temporal loops
            fac, perm, split = spatial[k]
            for pos in reversed(range(len(perm))):
                dim = perm[pos]
                if fac.get(dim, 1) > 1:
                    nest.append((k, dim, fac[dim], True, "X" if pos < split else "Y"))
    return st, nest, keep


def dense_counts(case):
    st, nest, keep = build_nest(case)
    n = len(st)
    dims, res = case["dims"], {}
    total_macs = int(np.prod(list(dims.values())))
    n_pe = int(np.prod([f for (_, _, f, s, _) in nest if s]))
    c_pe = total_macs // n_pe  # computes per logical MAC instance

    def tile(k, rel):
        return int(np.prod([f for (lv, d, f, s, _) in nest if lv >= k and d in rel] or [1]))

    def share(k, rel):  # per-instance traffic from parent into level k
        t = [(d, f) for (lv, d, f, s, _) in nest if lv < k and not s]
        while t and t[-1][0] not in rel:  # innermost irrelevant temporal loops: stationarity
            t.pop()
        return tile(k, rel) * int(np.prod([f for _, f in t] or [1]))

    def partition(k, rel):
        p = 1
        for d in rel:
            p *= dims[d] // int(
                np.prod([f for (lv, dd, f, s, _) in nest if lv < k and s and dd == d] or [1])
            )
        return p

    def instances(k):
        return int(np.prod([f for (lv, _, f, s, _) in nest if lv < k and s] or [1]))

    for t, info in case["tensors"].items():
        rel, rw = info["rel"], info["rw"]
        keepers = [k for k in range(n) if t in keep.get(k, set())]
        for j, p in enumerate(keepers):
            c = keepers[j + 1] if j + 1 < len(keepers) else n  # n == compute
            child = share(c, rel) if c < n else c_pe
            fan = int(
                np.prod([f for (lv, d, f, s, _) in nest if s and p <= lv < c and d in rel] or [1])
            )
            content = child * fan  # irrelevant spatial loops: multicast / spatial reduction
            outer = j == 0
            part = partition(p, rel)
            r = dict(
                tile=tile(p, rel),
                partition=part,
                inst=instances(p),
                fills=0 if outer else share(p, rel),
            )
            if rw:
                r.update(updates=content, reads=content - part, tr=0 if outer else content - part)
            else:
                r.update(updates=0, reads=content, tr=0)
            res[(case["levels"][st[p]]["name"], t)] = r
    return res, dict(total_macs=total_macs, n_pe=n_pe, nest=nest, st=st)


# ----------------------------------------------------------------------------- cost rules
def pow2ceil(b):
    return 0 if b <= 0 else 1 << (int(b) - 1).bit_length()


def fmt_bits(case, level, tensor, per_rank):
    """metadata/payload units -> bits. EMPIRICAL: word bits rounded up to a power of two (3 -> 4)."""
    ranks = case["fmt"].get((level, tensor))
    if not ranks or not per_rank:
        return 0
    bits = 0
    for r, (md, pl) in per_rank.items():
        spec = ranks[len(ranks) - 1 - r] if r < len(ranks) else {}
        bits += md * pow2ceil(spec.get("metadata-word-bits", 0)) + pl * pow2ceil(
            spec.get("payload-word-bits", 0)
        )
    return int(bits)


def tensor_energy(case, lvl, tname, f, fmt_counts, counts=None):
    """Energy (per instance) of one tensor at one storage level, from per-instance scalar counts."""
    e = case["energy"][lvl["name"]]
    B = lvl["block"]

    def vec(x):
        return math.ceil(x / B - 1e-9) if x > 0 else 0

    if counts is None:
        counts = {k: actual_count(f, k) for k in ("reads", "fills", "updates")}
        gated = {k: gated_count(f, k) for k in ("reads", "fills", "updates")}
    else:
        gated = {k: 0 for k in counts}
    E = (
        vec(counts["reads"]) * e["read"]
        + (vec(counts["fills"]) + vec(counts["updates"])) * e["write"]
    )
    E += vec(gated["reads"]) * e.get("gated_read", 0) + (
        vec(gated["fills"]) + vec(gated["updates"])
    ) * e.get("gated_write", 0)
    if lvl["md_width"]:
        for kind, act in (
            ("reads", "metadata_read"),
            ("fills", "metadata_write"),
            ("updates", "metadata_write"),
        ):
            bits = fmt_bits(case, lvl["name"], tname, fmt_counts.get(kind))
            E += math.ceil(bits / lvl["md_width"]) * e.get(act, 0)
    return E


def level_cycles(case, lvl, stats_lvl, compute_cycles):
    rd = wr = 0
    for tname, ts in stats_lvl["tensors"].items():
        f = ts["f"]
        rd += (
            actual_count(f, "reads")
            + gated_count(f, "reads")
            + fmt_bits(case, lvl["name"], tname, ts["fmt"].get("reads")) // lvl["word_bits"]
        )
        wr += (
            actual_count(f, "fills")
            + actual_count(f, "updates")
            + gated_count(f, "fills")
            + gated_count(f, "updates")
        )
        wr += (
            fmt_bits(case, lvl["name"], tname, ts["fmt"].get("fills"))
            + fmt_bits(case, lvl["name"], tname, ts["fmt"].get("updates"))
        ) // lvl["word_bits"]
    slow = 1.0
    if lvl["rbw"] and rd / compute_cycles > lvl["rbw"]:
        slow = min(slow, lvl["rbw"] / (rd / compute_cycles))
    if lvl["wbw"] and wr / compute_cycles > lvl["wbw"]:
        slow = min(slow, lvl["wbw"] / (wr / compute_cycles))
    return math.ceil(compute_cycles / slow - 1e-9), slow, rd, wr


# ----------------------------------------------------------------------------- main
def mark(a, b, rel=1e-3):
    return "ok" if (a == b or (b and abs(a - b) / abs(b) <= rel) or abs(a - b) < 0.02) else "XX"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=DEFAULT_ROOT)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    tally = {}

    def rec(q, ok):
        t = tally.setdefault(q, [0, 0])
        t[0] += ok == "ok"
        t[1] += 1

    for d in sorted(glob.glob(os.path.join(args.root, PATTERN))):
        sp = os.path.join(d, "output", "timeloop-model.stats.txt")
        if not os.path.exists(sp):
            continue
        case, stats = load_case(d), parse_stats(sp)
        wd = d.split("-WD")[-1].split("/")[0]
        print(f"\n=== WD{wd} {os.path.basename(d)}")
        counts, meta = dense_counts(case)
        lv_by_name = {level["name"]: level for level in case["levels"]}
        # Part 1: dense (algorithmic) counts
        for (ln, t), r in counts.items():
            f = stats["levels"][ln]["tensors"][t]["f"]
            sv = dict(
                tile=sget(f, "Data tile shape", "Utilized capacity"),
                partition=f["Partition size"],
                inst=sget(f, "Utilized instances (max)"),
                reads=sget(
                    f, "Algorithmic scalar reads (per-instance)", "Scalar reads (per-instance)"
                ),
                fills=sget(
                    f, "Algorithmic scalar fills (per-instance)", "Scalar fills (per-instance)"
                ),
                updates=sget(
                    f, "Algorithmic scalar updates (per-instance)", "Scalar updates (per-instance)"
                ),
                tr=f["Temporal reductions (per-instance)"],
            )
            au = sget(f, "Actual scalar updates (per-instance)", default=None)
            if au is not None and r["updates"]:  # stats' TR is scaled to *actual* updates
                r = dict(r, tr=math.ceil(r["tr"] * au / r["updates"]))
            cells = []
            for q in ("tile", "partition", "reads", "fills", "updates", "tr", "inst"):
                m = mark(r[q], sv[q])
                if q != "inst":
                    rec(f"count:{q}", m)
                cells.append(f"{q}={r[q]}/{int(sv[q])}{'' if m == 'ok' else ' <-' + m}")
            print(f"  {ln:5s} {t}: " + "  ".join(cells))
        # Part 2: cost rules on the stats' own counts
        mac_f = stats["levels"]["MAC"]["fields"]
        em = case["energy"]["MAC"]
        E_mac = (
            sget(mac_f, "Actual Computes (total)", "Computes (total)") * em["mac_random"]
            + sget(mac_f, "Gated Computes (total)") * em.get("mac_gated", 0)
            + sget(mac_f, "Skipped Computes (total)") * em.get("mac_skipped", 0)
        )
        m = mark(E_mac, mac_f["Energy (total)"], 1e-6)
        rec("energy:MAC", m)
        line = [f"MAC {E_mac:.0f}/{mac_f['Energy (total)']:.0f} {m}"]
        total = E_mac
        cc = mac_f["Cycles"]
        cyc = [cc]
        for ln, sl in stats["levels"].items():
            if ln == "MAC":
                continue
            lvl = lv_by_name[ln]
            for t, ts in sl["tensors"].items():
                E = (
                    tensor_energy(case, lvl, t, ts["f"], ts["fmt"])
                    * ts["f"]["Utilized instances (max)"]
                )
                total += E
                m = mark(E, ts["f"]["Energy (total)"], 1e-5)
                rec("energy:tensor", m)
                if m != "ok" or args.verbose:
                    line.append(f"{ln}.{t} {E:.1f}/{ts['f']['Energy (total)']:.1f} {m}")
            c, slow, rd, wr = level_cycles(case, lvl, sl, cc)
            cyc.append(c)
            m = mark(c, sl["fields"]["Cycles"], 0)
            rec("cycles:level", m)
            if lvl["rbw"] or m != "ok":
                line.append(
                    f"{ln} cyc {c}/{int(sl['fields']['Cycles'])} {m} (rd {rd:.0f} wr {wr:.0f} words, thr {slow:.2f}/{sl['fields']['Bandwidth throttling']:.2f})"
                )
        m = mark(total / 1e6, stats["energy_uJ"], 5e-4)
        rec("energy:summary", m)
        line.append(f"SUM {total / 1e6:.2f}/{stats['energy_uJ']:.2f} uJ {m}")
        m = mark(max(cyc), stats["cycles"], 0)
        rec("cycles:summary", m)
        line.append(f"cycles {max(cyc)}/{int(stats['cycles'])} {m}")
        print("  rules: " + " | ".join(line))
        # Part 3: fully recomputed energy/cycles for the dense TC design
        if os.path.basename(d).startswith("TC"):
            cc_model = meta["total_macs"] // meta["n_pe"]
            E = meta["total_macs"] * em["mac_random"]
            cyc = [cc_model]
            for (ln, t), r in counts.items():
                lvl = lv_by_name[ln]
                E += tensor_energy(case, lvl, t, None, {}, counts=r) * r["inst"]
            for ln in {k[0] for k in counts}:
                lvl = lv_by_name[ln]
                rd = sum(r["reads"] for (l2, _), r in counts.items() if l2 == ln)
                wr = sum(r["fills"] + r["updates"] for (l2, _), r in counts.items() if l2 == ln)
                s = min(
                    [1.0]
                    + [
                        bw / (x / cc_model)
                        for bw, x in ((lvl["rbw"], rd), (lvl["wbw"], wr))
                        if bw and x / cc_model > bw
                    ]
                )
                cyc.append(math.ceil(cc_model / s))
            m1, m2 = mark(E / 1e6, stats["energy_uJ"], 5e-4), mark(max(cyc), stats["cycles"], 0)
            rec("TC-model:energy", m1)
            rec("TC-model:cycles", m2)
            print(
                f"  TC from inputs only: energy {E / 1e6:.3f}/{stats['energy_uJ']} uJ {m1}, cycles {max(cyc)}/{int(stats['cycles'])} {m2}"
            )
    print("\nSummary (matches/checked):")
    for q, (ok, nn) in tally.items():
        print(f"  {q:18s} {ok}/{nn}")


if __name__ == "__main__":
    main()
