"""The analyses the engine remembers between evaluations (a level's fan-out, a tile's
visits, rank layouts, rank units) are pure functions of their keys: a result is the same
to the last bit whatever was evaluated before it, with the memories cold or warm."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparsim.analysis import dense, formats
from sparsim.designs import build
from sparsim.errors import MappingError
from sparsim.evaluate import evaluate, load
from sparsim.spec.sparsity import parse_density
from sparsim.spec.workload import Conv, Gemm

CASES = Path(__file__).parent / "timeloop_cases"
LIBRARY = Path(__file__).parents[2] / "src" / "sparsim" / "designs" / "library"
BUILT = [
    ("stc-flexible", (512, 1024, 256), {"A": "2:8", "B": "0.5"}),
    ("stc-flexible", (512, 1024, 256), {"A": "2:4", "B": "0.5"}),
    ("dstc", (128, 1152, 1024), {"A": "0.25", "B": "0.5"}),
    ("dstc", (128, 1152, 1024), {"A": "0.5", "B": "1.0"}),
    ("stc-flexible-rle", (64, 128, 512), {"A": "0.5", "B": "0.3"}),
    ("tc", (512, 128, 1024), {}),
]


def _forget() -> None:
    formats._UNITS.clear()
    formats._LAYOUTS.clear()
    dense._feed.cache_clear()
    dense._visits.cache_clear()


def _specs():
    specs = [load(case) for case in sorted(CASES.iterdir()) if case.is_dir()]
    for design, (m, k, n), densities in BUILT:
        specs.append(build(design, Gemm(name="g", M=m, K=k, N=n), densities))
    # What shares a mapping must not share its answers: another mesh (the dense analysis
    # reads it), another density, another stride of a convolution.
    spec = specs[-2]
    levels = spec.architecture.levels
    at = next(
        i for i, level in enumerate(levels) if level.mesh_x and level.mesh_x < level.instances
    )
    wider = levels[at].model_copy(update={"mesh_x": levels[at].instances})
    architecture = spec.architecture.model_copy(
        update={"levels": [*levels[:at], wider, *levels[at + 1 :]]}
    )
    specs.append(spec.model_copy(update={"architecture": architecture}))
    specs.append(spec.model_copy(update={"densities": {"A": parse_density("0.25")}}))
    conv = Conv(name="c", C=8, out_channels=16, P=8, Q=8, R=3, S=3)
    specs.append(build(LIBRARY / "eyeriss-like.yaml", conv))
    specs.append(specs[-1].model_copy(update={"workload": conv.model_copy(update={"stride": 2})}))
    return specs


def _answer(spec):
    try:
        return evaluate(spec)
    except MappingError as exc:
        return str(exc)


@pytest.mark.parametrize("order", ["same", "reversed"])
def test_results_do_not_depend_on_what_was_evaluated_before(order: str) -> None:
    specs = _specs()
    cold = []
    for spec in specs:
        _forget()
        cold.append(_answer(spec))
    warm_order = range(len(specs)) if order == "same" else reversed(range(len(specs)))
    for index in warm_order:  # the memories now hold every other spec's analyses
        assert _answer(specs[index]) == cold[index], index
    assert len({repr(answer) for answer in cold}) > len(specs) // 2  # not all alike
    assert cold[-4] != cold[-5] and cold[-1] != cold[-2]  # the variants answer differently
