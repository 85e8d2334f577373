"""Open a report in a real headless Chromium: the page's DOM after its scripts ran, and
every console message it logged (a report logs none). Used by the tests and by anyone
checking a report on a machine without a display."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sparsim.errors import SparsimError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=10000",  # let the page's scripts finish before the dump
)
CONSOLE = re.compile(r":CONSOLE(?:\(\d+\))?:?\d*\] (.*)")
TIMEOUT_S = 120


@dataclass(frozen=True)
class PageCheck:
    dom: str  # the serialised DOM after the scripts ran
    console: tuple[str, ...]  # console messages (errors, warnings, logs)


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def open_page(
    page: Path, screenshot: Path | None = None, width: int = 1280, height: int = 4000
) -> PageCheck:
    """Load ``page`` in a fresh profile; optionally save a screenshot (PNG)."""
    browser = find_browser()
    if browser is None:
        raise SparsimError(
            f"no headless browser found (tried {', '.join(BROWSERS)}); apt-get install chromium",
            "browser",
        )
    url = page.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="sparsim-browser-") as profile:
        command = [browser, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
        if done.returncode != 0:
            raise SparsimError(f"chromium failed ({done.stderr.strip()[-300:]})", str(page))
        if screenshot is not None:
            subprocess.run(
                [
                    browser,
                    *FLAGS,
                    f"--user-data-dir={profile}",
                    f"--window-size={width},{height}",
                    f"--screenshot={screenshot}",
                    url,
                ],
                capture_output=True,
                timeout=TIMEOUT_S,
                check=True,
            )
    messages = tuple(m.group(1) for m in map(CONSOLE.search, done.stderr.splitlines()) if m)
    return PageCheck(done.stdout, messages)


def rendered_charts(dom: str) -> dict[str, tuple[int, int]]:
    """Per chart (``<figure data-chart=NAME>``): (panels, panels Plotly drew an SVG in)."""
    counts = {}
    for match in re.finditer(r'<figure[^>]*data-chart="([^"]+)"(.*?)</figure>', dom, re.S):
        name, body = match.groups()
        panels = re.split(rf'<div class="panel[^"]*" id="{re.escape(name)}-\d+"', body)[1:]
        counts[name] = (len(panels), sum('class="main-svg"' in panel for panel in panels))
    return counts
