"""One quick run of the sparsity-types study per test session, written to a temp dir."""

from __future__ import annotations

import pytest

from sparsim.study import StudyConfig, run_study, write_study


@pytest.fixture(scope="session")
def quick_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    tables = run_study(StudyConfig(quick=True, jobs=2, progress=False))
    paths, checks = write_study(tables, out)
    return tables, checks, paths, out
