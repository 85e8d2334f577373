"""Settings for the whole test suite."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _long_runs_on_request(request: pytest.FixtureRequest) -> None:
    """The ``slow`` tests run only when asked for (``-m slow``): the default run stays short."""
    if request.node.get_closest_marker("slow") and "slow" not in request.config.option.markexpr:
        pytest.skip("a long run: select it with -m slow")
