"""Every case of the hostile corpus (:mod:`tests.robustness.hostile`) in this process: the
right typed error naming the option or file, one line and exit code 2 on the command line,
nothing printed, nothing written or replaced, within the deadline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import sparsim.errors
from sparsim.cli import main
from tests.robustness.conftest import DEADLINE_S, deadline, run_cli, tree
from tests.robustness.hostile import CASES, PRELUDE, Case, materialise

CLI_CASES = [case for case in CASES if case.argv]
API_CASES = [case for case in CASES if case.code]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    materialise(folder)
    return folder


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _check_error(case: Case, error: BaseException, inputs: Path, out: Path) -> None:
    expected = [getattr(sparsim.errors, name) for name in case.error.split("|") if name != "usage"]
    assert isinstance(error, tuple(expected) or sparsim.errors.SparsimError), (
        f"{type(error).__name__}: {error}"
    )
    assert error.where, f"no location in {error}"
    fragments = case.resolved_where(inputs, out).split("|")
    assert any(fragment in str(error) for fragment in fragments), f"{error.where!r}: {error}"


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_command_line(case: Case, inputs: Path, out: Path, capsys) -> None:
    before = tree(inputs)
    argv = case.resolved_argv(inputs, out)
    code, stdout, err = run_cli(argv, capsys)
    assert code == 2, (stdout, err)
    assert stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sparsim: error:"), err
    assert tree(inputs) == before and os.listdir(out) == []
    if "usage" in case.error and "argument " in lines[0]:
        fragments = case.resolved_where(inputs, out).split("|")
        assert any(fragment in lines[0] for fragment in fragments)  # argparse names it
        return
    with deadline(DEADLINE_S), pytest.raises(sparsim.errors.SparsimError) as info:
        main(["--debug", *argv])
    _check_error(case, info.value, inputs, out)
    assert tree(inputs) == before and os.listdir(out) == []


@pytest.mark.parametrize("case", API_CASES, ids=[c.name for c in API_CASES])
def test_python_api(case: Case, inputs: Path, out: Path) -> None:
    before = tree(inputs)
    code = PRELUDE + case.resolved_code(inputs, out)
    with deadline(DEADLINE_S), pytest.raises(sparsim.errors.SparsimError) as info:
        exec(compile(code, case.name, "exec"), {})
    _check_error(case, info.value, inputs, out)
    assert tree(inputs) == before and os.listdir(out) == []


def test_the_corpus_is_large_and_covers_every_class() -> None:
    from tests.robustness import hostile

    classes = {case.klass for case in CASES}
    assert len(CASES) >= 300 and len({case.name for case in CASES}) == len(CASES)
    assert classes == {
        hostile.HOSTILE_FILES,
        hostile.OUTPUTS,
        hostile.NONSENSE,
        hostile.TRACEBACKS,
        hostile.API,
        hostile.COPIES,
        hostile.LIMITS,
    }
