"""Built-in designs (TC, STC, STC-flexible, STC-flexible-RLE, STC-flexible-dual, DSTC) as
sparsim specs, with a mapping heuristic for any GEMM: ``build(design, gemm, densities)``;
``resize(architecture, level, ...)`` for the same designs with other buffer sizes."""

from sparsim.designs.build import build
from sparsim.designs.catalog import Design, design_names, designs, get_design
from sparsim.designs.memory import resize
from sparsim.designs.schemes import Scheme, scheme_for

__all__ = [
    "Design",
    "Scheme",
    "build",
    "design_names",
    "designs",
    "get_design",
    "resize",
    "scheme_for",
]
