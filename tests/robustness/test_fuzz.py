"""Fuzzing both importers and the CLI: whatever the mutation, a clean typed error or a finite,
non-negative result; never another exception, never a hang.

Mutations replace one value anywhere in a valid input (the example spec, a small
Sparseloop case of our own, a fig15 case when ../shared is there) by a value of another
kind, delete a key, add an unknown one, or corrupt the file's bytes. The default run takes
a few hundred examples; ``-m slow`` runs thousands.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparsim.cli import main
from sparsim.errors import SparsimError
from sparsim.evaluate import evaluate, load
from tests.robustness.conftest import FIG15_CASE, SMALL_CASE, deadline, run_cli
from tests.robustness.corpus import EXAMPLE, ODD_SCALARS, key_paths

EXAMPLE_DEADLINE_S = 10  # one load and evaluation takes well under 0.2 s
FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
SLOW = settings(FAST, max_examples=1000, derandomize=False)


ODD_VALUES = st.one_of(
    st.sampled_from(ODD_SCALARS),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one change at a drawn key path."""
    paths = key_paths(document)
    path = draw(st.sampled_from(paths))
    copy = yaml.safe_load(yaml.safe_dump(document))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add key"]))
    if action == "delete":
        del parent[path[-1]]
    elif action == "add key" and isinstance(parent[path[-1]], dict):
        parent[path[-1]][draw(st.sampled_from(["extra", "levels", "keep", "name"]))] = draw(
            ODD_VALUES
        )
    else:
        parent[path[-1]] = draw(ODD_VALUES)
    return copy


def _check_numbers(node: Any, where: str = "result") -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _check_numbers(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_numbers(value, f"{where}[{i}]")
    elif isinstance(node, int | float) and not isinstance(node, bool):
        assert math.isfinite(node) and node >= 0, f"{where} = {node}"


def _clean_or_finite(path: Path) -> str:
    """Load and evaluate ``path``: a SparsimError, or a result whose numbers are all finite
    and non-negative. Any other exception (or a hang) fails the test."""
    with deadline(EXAMPLE_DEADLINE_S):
        try:
            result = evaluate(load(path))
        except SparsimError as exc:
            assert str(exc).strip() and "\n" not in str(exc), repr(exc)
            return "error"
    _check_numbers(result.to_dict())
    return "result"


def _write_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


EXAMPLE_DATA = yaml.safe_load(EXAMPLE.read_text())


def _fuzz_spec(tmp_path: Path, document: Any) -> None:
    target = tmp_path / "spec.yaml"
    _write_yaml(target, document)
    _clean_or_finite(target)


@FAST
@given(document=mutated(EXAMPLE_DATA))
def test_fuzz_spec_yaml(tmp_path: Path, document: Any) -> None:
    _fuzz_spec(tmp_path, document)


@pytest.mark.slow
@SLOW
@given(document=mutated(EXAMPLE_DATA))
def test_fuzz_spec_yaml_long(tmp_path: Path, document: Any) -> None:
    _fuzz_spec(tmp_path, document)


CASE_FILES = ("aggregated_input.yaml", "ERT.yaml", "map.yaml")


def _case_documents(case: Path) -> dict[str, Any]:
    return {name: yaml.safe_load((case / name).read_text()) for name in CASE_FILES}


SMALL_DOCUMENTS = _case_documents(SMALL_CASE)


@st.composite
def mutated_case(draw: st.DrawFn, documents: dict[str, Any]) -> tuple[str, Any]:
    name = draw(st.sampled_from(CASE_FILES))
    return name, draw(mutated(documents[name]))


def _fuzz_case(source: Path, tmp_path: Path, change: tuple[str, Any]) -> None:
    case = tmp_path / "case"
    shutil.rmtree(case, ignore_errors=True)
    shutil.copytree(source, case, ignore=shutil.ignore_patterns("output"))
    name, document = change
    _write_yaml(case / name, document)
    _clean_or_finite(case)


def test_small_case_is_valid() -> None:
    """The fuzzing's starting point evaluates (else every mutation would be an error)."""
    assert _clean_or_finite(SMALL_CASE) == "result"


@FAST
@given(change=mutated_case(SMALL_DOCUMENTS))
def test_fuzz_small_sparseloop_case(tmp_path: Path, change: tuple[str, Any]) -> None:
    _fuzz_case(SMALL_CASE, tmp_path, change)


@pytest.mark.slow
@SLOW
@given(change=mutated_case(SMALL_DOCUMENTS))
def test_fuzz_small_sparseloop_case_long(tmp_path: Path, change: tuple[str, Any]) -> None:
    _fuzz_case(SMALL_CASE, tmp_path, change)


FIG15_DOCUMENTS = _case_documents(FIG15_CASE) if FIG15_CASE.is_dir() else None
needs_fig15 = pytest.mark.skipif(
    FIG15_DOCUMENTS is None,
    reason=f"Sparseloop reference data not found at {FIG15_CASE} (../shared absent)",
)


@needs_fig15
@FAST
@given(data=st.data())
def test_fuzz_fig15_case(tmp_path: Path, data: st.DataObject) -> None:
    _fuzz_case(FIG15_CASE, tmp_path, data.draw(mutated_case(FIG15_DOCUMENTS)))


@needs_fig15
@pytest.mark.slow
@SLOW
@given(data=st.data())
def test_fuzz_fig15_case_long(tmp_path: Path, data: st.DataObject) -> None:
    _fuzz_case(FIG15_CASE, tmp_path, data.draw(mutated_case(FIG15_DOCUMENTS)))


@FAST
@given(
    data=st.binary(max_size=200),
    name=st.sampled_from(["spec.yaml", "case/map.yaml", "case/ERT.yaml"]),
)
def test_fuzz_bytes(tmp_path: Path, data: bytes, name: str) -> None:
    """Arbitrary bytes in a spec or in one file of a case."""
    case = tmp_path / "case"
    shutil.rmtree(case, ignore_errors=True)
    shutil.copytree(SMALL_CASE, case)
    (tmp_path / "spec.yaml").write_bytes(EXAMPLE.read_bytes())
    (tmp_path / name).write_bytes(data)
    _clean_or_finite(tmp_path / name.split("/")[0])


# --- the command line ---------------------------------------------------------------------

OPTION_VALUES = st.sampled_from(
    ["0", "-1", "1", "nan", "inf", "1e3", "2:4", "5:4", "0:0", "A=2:4", "B=0.3", "Q=1", "",
     "M=1,K=1,N=1", "M=0,K=1,N=1", "M=3,K=5,N=7", "M=999999999999,K=2,N=2", "x" * 300, "a=b=c"]
)  # fmt: skip
COMMANDS = st.sampled_from(
    [
        ["evaluate", "--design", "stc"],
        ["evaluate", "--design", "dstc"],
        ["evaluate", "--design", "ttc-stc-m4"],
        ["compare", "--designs", "tc,stc"],
        ["tasd", "decompose", "--random", "8x8"],
        ["tasd", "patterns"],
    ]
)
OPTIONS = st.sampled_from(
    ["--gemm", "--density", "--series", "--max-terms", "--axis", "--seed", "--density",
     "--hardware", "--designs", "--random"]
)  # fmt: skip


@FAST
@given(
    command=COMMANDS,
    options=st.lists(st.tuples(OPTIONS, OPTION_VALUES), max_size=4),
)
def test_fuzz_cli(capsys: pytest.CaptureFixture[str], command: list[str], options: list) -> None:
    """Random options and values: exit 0, or exit 2 with one line; never a traceback."""
    argv = [*command, *(f"{option}={value}" for option, value in options)]
    code, out, err = run_cli(argv, capsys)
    assert "Traceback" not in err
    if code == 0:
        assert "nan" not in out.lower().split() and "inf" not in out.lower().split()
    else:
        assert code == 2 and out == "", (argv, code, err)
        assert len(err.strip().splitlines()) == 1, (argv, err)


def test_debug_still_shows_the_error(tmp_path: Path) -> None:
    """--debug re-raises (the corpus relies on it to see the error's type)."""
    with pytest.raises(SparsimError):
        main(["--debug", "evaluate", str(tmp_path / "missing.yaml")])
