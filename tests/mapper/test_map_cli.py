"""``sparsim map``: a user's own accelerator (own level names, own constraints) maps and
evaluates from one YAML file; --json, --save-spec, errors."""

from __future__ import annotations

import json

import pytest
import yaml

import sparsim
from sparsim.cli import main
from sparsim.designs.mapper import map_spec

from .conftest import TINY_ARCHITECTURE

USER_SPEC = {
    "workload": {"kind": "gemm", "name": "layer", "M": 8, "N": 4, "K": 6},
    "architecture": TINY_ARCHITECTURE,
    "densities": {"A": {"distribution": "fixed-structured", "density": 0.5}},
    "sparse_optimizations": [
        {
            "level": "Backing",
            "formats": {"A": [{"format": "UOP"}] * 3 + [{"format": "CP", "metadata_word_bits": 2}]},
        },
        {
            "level": "Scratchpad",
            "formats": {"A": [{"format": "UOP"}, {"format": "CP", "metadata_word_bits": 2}]},
        },
        {
            "level": "PEBuffer",
            "actions": [{"type": "skipping", "target": "B", "condition_on": ["A"]}],
        },
    ],
    "architecture_constraints": {
        "targets": [
            {"target": "Backing", "type": "temporal", "factors": "K=1", "permutation": "K"},
            {"target": "Scratchpad", "type": "spatial", "factors": "M=2"},
            {"target": "PEBuffer", "type": "bypass", "keep": ["Z"], "bypass": ["A", "B"]},
        ]
    },
}


@pytest.fixture
def user_spec(tmp_path):
    path = tmp_path / "accelerator.yaml"
    path.write_text(yaml.safe_dump(USER_SPEC))
    return path


def test_user_architecture_maps_and_evaluates_from_one_file(user_spec, tmp_path, capsys):
    saved = tmp_path / "mapped.yaml"
    assert main(["map", str(user_spec), "--json", "--save-spec", str(saved)]) == 0
    mapped = json.loads(capsys.readouterr().out)
    assert {"case", "cycles", "energy_uJ", "computes", "levels", "mapping"} <= set(mapped)
    levels = {lm["level"]: lm for lm in mapped["mapping"]["levels"]}
    assert levels["Scratchpad"]["spatial"]["M"] == 2
    assert levels["PEBuffer"]["keep"] == ["Z"]
    assert levels["Backing"]["temporal"].get("K", 1) == 1
    assert main(["evaluate", str(saved), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert (evaluated["energy_uJ"], evaluated["cycles"]) == (mapped["energy_uJ"], mapped["cycles"])
    assert evaluated["levels"] == mapped["levels"]


def test_text_output_reports_the_search(user_spec, capsys):
    assert main(["map", str(user_spec), "--top-k", "2", "--objective", "energy"]) == 0
    out = capsys.readouterr().out
    assert "mapspace:" in out and "scored with the full model" in out and "#2:" in out


def test_constraints_option_replaces_the_files_own(user_spec, tmp_path, capsys):
    other = tmp_path / "c.yaml"
    other.write_text(
        yaml.safe_dump(
            {
                "mapspace_constraints": [
                    {"target": "Scratchpad", "type": "spatial", "factors": "M=1 N=1 K=1"}
                ]
            }
        )
    )
    assert main(["map", str(user_spec), "--constraints", str(other), "--json"]) == 0
    levels = {lm["level"]: lm for lm in json.loads(capsys.readouterr().out)["mapping"]["levels"]}
    assert not levels["Scratchpad"].get("spatial")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--objective", "speed"], "objective"),
        (["--top-k", "0"], "--top-k"),
        (["--save-spec", "x.yaml", "SELF"], "--save-spec"),
    ],
)
def test_bad_options_are_one_line_errors(user_spec, capsys, extra, words):
    extra = [str(user_spec) if e == "SELF" else e for e in extra]
    inputs = [str(user_spec), *(e for e in extra if e == str(user_spec))]
    options = [e for e in extra if e != str(user_spec)]
    assert main(["map", *inputs, *options]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_unknown_level_in_constraints_is_one_line(user_spec, tmp_path, capsys):
    data = dict(
        USER_SPEC, mapspace_constraints=[{"target": "SMEM", "type": "temporal", "factors": "M=1"}]
    )
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["map", str(path)]) == 2
    assert "unknown level 'SMEM'" in capsys.readouterr().err


def test_sparsim_map_is_the_mapper():
    assert sparsim.map is map_spec
