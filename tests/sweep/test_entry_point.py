"""``import sparsim`` gives the whole API lazily, and start-up imports nothing heavy."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from sparsim.cli import SUBCOMMANDS, build_parser

HEAVY = ("numpy", "pydantic", "pandas", "pyarrow", "yaml", "multiprocessing", "concurrent")
# What evaluating one case directory needs none of: data frames, plots, progress bars,
# compilers, torch, the design catalog and mapper, sweeps, studies, TASD and TASDER.
NOT_FOR_ONE_CASE = (
    "pandas",
    "pyarrow",
    "matplotlib",
    "plotly",
    "tqdm",
    "numba",
    "scipy",
    "torch",
    "dask",
    "multiprocessing",
    "importlib.metadata",  # pydantic's plugin search, with every plugin disabled
    "sparsim.designs",
    "sparsim.sweep",
    "sparsim.study",
    "sparsim.tasd",
    "sparsim.tasder",
    "sparsim.workload",
    "sparsim.report.charts",
    "sparsim.report.render",
)
CASE = Path(__file__).resolve().parents[1] / "engine" / "timeloop_cases" / "gate-a-on-b-lrf"


def _imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_import_and_help_import_nothing_heavy():
    for code in (
        "import sparsim",
        "from sparsim.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
    ):
        modules = _imported_after(code)
        assert not [m for m in HEAVY if m in modules], code


def _run_main(argv: list[str]) -> str:
    return f"from sparsim.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"


@pytest.mark.parametrize("argv", [["evaluate", str(CASE)], ["evaluate", str(CASE), "--json"]])
def test_evaluating_a_case_imports_only_what_it_needs(argv: list[str]) -> None:
    modules = _imported_after(_run_main(argv))
    assert "sparsim.cost.result" in modules  # the case was evaluated
    assert not [m for m in NOT_FOR_ONE_CASE if m in modules]


def test_pydantic_plugins_are_searched_when_the_user_enables_them() -> None:
    probe = (
        "import os\nos.environ['PYDANTIC_DISABLE_PLUGINS'] = ''\n"
        + _run_main(["evaluate", str(CASE), "--json"])
        + "\nimport sys\nprint('importlib.metadata' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert '"energy_uJ"' in out  # evaluated
    assert out.split()[-1] == "True"  # through pydantic's own loader


def test_pydantic_finds_no_plugin_when_all_are_disabled() -> None:
    """What the command line's stand-in loader returns is what pydantic's own does."""
    probe = (
        "import os\nos.environ['PYDANTIC_DISABLE_PLUGINS'] = '__all__'\n"
        "from pydantic.plugin._loader import get_plugins\nprint(list(get_plugins()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_evaluate_help_imports_nothing_heavy() -> None:
    modules = _imported_after(_run_main(["evaluate", "--help"]))
    assert not [m for m in ("numpy", "pydantic", "pandas", "sparsim.spec") if m in modules]


def test_public_names_resolve_to_the_functions_even_after_submodule_imports():
    import sparsim.evaluate  # the submodules of the same names as the functions
    import sparsim.sweep
    from sparsim.cost.result import Result, results_frame
    from sparsim.designs import build
    from sparsim.evaluate import evaluate, load
    from sparsim.sweep import sweep

    assert sparsim.evaluate is evaluate
    assert sparsim.load is load
    assert sparsim.build is build
    assert sparsim.sweep is sweep
    assert sparsim.Result is Result
    assert sparsim.results_frame is results_frame
    assert issubclass(sparsim.CapacityError, sparsim.SparsimError)
    assert set(sparsim.__all__) <= set(dir(sparsim))


def _summaries(parser: argparse.ArgumentParser) -> dict[str, str]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {choice.dest: choice.help for choice in action._choices_actions}


def test_lazy_help_lists_what_the_modules_register():
    full = _summaries(build_parser())
    assert _summaries(build_parser("")) == full
    assert full == {name: SUBCOMMANDS[name] for name in full}
    assert list(full)[:4] == ["evaluate", "map", "compare", "sweep"]
