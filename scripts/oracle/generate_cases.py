"""Generate varied, valid Timeloop v0.3 case directories from the MICRO'22 artifact's fig15 cases.

Each generated case starts from one non-DSTC fig15 case (architecture, sparse optimisations,
energy tables, mapping) and changes one to three things: the GEMM shape (ResNet-50 and
BERT-base layers, with the mapping re-tiled so factor products stay exact and no inner tile
grows), the densities and density models (fixed-structured N:M, hypergeometric; never
``uniform``, which public Timeloop lacks), the mapping (moving a prime factor between
temporal levels, permutations, spatial splits, bypass choices), the energy tables, the
bandwidths and the capacities. Output is deterministic for a given ``--seed``.

Every case's ``stream`` lists are cut down to the tensors the level keeps: the public
Timeloop build ignores ``stream`` while sparsim follows the artifact, which charges a
streamed, bypassed tensor at the level, so such a case would differ by design.

Cases Timeloop rejects (capacity, fan-out, too few compression ranks) or that exceed the
runner's time limit are dropped by ``run_oracle.py``, not here.

    python scripts/oracle/generate_cases.py --seed 1 --count 200 --out /tmp/oracle-cases
"""

from __future__ import annotations

import argparse
import functools
import math
import random
import shutil
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
FIG15 = REPO.parent / "shared" / "reference" / "sparseloop-micro22" / "fig15" / "cases"
CASE_FILES = ("aggregated_input.yaml", "ERT.yaml", "ART.yaml", "map.yaml")
DIMS = ("M", "N", "K")
AXES = (
    "shape",
    "density",
    "retile",
    "permutation",
    "spatial",
    "bypass",
    "energy",
    "bandwidth",
    "capacity",
)
# Drawn after the others (so adding it left every earlier case unchanged): storage gating or
# skipping, which the fig15 designs never use, so gated/skipped actions and their energies
# (the ERT fallbacks) are exercised.
SAF_AXIS = "saf"
SAF_PROBABILITY = 0.35
ALL_AXES = (*AXES, SAF_AXIS)
DESIGN_ABBREVIATIONS = {
    "TC-RF2x-24-bandwidth": "TC",
    "STC-RF2x-24-bandwidth": "STC",
    "STC_flexible-RF2x-24-bandwidth": "STCF",
    "STC_flexible-RF2x-24-bandwidth-RLE": "STCF-RLE",
    "STC_flexible_dualCompress-RF2x-24-bandwidth-RLE": "STCF-DC",
}


def base_cases(root: Path = FIG15) -> list[Path]:
    """The fig15 case directories of every design public Timeloop can model (not DSTC)."""
    cases = sorted(p for p in root.glob("*/*/*") if p.is_dir() and p.name in DESIGN_ABBREVIATIONS)
    if not cases:
        sys.exit(f"no fig15 cases under {root} (the reference data lives in ../shared)")
    return cases


@functools.cache
def gemm_shapes() -> tuple[tuple[int, int, int], ...]:
    """Distinct (M, N, K) of ResNet-50 (batch 1, 224x224) and BERT-base (sequence 128)."""
    from sparsim.workload.builtin import bert_base, resnet50

    shapes = []
    for table in (resnet50(), bert_base()):
        for row in table.layers:
            gemm = row.workload.as_gemm()
            shape = (gemm.M, gemm.N, gemm.K)
            if shape not in shapes:
                shapes.append(shape)
    return tuple(shapes)


def _factors(text: str) -> dict[str, int]:
    out = {}
    for part in text.split():
        out[part[0]] = int(part[1:].lstrip("="))
    return out


def _factor_text(factors: dict[str, int]) -> str:
    return " ".join(f"{d}{factors[d]}" for d in DIMS)


def _prime_factors(n: int) -> list[int]:
    primes, p = [], 2
    while p * p <= n:
        while n % p == 0:
            primes.append(p)
            n //= p
        p += 1
    if n > 1:
        primes.append(n)
    return primes


def _loop_entries(mapping: list[dict]) -> list[dict]:
    """The temporal and spatial entries, innermost first (the order map.yaml lists them)."""
    return [e for e in mapping if e["type"] in ("temporal", "spatial")]


def _outermost_temporal(mapping: list[dict]) -> dict:
    return [e for e in _loop_entries(mapping) if e["type"] == "temporal"][-1]


class CaseBuilder:
    """One case's four documents, mutated in place by the axis methods."""

    def __init__(self, base: Path, rng: random.Random):
        self.base = base
        self.rng = rng
        self.inputs = yaml.safe_load((base / "aggregated_input.yaml").read_text())
        self.ert = yaml.safe_load((base / "ERT.yaml").read_text())
        self.art = yaml.safe_load((base / "ART.yaml").read_text())
        self.mapping_doc = yaml.safe_load((base / "map.yaml").read_text())
        self.changes: dict[str, object] = {}

    @property
    def mapping(self) -> list[dict]:
        return self.mapping_doc["mapping"]

    @property
    def instance(self) -> dict:
        return self.inputs["problem"]["instance"]

    def _storage(self) -> dict[str, dict]:
        """Storage level name -> its attributes, walking the architecture tree."""
        found: dict[str, dict] = {}

        def walk(node: dict) -> None:
            for local in node.get("local") or []:
                if local.get("class") != "compute":
                    found[local["name"]] = local.setdefault("attributes", {})
            for child in node.get("subtree") or []:
                walk(child)

        for top in self.inputs["architecture"]["subtree"]:
            walk(top)
        return found

    def _entries(self) -> list[tuple[dict, dict[str, int]]]:
        return [(e, _factors(e["factors"])) for e in _loop_entries(self.mapping)]

    def _write_factors(self, entries: list[tuple[dict, dict[str, int]]]) -> None:
        for entry, factors in entries:
            entry["factors"] = _factor_text(factors)

    # ------------------------------------------------------------------ axes
    def shape(self) -> None:
        """A ResNet-50/BERT GEMM; every non-outer factor becomes gcd(old, what is left), so
        no tile grows, and the rest goes to DRAM (M, N) or the K-iterating RF loop (K)."""
        M, N, K = self.rng.choice(gemm_shapes())
        sizes = {"M": M, "N": N, "K": K}
        entries = self._entries()
        outer = _outermost_temporal(self.mapping)
        k_home = next((e for e, f in entries if e["type"] == "temporal" and f["K"] > 1), outer)
        for dim in DIMS:
            left = sizes[dim]
            home = k_home if dim == "K" else outer
            for entry, factors in entries:
                if entry is home:
                    continue
                factors[dim] = math.gcd(factors[dim], left)
                left //= factors[dim]
            next(f for e, f in entries if e is home)[dim] = left
        self._write_factors(entries)
        self.instance.update(sizes)
        self.changes["shape"] = f"M{M}-K{K}-N{N}"

    def density(self) -> None:
        densities = self.instance.setdefault("densities", {})
        changed = {}
        for tensor in self.rng.sample(["A", "B"], self.rng.choice([1, 2])):
            if self.rng.random() < 0.5:
                entry = {
                    "density": self.rng.choice([0.125, 0.25, 0.3333, 0.5, 0.75]),
                    "distribution": "fixed-structured",
                }
            else:
                entry = {
                    "density": round(self.rng.uniform(0.1, 0.95), 3),
                    "distribution": "hypergeometric",
                }
            densities[tensor] = entry
            changed[tensor] = f"{entry['distribution']} {entry['density']}"
        self.changes["density"] = changed
        self._fit_spatial_fanout()

    def _compacted_density(self, tensor: str) -> float:
        """The fraction of a spatial fibre of ``tensor`` Timeloop provisions instances for:
        a fixed-structured tensor with a compressed format needs only its nonzeros, anything
        else needs the whole fibre (the maximum of a hypergeometric fibre is the fibre)."""
        entry = self.instance.get("densities", {}).get(tensor)
        targets = (self.inputs.get("sparse_optimizations") or {}).get("targets") or []
        compressed = any(
            space["name"] == tensor
            for target in targets
            for space in (target.get("representation-format") or {}).get("data-spaces") or []
        )
        if entry and compressed and entry["distribution"] == "fixed-structured":
            return float(entry["density"])
        return 1.0

    def _fit_spatial_fanout(self) -> None:
        """A denser or unstructured weight tensor needs more instances along the spatial K
        of the fig15 mappings (sized for N:M compaction); halve that K into the level's
        temporal loop until the X fan-out (child meshX over the level's meshX) holds it."""
        storage = self._storage()
        names = list(storage)
        entries = self._entries()
        for entry, factors in entries:
            if entry["type"] != "spatial" or names.index(entry["target"]) + 1 >= len(names):
                continue
            child = storage[names[names.index(entry["target"]) + 1]]
            width = int(child.get("meshX", 1)) // int(storage[entry["target"]].get("meshX", 1))
            x_dims = entry["permutation"][: entry.get("split", len(DIMS))]
            home = next(
                f for e, f in entries if e["type"] == "temporal" and e["target"] == entry["target"]
            )
            while "K" in x_dims and factors["K"] > 1:
                extent = math.prod(factors[d] for d in x_dims if d != "K")
                if extent * math.ceil(factors["K"] * self._compacted_density("A")) <= width:
                    break
                prime = _prime_factors(factors["K"])[0]
                factors["K"] //= prime
                home["K"] *= prime
        self._write_factors(entries)

    def retile(self) -> None:
        """Move one prime factor of one dimension between two temporal loops."""
        entries = [(e, f) for e, f in self._entries() if e["type"] == "temporal"]
        for _ in range(20):
            dim = self.rng.choice(DIMS)
            sources = [(e, f) for e, f in entries if f[dim] > 1]
            if not sources:
                continue
            src_entry, src = self.rng.choice(sources)
            dst_entry, dst = self.rng.choice([(e, f) for e, f in entries if e is not src_entry])
            prime = self.rng.choice(_prime_factors(src[dim]))
            src[dim] //= prime
            dst[dim] *= prime
            self._write_factors(entries)
            self.changes["retile"] = (
                f"{dim}x{prime} from {src_entry['target']} to {dst_entry['target']}"
            )
            return

    def permutation(self) -> None:
        entries = [e for e in _loop_entries(self.mapping) if e["type"] == "temporal"]
        entry = self.rng.choice(entries)
        order = list(DIMS)
        self.rng.shuffle(order)
        entry["permutation"] = "".join(order)
        self.changes["permutation"] = f"{entry['target']} {entry['permutation']}"

    def spatial(self) -> None:
        """Trade one prime factor between a spatial loop and a temporal loop of its level or
        the level above (shrinking or growing the spatial use within the fan-out)."""
        entries = self._entries()
        spatial = [(e, f) for e, f in entries if e["type"] == "spatial"]
        entry, factors = self.rng.choice(spatial)
        index = next(i for i, (e, _) in enumerate(entries) if e is entry)
        temporal = [(e, f) for e, f in entries[index + 1 :] if e["type"] == "temporal"][:2]
        other_entry, other = self.rng.choice(temporal)
        for _ in range(20):
            dim = self.rng.choice(DIMS)
            grow = self.rng.random() < 0.5
            src, dst = (other, factors) if grow else (factors, other)
            if src[dim] == 1:
                continue
            prime = self.rng.choice(_prime_factors(src[dim]))
            src[dim] //= prime
            dst[dim] *= prime
            self._write_factors(entries)
            direction = "into" if grow else "out of"
            self.changes["spatial"] = (
                f"{dim}x{prime} {direction} {entry['target']} spatial "
                f"(from/to {other_entry['target']} temporal)"
            )
            return

    def bypass(self) -> None:
        targets = {e["target"]: e for e in self.mapping if e["type"] in ("datatype", "bypass")}
        choices = []
        for level, entry in targets.items():
            if level == "DRAM":
                continue
            for tensor in ("A", "B", "Z"):
                keeping = tensor in (entry.get("keep") or [])
                if keeping and len(entry["keep"]) > 1:
                    choices.append((level, tensor, False))
                elif not keeping and level != "LRF":
                    choices.append((level, tensor, True))
        level, tensor, keep = self.rng.choice(choices)
        entry = targets[level]
        keep_list = [t for t in entry.get("keep") or [] if t != tensor]
        bypass_list = [t for t in entry.get("bypass") or [] if t != tensor]
        (keep_list if keep else bypass_list).append(tensor)
        entry["keep"], entry["bypass"] = sorted(keep_list), sorted(bypass_list)
        self.changes["bypass"] = f"{level} {'keeps' if keep else 'bypasses'} {tensor}"

    def energy(self) -> None:
        """Scale every non-zero ERT entry by its own factor in [0.5, 2] (log-uniform)."""
        for table in self.ert["ERT"]["tables"]:
            for action in table["actions"]:
                if action["energy"]:
                    factor = math.exp(self.rng.uniform(-math.log(2), math.log(2)))
                    action["energy"] = float(f"{action['energy'] * factor:.6g}")
        self.changes["energy"] = "every ERT entry scaled by its own factor in [0.5, 2]"

    def bandwidth(self) -> None:
        storage = self._storage()
        changed = {}
        for level in self.rng.sample(sorted(storage), 2):
            attrs = storage[level]
            for key in ("read_bandwidth", "write_bandwidth"):
                value = self.rng.choice([2, 4, 8, 16, 21, 32, 42, 64, 128])
                attrs[key] = value
                changed[f"{level}.{key}"] = value
        self.changes["bandwidth"] = changed

    def capacity(self) -> None:
        storage = self._storage()
        level = self.rng.choice([n for n, a in storage.items() if "data_storage_depth" in a])
        attrs = storage[level]
        attrs["data_storage_depth"] = int(
            attrs["data_storage_depth"] * self.rng.choice([0.5, 2, 4])
        )
        self.changes["capacity"] = f"{level}.data_storage_depth={attrs['data_storage_depth']}"

    def saf(self) -> None:
        """Turn one skipping-spatial optimisation into gating or skipping, or add gating or
        skipping of B conditioned on A at an inner level that keeps both."""
        sparse = self.inputs.setdefault("sparse_optimizations", {})
        targets = sparse.setdefault("targets", [])
        kind = self.rng.choice(["gating", "skipping"])
        existing = [
            (target, action)
            for target in targets
            for action in target.get("action-optimization") or []
        ]
        if existing and self.rng.random() < 0.5:
            target, action = self.rng.choice(existing)
            self.changes["saf"] = f"{target['name']}: {action['target']} {action['type']} -> {kind}"
            action["type"] = kind
            return
        keeps = [
            e["target"]
            for e in self.mapping
            if e["type"] in ("datatype", "bypass")
            and e["target"] != "DRAM"
            and {"A", "B"} <= set(e.get("keep") or [])
        ]
        level = self.rng.choice(keeps or ["DRAM"])
        entry = next((t for t in targets if t["name"] == level), None)
        if entry is None:
            entry = {"name": level}
            targets.append(entry)
        entry.setdefault("action-optimization", []).append(
            {"type": kind, "target": "B", "condition-on": ["A"]}
        )
        self.changes["saf"] = f"{level}: {kind} B on A"

    # ------------------------------------------------------------------ output
    def finish(self) -> None:
        """Keep ``stream`` to kept tensors only (see the module docstring)."""
        for entry in self.mapping:
            if "stream" in entry:
                keep = entry.get("keep") or []
                entry["stream"] = [t for t in entry["stream"] if t in keep]

    def write(self, out: Path, meta: dict) -> None:
        out.mkdir(parents=True)
        documents = {
            "aggregated_input.yaml": self.inputs,
            "ERT.yaml": self.ert,
            "ART.yaml": self.art,
            "map.yaml": self.mapping_doc,
        }
        for name, data in documents.items():
            (out / name).write_text(yaml.safe_dump(data, sort_keys=False))
        (out / "meta.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))


def _pick_axes(rng: random.Random) -> list[str]:
    """One to three distinct axes; density is twice as likely as the others (it is where
    the sparse semantics live)."""
    count = rng.choice([1, 1, 2, 2, 3])
    weights = [2 if axis == "density" else 1 for axis in AXES]
    axes: set[str] = set()
    while len(axes) < count:
        axes.add(rng.choices(AXES, weights)[0])
    return sorted(axes, key=AXES.index)


def trim_component_library(inputs: dict) -> dict:
    """The model reads architecture, problem, sparse optimisations (and mapping); the
    compound-component library only matters to Accelergy, which the ERT replaces."""
    return {k: v for k, v in inputs.items() if k != "compound_components"}


def generate(seed: int, count: int, out: Path, start: int = 0) -> list[Path]:
    """Cases ``start .. start+count-1`` of the sequence for ``seed``; each case's choices
    depend only on (seed, index), so a case can be regenerated alone."""
    bases = base_cases()
    written = []
    for index in range(start, start + count):
        rng = random.Random(f"{seed}-{index}")
        base = bases[rng.randrange(len(bases))]
        builder = CaseBuilder(base, rng)
        builder.inputs = trim_component_library(builder.inputs)
        axes = _pick_axes(rng)
        for axis in axes:
            getattr(builder, axis)()
        if rng.random() < SAF_PROBABILITY:
            builder.saf()
            axes = [*axes, SAF_AXIS]
        builder.finish()
        design = DESIGN_ABBREVIATIONS[base.name]
        case_id = f"s{seed}-{index:03d}-{design}-{'-'.join(axes)}"
        meta = {
            "seed": seed,
            "index": index,
            "base": str(base.relative_to(FIG15)),
            "design": design,
            "axes": axes,
            "changes": builder.changes,
        }
        target = out / case_id
        if target.exists():
            shutil.rmtree(target)
        builder.write(target, meta)
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="sequence number (default 1)")
    parser.add_argument("--count", type=int, default=200, help="number of cases")
    parser.add_argument("--start", type=int, default=0, help="index of the first case")
    parser.add_argument("--out", type=Path, required=True, help="folder to write cases into")
    args = parser.parse_args()
    for path in generate(args.seed, args.count, args.out, args.start):
        print(path)


if __name__ == "__main__":
    main()
