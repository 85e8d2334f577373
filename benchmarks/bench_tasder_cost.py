"""Costing a TASDER configuration on the accelerator model (target: under 2 s for a
ResNet-50-sized table of 54 layers, cold cache).

The configuration gives every layer with at least 16 channels per group the series
``2:8+1:8`` on TTC-VEGETA-M8 (two structured passes per layer); each layer is evaluated on
the TTC, the dense TC and the plain design. Cold: the pass cache emptied first; warm: the
same table again (every shape cached).

    python benchmarks/bench_tasder_cost.py [--hardware TTC-VEGETA-M8] [--series 2:8+1:8]
"""

from __future__ import annotations

import argparse
import time

from sparsim.designs.ttc import evaluate_pass
from sparsim.spec.workload import Conv
from sparsim.tasder import LayerConfig, TasderConfig, cost_config
from sparsim.workload import resnet50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hardware", default="TTC-VEGETA-M8")
    parser.add_argument("--series", default="2:8+1:8")
    args = parser.parse_args()
    table = resnet50()
    layers = {
        row.name: LayerConfig(weights=args.series)
        for row in table
        if not isinstance(row.workload, Conv) or row.workload.C // row.workload.groups >= 16
    }
    config = TasderConfig(hardware=args.hardware, layers=layers)
    evaluate_pass.cache_clear()
    started = time.perf_counter()
    cost = cost_config(table, config)
    cold = time.perf_counter() - started
    shapes = evaluate_pass.cache_info().currsize
    started = time.perf_counter()
    cost_config(table, config)
    warm = time.perf_counter() - started
    summary = cost.summary()
    print(f"ResNet-50 v1.5: {len(table)} layers, {len(layers)} at {args.series} on {args.hardware}")
    print(
        f"cost_config cold: {cold:.2f} s ({shapes} distinct passes evaluated); warm: {warm:.3f} s"
    )
    print(
        f"energy TTC {summary.energy_uJ:,.0f} uJ, TC {summary.tc_energy_uJ:,.0f} uJ, "
        f"plain {summary.plain_energy_uJ:,.0f} uJ; cycles TTC {summary.cycles:,.0f}, "
        f"TC {summary.tc_cycles:,.0f}"
    )


if __name__ == "__main__":
    main()
