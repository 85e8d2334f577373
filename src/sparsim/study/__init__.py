"""Studies that answer one question with many evaluations, and write a report.

``sparsity-types``: structured vs unstructured, single- vs dual-sided sparsity on the
MICRO'22 artifact's int8 hardware (:mod:`sparsim.study.sparsity_types`), with the claims of
Huang and Mustafa's case study checked (:mod:`sparsim.study.checks`) in a report on the
shared template (:mod:`sparsim.study.report`)::

    from sparsim.study import StudyConfig, run_study, write_study

    tables = run_study(StudyConfig(quick=True))
    paths, checks = write_study(tables, Path("out"))
"""

from sparsim.study.config import load_definition
from sparsim.study.report import write_study
from sparsim.study.sparsity_types import StudyConfig, StudyTables, run_study

__all__ = ["StudyConfig", "StudyTables", "load_definition", "run_study", "write_study"]
