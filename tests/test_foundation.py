"""The shared plumbing: one-line errors, key paths, atomic outputs, the workload lowering."""

from __future__ import annotations

import pytest

from sparsim.cli import main
from sparsim.errors import SparsimError
from sparsim.io import atomic_output_dir, load_yaml
from sparsim.spec.validation import validate
from sparsim.spec.workload import Conv, Gemm, parse_gemm_shape


def test_malformed_yaml_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\nb: 3\n")
    with pytest.raises(SparsimError) as info:
        load_yaml(bad)
    assert str(bad) in str(info.value)
    assert "malformed YAML" in str(info.value)


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(SparsimError, match="file not found"):
        load_yaml(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "# header\nlibrary:\n  big: [1, 2]\nwanted:\n  a: 1\n  b: [x, y]\nother: 3\n",
        "library: {x: 1}\nwanted: {a: 1, b: [x, y]}\n",
        # An alias into a skipped block: the cut text does not parse, the whole file does.
        "library: &lib {a: 1, b: [x, y]}\nwanted: *lib\n",
        # Not a plain block mapping: parsed whole.
        "---\nwanted: {a: 1, b: [x, y]}\nlibrary: 2\n",
    ],
)
def test_only_keys_gives_the_same_wanted_blocks(tmp_path, text):
    path = tmp_path / "input.yaml"
    path.write_text(text)
    assert load_yaml(path, only_keys=("wanted",))["wanted"] == {"a": 1, "b": ["x", "y"]}
    assert load_yaml(path, only_keys=("wanted",))["wanted"] == load_yaml(path)["wanted"]


def test_only_keys_still_reports_malformed_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("wanted: [1, 2\nb: 3\n")
    with pytest.raises(SparsimError, match="malformed YAML"):
        load_yaml(bad, only_keys=("wanted",))


def test_unwritable_output_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SparsimError, match="cannot write here"), atomic_output_dir(blocker / "out"):
        pass


def test_validation_error_names_key_path():
    with pytest.raises(SparsimError) as info:
        validate(Gemm, {"M": 4, "N": -1, "K": 2}, "spec.yaml")
    assert str(info.value).startswith("spec.yaml: N:")


def test_unknown_key_is_reported():
    with pytest.raises(SparsimError, match=r"spec\.yaml: Q: unknown key"):
        validate(Gemm, {"M": 4, "N": 1, "K": 2, "Q": 3}, "spec.yaml")


def test_atomic_output_dir_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_output_dir(out) as scratch:
        (scratch / "table.csv").write_text("x")
        raise RuntimeError("boom")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_atomic_output_dir_publishes_on_success(tmp_path):
    out = tmp_path / "out"
    with atomic_output_dir(out) as scratch:
        (scratch / "table.csv").write_text("x")
    assert (out / "table.csv").read_text() == "x"


def test_conv_lowering_matches_im2col():
    conv = Conv(C=64, out_channels=128, P=28, Q=28, R=3, S=3, batch=2)
    gemm = conv.as_gemm()
    assert (gemm.M, gemm.K, gemm.N, gemm.count) == (128, 64 * 9, 2 * 28 * 28, 1)
    assert conv.macs == 128 * 64 * 9 * 2 * 28 * 28


def test_depthwise_conv_is_repeated_gemm():
    gemm = Conv(C=32, out_channels=32, P=7, Q=7, R=3, S=3, groups=32).as_gemm()
    assert (gemm.M, gemm.K, gemm.N, gemm.count) == (1, 9, 49, 32)


def test_parse_gemm_shape():
    gemm = parse_gemm_shape("M=512,K=256,N=1024")
    assert (gemm.M, gemm.N, gemm.K) == (512, 1024, 256)
    with pytest.raises(SparsimError, match="--gemm: missing N"):
        parse_gemm_shape("M=1,K=2")


def test_cli_without_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: sparsim" in capsys.readouterr().out
