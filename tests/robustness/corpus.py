"""A corpus of bad command lines, one per class of bad input the CLI must refuse cleanly,
and the odd values fuzzing puts into valid inputs.

Each case names the typed error it must give (the class name under
:class:`sparsim.errors.SparsimError`). ``{tmp}`` in an argument is a scratch folder that
:func:`materialise` fills with the files the cases read (binary, empty, mis-shaped...).
The same corpus drives ``tests/robustness/test_cli_corpus.py`` and
``scripts/robustness_corpus.py`` (which counts tracebacks, hangs and wrong answers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stc-2of4-M512-K256-N1024.yaml"
LONG_NAME = "x" * 300 + ".yaml"
DESIGN = ["evaluate", "--design", "stc"]
GEMM = "--gemm=M=64,K=64,N=64"
DECOMPOSE = ["tasd", "decompose", "--series", "2:4"]
LONG_PATH = "{tmp}/" + LONG_NAME


# Values of the wrong kind, size or sign that fuzzing puts anywhere in a valid input.
ODD_SCALARS: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2**31, 2**64, 10**15, 0.5, -0.5, 1e308, "x", "", "A",
    math.inf, -math.inf, math.nan, [], {}, [1], ["A", "Q"], {"a": 1},
    "M" * 300, "NaN", ".inf", "1e999", "K9", "[0..99999999999]", "M1 N1",
)  # fmt: skip


def key_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into a parsed YAML document (a mutation site)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += key_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += key_paths(value, (*prefix, i))
    return found


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    error: str  # the SparsimError subclass the case must raise

    def resolved(self, tmp: Path) -> list[str]:
        return [arg.replace("{tmp}", str(tmp)) for arg in self.argv]


def materialise(tmp: Path) -> None:
    """The input files the cases read, written to ``tmp``."""
    (tmp / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (tmp / "latin1.yaml").write_bytes("workload: {name: caf\xe9}\n".encode("latin-1"))
    (tmp / "empty.yaml").write_text("")
    (tmp / "list.yaml").write_text("- 1\n- 2\n")
    (tmp / "empty-dir").mkdir()
    np.save(tmp / "empty.npy", np.zeros((0,), dtype=np.float32))
    np.save(tmp / "scalar.npy", np.float32(1.0))
    np.save(tmp / "wrong-shape.npy", np.ones((3, 5), dtype=np.float32))
    np.save(tmp / "nan.npy", np.full((4, 8), np.nan, dtype=np.float32))
    np.save(tmp / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp / "corrupt.npy").write_bytes(b"\x93NUMPY garbage")
    (tmp / "text.npy").write_text("not numpy")
    (tmp / "a-file").write_text("occupied\n")
    (tmp / "out-dir").mkdir()
    (tmp / "bad-config.yaml").write_text("layers: 3\n")
    (tmp / "config.yaml").write_text("hardware: TTC-STC-M4\nlayers: {}\n")
    (tmp / "workloads.csv").write_text("name,op,kind,M,N,K\nfc,linear,gemm,1000000000000,8,8\n")
    (tmp / "dir.csv").mkdir()
    (tmp / "nan-workloads.yaml").write_text("- {kind: gemm, name: fc, M: .nan, N: 8, K: 8}\n")
    (tmp / "bool-workloads.yaml").write_text("- {kind: gemm, name: fc, M: true, N: 8, K: 8}\n")
    spec = EXAMPLE.read_text()
    for name, old, new in (
        ("inf-energy.yaml", "read: 512.0", "read: .inf"),
        ("nan-energy.yaml", "read: 512.0", "read: .nan"),
        ("bool-dim.yaml", "M: 512", "M: true"),
        ("float-dim.yaml", "M: 512", "M: 512.5"),
        ("huge-dim.yaml", "M: 512", "M: 1000000000000000"),
        ("nan-bandwidth.yaml", "read_bandwidth: 32.0", "read_bandwidth: .nan"),
        ("inf-capacity.yaml", "data_capacity: 262144", "data_capacity: .inf"),
        ("long-level.yaml", "name: DRAM", "name: " + "D" * 300),
    ):
        assert old in spec, (name, old)
        (tmp / name).write_text(spec.replace(old, new, 1))


# fmt: off
CASES: tuple[Case, ...] = (
    # --- evaluate ------------------------------------------------------------
    Case("missing file", ("evaluate", "{tmp}/nope.yaml",), "SpecError"),
    Case("binary spec", ("evaluate", "{tmp}/binary.yaml",), "SpecError"),
    Case("non-UTF-8 spec", ("evaluate", "{tmp}/latin1.yaml",), "SpecError"),
    Case("empty spec", ("evaluate", "{tmp}/empty.yaml",), "SpecError"),
    Case("list spec", ("evaluate", "{tmp}/list.yaml",), "SpecError"),
    Case("empty case dir", ("evaluate", "{tmp}/empty-dir",), "SpecError"),
    Case("name over 255 chars", ("evaluate", LONG_PATH,), "SpecError"),
    Case("level name over 255 chars", ("evaluate", "{tmp}/long-level.yaml",), "SpecError"),
    Case("inf energy", ("evaluate", "{tmp}/inf-energy.yaml",), "SpecError"),
    Case("nan energy", ("evaluate", "{tmp}/nan-energy.yaml",), "SpecError"),
    Case("boolean dimension", ("evaluate", "{tmp}/bool-dim.yaml",), "SpecError"),
    Case("fractional dimension", ("evaluate", "{tmp}/float-dim.yaml",), "SpecError"),
    Case("dimension beyond limit", ("evaluate", "{tmp}/huge-dim.yaml",), "ResourceLimitError"),
    Case("nan bandwidth", ("evaluate", "{tmp}/nan-bandwidth.yaml",), "SpecError"),
    Case("inf capacity", ("evaluate", "{tmp}/inf-capacity.yaml",), "SpecError"),
    Case("unknown design", ("evaluate", "--design", "xyz", GEMM,), "UnknownNameError"),
    Case("design without gemm", (*DESIGN,), "SpecError"),
    Case("gemm zero", (*DESIGN, "--gemm=M=0,K=64,N=64",), "SpecError"),
    Case("gemm negative", (*DESIGN, "--gemm=M=-4,K=64,N=64",), "SpecError"),
    Case("gemm text", (*DESIGN, "--gemm=M=abc,K=64,N=64",), "SpecError"),
    Case("gemm float", (*DESIGN, "--gemm=M=1e3,K=64,N=64",), "SpecError"),
    Case("gemm inf", (*DESIGN, "--gemm=M=inf,K=64,N=64",), "SpecError"),
    Case("gemm unknown dim", (*DESIGN, "--gemm=M=4,K=64,N=64,Q=3",), "SpecError"),
    Case("gemm repeated dim", (*DESIGN, "--gemm=M=4,M=8,K=64,N=64",), "SpecError"),
    Case("gemm missing dim", (*DESIGN, "--gemm=M=4,K=64",), "SpecError"),
    Case("gemm 10^12", (*DESIGN, "--gemm=M=1000000000000,K=64,N=64",), "ResourceLimitError"),
    Case("gemm 10^12 prime-ish", (*DESIGN, "--gemm=M=999999999989,K=8,N=8",), "ResourceLimitError"),
    Case("gemm huge product", (*DESIGN, "--gemm=M=1000000,K=1000000,N=1000000",), "ResourceLimitError"),
    Case("density N:0", (*DESIGN, GEMM, "--density", "A=2:0",), "SpecError"),
    Case("density 0:4", (*DESIGN, GEMM, "--density", "A=0:4",), "SpecError"),
    Case("density 5:4", (*DESIGN, GEMM, "--density", "A=5:4",), "SpecError"),
    Case("density nan", (*DESIGN, GEMM, "--density", "A=nan",), "SpecError"),
    Case("density inf", (*DESIGN, GEMM, "--density", "A=inf",), "SpecError"),
    Case("density uniform nan", (*DESIGN, GEMM, "--density", "B=uniform:nan",), "SpecError"),
    Case("density negative", (*DESIGN, GEMM, "--density", "A=-0.5",), "SpecError"),
    Case("density over one", (*DESIGN, GEMM, "--density", "A=1.5",), "SpecError"),
    Case("density unknown kind", (*DESIGN, GEMM, "--density", "A=gauss:0.5",), "SpecError"),
    Case("density unknown tensor", (*DESIGN, GEMM, "--density", "Q=0.5",), "UnknownNameError"),
    Case("density no value", (*DESIGN, GEMM, "--density", "A=",), "SpecError"),
    Case("density 2:4 on B of dstc", ("evaluate", "--design", "dstc", GEMM, "--density", "Z=0.5",), "UnknownNameError"),
    Case("density empty npy", (*DESIGN, GEMM, "--density", "A={tmp}/empty.npy",), "SpecError"),
    Case("density scalar npy", (*DESIGN, GEMM, "--density", "A={tmp}/scalar.npy",), "SpecError"),
    Case("density wrong-shape npy", (*DESIGN, GEMM, "--density", "A={tmp}/wrong-shape.npy",), "SpecError"),
    Case("density corrupt npy", (*DESIGN, GEMM, "--density", "A={tmp}/corrupt.npy",), "SpecError"),
    Case("density text npy", (*DESIGN, GEMM, "--density", "A={tmp}/text.npy",), "SpecError"),
    Case("density object npy", (*DESIGN, GEMM, "--density", "A={tmp}/objects.npy",), "SpecError"),
    Case("density missing npy", (*DESIGN, GEMM, "--density", "A={tmp}/nope.npy",), "SpecError"),
    Case("density npy dir", (*DESIGN, GEMM, "--density", "A={tmp}/out-dir.npy",), "SpecError"),
    Case("save-spec is a dir", (*DESIGN, GEMM, "--save-spec", "{tmp}/out-dir",), "SpecError"),
    Case("save-spec under a file", (*DESIGN, GEMM, "--save-spec", "{tmp}/a-file/x.yaml",), "SpecError"),
    Case("save-spec long name", (*DESIGN, GEMM, "--save-spec", LONG_PATH,), "SpecError"),
    Case("save-spec in /proc", (*DESIGN, GEMM, "--save-spec", "/proc/sparsim.yaml",), "SpecError"),
    Case("gemm without design", ("evaluate", GEMM,), "SpecError"),
    Case("nothing to evaluate", ("evaluate",), "SpecError"),
    # --- compare -------------------------------------------------------------
    Case("compare unknown design", ("compare", "--designs", "tc,nope",), "UnknownNameError"),
    Case("compare no design", ("compare", "--designs", " , ",), "SpecError"),
    Case("compare gemm 10^12", ("compare", "--gemm", "M=1000000000000,K=64,N=64",), "ResourceLimitError"),
    Case("compare density nan", ("compare", GEMM, "--density", "B=nan",), "SpecError"),
    Case("compare density npy empty", ("compare", GEMM, "--density", "A={tmp}/empty.npy",), "SpecError"),
    # --- tasd ----------------------------------------------------------------
    Case("decompose seed -1", (*DECOMPOSE, "--random", "8x8", "--seed", "-1",), "SpecError"),
    Case("decompose terabytes", (*DECOMPOSE, "--random", "1000000x1000000",), "ResourceLimitError"),
    Case("decompose shape text", (*DECOMPOSE, "--random", "8xq",), "SpecError"),
    Case("decompose density nan", (*DECOMPOSE, "--random", "8x8", "--density", "nan",), "SpecError"),
    Case("decompose empty npy", (*DECOMPOSE, "{tmp}/empty.npy",), "SpecError"),
    Case("decompose scalar npy", (*DECOMPOSE, "{tmp}/scalar.npy",), "SpecError"),
    Case("decompose nan npy", (*DECOMPOSE, "{tmp}/nan.npy",), "SpecError"),
    Case("decompose object npy", (*DECOMPOSE, "{tmp}/objects.npy",), "SpecError"),
    Case("decompose corrupt npy", (*DECOMPOSE, "{tmp}/corrupt.npy",), "SpecError"),
    Case("decompose binary as npy", (*DECOMPOSE, "{tmp}/binary.yaml",), "SpecError"),
    Case("decompose axis out of range", (*DECOMPOSE, "--random", "8x8", "--axis", "5",), "SpecError"),
    Case("decompose max-terms 0", (*DECOMPOSE, "--random", "8x8", "--max-terms", "0",), "SpecError"),
    Case("decompose max-terms -1", (*DECOMPOSE, "--random", "8x8", "--max-terms", "-1",), "SpecError"),
    Case("decompose series junk", ("tasd", "decompose", "--random", "8x8", "--series", "2:4+x",), "SpecError"),
    Case("decompose out is a file", (*DECOMPOSE, "--random", "8x8", "--out", "{tmp}/a-file",), "SpecError"),
    Case("decompose out under a file", (*DECOMPOSE, "--random", "8x8", "--out", "{tmp}/a-file/x",), "SpecError"),
    Case("decompose out long name", (*DECOMPOSE, "--random", "8x8", "--out", "{tmp}/" + "y" * 300,), "SpecError"),
    Case("decompose b mismatched", (*DECOMPOSE, "--random", "8x8", "--b", "{tmp}/wrong-shape.npy",), "SpecError"),
    Case("patterns max-terms 0", ("tasd", "patterns", "--max-terms", "0",), "SpecError"),
    Case("patterns unknown hardware", ("tasd", "patterns", "--hardware", "nope",), "UnknownNameError"),
    Case("patterns max-terms huge", ("tasd", "patterns", "--max-terms", "1000000",), "ResourceLimitError"),
    Case("tasd study size 0", ("tasd", "study", "--out", "{tmp}/s", "--size", "0",), "SpecError"),
    Case("tasd study seeds 0", ("tasd", "study", "--out", "{tmp}/s", "--seeds", "0",), "SpecError"),
    Case("tasd study size huge", ("tasd", "study", "--out", "{tmp}/s", "--size", "16000000",), "ResourceLimitError"),
    Case("tasd study seeds huge", ("tasd", "study", "--out", "{tmp}/s", "--seeds", "100000000",), "ResourceLimitError"),
    Case("tasd study out is a file", ("tasd", "study", "--out", "{tmp}/a-file", "--seeds", "1", "--size", "16",), "SpecError"),
    # --- tasder --------------------------------------------------------------
    Case("workloads batch 0", ("tasder", "workloads", "--builtin", "resnet50", "--batch", "0", "--out", "{tmp}/w.csv",), "SpecError"),
    Case("workloads batch -3", ("tasder", "workloads", "--builtin", "bert-base", "--batch", "-3", "--out", "{tmp}/w.csv",), "SpecError"),
    Case("workloads image 0", ("tasder", "workloads", "--builtin", "resnet50", "--image-size", "0", "--out", "{tmp}/w.csv",), "SpecError"),
    Case("workloads seq-len 0", ("tasder", "workloads", "--builtin", "bert-base", "--seq-len", "0", "--out", "{tmp}/w.csv",), "SpecError"),
    Case("workloads batch huge", ("tasder", "workloads", "--builtin", "resnet50", "--batch", "1000000000000", "--out", "{tmp}/w.csv",), "ResourceLimitError"),
    Case("workloads out is a dir", ("tasder", "workloads", "--builtin", "resnet50", "--out", "{tmp}/dir.csv",), "SpecError"),
    Case("workloads out under a file", ("tasder", "workloads", "--builtin", "resnet50", "--out", "{tmp}/a-file/w.csv",), "SpecError"),
    Case("cost bad config", ("tasder", "cost", "--config", "{tmp}/bad-config.yaml", "--workloads", "{tmp}/workloads.csv",), "SpecError"),
    Case("cost binary config", ("tasder", "cost", "--config", "{tmp}/binary.yaml", "--workloads", "{tmp}/workloads.csv",), "SpecError"),
    Case("cost huge workload", ("tasder", "cost", "--config", "{tmp}/config.yaml", "--workloads", "{tmp}/workloads.csv",), "ResourceLimitError"),
    Case("cost nan workload", ("tasder", "cost", "--config", "{tmp}/config.yaml", "--workloads", "{tmp}/nan-workloads.yaml",), "SpecError"),
    Case("cost bool workload", ("tasder", "cost", "--config", "{tmp}/config.yaml", "--workloads", "{tmp}/bool-workloads.yaml",), "SpecError"),
    Case("cost binary workloads", ("tasder", "cost", "--config", "{tmp}/config.yaml", "--workloads", "{tmp}/binary.yaml",), "SpecError"),
    Case("search target nan", ("tasder", "search", "--model", "fmnist-resnet", "--hardware", "TTC-STC-M4", "--target", "nan", "--out", "{tmp}/o",), "SpecError"),
    Case("search calibration 0", ("tasder", "search", "--model", "fmnist-resnet", "--hardware", "TTC-STC-M4", "--calibration-size", "0", "--out", "{tmp}/o",), "SpecError"),
    Case("search batch-size 0", ("tasder", "search", "--model", "fmnist-resnet", "--hardware", "TTC-STC-M4", "--batch-size", "0", "--out", "{tmp}/o",), "SpecError"),
    Case("search mass nan", ("tasder", "search", "--model", "fmnist-resnet", "--hardware", "TTC-STC-M4", "--mass", "nan", "--out", "{tmp}/o",), "SpecError"),
    Case("search unknown model", ("tasder", "search", "--model", "nope", "--hardware", "TTC-STC-M4", "--out", "{tmp}/o",), "UnknownNameError"),
    Case("search unknown hardware", ("tasder", "search", "--model", "fmnist-resnet", "--hardware", "nope", "--out", "{tmp}/o",), "UnknownNameError"),
    # --- study ---------------------------------------------------------------
    Case("study unknown", ("study", "nope", "--out", "{tmp}/s",), "UnknownNameError"),
    Case("study jobs 0", ("study", "sparsity-types", "--out", "{tmp}/s", "--jobs", "0",), "SpecError"),
    Case("study out is a file", ("study", "sparsity-types", "--out", "{tmp}/a-file",), "SpecError"),
    Case("study out under a file", ("study", "sparsity-types", "--out", "{tmp}/a-file/s",), "SpecError"),
)
# fmt: on
