"""Every case of the bad-input corpus: the right typed error, one line, exit code 2, nothing
written, no traceback, within the deadline."""

from __future__ import annotations

from pathlib import Path

import pytest

import sparsim.errors
from sparsim.cli import main
from tests.robustness.conftest import DEADLINE_S, deadline, run_cli, tree
from tests.robustness.corpus import CASES, Case, materialise


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    materialise(folder)
    return folder


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_cleanly(case: Case, inputs: Path, capsys) -> None:
    before = tree(inputs)
    code, out, err = run_cli(case.resolved(inputs), capsys)
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sparsim: error:"), err
    assert tree(inputs) == before  # nothing written, nothing half-written


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_raises_its_typed_error(case: Case, inputs: Path) -> None:
    expected = getattr(sparsim.errors, case.error)
    with deadline(DEADLINE_S), pytest.raises(sparsim.errors.SparsimError) as info:
        main(["--debug", *case.resolved(inputs)])
    assert isinstance(info.value, expected), f"{type(info.value).__name__}: {info.value}"
    assert info.value.where, f"no location in {info.value}"
