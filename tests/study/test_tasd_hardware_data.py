"""The committed activation densities of the tasd-hardware study are what the script
measures on the real models (needs the [models] extra; run with -m models)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sparsim.study.tasd_workloads import activation_data, layer_table

pytestmark = pytest.mark.models
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "measure_tasd_activations.py"


def test_committed_data_covers_the_layers_it_names():
    for row in activation_data()["layers"]:
        assert row["layer"] in layer_table(row["model"]).names
        assert 0 < row["density"] <= 1 and 0 < row["pseudo_density"] <= 1


def test_resnet_densities_match_a_new_measurement():
    models = pytest.importorskip("sparsim.tasder.models")
    from sparsim.tasder.search import calibrate

    spec = importlib.util.spec_from_file_location("measure", SCRIPT)
    measure = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(measure)
    provenance = activation_data()["provenance"]
    real = models.load_real_model(
        "resnet50-thin", calibration_size=provenance["calibration_samples"]
    )
    table = calibrate(real.model, real.calibration)
    mapping = measure.resnet_names([row.name for row in table])
    committed = {
        r["layer"]: r["density"] for r in activation_data()["layers"] if r["model"] == "resnet50"
    }
    for row in table:
        assert committed[mapping[row.name]] == pytest.approx(row.input_density, abs=1e-6)
