"""``sparsim evaluate`` on many cases in one process: names as arguments or on stdin."""

from __future__ import annotations

import io
import json
from pathlib import Path

from sparsim.cli import main

CASES = Path(__file__).parent / "timeloop_cases"


def _json_lines(capsys, argv: list[str]) -> list[dict]:
    assert main(argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_names_on_stdin_evaluate_as_arguments_do(capsys, monkeypatch):
    first, second = str(CASES / "gate-z-on-a-rf"), str(CASES / "hyper1.0-k16")
    given = _json_lines(capsys, ["evaluate", first, second, "--json"])
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{second}\n\n  {first}  \n"))
    read = _json_lines(capsys, ["evaluate", "-", "--json"])
    assert [row["case"] for row in read] == [second, first]
    assert read == given[::-1]
    assert given[0]["energy_uJ"] != given[1]["energy_uJ"]


def test_empty_stdin_is_an_error(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["evaluate", "-"]) == 2
    assert "no case directories or spec files on standard input" in capsys.readouterr().err
