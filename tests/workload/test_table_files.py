"""Layer tables to YAML (sparsim's workload spec) and CSV, and back, with one-line errors."""

from __future__ import annotations

import csv

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsim.errors import SparsimError
from sparsim.spec.validation import validate
from sparsim.spec.workload import Conv, Gemm
from sparsim.workload import LayerTable, LayerWorkload, load_table, resnet50

densities = st.none() | st.floats(0.0, 1.0)


@st.composite
def layers(draw):
    count = draw(st.integers(1, 6))
    rows = []
    for index in range(count):
        if draw(st.booleans()):
            groups = draw(st.sampled_from([1, 2, 4]))
            workload = Conv(
                name=f"conv{index}",
                batch=draw(st.integers(1, 4)),
                C=4 * draw(st.integers(1, 8)),
                out_channels=4 * draw(st.integers(1, 8)),
                P=draw(st.integers(1, 30)),
                Q=draw(st.integers(1, 30)),
                R=draw(st.sampled_from([1, 3, 5])),
                S=draw(st.sampled_from([1, 3])),
                stride=draw(st.integers(1, 2)),
                groups=groups,
            )
            op = "conv2d"
        else:
            workload = Gemm(
                name=f"fc{index}",
                M=draw(st.integers(1, 999)),
                N=draw(st.integers(1, 999)),
                K=draw(st.integers(1, 999)),
                count=draw(st.integers(1, 3)),
            )
            op = draw(st.sampled_from(["linear", "matmul"]))
        measured = {
            "weight_density": draw(densities),
            "input_density": draw(densities),
            "input_density_p99": draw(densities),
            "input_pseudo_density": draw(densities),
            "input_pseudo_density_p99": draw(densities),
            "samples": draw(st.integers(0, 100)),
        }
        rows.append(LayerWorkload(workload, op, **measured))
    return LayerTable(tuple(rows))


@settings(max_examples=40, deadline=None)
@given(table=layers())
def test_csv_round_trip_keeps_everything(tmp_path_factory, table):
    path = tmp_path_factory.mktemp("csv") / "table.csv"
    table.save(path)
    loaded = load_table(path)
    assert loaded.layers == table.layers
    assert loaded.macs == table.macs


@settings(max_examples=40, deadline=None)
@given(table=layers())
def test_yaml_is_a_validated_workload_list(tmp_path_factory, table):
    path = tmp_path_factory.mktemp("yaml") / "table.yaml"
    table.save(path)
    raw = yaml.safe_load(path.read_text())
    assert isinstance(raw, list)
    for entry, layer in zip(raw, table, strict=True):
        model = Conv if entry["kind"] == "conv" else Gemm
        assert validate(model, entry) == layer.workload
    assert load_table(path).workloads == table.workloads


def test_resnet50_csv_columns(tmp_path):
    path = resnet50(batch=2).save(tmp_path / "resnet50.csv")
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 54
    first = rows[0]
    assert (first["name"], first["M"], first["K"], first["N"]) == (
        "conv1",
        "64",
        "147",
        str(2 * 112 * 112),
    )
    assert int(first["macs"]) == 64 * 147 * 2 * 112 * 112
    assert sum(int(row["macs"]) for row in rows) == resnet50(batch=2).macs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "- {kind: gemm, M: 4, N: 4, K: 4}\n- {kind: gemm, M: 4, N: 0, K: 4}\n",
            r"t\.yaml: \[1\]\.N: ",
        ),
        (
            "- {kind: conv, C: 3, out_channels: 8, P: 4, Q: 4, groups: 2}\n",
            r"\[0\]: groups=2 must divide",
        ),
        ("- {kind: fft, M: 4}\n", r"\[0\]\.kind: unknown kind 'fft'"),
        ("- {kind: gemm, M: 4, N: 4, K: 4, Z: 1}\n", r"\[0\]\.Z: unknown key"),
        ("- 3\n", r"\[0\]: expected a mapping"),
        ("{M: 4}\n", r"t\.yaml: expected a non-empty list"),
        ("- [\n", r"t\.yaml:\d+: malformed YAML"),
    ],
)
def test_bad_yaml_is_one_line(tmp_path, text, message):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(SparsimError, match=message) as info:
        load_table(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("weight_density", "1.5", r"bad\.csv:2: weight_density: expected a density in \[0, 1\]"),
        ("input_density", "lots", r"bad\.csv:2: input_density: expected a number, got 'lots'"),
        ("op", "pool", r"bad\.csv:2: unknown op 'pool'"),
        ("M", "65", r"bad\.csv:2: M='65' does not match the conv's lowering \(64\)"),
        ("R", "0", r"bad\.csv:2: R: Input should be greater than 0"),
    ],
)
def test_bad_csv_is_one_line(tmp_path, column, value, message):
    rows = list(csv.DictReader(resnet50().save(tmp_path / "good.csv").open()))
    rows[0][column] = value
    path = tmp_path / "bad.csv"
    with path.open("w") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(SparsimError, match=message):
        load_table(path)


def test_csv_without_required_column(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("name,kind,M,N,K\nx,gemm,1,1,1\n")
    with pytest.raises(SparsimError, match=r"cols\.csv: missing column 'op'"):
        load_table(path)


def test_unknown_suffix_and_duplicate_names(tmp_path):
    with pytest.raises(SparsimError, match=r"expected a \.yaml, \.yml or \.csv"):
        resnet50().save(tmp_path / "table.json")
    assert not (tmp_path / "table.json").exists()
    layer = LayerWorkload(Gemm(name="same", M=1, N=1, K=1), "linear")
    with pytest.raises(SparsimError, match="duplicate layer name 'same'"):
        LayerTable((layer, layer))
