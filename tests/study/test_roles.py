"""The study reads levels, the compute and bounds from the results and the designs' roles:
on design files whose levels and compute have other names (GLB for the shared buffer,
Accum, PE_buf, ALU), it reports them by those names, never by the built-in designs'."""

from __future__ import annotations

import re
from importlib import resources

import pandas as pd
import pytest
import yaml

from sparsim.study import StudyConfig, load_definition, run_study, write_study
from tests.study.conftest import changed_config

RENAMED = {"DRAM": "MainMemory", "SMEM": "GLB", "RF": "Accum", "LRF": "PE_buf"}
COMPUTE = "ALU"
BUILT_IN_NAMES = re.compile(r"\b(SMEM|LRF|RF)\b|x MAC\b")


def _rename(text: str) -> str:
    for old, new in RENAMED.items():
        text = re.sub(rf"\b{old}\b", new, text)
    return text


def renamed_design(name: str, folder) -> str:
    """A built-in design as a user's file, its levels and compute renamed."""
    root = resources.files("sparsim.designs")
    design = yaml.safe_load(_rename(root.joinpath("builtin", f"{name}.yaml").read_text()))
    architecture = yaml.safe_load(
        _rename(root.joinpath("architectures", f"{design['architecture']}.yaml").read_text())
    )
    architecture["name"] = f"{architecture['name']}-renamed"
    architecture["compute"]["name"] = COMPUTE
    design["architecture"] = architecture
    design["constraints"] = yaml.safe_load(
        _rename(root.joinpath("constraints", f"{design['constraints']}.yaml").read_text())
    )
    path = folder / f"{name}-renamed.yaml"
    path.write_text(yaml.safe_dump(design, sort_keys=False))
    return str(path)


@pytest.fixture(scope="module")
def renamed_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("renamed")
    files = {name: renamed_design(name, root) for name in ("tc", "stc", "stc-flexible", "dstc")}
    data = changed_config()
    data["layer_sets"] = [{"name": "one", "title": "one layer", "gemms": [[512, 256, 1024]]}]
    data["sparsities"] = [0, 0.5, 0.75]
    for strategy in data["strategies"]:
        strategy["design"] = files[strategy["design"].removesuffix("-rle")]
    config = root / "renamed.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    out = root / "out"
    out.mkdir()
    tables = run_study(StudyConfig(load_definition(config), jobs=2, progress=False))
    _, checks = write_study(tables, out)
    return tables, checks, out


def test_bounds_and_levels_are_named_as_the_design_names_them(renamed_study):
    tables, checks, _ = renamed_study
    parts = {COMPUTE, *RENAMED.values()}
    bounds = set(tables.layers["bounding_level"]) | set(tables.totals["bounding_level"])
    assert bounds <= parts
    assert "GLB" in bounds  # the structured core at 75% waits on its shared buffer
    assert set(tables.memory["level"]) == {"GLB", "Accum", "PE_buf"}
    assert set(tables.bandwidth["level"]) == {"GLB"}
    assert set(tables.breakdown["level"]) == parts
    assert "bound by GLB" in checks["cycles-cause"].sparsim
    assert "(GLB)" in checks["smem-larger"].sparsim
    assert "accumulator (Accum)" in checks["structured-cheaper"].why


def test_nothing_sparsim_writes_names_the_built_in_levels(renamed_study):
    _, _, out = renamed_study
    claims = pd.read_csv(out / "checks.csv")
    texts = [*claims["sparsim"], *claims["why"]]
    for path in out.glob("*.csv"):
        if path.name != "checks.csv":
            texts.append(path.read_text())
    texts += [p.read_text() for p in (out / "figures").glob("*.svg")]
    report = (out / "report.md").read_text()
    for quoted in claims["published"]:  # the study's own words may name its SMEM
        report = report.replace(quoted, "")
    texts.append(report)
    for text in texts:
        assert not BUILT_IN_NAMES.search(text), BUILT_IN_NAMES.search(text)
