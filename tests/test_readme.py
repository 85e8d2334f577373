"""The README's Python examples run as written, each on its own, from the repository's
root (their paths are relative to it); the one that trains a model is marked slow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def _marks(block: str) -> list:
    return [pytest.mark.slow] if "import torch" in block else []


@pytest.mark.parametrize(
    "number",
    [pytest.param(n, marks=_marks(block)) for n, block in enumerate(BLOCKS)],
)
def test_readme_python_example_runs_on_its_own(number, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    exec(compile(BLOCKS[number], f"README.md python block {number + 1}", "exec"), {})
    out = capsys.readouterr().out
    for promised in re.findall(r"# (cnn-layer True)$", BLOCKS[number], re.M):
        assert promised in out
