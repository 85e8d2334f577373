"""Designs are data: a user's design file, with its own level names and no heuristic,
builds and evaluates through the mapper; bad files name the file and key."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
import yaml

from sparsim.designs import build, get_design
from sparsim.designs.catalog import design_from_data
from sparsim.errors import SpecError, UnknownNameError
from sparsim.evaluate import evaluate
from sparsim.spec.workload import Gemm

# A two-level-buffer accelerator with its own names; zero-skipping of activations at its
# PE weight buffer needs the activations' bitmask there.
DESIGN = {
    "title": "Tiny skipper",
    "description": "a 4-PE accelerator that skips zero activations",
    "architecture": {
        "name": "tiny-skipper",
        "levels": [
            {
                "name": "OffChip",
                "block_size": 4,
                "energy": {
                    "read": 200.0,
                    "write": 200.0,
                    "metadata_read": 20.0,
                    "metadata_write": 20.0,
                },
            },
            {
                "name": "Scratch",
                "data_capacity": 4096,
                "metadata_capacity_bits": 32768,
                "energy": {
                    "read": 8.0,
                    "write": 9.0,
                    "random_update": 9.0,
                    "metadata_read": 1.0,
                    "metadata_write": 1.0,
                    "gated_read": 0.1,
                    "gated_write": 0.1,
                },
            },
            {
                "name": "PERegs",
                "instances": 4,
                "data_capacity": 64,
                "decompression": True,  # receives the compressed activations
                "energy": {"read": 0.5, "write": 0.5, "random_update": 0.5, "gated_read": 0.01},
            },
        ],
        "compute": {"instances": 4, "energy": {"random": 1.0, "gated": 0.1}},
    },
    "constraints": {
        "mapspace_constraints": [{"target": "PERegs", "type": "bypass", "keep": ["A", "Z"]}]
    },
    "weights": "dense",
    "activations": "any",
    "ranks": {
        "offsets": {"format": "UOP", "payload_word_bits": 0},
        "mask": {"format": "B", "metadata_word_bits": 1},
    },
    "sparse_optimizations": [
        {
            "level": "OffChip",
            "formats": {"inputs": {"when": "sparse", "ranks": ["offsets", "mask"]}},
        },
        {
            "level": "Scratch",
            "formats": {"inputs": {"when": "sparse", "ranks": ["offsets", "mask"]}},
        },
        {
            "level": "PERegs",
            "actions": [{"type": "skipping", "target": "weights", "condition_on": ["inputs"]}],
        },
    ],
}
GEMM = Gemm(name="g", M=8, K=16, N=8)


@pytest.fixture
def design_file(tmp_path):
    path = tmp_path / "tiny-skipper.yaml"
    path.write_text(yaml.safe_dump(DESIGN))
    return path


def test_a_design_file_builds_dense_and_sparse_through_the_mapper(design_file):
    design = get_design(design_file)
    assert design.name == "tiny-skipper" and not design.has_heuristic
    dense = evaluate(build(design_file, GEMM))
    sparse_spec = build(str(design_file), GEMM, {"A": 0.5, "B": 0.25})
    sparse = evaluate(sparse_spec)
    # Weights are run dense (the design does not exploit them); activations keep 0.25.
    assert sparse_spec.densities["A"].density == 1.0
    assert sparse_spec.densities["B"].density == 0.25
    assert {o.level for o in sparse_spec.sparse_optimizations} == {"OffChip", "Scratch", "PERegs"}
    assert sparse.energy_pJ < dense.energy_pJ
    assert dense.computes.algorithmic == sparse.computes.algorithmic == 8 * 16 * 8
    # The dense build leaves the activations' formats out (``when: sparse``).
    assert all("B" not in o.formats for o in build(design_file, GEMM).sparse_optimizations)


def test_a_design_file_runs_in_compare(design_file):
    command = [sys.executable, "-m", "sparsim", "compare", "--designs", f"tc,{design_file}"]
    command += ["--gemm", "M=16,K=32,N=16", "--density", "B=0.3", "--json"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["design"] for row in rows] == ["tc", "tiny-skipper"]
    assert rows[1]["activations_as"] == "0.3" and rows[1]["cycles"] > 0


def _broken(**changes):
    data = copy.deepcopy(DESIGN)
    for key, value in changes.items():
        data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (_broken(roles={"backing-store": "DRAM"}), UnknownNameError, "roles.backing-store"),
        (
            _broken(
                sparse_optimizations=[
                    {"level": "OffChip", "formats": {"inputs": ["offsets", "bits"]}}
                ]
            ),
            SpecError,
            "unknown rank 'bits'",
        ),
        (
            _broken(sparse_optimizations=[{"level": "OffChip", "formats": {"B": ["offsets"]}}]),
            SpecError,
            "formats.B",
        ),
        (
            _broken(
                sparse_optimizations=[
                    {"level": "PERegs", "actions": [{"type": "gating", "target": "A"}]}
                ]
            ),
            SpecError,
            "unknown tensor role 'A'",
        ),
        (
            _broken(ranks={"c": {"format": "CP", "metadata_word_bits": "pattern"}}),
            SpecError,
            "runs no N:M weights",
        ),
        (_broken(weights={"patterns": {"4:2": 1}, "format": "CP"}), SpecError, "weights"),
        (_broken(dataflow="tensor-core"), SpecError, "give roles"),
        (_broken(architecture="no-such-hardware"), UnknownNameError, "no-such-hardware"),
        (_broken(colour="blue"), SpecError, "colour"),
        (
            _broken(sparse_optimizations=[{"level": "Nowhere"}]),
            UnknownNameError,
            "sparse_optimizations[0].level",
        ),
    ],
)
def test_bad_design_files_name_the_file_and_key(data, error, words):
    with pytest.raises(error) as raised:
        design_from_data("bad", data, "bad.yaml")
    assert words in str(raised.value) and "bad.yaml" in str(raised.value)


def test_missing_design_file_is_an_error(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        get_design(tmp_path / "absent.yaml")


def test_builtin_designs_can_be_mapped_by_the_mapper_on_request():
    heuristic = evaluate(build("stc", GEMM.model_copy(update={"M": 64, "K": 64, "N": 64})))
    searched = evaluate(
        build("stc", GEMM.model_copy(update={"M": 64, "K": 64, "N": 64}), objective="edp")
    )
    # The mapper's mapping is at least as good for its objective as the heuristic's.
    assert searched.energy_pJ * searched.cycles <= heuristic.energy_pJ * heuristic.cycles * (
        1 + 1e-9
    )
