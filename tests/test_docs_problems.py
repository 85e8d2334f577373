"""The examples of docs/problems.md run as written, each on its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "problems.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S) if DOC.exists() else []


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_python_example_runs_on_its_own(number, capsys):
    exec(compile(BLOCKS[number], f"docs/problems.md python block {number + 1}", "exec"), {})
    out = capsys.readouterr().out
    # Each block prints what its comments promise.
    for promised in re.findall(r"# (\d+|cnn-layer True)$", BLOCKS[number], re.M):
        assert promised in out


def test_every_shape_that_ships_is_in_the_table():
    from importlib import resources

    names = [
        p.name.removesuffix(".yaml")
        for p in resources.files("sparsim.spec.shapes").iterdir()
        if p.name.endswith(".yaml")
    ]
    text = DOC.read_text()
    assert names and all(f"`{name}`" in text for name in names)
