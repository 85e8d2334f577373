"""The README's Python examples run as written, each on its own, from the repository root."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
# The examples promise figures in their comments ("# 160.49 uJ, 73,728 cycles"): each
# number printed with a decimal point or thousands separators must appear in the output.
PROMISED = re.compile(r"#\s*([\d,]+\.\d+|\d{1,3}(?:,\d{3})+) ")


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_readme_python_example_runs_on_its_own(number, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = BLOCKS[number]
    exec(compile(code, f"README.md python block {number + 1}", "exec"), {})
    out = capsys.readouterr().out
    assert out.strip(), "every README example prints what it shows"
    for line in code.splitlines():
        if "#" in line and "print(" in line:
            for figure in PROMISED.findall(line.split("#", 1)[1] + " "):
                assert figure.replace(",", "") in out.replace(",", ""), (figure, out)
