"""Speed of the TASD decomposition (prints figures; not a test).

Decomposes a 4096x4096 float32 tensor with 50% random zeros into 2:4+2:8 and 4:8+1:8 and
prints GB/s per term (input bytes / time per term), next to a naive torch topk + scatter
implementation of the same greedy rule. Target: >= 1 GB/s per term on 2 cores.

    python benchmarks/bench_tasd.py [--size 4096] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from sparsim.tasd import decompose, parse_series

SERIES = ("2:4+2:8", "4:8+1:8")


def naive_torch(x: torch.Tensor, series: str) -> list[torch.Tensor]:
    """Greedy decomposition with topk + scatter, one term after the other.

    Positions kept by an earlier term get magnitude -1 so they are not picked again (the
    same rule as sparsim's kernel); topk's choice among equal magnitudes is unspecified.
    """
    residual = x.clone()
    taken = torch.zeros_like(x, dtype=torch.bool)
    terms = []
    for pattern in parse_series(series).patterns:
        blocks = residual.view(-1, pattern.m)
        score = blocks.abs().masked_fill(taken.view(-1, pattern.m), -1.0)
        keep = torch.zeros_like(blocks, dtype=torch.bool)
        keep.scatter_(1, score.topk(pattern.n, dim=1).indices, True)
        keep = keep.view_as(x)
        terms.append(torch.where(keep, residual, 0.0))
        residual = torch.where(keep, 0.0, residual)
        taken |= keep
    return [*terms, residual]


def best_time(function, repeats: int) -> float:
    function()  # warm-up: JIT compilation, first-touch page faults
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.size, args.size), dtype=np.float32)
    x[rng.random(x.shape) < 0.5] = 0
    gigabytes = x.nbytes / 1e9
    print(
        f"{args.size}x{args.size} float32, {np.count_nonzero(x) / x.size:.1%} nonzero, "
        f"{x.nbytes / 2**20:.0f} MiB; {os.cpu_count()} CPUs, torch threads "
        f"{torch.get_num_threads()}; best of {args.repeats}; load average before "
        f"{os.getloadavg()[0]:.2f} (other processes slow everything down)"
    )
    print(f"{'series':<10} {'implementation':<22} {'total ms':>9} {'ms/term':>8} {'GB/s/term':>10}")
    tensor = torch.from_numpy(x)
    for series in SERIES:
        n_terms = parse_series(series).n_terms
        for name, run in (
            ("sparsim (numba)", lambda s=series: decompose(x, s)),
            ("naive torch topk", lambda s=series: naive_torch(tensor, s)),
        ):
            seconds = best_time(run, args.repeats)
            per_term = seconds / n_terms
            print(
                f"{series:<10} {name:<22} {1e3 * seconds:9.1f} {1e3 * per_term:8.1f} "
                f"{gigabytes / per_term:10.2f}"
            )


if __name__ == "__main__":
    main()
