"""One quick run of the sparsity-types study per test session, and one run of a config a
new user changed (another grid, an added design, fewer and smaller layers), each written
to a temp dir."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from sparsim.study import StudyConfig, load_definition, run_study, write_study

DEFAULT = resources.files("sparsim.study").joinpath("configs", "sparsity-types.yaml")


def changed_config() -> dict:
    """The shipped config with a 25% point instead of 66.7%, an added design (the RLE
    variant of the flexible core), two small layers and short sweeps."""
    data = yaml.safe_load(DEFAULT.read_text())
    data["layer_sets"] = [
        {"name": "mine", "title": "my two layers", "gemms": [[128, 256, 256], [64, 128, 512]]}
    ]
    data["sparsities"] = [0, 0.25, 0.5, 0.75]
    data["strategies"].insert(
        5,
        {
            "name": "struct-rle",
            "title": "single STC-flexible RLE",
            "structure": "structured",
            "sides": "single",
            "design": "stc-flexible-rle",
        },
    )
    data["fine"]["sparsities"] = {"start": 0, "stop": 0.9, "step": 0.3}
    data["low"]["unstructured"]["sparsities"] = [0.1]
    data["low"]["structured"]["sparsities"] = ["1/8"]
    data["hardware_sweeps"]["memory_scales"] = [0.5, 1, 2]
    data["hardware_sweeps"]["bandwidth"][0]["sparsities"] = [0.5, 0.75]
    return data


@pytest.fixture(scope="session")
def quick_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    tables = run_study(StudyConfig(quick=True, jobs=2, progress=False))
    paths, checks = write_study(tables, out)
    return tables, checks, paths, out


@pytest.fixture(scope="session")
def changed_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("changed")
    config = root / "mine.yaml"
    config.write_text(yaml.safe_dump(changed_config(), sort_keys=False))
    out = root / "out"
    out.mkdir()
    tables = run_study(StudyConfig(load_definition(config), jobs=2, progress=False))
    paths, checks = write_study(tables, out)
    return tables, checks, paths, out, config
