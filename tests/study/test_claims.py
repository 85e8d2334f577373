"""The claims table of a study run on a config a new user changed (another grid, an added
design, two small layers): every verdict follows from the numbers the table shows, a
changed number changes the verdict, and every sentence of the report is true for that run;
no output holds an absolute path; a grid the study cannot run is refused in one line."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from sparsim.cli import main
from sparsim.report.verdicts import Close, Holds
from sparsim.study import load_definition
from sparsim.study.checks import CHECKS
from tests.study.conftest import changed_config

TEXT_SUFFIXES = (".md", ".html", ".csv", ".yaml", ".svg")


def expected_verdict(row) -> str:
    """The stated rules, written out again here from the table's numbers alone."""
    if row.rule == "not modelled":
        return "not modelled"
    if row.rule == "holds":
        held, cases = int(row.held), int(row.cases)
        if cases == 0:
            return "not testable"
        if held == cases:
            return "agree"
        return "partly" if held > cases / 2 else "disagree"
    assert row.rule == "close"
    if math.isnan(row.sparsim_value):
        return "not testable"
    if abs(row.sparsim_value - row.published_value) <= row.tolerance:
        return "agree"

    def side(value: float) -> int:
        return 0 if abs(value - row.reference) < 0.01 else int(np.sign(value - row.reference))

    same = side(row.sparsim_value) == side(row.published_value) != 0
    return "partly" if same else "disagree"


def claims_table(out) -> pd.DataFrame:
    return pd.read_csv(out / "checks.csv")


def test_every_claim_is_in_the_table_with_a_source(changed_study):
    table = claims_table(changed_study[3])
    assert list(table["key"]) == list(CHECKS)
    assert table["source"].str.len().gt(0).all()
    assert table["published"].str.len().gt(0).all() and table["sparsim"].str.len().gt(0).all()


def test_every_verdict_follows_from_the_numbers_shown(changed_study):
    table = claims_table(changed_study[3])
    for row in table.itertuples():
        assert row.verdict == expected_verdict(row), row.key


def test_a_changed_number_changes_the_verdict(changed_study):
    """The verdict is computed from the numbers: moving sparsim's number across the
    tolerance, or the cases held, moves the verdict (a verdict written by hand would not)."""
    table = claims_table(changed_study[3])
    for row in table.itertuples():
        if row.rule == "close":
            published, tolerance, reference = row.published_value, row.tolerance, row.reference
            if abs(published - reference) < 0.01 + tolerance:
                continue  # a published number at its reference has no far side to move to
            mirrored = 2 * reference - published  # the other side of the reference
            assert Close(published, published, tolerance, reference).verdict == "agree"
            assert Close(published, mirrored, tolerance, reference).verdict == "disagree"
            beyond = published + 2 * tolerance * np.sign(published - reference)
            assert Close(published, beyond, tolerance, reference).verdict == "partly"
        elif row.rule == "holds" and row.cases > 0:
            cases = int(row.cases)
            assert Holds(cases, cases).verdict == "agree"
            assert Holds(0, cases).verdict == "disagree"
            if cases >= 3:
                assert Holds(cases - 1, cases).verdict == "partly"


def test_the_report_shows_each_verdict_with_its_numbers(changed_study):
    out = changed_study[3]
    markdown = (out / "report.md").read_text()
    for row in claims_table(out).itertuples():
        line = next(line for line in markdown.splitlines() if line.startswith(f"| {row.claim} |"))
        assert f"| {row.verdict}" in line
        if row.rule == "holds":
            assert f"({int(row.held)} of {int(row.cases)})" in line, row.key
    counts = claims_table(out)["verdict"].value_counts()
    heading = next(line for line in markdown.splitlines() if line.startswith("## Claims checked"))
    for verdict, n in counts.items():
        assert f"{n} {verdict}" in heading
    for row in claims_table(out).itertuples():
        if row.verdict == "disagree":  # on the first screen, before the table
            assert markdown.index(f"- {row.claim} (") < markdown.index("| claim |")


def test_every_sentence_is_true_for_the_changed_config(changed_study):
    tables, checks, _, out, _ = changed_study
    markdown = (out / "report.md").read_text()
    page = re.sub(r"<script>.*?</script>", "", (out / "report.html").read_text(), flags=re.S)
    for text in (markdown, page):
        # the shipped grid, layers and hardware details this run does not have
        for absent in (
            "66.7%",
            "fig15",
            "4 ResNet-50 layers",
            "147",
            "16-64",
            "2:6 (",
            "delivers 42",
        ):
            assert absent not in text, absent
    # the 75% point ran: the cycle claim is tested on every sparse point of the grid
    crossover = checks["cycles-crossover"]
    assert crossover.verdict != "not testable"
    assert crossover.evidence.cases == 2 * len([s for s in tables.sparsities if s > 0])
    # the about-2x claim names exactly the grid points below 70%
    assert (
        "at 25% and 50%, single- and dual-sided, my two layers"
        in checks["structured-twice"].sparsim
    )
    # the dense baseline's layer is not in this run: said so, not matched
    assert checks["dense-baseline"].verdict == "not testable"
    assert "no layer M128-K1152-N1024 in this run" in checks["dense-baseline"].sparsim
    # the added design competes and is named where the designs are
    assert "single STC-flexible RLE" in markdown.split("## What was modelled")[0]
    assert "single STC-flexible RLE" in (out / "report.md").read_text().split("Best design")[1]
    # the same-computes explanation says what the numbers say
    same = checks["same-computes"]
    if same.verdict != "agree":
        assert "differ" in same.why or "padding" in same.why
    # the low-sparsity claim reads the sweep the config asked for
    assert "12.5%" in checks["dual-low-sparsity"].sparsim
    assert "10%" in checks["dual-low-sparsity"].sparsim
    assert "x0.5 to x2" in markdown


def test_no_absolute_path_in_any_output(changed_study):
    out, config = changed_study[3], changed_study[4]
    for path in out.rglob("*"):
        if path.suffix not in TEXT_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html":
            text = re.sub(r"<script>.*?</script>", "", text, flags=re.S)
        for absolute in (str(out.parent), str(config), "/tmp/", "/home/", "/work/"):
            assert absolute not in text, (path.name, absolute)


def test_the_output_folder_holds_what_reruns_it(changed_study):
    tables, _, _, out, config = changed_study
    assert (out / "config.yaml").read_text() == config.read_text()
    again = load_definition(out / "config.yaml")
    assert again.sparsities == tables.definition.sparsities
    assert [s.name for s in again.strategies] == [s.name for s in tables.definition.strategies]
    markdown = (out / "report.md").read_text()
    assert "`sparsim study sparsity-types --config config.yaml --out rerun`" in markdown
    assert re.search(r"sparsim \d+\.\d+\.\d+(, commit [0-9a-f]{12}\+?)?, run on", markdown)


def test_a_grid_no_nm_block_gives_is_one_line_naming_key_value_and_a_fix(tmp_path, capsys):
    data = changed_config()
    data["sparsities"] = [0, 0.5, 0.6, 0.8, 0.9]
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "o"
    assert main(["study", "sparsity-types", "--config", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert "grid.yaml: sparsities[" in err[0]
    assert "M <= 16" in err[0] and "e.g. 0, 0.25, 0.5, 0.75" in err[0]
    assert not out.exists()


@pytest.mark.parametrize(
    ("change", "key", "value"),
    [
        (lambda d: d.update(sparsities=[0, 0.5, 0.65]), "sparsities[2]", "0.65"),
        (
            lambda d: d["low"]["structured"].update(sparsities=[0.15]),
            "low.structured.sparsities[0]",
            "0.1",
        ),
        (
            lambda d: d["hardware_sweeps"]["memory"][0].update(role="cache"),
            "hardware_sweeps.memory[0].role",
            "cache",
        ),
    ],
)
def test_a_point_the_study_cannot_run_names_its_key_and_value(tmp_path, change, key, value):
    data = changed_config()
    change(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(Exception) as error:
        load_definition(path)
    assert f"bad.yaml: {key}" in str(error.value) and value in str(error.value)
