"""One TASD-A quality evaluation of MobileNetV2 on its evaluation set (target: under 30 s
on 2 cores).

MobileNetV2 (ImageNet weights) is scored as ``sparsim tasder search --model mobilenet-v2``
scores it: accuracy of a frozen ridge head on its logits, on the Fashion-MNIST validation
split at 32 x 32 (``--evaluation-size`` images, default all 5,000). Timed: the dense
evaluation, and TASD-A evaluations with every eligible layer's inputs (34 convs and the
classifier) approximated by ``--series``, terms keeping entries by magnitude and by
output impact. Each is run ``--repeat`` times; the median wall-clock time and the
process CPU time (all threads; on a machine shared with other jobs, CPU time / threads is
what the run would take alone) are printed, with the share the TASD hooks add.

    python benchmarks/bench_tasder_evaluation.py [--evaluation-size 5000]
        [--batch-size 250] [--threads 2] [--series 4:8+1:8] [--repeat 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba
import torch

from sparsim.tasder import ActivationTasd
from sparsim.tasder.models import load_real_model
from sparsim.tasder.quality import Evaluator


def timed(evaluator: Evaluator, model: torch.nn.Module, repeat: int) -> tuple[float, float, float]:
    """Median wall-clock and CPU seconds of one evaluation, and its score."""
    walls, cpus, score = [], [], 0.0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        score = evaluator.score(model)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), score


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--evaluation-size", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--series", default="4:8+1:8")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))

    started = time.perf_counter()
    real = load_real_model(
        "mobilenet-v2",
        calibration_size=32,
        evaluation_size=args.evaluation_size,
        test_size=32,
        head_size=1000,
        batch_size=args.batch_size,
    )
    model, evaluator = real.model, real.evaluator
    images = sum(len(batch) for batch in evaluator.batches)
    print(
        f"MobileNetV2 on {images:,} validation images (32 x 32) in batches of "
        f"{args.batch_size}, {args.threads} threads (torch and numba); loaded in "
        f"{time.perf_counter() - started:.0f} s; median of {args.repeat}"
    )
    # Compile the kernels outside the timings.
    warm = ActivationTasd(dict.fromkeys(real.activation_layers, args.series)).prepare(model)
    with torch.no_grad():
        model(evaluator.batches[0][:2])
    warm.remove()

    wall, cpu, score = timed(evaluator, model, args.repeat)
    print(f"dense             {wall:6.1f} s wall, {cpu:6.1f} s CPU, accuracy {score:.4f}")
    for keep in ("magnitude", "output"):
        hooks = ActivationTasd(
            dict.fromkeys(real.activation_layers, args.series), keep=keep
        ).prepare(model)
        try:
            tasd_wall, tasd_cpu, tasd_score = timed(evaluator, model, args.repeat)
        finally:
            hooks.remove()
        print(
            f"TASD-A {args.series} keep {keep:9s} {tasd_wall:6.1f} s wall, {tasd_cpu:6.1f} s "
            f"CPU (hooks {100 * (tasd_cpu / cpu - 1):+.0f}% CPU), accuracy {tasd_score:.4f} "
            f"on {len(real.activation_layers)} layers"
        )


if __name__ == "__main__":
    main()
