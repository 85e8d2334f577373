"""Human-readable tables of evaluation results."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sparsim.cost.result import ComputeResult, LevelResult, Result


def format_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def by_process(named: Iterable[tuple[str, str | None]]) -> dict[str, list[str]]:
    """Names grouped by the process their area and energy tables are for (an
    architecture's ``technology``; "not stated" when it gives none), in first-seen order."""
    groups: dict[str, list[str]] = {}
    for name, technology in named:
        groups.setdefault(technology or "not stated", []).append(name)
    return groups


def process_text(groups: dict[str, list[str]], join: Callable[[list[str]], str] = ", ".join) -> str:
    """``65nm: tc; 45nm: stc, dstc``: each process with its names."""
    return "; ".join(f"{process}: {join(names)}" for process, names in groups.items())


def area_text(area_um2: float | None) -> str:
    """An area in mm^2, or why there is none."""
    return "not given" if area_um2 is None else f"{area_um2 * 1e-6:,.4f} mm^2"


def _instances_area(part: ComputeResult | LevelResult) -> str:
    """A level's area over its instances, as ``instances x per instance = total``."""
    if part.area_um2 is None:
        return "not given"
    return f"{part.instances} x {part.area_um2:,.2f} = {part.area_total_um2:,.0f}"


def result_table(result: Result) -> str:
    """Totals, then one row per level with its energy split into data and metadata."""
    computes = result.computes
    summary = (
        f"{result.name}: {result.cycles:,.0f} cycles, {result.energy_uJ:,.3f} uJ, "
        f"EDP {result.edp:.3e} J*cycle, utilisation {result.utilization:.1%}\n"
        f"computes: algorithmic {computes.algorithmic:,.0f}, actual {computes.actual:,.0f}, "
        f"gated {computes.gated:,.0f}, skipped {computes.skipped:,.0f}\n"
        f"area: {area_text(result.area_um2)}"
        + (f", EDAP {result.edap:.3e} J*cycle*mm^2" if result.edap is not None else "")
        + "\n"
    )
    total = result.energy_pJ or 1.0
    rows = [
        [
            result.compute.name,
            f"{result.compute.energy_pJ * 1e-6:,.3f}",
            f"{result.compute.energy_pJ * 1e-6:,.3f}",
            "0.000",
            f"{result.compute.energy_pJ / total:.1%}",
            f"{result.compute.cycles:,.0f}",
            _instances_area(result.compute),
        ]
    ]
    for level in reversed(result.levels):
        rows.append(
            [
                level.name,
                f"{level.energy_pJ * 1e-6:,.3f}",
                f"{level.data_energy_pJ * 1e-6:,.3f}",
                f"{level.metadata_energy_pJ * 1e-6:,.3f}",
                f"{level.energy_pJ / total:.1%}",
                f"{level.cycles:,.0f}" if level.cycles else "-",
                _instances_area(level),
            ]
        )
    header = ["level", "energy uJ", "data uJ", "metadata uJ", "share", "cycles", "area um^2"]
    return summary + format_table(rows, header)
