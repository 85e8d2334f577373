"""Bad input: one line naming file and key, exit code 2, no traceback, nothing printed on stdout."""

from __future__ import annotations

import shutil

import pytest
import yaml

from sparsim.cli import main
from tests.engine.conftest import FIG15

STC_CASE = FIG15 / "WD-0.5" / "M512-K256-N1024-IAD0.82-WD0.5" / "STC-RF2x-24-bandwidth"


@pytest.fixture
def case(tmp_path):
    if not STC_CASE.is_dir():
        pytest.skip(f"Sparseloop reference data not found at {STC_CASE} (../shared absent)")
    target = tmp_path / "case"
    shutil.copytree(STC_CASE, target, ignore=shutil.ignore_patterns("output"))
    return target


def _edit(path, change):
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def _run_error(capsys, *args) -> str:
    code = main(["evaluate", *map(str, args)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    return lines[0]


def _set_density(value):
    def change(data):
        data["problem"]["instance"]["densities"]["A"]["density"] = value

    return change


def _factor(data):
    data["mapping"][4]["factors"] = "M1 N64 K1"


def _unknown_level(data):
    data["mapping"][0]["target"] = "L9"


def _missing(data):
    del data["problem"]["instance"]["M"]


def _unknown_tensor(data):
    data["sparse_optimizations"]["targets"][2]["action-optimization"][0]["target"] = "Q"


@pytest.mark.parametrize(
    ("file", "change", "expected"),
    [
        ("aggregated_input.yaml", _missing, "problem.instance.M: missing required key"),
        ("aggregated_input.yaml", _set_density(1.5), "densities.A"),
        ("aggregated_input.yaml", _set_density(-0.1), "densities.A"),
        ("aggregated_input.yaml", _unknown_tensor, "unknown tensor 'Q'"),
        ("map.yaml", _factor, "factors of N multiply to 512, but N = 1024"),
        ("map.yaml", _unknown_level, "unknown level 'L9'"),
    ],
)
def test_case_errors(case, capsys, file, change, expected):
    _edit(case / file, change)
    line = _run_error(capsys, case)
    assert expected in line
    assert str(case) in line


def test_malformed_yaml(case, capsys):
    (case / "map.yaml").write_text("mapping: [\n  - target: DRAM\n")
    line = _run_error(capsys, case)
    assert "map.yaml" in line and "malformed YAML" in line


def test_over_capacity(case, capsys):
    def grow(data):  # a 2x larger Z tile in the RF (2048 words)
        data["mapping"][4]["factors"] = "M1 N256 K1"
        data["mapping"][9]["factors"] = "M1 N2 K1"

    _edit(case / "map.yaml", grow)
    line = _run_error(capsys, case)
    assert "over capacity at RF" in line


def test_impossible_nm_density(capsys):
    from sparsim.errors import SparsimError
    from sparsim.spec.sparsity import parse_density

    with pytest.raises(SparsimError, match="N <= M"):
        parse_density("5:4", "--density A")


def test_debug_shows_traceback(case):
    _edit(case / "map.yaml", _unknown_level)
    from sparsim.errors import SparsimError

    with pytest.raises(SparsimError):
        main(["--debug", "evaluate", str(case)])
