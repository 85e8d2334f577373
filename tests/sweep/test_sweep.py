"""``sparsim sweep``: the config contract, exact rows against build + evaluate, workload and
density sources, resizes, deduplication, resumption and typed config errors."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import sparsim
from sparsim.cli import main
from sparsim.designs import build, get_design, resize
from sparsim.errors import SparsimError
from sparsim.evaluate import evaluate
from sparsim.spec.workload import Gemm, parse_gemm_shape
from sparsim.sweep import backends, pack_tasks, plan, read_store
from sparsim.sweep.points import DesignRef, Unit
from sparsim.sweep.store import stored_keys
from sparsim.workload import LayerTable, LayerWorkload

BUILTIN = Path(sparsim.__file__).parent / "designs" / "builtin"
CONTRACT = {
    "designs": ["tc", "stc", "stc-flexible", "dstc"],
    "workloads": [{"gemm": "M=64,K=64,N=32"}],
    "densities": {"A": [1.0, 0.5, "2:4"], "B": [1.0, 0.8]},
}


def _write(tmp_path, config, name="sweep.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return path


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("point_key").reset_index(drop=True)


def test_contract_config_gives_exact_rows_as_parquet(tmp_path, capsys):
    config = _write(tmp_path, {**CONTRACT, "mapping": "remap"})
    out = tmp_path / "out"
    assert main(["sweep", str(config), "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    assert capsys.readouterr().out.strip() == f"24 points in {out}"
    frame = pd.read_parquet(out)
    assert len(frame) == 24 and frame["point_key"].is_unique
    for column in ("design", "layer", "density_A", "density_B", "energy_uJ", "cycles"):
        assert column in frame.columns
    assert set(frame["density_A"]) == {"1.0", "0.5", "2:4"}
    assert set(frame["density_B"]) == {"1.0", "0.8"}
    gemm = parse_gemm_shape("M=64,K=64,N=32")
    for row in frame.itertuples():
        expected = evaluate(build(row.design, gemm, {"A": row.density_A, "B": row.density_B}))
        assert (row.energy_uJ, row.cycles) == (expected.energy_uJ, expected.cycles)
        assert row.layer == "M=64,K=64,N=32"


def test_fixed_mapping_maps_once_per_pattern_and_matches_remap_where_they_agree(tmp_path):
    fixed = sparsim.sweep(CONTRACT, tmp_path / "fixed", workers=1, progress=False)
    remap = sparsim.sweep(
        {**CONTRACT, "mapping": "remap"}, tmp_path / "remap", workers=1, progress=False
    )
    merged = fixed.merge(remap, on=["design", "layer", "density_A", "density_B"])
    # The dense TC ignores densities: one evaluation for all six points.
    tc = merged[merged["design"] == "tc"]
    assert tc["energy_uJ_x"].nunique() == 1
    # Where the point is the mapping's own reference, both modes agree exactly.
    reference = merged[
        (merged["design"] != "dstc")
        | ((merged["density_A"] == "1.0") & (merged["density_B"] == "1.0"))
    ]
    assert (reference["energy_uJ_x"] == reference["energy_uJ_y"]).all()
    # DSTC reuses its dense mapping for sparse points: never re-mapped unless it overflows.
    dstc = merged[merged["design"] == "dstc"]
    assert not dstc["remapped_x"].any() and dstc["remapped_y"].all()
    _, units = plan(CONTRACT)
    assert sorted(u.evaluations for u in units if u.design.builtin == "tc") == [2]
    assert sum(len(u.schemes) for u in units if u.design.builtin == "dstc") == 6


def test_zip_dedup_and_sources(tmp_path):
    table = LayerTable(
        (
            LayerWorkload(Gemm(name="fc1", M=32, K=64, N=16), "linear"),
            LayerWorkload(Gemm(name="fc2", M=16, K=32, N=16), "linear"),
        )
    )
    table.save(tmp_path / "layers.csv")
    mask = np.zeros((64, 32))
    mask[::2] = 1.0
    np.save(tmp_path / "weights.npy", mask)
    config = {
        "designs": ["dstc"],
        "workloads": [
            {"table": "layers.csv", "layers": ["fc1"]},
            {"gemm": "M=32,K=64,N=16", "name": "same-shape"},
        ],
        "densities": {"A": ["weights.npy", 0.5, 0.5], "B": [1.0, 0.5, 0.5]},
        "zip": [["density_A", "density_B"]],
        "mapping": "remap",
    }
    # Zipped: (npy, 1.0) and (0.5, 0.5) twice is a mistake, not one point silently.
    with pytest.raises(SparsimError, match=r"zip\[0\] of densities.A, densities.B: entry\[2\]"):
        sparsim.sweep(_write(tmp_path, config), tmp_path / "out", workers=1, progress=False)
    config["densities"] = {"A": ["weights.npy", 0.5], "B": [1.0, 0.5]}
    frame = sparsim.sweep(_write(tmp_path, config), tmp_path / "out", workers=1, progress=False)
    # The same layer shape from a table and a GEMM: one point each, per its own label.
    assert len(frame) == 4
    assert set(frame["layer"]) == {"fc1", "same-shape"}
    measured = frame[frame["density_A"] == "weights.npy"]
    expected = evaluate(
        build("dstc", Gemm(name="fc1", M=32, K=64, N=16), {"A": str(tmp_path / "weights.npy")})
    )
    assert measured["energy_uJ"].tolist() == [expected.energy_uJ] * 2


def test_memories_and_user_hardware(tmp_path):
    stc = resources.files("sparsim.designs").joinpath("architectures", "stc.yaml").read_text()
    (tmp_path / "stc-copy.yaml").write_text(stc)
    config = {
        "designs": ["stc", {"like": "stc", "architecture": "stc-copy.yaml", "name": "mine"}],
        "memories": [{}, {"SMEM": {"data_capacity": 65536}}],
        "workloads": [{"gemm": "M=64,K=256,N=256"}],
        "densities": {"A": ["2:4"]},
    }
    frame = sparsim.sweep(_write(tmp_path, config), tmp_path / "out", workers=1, progress=False)
    assert len(frame) == 4
    assert set(frame["memory"]) == {"", "SMEM.data_capacity=65536"}
    by = frame.set_index(["design", "memory"])["energy_uJ"]
    assert by[("mine", "")] == by[("stc", "")]
    small = resize(
        sparsim.build("stc", Gemm(name="g", M=1, K=4, N=1)).architecture,
        "SMEM",
        data_capacity=65536,
    )
    gemm = parse_gemm_shape("M=64,K=256,N=256")
    expected = evaluate(build("stc", gemm, {"A": "2:4"}, architecture=small))
    assert by[("stc", "SMEM.data_capacity=65536")] == pytest.approx(expected.energy_uJ, rel=0)


def test_a_sweep_over_smem_sizes_reports_area_as_the_model_says(tmp_path):
    """Rows carry the design's area and the SMEM's; the artifact's size gives the
    artifact's area exactly, other sizes the memory model's (sparsim.designs.resize)."""
    sizes = [65536, 262144, 1048576]
    config = {
        "designs": ["stc"],
        "memories": [{"SMEM": {"data_capacity": words}} for words in sizes],
        "workloads": [{"gemm": "M=64,K=256,N=256"}],
        "densities": {"A": ["2:4"]},
    }
    frame = sparsim.sweep(_write(tmp_path, config), tmp_path / "out", workers=1, progress=False)
    frame = frame.set_index("memory").loc[[f"SMEM.data_capacity={w}" for w in sizes]]
    arch = get_design("stc").architecture
    expected = [resize(arch, "SMEM", data_capacity=w) for w in sizes]
    assert frame["SMEM.area_um2"].tolist() == [a.level("SMEM").area for a in expected]
    assert frame["area_um2"].tolist() == pytest.approx([a.area_um2 for a in expected])
    assert frame["SMEM.area_um2"].iloc[1] == 2604256.0  # the artifact's ART
    assert frame["area_um2"].is_monotonic_increasing


def test_memories_with_bandwidth_and_energy_per_access_kept(tmp_path):
    config = {
        "designs": ["stc-flexible"],
        "memories": [
            {"name": "fast", "SMEM": {"read_bandwidth": 84}},
            {"name": "big", "SMEM": {"data_capacity": 524288, "rescale_energy": False}},
            {"name": "big-rescaled", "SMEM": {"data_capacity": 524288}},
        ],
        "workloads": [{"gemm": "M=128,K=256,N=512"}],
        "densities": {"A": ["2:8"]},
        "mapping": "remap",
    }
    frame = sparsim.sweep(config, tmp_path / "out", workers=1, progress=False)
    by = frame.set_index("memory")
    native = get_design("stc-flexible").architecture
    smem = native.level("SMEM")
    fast = native.model_copy(
        update={
            "levels": [
                level.model_copy(update={"read_bandwidth": 84.0}) if level.name == "SMEM" else level
                for level in native.levels
            ]
        }
    )
    rescaled = resize(native, "SMEM", data_capacity=524288)
    kept = rescaled.model_copy(
        update={
            "levels": [
                level.model_copy(update={"energy": smem.energy}) if level.name == "SMEM" else level
                for level in rescaled.levels
            ]
        }
    )
    gemm = parse_gemm_shape("M=128,K=256,N=512")
    for label, architecture in (("fast", fast), ("big", kept), ("big-rescaled", rescaled)):
        expected = evaluate(build("stc-flexible", gemm, {"A": "2:8"}, architecture=architecture))
        assert (by.loc[label, "energy_uJ"], by.loc[label, "cycles"]) == (
            expected.energy_uJ,
            expected.cycles,
        ), label
    # 2:8 weights are SMEM-read bound on this layer: twice the bandwidth, fewer cycles
    own = evaluate(build("stc-flexible", gemm, {"A": "2:8"}))
    assert by.loc["fast", "cycles"] < own.cycles
    # the capacity model prices the bigger SMEM's accesses higher; kept energies do not
    assert by.loc["big-rescaled", "SMEM.data_uJ"] > by.loc["big", "SMEM.data_uJ"]


def test_a_design_file_by_path(tmp_path):
    """A user's own design file (here STC-flexible that runs only 2:8, in a folder of its
    own: paths are relative to the config) sweeps like a built-in design."""
    text = (BUILTIN / "stc-flexible.yaml").read_text()
    mine = text.replace('patterns: {"2:4": 2, "2:6": 3, "2:8": 3}', 'patterns: {"2:8": 3}')
    assert mine != text
    (tmp_path / "designs").mkdir()
    (tmp_path / "designs" / "only-2of8.yaml").write_text(mine)
    config = {
        "designs": ["stc-flexible", "designs/only-2of8.yaml"],
        "memories": [{}, {"SMEM": {"data_capacity": 524288}}],
        "workloads": [{"gemm": "M=64,K=256,N=128"}],
        "densities": {"A": ["2:4", "2:8"]},
        "mapping": "remap",
    }
    frame = sparsim.sweep(_write(tmp_path, config), tmp_path / "out", workers=2, progress=False)
    assert len(frame) == 8 and set(frame["design"]) == {"stc-flexible", "only-2of8"}
    by = frame.set_index(["design", "memory", "density_A"])
    design = get_design(tmp_path / "designs" / "only-2of8.yaml")
    gemm = parse_gemm_shape("M=64,K=256,N=128")
    big = resize(design.architecture, "SMEM", data_capacity=524288)
    for memory, architecture in (("", None), ("SMEM.data_capacity=524288", big)):
        for density in ("2:4", "2:8"):
            expected = evaluate(build(design, gemm, {"A": density}, architecture=architecture))
            row = by.loc[("only-2of8", memory, density)]
            assert (row["energy_uJ"], row["cycles"]) == (expected.energy_uJ, expected.cycles)
    # it runs 2:4 weights dense (no 2:4 support), 2:8 as the built-in design does
    own = by.loc[("only-2of8", "", "2:4")]
    assert own["computes_actual"] == own["computes_algorithmic"]
    builtin = by.loc[("stc-flexible", "", "2:8")]
    assert by.loc[("only-2of8", "", "2:8"), "energy_uJ"] == builtin["energy_uJ"]


def test_rerun_evaluates_only_missing_points(tmp_path, monkeypatch):
    out = tmp_path / "out"
    half = {**CONTRACT, "densities": {"A": [1.0, 0.5], "B": [1.0, 0.8]}}
    first = sparsim.sweep(half, out, workers=1, progress=False)
    evaluated = []

    def counting(task):
        evaluated.extend(key for unit in task for keys in unit.points for key in keys)
        return original(task)

    original = backends.evaluate_task
    monkeypatch.setattr(backends, "evaluate_task", counting)
    full = sparsim.sweep(CONTRACT, out, workers=1, progress=False, append=True)
    assert len(full) == 24 and len(evaluated) == 24 - 16
    assert not set(evaluated) & set(first["point_key"])
    assert len(read_store(out)) == 24 and len(stored_keys(out)) == 24
    evaluated.clear()
    again = sparsim.sweep(CONTRACT, out, workers=1, progress=False)
    assert evaluated == [] and _sorted(again).equals(_sorted(full))


def test_worker_processes_give_the_same_rows(tmp_path):
    inline = sparsim.sweep(CONTRACT, tmp_path / "a", workers=1, progress=False)
    pooled = sparsim.sweep(CONTRACT, tmp_path / "b", workers=2, progress=False)
    assert _sorted(pooled).equals(_sorted(inline))


@pytest.mark.parametrize(
    "config, where",
    [
        ({**CONTRACT, "designs": ["tc", "nope"]}, "designs[1]: unknown design 'nope'"),
        ({**CONTRACT, "densities": {"A": [1.0, "5:4"]}}, "densities.A[1]: N:M needs"),
        ({**CONTRACT, "densities": {"A": ["missing.npy"]}}, "densities.A[0]: "),
        ({**CONTRACT, "workloads": [{"gemm": "M=1", "table": "x.csv"}]}, "workloads[0]: give"),
        ({**CONTRACT, "workloads": [{"table": "x.csv"}]}, "workloads[0].table: "),
        ({**CONTRACT, "workloads": [{"builtin": "resnet50", "options": {"x": 1}}]}, ".options: "),
        ({**CONTRACT, "memories": [{"SMEM": {"size": 3}}]}, "memories[0].SMEM.size: unknown"),
        ({**CONTRACT, "memories": [{"GLB": {"data_capacity": 8}}]}, "memories[0]: resize: unknown"),
        (
            {**CONTRACT, "memories": [{"GLB": {"read_bandwidth": 8}}]},
            "memories[0]: resize: unknown",
        ),
        (
            {**CONTRACT, "memories": [{"SMEM": {"read_bandwidth": 0}}]},
            "memories[0].SMEM.read_bandwidth: expected a positive number",
        ),
        (
            {**CONTRACT, "memories": [{"SMEM": {"data_capacity": 8, "rescale_energy": "no"}}]},
            "memories[0].SMEM.rescale_energy: expected true or false",
        ),
        (
            {**CONTRACT, "designs": [{"like": "stc", "architecture": "missing.yaml"}]},
            "designs[0].architecture: cannot read",
        ),
        (
            {**CONTRACT, "designs": ["tc", {"like": "dstc", "architecture": "sweep.yaml"}]},
            "designs[1].architecture: ",
        ),
        ({**CONTRACT, "designs": ["tc", "missing.yaml"]}, "designs[1]: cannot read"),
        ({**CONTRACT, "designs": ["sweep.yaml"]}, "designs[0]: "),
        ({**CONTRACT, "zip": [["density_A", "density_B"]]}, "zip[0]: zipped lists differ"),
        ({**CONTRACT, "objectives": ["speed"]}, "objectives[0]: "),
        ({**CONTRACT, "colour": 1}, "colour: unknown key"),
        ({"designs": ["tc"]}, "workloads: missing required key"),
    ],
)
def test_bad_config_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, config, where):
    path = _write(tmp_path, config)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"sparsim: error: {path}: ") and where in error
    assert "\n" not in error and not out.exists()


def test_store_files_are_whole_chunks_only(tmp_path):
    out = tmp_path / "out"
    sparsim.sweep(CONTRACT, out, workers=1, progress=False, chunk_rows=5)
    chunks = sorted(out.glob("part-*.parquet"))
    assert len(chunks) >= 24 // 5 and not list(out.glob(".*"))
    (out / ".part-killed.parquet").write_bytes(b"half a file")
    shutil.copy(chunks[0], tmp_path / "kept.parquet")
    rerun = sparsim.sweep(CONTRACT, out, workers=1, progress=False)
    assert len(rerun) == 24 and not list(out.glob(".*"))


def test_layers_of_a_pytorch_model_file(tmp_path):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(4, 8, 2, stride=2), torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, 10)
    )
    torch.save(model, tmp_path / "net.pt")
    config = {
        "designs": ["tc"],
        "workloads": [{"model": "net.pt", "input_shape": [2, 4, 8, 8]}],
    }
    frame = sparsim.sweep(_write(tmp_path, config), tmp_path / "out", workers=1, progress=False)
    assert frame["layer"].tolist() == ["0", "2"]
    # Conv: M = 8 filters, K = 4 x 2 x 2, N = 2 images x 4 x 4; linear: 10 x 128 x 2.
    assert frame["computes_algorithmic"].tolist() == [8 * 16 * 32, 10 * 128 * 2]
    bad = {**config, "workloads": [{"model": "net.pt", "input_shape": [2, 5, 8, 8]}]}
    with pytest.raises(sparsim.SparsimError, match=r"workloads\[0\]\.input_shape"):
        sparsim.sweep(_write(tmp_path, bad, "bad.yaml"), tmp_path / "bad", progress=False)


def test_bad_options_and_an_out_that_is_a_file(tmp_path, capsys):
    config = _write(tmp_path, CONTRACT)
    a_file = tmp_path / "results"
    a_file.write_text("mine")
    for argv, message in [
        (["--out", str(a_file)], f"{a_file}: expected a directory"),
        (["--out", str(tmp_path / "o"), "--workers", "0"], "--workers: expected at least 1"),
        (["--out", str(tmp_path / "o"), "--chunk-rows", "0"], "--chunk-rows: expected at least"),
        (
            ["--out", str(tmp_path / "o"), "--scheduler", "tcp://x:1", "--backend", "processes"],
            "--backend: a scheduler runs the Dask backend",
        ),
    ]:
        assert main(["sweep", str(config), *argv]) == 2
        assert message in capsys.readouterr().err
    assert a_file.read_text() == "mine" and not (tmp_path / "o").exists()


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 200), min_size=1, max_size=40),
    mapping=st.sampled_from(["fixed", "remap"]),
    workers=st.integers(1, 4),
)
def test_tasks_cover_every_point_once_and_split_fixed_units_only_when_few(sizes, mapping, workers):
    ref = DesignRef("dstc", "dstc")
    layer = Gemm(name="g", M=16, K=16, N=16)
    work = [
        Unit(
            ref,
            {},
            layer,
            "delay",
            mapping,
            None,
            tuple({"A": str(j), "B": "1.0"} for j in range(n)),
            tuple((f"{i}-{j}",) for j in range(n)),
        )
        for i, n in enumerate(sizes)
    ]
    tasks = pack_tasks(work, workers)
    keys = [key for task in tasks for unit in task for group in unit.points for key in group]
    assert sorted(keys) == sorted(f"{i}-{j}" for i, n in enumerate(sizes) for j in range(n))
    parts = sum(len(task) for task in tasks)
    if mapping == "fixed" and len(sizes) >= workers * 8:
        assert parts == len(sizes)
    if mapping == "remap":
        assert max(len(unit.schemes) for task in tasks for unit in task) <= 64


@pytest.mark.parametrize("mapping", ["remap", "fixed"])
def test_mapper_objectives_rank_what_they_say(tmp_path, mapping):
    """Each objective's row is the mapper's mapping for it: the cycles objective has the
    fewest cycles, the energy objective the least energy, EDP the least EDP; ``delay`` is
    the design's heuristic, which the mapper's EDP never loses to on this layer."""
    config = {
        "designs": ["tc", "stc"],
        "workloads": [{"gemm": "M=128,K=256,N=128"}],
        "densities": {"A": ["2:4"], "B": [1.0]},
        "objectives": ["delay", "edp", "energy", "cycles"],
        "mapping": mapping,
    }
    frame = sparsim.sweep(_write(tmp_path, config), tmp_path / "out", workers=1, progress=False)
    assert len(frame) == 8 and not frame["error"].any()
    for design, rows in frame.groupby("design"):
        by = rows.set_index("objective")
        expected = evaluate(build(design, Gemm(M=128, K=256, N=128), {"A": "2:4"}))
        assert by.loc["delay", "energy_uJ"] == expected.energy_uJ
        assert by.loc["cycles", "cycles"] == by["cycles"].min()
        assert by.loc["energy", "energy_uJ"] == by["energy_uJ"].min()
        edp = by["energy_uJ"] * by["cycles"]
        assert edp["edp"] <= edp.min() * (1 + 1e-9)
