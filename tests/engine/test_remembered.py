"""The analyses the engine remembers between evaluations (a level's fan-out, a tile's visits,
rank layouts, rank units) are pure functions of their keys: a result is the same to the last
bit whatever was evaluated before it, with the memories cold or warm."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparsim.analysis import dense, formats
from sparsim.designs import build
from sparsim.errors import MappingError
from sparsim.evaluate import evaluate, load
from sparsim.spec.workload import Gemm

CASES = Path(__file__).parent / "timeloop_cases"
BUILT = [
    ("stc-flexible", (512, 1024, 256), {"A": "2:8", "B": "0.5"}),
    ("stc-flexible", (512, 1024, 256), {"A": "2:4", "B": "0.5"}),
    ("dstc", (128, 1152, 1024), {"A": "0.25", "B": "0.5"}),
    ("dstc", (128, 1152, 1024), {"A": "0.5", "B": "1.0"}),
    ("stc-flexible-rle", (64, 128, 512), {"A": "0.5", "B": "0.3"}),
    ("tc", (512, 128, 1024), {}),
]


def _forget() -> None:
    formats._UNITS_MEMO.clear()
    formats._LAYOUT_MEMO.clear()
    dense._feed.cache_clear()
    dense._visits.cache_clear()


def _specs():
    specs = [load(case) for case in sorted(CASES.iterdir()) if case.is_dir()]
    for design, (m, k, n), densities in BUILT:
        specs.append(build(design, Gemm(name="g", M=m, K=k, N=n), densities))
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
