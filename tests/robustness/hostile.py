"""A second corpus of bad inputs, beside :mod:`tests.robustness.corpus`: hostile and odd
files at every input, outputs that are not sparsim's to replace, options that make no sense
(alone or together), and the Python API called as a new user would.

Each case names its class (the kinds of trouble of issue 21), the typed error it must give
(a class name under :class:`sparsim.errors.SparsimError`, or ``usage`` for argparse's own
usage errors: one line, exit 2, naming the option) and a fragment its location must hold.
A case is a command line (``argv``) or a Python snippet (``code``, run after
:data:`PRELUDE`). In arguments and snippets ``{tmp}`` is the folder :func:`materialise`
fills with the inputs (shared by every case: nothing may change there), ``{out}`` an empty
folder of the case's own (nothing may appear there).

``tests/robustness/test_hostile_corpus.py`` runs every case in this process;
``scripts/robustness_corpus.py --corpus hostile`` runs each through the real command (or a
fresh interpreter) and counts tracebacks, hangs, answers to bad input and files changed.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "stc-2of4-M512-K256-N1024.yaml"
EYERISS = ROOT / "src" / "sparsim" / "designs" / "library" / "eyeriss-like.yaml"
STUDY_CONFIG = ROOT / "src" / "sparsim" / "study" / "configs" / "sparsity-types.yaml"

# Every snippet runs after this (module paths that exist whatever sparsim exports).
PRELUDE = f"""\
import sparsim
from sparsim.spec.model import Spec
from sparsim.spec.workload import Gemm, Conv
spec = sparsim.load({str(EXAMPLE)!r})
"""

# The classes of trouble, as issue 21 lists them.
HOSTILE_FILES = "hostile or odd input files"
OUTPUTS = "output paths that are not sparsim's"
NONSENSE = "accepted nonsense (options, keys, combinations)"
TRACEBACKS = "values that gave tracebacks"
API = "Python API arguments"
COPIES = "specs edited in Python"
LIMITS = "sizes beyond the limits"


@dataclass(frozen=True)
class Case:
    klass: str
    name: str
    argv: tuple[str, ...] = ()
    code: str = ""
    error: str = "SparsimError"
    where: str = ""  # a fragment of the error, or alternatives "a|b" ("": any location)

    def resolved_argv(self, tmp: Path, out: Path) -> list[str]:
        return [_fill(arg, tmp, out) for arg in self.argv]

    def resolved_code(self, tmp: Path, out: Path) -> str:
        return _fill(self.code, tmp, out)

    def resolved_where(self, tmp: Path, out: Path) -> str:
        return _fill(self.where, tmp, out)


def _fill(text: str, tmp: Path, out: Path) -> str:
    return text.replace("{tmp}", str(tmp)).replace("{out}", str(out))


# --- the inputs ------------------------------------------------------------------------


def _spec_data() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def _write_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _spec_variants(tmp: Path) -> None:
    """The example spec with one thing wrong."""
    base = _spec_data()

    def variant(name: str, edit) -> None:
        data = copy.deepcopy(base)
        edit(data)
        _write_yaml(tmp / name, data)

    levels = lambda d: d["architecture"]["levels"]  # noqa: E731
    variant("meta-bits-65.yaml", lambda d: levels(d)[1].update(metadata_word_bits=65))
    variant("word-bits-0.yaml", lambda d: levels(d)[1].update(word_bits=0))
    variant(
        "ranks-100.yaml",
        lambda d: d["sparse_optimizations"][0]["formats"].update(
            A=[{"format": "UOP", "payload_word_bits": 0}] * 100
        ),
    )
    variant(
        "density-Q.yaml",
        lambda d: d.setdefault("densities", {}).update(
            Q={"distribution": "hypergeometric", "density": 0.5}
        ),
    )
    variant("tiny-bandwidth.yaml", lambda d: levels(d)[0].update(read_bandwidth=1e-300))
    variant("negative-energy.yaml", lambda d: levels(d)[0]["energy"].update(read=-1.0))
    variant("zero-instances.yaml", lambda d: levels(d)[2].update(instances=0))
    variant("string-capacity.yaml", lambda d: levels(d)[1].update(data_capacity="lots"))
    variant("list-workload.yaml", lambda d: d.update(workload=[1, 2]))
    variant("unknown-top-key.yaml", lambda d: d.update(colour="blue"))
    variant(
        "mapping-level-twice.yaml",
        lambda d: d["mapping"]["levels"].append(copy.deepcopy(d["mapping"]["levels"][0])),
    )
    variant(
        "condition-on-Q.yaml",
        lambda d: (
            d["sparse_optimizations"][0]
            .setdefault("actions", [])
            .append({"type": "skipping", "target": "A", "condition_on": ["Q"]})
        ),
    )
    variant("mesh-not-dividing.yaml", lambda d: levels(d)[2].update(mesh_x=3))
    variant("buffering-half.yaml", lambda d: levels(d)[1].update(multiple_buffering=0.5))


def _yaml_bombs(tmp: Path) -> None:
    laughs = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        laughs.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    (tmp / "bombs").mkdir()
    (tmp / "bombs" / "laughs.yaml").write_text("\n".join(laughs) + "\n")
    (tmp / "bombs" / "selfref.yaml").write_text("a: &a [1, *a]\n")
    (tmp / "bombs" / "deep.yaml").write_text("a: " + "[" * 150 + "1" + "]" * 150 + "\n")
    text = EXAMPLE.read_text()
    (tmp / "bombs" / "dupkey.yaml").write_text(
        text + "\nworkload: {kind: gemm, M: 1, N: 1, K: 1}\n"
    )
    with open(tmp / "bombs" / "big.yaml", "wb") as handle:  # sparse: no disk used
        handle.truncate(65 * 2**20)


def _special_files(tmp: Path) -> None:
    special = tmp / "special"
    special.mkdir()
    for suffix in ("yaml", "npy", "csv", "pt"):
        os.mkfifo(special / f"fifo.{suffix}")
        (special / f"dir.{suffix}").mkdir()
        (special / f"loop.{suffix}").symlink_to(special / f"loop.{suffix}")
        (special / f"link-fifo.{suffix}").symlink_to(special / f"fifo.{suffix}")
    (special / "binary.yaml").write_bytes(bytes(range(256)) * 8)
    (special / "nul-name.yaml").write_text("")


def _tensors(tmp: Path) -> None:
    folder = tmp / "tensors"
    folder.mkdir()
    np.save(folder / "ok.npy", (np.arange(64).reshape(8, 8) % 3 == 0).astype(np.float32))
    # A header that claims far more data than the file holds.
    np.save(folder / "liar.npy", np.zeros((4, 4), dtype=np.float32))
    raw = (folder / "liar.npy").read_bytes().replace(b"(4, 4)", b"(1048576, 1048576)", 1)
    (folder / "liar.npy").write_bytes(raw)
    np.save(folder / "complex.npy", np.ones((8, 8), dtype=np.complex64))
    np.save(folder / "inf.npy", np.full((8, 8), np.inf, dtype=np.float32))
    np.save(folder / "strings.npy", np.array([["a"] * 8] * 8))
    (folder / "corrupt.pt").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "text.pt").write_text("tensor([1, 2, 3])")
    import torch

    torch.save({"note": _Unsafe()}, folder / "pickled.pt")
    torch.save({"w": torch.ones(8, 8), "b": torch.ones(8)}, folder / "two.pt")
    torch.save([1, 2, 3], folder / "list.pt")


class _Unsafe:
    """An object torch refuses to load with ``weights_only``."""


def _outputs(tmp: Path) -> None:
    out = tmp / "outs"
    out.mkdir()
    for suffix in ("yaml", "csv"):
        os.mkfifo(out / f"fifo.{suffix}")
        (out / f"dir.{suffix}").mkdir()
        (out / f"null.{suffix}").symlink_to("/dev/null")
        (out / f"link-fifo.{suffix}").symlink_to(out / f"fifo.{suffix}")
        (out / f"dangling.{suffix}").symlink_to(f"/nonexistent-sparsim-{os.getpid()}/x.{suffix}")
    (out / "a-file").write_text("occupied\n")
    os.mkfifo(out / "fifo-dir")
    (out / "null-dir").symlink_to("/dev/null")


def _sweep_configs(tmp: Path) -> None:
    folder = tmp / "sweeps"
    folder.mkdir()
    base = {
        "designs": ["tc"],
        "workloads": [{"gemm": "M=8,K=8,N=8"}],
        "densities": {"A": [1.0, 0.5], "B": [1.0]},
    }
    _write_yaml(tmp / "sweep.yaml", base)

    def variant(name: str, **changes: Any) -> None:
        _write_yaml(folder / name, {**base, **changes})

    variant("dup-objectives.yaml", objectives=["delay", "delay"])
    variant("dup-designs.yaml", designs=["tc", "TC"])
    variant("dup-densities.yaml", densities={"A": [0.5, 0.5], "B": [1.0]})
    variant("zip-twice.yaml", zip=[["density_A", "density_A"]])
    variant("zip-two-groups.yaml", zip=[["density_A", "design"], ["density_A", "objective"]])
    variant("zip-one.yaml", zip=[["density_A"]])
    variant("zip-unknown.yaml", zip=[["density_A", "colour"]])
    variant("nan-density.yaml", densities={"A": [float("nan")], "B": [1.0]})
    variant("bool-density.yaml", densities={"A": [True], "B": [1.0]})
    variant("density-2.yaml", densities={"A": [2.0], "B": [1.0]})
    variant("density-Q.yaml", densities={"A": [1.0], "B": [1.0], "Q": [0.5]})
    variant("no-designs.yaml", designs=[])
    variant("no-workloads.yaml", workloads=[])
    variant("workload-two-sources.yaml", workloads=[{"gemm": "M=8,K=8,N=8", "builtin": "resnet50"}])
    variant("workload-huge.yaml", workloads=[{"gemm": "M=1000000000000,K=8,N=8"}])
    variant("workload-bad-builtin.yaml", workloads=[{"builtin": "vgg"}])
    variant("input-shape-negative.yaml", workloads=[{"model": "m.pt", "input_shape": [1, -3]}])
    variant(
        "input-shape-huge.yaml",
        workloads=[{"model": "../tensors/two.pt", "input_shape": [100000, 3, 224, 224]}],
    )
    variant("model-fifo.yaml", workloads=[{"model": "../special/fifo.pt", "input_shape": [1, 8]}])
    variant(
        "model-pickled-list.yaml",
        workloads=[{"model": "../tensors/list.pt", "input_shape": [1, 8]}],
    )
    variant("table-fifo.yaml", workloads=[{"table": "../special/fifo.csv"}])
    variant("table-laughs.yaml", workloads=[{"table": "../bombs/laughs.yaml"}])
    variant("design-fifo.yaml", designs=["../special/fifo.yaml"])
    variant("design-laughs.yaml", designs=["../bombs/laughs.yaml"])
    variant("design-dir.yaml", designs=["../special/dir.yaml"])
    variant(
        "architecture-laughs.yaml", designs=[{"like": "tc", "architecture": "../bombs/laughs.yaml"}]
    )
    variant(
        "architecture-fifo.yaml", designs=[{"like": "tc", "architecture": "../special/fifo.yaml"}]
    )
    variant("density-fifo.yaml", densities={"A": ["../special/fifo.npy"], "B": [1.0]})
    variant("density-liar.yaml", densities={"A": ["../tensors/liar.npy"], "B": [1.0]})
    variant(
        "memory-tiny-bandwidth.yaml",
        designs=["stc"],
        memories=[{"SMEM": {"read_bandwidth": 1e-300}}],
    )
    variant(
        "memory-nan-bandwidth.yaml",
        designs=["stc"],
        memories=[{"SMEM": {"read_bandwidth": float("nan")}}],
    )
    variant(
        "memory-meta-bits-65.yaml", designs=["stc"], memories=[{"SMEM": {"metadata_word_bits": 65}}]
    )
    variant("memory-unknown-level.yaml", designs=["stc"], memories=[{"L9": {"data_capacity": 8}}])
    variant(
        "memory-huge-capacity.yaml", designs=["stc"], memories=[{"SMEM": {"data_capacity": 10**30}}]
    )
    variant("memory-dup.yaml", designs=["stc"], memories=[{}, {}])
    variant("objective-unknown.yaml", objectives=["speed"])
    variant("mapping-unknown.yaml", mapping="sometimes")
    _write_yaml(folder / "list.yaml", [1, 2])
    (folder / "dup-key.yaml").write_text(
        "designs: [tc]\nworkloads: [{gemm: 'M=8,K=8,N=8'}]\ndesigns: [stc]\n"
    )


def _study_configs(tmp: Path) -> None:
    folder = tmp / "studies"
    folder.mkdir()
    base = yaml.safe_load(STUDY_CONFIG.read_text())

    def variant(name: str, edit) -> None:
        data = copy.deepcopy(base)
        edit(data)
        _write_yaml(folder / name, data)

    sweeps = lambda d: d["hardware_sweeps"]  # noqa: E731
    variant("nan-scale.yaml", lambda d: sweeps(d).update(memory_scales=[1, float("nan")]))
    variant("huge-scale.yaml", lambda d: sweeps(d).update(memory_scales=[1, 1e300]))
    variant("string-scale.yaml", lambda d: sweeps(d).update(memory_scales=[1, "big"]))
    variant("dup-scale.yaml", lambda d: sweeps(d).update(memory_scales=[1, 2, 2]))

    def unknown_level(document: dict) -> None:
        entry = sweeps(document)["memory"][0]
        entry.pop("role", None)  # a sweep names a role or a level
        entry["level"] = "L9"

    variant("unknown-level.yaml", unknown_level)
    variant("tiny-step.yaml", lambda d: d["fine"]["sparsities"].update(step=1e-9))
    variant("nan-sparsity.yaml", lambda d: d.update(sparsities=[0, 0.5, float("nan")]))
    variant(
        "own-nan-scale.yaml", lambda d: sweeps(d)["bandwidth"][0].update(scales=[1, float("nan")])
    )
    variant("unknown-key.yaml", lambda d: d.update(colour="blue"))


def _tasder_inputs(tmp: Path) -> None:
    (tmp / "config.yaml").write_text("hardware: TTC-STC-M4\nlayers: {}\n")
    (tmp / "workloads.csv").write_text("name,op,kind,M,N,K\nfc,linear,gemm,64,8,64\n")
    (tmp / "config-unknown-hw.yaml").write_text("hardware: TTC-NOPE\nlayers: {}\n")
    (tmp / "config-bad-series.yaml").write_text(
        "hardware: TTC-STC-M4\nlayers: {fc: {weights: '5:4'}}\n"
    )


def materialise(tmp: Path) -> None:
    """Every input the cases read, written to ``tmp``."""
    (tmp / "spec.yaml").write_text(EXAMPLE.read_text())
    _spec_variants(tmp)
    _yaml_bombs(tmp)
    _special_files(tmp)
    _tensors(tmp)
    _outputs(tmp)
    _sweep_configs(tmp)
    _study_configs(tmp)
    _tasder_inputs(tmp)


# --- the cases ---------------------------------------------------------------------------

GEMM = "--gemm=M=8,K=8,N=8"

# Places that read a YAML file: argv with {F} for the file, and where the error must point.
YAML_INPUTS = {
    "evaluate": (("evaluate", "{F}"), "{F}"),
    "map": (("map", "{F}"), "{F}"),
    "map --constraints": (("map", "{tmp}/spec.yaml", "--constraints", "{F}"), "{F}"),
    "sweep config": (("sweep", "{F}", "--out", "{out}/s"), "{F}"),
    "study --config": (("study", "sparsity-types", "--out", "{out}/s", "--config", "{F}"), "{F}"),
    "tasder cost --config": (
        ("tasder", "cost", "--config", "{F}", "--workloads", "{tmp}/workloads.csv"),
        "{F}",
    ),
    "tasder cost --workloads": (
        ("tasder", "cost", "--config", "{tmp}/config.yaml", "--workloads", "{F}"),
        "{F}",
    ),
    "tasder apply --config": (
        ("tasder", "apply", "--model", "fmnist-resnet", "--config", "{F}"),
        "{F}",
    ),
    "evaluate --design FILE": (("evaluate", "--design", "{F}", GEMM), ""),
    "compare --designs FILE": (("compare", GEMM, "--designs", "{F}"), ""),
}
YAML_FILES = {
    "billion laughs": ("{tmp}/bombs/laughs.yaml", "ResourceLimitError"),
    "self-referencing": ("{tmp}/bombs/selfref.yaml", "SpecError"),
    "150 levels deep": ("{tmp}/bombs/deep.yaml", "ResourceLimitError"),
    "key given twice": ("{tmp}/bombs/dupkey.yaml", "SpecError"),
    "65 MiB": ("{tmp}/bombs/big.yaml", "ResourceLimitError"),
    "FIFO": ("{tmp}/special/fifo.yaml", "SpecError"),
    "symlink to a FIFO": ("{tmp}/special/link-fifo.yaml", "SpecError"),
    "directory": ("{tmp}/special/dir.yaml", "SpecError"),
    "symlink loop": ("{tmp}/special/loop.yaml", "SpecError"),
    "binary": ("{tmp}/special/binary.yaml", "SpecError"),
    "/dev/zero": ("/dev/zero", "SparsimError"),
}

TENSOR_INPUTS = {
    "evaluate --density": (("evaluate", "--design", "dstc", GEMM, "--density", "A={F}"), ""),
    "compare --density": (("compare", GEMM, "--density", "B={F}"), ""),
    "tasd decompose": (("tasd", "decompose", "{F}", "--series", "2:4"), "{F}"),
    "tasd decompose --b": (
        ("tasd", "decompose", "--random", "8x8", "--series", "2:4", "--b", "{F}"),
        "{F}",
    ),
}
TENSOR_FILES = {
    "FIFO": "{tmp}/special/fifo.npy",
    "symlink to a FIFO": "{tmp}/special/link-fifo.npy",
    "directory": "{tmp}/special/dir.npy",
    "symlink loop": "{tmp}/special/loop.npy",
    "header claiming 2^40 elements": "{tmp}/tensors/liar.npy",
    "complex values": "{tmp}/tensors/complex.npy",
    "infinite values": "{tmp}/tensors/inf.npy",
    "strings": "{tmp}/tensors/strings.npy",
}
TORCH_FILES = {
    "pickled object": ("{tmp}/tensors/pickled.pt", "SpecError"),
    "corrupt zip": ("{tmp}/tensors/corrupt.pt", "SpecError"),
    "text": ("{tmp}/tensors/text.pt", "SpecError"),
    "a list": ("{tmp}/tensors/list.pt", "SpecError"),
    "two tensors, no --key": ("{tmp}/tensors/two.pt", "SpecError"),
    "FIFO": ("{tmp}/special/fifo.pt", "SpecError"),
    "directory": ("{tmp}/special/dir.pt", "SpecError"),
}

FILE_OUTPUTS = {
    "evaluate --save-spec": (("evaluate", "--design", "stc", GEMM, "--save-spec", "{O}"), "yaml"),
    "map --save-spec": (
        ("map", "{tmp}/spec.yaml", "--max-evaluations", "1", "--save-spec", "{O}"),
        "yaml",
    ),
    "tasder workloads --out": (("tasder", "workloads", "--builtin", "resnet50", "--out", "{O}"), "csv"),
    "tasder cost --out": (
        ("tasder", "cost", "--config", "{tmp}/config.yaml", "--workloads", "{tmp}/workloads.csv",
         "--out", "{O}"),
        "csv",
    ),
}  # fmt: skip
FILE_OUTPUT_PATHS = {
    "character device (symlink to /dev/null)": ("{tmp}/outs/null.{S}", "OutputError"),
    "FIFO": ("{tmp}/outs/fifo.{S}", "OutputError"),
    "symlink to a FIFO": ("{tmp}/outs/link-fifo.{S}", "OutputError"),
    "directory": ("{tmp}/outs/dir.{S}", "OutputError"),
    "empty name": ("", "usage"),
    "under a regular file": ("{tmp}/outs/a-file/x.{S}", "OutputError"),
    "symlink into a missing folder": ("{tmp}/outs/dangling.{S}", "OutputError"),
}
DIR_OUTPUTS = {
    "sweep --out": ("sweep", "{tmp}/sweep.yaml", "--out", "{D}"),
    "study --out": ("study", "sparsity-types", "--quick", "--out", "{D}"),
    "tasd study --out": ("tasd", "study", "--seeds", "1", "--size", "16", "--out", "{D}"),
    "tasd decompose --out": ("tasd", "decompose", "--random", "8x8", "--series", "2:4", "--out", "{D}"),
    "tasder search --out": (
        "tasder", "search", "--model", "fmnist-resnet", "--hardware", "TTC-STC-M4", "--out", "{D}",
    ),
}  # fmt: skip
DIR_OUTPUT_PATHS = {
    "regular file": "{tmp}/outs/a-file",
    "FIFO": "{tmp}/outs/fifo-dir",
    "character device": "/dev/null",
    "symlink to /dev/null": "{tmp}/outs/null-dir",
    "under a regular file": "{tmp}/outs/a-file/sub",
    "empty name": "",
}


def _file_cases() -> list[Case]:
    cases = []
    for place, (argv, where) in YAML_INPUTS.items():
        for kind, (path, error) in YAML_FILES.items():
            if place.endswith("FILE") and not path.endswith(".yaml"):
                continue  # not taken for a design file
            cases.append(
                Case(
                    HOSTILE_FILES,
                    f"{place}: {kind}",
                    tuple(a.replace("{F}", path) for a in argv),
                    error=error if not place.endswith("FILE") else "SparsimError",
                    where=where.replace("{F}", path),
                )
            )
    for place, (argv, where) in TENSOR_INPUTS.items():
        for kind, path in TENSOR_FILES.items():
            cases.append(
                Case(
                    HOSTILE_FILES,
                    f"{place}: {kind}",
                    tuple(a.replace("{F}", path) for a in argv),
                    error="SparsimError",
                    where=where.replace("{F}", path),
                )
            )
    for kind, (path, error) in TORCH_FILES.items():
        cases.append(
            Case(
                HOSTILE_FILES,
                f"tasd decompose: torch file, {kind}",
                ("tasd", "decompose", path, "--series", "2:4"),
                error=error,
                where=path,
            )
        )
    for place, (argv, suffix) in FILE_OUTPUTS.items():
        for kind, (path, error) in FILE_OUTPUT_PATHS.items():
            path = path.replace("{S}", suffix)
            cases.append(
                Case(
                    OUTPUTS,
                    f"{place}: {kind}",
                    tuple(a.replace("{O}", path) for a in argv),
                    error=error,
                    where=path or place.split()[-1],
                )
            )
    for place, argv in DIR_OUTPUTS.items():
        for kind, path in DIR_OUTPUT_PATHS.items():
            cases.append(
                Case(
                    OUTPUTS,
                    f"{place}: {kind}",
                    tuple(a.replace("{D}", path) for a in argv),
                    error="SparsimError" if path else "SparsimError|usage",
                    where=f"{path}|--out" if path else "--out",
                )
            )
    return cases


def _sweep_config_cases() -> list[Case]:
    expected = {
        "dup-objectives.yaml": ("SpecError", "objectives[1]"),
        "dup-designs.yaml": ("SpecError", "designs[1]"),
        "dup-densities.yaml": ("SpecError", "densities.A[1]"),
        "zip-twice.yaml": ("SpecError", "zip"),
        "zip-two-groups.yaml": ("SpecError", "zip"),
        "zip-one.yaml": ("SpecError", "zip"),
        "zip-unknown.yaml": ("SpecError", "zip"),
        "nan-density.yaml": ("SpecError", "densities.A[0]"),
        "bool-density.yaml": ("SpecError", "densities.A[0]"),
        "density-2.yaml": ("SpecError", "densities.A[0]"),
        "density-Q.yaml": ("SpecError", "densities.Q"),
        "no-designs.yaml": ("SpecError", "designs"),
        "no-workloads.yaml": ("SpecError", "workloads"),
        "workload-two-sources.yaml": ("SpecError", "workloads[0]"),
        "workload-huge.yaml": ("SparsimError", "workloads[0]"),
        "workload-bad-builtin.yaml": ("SpecError", "workloads[0]"),
        "input-shape-negative.yaml": ("SpecError", "input_shape"),
        "input-shape-huge.yaml": ("SparsimError", "input_shape"),
        "model-fifo.yaml": ("SparsimError", "workloads[0]"),
        "model-pickled-list.yaml": ("SparsimError", "workloads[0]"),
        "table-fifo.yaml": ("SparsimError", "workloads[0]"),
        "table-laughs.yaml": ("SparsimError", "workloads[0]"),
        "design-fifo.yaml": ("SparsimError", "designs[0]"),
        "design-laughs.yaml": ("SparsimError", "designs[0]"),
        "design-dir.yaml": ("SparsimError", "designs[0]"),
        "architecture-laughs.yaml": ("SparsimError", "designs[0]"),
        "architecture-fifo.yaml": ("SparsimError", "designs[0]"),
        "density-fifo.yaml": ("SparsimError", "densities.A[0]"),
        "density-liar.yaml": ("SparsimError", "densities.A[0]"),
        "memory-tiny-bandwidth.yaml": ("ResourceLimitError", "bandwidth"),
        "memory-nan-bandwidth.yaml": ("SpecError", "memories[0]"),
        "memory-meta-bits-65.yaml": ("SpecError", "memories[0]"),
        "memory-unknown-level.yaml": ("SparsimError", "memories[0]"),
        "memory-huge-capacity.yaml": ("SparsimError", "memories[0]"),
        "memory-dup.yaml": ("SpecError", "memories[1]"),
        "objective-unknown.yaml": ("SpecError", "objectives[0]"),
        "mapping-unknown.yaml": ("SpecError", "mapping"),
        "list.yaml": ("SparsimError", "list.yaml"),
        "dup-key.yaml": ("SpecError", "dup-key.yaml"),
    }
    return [
        Case(
            NONSENSE if error == "SpecError" else TRACEBACKS,
            f"sweep config: {name.removesuffix('.yaml')}",
            ("sweep", f"{{tmp}}/sweeps/{name}", "--out", "{out}/s"),
            error=error,
            where=where,
        )
        for name, (error, where) in expected.items()
    ]


def _study_config_cases() -> list[Case]:
    expected = {
        "nan-scale.yaml": "hardware_sweeps.memory_scales",
        "huge-scale.yaml": "hardware_sweeps.memory_scales",
        "string-scale.yaml": "hardware_sweeps.memory_scales",
        "dup-scale.yaml": "hardware_sweeps.memory_scales",
        "unknown-level.yaml": "hardware_sweeps.memory[0].level",
        "tiny-step.yaml": "fine.sparsities",
        "nan-sparsity.yaml": "sparsities[2]",
        "own-nan-scale.yaml": "hardware_sweeps.bandwidth[0].scales",
        "unknown-key.yaml": "colour",
    }
    return [
        Case(
            TRACEBACKS,
            f"study config: {name.removesuffix('.yaml')}",
            ("study", "sparsity-types", "--out", "{out}/s", "--config", f"{{tmp}}/studies/{name}"),
            error="SpecError",
            where=where,
        )
        for name, where in expected.items()
    ]


def _spec_file_cases() -> list[Case]:
    expected = {
        "meta-bits-65.yaml": ("ResourceLimitError", "metadata_word_bits"),
        "word-bits-0.yaml": ("SpecError", "word_bits"),
        "ranks-100.yaml": ("SpecError", "formats.A"),
        "density-Q.yaml": ("UnknownNameError", "densities.Q"),
        "tiny-bandwidth.yaml": ("ResourceLimitError", ""),
        "negative-energy.yaml": ("SpecError", "energy.read"),
        "zero-instances.yaml": ("SpecError", "instances"),
        "string-capacity.yaml": ("SpecError", "data_capacity"),
        "list-workload.yaml": ("SpecError", "workload"),
        "unknown-top-key.yaml": ("SpecError", "colour"),
        "mapping-level-twice.yaml": ("MappingError", "mapping.levels"),
        "condition-on-Q.yaml": ("UnknownNameError", "condition_on"),
        "mesh-not-dividing.yaml": ("SpecError", "levels[2]"),
        "buffering-half.yaml": ("SpecError", "multiple_buffering"),
    }
    cases = []
    for name, (error, where) in expected.items():
        where = where if where != "spec" else ""
        for command in ("evaluate", "map"):
            if command == "map" and (error == "MappingError" or "bandwidth" in name):
                continue  # map ignores the file's mapping, and maps slowly to a late error
            cases.append(
                Case(
                    NONSENSE,
                    f"{command} spec file: {name.removesuffix('.yaml')}",
                    (command, f"{{tmp}}/{name}")
                    + (("--max-evaluations", "1") if command == "map" else ()),
                    error=error,
                    where=where,
                )
            )
    return cases


EVALUATE = ("evaluate", "--design", "stc", GEMM)
MAP = ("map", "{tmp}/spec.yaml")
DECOMPOSE = ("tasd", "decompose", "--random", "8x8", "--series", "2:4")
SEARCH = ("tasder", "search", "--model", "fmnist-resnet", "--hardware", "TTC-STC-M4",
          "--out", "{out}/s")  # fmt: skip
WORKLOADS = ("tasder", "workloads", "--out", "{out}/w.csv")
COST = ("tasder", "cost", "--config", "{tmp}/config.yaml", "--workloads", "{tmp}/workloads.csv")
STUDY = ("study", "sparsity-types", "--out", "{out}/s")
SWEEP = ("sweep", "{tmp}/sweep.yaml", "--out", "{out}/s")

# (class, name, argv, error, where)
OPTION_CASES: tuple[tuple[str, str, tuple[str, ...], str, str], ...] = (
    # evaluate
    (NONSENSE, "evaluate: --density of A twice", (*EVALUATE, "--density", "A=2:4", "--density", "a=0.5"), "SpecError", "--density"),
    (NONSENSE, "evaluate: --design with a spec file", (*EVALUATE, "{tmp}/spec.yaml"), "SpecError", "--design"),
    (NONSENSE, "evaluate: --design given twice", ("evaluate", "--design", "stc", "--design", "tc", GEMM), "usage", "--design"),
    (NONSENSE, "evaluate: --json twice", (*EVALUATE, "--json", "--json"), "usage", "--json"),
    (NONSENSE, "evaluate: --save-spec without --design", ("evaluate", "{tmp}/spec.yaml", "--save-spec", "{out}/s.yaml"), "SpecError", "--save-spec"),
    (NONSENSE, "evaluate: --density without --design", ("evaluate", "{tmp}/spec.yaml", "--density", "A=0.5"), "SpecError", "--density"),
    (NONSENSE, "evaluate: --density of Z", (*EVALUATE, "--density", "Z=0.5"), "UnknownNameError", "density"),
    (NONSENSE, "evaluate: --density 0:0", (*EVALUATE, "--density", "A=0:0"), "SpecError", "density"),
    (NONSENSE, "evaluate: --density uniform:2", (*EVALUATE, "--density", "A=uniform:2"), "SpecError", "density"),
    (NONSENSE, "evaluate: --density =0.5", (*EVALUATE, "--density", "=0.5"), "UnknownNameError", "density"),
    (NONSENSE, "evaluate: --gemm with spaces only", ("evaluate", "--design", "stc", "--gemm", "  "), "SpecError", "--gemm"),
    (NONSENSE, "evaluate: --gemm K given twice", ("evaluate", "--design", "stc", "--gemm", "M=8,K=8,K=8,N=8"), "SpecError", "--gemm"),
    (NONSENSE, "evaluate: --gemm M=08x", ("evaluate", "--design", "stc", "--gemm", "M=8x,K=8,N=8"), "SpecError", "--gemm"),
    (NONSENSE, "evaluate: --design empty", ("evaluate", "--design", "", GEMM), "UnknownNameError", "design"),
    (LIMITS, "evaluate: --gemm beyond 2^31", ("evaluate", "--design", "stc", "--gemm", "M=2147483649,K=8,N=8"), "ResourceLimitError", "--gemm"),
    (LIMITS, "evaluate: --gemm MACs beyond 2^53", ("evaluate", "--design", "stc", "--gemm", "M=2147483647,K=2147483647,N=4096"), "ResourceLimitError", "--gemm"),
    # map
    (NONSENSE, "map: --time-budget nan", (*MAP, "--time-budget", "nan"), "SpecError", "--time-budget"),
    (NONSENSE, "map: --time-budget inf", (*MAP, "--time-budget", "inf"), "SpecError", "--time-budget"),
    (NONSENSE, "map: --time-budget 0", (*MAP, "--time-budget", "0"), "SpecError", "--time-budget"),
    (NONSENSE, "map: --time-budget -1", (*MAP, "--time-budget", "-1"), "SpecError", "--time-budget"),
    (NONSENSE, "map: --top-k 0", (*MAP, "--top-k", "0"), "SpecError", "--top-k"),
    (NONSENSE, "map: --top-k -5", (*MAP, "--top-k", "-5"), "SpecError", "--top-k"),
    (NONSENSE, "map: --max-evaluations 0", (*MAP, "--max-evaluations", "0"), "SpecError", "--max-evaluations"),
    (NONSENSE, "map: --objective energy=nan", (*MAP, "--objective", "energy=nan"), "SpecError", "objective"),
    (NONSENSE, "map: --objective energy=inf", (*MAP, "--objective", "energy=inf,cycles=1"), "SpecError", "objective"),
    (NONSENSE, "map: --objective energy twice", (*MAP, "--objective", "energy=1,energy=2"), "SpecError", "objective"),
    (NONSENSE, "map: --objective all zero", (*MAP, "--objective", "energy=0,cycles=0"), "SpecError", "objective"),
    (NONSENSE, "map: --objective negative", (*MAP, "--objective", "energy=-1"), "SpecError", "objective"),
    (NONSENSE, "map: --objective unknown", (*MAP, "--objective", "speed"), "UnknownNameError", "objective"),
    (NONSENSE, "map: --objective empty", (*MAP, "--objective", ""), "SparsimError", "objective"),
    (NONSENSE, "map: --save-spec with two inputs", ("map", "{tmp}/spec.yaml", "{tmp}/spec.yaml", "--save-spec", "{out}/m.yaml"), "SpecError", "--save-spec"),
    (NONSENSE, "map: --top-k twice", (*MAP, "--top-k", "1", "--top-k", "2"), "usage", "--top-k"),
    # compare
    (NONSENSE, "compare: a design twice", ("compare", GEMM, "--designs", "tc,tc"), "SpecError", "--designs"),
    (NONSENSE, "compare: --density of B twice", ("compare", GEMM, "--density", "B=0.5", "--density", "B=0.6"), "SpecError", "--density"),
    (NONSENSE, "compare: --designs commas only", ("compare", GEMM, "--designs", ",,,"), "SpecError", "--designs"),
    (LIMITS, "compare: --gemm beyond 2^31", ("compare", "--gemm", "M=4294967296,K=8,N=8"), "ResourceLimitError", "--gemm"),
    # sweep
    (TRACEBACKS, "sweep: --scheduler garbage", (*SWEEP, "--scheduler", "garbage"), "SparsimError", "--scheduler"),
    (TRACEBACKS, "sweep: --scheduler port 99999", (*SWEEP, "--scheduler", "tcp://127.0.0.1:99999"), "SparsimError", "--scheduler"),
    (TRACEBACKS, "sweep: --scheduler no port", (*SWEEP, "--scheduler", "tcp://127.0.0.1"), "SparsimError", "--scheduler"),
    (TRACEBACKS, "sweep: --scheduler empty", (*SWEEP, "--scheduler", ""), "SparsimError", "--scheduler"),
    (NONSENSE, "sweep: --workers 0", (*SWEEP, "--workers", "0"), "SparsimError", "--workers"),
    (NONSENSE, "sweep: --workers -2", (*SWEEP, "--workers", "-2"), "SparsimError", "--workers"),
    (LIMITS, "sweep: --workers 100000", (*SWEEP, "--workers", "100000"), "ResourceLimitError", "--workers"),
    (NONSENSE, "sweep: --chunk-rows 0", (*SWEEP, "--chunk-rows", "0"), "SparsimError", "--chunk-rows"),
    (NONSENSE, "sweep: --chunk-rows -1", (*SWEEP, "--chunk-rows", "-1"), "SparsimError", "--chunk-rows"),
    (NONSENSE, "sweep: --scheduler with --backend processes", (*SWEEP, "--scheduler", "tcp://127.0.0.1:1", "--backend", "processes"), "SparsimError", "--backend"),
    (NONSENSE, "sweep: --out twice", (*SWEEP, "--out", "{out}/t"), "usage", "--out"),
    (NONSENSE, "sweep: --workers twice", (*SWEEP, "--workers", "1", "--workers", "2"), "usage", "--workers"),
    # tasd
    (NONSENSE, "decompose: --axis 1,1", (*DECOMPOSE, "--axis", "1,1"), "SpecError", "--axis"),
    (NONSENSE, "decompose: --key with --random", (*DECOMPOSE, "--key", "w"), "SpecError", "--key"),
    (NONSENSE, "decompose: --density with a file", ("tasd", "decompose", "{tmp}/tensors/ok.npy", "--series", "2:4", "--density", "0.3"), "SpecError", "--density"),
    (NONSENSE, "decompose: --seed with a file", ("tasd", "decompose", "{tmp}/tensors/ok.npy", "--series", "2:4", "--seed", "3"), "SpecError", "--seed"),
    (NONSENSE, "decompose: --density nan", (*DECOMPOSE, "--density", "nan"), "SpecError", "--density"),
    (NONSENSE, "decompose: --density inf", (*DECOMPOSE, "--density", "inf"), "SpecError", "--density"),
    (NONSENSE, "decompose: --series 2:4 twice", ("tasd", "decompose", "--random", "8x8", "--series", "2:4", "--series", "2:8"), "usage", "--series"),
    (NONSENSE, "decompose: --out empty", (*DECOMPOSE, "--out", ""), "SpecError", "--out"),
    (LIMITS, "decompose: --max-terms 17", (*DECOMPOSE, "--max-terms", "17"), "ResourceLimitError", "--max-terms"),
    (LIMITS, "decompose: --random 70000x70000", ("tasd", "decompose", "--random", "70000x70000", "--series", "2:4"), "ResourceLimitError", "--random"),
    (NONSENSE, "decompose: --random 0x8", ("tasd", "decompose", "--random", "0x8", "--series", "2:4"), "SpecError", "--random"),
    (NONSENSE, "decompose: --key on a .npy", ("tasd", "decompose", "{tmp}/tensors/ok.npy", "--series", "2:4", "--key", "nope"), "SparsimError", ""),
    (NONSENSE, "patterns: --max-terms 0", ("tasd", "patterns", "--max-terms", "0"), "SpecError", "--max-terms"),
    (NONSENSE, "patterns: --hardware empty", ("tasd", "patterns", "--hardware", ""), "SparsimError", ""),
    (TRACEBACKS, "tasd study: --size 16384", ("tasd", "study", "--out", "{out}/s", "--size", "16384"), "ResourceLimitError", "--size"),
    (NONSENSE, "tasd study: --size 100", ("tasd", "study", "--out", "{out}/s", "--size", "100"), "SpecError", "--size"),
    (NONSENSE, "tasd study: --size -16", ("tasd", "study", "--out", "{out}/s", "--size", "-16"), "SpecError", "--size"),
    (NONSENSE, "tasd study: --seeds -1", ("tasd", "study", "--out", "{out}/s", "--seeds", "-1"), "SpecError", "--seeds"),
    # tasder
    (NONSENSE, "workloads: --image-size on BERT", (*WORKLOADS, "--builtin", "bert-base", "--image-size", "32"), "SpecError", "--image-size"),
    (NONSENSE, "workloads: --seq-len on ResNet50", (*WORKLOADS, "--builtin", "resnet50", "--seq-len", "64"), "SpecError", "--seq-len"),
    (NONSENSE, "workloads: --attention-matmuls on ResNet50", (*WORKLOADS, "--builtin", "resnet50", "--attention-matmuls"), "SpecError", "--attention-matmuls"),
    (NONSENSE, "workloads: --calibration-size with --builtin", (*WORKLOADS, "--builtin", "resnet50", "--calibration-size", "8"), "SpecError", "--calibration-size"),
    (NONSENSE, "workloads: --mass with --builtin", (*WORKLOADS, "--builtin", "bert-base", "--mass", "0.9"), "SpecError", "--mass"),
    (NONSENSE, "workloads: --out .txt", ("tasder", "workloads", "--builtin", "resnet50", "--out", "{out}/w.txt"), "SpecError", "w.txt"),
    (NONSENSE, "workloads: --image-size 0", (*WORKLOADS, "--builtin", "resnet50", "--image-size", "0"), "SpecError", ""),
    (NONSENSE, "workloads: --seq-len -1", (*WORKLOADS, "--builtin", "bert-base", "--seq-len", "-1"), "SpecError", ""),
    (LIMITS, "workloads: --seq-len 10^12", (*WORKLOADS, "--builtin", "bert-base", "--seq-len", "1000000000000"), "ResourceLimitError", ""),
    (NONSENSE, "cost: --out .txt", (*COST, "--out", "{out}/c.txt"), "SpecError", "c.txt"),
    (NONSENSE, "cost: --hardware unknown", (*COST, "--hardware", "TTC-NOPE"), "UnknownNameError", ""),
    (NONSENSE, "cost: config with unknown hardware", ("tasder", "cost", "--config", "{tmp}/config-unknown-hw.yaml", "--workloads", "{tmp}/workloads.csv"), "SparsimError", "config-unknown-hw.yaml"),
    (NONSENSE, "cost: config with a 5:4 series", ("tasder", "cost", "--config", "{tmp}/config-bad-series.yaml", "--workloads", "{tmp}/workloads.csv"), "SparsimError", "config-bad-series.yaml"),
    (NONSENSE, "search: --target 0", (*SEARCH, "--target", "0"), "SpecError", "--target"),
    (NONSENSE, "search: --target 1.5", (*SEARCH, "--target", "1.5"), "SpecError", "--target"),
    (NONSENSE, "search: --target inf", (*SEARCH, "--target", "inf"), "SpecError", "--target"),
    (NONSENSE, "search: --mass 0", (*SEARCH, "--mass", "0"), "SpecError", "--mass"),
    (NONSENSE, "search: --mass inf", (*SEARCH, "--mass", "inf"), "SpecError", "--mass"),
    (NONSENSE, "search: --alphas nan", (*SEARCH, "--alphas", "nan"), "SpecError", "--alphas"),
    (NONSENSE, "search: --alphas 2", (*SEARCH, "--alphas", "2"), "SpecError", "--alphas"),
    (NONSENSE, "search: --alphas commas", (*SEARCH, "--alphas", ",,"), "SpecError", "--alphas"),
    (NONSENSE, "search: --patience 0", (*SEARCH, "--patience", "0"), "SpecError", "--patience"),
    (NONSENSE, "search: --patience some", (*SEARCH, "--patience", "some"), "SpecError", "--patience"),
    (NONSENSE, "search: --layers commas", (*SEARCH, "--layers", ", ,"), "SpecError", "--layers"),
    (NONSENSE, "search: --evaluation-size 0", (*SEARCH, "--evaluation-size", "0"), "SpecError", ""),
    (NONSENSE, "search: --evaluation-size -4", (*SEARCH, "--evaluation-size", "-4"), "SpecError", ""),
    (NONSENSE, "search: --calibration-size -1", (*SEARCH, "--calibration-size", "-1"), "SpecError", ""),
    (NONSENSE, "search: --hardware twice", (*SEARCH, "--hardware", "TTC-STC-M8"), "usage", "--hardware"),
    # study
    (NONSENSE, "study: --jobs -1", (*STUDY, "--jobs", "-1"), "SpecError", "--jobs"),
    (LIMITS, "study: --jobs 10000", (*STUDY, "--jobs", "10000"), "ResourceLimitError", "--jobs"),
    (NONSENSE, "study: --quick with tasd-hardware", ("study", "tasd-hardware", "--out", "{out}/s", "--quick"), "SpecError", "--quick"),
    (NONSENSE, "study: --config with tasd-hardware", ("study", "tasd-hardware", "--out", "{out}/s", "--config", "{tmp}/sweep.yaml"), "SpecError", "--config"),
    (NONSENSE, "study: unknown study", ("study", "sparsity", "--out", "{out}/s"), "UnknownNameError", "study"),
    (NONSENSE, "study: --out twice", (*STUDY, "--out", "{out}/t"), "usage", "--out"),
)  # fmt: skip


def _option_cases() -> list[Case]:
    return [
        Case(klass, name, argv, error=error, where=where)
        for klass, name, argv, error, where in OPTION_CASES
    ]


# (class, name, code, error, where)
API_CASES: tuple[tuple[str, str, str, str, str], ...] = (
    (API, "load(None)", "sparsim.load(None)", "SpecError", "path"),
    (API, "load(3)", "sparsim.load(3)", "SpecError", "path"),
    (API, "load('')", "sparsim.load('')", "SpecError", "path"),
    (API, "load(b'spec.yaml')", "sparsim.load(b'{tmp}/spec.yaml')", "SpecError", "path"),
    # A list is a Timeloop case's files: a sparsim spec among them holds no 'problem'.
    (API, "load(['spec.yaml'])", "sparsim.load(['{tmp}/spec.yaml'])", "SpecError", "section 'problem'"),
    (API, "load(a FIFO)", "sparsim.load('{tmp}/special/fifo.yaml')", "SpecError", "fifo.yaml"),
    (API, "load(billion laughs)", "sparsim.load('{tmp}/bombs/laughs.yaml')", "ResourceLimitError", "laughs.yaml"),
    (API, "load(self-referencing)", "sparsim.load('{tmp}/bombs/selfref.yaml')", "SpecError", "selfref.yaml"),
    (API, "load(/dev/zero)", "sparsim.load('/dev/zero')", "SpecError", "/dev/zero"),
    (API, "evaluate(None)", "sparsim.evaluate(None)", "SpecError", "spec"),
    (API, "evaluate(3)", "sparsim.evaluate(3)", "SpecError", "spec"),
    (API, "evaluate(a dict)", "sparsim.evaluate(spec.model_dump())", "SpecError", "spec"),
    (API, "evaluate(missing file)", "sparsim.evaluate('{tmp}/missing.yaml')", "SpecError", "missing.yaml"),
    (API, "evaluate(a FIFO)", "sparsim.evaluate('{tmp}/special/fifo.yaml')", "SpecError", "fifo.yaml"),
    (API, "evaluate_densities(spec, '2:4')", "sparsim.evaluate_densities(spec, '2:4')", "SpecError", "densities"),
    (API, "evaluate_densities(spec, [3])", "sparsim.evaluate_densities(spec, [3])", "SpecError", "densities[0]"),
    (API, "evaluate_densities(spec, None)", "sparsim.evaluate_densities(spec, None)", "SpecError", "densities"),
    (API, "evaluate_densities(unknown tensor)", "sparsim.evaluate_densities(spec, [{'Q': '0.5'}])", "UnknownNameError", "densities[0]"),
    (API, "evaluate_densities(density 2)", "sparsim.evaluate_densities(spec, [{'A': '2'}])", "SpecError", "densities[0].A"),
    (API, "build(densities='2:4')", "sparsim.build('stc', Gemm(M=8, K=8, N=8), densities='2:4')", "SpecError", "densities"),
    (API, "build(densities=[0.5])", "sparsim.build('stc', Gemm(M=8, K=8, N=8), densities=[0.5])", "SpecError", "densities"),
    (API, "build(A twice)", "sparsim.build('stc', Gemm(M=8, K=8, N=8), {'A': '2:4', 'a': 0.5})", "SpecError", "density"),
    (API, "build(workload as text)", "sparsim.build('stc', 'M=8,K=8,N=8')", "SpecError", "workload"),
    (API, "build(workload None)", "sparsim.build('stc', None)", "SpecError", "workload"),
    (API, "build(architecture as text)", "sparsim.build('stc', Gemm(M=8, K=8, N=8), architecture='big')", "SpecError", "architecture"),
    (API, "build(unknown design)", "sparsim.build('nope', Gemm(M=8, K=8, N=8))", "UnknownNameError", "design"),
    (API, "build(design None)", "sparsim.build(None, Gemm(M=8, K=8, N=8))", "UnknownNameError", "design"),
    (API, "build(objective 3)", "sparsim.build('stc', Gemm(M=8, K=8, N=8), objective=3)", "SparsimError", "objective"),
    (API, "map(3)", "sparsim.map(3)", "SpecError", "spec"),
    (API, "map(None)", "sparsim.map(None)", "SpecError", "spec"),
    (API, "map(missing file)", "sparsim.map('{tmp}/missing.yaml')", "SpecError", "missing.yaml"),
    (API, "map(top_k=0)", "sparsim.map(spec, top_k=0)", "SpecError", "top_k"),
    (API, "map(top_k='3')", "sparsim.map(spec, top_k='3')", "SpecError", "top_k"),
    (API, "map(top_k=True)", "sparsim.map(spec, top_k=True)", "SpecError", "top_k"),
    (API, "map(max_evaluations=1.5)", "sparsim.map(spec, max_evaluations=1.5)", "SpecError", "max_evaluations"),
    (API, "map(time_budget=nan)", "sparsim.map(spec, time_budget=float('nan'))", "SpecError", "time_budget"),
    (API, "map(time_budget=-1)", "sparsim.map(spec, time_budget=-1)", "SpecError", "time_budget"),
    (API, "map(objective=3)", "sparsim.map(spec, objective=3)", "SpecError", "objective"),
    (API, "map(objective='energy=nan')", "sparsim.map(spec, objective='energy=nan')", "SpecError", "objective"),
    (API, "map(constraints='x.yaml')", "sparsim.map(spec, 'x.yaml')", "SpecError", "constraints"),
    (API, "map(progress='yes')", "sparsim.map(spec, progress='yes')", "SpecError", "progress"),
    (API, "sweep(config=3)", "sparsim.sweep(3, '{out}/s')", "SparsimError", "config"),
    (API, "sweep(out=None)", "sparsim.sweep('{tmp}/sweep.yaml', None)", "SparsimError", "out"),
    (API, "sweep(out='')", "sparsim.sweep('{tmp}/sweep.yaml', '')", "SparsimError", "out"),
    (API, "sweep(workers=0)", "sparsim.sweep('{tmp}/sweep.yaml', '{out}/s', workers=0)", "SparsimError", "--workers"),
    (API, "sweep(workers=True)", "sparsim.sweep('{tmp}/sweep.yaml', '{out}/s', workers=True)", "SparsimError", "--workers"),
    (API, "sweep(workers='2')", "sparsim.sweep('{tmp}/sweep.yaml', '{out}/s', workers='2')", "SparsimError", "--workers"),
    (API, "sweep(chunk_rows=None)", "sparsim.sweep('{tmp}/sweep.yaml', '{out}/s', chunk_rows=None)", "SparsimError", "--chunk-rows"),
    (API, "sweep(backend='threads')", "sparsim.sweep('{tmp}/sweep.yaml', '{out}/s', backend='threads')", "SparsimError", "--backend"),
    (API, "sweep(scheduler='garbage')", "sparsim.sweep('{tmp}/sweep.yaml', '{out}/s', scheduler='garbage')", "SparsimError", "--scheduler"),
    (API, "sweep(progress='no')", "sparsim.sweep('{tmp}/sweep.yaml', '{out}/s', progress='no')", "SparsimError", "progress"),
    (API, "sweep(append='yes')", "sparsim.sweep('{tmp}/sweep.yaml', '{out}/s', append='yes')", "SparsimError", "--append"),
    (API, "sweep(config dict with a bad key)", "sparsim.sweep({{'designs': ['tc'], 'workloads': [{{'gemm': 'M=8,K=8,N=8'}}], 'colour': 1}}, '{out}/s')", "SpecError", "colour"),
    (API, "read_store(missing)", "from sparsim.sweep import read_store\nread_store('{out}/none')", "SparsimError", "none"),
    (API, "Gemm(M='x')", "Gemm(M='x', K=8, N=8)", "SpecError", "M"),
    (API, "Gemm(M=True)", "Gemm(M=True, K=8, N=8)", "SpecError", "M"),
    (API, "Gemm(M=2**40)", "Gemm(M=2**40, K=8, N=8)", "ResourceLimitError", "M"),
    (API, "Conv(stride 0)", "Conv(C=8, out_channels=8, P=4, Q=4, stride=0)", "SpecError", ""),
    (API, "Spec(workload='x')", "Spec(**{{**dict(spec), 'workload': 'x'}})", "SpecError", "workload"),
    (API, "exports: Spec, Gemm, Conv, Architecture from sparsim", "from sparsim import Spec, Gemm, Conv, Architecture, Mapping, TensorDensity\nraise sparsim.SpecError('exported', 'sparsim')", "SpecError", "sparsim"),
    (API, "exports: input types from sparsim.spec", "from sparsim.spec import Spec, Gemm, Conv, Architecture\nraise sparsim.SpecError('exported', 'sparsim.spec')", "SpecError", "sparsim.spec"),
    # specs edited in Python (model_copy skips pydantic's validators)
    (COPIES, "copy with a workload its mapping does not fit", "sparsim.evaluate(spec.model_copy(update={{'workload': Gemm(M=3, K=256, N=1024)}}))", "MappingError", "spec"),
    (COPIES, "copy with a density of an unknown tensor", "from sparsim.spec.sparsity import TensorDensity\nsparsim.evaluate(spec.model_copy(update={{'densities': {{'Q': TensorDensity()}}}}))", "UnknownNameError", "densities.Q"),
    (COPIES, "copy with an architecture without the mapped levels", "arch = spec.architecture.model_copy(update={{'levels': spec.architecture.levels[:2]}})\nsparsim.evaluate(spec.model_copy(update={{'architecture': arch}}))", "SparsimError", "spec"),
    (COPIES, "copy with a mapping of another workload", "other = sparsim.build('stc', Gemm(M=64, K=64, N=64))\nsparsim.evaluate(spec.model_copy(update={{'mapping': other.mapping}}))", "MappingError", "spec"),
    (COPIES, "copy with an infinite energy", "level = spec.architecture.levels[0]\nlevels = [level.model_copy(update={{'energy': level.energy.model_copy(update={{'read': float('inf')}})}}), *spec.architecture.levels[1:]]\nsparsim.evaluate(spec.model_copy(update={{'architecture': spec.architecture.model_copy(update={{'levels': levels}})}}))", "SpecError", "energy.read"),
    (COPIES, "copy evaluated at other densities", "sparsim.evaluate_densities(spec.model_copy(update={{'workload': Gemm(M=3, K=256, N=1024)}}), [{{'A': '2:4'}}])", "MappingError", "spec"),
    (COPIES, "copy mapped", "sparsim.map(spec.model_copy(update={{'densities': {{'Q': spec.density('A')}}}}), max_evaluations=1)", "UnknownNameError", "densities.Q"),
)  # fmt: skip


def _api_cases() -> list[Case]:
    return [
        # Snippets double their literal braces, like format strings.
        Case(klass, name, code=code.replace("{{", "{").replace("}}", "}"), error=error, where=where)
        for klass, name, code, error, where in API_CASES
    ]


CASES: tuple[Case, ...] = (
    *_file_cases(),
    *_sweep_config_cases(),
    *_study_config_cases(),
    *_spec_file_cases(),
    *_option_cases(),
    *_api_cases(),
)
