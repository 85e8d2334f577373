"""The examples of docs/tasd.md and the package docstring run as written."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import sparsim.tasd

DOC = Path(__file__).resolve().parents[2] / "docs" / "tasd.md"


def test_package_docstring_example():
    results = doctest.testmod(sparsim.tasd, verbose=False)
    assert results.attempted > 0 and results.failed == 0


@pytest.mark.skipif(not DOC.exists(), reason="docs/tasd.md is not in this checkout")
def test_python_examples_in_the_docs_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 8
    namespace: dict = {}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/tasd.md python block {number}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "4:8+1:8" in out and "0.1875" in out
